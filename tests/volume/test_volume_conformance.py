"""The volume conformance kit against the built-in drivers: both must pass all of it."""

from __future__ import annotations

import pytest

from overcast.drivers import load_driver
from overcast.testing.conformance_volume import VolumeDriverConformance


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
    backend_id = bundle.volume.create(VolumeRequest(name="keep", size_gb=2, idempotency_key="k1",
                                                    image_data=iter([b"data"]), image_id="img"))
    bundle.close()
    again = load_driver("local", {}, tmp_path)
    try:
        info = again.volume.get(backend_id)
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
            driver.create(VolumeRequest(name="x", size_gb=1, idempotency_key="f",
                                        metadata={"overcast:fail_create": "true"}))
        with pytest.raises(Unavailable):
            driver.create(VolumeRequest(name="x", size_gb=1, idempotency_key="u",
                                        metadata={"overcast:unavailable": "1"}))
        backend_id = driver.create(VolumeRequest(name="x", size_gb=1, idempotency_key="u",
                                                 metadata={"overcast:unavailable": "1",
                                                           "overcast:fail_delete": "1"}))
        with pytest.raises(Unavailable):
            driver.get(backend_id)
        for expected in (Unavailable, DeleteFailed):
            with pytest.raises(expected):
                driver.delete(backend_id)
        driver.delete(backend_id)
    finally:
        bundle.close()


def test_local_pool_is_devstacks_lvm_backend(tmp_path):
    from overcast.drivers.volume import VolumeRequest

    bundle = load_driver("local", {}, tmp_path)
    try:
        bundle.volume.create(VolumeRequest(name="a", size_gb=3, idempotency_key="a", pool="lvmdriver-1"))
        [pool] = bundle.volume.pools()
        assert (pool.name, pool.vendor_name, pool.storage_protocol, pool.allocated_capacity_gb) == (
            "lvmdriver-1", "Open Source", "iSCSI", 3)
        assert bundle.volume.get(bundle.volume.find("a").backend_id).host == "overcast-local@lvmdriver-1#lvmdriver-1"
    finally:
        bundle.close()


def test_local_read_gives_the_bytes_written(tmp_path):
    from overcast.drivers.volume import VolumeRequest

    bundle = load_driver("local", {}, tmp_path)
    driver = bundle.volume
    try:
        data = bytes(range(256)) * 8192  # 2 MiB: more than one chunk
        source = driver.create(VolumeRequest(name="img", size_gb=1, idempotency_key="i", image_id="img",
                                             image_data=iter([data[:1000], data[1000:]])))
        clone = driver.create(VolumeRequest(name="clone", size_gb=1, idempotency_key="c", source_volume_id=source))
        blank = driver.create(VolumeRequest(name="blank", size_gb=5, idempotency_key="b"))
        assert b"".join(driver.read(source)) == b"".join(driver.read(clone)) == data
        assert list(driver.read(blank)) == []  # thin: nothing was written
    finally:
        bundle.close()
