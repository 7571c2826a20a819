"""Shared plumbing for the benchmark scripts: free ports, server processes, readiness, wrk.

Everything targets loopback only, every wait is bounded, and wrk always runs with a duration.
"""

from __future__ import annotations

import argparse
import atexit
import http.client
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence
from overcast.testing.live import free_port  # noqa: F401 - also offered from here

HOST = "127.0.0.1"
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WRK_DIR = HERE / "wrk"
BIN = Path(sys.executable).parent


class BenchError(RuntimeError):
    pass


_LIVE: list["Server"] = []


def _stop_all() -> None:
    while _LIVE:
        _LIVE.pop().stop(timeout=2.0)


def _on_sigterm(signum, frame):  # noqa: ANN001
    raise SystemExit(128 + signum)


# a killed or interrupted benchmark never leaves a server behind
atexit.register(_stop_all)
signal.signal(signal.SIGTERM, _on_sigterm)


def require_wrk() -> str:
    wrk = shutil.which("wrk")
    if not wrk:
        raise BenchError("wrk is not installed: run `sudo apt-get update && sudo apt-get install -y wrk` "
                         "(Debian/Ubuntu), then try again")
    return wrk


def require_loopback_database(url: str | None) -> None:
    """:raises BenchError: ``url`` is set and names neither 127.0.0.1, localhost nor a local socket."""
    if url and not any(h in url for h in ("127.0.0.1", "localhost", "host=/")):
        raise BenchError("--database-url must point at a database on loopback")


def run_main(run: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """``run(args)`` once wrk is found; a :class:`BenchError` is printed and gives exit status 2."""
    try:
        require_wrk()
        return run(args)
    except BenchError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 2


def probe(port: int, path: str, timeout: float = 1.0) -> int | None:
    """The status of one GET, or None if nothing answered."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


@dataclass
class Server:
    """A server process in its own session, so stopping it stops its workers too."""

    name: str
    proc: subprocess.Popen
    port: int
    started: float
    log: Path

    def wait_ready(self, path: str, timeout: float = 60.0) -> float:
        """Poll until ``path`` answers 2xx/3xx; returns seconds since the process started.

        :raises BenchError: the process died or did not answer in time.
        """
        deadline = self.started + timeout
        while True:
            status = probe(self.port, path)
            now = time.perf_counter()
            if status is not None and 200 <= status < 400:
                return now - self.started
            if self.proc.poll() is not None:
                raise BenchError(f"{self.name} exited with {self.proc.returncode} before answering; "
                                 f"log: {self.log}\n{tail(self.log)}")
            if now > deadline:
                raise BenchError(f"{self.name} did not answer {path} within {timeout:.0f}s "
                                 f"(last status {status}); log: {self.log}\n{tail(self.log)}")
            time.sleep(0.005)  # the polling interval, not a guess at readiness

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM to the server's main process only (signalling the whole group at once makes
        granian respawn workers and hang), then SIGKILL whatever is left of its process group.

        granian 2.x ignores a SIGTERM that arrives while a worker is still booting, hence the
        bounded grace period."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # stragglers of the group this harness started
        except (ProcessLookupError, PermissionError):
            pass
        if self.proc.poll() is None:
            self.proc.wait(5)
        if self in _LIVE:
            _LIVE.remove(self)


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def start(name: str, argv: Sequence[str], port: int, env: dict[str, str] | None = None,
          log_dir: Path | None = None) -> Server:
    log_dir = log_dir or Path(tempfile.mkdtemp(prefix="overcast-bench-log-"))
    log = log_dir / f"{name.replace(' ', '_').replace('/', '_')}-{port}.log"
    fh = open(log, "wb")
    full_env = dict(os.environ)
    full_env.update(env or {})
    full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), full_env.get("PYTHONPATH", "")]))
    started = time.perf_counter()
    proc = subprocess.Popen(list(argv), stdout=fh, stderr=subprocess.STDOUT, env=full_env, cwd=ROOT,
                            start_new_session=True)
    fh.close()
    server = Server(name=name, proc=proc, port=port, started=started, log=log)
    _LIVE.append(server)
    return server


@dataclass
class WrkResult:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    errors: int
    non_2xx: int
    raw: str

    def row(self) -> tuple[str, str, str]:
        rps = f"{self.rps:,.0f}" if self.rps >= 100 else f"{self.rps:.1f}"
        return rps, f"{self.p50_ms:.2f}", f"{self.p99_ms:.2f}"


def run_wrk(url: str, script: str, *, duration: float, connections: int, threads: int = 1,
            env: dict[str, str] | None = None, timeout_s: float = 10.0) -> WrkResult:
    """Run wrk against a loopback URL for a bounded time with ``wrk/<script>`` + the reporter."""
    wrk = require_wrk()
    if not url.startswith(f"http://{HOST}:"):
        raise BenchError(f"refusing to load-test {url}: only {HOST} is allowed")
    body = (WRK_DIR / script).read_text() + "\n" + (WRK_DIR / "report.lua").read_text()
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(body)
        lua = fh.name
    full_env = dict(os.environ)
    full_env.update(env or {})
    argv = [wrk, f"-t{threads}", f"-c{connections}", f"-d{duration:g}s", f"--timeout={timeout_s:g}s",
            "-s", lua, url]
    try:
        out = subprocess.run(argv, capture_output=True, text=True, env=full_env, timeout=duration + 60)
    finally:
        os.unlink(lua)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("WRKJSON ")), None)
    if out.returncode != 0 or line is None:
        raise BenchError(f"wrk failed ({out.returncode}): {out.stderr.strip() or out.stdout.strip()}")
    data = json.loads(line[len("WRKJSON "):])
    seconds = data["duration_us"] / 1e6
    return WrkResult(
        requests=data["requests"], seconds=seconds, rps=data["requests"] / seconds,
        p50_ms=data["p50_us"] / 1000, p90_ms=data["p90_us"] / 1000, p99_ms=data["p99_us"] / 1000,
        errors=data["connect_errors"] + data["read_errors"] + data["write_errors"] + data["timeouts"],
        non_2xx=data["status_errors"], raw=out.stdout,
    )


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured markdown table (readable as plain text too)."""
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    def fmt(cells: Sequence[str]) -> str:
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([fmt(headers), sep, *(fmt(r) for r in rows)])
