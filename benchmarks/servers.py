"""Compare WSGI servers serving a bare Falcon app and Overcast (docs/decisions/0001-wsgi-server.md).

    .venv/bin/python -m benchmarks.servers --duration 5 --connections 32 --rounds 3 --starts 2

For each server configuration and worker count: start-up to first answered request (median of
``--starts`` runs) and wrk throughput/latency on the bare app's fixed JSON and on Overcast's
``GET /identity/v3`` (or any ``--overcast-path``). Loopback only; every run is bounded.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from benchmarks.common import (BIN, HOST, BenchError, WrkResult, free_port, median, require_wrk, run_wrk, start,
                               table)

TARGETS = {"bare": ("benchmarks.bare_app:app", "/"), "overcast": ("benchmarks.overcast_app:app", "/identity/v3")}


def server_argv(server: str, target: str, port: int, workers: int, threads: int) -> list[str]:
    if server == "granian":
        return [str(BIN / "granian"), "--interface", "wsgi", "--host", "127.0.0.1", "--port", str(port),
                "--workers", str(workers), "--no-ws", "--log-level", "warning", target]
    if server == "granian-bt8":
        return [str(BIN / "granian"), "--interface", "wsgi", "--host", "127.0.0.1", "--port", str(port),
                "--workers", str(workers), "--blocking-threads", str(threads), "--no-ws",
                "--log-level", "warning", target]
    if server == "gunicorn-sync":
        return [str(BIN / "gunicorn"), "-k", "sync", "-w", str(workers), "-b", f"127.0.0.1:{port}",
                "--log-level", "warning", target]
    if server == "gunicorn-gthread":
        return [str(BIN / "gunicorn"), "-k", "gthread", "--threads", str(threads), "-w", str(workers),
                "-b", f"127.0.0.1:{port}", "--log-level", "warning", target]
    raise ValueError(server)


def bare_wrk(log_dir: Path, *, threads: int, duration: float, connections: int, server: str = "granian-bt8",
             workers: int = 1, wrk_threads: int = 1, body_file: Path | None = None) -> WrkResult:
    """wrk on the bare app's ``GET /``, served by ``server`` (see :func:`server_argv`) for this run only;
    with ``body_file``, the bare app answers that file's bytes (the same bytes Overcast answered).

    :raises BenchError: the server did not answer or wrk failed.
    """
    target, path = TARGETS["bare"]
    port = free_port()
    env = {"OVERCAST_BARE_BODY_FILE": str(body_file)} if body_file is not None else {}
    bare = start("bare", server_argv(server, target, port, workers, threads), port, env, log_dir)
    try:
        bare.wait_ready(path)
        return run_wrk(f"http://{HOST}:{port}{path}", "get.lua", duration=duration, connections=connections,
                       threads=wrk_threads)
    finally:
        bare.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--servers", default="granian,granian-bt8,gunicorn-sync,gunicorn-gthread")
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    parser.add_argument("--threads", type=int, default=8, help="gthread threads / granian blocking threads")
    parser.add_argument("--duration", type=float, default=6.0, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--starts", type=int, default=2, help="cold starts per configuration per round")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (medians are reported)")
    parser.add_argument("--overcast-path", default="/identity/v3")
    args = parser.parse_args(argv)
    try:
        require_wrk()
    except BenchError as exc:
        print(exc, file=sys.stderr)
        return 2

    data_dir = tempfile.mkdtemp(prefix="overcast-bench-data-")
    from benchmarks.overcast_app import prepare

    env = {"OVERCAST_BENCH_DATA_DIR": data_dir, "OVERCAST_IDENTITY_BCRYPT_ROUNDS": "4"}
    prepare(data_dir)
    log_dir = Path(tempfile.mkdtemp(prefix="overcast-bench-log-"))
    targets = dict(TARGETS)
    targets["overcast"] = (targets["overcast"][0], args.overcast_path)

    configs = [(server, workers, app_name)
               for workers in (int(w) for w in args.workers.split(","))
               for server in args.servers.split(",")
               for app_name in targets]
    samples: dict[tuple, dict[str, list[float]]] = {c: {"rps": [], "p50": [], "p99": [], "start": [], "err": []}
                                                    for c in configs}
    # Interleaved rounds: the machine is shared and its load drifts, so every configuration is
    # measured once per round and the median over rounds is reported.
    for rnd in range(args.rounds):
        order = configs[rnd % len(configs):] + configs[:rnd % len(configs)]
        for cfg in order:
            server, workers, app_name = cfg
            target, path = targets[app_name]
            got = samples[cfg]
            for _ in range(args.starts):
                port = free_port()
                srv = start(f"{server}-{app_name}", server_argv(server, target, port, workers, args.threads),
                            port, env, log_dir)
                try:
                    got["start"].append(srv.wait_ready(path))
                finally:
                    srv.stop()
            port = free_port()
            srv = start(f"{server}-{app_name}", server_argv(server, target, port, workers, args.threads),
                        port, env, log_dir)
            try:
                srv.wait_ready(path)
                res = run_wrk(f"http://127.0.0.1:{port}{path}", "get.lua", duration=args.duration,
                              connections=args.connections)
            finally:
                srv.stop()
            got["rps"].append(res.rps)
            got["p50"].append(res.p50_ms)
            got["p99"].append(res.p99_ms)
            got["err"].append(res.errors + res.non_2xx)
            print(f"round {rnd + 1}: {server} w={workers} {app_name}: {res.rps:,.0f} req/s p50 {res.p50_ms:.2f} "
                  f"p99 {res.p99_ms:.2f} start {got['start'][-1] * 1000:.0f} ms (load {os.getloadavg()[0]:.1f})",
                  flush=True)

    rows = []
    for cfg in configs:
        server, workers, app_name = cfg
        got = samples[cfg]
        base = samples[(args.servers.split(",")[0], workers, app_name)]
        rows.append([server, str(workers), app_name, f"{median(got['rps']):,.0f}",
                     f"{median(got['rps']) / median(base['rps']):.2f}",
                     f"{median(got['p50']):.2f}", f"{median(got['p99']):.2f}", str(int(sum(got["err"]))),
                     f"{median(got['start']) * 1000:.0f}"])
    print()
    print(f"wrk -t1 -c{args.connections} -d{args.duration:g}s; medians over {args.rounds} interleaved rounds; "
          f"start = median of {args.rounds * args.starts} cold starts; ratio vs {args.servers.split(',')[0]}")
    print(table(["server", "workers", "app", "req/s", "ratio", "p50 ms", "p99 ms", "errors", "start ms"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
