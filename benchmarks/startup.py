"""Start-up of ``overcast serve``: wall time and the CPU time of its whole process tree to the first answer.

    .venv/bin/python -m benchmarks.startup [--workers 2] [--starts 3] [--bcrypt-rounds 12]

A fresh data directory is started once (the first start bootstraps it), then ``--starts`` more times
on it. For each: wall seconds from process start to the first 2xx/3xx of ``GET /identity/v3`` (polled
every 5 ms), and the user+system CPU seconds of the serve process and all its children at that
moment, which a loaded machine inflates much less than wall time. Loopback only; bounded.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from benchmarks.common import BIN, HOST, BenchError, free_port, probe


def one_start(data_dir: Path, workers: int, rounds: int) -> tuple[float, float]:
    port = free_port()
    overcast = BIN / "overcast"
    base = [str(overcast)] if overcast.exists() else [sys.executable, "-m", "overcast"]
    env = {**os.environ, "OVERCAST_IDENTITY_BCRYPT_ROUNDS": str(rounds)}
    began = time.monotonic()
    proc = subprocess.Popen([*base, "serve", "--host", HOST, "--port", str(port), "--data-dir", str(data_dir),
                             "--workers", str(workers)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        while True:
            status = probe(port, "/identity/v3")
            if status is not None and status < 400:
                break
            if proc.poll() is not None or time.monotonic() - began > 120:
                raise BenchError("overcast serve did not answer")
            time.sleep(0.005)
        wall = time.monotonic() - began
        parent = psutil.Process(proc.pid)
        cpu = sum(sum(p.cpu_times()[:2]) for p in [parent, *parent.children(recursive=True)])
        return wall, cpu
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--bcrypt-rounds", type=int, default=12)
    args = parser.parse_args(argv)
    data_dir = Path(tempfile.mkdtemp(prefix="overcast-bench-start-"))
    first = one_start(data_dir, args.workers, args.bcrypt_rounds)
    again = [one_start(data_dir, args.workers, args.bcrypt_rounds) for _ in range(args.starts)]
    load = os.getloadavg()[0]
    print(f"workers={args.workers} bcrypt={args.bcrypt_rounds} load {load:.1f}")
    print(f"first start (bootstraps): {first[0]:.2f} s wall, {first[1]:.2f} s CPU")
    for wall, cpu in again:
        print(f"existing data directory: {wall:.2f} s wall, {cpu:.2f} s CPU")
    return 0


if __name__ == "__main__":
    sys.exit(main())
