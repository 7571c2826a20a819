"""The passthrough region's overhead (issue 10 §Benchmarks).

A second ``overcast serve`` (local driver) is the upstream; the front's region ``lab`` reaches it
through the ``openstack`` driver (``overcast.testing.passthrough``). Measured with openstacksdk:

1. **create -> ACTIVE**: ``--servers`` pairs, back to back: one server through the front's ``lab``
   and one straight to the upstream as the service account (POST, then ``GET`` every 50 ms until
   ACTIVE), the order alternating from pair to pair so a drift in the machine's load falls on both
   sides alike; the p50 of each side, the overhead of their ratio and the median of the per-pair
   ratios, and the POST's own p50 on each side (the rest is the build and the polls).
2. **list**: ``GET servers/detail`` (``--lists`` times, with those servers present) through ``lab``
   (served from Overcast's records) and straight to the upstream; p50 of each, and their ratio.
3. **latency**: the front restarted with every upstream call going through an HTTP proxy that
   holds each request ``--delay`` seconds (200 ms); ``servers/detail`` p50 of ``lab`` against the
   front's local region ``RegionOne`` (same number of servers in each).

    .venv/bin/python -m benchmarks.passthrough --servers 10 --lists 50 --delay 0.2
    .venv/bin/python -m benchmarks.passthrough --servers 20 --lists 20 --no-latency  # 1 and 2 only

Prints one line per figure. Loopback only; both servers are stopped at the end.
"""

from __future__ import annotations

import argparse
import http.client
import http.server
import statistics
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any, Callable

from overcast.testing.live import sdk_connect
from overcast.testing.passthrough import Passthrough

POLL = 0.05


class DelayingProxy(http.server.ThreadingHTTPServer):
    """A forward HTTP proxy on loopback that holds every request ``delay`` seconds."""

    daemon_threads = True

    def __init__(self, delay: float) -> None:
        self.delay = delay
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _ProxyHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_: Any) -> None:
        pass

    def _forward(self) -> None:
        time.sleep(self.server.delay)  # type: ignore[attr-defined]
        url = urllib.parse.urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
        path = url.path + (f"?{url.query}" if url.query else "")
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("proxy-connection", "connection")}
        conn.request(self.command, path, body=body or None, headers=headers)
        answer = conn.getresponse()
        data = answer.read()
        self.send_response(answer.status)
        for key, value in answer.getheaders():
            if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        conn.close()

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _forward


def create_to_active(conn: Any, image_id: str, name: str, posts: list[float] | None = None) -> float:
    """Seconds from the POST to the first GET that shows ACTIVE (the POST's own in ``posts``)."""
    began = time.perf_counter()
    server = conn.compute.create_server(name=name, flavor_id="1", image_id=image_id, networks="none")
    if posts is not None:
        posts.append(time.perf_counter() - began)
    while True:
        status = conn.compute.get_server(server.id).status
        if status == "ACTIVE":
            return time.perf_counter() - began
        if status == "ERROR":
            raise RuntimeError(f"server {name} went to ERROR")
        time.sleep(POLL)


def list_p50(conn: Any, times: int) -> float:
    spent = []
    for _ in range(times):
        began = time.perf_counter()
        list(conn.compute.servers(details=True))
        spent.append(time.perf_counter() - began)
    return statistics.median(spent)


def timed(label: str, fn: Callable[[], float]) -> float:
    value = fn()
    print(f"{label}: {value * 1000:.1f} ms", flush=True)
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--servers", type=int, default=10)
    parser.add_argument("--lists", type=int, default=50)
    parser.add_argument("--delay", type=float, default=0.2)
    parser.add_argument("--no-latency", action="store_true", help="skip the added-latency part (3)")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="overcast-passthrough-bench-"))
    proxy = DelayingProxy(args.delay)
    rig = Passthrough(root, front_extra="[clouds.lab.ops]\ntimeout = 120\n").start()
    try:
        assert rig.front is not None
        admin = sdk_connect(rig.front.clouds_yaml, "overcast-admin")
        demo = admin.identity.find_project("demo", domain_id="default")
        admin.set_compute_quotas(demo.id, instances=-1, cores=-1, ram=-1)  # Overcast's own quota, not measured
        admin.close()
        front = sdk_connect(rig.front.clouds_yaml, "overcast", region_name="lab")
        upstream = rig.service_conn()
        image_id = next(i.id for i in upstream.image.images() if i.status == "active")
        lab_image = next(i.id for i in front.image.images() if (i.properties or {}).get("overcast_backend_region"))
        for conn, image in ((front, lab_image), (upstream, image_id)):  # warm both (tokens, catalogs)
            create_to_active(conn, image, "warm")
        via: list[float] = []
        direct: list[float] = []
        via_posts: list[float] = []
        direct_posts: list[float] = []
        for n in range(args.servers):  # pairs back to back, the order alternating
            sides = [(via, front, lab_image, f"via-{n}", via_posts),
                     (direct, upstream, image_id, f"direct-{n}", direct_posts)]
            for spent, conn, image, name, posts in (sides if n % 2 == 0 else sides[::-1]):
                spent.append(create_to_active(conn, image, name, posts))
        p_via, p_direct = statistics.median(via), statistics.median(direct)
        pair_ratio = statistics.median(v / d for v, d in zip(via, direct))
        print(f"create->ACTIVE p50 (n={args.servers} pairs): passthrough {p_via * 1000:.0f} ms, "
              f"upstream direct {p_direct * 1000:.0f} ms, overhead {(p_via / p_direct - 1) * 100:+.0f}% "
              f"(median of pair ratios {(pair_ratio - 1) * 100:+.0f}%); POST p50 passthrough "
              f"{statistics.median(via_posts) * 1000:.0f} ms, direct {statistics.median(direct_posts) * 1000:.0f} ms",
              flush=True)
        l_via, l_direct = list_p50(front, args.lists), list_p50(upstream, args.lists)
        print(f"servers/detail p50 ({args.servers + 1} lab servers, {args.lists} lists): passthrough "
              f"{l_via * 1000:.1f} ms, upstream direct {l_direct * 1000:.1f} ms, ratio {l_via / l_direct:.2f}")
        front.close()
        if args.no_latency:
            upstream.close()
            return
        # the same front, every upstream call now held `delay` seconds by the proxy
        rig.front.env.update({"HTTP_PROXY": proxy.url, "http_proxy": proxy.url, "NO_PROXY": "", "no_proxy": ""})
        rig.front.restart()
        lab = sdk_connect(rig.front.clouds_yaml, "overcast", region_name="lab")
        local = sdk_connect(rig.front.clouds_yaml, "overcast", region_name="RegionOne")
        # an image in Overcast's own store (the seeded cirros is the admin project's)
        local_image = local.image.create_image(name="bench-local", data=b"\0" * 4096, disk_format="raw",
                                               container_format="bare", wait=True).id
        for n in range(args.servers + 1):
            create_to_active(local, local_image, f"local-{n}")
        started = time.perf_counter()
        create_to_active(lab, lab_image, "slow")
        print(f"create->ACTIVE through lab with {args.delay * 1000:.0f} ms per upstream call: "
              f"{(time.perf_counter() - started) * 1000:.0f} ms", flush=True)
        d_lab, d_local = list_p50(lab, args.lists), list_p50(local, args.lists)
        print(f"servers/detail p50 with {args.delay * 1000:.0f} ms per upstream call: lab {d_lab * 1000:.1f} ms, "
              f"RegionOne (local) {d_local * 1000:.1f} ms, lab/local {d_lab / d_local:.2f}")
        lab.close()
        local.close()
        upstream.close()
    finally:
        rig.stop()
        proxy.stop()


if __name__ == "__main__":
    main()
