"""The network driver conformance suite against the built-in drivers, and what local adds."""

from __future__ import annotations

import pytest

from overcast.drivers.context import CallContext
from overcast.drivers.errors import Conflict, NotFound
from overcast.drivers.local.network import LocalNetworkDriver
from overcast.drivers.network import AddressOwner, FixedIp, NetworkSpec, PortSpec, Ref, SubnetSpec
from overcast.drivers.noop.network import NoopNetworkDriver
from overcast.drivers.registry import load_driver
from overcast.testing.network_conformance import NetworkDriverConformance

CTX = CallContext(request_id="req-test")


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


class TestLocalWithProviderAddresses(NetworkDriverConformance):
    """The local fabric picking MACs and addresses itself, as an upstream OpenStack or EC2 does."""

    @pytest.fixture
    def network_driver(self, tmp_path):  # noqa: ANN001, ANN201
        driver = LocalNetworkDriver(tmp_path / "net.db", addresses=AddressOwner.PROVIDER)
        yield driver
        driver.close()


def _port(port_id: str, network: Ref, mac: str, *addresses: str, subnet: Ref | None = None) -> PortSpec:
    return PortSpec(id=port_id, network=network, mac_address=mac,
                    fixed_ips=tuple(FixedIp(subnet or Ref("s1"), a) for a in addresses))


def test_local_checks_references_and_persists(tmp_path):
    driver = LocalNetworkDriver(tmp_path / "net.db")
    with pytest.raises(NotFound):
        driver.bind_port(CTX, _port("p1", Ref("n1"), "fa:16:3e:00:00:01", "10.0.0.5"))
    network = Ref("n1", driver.apply_network(CTX, NetworkSpec(id="n1", name="n", mtu=1500)).backend_id)
    assert network.backend_id != "n1"  # the fabric's own id, tagged with Overcast's
    driver.apply_subnet(CTX, SubnetSpec(id="s1", network=network, cidr="10.0.0.0/24", ip_version=4,
                                        gateway_ip="10.0.0.1"))
    first = driver.bind_port(CTX, _port("p1", network, "fa:16:3e:00:00:01", "10.0.0.5"))
    with pytest.raises(Conflict):  # a MAC still wired for another port
        driver.bind_port(CTX, _port("p2", network, "fa:16:3e:00:00:01"))
    with pytest.raises(Conflict):
        driver.remove_network(CTX, network)
    driver.close()
    again = LocalNetworkDriver(tmp_path / "net.db")
    with pytest.raises(Conflict):  # an address still wired, after a restart
        again.bind_port(CTX, _port("p3", network, "fa:16:3e:00:00:09", "10.0.0.5"))
    again.unbind_port(CTX, Ref("p1", first.backend_id))
    assert again.bind_port(CTX, _port("p3", network, "fa:16:3e:00:00:09", "10.0.0.5")).active
    again.close()


def test_local_finds_by_backend_id_or_by_overcast_id(tmp_path):
    driver = LocalNetworkDriver(tmp_path / "net.db")
    made = driver.apply_network(CTX, NetworkSpec(id="n1", name="n", mtu=1500))
    assert [o.backend_id for o in driver.list_objects(CTX, "network")] == [made.backend_id]
    driver.remove_network(CTX, Ref("someone-else", made.backend_id))
    assert driver.list_objects(CTX, "network") == []
    driver.close()


@pytest.mark.parametrize("name", ["local", "noop"])
def test_built_in_drivers_fill_the_network_slot(tmp_path, name):
    cloud = load_driver(name, {}, tmp_path)
    assert cloud.network is not None and "network" in cloud.families()
    cloud.close()
