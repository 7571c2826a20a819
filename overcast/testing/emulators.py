"""Independent emulators of foreign clouds for tests and benchmarks: ``moto_server`` (moto's EC2).

Usage::

    with MotoServer() as moto:
        moto.endpoint        # http://127.0.0.1:PORT
        moto.ec2()           # a boto3 EC2 client on it (to check what Overcast made, from moto's side)
        moto.stop(); moto.start()   # the fault drills: the same port again

Started as ``moto_server -H 127.0.0.1 -p PORT`` (moto's ``server`` extra); readiness is polled
(``/moto-api/`` answers), never slept for.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from overcast.testing.live import LOOPBACK, LiveServerError, free_port, wait_for


def _moto_command() -> list[str]:
    beside = Path(sys.executable).with_name("moto_server")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("moto_server")
    if found:
        return [found]
    return [sys.executable, "-m", "moto.server"]


class MotoServer:
    """One ``moto_server`` on a free loopback port (kept across :meth:`stop`/:meth:`start`)."""

    def __init__(self, port: int | None = None, region: str = "us-east-1") -> None:
        self.port = port or free_port()
        self.region = region
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def _up(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise LiveServerError(f"moto_server exited with {self.proc.returncode}")
        try:
            with urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=2):
                return True
        except urllib.error.HTTPError:
            return True
        except OSError:
            return False

    def start(self) -> "MotoServer":
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.proc = subprocess.Popen([*_moto_command(), "-H", LOOPBACK, "-p", str(self.port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                                     start_new_session=True)
        wait_for(self._up, 60, description="moto_server to answer")
        return self

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None

    def reset(self) -> None:
        """Forget every resource (moto's own reset call)."""
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST", data=b"")
        urllib.request.urlopen(request, timeout=10).close()

    def ec2(self) -> Any:
        import boto3

        return boto3.client("ec2", endpoint_url=self.endpoint, region_name=self.region,
                            aws_access_key_id="moto-check", aws_secret_access_key="moto-check")

    def __enter__(self) -> "MotoServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
