"""Records -> Neutron JSON. ``binding:*`` and ``provider:*`` are shown to admins only, as
Neutron's default policy does. Lists of routers and floating IPs load the ports they show in one
query (:func:`routers`, :func:`floating_ips`), not one per record."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Iterable

import falcon
from sqlalchemy import select
from sqlalchemy.orm import Session, lazyload

from overcast.api.fragments import Fragments
from overcast.api.network.common import caller, iso, standard
from overcast.core import policy
from overcast.core.network import BINDING_PROFILE
from overcast.core.network import address_scopes
from overcast.core.network import networks as network_rules
from overcast.core.network import ports as port_rules
from overcast.core.network import security_groups as group_rules
from overcast.store.network import FloatingIp, Network, Port, Router, SecurityGroup, SecurityGroupRule, Subnet


#: ids per query when loading the ports a list of records refers to
BATCH = 500
#: a floating IP shows its port's attributes, not the port's addresses
_PORT_DETAILS = (lazyload(Port.fixed_ips),)


def _ports(session: Session, ids: Iterable[str | None], *options: Any) -> dict[str, Port]:
    """The ports with these ids (those that exist), by id, in one query per :data:`BATCH` ids."""
    wanted = sorted({i for i in ids if i})
    found: dict[str, Port] = {}
    for start in range(0, len(wanted), BATCH):
        chunk = select(Port).where(Port.id.in_(wanted[start:start + BATCH])).options(*options)
        found.update((p.id, p) for p in session.scalars(chunk))
    return found


def _admin(req: falcon.Request) -> bool:
    ctx = caller(req)
    return ctx is not None and ctx.is_admin


def network(req: falcon.Request, session: Session, net: Network) -> dict[str, Any]:
    return _network(req, net, address_scopes.of_networks(session, [net]))


def networks(req: falcon.Request, session: Session, records: list[Network]) -> list[dict[str, Any]]:
    """Views of many networks, their address scopes read at once."""
    scopes = address_scopes.of_networks(session, records)
    return [_network(req, n, scopes) for n in records]


def _network(req: falcon.Request, net: Network, scopes: dict[tuple[str, int], str]) -> dict[str, Any]:
    view = {"id": net.id, "name": net.name, "admin_state_up": net.admin_state_up, "status": net.status,
            "shared": net.shared, "router:external": net.external, "mtu": net.mtu,
            "port_security_enabled": net.port_security_enabled, "subnets": [s.id for s in net.subnets],
            "ipv4_address_scope": scopes.get((net.id, 4)), "ipv6_address_scope": scopes.get((net.id, 6)),
            "qos_policy_id": net.qos_policy_id, **standard(net)}
    if net.external:  # the auto-allocated-topology extension's flag, on external networks only
        view["is_default"] = net.is_default
    if _admin(req):
        view.update({"provider:network_type": net.network_type, "provider:physical_network": net.physical_network,
                     "provider:segmentation_id": net.segmentation_id})
    return view


def network_rows(req: falcon.Request, session: Session, rows: list[Any], fragments: Fragments) -> list[bytes]:
    """A network list's kept views (docs/decisions/0067-kept-neutron-and-flavor-views.md): each row
    (every column the view reads) with its subnets and their address scopes and the caller's admin
    flag is the key; only a network whose key is new is rendered."""
    subnets = network_rules.subnets_of(session, (row.id for row in rows))
    scopes = address_scopes.of_networks(session, [SimpleNamespace(id=row.id, subnets=subnets.get(row.id, ()))
                                                  for row in rows])
    admin = _admin(req)
    out = []
    for row in rows:
        own = subnets.get(row.id, ())
        key = ("network", admin, tuple(row), own, scopes.get((row.id, 4)), scopes.get((row.id, 6)))
        out.append(fragments.render(
            key, lambda row=row, own=own: _network(req, network_rules.decoded(row, own), scopes)))  # type: ignore[misc]
    return out


def subnet(req: falcon.Request, session: Session, sub: Subnet) -> dict[str, Any]:
    return {"id": sub.id, "name": sub.name, "network_id": sub.network_id, "ip_version": sub.ip_version,
            "cidr": sub.cidr, "gateway_ip": sub.gateway_ip, "enable_dhcp": sub.enable_dhcp,
            "allocation_pools": list(sub.allocation_pools), "dns_nameservers": list(sub.dns_nameservers),
            "host_routes": list(sub.host_routes), "ipv6_ra_mode": sub.ipv6_ra_mode,
            "ipv6_address_mode": sub.ipv6_address_mode, "subnetpool_id": sub.subnetpool_id, **standard(sub)}


def port(req: falcon.Request, session: Session, p: Port) -> dict[str, Any]:
    return _port(req, p, port_rules.network_policies(session, [p.network_id]))


def ports(req: falcon.Request, session: Session, records: list[Port]) -> list[dict[str, Any]]:
    """Views of many ports, their networks' QoS policies read at once."""
    policies = port_rules.network_policies(session, {p.network_id for p in records})
    return [_port(req, p, policies) for p in records]


def port_rows(req: falcon.Request, session: Session, rows: list[Any], fragments: Fragments) -> list[bytes]:
    """A port list's kept views (docs/decisions/0067-kept-neutron-and-flavor-views.md): each row
    (every column the view reads) with its addresses, its network's QoS policy and the caller's
    admin flag is the key; only a port whose key is new is rendered."""
    addresses = port_rules.fixed_ips_of(session, (row.id for row in rows))
    policies = port_rules.network_policies(session, {row.network_id for row in rows})
    admin = _admin(req)
    out = []
    for row in rows:
        own = addresses.get(row.id, ())
        key = ("port", admin, tuple(row), own, policies.get(row.network_id))
        out.append(fragments.render(
            key, lambda row=row, own=own: _port(req, port_rules.decoded(row, own), policies)))  # type: ignore[misc]
    return out


def _port(req: falcon.Request, p: Port, network_policies: dict[str, str | None]) -> dict[str, Any]:
    """``p``'s view; ``network_policies``: the QoS policy of its network (``qos-port-network-policy``) by network id."""
    view = {"id": p.id, "name": p.name, "network_id": p.network_id, "mac_address": p.mac_address,
            "admin_state_up": p.admin_state_up, "status": p.status, "device_id": p.device_id,
            "device_owner": p.device_owner,
            "fixed_ips": [{"subnet_id": a.subnet_id, "ip_address": a.ip_address} for a in p.fixed_ips],
            "security_groups": list(p.security_group_ids), "allowed_address_pairs": list(p.allowed_address_pairs),
            "port_security_enabled": p.port_security_enabled, "extra_dhcp_opts": port_rules.dhcp_options(p),
            "qos_policy_id": p.qos_policy_id, "qos_network_policy_id": network_policies.get(p.network_id), **standard(p)}
    if _admin(req):
        view.update({"binding:host_id": p.binding_host_id, "binding:vif_type": p.binding_vif_type,
                     "binding:vif_details": {"port_filter": True} if p.binding_vif_type == "ovs" else {},
                     "binding:vnic_type": p.binding_vnic_type,
                     "binding:profile": dict((p.extra or {}).get(BINDING_PROFILE) or {})})
    return view


def router(req: falcon.Request, session: Session, r: Router) -> dict[str, Any]:
    return _router(r, session.get(Port, r.gw_port_id) if r.gw_port_id else None, _sees_distributed(req))


def routers(req: falcon.Request, session: Session, records: list[Router]) -> list[dict[str, Any]]:
    gateways = _ports(session, (r.gw_port_id for r in records))
    distributed = _sees_distributed(req)
    return [_router(r, gateways.get(r.gw_port_id or ""), distributed) for r in records]


def _sees_distributed(req: falcon.Request) -> bool:
    """``get_router:distributed``: only the admin sees the attribute."""
    return policy.allowed("get_router:distributed", caller(req), {})


def _router(r: Router, gw_port: Port | None, distributed: bool = False) -> dict[str, Any]:
    gateway = None
    if r.external_network_id:
        gateway = {"network_id": r.external_network_id, "enable_snat": r.enable_snat,
                   "external_fixed_ips": [{"subnet_id": a.subnet_id, "ip_address": a.ip_address}
                                          for a in (gw_port.fixed_ips if gw_port else [])]}
    view = {"id": r.id, "name": r.name, "admin_state_up": r.admin_state_up, "status": r.status,
            "external_gateway_info": gateway, "routes": list(r.routes), **standard(r)}
    if distributed:
        view["distributed"] = r.distributed
    return view


def floating_ip(req: falcon.Request, session: Session, fip: FloatingIp) -> dict[str, Any]:
    return _floating_ip(fip, session.get(Port, fip.port_id, options=_PORT_DETAILS) if fip.port_id else None)


def floating_ips(req: falcon.Request, session: Session, records: list[FloatingIp]) -> list[dict[str, Any]]:
    ports = _ports(session, (f.port_id for f in records), *_PORT_DETAILS)
    return [_floating_ip(f, ports.get(f.port_id or "")) for f in records]


def _floating_ip(fip: FloatingIp, p: Port | None) -> dict[str, Any]:
    details = None
    if p is not None:
        details = {"name": p.name, "network_id": p.network_id, "mac_address": p.mac_address,
                   "admin_state_up": p.admin_state_up, "status": p.status, "device_id": p.device_id,
                   "device_owner": p.device_owner}
    return {"id": fip.id, "floating_network_id": fip.floating_network_id,
            "floating_ip_address": fip.floating_ip_address, "router_id": fip.router_id, "port_id": fip.port_id,
            "fixed_ip_address": fip.fixed_ip_address, "status": fip.status, "port_details": details,
            **standard(fip)}


def security_group_rule(req: falcon.Request, session: Session | None, rule: SecurityGroupRule) -> dict[str, Any]:
    return {"id": rule.id, "security_group_id": rule.security_group_id, "direction": rule.direction,
            "ethertype": rule.ethertype, "protocol": rule.protocol, "port_range_min": rule.port_range_min,
            "port_range_max": rule.port_range_max, "remote_ip_prefix": rule.remote_ip_prefix,
            "remote_group_id": rule.remote_group_id, "description": rule.description,
            "tenant_id": rule.project_id, "project_id": rule.project_id, "created_at": iso(rule.created_at),
            "updated_at": iso(rule.updated_at), "revision_number": rule.revision_number}


def security_group(req: falcon.Request, session: Session, group: SecurityGroup,
                   shared: bool | None = None) -> dict[str, Any]:
    """``shared``: whether an RBAC policy shares it with the caller's project (read when not given)."""
    if shared is None:
        shared = bool(group_rules.shared_ids(session, caller(req), [group]))
    return {"id": group.id, "name": group.name, "stateful": group.stateful, "shared": shared,
            "security_group_rules": [security_group_rule(req, session, r) for r in group.rules], **standard(group)}


def security_groups(req: falcon.Request, session: Session, groups: list[SecurityGroup]) -> list[dict[str, Any]]:
    """Views of many groups: which are shared with the caller read at once."""
    shared = group_rules.shared_ids(session, caller(req), groups)
    return [security_group(req, session, g, g.id in shared) for g in groups]
