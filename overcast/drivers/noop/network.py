"""The noop network driver: accepts everything at once and remembers what it made in memory,
or in the data directory's ``noop-cloud.db`` that every process shares (``overcast.drivers.noop.shared``).

The baseline for the conformance kit and benchmarks: whatever a network request costs with
``noop`` is Overcast's own time. Ports bind ACTIVE on ``noop-host``; backend ids are the Overcast
ids with a ``noop-`` prefix (so a retried create finds the same object).
"""

from __future__ import annotations

from typing import MutableMapping

from overcast.drivers.context import CallContext
from overcast.drivers.network import (QOS_RULE_TYPES, BackendObject, Capability, FloatingIpRealised, FloatingIpSpec, NetworkDriver,
                                      NetworkSpec, PortBinding, PortSpec, Realised, Ref, RouterSpec,
                                      SecurityGroupRealised, SecurityGroupSpec, SubnetSpec)
from overcast.drivers.noop import shared


class NoopNetworkDriver(NetworkDriver):
    """Every capability, none of them doing anything."""

    capabilities = frozenset(Capability)
    #: recorded with their policies, applied to no traffic (docs/decisions/0053-qos-and-rbac.md)
    qos_rule_types = frozenset(QOS_RULE_TYPES)

    def __init__(self, host: str = "noop-host", state: shared.State | None = None) -> None:
        self._host = host
        #: in this object, or shared by the processes of a data directory (overcast.drivers.noop.shared)
        self._state = state if state is not None else shared.Memory()

    def _ids(self, kind: str) -> MutableMapping[str, bool]:
        return self._state.table(f"network_{kind}")

    def _add(self, kind: str, item_id: str) -> str:
        self._ids(kind)[item_id] = True
        return f"noop-{item_id}"

    def _drop(self, kind: str, ref: Ref) -> None:
        self._ids(kind).pop(ref.id, None)

    def list_objects(self, ctx: CallContext, kind: str) -> list[BackendObject]:
        ids = sorted(self._ids(kind))
        return [BackendObject(kind=kind, id=i, backend_id=f"noop-{i}") for i in ids]

    def apply_network(self, ctx: CallContext, network: NetworkSpec) -> Realised:
        return Realised(self._add("network", network.id))

    def remove_network(self, ctx: CallContext, network: Ref) -> None:
        self._drop("network", network)

    def apply_subnet(self, ctx: CallContext, subnet: SubnetSpec) -> Realised:
        return Realised(self._add("subnet", subnet.id))

    def remove_subnet(self, ctx: CallContext, subnet: Ref) -> None:
        self._drop("subnet", subnet)

    def bind_port(self, ctx: CallContext, port: PortSpec) -> PortBinding:
        return PortBinding(backend_id=self._add("port", port.id), host=port.host or self._host, vif_type="ovs",
                           active=True, mac_address=port.mac_address, fixed_ips=port.fixed_ips)

    def unbind_port(self, ctx: CallContext, port: Ref) -> None:
        self._drop("port", port)

    def apply_router(self, ctx: CallContext, router: RouterSpec) -> Realised:
        return Realised(self._add("router", router.id))

    def remove_router(self, ctx: CallContext, router: Ref) -> None:
        self._drop("router", router)

    def apply_floating_ip(self, ctx: CallContext, floating_ip: FloatingIpSpec) -> FloatingIpRealised:
        return FloatingIpRealised(backend_id=self._add("floating_ip", floating_ip.id),
                                  floating_ip_address=floating_ip.floating_ip_address)

    def remove_floating_ip(self, ctx: CallContext, floating_ip: Ref) -> None:
        self._drop("floating_ip", floating_ip)

    def apply_security_group(self, ctx: CallContext, group: SecurityGroupSpec) -> SecurityGroupRealised:
        return SecurityGroupRealised(backend_id=self._add("security_group", group.id),
                                     rules={r.id: f"noop-{r.id}" for r in group.rules})

    def remove_security_group(self, ctx: CallContext, group: Ref) -> None:
        self._drop("security_group", group)
