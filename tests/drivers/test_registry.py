"""Driver discovery through entry points and the CloudDriver bundle."""

from __future__ import annotations

import pytest

from overcast.drivers import (CloudDriver, DriverConfigError, DriverLoadError, UnknownDriver, known_drivers,
                              load_driver, register_driver)
from overcast.drivers.compute import ComputeDriver
from overcast.drivers.local import LocalComputeDriver
from overcast.drivers.noop import NoopComputeDriver
from overcast.drivers.registry import driver_factory, unregister_driver


def test_built_in_drivers_are_entry_points():
    assert {"noop", "local"} <= set(known_drivers())


def test_load_noop_and_local(tmp_path):
    noop = load_driver("noop", {"anything": "goes"}, tmp_path)
    assert isinstance(noop, CloudDriver) and isinstance(noop.compute, NoopComputeDriver)
    assert noop.families() == {"compute": noop.compute, "volume": noop.volume, "network": noop.network}
    assert noop.image is noop.cdn is None
    local = load_driver("local", {"build_delay": 1}, tmp_path)
    assert isinstance(local.compute, LocalComputeDriver) and local.compute.build_delay == 1
    local.close()


def test_unknown_driver_lists_the_known_ones():
    with pytest.raises(UnknownDriver) as caught:
        load_driver("nonesuch", {}, ".")
    message = str(caught.value)
    assert "nonesuch" in message and "local" in message and "noop" in message
    assert isinstance(caught.value, LookupError) and isinstance(caught.value, DriverLoadError)


def test_unknown_option_names_the_accepted_ones(tmp_path):
    with pytest.raises(DriverConfigError, match="build_delay"):
        load_driver("local", {"build_dealy": 1}, tmp_path)


def test_in_process_registration_and_compute_only_factories(tmp_path):
    made = []

    def factory(options, data_dir):
        made.append((options, data_dir))
        return NoopComputeDriver()

    register_driver("test-compute-only", factory)
    try:
        bundle = load_driver("test-compute-only", {"a": 1}, tmp_path)
        assert isinstance(bundle, CloudDriver) and bundle.name == "test-compute-only"
        assert isinstance(bundle.compute, ComputeDriver)
        assert made == [({"a": 1}, tmp_path)]
        assert "test-compute-only" in known_drivers()
    finally:
        unregister_driver("test-compute-only")
    assert "test-compute-only" not in known_drivers()


def test_a_factory_returning_nonsense_is_refused():
    register_driver("test-bad", lambda options, data_dir: object())
    try:
        with pytest.raises(DriverLoadError, match="not a CloudDriver"):
            load_driver("test-bad")
    finally:
        unregister_driver("test-bad")


def test_entry_point_import_errors_are_clear(monkeypatch):
    from importlib import metadata

    from overcast.drivers import registry

    broken = metadata.EntryPoint(name="broken", value="overcast_no_such_module:create", group=registry.GROUP)
    monkeypatch.setattr(registry, "_entry_points", lambda: {"broken": broken})
    with pytest.raises(DriverLoadError, match="could not be imported"):
        driver_factory("broken")


def test_loading_is_lazy():
    """Naming the drivers imports none of them."""
    import subprocess
    import sys

    code = ("import sys; from overcast.drivers import known_drivers; known_drivers(); "
            "print('overcast.drivers.local.driver' in sys.modules, 'overcast.drivers.noop.driver' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_close_closes_each_family_once():
    closed = []

    class Family:
        def close(self):
            closed.append(self)

    shared = Family()
    CloudDriver(name="x", compute=shared, image=shared, volume=Family()).close()
    assert len(closed) == 2
