"""Routers: an external gateway (a port on an external network, its addresses allocated there),
interfaces added and removed by subnet or port, extra routes, and the checks Neutron makes
(one interface per subnet, no overlapping interface CIDRs, routes' nexthops on a connected
subnet, floating IPs that still need a gateway or an interface)."""

from __future__ import annotations

import ipaddress
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from overcast.core.context import AuthContext
from overcast.core.errors import Invalid, NotFound
from overcast.core.network import NetworkCore, quotas
from overcast.core.network.common import admin_only, authorize, fetch, owned, owner, touch, update_fields
from overcast.core.network.errors import bad_request, conflict, error
from overcast.core.network import ports as port_rules
from overcast.core.network import subnets as subnet_rules
from overcast.store.network import FloatingIp, IpAllocation, Network, Port, Router, Subnet

MAX_ROUTES = 30


def interface_ports(session: Session, router_id: str) -> list[Port]:
    return list(session.scalars(select(Port).where(Port.device_id == router_id,
                                                   Port.device_owner == port_rules.ROUTER_INTERFACE)
                                .order_by(Port.created_at)))


def gateway_port(session: Session, router: Router) -> Port | None:
    return session.get(Port, router.gw_port_id) if router.gw_port_id else None


def query(core: NetworkCore, session: Session, ctx: AuthContext) -> Select[tuple[Router]]:
    """The routers of the region ``ctx`` may list, in no order."""
    return owned(ctx, Router, core.region)


def get(core: NetworkCore, session: Session, ctx: AuthContext, router_id: str) -> Router:
    """:raises NotFound: RouterNotFound."""
    return fetch(session, ctx, Router, "router", router_id, core.region)


def _realise(core: NetworkCore, session: Session, router: Router) -> None:
    session.flush()
    core.realise(session, router)


# -- the gateway -----------------------------------------------------------------------------
def _set_gateway(core: NetworkCore, session: Session, ctx: AuthContext, router: Router,
                 info: dict[str, Any] | None, action: str) -> None:
    """Set, change or clear the external gateway.

    :raises NotFound: the network. :raises Invalid: not external. :raises Forbidden: enable_snat or
    external_fixed_ips from a non-admin. :raises Conflict: floating IPs still need the old gateway.
    """
    current = gateway_port(session, router)
    if info:
        admin_only(ctx, f"{action}:external_gateway_info:enable_snat", info.get("enable_snat"))
        admin_only(ctx, f"{action}:external_gateway_info:external_fixed_ips", info.get("external_fixed_ips"))
    wanted = info.get("network_id") if info else None
    if current is not None and (wanted != router.external_network_id or (info or {}).get("external_fixed_ips")):
        _check_no_floating_ips(session, router, router.external_network_id)
        port_rules.release(core, session, current)
        router.gw_port_id = router.external_network_id = None
    if info and "enable_snat" in info:
        router.enable_snat = bool(info["enable_snat"])
    if wanted is None or router.gw_port_id is not None:
        return
    network = fetch(session, ctx, Network, "network", wanted, core.region)
    if not network.external:
        raise bad_request("router", f"Network {network.id} is not an external network")
    port = port_rules.make(core, session, ctx, network, "", {
        "device_id": router.id, "device_owner": port_rules.ROUTER_GATEWAY,
        "fixed_ips": info.get("external_fixed_ips")})
    router.gw_port_id, router.external_network_id = port.id, network.id


def _check_no_floating_ips(session: Session, router: Router, network_id: str | None) -> None:
    if session.scalar(select(FloatingIp.id).where(FloatingIp.router_id == router.id).limit(1)):
        raise conflict("RouterExternalGatewayInUseByFloatingIp",
                       f"Gateway cannot be updated for router {router.id}, since a gateway to external network "
                       f"{network_id} is required by one or more floating IPs.")


# -- create, update, delete --------------------------------------------------------------------
def create(core: NetworkCore, session: Session, ctx: AuthContext, body: dict[str, Any]) -> Router:
    """:raises Forbidden: :raises NotFound: :raises Invalid: :raises Conflict: OverQuota, addresses."""
    project_id = owner(ctx, body, "create_router")
    admin_only(ctx, "create_router:distributed", body.get("distributed"))
    quotas.check(core, session, project_id, "router")
    router = Router(cloud=core.region, project_id=project_id, name=body.get("name", ""),
                    description=body.get("description", ""), admin_state_up=body.get("admin_state_up", True),
                    distributed=bool(body.get("distributed")), tags=[], routes=[], status="ACTIVE", extra={})
    session.add(router)
    session.flush()
    _set_gateway(core, session, ctx, router, body.get("external_gateway_info"), "create_router")
    session.flush()
    core.realise(session, router, action="create")
    return router


def _routes(session: Session, router: Router, routes: list[dict[str, str]]) -> list[dict[str, str]]:
    """:raises Invalid: InvalidRoutes (bad address, nexthop not on a connected subnet).
    :raises Conflict: RoutesExhausted."""
    if len(routes) > MAX_ROUTES:
        raise conflict("RoutesExhausted", f"Unable to complete operation for {router.id}. The number of routes "
                                          f"exceeds the maximum {MAX_ROUTES}.")
    connected = [ipaddress.ip_network(s.cidr) for s in session.scalars(
        select(Subnet).where(Subnet.id.in_([a.subnet_id for p in interface_ports(session, router.id)
                                            for a in p.fixed_ips])))]
    gateway = gateway_port(session, router)
    if gateway is not None:
        connected += [ipaddress.ip_network(session.get(Subnet, a.subnet_id).cidr) for a in gateway.fixed_ips]
    result = []
    for route in routes:
        try:
            destination = ipaddress.ip_network(route["destination"])
            nexthop = ipaddress.ip_address(route["nexthop"])
        except ValueError as exc:
            raise Invalid(f"Invalid format for routes: {routes}, {exc}", kind="InvalidRoutes") from None
        if not any(nexthop in net for net in connected):
            raise Invalid(f"Invalid format for routes: {routes}, the nexthop is not connected with router",
                          kind="InvalidRoutes")
        entry = {"destination": str(destination), "nexthop": str(nexthop)}
        if entry not in result:
            result.append(entry)
    return result


def update(core: NetworkCore, session: Session, ctx: AuthContext, router_id: str, changes: dict[str, Any]) -> Router:
    """:raises NotFound: :raises Forbidden: :raises Invalid: :raises Conflict:"""
    router = get(core, session, ctx, router_id)
    authorize(ctx, "update_router", router.project_id)
    admin_only(ctx, "update_router:distributed", changes.get("distributed"))
    if changes.get("distributed") is not None and changes["distributed"] != router.distributed:
        if changes.get("admin_state_up", router.admin_state_up):
            raise Invalid("Cannot upgrade active router to distributed. Please set router admin_state_up to "
                          "False prior to upgrade", kind="BadRequest")
        router.distributed = changes["distributed"]
    update_fields(router, changes, ("name", "description", "admin_state_up"))
    if "external_gateway_info" in changes:
        _set_gateway(core, session, ctx, router, changes["external_gateway_info"] or None, "update_router")
    if "routes" in changes:
        router.routes = _routes(session, router, changes["routes"] or [])
    touch(router)
    _realise(core, session, router)
    return router


def delete(core: NetworkCore, session: Session, ctx: AuthContext, router_id: str) -> None:
    """:raises NotFound: :raises Forbidden: :raises Conflict: RouterInUse (interfaces remain)."""
    router = get(core, session, ctx, router_id)
    authorize(ctx, "delete_router", router.project_id)
    if interface_ports(session, router.id):
        raise conflict("RouterInUse", f"Router {router.id} still has ports")
    _set_gateway(core, session, ctx, router, None, "delete_router")
    core.unrealise(session, router)
    session.delete(router)
    session.flush()


# -- interfaces ------------------------------------------------------------------------------------
def _check_subnet_free(session: Session, router: Router, subnet: Subnet) -> None:
    """:raises Invalid: the router already has a port on the subnet or on an overlapping CIDR."""
    net = ipaddress.ip_network(subnet.cidr)
    for port in interface_ports(session, router.id):
        for allocation in port.fixed_ips:
            if allocation.subnet_id == subnet.id:
                raise bad_request("router", f"Router already has a port on subnet {subnet.id}")
            other = session.get(Subnet, allocation.subnet_id)
            other_net = ipaddress.ip_network(other.cidr)
            if other_net.version == net.version and other_net.overlaps(net):
                raise bad_request("router", f"Cidr {subnet.cidr} of subnet {subnet.id} overlaps with cidr "
                                            f"{other.cidr} of subnet {other.id}")


def _info(router: Router, port: Port) -> dict[str, Any]:
    subnet_ids = [a.subnet_id for a in port.fixed_ips]
    return {"id": router.id, "tenant_id": router.project_id, "project_id": router.project_id,
            "port_id": port.id, "network_id": port.network_id, "subnet_id": subnet_ids[0] if subnet_ids else None,
            "subnet_ids": subnet_ids, "tags": list(router.tags)}


def add_interface(core: NetworkCore, session: Session, ctx: AuthContext, router_id: str,
                  body: dict[str, Any]) -> dict[str, Any]:
    """Connect a subnet (a new port with its gateway address) or an existing port.

    :raises NotFound: router, subnet or port. :raises Forbidden:
    :raises Invalid: neither or both given; no gateway; port without addresses; a duplicate or
    overlapping subnet. :raises Conflict: PortInUse, the gateway address is taken.
    """
    router = get(core, session, ctx, router_id)
    authorize(ctx, "add_router_interface", router.project_id)
    subnet_id, port_id = body.get("subnet_id"), body.get("port_id")
    if subnet_id and port_id:
        raise bad_request("router", "Cannot specify both subnet-id and port-id")
    if not subnet_id and not port_id:
        raise bad_request("router", "Either subnet_id or port_id must be specified")
    if port_id:
        port = port_rules.get(core, session, ctx, port_id)
        if port.device_id:
            raise conflict("PortInUse", f"Unable to complete operation on port {port.id} for network "
                                        f"{port.network_id}. Port already has an attached device {port.device_id}.")
        if not port.fixed_ips:
            raise bad_request("router", "Router port must have at least one fixed IP")
        for allocation in port.fixed_ips:
            _check_subnet_free(session, router, session.get(Subnet, allocation.subnet_id))
        port.device_id, port.device_owner = router.id, port_rules.ROUTER_INTERFACE
        port.security_group_ids = []
        touch(port)
        port_rules.bind(core, session, port)
    else:
        subnet = subnet_rules.get(core, session, ctx, subnet_id)
        if not subnet.gateway_ip:
            raise bad_request("router", "Subnet for router interface must have a gateway IP")
        _check_subnet_free(session, router, subnet)
        network = session.get(Network, subnet.network_id)
        port = port_rules.make(core, session, ctx, network, subnet.project_id if ctx.is_admin else router.project_id, {
            "device_id": router.id, "device_owner": port_rules.ROUTER_INTERFACE,
            "fixed_ips": [{"subnet_id": subnet.id, "ip_address": subnet.gateway_ip}]})
    touch(router)
    _realise(core, session, router)
    return _info(router, port)


def remove_interface(core: NetworkCore, session: Session, ctx: AuthContext, router_id: str,
                     body: dict[str, Any]) -> dict[str, Any]:
    """Disconnect by subnet or port and delete the interface port.

    :raises NotFound: RouterInterfaceNotFound(ForSubnet). :raises Forbidden: :raises Invalid: neither given.
    :raises Conflict: RouterInterfaceInUseByFloatingIP.
    """
    router = get(core, session, ctx, router_id)
    authorize(ctx, "remove_router_interface", router.project_id)
    subnet_id, port_id = body.get("subnet_id"), body.get("port_id")
    if not subnet_id and not port_id:
        raise bad_request("router", "Either subnet_id or port_id must be specified")
    ports = interface_ports(session, router.id)
    if port_id:
        port = next((p for p in ports if p.id == port_id), None)
        if port is None:
            raise error(NotFound, "RouterInterfaceNotFound",
                        f"Router {router.id} does not have an interface with id {port_id}")
        if subnet_id and subnet_id not in [a.subnet_id for a in port.fixed_ips]:
            raise error(Invalid, "SubnetMismatchForPort",
                        f"Subnet {subnet_id} does not match the port {port_id}")
    else:
        subnet_rules.get(core, session, ctx, subnet_id)
        port = next((p for p in ports if subnet_id in [a.subnet_id for a in p.fixed_ips]), None)
        if port is None:
            raise error(NotFound, "RouterInterfaceNotFoundForSubnet",
                        f"Router {router.id} has no interface on subnet {subnet_id}")
    info = _info(router, port)
    for allocation in port.fixed_ips:
        if _floating_ips_through(session, router, allocation.subnet_id):
            raise conflict("RouterInterfaceInUseByFloatingIP",
                           f"Router interface for subnet {allocation.subnet_id} on router {router.id} cannot be "
                           "deleted, as it is required by one or more floating IPs.")
    port_rules.release(core, session, port)
    touch(router)
    _realise(core, session, router)
    return info


def _floating_ips_through(session: Session, router: Router, subnet_id: str) -> bool:
    fixed = select(IpAllocation.port_id).where(IpAllocation.subnet_id == subnet_id)
    return session.scalar(select(FloatingIp.id).where(FloatingIp.router_id == router.id,
                                                      FloatingIp.port_id.in_(fixed)).limit(1)) is not None


def router_for(session: Session, external_network_id: str, subnet_id: str) -> Router | None:
    """The router connecting ``subnet_id`` to the external network (for floating IPs)."""
    for port in session.scalars(select(Port).join(IpAllocation).where(
            IpAllocation.subnet_id == subnet_id, Port.device_owner == port_rules.ROUTER_INTERFACE)):
        router = session.get(Router, port.device_id)
        if router is not None and router.external_network_id == external_network_id:
            return router
    return None

