"""The network driver interface: make Overcast's networks real on a backend.

Overcast's records are the source of truth. The network core records what a request asks for,
then the operations engine calls the driver after the transaction commits, with the region's
timeout, retries and circuit breaker (see ``docs/decisions/0023-network-realisation.md``). A
driver never builds Neutron JSON and never decides policy.

Contract, for every method:

- Each call gets a :class:`~overcast.drivers.context.CallContext` (project, user, request id,
  idempotency key, deadline). Its ``idempotency_key`` is the Overcast id of the object.
- **Creates are idempotent on the Overcast id** (``spec.id``): applying a spec whose object the
  backend already holds (found by ``spec.backend_id`` or, when that is ``None`` because an earlier
  attempt died before Overcast recorded it, by the Overcast id the driver tagged it with) updates
  that object and returns the same backend id. Applying twice leaves one object.
- **Removing something already gone succeeds** (a retried delete is safe).
- A spec refers to other objects by :class:`Ref` (Overcast id and backend id). The engine applies
  an object only once everything it refers to has a backend id, and retries a removal the backend
  refuses with :class:`~overcast.drivers.errors.Conflict` while children are still being removed.
- :meth:`NetworkDriver.list_objects` returns **every** object of a kind the backend holds for
  Overcast, following every page, so the reconciler can remove what the store does not know and
  re-apply what the backend lacks.
- **Who owns addresses** is the driver's :attr:`NetworkDriver.addresses`:
  :attr:`AddressOwner.OVERCAST` (the local cloud, hypervisor agents) means Overcast's IPAM decided
  the MAC and every fixed IP and the driver wires exactly those; :attr:`AddressOwner.PROVIDER`
  (EC2, an upstream OpenStack) means a port spec may carry ``mac_address=None`` and fixed IPs with
  ``ip_address=None`` (any address of that subnet) and a floating IP spec
  ``floating_ip_address=None``: the driver returns what the provider chose and Overcast records it.

Every method may raise :class:`~overcast.drivers.errors.Unavailable` (retryable, with
``retry_after`` when the backend said) or :class:`~overcast.drivers.errors.DriverError`; the
others it raises are named per method. Optional methods raise
:class:`~overcast.drivers.errors.NotSupported` unless the driver lists their capability.
"""

from __future__ import annotations

import abc
import enum
from dataclasses import dataclass, field
from typing import Any, Mapping

from overcast.drivers.context import CallContext
from overcast.drivers.errors import NotSupported
from overcast.drivers.headroom import Headroom


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


class AddressOwner(str, enum.Enum):
    """Who decides MACs and addresses."""

    #: Overcast's IPAM: the driver wires the addresses it is given
    OVERCAST = "overcast"
    #: the provider allocates; the driver reports what it chose
    PROVIDER = "provider"


#: Neutron's QoS rule types; a driver lists in :attr:`NetworkDriver.qos_rule_types` the ones its
#: backend takes on a QoS policy (the rule types ``/v2.0/qos/rule-types`` shows for its region)
QOS_RULE_TYPES = ("bandwidth_limit", "dscp_marking", "minimum_bandwidth")

#: The kinds of object a network backend holds, as :meth:`NetworkDriver.list_objects` names them.
KINDS = ("network", "subnet", "port", "router", "floating_ip", "security_group")
#: The kind each optional capability brings.
CAPABILITY_KINDS: Mapping[Capability, str] = {
    Capability.ROUTERS: "router", Capability.FLOATING_IPS: "floating_ip",
    Capability.SECURITY_GROUPS: "security_group",
}


@dataclass(frozen=True)
class Ref:
    """An object Overcast knows by ``id``; ``backend_id`` once the backend has made it."""

    id: str
    backend_id: str | None = None


@dataclass(frozen=True)
class NetworkSpec:
    id: str
    name: str
    mtu: int
    external: bool = False
    admin_state_up: bool = True
    shared: bool = False
    project_id: str = ""
    backend_id: str | None = None


@dataclass(frozen=True)
class SubnetSpec:
    id: str
    network: Ref
    cidr: str
    ip_version: int
    gateway_ip: str | None
    enable_dhcp: bool = True
    #: (first, last) address of each allocation pool
    allocation_pools: tuple[tuple[str, str], ...] = ()
    project_id: str = ""
    backend_id: str | None = None


@dataclass(frozen=True)
class FixedIp:
    """One address of a port on a subnet; ``ip_address`` None asks the provider for any (provider IPAM)."""

    subnet: Ref
    ip_address: str | None


@dataclass(frozen=True)
class PortSpec:
    id: str
    network: Ref
    #: None: the provider chooses (provider IPAM only)
    mac_address: str | None
    #: in order; Overcast's addresses, or the subnets (and addresses) asked of the provider
    fixed_ips: tuple[FixedIp, ...]
    device_id: str = ""
    device_owner: str = ""
    security_groups: tuple[Ref, ...] = ()
    port_security_enabled: bool = True
    admin_state_up: bool = True
    #: the host to wire it to (Neutron's ``binding:host_id``), None for the backend's choice
    host: str | None = None
    project_id: str = ""
    backend_id: str | None = None


@dataclass(frozen=True)
class RouterSpec:
    id: str
    name: str
    #: the external network, or None without a gateway
    external_network: Ref | None
    #: the gateway's addresses on it
    gateway_ips: tuple[str, ...]
    #: the subnets the router has an interface on
    subnets: tuple[Ref, ...]
    #: (destination, nexthop) extra routes
    routes: tuple[tuple[str, str], ...] = ()
    enable_snat: bool = True
    admin_state_up: bool = True
    project_id: str = ""
    backend_id: str | None = None


@dataclass(frozen=True)
class FloatingIpSpec:
    id: str
    floating_network: Ref
    #: None: the provider chooses (provider IPAM only)
    floating_ip_address: str | None
    #: the port and fixed address it is mapped to, through ``router``; all None when disassociated
    port: Ref | None = None
    fixed_ip_address: str | None = None
    router: Ref | None = None
    project_id: str = ""
    backend_id: str | None = None


@dataclass(frozen=True)
class SecurityGroupRuleSpec:
    id: str
    direction: str
    ethertype: str
    protocol: str | None
    port_range_min: int | None
    port_range_max: int | None
    remote_ip_prefix: str | None
    remote_group: Ref | None
    backend_id: str | None = None


@dataclass(frozen=True)
class SecurityGroupSpec:
    id: str
    name: str
    rules: tuple[SecurityGroupRuleSpec, ...]
    stateful: bool = True
    project_id: str = ""
    backend_id: str | None = None


@dataclass(frozen=True)
class Realised:
    """What the backend made: its id, and anything it knows beyond the interface (``extra``)."""

    backend_id: str
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PortBinding(Realised):
    """A port the backend made and wired (Neutron's ``binding:*``), with the MAC and fixed IPs it
    holds (the ones given, or with provider IPAM the ones the provider chose)."""

    host: str = ""
    vif_type: str = "unbound"
    #: wired and up (Neutron's port status ACTIVE)
    active: bool = False
    mac_address: str | None = None
    fixed_ips: tuple[FixedIp, ...] = ()


@dataclass(frozen=True)
class FloatingIpRealised(Realised):
    floating_ip_address: str | None = None


@dataclass(frozen=True)
class SecurityGroupRealised(Realised):
    #: Overcast rule id -> the backend's id of that rule
    rules: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ProviderSubnet:
    """A subnet the provider holds that Overcast did not make (an EC2 subnet of the region's VPC):
    shown as a shared network of the region with the provider's addressing."""

    backend_id: str
    #: the backend id of the network it is on (EC2: the VPC)
    network_backend_id: str
    name: str
    cidr: str
    ip_version: int = 4
    gateway_ip: str | None = None
    allocation_pools: tuple[tuple[str, str], ...] = ()
    #: the zone the provider placed it in (an EC2 subnet lives in one), None: not zoned
    availability_zone: str | None = None


@dataclass(frozen=True)
class BackendObject:
    """One object the backend holds for Overcast."""

    kind: str
    #: the Overcast id it was made for (the driver tags what it makes)
    id: str
    backend_id: str


class NetworkDriver(abc.ABC):
    """One cloud's network backend."""

    #: Which optional families this driver supports.
    capabilities: frozenset[Capability] = frozenset()
    #: Who decides MACs and addresses.
    addresses: AddressOwner = AddressOwner.OVERCAST
    #: The QoS rule types (of :data:`QOS_RULE_TYPES`) this backend takes; none by default.
    qos_rule_types: frozenset[str] = frozenset()
    #: Whether :meth:`headroom` tells the backend's own quotas (in Neutron's names: ``network``,
    #: ``subnet``, ``port``, ``router``, ``floatingip``, ``security_group``, ``security_group_rule``);
    #: the core then reads it before it accepts a create in this region (:mod:`overcast.drivers.headroom`).
    reports_headroom: bool = False

    # -- networks, subnets, ports ---------------------------------------------------------
    @abc.abstractmethod
    def apply_network(self, ctx: CallContext, network: NetworkSpec) -> Realised:
        """Create or update a network. :raises InvalidRequest: the backend refuses it (e.g. its MTU)."""

    @abc.abstractmethod
    def remove_network(self, ctx: CallContext, network: Ref) -> None:
        """Delete a network; a missing one succeeds. :raises Conflict: the backend still has ports on it."""

    @abc.abstractmethod
    def apply_subnet(self, ctx: CallContext, subnet: SubnetSpec) -> Realised:
        """Create or update a subnet on its network.

        :raises NotFound: the backend has no such network. :raises InvalidRequest: CIDR refused.
        """

    @abc.abstractmethod
    def remove_subnet(self, ctx: CallContext, subnet: Ref) -> None:
        """Delete a subnet; a missing one succeeds."""

    @abc.abstractmethod
    def bind_port(self, ctx: CallContext, port: PortSpec) -> PortBinding:
        """Create or update a port with its addresses and wire it (to ``port.host`` when given).

        :raises NotFound: the backend has no such network or subnet.
        :raises Conflict: the backend still wires this MAC or address for another port (the
            engine retries: a removal of that port is on its way, or the reconciler removes it).
        """

    @abc.abstractmethod
    def unbind_port(self, ctx: CallContext, port: Ref) -> None:
        """Delete a port; a missing one succeeds."""

    @abc.abstractmethod
    def list_objects(self, ctx: CallContext, kind: str) -> list[BackendObject]:
        """Every object of ``kind`` (one of :data:`KINDS` this driver supports) that the backend
        holds for Overcast, all pages of it."""

    def close(self) -> None:
        """Release connections and files; the driver is not used afterwards (default: nothing)."""

    def provider_subnets(self, ctx: CallContext) -> list[ProviderSubnet]:
        """The provider's own subnets (not made by Overcast) to show as networks of the region
        (default: none; a backend whose networks are all Overcast's has nothing to show)."""
        return []

    def takes_range(self, ctx: CallContext, cidr: str) -> bool:
        """Whether the backend can make a subnet of ``cidr`` at all (a provider whose networks
        live in fixed address blocks, an EC2 VPC, refuses ranges outside them). Asked by the
        network seed before it makes the default ``private`` network (default: True).

        :raises DriverError: the backend cannot be asked now."""
        return True

    def headroom(self, ctx: CallContext) -> Headroom:
        """The backend's own network quotas and usage (only with :attr:`reports_headroom`), asked
        while a create request waits, with the cloud's timeout and breaker.

        :raises NotSupported: the driver does not report headroom (the default).
        """
        raise NotSupported(f"{type(self).__name__} does not report the backend's quotas")

    # -- optional families (see capabilities) ---------------------------------------------
    def _unsupported(self, what: str) -> NotSupported:
        return NotSupported(f"{type(self).__name__} does not support {what}")

    def apply_router(self, ctx: CallContext, router: RouterSpec) -> Realised:
        """Create or update a router, its gateway, interfaces and routes.

        :raises NotFound: the backend has no such network or subnet.
        """
        raise self._unsupported("apply_router")

    def remove_router(self, ctx: CallContext, router: Ref) -> None:
        """Delete a router; a missing one succeeds."""
        raise self._unsupported("remove_router")

    def apply_floating_ip(self, ctx: CallContext, floating_ip: FloatingIpSpec) -> FloatingIpRealised:
        """Create, (re)associate or disassociate a floating IP; returns its address.

        :raises NotFound: the backend has no such network, router or port.
        """
        raise self._unsupported("apply_floating_ip")

    def remove_floating_ip(self, ctx: CallContext, floating_ip: Ref) -> None:
        """Release a floating IP; a missing one succeeds."""
        raise self._unsupported("remove_floating_ip")

    def apply_security_group(self, ctx: CallContext, group: SecurityGroupSpec) -> SecurityGroupRealised:
        """Create or replace a security group and its whole rule set; returns the rules' backend ids.

        :raises InvalidRequest: the backend cannot express a rule.
        """
        raise self._unsupported("apply_security_group")

    def remove_security_group(self, ctx: CallContext, group: Ref) -> None:
        """Delete a security group; a missing one succeeds."""
        raise self._unsupported("remove_security_group")
