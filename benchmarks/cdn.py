"""CDN benchmarks: create-to-deployed and purge-to-effective on the Varnish edge, and ``GET /services``
with 10,000 services across projects beside a bare Falcon endpoint.

    .venv/bin/python -m benchmarks.cdn [--services 20] [--total 10000] [--projects 100] [--duration 5]
        [--connections 16] [--threads 8] [--skip-edge] [--skip-reads]

Edge (a real varnishd as the ``varnish`` user and a loopback origin, started and stopped by PID by
this script; Overcast is ``overcast serve``'s app under granian with the provider configured in
``[cdn.providers.edge]``):

- **create-to-deployed**: ``--services`` services made one after another; for each, the time from
  ``POST /cdn/v1.0/services`` to the API showing it ``deployed`` (``GET`` every 5 ms), and to the
  first ``200`` fetched through Varnish with its Host header.
- **purge-to-effective**: for each service, the object is fetched until Varnish answers ``HIT``,
  then the time from ``DELETE /services/{id}/assets?url=/index.html`` to the first ``MISS``
  (fetched every 5 ms).
- **VCL swap while traffic flows**: one client fetches in a loop while a service is updated 10
  times; the time each new VCL takes to be loaded and used (the driver's ``update``, measured in the
  worker's log is not needed: the API round trip is reported), and the number of failed fetches.

Reads: ``--total`` services across ``--projects`` projects are written straight into the database
(the records Overcast writes for a deployed service, provider row included) with the server
stopped; then wrk measures ``GET /cdn/v1.0/services`` (a page of 10 of the demo project's services)
and a page after a marker with ``limit=20``, beside the bare app's ``GET /``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path

from benchmarks.common import HOST, BenchError, require_wrk, run_wrk, table
from benchmarks.compute import _bootstrap, _call, _serve, _token
from benchmarks.run import request
from benchmarks.servers import bare_wrk

def _config(work: Path, varnish: object | None) -> Path:
    path = work / "cdn.toml"
    lines = ['[clouds.RegionOne]', 'driver = "noop"', '']
    if varnish is not None:
        options = varnish.options()  # type: ignore[attr-defined]
        lines.append("[cdn.providers.edge]")
        lines += [f'{k} = {json.dumps(v)}' for k, v in options.items()]
        lines += ["", "[cdn.flavors.edge]", 'providers = ["edge"]', ""]
    else:
        lines += ["[cdn.providers.mock]", 'driver = "mock"', "", "[cdn.flavors.mock]", 'providers = ["mock"]', ""]
    lines += ["[cdn]", "service_limit = 100000"]
    path.write_text("\n".join(lines) + "\n")
    return path


def _fetch(port: int, host: str, path: str = "/index.html") -> tuple[int, str]:
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        conn.request("GET", path, headers={"Host": host})
        resp = conn.getresponse()
        resp.read()
        return resp.status, resp.getheader("X-Cache", "")
    finally:
        conn.close()


def _until(check, timeout: float, what: str, interval: float = 0.005):  # noqa: ANN001, ANN202
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise BenchError(f"{what} did not happen within {timeout}s")
        time.sleep(interval)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def edge(args: argparse.Namespace, work: Path, log_dir: Path) -> list[list[str]]:
    from overcast.testing.cdn_servers import VarnishServer
    from overcast.testing.web import FileServer

    varnish = VarnishServer(storage="malloc,128m")
    origin = FileServer({"/index.html": b"<h1>benchmark</h1>" * 64})
    try:
        data_dir = work / "edge"
        env = {"OVERCAST_IDENTITY_BCRYPT_ROUNDS": "4", "OVERCAST_CONFIG": str(_config(work, varnish))}
        _bootstrap(data_dir, env, log_dir)
        srv = _serve(data_dir, env, log_dir, args.threads, 4)
        try:
            token, _ = _token(srv.port, data_dir, "overcast")
            deployed, first_hit, purged = [], [], []
            for i in range(args.services):
                domain = f"www.bench{i}-{uuid.uuid4().hex[:6]}.example.org"
                body = {"name": f"bench-{i}-{uuid.uuid4().hex[:6]}", "flavor_id": "edge",
                        "domains": [{"domain": domain}], "origins": [{"origin": "127.0.0.1", "port": origin.port}]}
                started = time.perf_counter()
                status, headers, answer = request(srv.port, "POST", "/cdn/v1.0/services", json.dumps(body).encode(),
                                                  {"X-Auth-Token": token, "Content-Type": "application/json"})
                if status != 202:
                    raise BenchError(f"POST /services answered {status}: {answer[:300]!r}")
                service_id = headers["location"].rsplit("/", 1)[1]

                def is_deployed(service_id: str = service_id) -> bool:
                    code, service = _call(srv.port, token, "GET", f"/cdn/v1.0/services/{service_id}")
                    if code == 200 and service["status"] == "failed":
                        raise BenchError(f"service failed: {service['errors']}")
                    return code == 200 and service["status"] == "deployed"

                _until(is_deployed, 60, "deployment")
                deployed.append(time.perf_counter() - started)
                _until(lambda d=domain: _fetch(varnish.port, d)[0] == 200, 30, "first fetch")
                first_hit.append(time.perf_counter() - started)
                _until(lambda d=domain: _fetch(varnish.port, d)[1] == "HIT", 30, "a cache hit")
                started = time.perf_counter()
                status, answer = _call(srv.port, token, "DELETE",
                                       f"/cdn/v1.0/services/{service_id}/assets?url=/index.html")
                if status != 202:
                    raise BenchError(f"purge answered {status}: {answer}")
                _until(lambda d=domain: _fetch(varnish.port, d)[1] == "MISS", 30, "the purge")
                purged.append(time.perf_counter() - started)
            swaps, errors = _swaps(srv.port, token, varnish.port, service_id, domain)
        finally:
            srv.stop()
    finally:
        origin.stop()
        varnish.stop()
    rows = []
    for name, values in (("create -> deployed (API)", deployed), ("create -> first 200 via Varnish", first_hit),
                         ("purge -> first MISS via Varnish", purged), ("PATCH -> deployed (new VCL used)", swaps)):
        rows.append([name, str(len(values)), f"{statistics.median(values) * 1000:.0f}",
                     f"{_pct(values, 0.95) * 1000:.0f}", f"{max(values) * 1000:.0f}"])
    rows.append(["fetches failed during the swaps", str(errors[1]), f"of {errors[0]}", "", ""])
    return rows


def _swaps(port: int, token: str, edge_port: int, service_id: str, domain: str) -> tuple[list[float], tuple[int, int]]:
    counts = [0, 0]
    stop = threading.Event()

    def traffic() -> None:
        while not stop.is_set():
            status, _ = _fetch(edge_port, domain)
            counts[0] += 1
            counts[1] += status != 200

    thread = threading.Thread(target=traffic, daemon=True)
    thread.start()
    durations = []
    try:
        for ttl in range(60, 70):
            started = time.perf_counter()
            status, answer = _call(port, token, "PATCH", f"/cdn/v1.0/services/{service_id}",
                                   [{"op": "replace", "path": "/caching/0/ttl", "value": ttl}])
            if status != 202:
                raise BenchError(f"PATCH answered {status}: {answer}")

            def done() -> bool:
                code, service = _call(port, token, "GET", f"/cdn/v1.0/services/{service_id}")
                return code == 200 and service["status"] == "deployed"

            _until(done, 60, "the update")
            durations.append(time.perf_counter() - started)
    finally:
        stop.set()
        thread.join(timeout=10)
    return durations, (counts[0], counts[1])


def _populate(data_dir: Path, demo_project: str, total: int, projects: int) -> str:
    """``total`` deployed services over ``projects`` projects (the demo project among them), written
    with the server stopped; returns the id of the demo project's 50th service (a marker)."""
    from overcast.core.cdn import document
    from overcast.store.cdn import CdnDomain, CdnProject, CdnProviderDetail, CdnService
    from overcast.store.db import Store
    from overcast.store.models import utcnow

    store = Store(f"sqlite:///{data_dir / 'overcast.db'}")
    owners = [demo_project] + [uuid.uuid4().hex for _ in range(projects - 1)]
    per_project = total // projects
    now = utcnow()
    demo_ids = []
    with store.session() as session:
        for p, project in enumerate(owners):
            session.merge(CdnProject(project_id=project, service_limit=100000, services=per_project))
            for i in range(per_project):
                service_id = str(uuid.uuid4())
                domain = f"www.s{p}x{i}.example.org"
                doc = document.validate({"name": f"svc-{p}-{i}", "flavor_id": "mock", "domains": [{"domain": domain}],
                                         "origins": [{"origin": "origin.example.net"}]})
                session.add(CdnService(id=service_id, project_id=project, name=doc["name"], flavor_id="mock",
                                       document={k: v for k, v in doc.items() if k not in ("name", "flavor_id")},
                                       status="deployed", operator_status="enabled", created_at=now, updated_at=now))
                session.add(CdnProviderDetail(service_id=service_id, provider="mock", position=0,
                                              provider_service_id=uuid.uuid4().hex, status="deployed",
                                              access_urls=[{"domain": domain, "provider_url": "x.mock"}],
                                              certificates={}, updated_at=now))
                session.add(CdnDomain(domain=domain, service_id=service_id, project_id=project))
                if project == demo_project:
                    demo_ids.append(service_id)
            session.flush()
    store.dispose()
    return sorted(demo_ids)[49]


def reads(args: argparse.Namespace, work: Path, log_dir: Path) -> list[list[str]]:
    bare = bare_wrk(log_dir, threads=args.threads, duration=args.duration, connections=args.connections)
    data_dir = work / "reads"
    env = {"OVERCAST_IDENTITY_BCRYPT_ROUNDS": "4", "OVERCAST_CONFIG": str(_config(work, None))}
    _bootstrap(data_dir, env, log_dir)
    srv = _serve(data_dir, env, log_dir, args.threads, 1)
    try:
        _, demo_project = _token(srv.port, data_dir, "overcast")
    finally:
        srv.stop()
    marker = _populate(data_dir, demo_project, args.total, args.projects)
    srv = _serve(data_dir, env, log_dir, args.threads, 1)
    try:
        token, _ = _token(srv.port, data_dir, "overcast")
        status, page = _call(srv.port, token, "GET", "/cdn/v1.0/services")
        if status != 200 or len(page["services"]) != 10:
            raise BenchError(f"GET /services answered {status}: {str(page)[:300]}")
        rows = [["bare GET /", f"{bare.rps:,.0f}", f"{bare.p50_ms:.2f}", "1.00"]]
        for label, path in (("GET /services (10 of 100)", "/cdn/v1.0/services"),
                            ("GET /services?marker&limit=20", f"/cdn/v1.0/services?marker={marker}&limit=20")):
            result = run_wrk(f"http://{HOST}:{srv.port}{path}", "get.lua", duration=args.duration,
                             connections=args.connections, env={"OVERCAST_BENCH_TOKEN": token})
            if result.errors or result.non_2xx:
                raise BenchError(f"{label}: {result.errors} socket errors, {result.non_2xx} non-2xx")
            rows.append([label, f"{result.rps:,.0f}", f"{result.p50_ms:.2f}", f"{result.rps / bare.rps:.3g}"])
    finally:
        srv.stop()
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--services", type=int, default=20)
    parser.add_argument("--total", type=int, default=10000)
    parser.add_argument("--projects", type=int, default=100)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--skip-edge", action="store_true")
    parser.add_argument("--skip-reads", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="overcast-bench-cdn-") as tmp:
        work = Path(tmp)
        log_dir = work / "logs"
        log_dir.mkdir()
        if not args.skip_edge:
            print(table(["varnish edge", "n", "median ms", "p95 ms", "max ms"], edge(args, work, log_dir)))
        if not args.skip_reads:
            require_wrk()
            print(table(["endpoint", "req/s", "p50 ms", "ratio to bare"], reads(args, work, log_dir)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
