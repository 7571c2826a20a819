"""The volume conformance kit against the built-in drivers: both must pass all of it."""

from __future__ import annotations

import pytest

from overcast.drivers import load_driver
from overcast.drivers.context import CallContext
from overcast.testing.conformance_volume import VolumeDriverConformance

CTX = CallContext(project_id="p", request_id="req-test")


class TestNoopVolumeConformance(VolumeDriverConformance):
    @pytest.fixture
    def volume_driver(self, tmp_path):
        bundle = load_driver("noop", {}, tmp_path)
        yield bundle.volume
        bundle.close()


class TestLocalVolumeConformance(VolumeDriverConformance):
    @pytest.fixture
    def volume_driver(self, tmp_path):
        bundle = load_driver("local", {}, tmp_path)
        yield bundle.volume
        bundle.close()


def test_local_volumes_persist_across_restarts(tmp_path):
    from overcast.drivers.volume import VolumeRequest

    bundle = load_driver("local", {}, tmp_path)
    backend_id = bundle.volume.create(CTX, VolumeRequest(name="keep", size_gb=2, idempotency_key="k1",
                                                    image_data=iter([b"data"]), image_id="img"))
    bundle.close()
    again = load_driver("local", {}, tmp_path)
    try:
        info = again.volume.get(CTX, backend_id)
        assert (info.name, info.size_gb, info.image_bytes) == ("keep", 2, 4)
    finally:
        again.close()


def test_local_fault_injection(tmp_path):
    from overcast.drivers.errors import BuildFailed, DeleteFailed, Unavailable
    from overcast.drivers.volume import VolumeRequest

    bundle = load_driver("local", {}, tmp_path)
    driver = bundle.volume
    try:
        with pytest.raises(BuildFailed):
            driver.create(CTX, VolumeRequest(name="x", size_gb=1, idempotency_key="f",
                                        metadata={"overcast:fail_create": "true"}))
        with pytest.raises(Unavailable):
            driver.create(CTX, VolumeRequest(name="x", size_gb=1, idempotency_key="u",
                                        metadata={"overcast:unavailable": "1"}))
        backend_id = driver.create(CTX, VolumeRequest(name="x", size_gb=1, idempotency_key="u",
                                                 metadata={"overcast:unavailable": "1",
                                                           "overcast:fail_delete": "1"}))
        with pytest.raises(Unavailable):
            driver.get(CTX, backend_id)
        for expected in (Unavailable, DeleteFailed):
            with pytest.raises(expected):
                driver.delete(CTX, backend_id)
        driver.delete(CTX, backend_id)
    finally:
        bundle.close()


def test_local_pool_is_devstacks_lvm_backend(tmp_path):
    from overcast.drivers.volume import VolumeRequest

    bundle = load_driver("local", {}, tmp_path)
    try:
        bundle.volume.create(CTX, VolumeRequest(name="a", size_gb=3, idempotency_key="a", pool="lvmdriver-1"))
        [pool] = bundle.volume.pools(CTX)
        assert (pool.name, pool.vendor_name, pool.storage_protocol, pool.allocated_capacity_gb) == (
            "lvmdriver-1", "Open Source", "iSCSI", 3)
        found = bundle.volume.find(CTX, "a").backend_id
        assert bundle.volume.get(CTX, found).host == "overcast-local@lvmdriver-1#lvmdriver-1"
    finally:
        bundle.close()


def test_local_read_gives_the_bytes_written(tmp_path):
    from overcast.drivers.volume import VolumeRequest

    bundle = load_driver("local", {}, tmp_path)
    driver = bundle.volume
    try:
        data = bytes(range(256)) * 8192  # 2 MiB: more than one chunk
        source = driver.create(CTX, VolumeRequest(name="img", size_gb=1, idempotency_key="i", image_id="img",
                                             image_data=iter([data[:1000], data[1000:]])))
        clone = driver.create(CTX, VolumeRequest(name="clone", size_gb=1, idempotency_key="c", source_volume_id=source))
        blank = driver.create(CTX, VolumeRequest(name="blank", size_gb=5, idempotency_key="b"))
        assert b"".join(driver.read(CTX, source)) == b"".join(driver.read(CTX, clone)) == data
        assert list(driver.read(CTX, blank)) == []  # thin: nothing was written
    finally:
        bundle.close()


def test_local_create_resumed_after_a_crash_writes_the_data(tmp_path):
    """A create that stopped between recording the volume and writing its data (a worker killed
    there) is finished by the next create with the same key: the data is not lost (16.3)."""
    from overcast.drivers.volume import VolumeRequest

    bundle = load_driver("local", {}, tmp_path)
    try:
        driver = bundle.volume
        request = VolumeRequest(name="img", size_gb=1, idempotency_key="crash-k", image_id="img",
                                image_data=iter([b"cirros" * 10]))
        backend_id = driver.create(CTX, request)
        driver._file(backend_id).unlink()  # as if the first call died before writing
        with driver.store.write() as conn:
            conn.execute("UPDATE volume SET image_bytes = 0 WHERE id = ?", (backend_id,))
        again = driver.create(CTX, VolumeRequest(name="img", size_gb=1, idempotency_key="crash-k", image_id="img",
                                                 image_data=iter([b"cirros" * 10])))
        assert again == backend_id
        assert b"".join(driver.read(CTX, backend_id)) == b"cirros" * 10
        assert driver.get(CTX, backend_id).image_bytes == 60
    finally:
        bundle.close()


def test_local_backups_are_whole_files(tmp_path):
    """Decision 0049: a local backup is one file under <data dir>/local-backups, a whole copy of the
    volume's bytes even when incremental; restoring it alone (its parent deleted) gives them back."""
    from overcast.drivers.volume import VolumeRequest

    bundle = load_driver("local", {}, tmp_path)
    driver = bundle.volume
    try:
        data = b"overcast" * 4096
        source = driver.create(CTX, VolumeRequest(name="src", size_gb=1, idempotency_key="s", image_id="img",
                                             image_data=iter([data])))
        full = driver.create_backup(CTX, source, "full")
        incremental = driver.create_backup(CTX, source, "incr", parent_backend_id=full.backend_id)
        for backup in (full, incremental):
            path = driver.backups.directory / backup.backend_id
            assert path.parent == tmp_path / "local-backups" and path.read_bytes() == data
            assert backup.size_bytes == len(data)
        driver.delete_backup(CTX, full.backend_id)
        target = driver.create(CTX, VolumeRequest(name="dst", size_gb=1, idempotency_key="d"))
        driver.restore_backup(CTX, incremental.backend_id, target)
        assert b"".join(driver.read(CTX, target)) == data
        assert driver.backup_service.startswith("cinder.backup.drivers.")
    finally:
        bundle.close()


def test_the_reconciler_passes_over_a_cloud_without_block_storage(tmp_path):
    """A region whose driver offers no volumes (a libvirt host, say) is not an error every round."""
    from overcast.core.volume import VolumeCore
    from overcast.core.volume.operations import VolumeHandlers
    from overcast.drivers.registry import CloudDriver

    bundle = load_driver("noop", {}, tmp_path)
    core = VolumeCore(settings=None, store=None, identity=None,  # type: ignore[arg-type]
                      clouds={"hosts": CloudDriver(name="bare", compute=bundle.compute), "noop": bundle})
    handlers = VolumeHandlers.__new__(VolumeHandlers)
    handlers.core = core
    handlers.reconcile("hosts", ctx=None)  # returns at once: nothing asked of a session or a driver
    with pytest.raises(AttributeError):  # a cloud with block storage is reconciled (here: no session to use)
        handlers.reconcile("noop", ctx=None)
    bundle.close()


def test_a_local_data_directory_from_before_manage_keeps_working(tmp_path):
    """Decision 0065: a local cloud's SQLite file made before volumes kept their LVM names gains the
    ``ref_name`` columns when it opens; its volumes and snapshots are named by their backend ids."""
    import sqlite3

    from overcast.drivers.local.volume import SCHEMA, LocalVolumeDriver

    path = tmp_path / "local.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA)  # the tables as they were, without ref_name
    assert "ref_name" not in {row[1] for row in conn.execute("PRAGMA table_info(volume)")}
    conn.execute("INSERT INTO volume (id, idempotency_key, name, size_gb, zone, ready_at, created_at)"
                 " VALUES ('old-vol', 'k1', 'old', 2, 'nova', 0, 0)")
    conn.execute("INSERT INTO volume_snapshot (id, idempotency_key, volume_id, name, size_gb, created_at)"
                 " VALUES ('old-snap', 'k2', 'old-vol', 's', 2, 0)")
    conn.commit()
    conn.close()
    driver = LocalVolumeDriver(path)
    try:
        assert driver.get(CTX, "old-vol").size_gb == 2
        assert driver.resolve_volume(CTX, {"source-name": "old-vol"}).backend_id == "old-vol"
        assert [m.reference for m in driver.manageable_volumes(CTX)] == [{"source-name": "old-vol"}]
        assert driver.resolve_snapshot(CTX, {"source-id": "old-snap"}).volume_id == "old-vol"
        driver.manage_volume(CTX, "old-vol", "volume-new", "k3")
        assert driver.resolve_volume(CTX, {"source-name": "volume-new"}).backend_id == "old-vol"
    finally:
        driver.close()
    reopened = LocalVolumeDriver(path)  # the column is there already: opening again changes nothing
    try:
        assert reopened.find(CTX, "k3").backend_id == "old-vol"
    finally:
        reopened.close()
