"""Network benchmarks: port allocation rate in a /16, and ``GET /v2.0/ports`` with 10,000 ports
against a bare Falcon endpoint on the same server.

    .venv/bin/python -m benchmarks.network [--ports 10000] [--single 500] [--duration 5]
        [--connections 16] [--threads 8]

Overcast runs on the noop driver (what is measured is Overcast's own work: IPAM, records, views),
served by ``benchmarks.compute_app:application`` on granian like ``overcast serve``. Allocation:
``--single`` ports one ``POST /v2.0/ports`` at a time (each picks a free address in a /16 from
the pools), then the rest in Neutron's bulk form (500 a request). Reads: wrk on
``GET /network/v2.0/ports`` (all ports, one page: one connection, as each answer is megabytes) and ``GET /network/v2.0/ports?limit=100``, with
the demo user's token. Loopback only; every run and wait is bounded.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from benchmarks.common import HOST, BenchError, require_wrk, run_wrk, table
from benchmarks.compute import _bootstrap, _call, _config, _serve, _token, _wrk
from benchmarks.servers import bare_wrk

NETWORK = "/network/v2.0"
BULK = 500


def _setup(port: int, admin: str, token: str, project: str, total: int) -> str:
    status, body = _call(port, admin, "PUT", f"{NETWORK}/quotas/{project}", {"quota": {"port": total + 100}})
    if status != 200:
        raise BenchError(f"quota update answered {status}: {body}")
    status, body = _call(port, token, "POST", f"{NETWORK}/networks", {"network": {"name": "bench"}})
    network = body["network"]["id"]
    status, body = _call(port, token, "POST", f"{NETWORK}/subnets", {"subnet": {
        "network_id": network, "ip_version": 4, "cidr": "10.128.0.0/16", "name": "bench-16"}})
    if status != 201:
        raise BenchError(f"subnet create answered {status}: {body}")
    return network


def allocate(port: int, token: str, network: str, single: int, total: int) -> tuple[float, float]:
    """(single-port creates per second, bulk-created ports per second)."""
    began = time.perf_counter()
    for _ in range(single):
        status, body = _call(port, token, "POST", f"{NETWORK}/ports", {"port": {"network_id": network}})
        if status != 201:
            raise BenchError(f"port create answered {status}: {body}")
    single_rate = single / (time.perf_counter() - began)
    left = total - single
    began = time.perf_counter()
    while left > 0:
        count = min(BULK, left)
        status, body = _call(port, token, "POST", f"{NETWORK}/ports",
                             {"ports": [{"network_id": network} for _ in range(count)]})
        if status != 201:
            raise BenchError(f"bulk port create answered {status}: {body}")
        left -= count
    return single_rate, (total - single) / (time.perf_counter() - began)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ports", type=int, default=10000)
    parser.add_argument("--single", type=int, default=500)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args(argv)
    require_wrk()
    work = Path(tempfile.mkdtemp(prefix="overcast-bench-network-"))
    log_dir = work / "logs"
    log_dir.mkdir()
    results = {"bare": bare_wrk(log_dir, threads=args.threads, duration=args.duration,
                                connections=args.connections)}
    data_dir = work / "data"
    env = {"OVERCAST_IDENTITY_BCRYPT_ROUNDS": "4", "OVERCAST_CONFIG": str(_config(work, "noop"))}
    _bootstrap(data_dir, env, log_dir)
    srv = _serve(data_dir, env, log_dir, args.threads, 1)
    try:
        admin, _ = _token(srv.port, data_dir, "overcast-admin")
        token, project = _token(srv.port, data_dir, "overcast")
        network = _setup(srv.port, admin, token, project, args.ports)
        single_rate, bulk_rate = allocate(srv.port, token, network, args.single, args.ports)
        print(f"  allocation in a /16: {single_rate:,.0f} ports/s one by one, {bulk_rate:,.0f} ports/s bulk",
              flush=True)
        results["list_all"] = run_wrk(f"http://{HOST}:{srv.port}{NETWORK}/ports", "get.lua",
                                      duration=max(args.duration, 10), connections=1, timeout_s=30,
                                      env={"OVERCAST_BENCH_TOKEN": token})
        results["list_page"] = _wrk(args, srv.port, f"{NETWORK}/ports?limit=100", token)
    finally:
        srv.stop()
    bare_rps = results["bare"].rps
    rows = [[label, *results[key].row(), f"{results[key].rps / bare_rps:.3g}"] for key, label in (
        ("bare", "bare Falcon GET /"), ("list_all", f"GET /v2.0/ports ({args.ports} ports, 1 conn)"),
        ("list_page", f"GET /v2.0/ports?limit=100 ({args.ports} ports)"))]
    print(table(["scenario", "req/s", "p50 ms", "p99 ms", "req/s vs bare"], rows))
    print(f"port allocation in a /16: {single_rate:,.0f}/s single POST, {bulk_rate:,.0f}/s bulk POST")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
