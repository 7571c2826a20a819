"""Fixtures for the hypervisor-host tests: libvirtd, RabbitMQ, the tiny guest, guest helpers.

These tests run real QEMU guests (TCG) through libvirt, with bridges, network namespaces and
nftables: they need root and Debian's qemu-system-x86, libvirt-daemon-system, dnsmasq-base and
rabbitmq-server (``.ci/run`` installs them). They only send traffic to loopback and to addresses
inside the namespaces they create.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Callable, Iterator

import pytest

from overcast.testing import guest_image, hostd

GUEST_CACHE = Path(os.environ.get("OVERCAST_GUEST_IMAGE_CACHE", "/var/tmp/overcast-guest-cache"))
#: TCG guests on a loaded 2-core machine: boot to HTTP has been measured at 5-60 s
BOOT_TIMEOUT = float(os.environ.get("OVERCAST_TEST_BOOT_TIMEOUT", "420"))


def wait_for(cond: Callable[[], object], timeout: float, what: str, interval: float = 0.25) -> object:
    """Poll ``cond`` until it returns something true; its last value on success."""
    end = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"{what}: not within {timeout:.0f}s")
        time.sleep(interval)


@pytest.fixture(scope="session")
def libvirtd() -> Iterator[str]:
    reason = hostd.libvirt_missing()
    if reason:
        pytest.skip(reason)
    daemon = hostd.libvirt_daemon()
    daemon.acquire()
    try:
        yield "qemu:///system"
    finally:
        daemon.release()


@pytest.fixture(scope="session")
def rabbitmq() -> Iterator[hostd.Rabbit]:
    if shutil.which("rabbitmq-server") is None:
        pytest.skip("rabbitmq-server is not installed")
    daemon, address = hostd.rabbit_daemon()
    daemon.acquire()
    try:
        yield address()
    finally:
        daemon.release()


@pytest.fixture(scope="session")
def guest() -> guest_image.GuestImage:
    if shutil.which("apt-get") is None and not GUEST_CACHE.exists():
        pytest.skip("no apt-get to fetch the guest's kernel and busybox")
    return guest_image.build(GUEST_CACHE)


@pytest.fixture
def host_dir() -> Iterator[Path]:
    """A state directory QEMU (user libvirt-qemu) can read."""
    base = Path(tempfile.mkdtemp(prefix="overcast-host-", dir="/var/tmp"))
    base.chmod(0o755)
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


def clean_host(libvirt_uri: str, host: str, state: Path) -> None:
    """Remove what a host ``host`` with state directory ``state`` made on this machine: its guests,
    its storage pool and its networking (a failed test leaves nothing running)."""
    from overcast.drivers.hosts.hostnet import HostNetwork
    from overcast.drivers.hosts.hypervisor import Hypervisor

    hv = Hypervisor(libvirt_uri, host, str(state / "pool"), domain_type="qemu")
    for info in hv.list():
        hv.destroy(info.uuid)
    try:
        pool = hv.pool()
        for vol in pool.listAllVolumes(0):
            vol.delete(0)
        pool.destroy()
        pool.undefine()
    finally:
        hv.close()
    HostNetwork(host, str(state / "net")).teardown()


def unique_host() -> str:
    return f"t{uuid.uuid4().hex[:6]}"


def netns_http(namespace: str, url: str, timeout: float = 3.0) -> str | None:
    """GET ``url`` from inside a network namespace; the body, or None when nothing answers."""
    code = ("import sys, urllib.request\n"
            "try:\n"
            f"    print(urllib.request.urlopen(sys.argv[1], timeout={timeout}).read().decode(), end='')\n"
            "except Exception as exc:\n"
            "    print('ERROR', exc, file=sys.stderr); sys.exit(3)\n")
    proc = subprocess.run(["ip", "netns", "exec", namespace, sys.executable, "-c", code, url],
                          capture_output=True, text=True, timeout=timeout + 30)
    return proc.stdout if proc.returncode == 0 else None


OVERCAST = str(Path(sys.executable).with_name("overcast"))


class AgentProcess:
    """One ``overcast agent`` subprocess; stopped by its PID."""

    def __init__(self, region: str, host: str, state_dir: Path, bus_env: dict[str, str], log: Path) -> None:
        self.argv = [OVERCAST, "agent", "--region", region, "--host", host, "--bus", "env:OVERCAST_TEST_AGENT_BUS",
                     "--domain-type", "qemu", "--heartbeat", "1", "--state-dir", str(state_dir)]
        self.env = {**os.environ, **bus_env}
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> "AgentProcess":
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(self.argv, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        return self

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
