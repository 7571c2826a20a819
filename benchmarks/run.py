"""Overcast vs a bare Falcon app on the same WSGI server: throughput, latency, cold start.

    .venv/bin/python -m benchmarks.run [--duration 10] [--connections 32] [--workers 2]
                                       [--threads 8] [--bcrypt-rounds 12] [--database-url URL]

Starts ``overcast serve`` (subprocess, temporary data directory, free loopback port) and
``benchmarks/bare_app.py`` on the same WSGI server with the same workers and threads, drives each
scenario with wrk for a bounded time, and prints requests/s, p50 and p99 latency, and the ratio
to the bare endpoint. Cold start is process start -> first 2xx/3xx answer, median of --starts
runs on an already bootstrapped data directory (the first, bootstrapping start is shown apart).

Needs wrk (Debian/Ubuntu: ``apt-get install -y wrk``). Only 127.0.0.1 is ever targeted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import yaml

from benchmarks.common import (BIN, HOST, BenchError, Server, WrkResult, free_port, median, require_loopback_database,
                               run_main, run_wrk, start, table)
from benchmarks.servers import bare_wrk, server_argv

READY_PATH = "/identity/v3"
AUTH_CANDIDATES = ("/identity/v3/auth/catalog", "/identity/v3/auth/projects", "/identity/v3/auth/tokens")


def serve_argv(args: argparse.Namespace, data_dir: Path, port: int) -> list[str]:
    overcast = BIN / "overcast"
    base = [str(overcast)] if overcast.exists() else [sys.executable, "-m", "overcast"]
    argv = [*base, "serve", "--host", HOST, "--port", str(port), "--data-dir", str(data_dir),
            "--workers", str(args.workers)]
    if args.threads:
        argv += ["--threads", str(args.threads)]
    return argv


def serve_env(args: argparse.Namespace) -> dict[str, str]:
    env = {"OVERCAST_IDENTITY_BCRYPT_ROUNDS": str(args.bcrypt_rounds)}
    if args.database_url:
        env["OVERCAST_DATABASE_URL"] = args.database_url
    if args.log_level:
        env["OVERCAST_SERVER_LOG_LEVEL"] = args.log_level
    return env


def request(port: int, method: str, path: str, body: bytes | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def auth_body(data_dir: Path, cloud: str) -> dict:
    """A password, project-scoped auth request for ``cloud`` from the clouds.yaml serve wrote."""
    path = data_dir / "clouds.yaml"
    try:
        auth = yaml.safe_load(path.read_text())["clouds"][cloud]["auth"]
    except (OSError, KeyError, TypeError) as exc:
        raise BenchError(f"cannot read cloud {cloud!r} from {path}: {exc!r}") from None

    def ref(prefix: str) -> dict:
        if auth.get(f"{prefix}_domain_id"):
            return {"id": auth[f"{prefix}_domain_id"]}
        return {"name": auth.get(f"{prefix}_domain_name", "Default")}

    body: dict = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": auth["username"], "domain": ref("user"), "password": auth["password"]}}}}}
    if auth.get("project_name"):
        body["auth"]["scope"] = {"project": {"name": auth["project_name"], "domain": ref("project")}}
    elif auth.get("project_id"):
        body["auth"]["scope"] = {"project": {"id": auth["project_id"]}}
    return body


def cold_starts(name: str, argv_for, ready: str, runs: int, env: dict, log_dir: Path) -> list[float]:
    times = []
    for _ in range(runs):
        port = free_port()
        srv = start(name, argv_for(port), port, env, log_dir)
        try:
            times.append(srv.wait_ready(ready))
        finally:
            srv.stop()
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk run (default 10)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    parser.add_argument("--issue-connections", type=int, default=8,
                        help="wrk connections for token issue, which is bcrypt-bound (default 8)")
    parser.add_argument("--wrk-threads", type=int, default=1, help="wrk threads (default 1: leave the cores "
                        "to the server; one wrk thread saturates a Python server)")
    parser.add_argument("--workers", type=int, default=1, help="server processes for both apps (default 1)")
    parser.add_argument("--threads", type=int, default=8, help="threads per process for both apps (default 8)")
    parser.add_argument("--bcrypt-rounds", type=int, default=12, help="bcrypt cost (default 12, as shipped)")
    parser.add_argument("--database-url", help="SQLAlchemy URL (e.g. postgresql://...@127.0.0.1/overcast_bench); "
                        "default: SQLite in the temporary data directory")
    parser.add_argument("--starts", type=int, default=5, help="cold starts to take the median of (default 5)")
    parser.add_argument("--cloud", default="overcast", help="clouds.yaml entry whose user issues tokens")
    parser.add_argument("--auth-path", help="the authenticated GET to measure (default: the first of "
                        + ", ".join(AUTH_CANDIDATES) + " that answers 200)")
    parser.add_argument("--bare-server", default="granian-bt8",
                        choices=["granian-bt8", "gunicorn-gthread", "gunicorn-sync"],
                        help="how the bare app is served; must match what `overcast serve` runs "
                             "(default granian WSGI with --threads blocking threads)")
    parser.add_argument("--log-level", help="OVERCAST_SERVER_LOG_LEVEL for serve (default: serve's own)")
    parser.add_argument("--keep", action="store_true", help="keep the data and log directories")
    parser.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    args = parser.parse_args(argv)
    return run_main(_run, args)


def _run(args: argparse.Namespace) -> int:
    require_loopback_database(args.database_url)
    work = Path(tempfile.mkdtemp(prefix="overcast-bench-"))
    data_dir, log_dir = work / "data", work / "logs"
    log_dir.mkdir()
    env = serve_env(args)
    results: dict[str, dict] = {}
    print(f"overcast-bench: workers={args.workers} threads={args.threads} bcrypt_rounds={args.bcrypt_rounds} "
          f"db={'postgresql' if args.database_url else 'sqlite'} duration={args.duration:g}s "
          f"connections={args.connections} (logs: {log_dir})", flush=True)
    try:
        # 1. first start bootstraps the data directory; later starts are the cold-start figure
        port = free_port()
        srv = start("overcast-first", serve_argv(args, data_dir, port), port, env, log_dir)
        try:
            first = srv.wait_ready(READY_PATH, timeout=120)
        finally:
            srv.stop()
        over_starts = cold_starts("overcast-start", lambda p: serve_argv(args, data_dir, p), READY_PATH,
                                  args.starts, env, log_dir)
        bare_starts = cold_starts("bare-start", lambda p: server_argv(args.bare_server, "benchmarks.bare_app:app",
                                                                      p, args.workers, args.threads),
                                  "/", args.starts, {}, log_dir)
        print(f"cold start: overcast median {median(over_starts) * 1000:.0f} ms "
              f"(first, bootstrapping: {first * 1000:.0f} ms), bare median {median(bare_starts) * 1000:.0f} ms",
              flush=True)

        # 2. load: the bare app first, then overcast's scenarios, one server each
        results["bare"] = bare_wrk(log_dir, threads=args.threads, duration=args.duration,
                                   connections=args.connections, server=args.bare_server, workers=args.workers,
                                   wrk_threads=args.wrk_threads)
        _show("bare GET /", results["bare"])

        port = free_port()
        srv = start("overcast", serve_argv(args, data_dir, port), port, env, log_dir)
        try:
            srv.wait_ready(READY_PATH)
            _scenarios(args, srv, data_dir, work, results)
        finally:
            srv.stop()
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    bare = results["bare"]
    rows = []
    labels = {"bare": "bare Falcon GET / (fixed JSON)", "version": "GET /identity/v3 (no auth)",
              "auth_get": f"authenticated GET {results.get('_auth_path', '')}",
              "validate": "token validate GET /v3/auth/tokens", "issue": "token issue POST /v3/auth/tokens"}
    for key in ("bare", "version", "auth_get", "validate", "issue"):
        res = results.get(key)
        if res is None:
            continue
        conns = args.issue_connections if key == "issue" else args.connections
        rows.append([labels[key], str(conns), *res.row(), f"{res.rps / bare.rps:.3g}",
                     f"{res.p50_ms / bare.p50_ms:.3g}", f"{res.errors}/{res.non_2xx}"])
    rows.append(["cold start, median of %d (ms)" % args.starts, "-", "-",
                 f"{median(over_starts) * 1000:.0f}", "-", "-",
                 f"{median(over_starts) / median(bare_starts):.1f}", "-"])
    when = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print()
    print(f"{when}; {os.cpu_count()} CPUs; workers={args.workers} threads={args.threads} "
          f"bcrypt_rounds={args.bcrypt_rounds} db={'postgresql' if args.database_url else 'sqlite'}; "
          f"wrk -t{args.wrk_threads} -d{args.duration:g}s; bare on {args.bare_server}")
    print(table(["scenario", "conns", "req/s", "p50 ms", "p99 ms", "req/s vs bare", "p50 vs bare",
                 "sock err/non-2xx"], rows))
    print(f"cold start (process start -> first answer): overcast {median(over_starts) * 1000:.0f} ms, "
          f"bare {median(bare_starts) * 1000:.0f} ms, first start with bootstrap {first * 1000:.0f} ms")
    if args.json:
        out = {k: v.__dict__ | {"raw": None} for k, v in results.items() if isinstance(v, WrkResult)}
        out["cold_start_ms"] = {"overcast": [t * 1000 for t in over_starts], "bare": [t * 1000 for t in bare_starts],
                                "first": first * 1000}
        out["args"] = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
                       if k != "database_url"}
        args.json.write_text(json.dumps(out, indent=2))
    bad = [k for k, v in results.items() if isinstance(v, WrkResult) and (v.non_2xx or v.errors)]
    if bad:
        print(f"WARNING: errors or non-2xx answers in {', '.join(bad)}; see the server log", file=sys.stderr)
    return 1 if bad else 0


def _wrk(args: argparse.Namespace, port: int, path: str, script: str, env: dict,
         connections: int | None = None) -> WrkResult:
    return run_wrk(f"http://{HOST}:{port}{path}", script, duration=args.duration,
                   connections=connections or args.connections, threads=args.wrk_threads, env=env)


def _show(label: str, res: WrkResult) -> None:
    print(f"  {label}: {res.rps:,.0f} req/s, p50 {res.p50_ms:.2f} ms, p99 {res.p99_ms:.2f} ms, "
          f"errors {res.errors}, non-2xx {res.non_2xx}", flush=True)


def _scenarios(args: argparse.Namespace, srv: Server, data_dir: Path, work: Path, results: dict) -> None:
    port = srv.port
    body = json.dumps(auth_body(data_dir, args.cloud)).encode()
    status, headers, answer = request(port, "POST", "/identity/v3/auth/tokens", body,
                                      {"Content-Type": "application/json"})
    token = headers.get("x-subject-token")
    if status != 201 or not token:
        raise BenchError(f"token issue answered {status}: {answer[:300]!r}")

    path = args.auth_path
    if path is None:
        for candidate in AUTH_CANDIDATES:
            extra = {"X-Subject-Token": token} if candidate.endswith("/tokens") else {}
            if request(port, "GET", candidate, headers={"X-Auth-Token": token, **extra})[0] == 200:
                path = candidate
                break
        else:
            raise BenchError(f"none of {AUTH_CANDIDATES} answered 200 with a token")
    status, _, answer = request(port, "GET", path, headers={"X-Auth-Token": token})
    if status != 200:
        raise BenchError(f"GET {path} with a token answered {status}: {answer[:300]!r}")
    if request(port, "GET", path)[0] != 401:
        print(f"  note: GET {path} without a token did not answer 401", file=sys.stderr)
    results["_auth_path"] = path

    results["version"] = _wrk(args, port, READY_PATH, "get.lua", {})
    _show(f"GET {READY_PATH}", results["version"])
    results["auth_get"] = _wrk(args, port, path, "get.lua", {"OVERCAST_BENCH_TOKEN": token})
    _show(f"GET {path} (token)", results["auth_get"])
    if request(port, "GET", "/identity/v3/auth/tokens",
               headers={"X-Auth-Token": token, "X-Subject-Token": token})[0] == 200:
        results["validate"] = _wrk(args, port, "/identity/v3/auth/tokens", "get.lua",
                                   {"OVERCAST_BENCH_TOKEN": token, "OVERCAST_BENCH_SUBJECT_TOKEN": token})
        _show("GET /v3/auth/tokens (validate)", results["validate"])
    body_file = work / "auth.json"
    body_file.write_bytes(body)
    results["issue"] = _wrk(args, port, "/identity/v3/auth/tokens", "token_issue.lua",
                            {"OVERCAST_BENCH_BODY_FILE": str(body_file)}, connections=args.issue_connections)
    _show("POST /v3/auth/tokens (issue)", results["issue"])


if __name__ == "__main__":
    sys.exit(main())
