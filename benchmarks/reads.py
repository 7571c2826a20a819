"""Issue 15's read goals: each list beside a bare Falcon app answering the very same bytes.

    .venv/bin/python -m benchmarks.reads [--duration 5] [--connections 16] [--workers 2] [--threads 8]
        [--small 100] [--large 10000] [--skip-large] [--uncached | --uncached-only] [--only servers ...]

One ``overcast serve`` (the real command, ``--workers``/``--threads`` as given, SQLite, the noop
driver) with ``--small`` servers (each with a port), ``--small`` volumes and ``--small`` images
(records, every tenth tagged; ``images`` shows Glance's default page of 25) in the demo project. For
each of ``servers/detail``, ``volumes/detail``, ``ports``, ``networks``, ``images`` and
``flavors/detail``: fetch the answer once, start ``benchmarks/bare_app.py`` on granian with the same
workers and threads answering those bytes (``OVERCAST_BARE_BODY_FILE``), wrk both, one after the
other, and print the ratio. Small authenticated GETs (a server, the flavor list, a port) are compared
with the unauthenticated ``GET /identity/v3`` of the same server. Unless ``--skip-large``, servers are
added up to ``--large`` and ``servers/detail?limit=1000`` is compared the same way.

``--uncached`` measures again with ``OVERCAST_SERVER_RESPONSE_CACHE=false`` (every read computed;
docs/decisions/0038-read-path.md), on the same data directory. Loopback only; every run is bounded.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import BIN, HOST, BenchError, Server, free_port, require_wrk, run_main, run_wrk, start, table
from benchmarks.compute import (COMPUTE, READY, ActiveCounter, _call, _config, _create_batches, _image_id, _make_room,
                                _token, _wait_settled)
from benchmarks.run import request
from benchmarks.servers import bare_wrk
from benchmarks.volume import _available, _create, _raise_quota


def _serve(args: argparse.Namespace, data_dir: Path, env: dict[str, str], log_dir: Path, name: str) -> Server:
    port = free_port()
    overcast = BIN / "overcast"
    base = [str(overcast)] if overcast.exists() else [sys.executable, "-m", "overcast"]
    argv = [*base, "serve", "--host", HOST, "--port", str(port), "--data-dir", str(data_dir),
            "--workers", str(args.workers), "--threads", str(args.threads)]
    srv = start(name, argv, port, env, log_dir)
    srv.wait_ready(READY, timeout=180)
    return srv


def _fetch(port: int, path: str, token: str) -> bytes:
    status, _, body = request(port, "GET", path, None, {"X-Auth-Token": token} if token else {})
    if status != 200:
        raise BenchError(f"GET {path} answered {status}: {body[:300]!r}")
    return body


def _wrk(args: argparse.Namespace, port: int, path: str, token: str):  # noqa: ANN202
    return run_wrk(f"http://{HOST}:{port}{path}", "get.lua", duration=args.duration, connections=args.connections,
                   env={"OVERCAST_BENCH_TOKEN": token} if token else {})


def _versus_bare(args: argparse.Namespace, srv: Server, path: str, token: str, work: Path, log_dir: Path,
                 label: str) -> list[str]:
    body = _fetch(srv.port, path, token)
    body_file = work / f"body-{abs(hash(path))}.json"
    body_file.write_bytes(body)
    bare = bare_wrk(log_dir, threads=args.threads, duration=args.duration, connections=args.connections,
                    workers=args.workers, body_file=body_file)
    ours = _wrk(args, srv.port, path, token)
    bad = f"{ours.errors}/{ours.non_2xx}"
    print(f"  {label}: {ours.rps:,.1f} req/s vs bare {bare.rps:,.0f} ({ours.rps / bare.rps:.3f}x), "
          f"{len(body):,} bytes", flush=True)
    return [label, f"{len(body):,}", f"{ours.rps:,.1f}", f"{ours.p50_ms:.2f}", f"{bare.rps:,.0f}",
            f"{ours.rps / bare.rps:.3f}", bad]


def measure(args: argparse.Namespace, srv: Server, data_dir: Path, work: Path, log_dir: Path) -> list[list[str]]:
    token, project = _token(srv.port, data_dir, "overcast")
    _, server_list = _call(srv.port, token, "GET", f"{COMPUTE}/servers")
    one_server = server_list["servers"][0]["id"]
    _, ports = _call(srv.port, token, "GET", "/network/v2.0/ports")
    one_port = ports["ports"][0]["id"]
    rows = []
    for label, path in ((f"GET servers/detail ({args.small} servers)", f"{COMPUTE}/servers/detail"),
                        (f"GET volumes/detail ({args.small} volumes)", f"/volume/v3/{project}/volumes/detail"),
                        ("GET ports", "/network/v2.0/ports"),
                        ("GET networks", "/network/v2.0/networks"),
                        ("GET images", "/image/v2/images"),
                        ("GET flavors/detail", f"{COMPUTE}/flavors/detail")):
        if args.only and not any(word in label for word in args.only):
            continue
        rows.append(_versus_bare(args, srv, path, token, work, log_dir, label))
    if args.only:
        return rows
    anonymous = _wrk(args, srv.port, "/identity/v3", "")
    print(f"  GET /identity/v3 (no token): {anonymous.rps:,.0f} req/s", flush=True)
    rows.append(["GET /identity/v3 (no token)", "-", f"{anonymous.rps:,.0f}", f"{anonymous.p50_ms:.2f}", "-", "1",
                 f"{anonymous.errors}/{anonymous.non_2xx}"])
    for label, path in (("GET servers/{id}", f"{COMPUTE}/servers/{one_server}"),
                        ("GET flavors", f"{COMPUTE}/flavors"), ("GET ports/{id}", f"/network/v2.0/ports/{one_port}")):
        ours = _wrk(args, srv.port, path, token)
        print(f"  {label}: {ours.rps:,.0f} req/s ({ours.rps / anonymous.rps:.3f}x the unauthenticated GET)",
              flush=True)
        rows.append([f"{label} (token)", "-", f"{ours.rps:,.0f}", f"{ours.p50_ms:.2f}", "vs /identity/v3",
                     f"{ours.rps / anonymous.rps:.3f}", f"{ours.errors}/{ours.non_2xx}"])
    return rows


def _create_images(port: int, token: str, count: int) -> None:
    """``count`` images (records without data; every tenth with tags) in the demo project, so that
    ``images`` lists more than the seeded one."""
    for i in range(count):
        body = {"name": f"bench-{i}", "disk_format": "qcow2", "container_format": "bare", "os_distro": "cirros",
                **({"tags": ["bench", f"n{i}"]} if i % 10 == 0 else {})}
        status, answer = _call(port, token, "POST", "/image/v2/images", body)
        if status != 201:
            raise BenchError(f"image create answered {status}: {answer!r}")


def _populate(args: argparse.Namespace, srv: Server, data_dir: Path, count: int, network: str | None) -> str:
    admin_token, _ = _token(srv.port, data_dir, "overcast-admin")
    token, project = _token(srv.port, data_dir, "overcast")
    if network is None:
        network = _make_room(srv.port, admin_token, token, project, args.large + 100)
        _raise_quota(srv.port, admin_token, project, args.small + 10)
        _create(srv.port, token, project, args.small)
        _create_images(srv.port, token, args.small)
        deadline = time.monotonic() + 300
        while _available(data_dir, project) < args.small:
            if time.monotonic() > deadline:
                raise BenchError("volumes did not become available")
            time.sleep(0.2)
    counter = ActiveCounter(data_dir, None)
    have = sum(counter(project))
    image = _image_id(srv.port, token)
    _create_batches(srv.port, token, image, network, count - have)
    _wait_settled(counter, project, count, 3600)
    return network


def run(args: argparse.Namespace) -> int:
    require_wrk()
    work = Path(tempfile.mkdtemp(prefix="overcast-bench-reads-"))
    log_dir = work / "logs"
    log_dir.mkdir()
    data_dir = work / "data"
    env = {"OVERCAST_IDENTITY_BCRYPT_ROUNDS": "4", "OVERCAST_CONFIG": str(_config(work, "noop")),
           "OVERCAST_SERVER_LOG_LEVEL": "WARNING"}
    print(f"overcast-bench reads: workers={args.workers} threads={args.threads} duration={args.duration}s "
          f"connections={args.connections}; {os.cpu_count()} CPUs; work dir {work}", flush=True)
    headers = ["scenario", "bytes", "req/s", "p50 ms", "bare req/s (same bytes)", "ratio", "sock err/non-2xx"]
    variants = ([] if args.uncached_only else [("cached (default)", {})]) + (
        [("uncached", {"OVERCAST_SERVER_RESPONSE_CACHE": "false"})] if args.uncached or args.uncached_only else [])
    srv = _serve(args, data_dir, env, log_dir, "overcast")
    try:
        network = _populate(args, srv, data_dir, args.small, None)
    finally:
        srv.stop()
    results: dict[str, list[list[str]]] = {}
    for name, extra in variants:
        print(f"-- {name}", flush=True)
        srv = _serve(args, data_dir, {**env, **extra}, log_dir, f"overcast-{name.split()[0]}")
        try:
            results[name] = measure(args, srv, data_dir, work, log_dir)
        finally:
            srv.stop()
    if not args.skip_large:
        srv = _serve(args, data_dir, env, log_dir, "overcast-large")
        try:
            began = time.perf_counter()
            _populate(args, srv, data_dir, args.large, network)
            print(f"  {args.large} servers ACTIVE after {time.perf_counter() - began:.0f}s", flush=True)
        finally:
            srv.stop()
        for name, extra in variants:
            srv = _serve(args, data_dir, {**env, **extra}, log_dir, f"overcast-large-{name.split()[0]}")
            try:
                token, _ = _token(srv.port, data_dir, "overcast")
                results[name].append(_versus_bare(args, srv, f"{COMPUTE}/servers/detail?limit=1000", token, work,
                                                  log_dir, f"GET servers/detail?limit=1000 ({args.large} servers)"))
            finally:
                srv.stop()
    when = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load = os.getloadavg()
    for name, rows in results.items():
        print(f"\n{name}; {when}; load {load[0]:.1f}; workers={args.workers} threads={args.threads}")
        print(table(headers, rows))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--large", type=int, default=10000)
    parser.add_argument("--skip-large", action="store_true")
    parser.add_argument("--uncached", action="store_true", help="also measure with the response cache off")
    parser.add_argument("--uncached-only", action="store_true", help="measure with the response cache off only")
    parser.add_argument("--only", action="append", default=[], metavar="WORD",
                        help="only the lists whose label contains WORD (servers, volumes, ports...); repeatable")
    return run_main(run, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
