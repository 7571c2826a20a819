"""Block storage benchmarks: volume create-to-available throughput, and a Cinder read beside bare Falcon.

    .venv/bin/python -m benchmarks.volume [--creates 500] [--ops-threads 1,4] [--duration 5]
        [--connections 16] [--threads 8] [--skip-reads]

Creates: ``--creates`` blank 1 GB volumes on the **local** driver (zero delay), one
``POST /volume/v3/{project}/volumes`` per volume from 16 client threads, timed from the first POST to
the last volume ``available``, with 1 and 4 operation worker threads. ``available`` is counted in
the database (a read-only query every 0.1 s), so watching does not load the server measured.

Reads (wrk, the demo user's token): ``GET /volume/v3/{project}/volumes/detail`` with 100 volumes
beside the bare Falcon app's ``GET /``, both on granian with the same workers and threads, so the
figure is a ratio. Reuses the compute benchmark's harness (``benchmarks.compute``).
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from benchmarks.common import HOST, BenchError, require_wrk, run_wrk, table
from benchmarks.compute import _bootstrap, _call, _config, _serve, _token
from benchmarks.servers import bare_wrk

CLIENT_THREADS = 16


def _available(data_dir: Path, project: str) -> int:
    conn = sqlite3.connect(f"file:{data_dir / 'overcast.db'}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute("SELECT count(*) FROM volume WHERE project_id = ? AND status IN ('available', 'error')",
                            (project,)).fetchone()[0]
    finally:
        conn.close()


def _create(port: int, token: str, project: str, count: int) -> None:
    def one(i: int) -> int:
        status, body = _call(port, token, "POST", f"/volume/v3/{project}/volumes",
                             {"volume": {"size": 1, "name": f"bench-{i}"}})
        if status != 202:
            raise BenchError(f"POST volumes answered {status}: {body}")
        return status

    with ThreadPoolExecutor(CLIENT_THREADS) as pool:
        list(pool.map(one, range(count)))


def _raise_quota(port: int, admin_token: str, project: str, count: int) -> None:
    status, body = _call(port, admin_token, "PUT", f"/volume/v3/{project}/os-quota-sets/{project}",
                         {"quota_set": {"volumes": count, "gigabytes": count}})
    if status != 200:
        raise BenchError(f"quota update answered {status}: {body}")


def creates(args: argparse.Namespace, work: Path, log_dir: Path, ops_threads: int) -> dict[str, float]:
    data_dir = work / f"creates-{ops_threads}"
    env = {"OVERCAST_IDENTITY_BCRYPT_ROUNDS": "4", "OVERCAST_CONFIG": str(_config(work, "local"))}
    _bootstrap(data_dir, env, log_dir)
    srv = _serve(data_dir, env, log_dir, args.threads, ops_threads)
    try:
        token, project = _token(srv.port, data_dir, "overcast")
        admin, _ = _token(srv.port, data_dir, "overcast-admin")
        _raise_quota(srv.port, admin, project, args.creates)
        started = time.perf_counter()
        _create(srv.port, token, project, args.creates)
        posted = time.perf_counter() - started
        deadline = time.monotonic() + max(120.0, args.creates / 2)
        while (done := _available(data_dir, project)) < args.creates:
            if time.monotonic() > deadline:
                raise BenchError(f"only {done}/{args.creates} volumes available before the deadline")
            time.sleep(0.1)
        total = time.perf_counter() - started
    finally:
        srv.stop()
    return {"ops_threads": ops_threads, "posts_per_s": args.creates / posted, "available_per_s": args.creates / total,
            "seconds": total}


def reads(args: argparse.Namespace, work: Path, log_dir: Path) -> tuple[float, float]:
    bare_rps = bare_wrk(log_dir, threads=args.threads, duration=args.duration, connections=args.connections).rps
    data_dir = work / "reads"
    env = {"OVERCAST_IDENTITY_BCRYPT_ROUNDS": "4", "OVERCAST_CONFIG": str(_config(work, "noop"))}
    _bootstrap(data_dir, env, log_dir)
    srv = _serve(data_dir, env, log_dir, args.threads, 4)
    try:
        token, project = _token(srv.port, data_dir, "overcast")
        admin, _ = _token(srv.port, data_dir, "overcast-admin")
        _raise_quota(srv.port, admin, project, 100)
        _create(srv.port, token, project, 100)
        while _available(data_dir, project) < 100:
            time.sleep(0.1)
        rps = run_wrk(f"http://{HOST}:{srv.port}/volume/v3/{project}/volumes/detail", "get.lua",
                      duration=args.duration, connections=args.connections,
                      env={"OVERCAST_BENCH_TOKEN": token}).rps
    finally:
        srv.stop()
    return bare_rps, rps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--creates", type=int, default=500)
    parser.add_argument("--ops-threads", default="1,4")
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--skip-reads", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="overcast-bench-volume-") as tmp:
        work = Path(tmp)
        log_dir = work / "logs"
        log_dir.mkdir()
        rows = []
        for threads in (int(t) for t in args.ops_threads.split(",")):
            result = creates(args, work, log_dir, threads)
            rows.append([str(threads), f"{result['posts_per_s']:.0f}", f"{result['available_per_s']:.0f}",
                         f"{result['seconds']:.1f}"])
        print(table(["ops threads", "POST/s", "available/s", "seconds"], rows))
        if not args.skip_reads:
            require_wrk()
            bare_rps, rps = reads(args, work, log_dir)
            print(table(["endpoint", "req/s", "ratio to bare"],
                        [["bare GET /", f"{bare_rps:,.0f}", "1.00"],
                         ["GET volumes/detail (100)", f"{rps:,.0f}", f"{rps / bare_rps:.3g}"]]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
