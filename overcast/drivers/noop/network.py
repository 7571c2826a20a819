"""The noop network driver: accepts everything at once and remembers ids in memory only.

The baseline for the conformance kit and benchmarks: whatever a network request costs with
``noop`` is Overcast's own time. Ports bind ACTIVE on ``noop-host``.
"""

from __future__ import annotations

import threading

from overcast.drivers.network import (Capability, FloatingIpSpec, NetworkDriver, NetworkSpec, PortBinding,
                                      PortSpec, RouterSpec, SecurityGroupSpec, SubnetSpec)


class NoopNetworkDriver(NetworkDriver):
    """Every capability, none of them doing anything."""

    capabilities = frozenset(Capability)

    def __init__(self, host: str = "noop-host") -> None:
        self._host = host
        self._lock = threading.Lock()
        self._ids: dict[str, set[str]] = {}

    def _add(self, kind: str, item_id: str) -> None:
        with self._lock:
            self._ids.setdefault(kind, set()).add(item_id)

    def _drop(self, kind: str, item_id: str) -> None:
        with self._lock:
            self._ids.get(kind, set()).discard(item_id)

    def apply_network(self, network: NetworkSpec) -> None:
        self._add("network", network.id)

    def remove_network(self, network_id: str) -> None:
        self._drop("network", network_id)

    def apply_subnet(self, subnet: SubnetSpec) -> None:
        self._add("subnet", subnet.id)

    def remove_subnet(self, subnet_id: str) -> None:
        self._drop("subnet", subnet_id)

    def bind_port(self, port: PortSpec, host: str | None = None) -> PortBinding:
        self._add("port", port.id)
        return PortBinding(host=host or self._host, vif_type="ovs", active=True)

    def unbind_port(self, port_id: str) -> None:
        self._drop("port", port_id)

    def apply_router(self, router: RouterSpec) -> None:
        self._add("router", router.id)

    def remove_router(self, router_id: str) -> None:
        self._drop("router", router_id)

    def apply_floating_ip(self, floating_ip: FloatingIpSpec) -> None:
        self._add("floating_ip", floating_ip.id)

    def remove_floating_ip(self, floating_ip_id: str) -> None:
        self._drop("floating_ip", floating_ip_id)

    def apply_security_group(self, group: SecurityGroupSpec) -> None:
        self._add("security_group", group.id)

    def remove_security_group(self, group_id: str) -> None:
        self._drop("security_group", group_id)
