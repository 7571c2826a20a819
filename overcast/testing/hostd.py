"""Start the host daemons tests need, without systemd: libvirtd (with virtlogd) and RabbitMQ.

Several test processes (pytest-xdist workers) may need the same daemon at once, and only one
libvirtd can run on a machine. So each daemon is shared through a lock directory
(``/run/overcast-test/<name>``): a process that needs it holds a *shared* ``flock`` on
``users`` for as long as it uses it; the first one (under the exclusive ``start`` lock) starts
the daemon if it is not running and records its PID. When a process is done, it releases its
shared lock and, if it can then take the lock *exclusively* (nobody else uses the daemon), stops
the daemons the tests started, by PID. A daemon that was already running (started by the
developer) is used and left alone.

RabbitMQ runs on loopback with its own ports, node name, Erlang distribution port (bound to
127.0.0.1 too) and a private data directory, so it never meets a system broker.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable
from overcast.testing.live import free_port

LOCK_ROOT = Path(os.environ.get("OVERCAST_TEST_LOCK_DIR", "/run/overcast-test"))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:   # a zombie is not alive
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


def _wait(cond: Callable[[], bool], timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    delay = 0.05
    while not cond():
        if time.monotonic() > end:
            raise TimeoutError(f"{what} not ready within {timeout:.0f}s")
        time.sleep(delay)
        delay = min(delay * 1.5, 1.0)


def _stop(pid: int, timeout: float = 30.0) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        _wait(lambda: not _alive(pid), timeout, f"process {pid} stopping")
    except TimeoutError:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@dataclass
class SharedDaemon:
    """One daemon shared by the test processes of this machine (see the module's docstring)."""

    name: str
    #: is it answering?
    ready: Callable[[], bool]
    #: start it; returns the PIDs to stop afterwards
    start: Callable[[Path], list[int]]
    timeout: float = 180.0
    #: called after the daemons are stopped (clean-ups of helpers they started)
    after_stop: Callable[[], None] | None = None
    _users: int | None = field(default=None, repr=False)

    @property
    def dir(self) -> Path:
        return LOCK_ROOT / self.name

    def acquire(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        users = os.open(self.dir / "users", os.O_RDWR | os.O_CREAT, 0o644)
        start = os.open(self.dir / "start", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(start, fcntl.LOCK_EX)
            fcntl.flock(users, fcntl.LOCK_SH)
            if not self.ready():
                pids = self.start(self.dir)
                existing = self._pids()
                (self.dir / "pids").write_text(" ".join(str(p) for p in existing + pids))
                _wait(self.ready, self.timeout, self.name)
        except BaseException:
            os.close(users)
            raise
        finally:
            fcntl.flock(start, fcntl.LOCK_UN)
            os.close(start)
        self._users = users

    def _pids(self) -> list[int]:
        try:
            return [int(p) for p in (self.dir / "pids").read_text().split() if _alive(int(p))]
        except (OSError, ValueError):
            return []

    def release(self) -> None:
        if self._users is None:
            return
        users, self._users = self._users, None
        start = os.open(self.dir / "start", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(start, fcntl.LOCK_EX)
            fcntl.flock(users, fcntl.LOCK_UN)
            try:
                fcntl.flock(users, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return   # someone else still uses it
            for pid in reversed(self._pids()):
                _stop(pid)
            (self.dir / "pids").unlink(missing_ok=True)
            if self.after_stop is not None:
                self.after_stop()
        finally:
            os.close(users)
            fcntl.flock(start, fcntl.LOCK_UN)
            os.close(start)


# -- libvirtd -------------------------------------------------------------------------------------

def libvirt_ready(uri: str = "qemu:///system") -> bool:
    if not Path("/run/libvirt/libvirt-sock").exists():
        return False
    proc = subprocess.run(["virsh", "-c", uri, "uri"], capture_output=True, text=True, timeout=60)
    return proc.returncode == 0


def _pidof(path: str) -> int | None:
    try:
        pid = int(Path(path).read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _alive(pid) else None


def start_libvirtd(_dir: Path) -> list[int]:
    """``virtlogd -d`` and ``libvirtd -d``; /dev/kvm to group kvm, mode 0660 first (or libvirt
    probes QEMU again on every call)."""
    kvm = Path("/dev/kvm")
    if kvm.exists():
        subprocess.run(["chgrp", "kvm", str(kvm)], check=False)
        kvm.chmod(0o660)
    pids = []
    if _pidof("/run/virtlogd.pid") is None:
        subprocess.run(["virtlogd", "-d"], check=True)
        _wait(lambda: _pidof("/run/virtlogd.pid") is not None, 30, "virtlogd")
        pids.append(_pidof("/run/virtlogd.pid") or 0)
    if _pidof("/run/libvirtd.pid") is None:
        subprocess.run(["libvirtd", "-d"], check=True)
        _wait(lambda: _pidof("/run/libvirtd.pid") is not None, 30, "libvirtd")
        pids.append(_pidof("/run/libvirtd.pid") or 0)
    return [p for p in pids if p]


def libvirt_daemon() -> SharedDaemon:
    return SharedDaemon("libvirtd", ready=libvirt_ready, start=start_libvirtd)


def libvirt_missing() -> str | None:
    """Why libvirt tests cannot run here, or None."""
    for tool in ("libvirtd", "virtlogd", "virsh", "qemu-system-x86_64", "qemu-img", "dnsmasq", "nft", "ip"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    if os.geteuid() != 0:
        return "hypervisor tests need root (bridges, namespaces, libvirt's system instance)"
    try:
        import libvirt  # noqa: F401
    except ImportError:
        return "libvirt-python is not installed"
    return None


# -- RabbitMQ ---------------------------------------------------------------------------------------

@dataclass
class Rabbit:
    port: int
    dist_port: int
    node: str
    base: Path

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}//"


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _rabbit_tool(name: str) -> str:
    """Debian's /usr/sbin wrappers switch to the rabbitmq user (losing the environment); the
    real scripts are in /usr/lib/rabbitmq/bin."""
    real = Path("/usr/lib/rabbitmq/bin") / name
    return str(real) if real.exists() else name


def rabbit_env(rabbit: Rabbit) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "RABBITMQ_NODENAME": rabbit.node,
        "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
        "RABBITMQ_NODE_PORT": str(rabbit.port),
        "RABBITMQ_DIST_PORT": str(rabbit.dist_port),
        "ERL_EPMD_ADDRESS": "127.0.0.1",
        "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        "RABBITMQ_MNESIA_BASE": str(rabbit.base / "mnesia"),
        "RABBITMQ_LOG_BASE": str(rabbit.base / "log"),
        "RABBITMQ_PID_FILE": str(rabbit.base / "rabbit.pid"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(rabbit.base / "enabled_plugins"),
        "RABBITMQ_CONFIG_FILE": str(rabbit.base / "rabbitmq"),
        "HOME": str(rabbit.base),
    })
    return env


def rabbit_daemon() -> tuple[SharedDaemon, Callable[[], Rabbit]]:
    """A shared broker on loopback; the second item reads its address once acquired."""
    state = LOCK_ROOT / "rabbitmq"

    def current() -> Rabbit | None:
        try:
            port, dist, node, base = (state / "address").read_text().split()
        except (OSError, ValueError):
            return None
        return Rabbit(int(port), int(dist), node, Path(base))

    def ready() -> bool:
        rabbit = current()
        if rabbit is None or not _port_open(rabbit.port):
            return False
        import kombu

        try:
            with kombu.Connection(rabbit.url, connect_timeout=5) as conn:
                conn.ensure_connection(max_retries=1)
            return True
        except Exception:  # noqa: BLE001 - still starting
            return False

    def start(_dir: Path) -> list[int]:
        base = Path(tempfile.mkdtemp(prefix="overcast-rabbit-"))
        rabbit = Rabbit(free_port(), free_port(), f"overcast-test-{os.getpid()}@localhost", base)
        (base / "enabled_plugins").write_text("[].\n")
        (base / "rabbitmq.conf").write_text("loopback_users = none\nlog.console = false\n")
        env = rabbit_env(rabbit)
        env["RABBITMQ_CONFIG_FILE"] = str(base / "rabbitmq")
        subprocess.run([_rabbit_tool("rabbitmq-server"), "-detached"], env=env, check=True, cwd=base)
        (state / "address").write_text(f"{rabbit.port} {rabbit.dist_port} {rabbit.node} {base}")
        _wait(lambda: (base / "rabbit.pid").exists(), 120, "rabbitmq pid file")
        pid = int((base / "rabbit.pid").read_text().strip())
        return [pid]

    def after_stop() -> None:
        rabbit = current()
        if rabbit is None:
            return
        env = rabbit_env(rabbit)
        names = subprocess.run(["epmd", "-names"], env=env, capture_output=True, text=True).stdout
        if "name " not in names:   # no Erlang node left: the epmd the broker started goes too
            subprocess.run(["epmd", "-kill"], env=env, capture_output=True)
        shutil.rmtree(rabbit.base, ignore_errors=True)
        (state / "address").unlink(missing_ok=True)

    daemon = SharedDaemon("rabbitmq", ready=ready, start=start, timeout=240, after_stop=after_stop)

    def address() -> Rabbit:
        rabbit = current()
        assert rabbit is not None, "rabbitmq not started"
        return rabbit

    return daemon, address
