"""The compute driver conformance kit against the ``libvirt`` driver on ``qemu:///system``: real
(TCG) guests of the test image booted straight from its kernel and initramfs, no network. ACTIVE
is the domain running (the guest's boot is the live test's business:
tests/hosts/test_libvirt_region.py)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, Iterable, Iterator

import pytest

from overcast.drivers.compute import BuildRequest, Flavor, Image
from overcast.drivers.context import CallContext
from overcast.drivers.volume import VolumeRequest
from overcast.drivers.registry import load_driver
from overcast.testing.conformance import ComputeDriverConformance

from .conftest import clean_host, unique_host

pytestmark = pytest.mark.hosts


def chunks(path: Path) -> Iterable[bytes]:
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            yield block


class TestLibvirtConformance(ComputeDriverConformance):
    flavor = Flavor(id="conformance-1", name="conformance.small", vcpus=1, ram_mb=160, disk_gb=0)
    other_flavor = Flavor(id="conformance-2", name="conformance.medium", vcpus=1, ram_mb=192, disk_gb=0)
    image = Image(id="conformance-image", name="guest", disk_format="ami", size=0,
                  properties={"kernel_id": "conformance-kernel", "ramdisk_id": "conformance-initrd"})
    build_timeout = 180.0
    action_timeout = 180.0
    poll_interval = 0.2

    @pytest.fixture
    def compute_driver(self, libvirtd: str, guest: Any, host_dir: Path) -> Iterator[Any]:
        host = unique_host()
        state = host_dir / "state"
        self.files = {"conformance-kernel": guest.kernel, "conformance-initrd": guest.initrd}
        bundle = load_driver("libvirt", {"uri": libvirtd, "host": host, "state_dir": str(state),
                                         "domain_type": "qemu", "clean_shutdown_timeout": 5}, host_dir / "data")
        self.volumes = bundle.volume
        try:
            yield bundle.compute
        finally:
            bundle.close()
            clean_host(libvirtd, host, state)

    def attachable_volumes(self, driver: Any, backend_id: str | None, count: int) -> list[str]:
        """Volumes of the region's own volume driver (on the host: decision 0072)."""
        made = [self.volumes.create(CallContext(), VolumeRequest(name=f"c{i}", size_gb=1,
                                                                 idempotency_key=uuid.uuid4().hex))
                for i in range(count)]
        return made

    def request(self, **changes: Any) -> BuildRequest:
        files = self.files
        return super().request(read_image=lambda key: chunks(files[key]), **changes)
