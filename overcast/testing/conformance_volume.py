"""The volume driver conformance kit: a suite every :class:`VolumeDriver` must pass.

Subclass it and provide the driver::

    class TestMyVolumes(VolumeDriverConformance):
        @pytest.fixture
        def volume_driver(self, tmp_path):
            driver = MyVolumeDriver(...)
            yield driver
            driver.close()

Checked: signatures match the interface, every call taking a
:class:`~overcast.drivers.context.CallContext` first (the suite passes one to every call);
declared capabilities are exactly the overridden methods (plus the create-time ones); undeclared
ones raise ``NotSupported``; create returns an id that reaches AVAILABLE and is idempotent on the
key; ``find`` is one lookup (it does not list every volume) and agrees with ``get``, as do
``get_many`` (unknown ids left out) and ``list``; records carry an ``extra`` mapping; delete then
get raises ``NotFound``; deleting a missing id succeeds; pools are named, unique and accept a
create aimed at them; extend, snapshots, clones, exports (exporting twice to one host is one
export) and reads (``read`` streams bytes and raises ``NotFound`` at once for a missing volume)
behave as documented; and every exception a driver raises is a ``DriverError``.
"""

from __future__ import annotations

import inspect
import time
import uuid
from typing import Any, Iterator, Mapping

import pytest

from overcast.drivers.errors import DriverError, InvalidRequest, NotFound, NotSupported
from overcast.drivers.volume import (CAPABILITY_METHODS, Capability, Pool, VolumeDriver, VolumeInfo,
                                     VolumeRequest, VolumeState)
from overcast.testing.conformance import CheckedDriver as _CheckedCompute
from overcast.testing.conformance import assert_find_is_one_lookup, assert_headroom

MISSING_ID = "overcast-conformance-missing-0000"


class CheckedDriver(_CheckedCompute):
    """The compute kit's wrapper (a CallContext given to every call, non-DriverError exceptions
    fail the test), tracking created volumes."""

    interface = VolumeDriver

    def __getattr__(self, name: str) -> Any:
        call = super().__getattr__(name)
        if name != "create":
            return call

        def create(*args: Any, **kwargs: Any) -> Any:
            backend_id = call(*args, **kwargs)
            self.built.append(backend_id)
            return backend_id

        return create


def _overridden(driver_type: type, name: str) -> bool:
    base, mine = getattr(VolumeDriver, name), getattr(driver_type, name)
    return getattr(mine, "__func__", mine) is not getattr(base, "__func__", base)


class VolumeDriverConformance:
    """Subclass as ``TestSomething`` and provide a ``volume_driver`` fixture."""

    create_timeout = 30.0
    poll_interval = 0.05

    @pytest.fixture
    def driver(self, volume_driver: VolumeDriver) -> Iterator[CheckedDriver]:
        checked = CheckedDriver(volume_driver)
        yield checked
        for backend_id in checked.built:
            try:
                volume_driver.delete(checked.ctx, backend_id)
            except DriverError:
                pass

    def request(self, **changes: Any) -> VolumeRequest:
        fields: dict[str, Any] = {"name": "conformance", "size_gb": 1, "idempotency_key": str(uuid.uuid4())}
        fields.update(changes)
        return VolumeRequest(**fields)

    def available(self, driver: CheckedDriver, **changes: Any) -> str:
        backend_id = driver.create(self.request(**changes))
        deadline = time.monotonic() + self.create_timeout
        while (info := driver.get(backend_id)).state is VolumeState.CREATING:
            assert time.monotonic() < deadline, f"volume {backend_id} still creating"
            time.sleep(self.poll_interval)
        assert info.state is VolumeState.AVAILABLE, info
        return backend_id

    @staticmethod
    def require(driver: CheckedDriver, capability: Capability) -> None:
        if capability not in driver.capabilities:
            pytest.skip(f"driver does not declare {capability.value}")

    # -- the interface itself -------------------------------------------------------------------
    def test_signatures_match_the_interface(self, volume_driver: VolumeDriver) -> None:
        assert isinstance(volume_driver, VolumeDriver)
        for name, base in vars(VolumeDriver).items():
            if name.startswith("_") or not callable(base):
                continue
            assert inspect.signature(getattr(type(volume_driver), name)) == inspect.signature(base), name
            if name != "close":
                assert list(inspect.signature(base).parameters)[:2] == ["self", "ctx"], f"{name} takes no ctx"

    def test_capabilities_match_overridden_methods(self, volume_driver: VolumeDriver) -> None:
        for capability, methods in CAPABILITY_METHODS.items():
            overridden = [m for m in methods if _overridden(type(volume_driver), m)]
            if capability in volume_driver.capabilities:
                assert overridden == list(methods), f"{capability.value} declared but {methods} not all overridden"
            else:
                assert not overridden, f"{overridden} overridden but {capability.value} not declared"

    def test_unsupported_capabilities_raise_not_supported(self, driver: CheckedDriver) -> None:
        for capability, methods in CAPABILITY_METHODS.items():
            if capability in driver.capabilities:
                continue
            with pytest.raises(NotSupported):
                extra = {"extend": [1], "create_backup": ["conformance-key"], "reimage": ["image-id"]}.get(methods[0], [])
                getattr(driver, methods[0])(MISSING_ID, *extra)

    def test_headroom_as_declared(self, driver: CheckedDriver) -> None:
        """``reports_headroom``: :meth:`headroom` tells the backend's own quotas in Cinder's names
        (decision 0046); a driver that does not declare it raises ``NotSupported``."""
        assert_headroom(driver.driver.reports_headroom, driver.headroom, {"volumes", "gigabytes", "snapshots"},
                        "volumes")

    def test_find_is_one_lookup(self, driver: CheckedDriver, monkeypatch: pytest.MonkeyPatch) -> None:
        request = self.request()
        assert_find_is_one_lookup(driver, monkeypatch, request.idempotency_key, driver.create(request), "volume")

    def test_get_many(self, driver: CheckedDriver) -> None:
        made = [self.available(driver) for _ in range(2)]
        found = driver.get_many([*made, MISSING_ID])
        assert set(found) == set(made) and all(found[i].backend_id == i for i in made)
        assert all(isinstance(info.extra, Mapping) for info in found.values())

    # -- lifecycle ------------------------------------------------------------------------------
    def test_create_reaches_available(self, driver: CheckedDriver) -> None:
        backend_id = self.available(driver, size_gb=2)
        info = driver.get(backend_id)
        assert isinstance(info, VolumeInfo) and info.size_gb == 2 and info.backend_id == backend_id

    def test_create_is_idempotent(self, driver: CheckedDriver) -> None:
        request = self.request()
        assert driver.create(request) == driver.create(request)
        assert driver.find(request.idempotency_key).backend_id == driver.create(request)

    def test_list_includes_created(self, driver: CheckedDriver) -> None:
        backend_id = self.available(driver)
        assert backend_id in {v.backend_id for v in driver.list()}

    def test_zero_size_is_invalid(self, driver: CheckedDriver) -> None:
        with pytest.raises(InvalidRequest):
            driver.create(self.request(size_gb=0))

    def test_get_missing_raises_not_found(self, driver: CheckedDriver) -> None:
        with pytest.raises(NotFound):
            driver.get(MISSING_ID)

    def test_delete_then_get_raises_not_found(self, driver: CheckedDriver) -> None:
        backend_id = self.available(driver)
        driver.delete(backend_id)
        with pytest.raises(NotFound):
            driver.get(backend_id)
        driver.delete(backend_id)
        driver.delete(MISSING_ID)

    def test_zones(self, driver: CheckedDriver) -> None:
        assert driver.zones() and all(z.name for z in driver.zones())

    def test_pools(self, driver: CheckedDriver) -> None:
        pools = driver.pools()
        assert pools and all(isinstance(p, Pool) and p.name and p.volume_backend_name for p in pools)
        assert len({p.name for p in pools}) == len(pools), "pool names must be unique"
        for pool in pools:
            assert pool.capabilities()["storage_protocol"] == pool.storage_protocol
            info = driver.get(self.available(driver, pool=pool.name))
            assert info.state is VolumeState.AVAILABLE
            if info.host and "#" in info.host:  # a volume made in the pool asked for says so
                assert info.host.rpartition("#")[2] == pool.name, info.host

    # -- capabilities ---------------------------------------------------------------------------
    def test_extend(self, driver: CheckedDriver) -> None:
        self.require(driver, Capability.EXTEND)
        backend_id = self.available(driver)
        driver.extend(backend_id, 3)
        assert driver.get(backend_id).size_gb == 3
        with pytest.raises(InvalidRequest):
            driver.extend(backend_id, 2)

    def test_snapshot_and_restore(self, driver: CheckedDriver) -> None:
        self.require(driver, Capability.SNAPSHOT)
        backend_id = self.available(driver, size_gb=2)
        key = str(uuid.uuid4())
        snapshot_id = driver.create_snapshot(backend_id, "snap", key)
        assert driver.create_snapshot(backend_id, "snap", key) == snapshot_id
        assert driver.get_snapshot(snapshot_id).size_gb == 2
        if Capability.FROM_SNAPSHOT in driver.capabilities:
            restored = self.available(driver, size_gb=2, snapshot_id=snapshot_id)
            assert driver.get(restored).size_gb == 2
        driver.delete_snapshot(snapshot_id)
        driver.delete_snapshot(snapshot_id)
        with pytest.raises(NotFound):
            driver.get_snapshot(snapshot_id)

    def test_clone(self, driver: CheckedDriver) -> None:
        self.require(driver, Capability.CLONE)
        source = self.available(driver)
        assert driver.get(self.available(driver, source_volume_id=source)).state is VolumeState.AVAILABLE
        with pytest.raises(NotFound):
            driver.create(self.request(source_volume_id=MISSING_ID))

    def test_from_image_bytes(self, driver: CheckedDriver) -> None:
        self.require(driver, Capability.FROM_IMAGE)
        backend_id = self.available(driver, image_id=str(uuid.uuid4()), image_data=iter([b"a" * 10, b"b" * 6]))
        assert driver.get(backend_id).state is VolumeState.AVAILABLE

    def test_attach_detach(self, driver: CheckedDriver) -> None:
        self.require(driver, Capability.ATTACH)
        backend_id = self.available(driver)
        connection = driver.attach(backend_id, "host-1", "rw")
        assert connection.driver_volume_type
        assert driver.attach(backend_id, "host-1", "rw") == connection, "exporting again to one host differs"
        driver.detach(backend_id, "host-1")
        driver.detach(backend_id, "host-1")
        with pytest.raises(NotFound):
            driver.attach(MISSING_ID, "host-1", "rw")

    def test_backup_and_restore(self, driver: CheckedDriver) -> None:
        """A backup is idempotent on its key, restores the bytes the volume held onto another volume
        (with UPLOAD to read them back; a driver that keeps no data reads none from either), and
        deleting it twice succeeds."""
        self.require(driver, Capability.BACKUP)
        written = b"backup" * 1000
        if Capability.FROM_IMAGE in driver.capabilities:
            source = self.available(driver, image_id=str(uuid.uuid4()), image_data=iter([written]))
        else:
            source, written = self.available(driver), b""
        key = str(uuid.uuid4())
        backup = driver.create_backup(source, key)
        assert driver.create_backup(source, key).backend_id == backup.backend_id
        incremental = driver.create_backup(source, str(uuid.uuid4()), parent_backend_id=backup.backend_id)
        target = self.available(driver)
        driver.restore_backup(incremental.backend_id, target)
        if Capability.UPLOAD in driver.capabilities:
            held = b"".join(driver.read(source))
            assert held in (written, b"") and b"".join(driver.read(target)) == held
        with pytest.raises(NotFound):
            driver.create_backup(MISSING_ID, str(uuid.uuid4()))
        with pytest.raises(NotFound):
            driver.restore_backup(MISSING_ID, target)
        for backend_id in (incremental.backend_id, backup.backend_id, backup.backend_id):
            driver.delete_backup(backend_id)
        with pytest.raises(NotFound):
            driver.restore_backup(backup.backend_id, target)

    def test_reimage(self, driver: CheckedDriver) -> None:
        """Reimaging writes the image's bytes over the volume (read back with UPLOAD; a driver that
        keeps no data reads none), again gives the same volume, and a missing volume is NotFound."""
        self.require(driver, Capability.REIMAGE)
        backend_id, image_id, written = self.available(driver), str(uuid.uuid4()), b"reimaged" * 100
        for _ in range(2):
            driver.reimage(backend_id, image_id, iter([written[:8], written[8:]]))
        if Capability.UPLOAD in driver.capabilities:
            assert b"".join(driver.read(backend_id)) in (written, b"")
        assert driver.get(backend_id).state is VolumeState.AVAILABLE
        with pytest.raises(NotFound):
            driver.reimage(MISSING_ID, image_id, iter([written]))

    def test_read(self, driver: CheckedDriver) -> None:
        """A volume reads back as the bytes written into it (``image_bytes`` of them): what an
        image gave it, or none for a driver that keeps no data."""
        self.require(driver, Capability.UPLOAD)
        written = b"a" * 10 + b"b" * 6
        if Capability.FROM_IMAGE in driver.capabilities:
            backend_id = self.available(driver, image_id=str(uuid.uuid4()),
                                        image_data=iter([written[:10], written[10:]]))
        else:
            backend_id, written = self.available(driver), b""
        data = b"".join(driver.read(backend_id))
        assert data in (written, b"") and len(data) == driver.get(backend_id).image_bytes
        with pytest.raises(NotFound):
            driver.read(MISSING_ID)  # at the call, before any chunk is asked for
