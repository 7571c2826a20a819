"""The network driver conformance suite: what every :class:`NetworkDriver` must do.

Subclass it and provide the driver::

    class TestMyCloudNetwork(NetworkDriverConformance):
        @pytest.fixture
        def network_driver(self, tmp_path):
            driver = MyNetworkDriver(...)
            yield driver
            driver.close()

Checked: method signatures match the interface (every call takes a ``CallContext``); declared
capabilities are exactly the ones whose methods are overridden, undeclared ones raise
``NotSupported``; every object made gets a backend id; creates are idempotent on the Overcast id,
also when the backend id of an earlier attempt was lost (a crash before Overcast recorded it);
removing what is missing succeeds; ``list_objects`` returns every object made (:attr:`many` of
them, more than one page of most APIs) and nothing removed; ports bind to a host, and the MAC and
fixed IPs a binding reports are the ones given (Overcast's IPAM) or ones the provider chose in the
subnet (provider IPAM), as is a floating IP's address; every declared family accepts its records;
and everything a driver raises is a :class:`~overcast.drivers.errors.DriverError`.
"""

from __future__ import annotations

import inspect
import ipaddress
import uuid

import pytest

from overcast.drivers.context import CallContext
from overcast.drivers.errors import DriverError, NotSupported
from overcast.drivers.network import (CAPABILITY_KINDS, CAPABILITY_METHODS, KINDS, AddressOwner, Capability, FixedIp,
                                      FloatingIpSpec, NetworkDriver, NetworkSpec, PortBinding, PortSpec, Realised, Ref,
                                      RouterSpec, SecurityGroupRuleSpec, SecurityGroupSpec, SubnetSpec)
from overcast.testing.conformance import assert_headroom


def _id() -> str:
    return str(uuid.uuid4())


#: Neutron's quota names a network driver's headroom may tell
NEUTRON_QUOTAS = {"network", "subnet", "port", "router", "floatingip", "security_group", "security_group_rule"}


def _ctx(item_id: str | None = None) -> CallContext:
    return CallContext(project_id="conformance-project", user_id="conformance-user", request_id="req-conformance",
                       idempotency_key=item_id)


class NetworkDriverConformance:
    """Every test takes the ``network_driver`` fixture a subclass provides."""

    #: how many networks :meth:`test_list_objects_returns_every_page` makes
    many = 120

    def _kinds(self, driver: NetworkDriver) -> list[str]:
        optional = {CAPABILITY_KINDS[c] for c in Capability if c not in driver.capabilities}
        return [k for k in KINDS if k not in optional]

    def _held(self, driver: NetworkDriver, kind: str) -> dict[str, str]:
        return {o.id: o.backend_id for o in driver.list_objects(_ctx(), kind)}

    def _topology(self, driver: NetworkDriver, external: bool = False,
                  prefix: str = "10.250.0") -> tuple[NetworkSpec, SubnetSpec]:
        network = NetworkSpec(id=_id(), name="conformance", mtu=1450, external=external, project_id="p")
        made = driver.apply_network(_ctx(network.id), network)
        network = NetworkSpec(**{**network.__dict__, "backend_id": made.backend_id})
        subnet = SubnetSpec(id=_id(), network=Ref(network.id, network.backend_id), cidr=f"{prefix}.0/24",
                            ip_version=4, gateway_ip=f"{prefix}.1", allocation_pools=((f"{prefix}.2", f"{prefix}.254"),),
                            project_id="p")
        made = driver.apply_subnet(_ctx(subnet.id), subnet)
        #: a provider may map an external network (and its subnet) onto its own, whose range it
        #: reports as ``extra["cidr"]`` (None: not visible to Overcast's account)
        self.backend_cidr = made.extra.get("cidr", subnet.cidr) if external else subnet.cidr
        return network, SubnetSpec(**{**subnet.__dict__, "backend_id": made.backend_id})

    def _port(self, driver: NetworkDriver, network: NetworkSpec, subnet: SubnetSpec, address: str,
              mac: str = "fa:16:3e:00:00:01") -> PortSpec:
        provider = driver.addresses is AddressOwner.PROVIDER
        return PortSpec(id=_id(), network=Ref(network.id, network.backend_id), mac_address=None if provider else mac,
                        fixed_ips=(FixedIp(Ref(subnet.id, subnet.backend_id), None if provider else address),),
                        device_id="vm", device_owner="compute:nova", project_id="p")

    def test_signatures_match_the_interface(self, network_driver: NetworkDriver) -> None:
        for name, base in inspect.getmembers(NetworkDriver, inspect.isfunction):
            mine = getattr(type(network_driver), name)
            assert list(inspect.signature(mine).parameters) == list(inspect.signature(base).parameters), name
        assert isinstance(network_driver.addresses, AddressOwner)

    def test_capabilities_match_the_overridden_methods(self, network_driver: NetworkDriver) -> None:
        for capability, methods in CAPABILITY_METHODS.items():
            overridden = [getattr(type(network_driver), m) is not getattr(NetworkDriver, m) for m in methods]
            assert all(overridden) == (capability in network_driver.capabilities), capability
            if capability not in network_driver.capabilities:
                with pytest.raises(NotSupported):
                    getattr(network_driver, methods[1])(_ctx(), Ref(_id()))

    def test_headroom_as_declared(self, network_driver: NetworkDriver) -> None:
        """``reports_headroom``: :meth:`headroom` tells the backend's own quotas in Neutron's names,
        and a network made counts in its usage (decision 0046); every other driver raises NotSupported."""
        assert_headroom(network_driver.reports_headroom, lambda: network_driver.headroom(_ctx()), NEUTRON_QUOTAS,
                        "network")
        if not network_driver.reports_headroom:
            return
        before = network_driver.headroom(_ctx()).used["network"]
        network = NetworkSpec(id=_id(), name="conformance-headroom", mtu=1450, project_id="p")
        made = network_driver.apply_network(_ctx(network.id), network)
        try:
            assert network_driver.headroom(_ctx()).used["network"] >= before + 1
        finally:
            network_driver.remove_network(_ctx(network.id), Ref(network.id, made.backend_id))

    def test_creates_get_backend_ids_and_are_idempotent(self, network_driver: NetworkDriver) -> None:
        network, subnet = self._topology(network_driver)
        assert network.backend_id and subnet.backend_id
        again = network_driver.apply_network(_ctx(network.id), network)
        assert again.backend_id == network.backend_id
        # an attempt whose answer was lost (Overcast never recorded the backend id) finds the same object
        lost = NetworkSpec(**{**network.__dict__, "backend_id": None, "name": "renamed"})
        assert network_driver.apply_network(_ctx(network.id), lost).backend_id == network.backend_id
        lost_subnet = SubnetSpec(**{**subnet.__dict__, "backend_id": None})
        assert network_driver.apply_subnet(_ctx(subnet.id), lost_subnet).backend_id == subnet.backend_id
        assert self._held(network_driver, "network")[network.id] == network.backend_id
        assert list(self._held(network_driver, "network")).count(network.id) == 1
        assert self._held(network_driver, "subnet")[subnet.id] == subnet.backend_id
        network_driver.remove_subnet(_ctx(subnet.id), Ref(subnet.id, subnet.backend_id))
        network_driver.remove_network(_ctx(network.id), Ref(network.id, network.backend_id))
        assert network.id not in self._held(network_driver, "network")

    def test_ports_bind_with_their_addresses(self, network_driver: NetworkDriver) -> None:
        network, subnet = self._topology(network_driver)
        port = self._port(network_driver, network, subnet, "10.250.0.5")
        binding = network_driver.bind_port(_ctx(port.id), port)
        assert isinstance(binding, PortBinding) and binding.backend_id and binding.host and binding.active
        if network_driver.addresses is AddressOwner.OVERCAST:
            if binding.mac_address is not None:
                assert binding.mac_address == port.mac_address
            if binding.fixed_ips:
                assert [(f.subnet.id, f.ip_address) for f in binding.fixed_ips] == [(subnet.id, "10.250.0.5")]
        else:  # the provider chose them: a MAC and an address of the subnet's pools
            assert binding.mac_address and len(binding.mac_address.split(":")) == 6
            [fixed] = binding.fixed_ips
            assert fixed.subnet.id == subnet.id
            assert ipaddress.ip_address(fixed.ip_address) in ipaddress.ip_network(subnet.cidr)
            assert fixed.ip_address != subnet.gateway_ip
        elsewhere = PortSpec(**{**port.__dict__, "host": "elsewhere", "backend_id": binding.backend_id,
                                "mac_address": binding.mac_address or port.mac_address,
                                "fixed_ips": binding.fixed_ips or port.fixed_ips})
        rebound = network_driver.bind_port(_ctx(port.id), elsewhere)
        assert rebound.host == "elsewhere" and rebound.backend_id == binding.backend_id
        assert list(self._held(network_driver, "port")).count(port.id) == 1
        network_driver.unbind_port(_ctx(port.id), Ref(port.id, binding.backend_id))
        assert port.id not in self._held(network_driver, "port")
        network_driver.remove_subnet(_ctx(subnet.id), Ref(subnet.id, subnet.backend_id))
        network_driver.remove_network(_ctx(network.id), Ref(network.id, network.backend_id))

    def test_removing_missing_things_succeeds(self, network_driver: NetworkDriver) -> None:
        for ref in (Ref(_id()), Ref(_id(), "no-such-backend-object")):
            network_driver.unbind_port(_ctx(), ref)
            network_driver.remove_subnet(_ctx(), ref)
            network_driver.remove_network(_ctx(), ref)
            for capability, methods in CAPABILITY_METHODS.items():
                if capability in network_driver.capabilities:
                    getattr(network_driver, methods[1])(_ctx(), ref)

    def test_list_objects_returns_every_page(self, network_driver: NetworkDriver) -> None:
        made = {}
        for n in range(self.many):
            spec = NetworkSpec(id=_id(), name=f"many-{n}", mtu=1450)
            made[spec.id] = network_driver.apply_network(_ctx(spec.id), spec).backend_id
        held = self._held(network_driver, "network")
        assert all(held.get(i) == b for i, b in made.items())
        for item_id, backend_id in made.items():
            network_driver.remove_network(_ctx(item_id), Ref(item_id, backend_id))
        assert not set(made) & set(self._held(network_driver, "network"))
        for kind in self._kinds(network_driver):
            assert isinstance(network_driver.list_objects(_ctx(), kind), list)

    def test_optional_families(self, network_driver: NetworkDriver) -> None:
        """A router with its gateway on an external network and an interface on an internal
        subnet, a floating IP of the external network mapped to a port of the internal one, a
        security group referring to itself."""
        internal, internal_subnet = self._topology(network_driver, prefix="10.251.0")
        network, subnet = self._topology(network_driver, external=True)
        port = self._port(network_driver, internal, internal_subnet, "10.251.0.5")
        binding = network_driver.bind_port(_ctx(port.id), port)
        caps = network_driver.capabilities
        router = RouterSpec(id=_id(), name="r", external_network=Ref(network.id, network.backend_id),
                            gateway_ips=("10.250.0.9",), subnets=(Ref(internal_subnet.id, internal_subnet.backend_id),),
                            routes=(("10.99.0.0/16", "10.251.0.7"),), project_id="p")
        router_ref = None
        if Capability.ROUTERS in caps:
            made = network_driver.apply_router(_ctx(router.id), router)
            assert isinstance(made, Realised) and made.backend_id
            assert network_driver.apply_router(_ctx(router.id), router).backend_id == made.backend_id
            router_ref = Ref(router.id, made.backend_id)
        if Capability.FLOATING_IPS in caps:
            provider = network_driver.addresses is AddressOwner.PROVIDER
            fixed = binding.fixed_ips[0].ip_address if binding.fixed_ips else "10.251.0.5"
            fip = FloatingIpSpec(id=_id(), floating_network=Ref(network.id, network.backend_id),
                                 floating_ip_address=None if provider else "10.250.0.20",
                                 port=Ref(port.id, binding.backend_id), fixed_ip_address=fixed, router=router_ref,
                                 project_id="p")
            made = network_driver.apply_floating_ip(_ctx(fip.id), fip)
            assert made.backend_id
            if provider:
                address = ipaddress.ip_address(made.floating_ip_address)
                if self.backend_cidr is not None:
                    assert address in ipaddress.ip_network(self.backend_cidr)
            elif made.floating_ip_address is not None:
                assert made.floating_ip_address == "10.250.0.20"
            network_driver.remove_floating_ip(_ctx(fip.id), Ref(fip.id, made.backend_id))
        if Capability.SECURITY_GROUPS in caps:
            group_id = _id()
            rule = SecurityGroupRuleSpec(id=_id(), direction="ingress", ethertype="IPv4", protocol="tcp",
                                         port_range_min=22, port_range_max=22, remote_ip_prefix="0.0.0.0/0",
                                         remote_group=None)
            itself = SecurityGroupRuleSpec(id=_id(), direction="ingress", ethertype="IPv4", protocol=None,
                                           port_range_min=None, port_range_max=None, remote_ip_prefix=None,
                                           remote_group=Ref(group_id))
            group = SecurityGroupSpec(id=group_id, name="g", rules=(rule, itself), project_id="p")
            made = network_driver.apply_security_group(_ctx(group.id), group)
            assert made.backend_id and set(made.rules) == {rule.id, itself.id} and all(made.rules.values())
            again = network_driver.apply_security_group(_ctx(group.id), group)
            assert again.backend_id == made.backend_id and dict(again.rules) == dict(made.rules)
            network_driver.remove_security_group(_ctx(group.id), Ref(group.id, made.backend_id))
        if router_ref is not None:
            network_driver.remove_router(_ctx(router.id), router_ref)
        network_driver.unbind_port(_ctx(port.id), Ref(port.id, binding.backend_id))
        network_driver.remove_subnet(_ctx(internal_subnet.id), Ref(internal_subnet.id, internal_subnet.backend_id))
        network_driver.remove_network(_ctx(internal.id), Ref(internal.id, internal.backend_id))

    def test_errors_are_driver_errors(self, network_driver: NetworkDriver) -> None:
        stray = PortSpec(id=_id(), network=Ref(_id(), "no-such-network"), mac_address="fa:16:3e:00:00:02",
                         fixed_ips=())
        calls = [lambda: network_driver.bind_port(_ctx(), stray),
                 lambda: network_driver.apply_subnet(_ctx(), SubnetSpec(
                     id=_id(), network=Ref(_id(), "no-such-network"), cidr="10.9.0.0/24", ip_version=4,
                     gateway_ip=None)),
                 lambda: network_driver.list_objects(_ctx(), "no-such-kind")]
        for call in calls:
            try:
                call()
            except Exception as exc:  # noqa: BLE001 - the point is what type it is
                assert isinstance(exc, DriverError), type(exc)
