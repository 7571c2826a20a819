"""Real servers the CDN tests and benchmarks run on loopback, each started and stopped by PID:
``varnishd`` (Debian's varnish, as an unprivileged user), ``moto_server`` (an independent AWS
emulator, for CloudFront) and mimic (an independent Rackspace/Fastly emulator, in a virtual
environment of its own because it needs ``attrs==23.2.0``).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable
from overcast.testing.live import free_port  # noqa: F401 - also offered from here

#: where ``.ci/run`` makes mimic's virtual environment (override with OVERCAST_MIMIC_VENV)
MIMIC_VENV = Path(os.environ.get("OVERCAST_MIMIC_VENV", Path.home() / ".cache" / "overcast" / "mimic-venv"))


def embedded_edge_settings() -> dict[str, Any]:
    """The ``cdn`` settings an in-process test cloud uses: the embedded default's provider (a
    managed Varnish edge when ``varnishd`` is installed, else none configured: the mock) on free
    loopback ports, so the clouds of tests running side by side never meet on 6081/6082."""
    if not shutil.which("varnishd"):
        return {}
    return {"providers": {"varnish": {"driver": "varnish", "manage": True, "listen": f"127.0.0.1:{free_port()}",
                                      "admin": f"127.0.0.1:{free_port()}"}}}


def _wait(check: Callable[[], bool], timeout: float, what: str, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not come up within {timeout}s")
        time.sleep(0.05)


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status < 500
    except Exception:  # noqa: BLE001 - not up yet
        return False


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


class VarnishServer:
    """``varnishd -F`` on loopback (its manager is this object's ``proc``), as the ``varnish`` user
    when run by root; a working directory the unprivileged user can reach, a fresh secret."""

    def __init__(self, storage: str = "malloc,64m"):
        varnishd = shutil.which("varnishd") or shutil.which("varnishd", path="/usr/sbin:/usr/local/sbin")
        if not varnishd:
            raise RuntimeError("varnishd is not installed")
        self.root = Path(tempfile.mkdtemp(prefix="overcast-varnish-test-"))
        self.root.chmod(0o755)
        self.secret_file = self.root / "secret"
        self.secret_file.write_text(secrets.token_hex(32) + "\n")
        self.secret_file.chmod(0o600)
        self.workdir = str(self.root / "work")
        self.port, self.admin_port = free_port(), free_port()
        self.listen = f"127.0.0.1:{self.port}"
        self.admin = f"127.0.0.1:{self.admin_port}"
        args = [varnishd, "-F", "-a", self.listen, "-T", self.admin, "-S", str(self.secret_file), "-n", self.workdir,
                "-b", "none", "-s", storage]
        if os.geteuid() == 0:
            args += ["-j", "unix,user=varnish"]
        self.log = open(self.root / "varnishd.log", "w")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        from overcast.drivers.cdn.varnish.cli import VarnishCli
        cli = VarnishCli(self.admin, self.secret_file)
        try:
            _wait(cli.ping, 60, "varnishd", self.proc)
        except Exception:
            self.stop()
            raise
        finally:
            cli.close()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def options(self, **extra: Any) -> dict[str, Any]:
        """The varnish provider's options for this server."""
        return {"driver": "varnish", "listen": self.listen, "admin": self.admin,
                "secret_file": str(self.secret_file), "workdir": self.workdir, **extra}

    def stop(self) -> None:
        _stop(self.proc)
        self.log.close()
        shutil.rmtree(self.root, ignore_errors=True)


class MotoServer:
    """``moto_server`` on loopback (CloudFront and the rest of AWS, emulated by moto)."""

    def __init__(self, acm_validation_seconds: int = 1) -> None:
        """``acm_validation_seconds``: how long moto's ACM keeps a requested certificate
        ``PENDING_VALIDATION`` before it is ``ISSUED`` (moto's MOTO_ACM_VALIDATION_WAIT; 60 by default)."""
        binary = shutil.which("moto_server", path=os.pathsep.join([str(Path(sys.executable).parent),
                                                                    os.environ.get("PATH", "")]))
        if not binary:
            raise RuntimeError("moto_server is not installed (pip install 'moto[server]')")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.root = Path(tempfile.mkdtemp(prefix="overcast-moto-"))
        self.log = open(self.root / "moto.log", "w")
        self.proc = subprocess.Popen([binary, "-H", "127.0.0.1", "-p", str(self.port)], stdout=self.log,
                                     stderr=subprocess.STDOUT,
                                     env={**os.environ, "MOTO_ACM_VALIDATION_WAIT": str(acm_validation_seconds)})
        try:
            _wait(lambda: _http_ok(f"{self.url}/moto-api/"), 60, "moto_server", self.proc)
        except Exception:
            self.stop()
            raise

    def set_transition(self, model: str, transition: dict[str, Any]) -> None:
        """moto's state manager: e.g. ``("cloudfront::distribution", {"progression": "time", "seconds": 2})``."""
        import json

        body = json.dumps({"model_name": model, "transition": transition}).encode()
        req = urllib.request.Request(f"{self.url}/moto-api/state-manager/set-transition", data=body, method="POST")
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.status < 300

    def reset(self) -> None:
        req = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(req, timeout=10):
            pass

    def stop(self) -> None:
        _stop(self.proc)
        self.log.close()
        shutil.rmtree(self.root, ignore_errors=True)


class MimicServer:
    """mimic (Twisted) on loopback, from its own virtual environment; Fastly's API is at ``/fastly``."""

    def __init__(self, venv: Path = MIMIC_VENV) -> None:
        twistd = Path(venv) / "bin" / "twistd"
        if not twistd.exists():
            raise RuntimeError(f"mimic's virtual environment is missing ({venv}); .ci/run makes it")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.fastly_url = f"{self.url}/fastly"
        self.root = Path(tempfile.mkdtemp(prefix="overcast-mimic-"))
        self.log = open(self.root / "mimic.log", "w")
        self.proc = subprocess.Popen([str(twistd), "-n", "--pidfile=", "mimic", "-l",
                                      f"tcp:{self.port}:interface=127.0.0.1"], cwd=self.root, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        try:
            _wait(lambda: _http_ok(f"{self.fastly_url}/"), 60, "mimic", self.proc)
        except Exception:
            self.stop()
            raise

    def stop(self) -> None:
        _stop(self.proc)
        self.log.close()
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def running(server_type: type, *args: Any, **kwargs: Any) -> Any:
    server = server_type(*args, **kwargs)
    try:
        yield server
    finally:
        server.stop()
