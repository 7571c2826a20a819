"""The ``agent`` driver's configuration, without a broker: options are checked when the region
loads, the broker URL is given by reference (``env:``/``file:``) and appears in no message,
``info`` or log line; loading waits for no broker. With real agents, RabbitMQ and guests:
tests/hosts/test_agent_region.py."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from overcast.drivers.registry import DriverConfigError, known_drivers, load_driver

PASSWORD = "s3cret-bus-pw"


def test_registered_by_entry_point_and_options_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert "agent" in known_drivers()
    monkeypatch.setenv("OVERCAST_TEST_BUS", "amqp://guest@127.0.0.1:1/")
    good = {"region": "lab", "bus": "env:OVERCAST_TEST_BUS"}
    with pytest.raises(DriverConfigError, match="`bus` is required"):
        load_driver("agent", {"region": "lab"}, tmp_path)
    with pytest.raises(DriverConfigError, match="`region` is required"):
        load_driver("agent", {"bus": "env:OVERCAST_TEST_BUS"}, tmp_path)
    with pytest.raises(DriverConfigError, match="OVERCAST_TEST_UNSET is not set"):
        load_driver("agent", {**good, "bus": "env:OVERCAST_TEST_UNSET"}, tmp_path)
    with pytest.raises(DriverConfigError, match="AMQP URL"):
        load_driver("agent", {**good, "bus": "http://127.0.0.1/"}, tmp_path)
    for option in ("call_timeout", "down_after", "spawn_timeout", "clean_shutdown_timeout"):
        with pytest.raises(DriverConfigError, match=option):
            load_driver("agent", {**good, option: "soon"}, tmp_path)
        with pytest.raises(DriverConfigError, match=option):
            load_driver("agent", {**good, option: 0}, tmp_path)
    with pytest.raises(DriverConfigError, match="nonsense"):
        load_driver("agent", {**good, "nonsense": 1}, tmp_path)


def test_a_bad_bus_is_refused_without_quoting_its_password(tmp_path: Path) -> None:
    for url in (f"http://overcast:{PASSWORD}@127.0.0.1/", f"overcast:{PASSWORD}@127.0.0.1"):
        with pytest.raises(DriverConfigError, match="AMQP URL") as raised:
            load_driver("agent", {"region": "lab", "bus": url}, tmp_path)
        assert PASSWORD not in str(raised.value)
        secret = tmp_path / "bus"
        secret.write_text(url + "\n")
        with pytest.raises(DriverConfigError, match="AMQP URL") as raised:
            load_driver("agent", {"region": "lab", "bus": f"file:{secret}"}, tmp_path)
        assert PASSWORD not in str(raised.value)


def test_the_config_file_gives_the_bus_by_reference(tmp_path: Path) -> None:
    from overcast.config import load_settings

    config = tmp_path / "overcast.toml"
    config.write_text('[clouds.lab]\ndriver = "agent"\nregion = "lab"\nbus = "env:LAB_BUS"\n')
    url = f"amqp://overcast:{PASSWORD}@127.0.0.1:1/"
    settings = load_settings(config, environ={"LAB_BUS": url})
    cloud = load_driver("agent", settings.clouds[0].options, tmp_path)
    try:
        assert cloud.compute.hosts.bus.url == url
        assert PASSWORD not in repr(cloud.info)
    finally:
        cloud.close()


def test_loading_waits_for_no_broker_and_logs_no_password(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    secret = tmp_path / "bus"
    secret.write_text(f"amqp://overcast:{PASSWORD}@127.0.0.1:1/\n")   # nothing listens on port 1
    caplog.set_level(logging.DEBUG)
    began = time.monotonic()
    cloud = load_driver("agent", {"region": "lab", "bus": f"file:{secret}", "down_after": 5}, tmp_path)
    try:
        assert time.monotonic() - began < 10  # loading does not wait for the broker's retries
        assert cloud.compute is not None and cloud.network is not None and cloud.volume is not None
        assert cloud.info == {"bus": "amqp://overcast:***@127.0.0.1:1/", "region": "lab"}
        assert cloud.compute.hosts.directory.down_after == 5.0
        end = time.monotonic() + 30
        while not any("reconnecting" in r.getMessage() for r in caplog.records):   # it tried the broker
            assert time.monotonic() < end, "the report listener never tried the broker"
            time.sleep(0.05)
    finally:
        cloud.close()
    assert not [r for r in caplog.records if PASSWORD in r.getMessage()]
