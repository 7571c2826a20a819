"""The network driver interface: realise Overcast's networks on a backend.

Overcast's own records and IPAM are the source of truth: the network core decides every address,
MAC and rule, then tells the driver what to make real. A driver never chooses an address and
never builds Neutron JSON. Calls are idempotent (applying a record twice leaves one resource;
removing a missing one succeeds), so a retried call after a crash is safe.

Every method may raise :class:`~overcast.drivers.errors.Unavailable` (retryable) or
:class:`~overcast.drivers.errors.DriverError`; the others it raises are named per method.
Optional methods raise :class:`~overcast.drivers.errors.NotSupported` unless the driver lists
their capability.
"""

from __future__ import annotations

import abc
import enum
from dataclasses import dataclass
from typing import Mapping

from overcast.drivers.errors import NotSupported


class Capability(str, enum.Enum):
    """Optional families; a driver lists the ones it supports in ``capabilities``."""

    ROUTERS = "routers"
    FLOATING_IPS = "floating_ips"
    SECURITY_GROUPS = "security_groups"


#: Which methods each capability brings (the conformance kit checks the two agree).
CAPABILITY_METHODS: Mapping[Capability, tuple[str, ...]] = {
    Capability.ROUTERS: ("apply_router", "remove_router"),
    Capability.FLOATING_IPS: ("apply_floating_ip", "remove_floating_ip"),
    Capability.SECURITY_GROUPS: ("apply_security_group", "remove_security_group"),
}


@dataclass(frozen=True)
class NetworkSpec:
    id: str
    name: str
    mtu: int
    external: bool = False
    admin_state_up: bool = True


@dataclass(frozen=True)
class SubnetSpec:
    id: str
    network_id: str
    cidr: str
    ip_version: int
    gateway_ip: str | None
    enable_dhcp: bool = True


@dataclass(frozen=True)
class PortSpec:
    id: str
    network_id: str
    mac_address: str
    #: the addresses Overcast allocated, in order
    fixed_ips: tuple[str, ...]
    device_id: str = ""
    device_owner: str = ""
    security_group_ids: tuple[str, ...] = ()
    port_security_enabled: bool = True


@dataclass(frozen=True)
class PortBinding:
    """Where the backend wired a port (Neutron's ``binding:*``)."""

    host: str
    vif_type: str
    active: bool


@dataclass(frozen=True)
class RouterSpec:
    id: str
    name: str
    #: the external network and the gateway's addresses on it, or None without a gateway
    external_network_id: str | None
    gateway_ips: tuple[str, ...]
    #: the subnets the router has an interface on
    subnet_ids: tuple[str, ...]
    #: (destination, nexthop) extra routes
    routes: tuple[tuple[str, str], ...] = ()
    enable_snat: bool = True


@dataclass(frozen=True)
class FloatingIpSpec:
    id: str
    floating_ip_address: str
    floating_network_id: str
    #: the fixed address it is mapped to, with its port and router; None when disassociated
    port_id: str | None = None
    fixed_ip_address: str | None = None
    router_id: str | None = None


@dataclass(frozen=True)
class SecurityGroupRuleSpec:
    id: str
    direction: str
    ethertype: str
    protocol: str | None
    port_range_min: int | None
    port_range_max: int | None
    remote_ip_prefix: str | None
    remote_group_id: str | None


@dataclass(frozen=True)
class SecurityGroupSpec:
    id: str
    name: str
    rules: tuple[SecurityGroupRuleSpec, ...]
    stateful: bool = True


class NetworkDriver(abc.ABC):
    """One cloud's network backend."""

    #: Which optional families this driver supports.
    capabilities: frozenset[Capability] = frozenset()

    # -- networks, subnets, ports ---------------------------------------------------------
    @abc.abstractmethod
    def apply_network(self, network: NetworkSpec) -> None:
        """Create or update a network. :raises InvalidRequest: the backend refuses it (e.g. its MTU)."""

    @abc.abstractmethod
    def remove_network(self, network_id: str) -> None:
        """Delete a network; a missing one succeeds. :raises Conflict: the backend still uses it."""

    @abc.abstractmethod
    def apply_subnet(self, subnet: SubnetSpec) -> None:
        """Create or update a subnet on its network.

        :raises NotFound: the network was never applied. :raises InvalidRequest: CIDR refused.
        """

    @abc.abstractmethod
    def remove_subnet(self, subnet_id: str) -> None:
        """Delete a subnet; a missing one succeeds."""

    @abc.abstractmethod
    def bind_port(self, port: PortSpec, host: str | None = None) -> PortBinding:
        """Create or update a port with its addresses and wire it (to ``host`` when given).

        :raises NotFound: its network was never applied.
        :raises Conflict: the backend already has this MAC or address on the network.
        """

    @abc.abstractmethod
    def unbind_port(self, port_id: str) -> None:
        """Delete a port; a missing one succeeds."""

    def close(self) -> None:
        """Release connections and files; the driver is not used afterwards (default: nothing)."""

    # -- optional families (see capabilities) ---------------------------------------------
    def _unsupported(self, what: str) -> NotSupported:
        return NotSupported(f"{type(self).__name__} does not support {what}")

    def apply_router(self, router: RouterSpec) -> None:
        """Create or update a router, its gateway, interfaces and routes.

        :raises NotFound: a network or subnet it names was never applied.
        """
        raise self._unsupported("apply_router")

    def remove_router(self, router_id: str) -> None:
        """Delete a router; a missing one succeeds."""
        raise self._unsupported("remove_router")

    def apply_floating_ip(self, floating_ip: FloatingIpSpec) -> None:
        """Create, (re)associate or disassociate a floating IP.

        :raises NotFound: its router or port was never applied.
        """
        raise self._unsupported("apply_floating_ip")

    def remove_floating_ip(self, floating_ip_id: str) -> None:
        """Release a floating IP; a missing one succeeds."""
        raise self._unsupported("remove_floating_ip")

    def apply_security_group(self, group: SecurityGroupSpec) -> None:
        """Create or replace a security group and its whole rule set.

        :raises InvalidRequest: the backend cannot express a rule.
        """
        raise self._unsupported("apply_security_group")

    def remove_security_group(self, group_id: str) -> None:
        """Delete a security group; a missing one succeeds."""
        raise self._unsupported("remove_security_group")
