"""Compute benchmarks: Nova reads against a bare Falcon endpoint, and create throughput.

    .venv/bin/python -m benchmarks.compute [--duration 5] [--connections 16] [--threads 8]
        [--small 100] [--large 10000] [--creates 1000] [--ops-threads 1,4]
        [--database-url postgresql://USER:PASS@127.0.0.1:PORT/postgres] [--skip-reads] [--skip-creates]

Reads (wrk, bounded runs, the demo user's token), on granian with the same workers and threads as
the bare app (``benchmarks/bare_app.py``, ``GET /``):

- ``GET /compute/v2.1/servers/detail`` with ``--small`` servers in the project (all in one page)
- ``GET /compute/v2.1/servers/detail?limit=1000`` with ``--large`` servers
- ``GET /compute/v2.1/servers/{id}``

Every server gets a port on a ``bench`` network with a /16 subnet (the quotas for servers and ports
are raised first), so the reads render real addresses and the creates allocate real ports.

The servers for the read scenarios are made **through the API on the noop driver**
(``[clouds.RegionOne] driver = "noop"``): ``POST /servers`` with ``min_count``/``max_count`` in
batches of up to 500, so the records are the ones Overcast itself writes; the script waits until
they are all ACTIVE before measuring.

Create throughput: time for ``--creates`` servers from the first ``POST /servers`` to the last one
ACTIVE, on the **local** driver with zero build delay, one ``POST`` per server from 16 client
threads, with 1 and 4 operation worker threads (``--ops-threads``), on SQLite and, with
``--database-url`` (a PostgreSQL *admin* URL on loopback; a fresh database is created per run and
dropped after), on PostgreSQL. ACTIVE is counted in the database (a cheap read-only query every
0.2 s), not through the API, so the watching does not load the server being measured.

Overcast is served by ``benchmarks.compute_app:application`` (the same app as ``overcast serve``,
with the operation worker threads chosen per run). Loopback only; every run and wait is bounded.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks.common import (BIN, HOST, BenchError, Server, WrkResult, free_port, require_loopback_database,
                               run_main, run_wrk, start, table)
from benchmarks.run import auth_body, request
from benchmarks.servers import bare_wrk

READY = "/identity/v3"
COMPUTE = "/compute/v2.1"
BATCH = 500
CLIENT_THREADS = 16


# -- servers ---------------------------------------------------------------------------------------

def _bootstrap(data_dir: Path, env: dict[str, str], log_dir: Path) -> None:
    """One ``overcast serve`` start: keys, schema, accounts, seeded flavors and image, clouds.yaml."""
    overcast = BIN / "overcast"
    base = [str(overcast)] if overcast.exists() else [sys.executable, "-m", "overcast"]
    port = free_port()
    srv = start("overcast-bootstrap", [*base, "serve", "--host", HOST, "--port", str(port), "--data-dir",
                                       str(data_dir)], port, env, log_dir)
    try:
        srv.wait_ready(READY, timeout=120)
    finally:
        srv.stop()


def _serve(data_dir: Path, env: dict[str, str], log_dir: Path, threads: int, ops_threads: int) -> Server:
    port = free_port()
    full = dict(env)
    full.update({"OVERCAST_DATA_DIR": str(data_dir), "OVERCAST_SERVER_HOST": HOST,
                 "OVERCAST_SERVER_PORT": str(port), "OVERCAST_BENCH_OPS_THREADS": str(ops_threads)})
    argv = [str(BIN / "granian"), "--interface", "wsgi", "--factory", "--host", HOST, "--port", str(port),
            "--workers", "1", "--blocking-threads", str(threads), "--no-ws", "--log-level", "warning",
            "benchmarks.compute_app:application"]
    srv = start(f"overcast-ops{ops_threads}", argv, port, full, log_dir)
    srv.wait_ready(READY, timeout=120)
    return srv


def _config(work: Path, driver: str) -> Path:
    path = work / f"{driver}.toml"
    extra = "build_delay = 0\n" if driver == "local" else ""
    path.write_text(f'[clouds.RegionOne]\ndriver = "{driver}"\n{extra}')
    return path


# -- API helpers -------------------------------------------------------------------------------------

def _token(port: int, data_dir: Path, cloud: str) -> tuple[str, str]:
    body = json.dumps(auth_body(data_dir, cloud)).encode()
    status, headers, answer = request(port, "POST", "/identity/v3/auth/tokens", body,
                                      {"Content-Type": "application/json"})
    if status != 201:
        raise BenchError(f"token issue for {cloud} answered {status}: {answer[:300]!r}")
    return headers["x-subject-token"], json.loads(answer)["token"]["project"]["id"]


def _call(port: int, token: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    status, _, answer = request(port, method, path, data, {"X-Auth-Token": token, "Content-Type": "application/json"})
    try:
        return status, json.loads(answer) if answer else None
    except ValueError:
        return status, answer[:300]


def _make_room(port: int, admin_token: str, token: str, project: str, instances: int) -> str:
    """Quotas for ``instances`` servers and their ports, and a network with a /16 for them; its id."""
    for path, body in ((f"{COMPUTE}/os-quota-sets/{project}",
                        {"quota_set": {"instances": instances, "cores": instances, "ram": instances * 1024}}),
                       (f"/network/v2.0/quotas/{project}", {"quota": {"port": instances + 10}})):
        status, answer = _call(port, admin_token, "PUT", path, body)
        if status != 200:
            raise BenchError(f"PUT {path} answered {status}: {answer}")
    status, answer = _call(port, token, "POST", "/network/v2.0/networks", {"network": {"name": "bench"}})
    if status != 201:
        raise BenchError(f"POST /network/v2.0/networks answered {status}: {answer}")
    network = answer["network"]["id"]
    status, answer = _call(port, token, "POST", "/network/v2.0/subnets", {"subnet": {
        "network_id": network, "ip_version": 4, "cidr": "10.128.0.0/16"}})
    if status != 201:
        raise BenchError(f"POST /network/v2.0/subnets answered {status}: {answer}")
    return network


def _image_id(port: int, token: str) -> str:
    status, body = _call(port, token, "GET", "/image/v2/images?name=cirros")
    if status != 200 or not body.get("images"):
        raise BenchError(f"GET /image/v2/images?name=cirros answered {status}: {body}")
    return body["images"][0]["id"]


def _create_batches(port: int, token: str, image: str, network: str, count: int) -> str:
    """``count`` servers through ``POST /servers`` with min/max_count; returns how it was done."""
    made = 0
    while made < count:
        n = min(BATCH, count - made)
        status, body = _call(port, token, "POST", f"{COMPUTE}/servers", {"server": {
            "name": f"bench-{made}", "flavorRef": "1", "imageRef": image, "min_count": n, "max_count": n,
            "networks": [{"uuid": network}], "return_reservation_id": True}})
        if status != 202:
            if made == 0 and n > 1:
                return _create_one_by_one(port, token, image, network, count)
            raise BenchError(f"POST /servers (max_count {n}) answered {status}: {body}")
        made += n
    return f"API, POST /servers with min_count=max_count<={BATCH}"


def _create_one_by_one(port: int, token: str, image: str, network: str, count: int) -> str:
    def one(i: int) -> int:
        return _call(port, token, "POST", f"{COMPUTE}/servers", {"server": {
            "name": f"bench-{i}", "flavorRef": "1", "imageRef": image, "networks": [{"uuid": network}]}})[0]

    with ThreadPoolExecutor(CLIENT_THREADS) as pool:
        codes = list(pool.map(one, range(count)))
    bad = [c for c in codes if c != 202]
    if bad:
        raise BenchError(f"{len(bad)} of {count} creates did not answer 202 (e.g. {bad[0]})")
    return "API, one POST /servers per server (max_count was refused)"


class ActiveCounter:
    """Counts ACTIVE/ERROR servers of a project straight from the store, read-only."""

    def __init__(self, data_dir: Path, database_url: str | None) -> None:
        self.database_url = database_url
        self.path = data_dir / "overcast.db"

    def __call__(self, project: str) -> tuple[int, int]:
        query = ("SELECT SUM(CASE WHEN vm_state = 'active' THEN 1 ELSE 0 END), "
                 "SUM(CASE WHEN vm_state = 'error' THEN 1 ELSE 0 END) FROM server "
                 "WHERE project_id = %s AND deleted = %s")
        if self.database_url:
            import psycopg

            from overcast.testing.live import _pg_connect_url

            with psycopg.connect(_pg_connect_url(self.database_url), connect_timeout=10) as conn:
                row = conn.execute(query, (project, False)).fetchone()
        else:
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)
            try:
                row = conn.execute(query.replace("%s", "?"), (project, 0)).fetchone()
            finally:
                conn.close()
        return int(row[0] or 0), int(row[1] or 0)


def _wait_settled(counter: ActiveCounter, project: str, count: int, timeout: float) -> tuple[float, int, int]:
    began = time.perf_counter()
    while True:
        active, error = counter(project)
        if active + error >= count:
            return time.perf_counter(), active, error
        if time.perf_counter() - began > timeout:
            raise BenchError(f"only {active} ACTIVE + {error} ERROR of {count} after {timeout:.0f}s")
        time.sleep(0.2)


# -- scenarios ---------------------------------------------------------------------------------------

def _wrk(args: argparse.Namespace, port: int, path: str, token: str = "") -> WrkResult:
    return run_wrk(f"http://{HOST}:{port}{path}", "get.lua", duration=args.duration, connections=args.connections,
                   env={"OVERCAST_BENCH_TOKEN": token} if token else {})


def reads(args: argparse.Namespace, work: Path, log_dir: Path) -> tuple[dict[str, WrkResult], str]:
    results = {"bare": bare_wrk(log_dir, threads=args.threads, duration=args.duration,
                                connections=args.connections)}
    print(f"  bare GET /: {results['bare'].rps:,.0f} req/s", flush=True)

    data_dir = work / "reads"
    env = {"OVERCAST_IDENTITY_BCRYPT_ROUNDS": "4", "OVERCAST_CONFIG": str(_config(work, "noop"))}
    _bootstrap(data_dir, env, log_dir)
    srv = _serve(data_dir, env, log_dir, args.threads, 4)
    counter = ActiveCounter(data_dir, None)
    try:
        admin_token, _ = _token(srv.port, data_dir, "overcast-admin")
        token, project = _token(srv.port, data_dir, "overcast")
        network = _make_room(srv.port, admin_token, token, project, args.large + 100)
        image = _image_id(srv.port, token)
        how = _create_batches(srv.port, token, image, network, args.small)
        _wait_settled(counter, project, args.small, 300)
        status, body = _call(srv.port, token, "GET", f"{COMPUTE}/servers/detail")
        if status != 200 or len(body["servers"]) != args.small:
            raise BenchError(f"GET /servers/detail: {status}, {len(body.get('servers', []))} servers")
        one = body["servers"][0]["id"]
        results["detail_small"] = _wrk(args, srv.port, f"{COMPUTE}/servers/detail", token)
        print(f"  detail ({args.small}): {results['detail_small'].rps:,.0f} req/s", flush=True)
        results["show"] = _wrk(args, srv.port, f"{COMPUTE}/servers/{one}", token)
        print(f"  show: {results['show'].rps:,.0f} req/s", flush=True)
        began = time.perf_counter()
        _create_batches(srv.port, token, image, network, args.large - args.small)
        _wait_settled(counter, project, args.large, 1800)
        print(f"  {args.large} servers made and ACTIVE in {time.perf_counter() - began:.0f}s ({how})", flush=True)
        path = f"{COMPUTE}/servers/detail?limit=1000"
        status, body = _call(srv.port, token, "GET", path)
        if status != 200 or len(body["servers"]) != 1000:
            raise BenchError(f"GET {path}: {status}, {len(body.get('servers', []))} servers")
        results["detail_large"] = _wrk(args, srv.port, path, token)
        print(f"  detail ({args.large}, limit 1000): {results['detail_large'].rps:,.1f} req/s", flush=True)
    finally:
        srv.stop()
    return results, how


def creates(args: argparse.Namespace, work: Path, log_dir: Path, backend: str, ops_threads: int) -> dict[str, Any]:
    data_dir = work / f"create-{backend}-{ops_threads}"
    env = {"OVERCAST_IDENTITY_BCRYPT_ROUNDS": "4", "OVERCAST_CONFIG": str(_config(work, "local"))}
    database_url = None
    if backend == "postgresql":
        from overcast.testing.live import create_postgres_database

        database_url = create_postgres_database(args.database_url, prefix="overcast_bench")
        env["OVERCAST_DATABASE_URL"] = database_url
    try:
        _bootstrap(data_dir, env, log_dir)
        srv = _serve(data_dir, env, log_dir, args.threads, ops_threads)
        try:
            admin_token, _ = _token(srv.port, data_dir, "overcast-admin")
            token, project = _token(srv.port, data_dir, "overcast")
            network = _make_room(srv.port, admin_token, token, project, args.creates + 10)
            image = _image_id(srv.port, token)
            counter = ActiveCounter(data_dir, database_url)
            began = time.perf_counter()
            _create_one_by_one(srv.port, token, image, network, args.creates)
            posted = time.perf_counter()
            done, active, error = _wait_settled(counter, project, args.creates, args.create_timeout)
        finally:
            srv.stop()
    finally:
        if database_url:
            from overcast.testing.live import drop_postgres_database

            drop_postgres_database(args.database_url, database_url)
    result = {"backend": backend, "ops_threads": ops_threads, "post_s": posted - began, "total_s": done - began,
              "active": active, "error": error}
    print(f"  {backend}, {ops_threads} ops thread(s): {args.creates} POSTs in {result['post_s']:.1f}s, all settled "
          f"in {result['total_s']:.1f}s ({active} ACTIVE, {error} ERROR)", flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per wrk run (default 5)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=8, help="granian blocking threads for both apps (default 8)")
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--large", type=int, default=10000)
    parser.add_argument("--creates", type=int, default=1000)
    parser.add_argument("--create-timeout", type=float, default=900.0)
    parser.add_argument("--ops-threads", default="1,4")
    parser.add_argument("--database-url", help="PostgreSQL admin URL on loopback (a fresh database per run)")
    parser.add_argument("--skip-reads", action="store_true")
    parser.add_argument("--skip-creates", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the data and log directories")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    try:
        require_loopback_database(args.database_url)
    except BenchError as exc:
        parser.error(str(exc))
    return run_main(_run, args)


def _run(args: argparse.Namespace) -> int:
    work = Path(tempfile.mkdtemp(prefix="overcast-bench-compute-"))
    log_dir = work / "logs"
    log_dir.mkdir()
    print(f"overcast compute bench: threads={args.threads} duration={args.duration:g}s "
          f"connections={args.connections} (work: {work})", flush=True)
    read_results: dict[str, WrkResult] = {}
    how = ""
    create_results: list[dict[str, Any]] = []
    try:
        if not args.skip_reads:
            read_results, how = reads(args, work, log_dir)
        if not args.skip_creates:
            backends = ["sqlite"] + (["postgresql"] if args.database_url else [])
            for backend in backends:
                for n in (int(x) for x in args.ops_threads.split(",")):
                    create_results.append(creates(args, work, log_dir, backend, n))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    when = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print(f"\n{when}; {os.cpu_count()} CPUs; load {os.getloadavg()[0]:.1f}; granian 1 worker, "
          f"{args.threads} blocking threads; wrk -t1 -c{args.connections} -d{args.duration:g}s")
    if read_results:
        bare = read_results["bare"]
        labels = {"bare": "bare Falcon GET / (fixed JSON)",
                  "detail_small": f"GET /servers/detail ({args.small} servers)",
                  "detail_large": f"GET /servers/detail?limit=1000 ({args.large} servers)",
                  "show": "GET /servers/{id}"}
        rows = []
        for key in ("bare", "detail_small", "detail_large", "show"):
            res = read_results.get(key)
            if res:
                rows.append([labels[key], *res.row(), f"{res.rps / bare.rps:.3g}", f"{res.p50_ms / bare.p50_ms:.3g}",
                             f"{res.errors}/{res.non_2xx}"])
        print(table(["scenario", "req/s", "p50 ms", "p99 ms", "req/s vs bare", "p50 vs bare", "err/non-2xx"], rows))
        print(f"servers for the reads: noop driver, made by {how}")
    if create_results:
        base = create_results[0]["total_s"]
        rows = [[r["backend"], str(r["ops_threads"]), f"{r['post_s']:.1f}", f"{r['total_s']:.1f}",
                 f"{args.creates / r['total_s']:.1f}", f"{r['total_s'] / base:.2f}", f"{r['active']}/{r['error']}"]
                for r in create_results]
        print()
        print(f"create throughput: {args.creates} servers, local driver, build_delay 0, {CLIENT_THREADS} client "
              f"threads, POST -> ACTIVE")
        print(table(["database", "ops threads", "POSTs done s", "all ACTIVE s", "servers/s",
                     "time vs first row", "ACTIVE/ERROR"], rows))
    if args.json:
        args.json.write_text(json.dumps({"reads": {k: v.__dict__ | {"raw": None} for k, v in read_results.items()},
                                         "creates": create_results, "how": how}, indent=2))
    bad = [k for k, v in read_results.items() if v.errors or v.non_2xx]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
