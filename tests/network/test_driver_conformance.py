"""The network driver conformance suite against the built-in drivers, and what local adds."""

from __future__ import annotations

import pytest

from overcast.drivers.errors import Conflict, NotFound
from overcast.drivers.local.network import LocalNetworkDriver
from overcast.drivers.network import NetworkSpec, PortSpec
from overcast.drivers.noop.network import NoopNetworkDriver
from overcast.drivers.registry import load_driver
from overcast.testing.network_conformance import NetworkDriverConformance


class TestNoop(NetworkDriverConformance):
    @pytest.fixture
    def network_driver(self):  # noqa: ANN201
        yield NoopNetworkDriver()


class TestLocal(NetworkDriverConformance):
    @pytest.fixture
    def network_driver(self, tmp_path):  # noqa: ANN001, ANN201
        driver = LocalNetworkDriver(tmp_path / "net.db")
        yield driver
        driver.close()


def test_local_checks_references_and_persists(tmp_path):
    driver = LocalNetworkDriver(tmp_path / "net.db")
    port = PortSpec(id="p1", network_id="n1", mac_address="fa:16:3e:00:00:01", fixed_ips=("10.0.0.5",))
    with pytest.raises(NotFound):
        driver.bind_port(port)
    driver.apply_network(NetworkSpec(id="n1", name="n", mtu=1500))
    driver.bind_port(port)
    with pytest.raises(Conflict):
        driver.bind_port(PortSpec(id="p2", network_id="n1", mac_address="fa:16:3e:00:00:01", fixed_ips=()))
    with pytest.raises(Conflict):
        driver.remove_network("n1")
    driver.close()
    again = LocalNetworkDriver(tmp_path / "net.db")
    with pytest.raises(Conflict):
        again.bind_port(PortSpec(id="p3", network_id="n1", mac_address="fa:16:3e:00:00:09", fixed_ips=("10.0.0.5",)))
    again.close()


@pytest.mark.parametrize("name", ["local", "noop"])
def test_built_in_drivers_fill_the_network_slot(tmp_path, name):
    cloud = load_driver(name, {}, tmp_path)
    assert cloud.network is not None and "network" in cloud.families()
    cloud.close()
