"""The ``libvirt`` driver's configuration and what a build asks its host for, without a host:
options are checked when the region loads, nothing connects to libvirt before a call, and a
Glance image becomes a root disk and/or a direct kernel boot as Nova's libvirt driver makes it
(decision 0040). The driver with real guests: tests/hosts/test_libvirt_region.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from overcast.drivers.compute import BuildRequest, Capability, Flavor, Image
from overcast.drivers.errors import InvalidRequest
from overcast.drivers.hosts.compute import HostsCompute
from overcast.drivers.registry import DriverConfigError, known_drivers, load_driver

FLAVOR = Flavor(id="1", name="tiny", vcpus=1, ram_mb=256, disk_gb=1)


def request(image: Image) -> BuildRequest:
    return BuildRequest(name="vm", flavor=FLAVOR, image=image, idempotency_key="k")


def test_registered_by_entry_point_and_options_checked(tmp_path: Path) -> None:
    assert "libvirt" in known_drivers()
    with pytest.raises(DriverConfigError, match="uri"):
        load_driver("libvirt", {}, tmp_path)
    with pytest.raises(DriverConfigError, match="domain_type"):
        load_driver("libvirt", {"uri": "qemu:///system", "domain_type": "xen"}, tmp_path)
    with pytest.raises(DriverConfigError, match="clean_shutdown_timeout"):
        load_driver("libvirt", {"uri": "qemu:///system", "clean_shutdown_timeout": "soon"}, tmp_path)
    with pytest.raises(DriverConfigError, match="nonsense"):
        load_driver("libvirt", {"uri": "qemu:///system", "nonsense": 1}, tmp_path)


def test_loading_connects_to_nothing(tmp_path: Path) -> None:
    # a URI nothing answers on: the region loads, and only a call would reach for it
    cloud = load_driver("libvirt", {"uri": "qemu+tcp://192.0.2.1/system", "state_dir": str(tmp_path / "state")},
                        tmp_path)
    try:
        assert cloud.compute is not None and cloud.network is not None and cloud.volume is not None
        assert cloud.info["host"] == "192.0.2.1"
        assert cloud.compute.hosts.service.hv._conn is None
        stated = cloud.capabilities()["compute"][0]
        assert {Capability.START_STOP.value, Capability.CONSOLE_OUTPUT.value} <= stated
        assert Capability.VOLUME_ATTACH.value in stated and Capability.SNAPSHOT.value not in stated   # volumes on the host (0072)
    finally:
        cloud.close()


def test_an_image_is_a_root_disk_and_or_a_direct_kernel_boot() -> None:
    kernel_boot = Image(id="img", name="guest", disk_format="qcow2", size=1 << 20,
                        properties={"kernel_id": "k", "ramdisk_id": "r", "os_command_line": "console=ttyS0 quiet"})
    needed, fields = HostsCompute._images_for(request(kernel_boot))
    assert needed == {"k": "raw", "r": "raw", "img": "qcow2"}
    assert fields == {"kernel": "k", "initrd": "r", "root": "img", "root_format": "qcow2",
                      "cmdline": "console=ttyS0 quiet"}
    needed, fields = HostsCompute._images_for(request(Image(id="ami", name="a", disk_format="ami", size=10)))
    assert needed == {"ami": "raw"} and fields["root"] == "ami" and "kernel" not in fields
    with pytest.raises(InvalidRequest, match="nothing to boot"):
        HostsCompute._images_for(request(Image(id="iso", name="i", disk_format="iso", size=10)))
    with pytest.raises(InvalidRequest, match="no kernel_id"):
        HostsCompute._images_for(request(Image(id="x", name="x", disk_format="raw", size=10,
                                               properties={"ramdisk_id": "r"})))


class RecordingService:
    """Stands in for a HostService: records what DirectHosts runs and when the model is re-read."""

    def __init__(self, log: list[str], lock_path: Path) -> None:
        self.log = log
        self.lock_path = lock_path
        self.hv = type("Hv", (), {"host": "h1", "close": lambda self: None})()
        self.net = type("Net", (), {"reload": lambda net: log.append("reload")})()

    @staticmethod
    def ordered(method: str) -> bool:
        from overcast.drivers.hosts.service import HostService

        return HostService.ordered(method)

    def handle(self, method: str, args: dict) -> str:
        import fcntl

        # the lock file is held while a host-changing command runs (another process would block)
        with open(self.lock_path, "a") as other:
            try:
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
                held = False
                fcntl.flock(other, fcntl.LOCK_UN)
            except BlockingIOError:
                held = True
        self.log.append(f"{method}{' locked' if held else ''}")
        return method

    def describe(self) -> dict:
        return {"host": "h1", "zone": "nova", "info": {}, "usage": {}, "guests": []}


def test_direct_hosts_run_host_changes_one_at_a_time_after_re_reading_the_model(tmp_path: Path) -> None:
    from overcast.drivers.hosts.transport import DirectHosts

    log: list[str] = []
    lock = tmp_path / "host.lock"
    hosts = DirectHosts(RecordingService(log, lock), lock_path=str(lock))
    for method in ("set_network", "spawn", "network_objects", "get", "console", "destroy"):
        hosts.call("h1", method, {})
    assert log == ["reload", "set_network locked", "reload", "spawn locked", "reload", "network_objects locked",
                   "get", "console", "reload", "destroy locked"]
