"""The network driver of a region of hypervisor hosts: Overcast's records made real on every host.

Overcast's IPAM owns every MAC and address (:attr:`AddressOwner.OVERCAST`). Every network,
subnet, port and security group is told to **every** host (a fan-out on the bus; a host that is
down hears it from its queue when it is back); each host keeps the whole model and wires only its
own ports (:mod:`overcast.drivers.hosts.hostnet`): a bridge per network, VXLAN between hosts
when configured, dnsmasq per network in a namespace, nftables security groups on the tap. Remote
group rules therefore see the addresses of every member, on any host.

:meth:`HostsNetwork.list_objects` answers what **every** up host holds (the intersection), so
the reconciler re-applies an object to the whole region when one host lacks it (a host that
joined later, or one whose state directory was wiped).

Not realised on hosts, and so not declared: routers and floating IPs (no router namespace, no
NAT). ``overcast coverage`` shows them; Neutron's API still keeps their records.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict
from typing import Any

from overcast.drivers import errors
from overcast.drivers.context import CallContext
from overcast.drivers.hosts.hostnet import Network, Port, Rule, Subnet
from overcast.drivers.hosts.transport import Hosts
from overcast.drivers.network import (KINDS, AddressOwner, BackendObject, Capability, NetworkDriver, NetworkSpec,
                                      PortBinding, PortSpec, Realised, Ref, SecurityGroupRealised,
                                      SecurityGroupSpec, SubnetSpec)


def vni(network_id: str) -> int:
    """The network's VXLAN id (24 bits, stable from its Overcast id)."""
    return int(hashlib.sha1(network_id.encode()).hexdigest()[:6], 16) or 1


class HostsNetwork(NetworkDriver):
    capabilities = frozenset({Capability.SECURITY_GROUPS})
    addresses = AddressOwner.OVERCAST

    def __init__(self, hosts: Hosts) -> None:
        self.hosts = hosts

    def _tell(self, method: str, args: dict[str, Any], ctx: CallContext) -> None:
        self.hosts.broadcast(method, args, key=None)

    def apply_network(self, ctx: CallContext, network: NetworkSpec) -> Realised:
        self._tell("set_network", {"network": asdict(Network(network.id, mtu=int(network.mtu or 1500),
                                                              vni=vni(network.id)))}, ctx)
        return Realised(network.id, {"vxlan_id": vni(network.id)})

    def remove_network(self, ctx: CallContext, network: Ref) -> None:
        self._tell("remove_network", {"id": network.id}, ctx)

    def apply_subnet(self, ctx: CallContext, subnet: SubnetSpec) -> Realised:
        self._tell("set_subnet", {"subnet": asdict(Subnet(subnet.id, subnet.network.id, subnet.cidr, subnet.gateway_ip,
                                                          subnet.enable_dhcp, subnet.ip_version))}, ctx)
        return Realised(subnet.id)

    def remove_subnet(self, ctx: CallContext, subnet: Ref) -> None:
        self._tell("remove_subnet", {"id": subnet.id}, ctx)

    def bind_port(self, ctx: CallContext, port: PortSpec) -> PortBinding:
        if port.mac_address is None or any(f.ip_address is None for f in port.fixed_ips):
            raise errors.InvalidRequest("hypervisor hosts wire the addresses Overcast assigns; this port has none")
        record = Port(id=port.id, network_id=port.network.id, mac=port.mac_address,
                      ips=[str(f.ip_address) for f in port.fixed_ips],
                      groups=[g.id for g in port.security_groups], port_security=port.port_security_enabled,
                      host=port.host)
        self._tell("set_port", {"port": asdict(record)}, ctx)
        return PortBinding(port.id, host=port.host or "", vif_type="bridge", active=True,
                           mac_address=port.mac_address, fixed_ips=port.fixed_ips)

    def unbind_port(self, ctx: CallContext, port: Ref) -> None:
        self._tell("remove_port", {"id": port.id}, ctx)

    def apply_security_group(self, ctx: CallContext, group: SecurityGroupSpec) -> SecurityGroupRealised:
        rules = []
        for rule in group.rules:
            rules.append(asdict(Rule(id=rule.id, direction=rule.direction, ethertype=rule.ethertype,
                                     protocol=rule.protocol, port_min=rule.port_range_min,
                                     port_max=rule.port_range_max, remote_ip_prefix=rule.remote_ip_prefix,
                                     remote_group=rule.remote_group.id if rule.remote_group else None)))
        self._tell("set_group", {"group": {"id": group.id, "rules": rules}}, ctx)
        return SecurityGroupRealised(group.id, rules={r.id: r.id for r in group.rules})

    def remove_security_group(self, ctx: CallContext, group: Ref) -> None:
        self._tell("remove_group", {"id": group.id}, ctx)

    def list_objects(self, ctx: CallContext, kind: str) -> list[BackendObject]:
        if kind not in KINDS:
            raise errors.InvalidRequest(f"unknown kind {kind}")
        if kind in ("router", "floating_ip"):
            return []
        up = self.hosts.up_hosts()
        if not up:
            return []
        held: set[str] | None = None
        for host in up:
            ids = set(self.hosts.call(host.name, "network_objects").get(kind, []))
            held = ids if held is None else held & ids
        return [BackendObject(kind, oid, oid) for oid in sorted(held or ())]
