"""The network driver conformance suite: what every :class:`NetworkDriver` must do.

Subclass it and provide the driver::

    class TestMyCloudNetwork(NetworkDriverConformance):
        @pytest.fixture
        def network_driver(self, tmp_path):
            driver = MyNetworkDriver(...)
            yield driver
            driver.close()

Checked: method signatures match the interface; declared capabilities are exactly the ones
whose methods are overridden, undeclared ones raise ``NotSupported``; applying is idempotent;
removing what is missing succeeds; ports bind to a host; every declared family accepts its
records; and everything a driver raises is a :class:`~overcast.drivers.errors.DriverError`.
"""

from __future__ import annotations

import inspect
import uuid

import pytest

from overcast.drivers.errors import DriverError, NotSupported
from overcast.drivers.network import (CAPABILITY_METHODS, Capability, FloatingIpSpec, NetworkDriver, NetworkSpec,
                                      PortBinding, PortSpec, RouterSpec, SecurityGroupRuleSpec, SecurityGroupSpec,
                                      SubnetSpec)


def _id() -> str:
    return str(uuid.uuid4())


class NetworkDriverConformance:
    """Every test takes the ``network_driver`` fixture a subclass provides."""

    def _topology(self, driver: NetworkDriver) -> tuple[NetworkSpec, SubnetSpec, PortSpec]:
        network = NetworkSpec(id=_id(), name="conformance", mtu=1450)
        subnet = SubnetSpec(id=_id(), network_id=network.id, cidr="10.250.0.0/24", ip_version=4,
                            gateway_ip="10.250.0.1")
        port = PortSpec(id=_id(), network_id=network.id, mac_address="fa:16:3e:00:00:01", fixed_ips=("10.250.0.5",),
                        device_id="vm", device_owner="compute:nova")
        driver.apply_network(network)
        driver.apply_subnet(subnet)
        return network, subnet, port

    def test_signatures_match_the_interface(self, network_driver: NetworkDriver) -> None:
        for name, base in inspect.getmembers(NetworkDriver, inspect.isfunction):
            mine = getattr(type(network_driver), name)
            assert list(inspect.signature(mine).parameters) == list(inspect.signature(base).parameters), name

    def test_capabilities_match_the_overridden_methods(self, network_driver: NetworkDriver) -> None:
        for capability, methods in CAPABILITY_METHODS.items():
            overridden = [getattr(type(network_driver), m) is not getattr(NetworkDriver, m) for m in methods]
            assert all(overridden) == (capability in network_driver.capabilities), capability
            if capability not in network_driver.capabilities:
                with pytest.raises(NotSupported):
                    getattr(network_driver, methods[1])(_id())

    def test_apply_is_idempotent_and_ports_bind(self, network_driver: NetworkDriver) -> None:
        network, subnet, port = self._topology(network_driver)
        network_driver.apply_network(network)
        network_driver.apply_subnet(subnet)
        binding = network_driver.bind_port(port)
        assert isinstance(binding, PortBinding) and binding.host and binding.active
        assert network_driver.bind_port(port, host="elsewhere").host == "elsewhere"
        network_driver.unbind_port(port.id)
        network_driver.remove_subnet(subnet.id)
        network_driver.remove_network(network.id)

    def test_removing_missing_things_succeeds(self, network_driver: NetworkDriver) -> None:
        network_driver.unbind_port(_id())
        network_driver.remove_subnet(_id())
        network_driver.remove_network(_id())
        for capability, methods in CAPABILITY_METHODS.items():
            if capability in network_driver.capabilities:
                getattr(network_driver, methods[1])(_id())

    def test_optional_families(self, network_driver: NetworkDriver) -> None:
        network, subnet, port = self._topology(network_driver)
        network_driver.bind_port(port)
        caps = network_driver.capabilities
        router = RouterSpec(id=_id(), name="r", external_network_id=network.id, gateway_ips=("10.250.0.9",),
                            subnet_ids=(subnet.id,), routes=(("10.99.0.0/16", "10.250.0.7"),))
        if Capability.ROUTERS in caps:
            network_driver.apply_router(router)
            network_driver.apply_router(router)
        if Capability.FLOATING_IPS in caps:
            fip = FloatingIpSpec(id=_id(), floating_ip_address="10.250.0.20", floating_network_id=network.id,
                                 port_id=port.id, fixed_ip_address="10.250.0.5",
                                 router_id=router.id if Capability.ROUTERS in caps else None)
            network_driver.apply_floating_ip(fip)
            network_driver.remove_floating_ip(fip.id)
        if Capability.SECURITY_GROUPS in caps:
            rule = SecurityGroupRuleSpec(id=_id(), direction="ingress", ethertype="IPv4", protocol="tcp",
                                         port_range_min=22, port_range_max=22, remote_ip_prefix="0.0.0.0/0",
                                         remote_group_id=None)
            group = SecurityGroupSpec(id=_id(), name="g", rules=(rule,))
            network_driver.apply_security_group(group)
            network_driver.remove_security_group(group.id)
        if Capability.ROUTERS in caps:
            network_driver.remove_router(router.id)

    def test_errors_are_driver_errors(self, network_driver: NetworkDriver) -> None:
        stray = PortSpec(id=_id(), network_id=_id(), mac_address="fa:16:3e:00:00:02", fixed_ips=())
        try:
            network_driver.bind_port(stray)
        except Exception as exc:  # noqa: BLE001 - the point is what type it is
            assert isinstance(exc, DriverError), type(exc)
