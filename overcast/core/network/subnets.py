"""Subnets: CIDR and version checks, gateway and allocation pools (computed or validated), no
overlap within a network (overlap across networks and projects is allowed, as in Neutron), DNS
servers and host routes, and deletion refused while ports hold addresses from it."""

from __future__ import annotations

import ipaddress
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from overcast.core.context import AuthContext
from overcast.core.errors import Invalid
from overcast.core.network import NetworkCore, agents, ipam, quotas, subnet_pools
from overcast.core.network import ports as port_rules
from overcast.core.network.common import SHARED, authorize, fetch, in_region, lookup, owner, shared_with, touch, \
    update_fields
from overcast.core.network.errors import bad_request, conflict, invalid_input, policy
from overcast.store.network import IpAllocation, Network, Port, RbacPolicy, Subnet

MAX_DNS_NAMESERVERS = 5
MAX_HOST_ROUTES = 20
IPV6_MODES = ("slaac", "dhcpv6-stateful", "dhcpv6-stateless")


def query(core: NetworkCore, session: Session, ctx: AuthContext) -> Select[tuple[Subnet]]:
    """The subnets of the region ``ctx`` may list (its project's and those of shared networks), in no order."""
    subnets = in_region(Subnet, core.region)
    if ctx.is_admin:
        return subnets
    shared = select(Network.id).where(Network.shared.is_(True), Network.cloud == core.region)
    return subnets.where(or_(Subnet.project_id == ctx.project_id, Subnet.network_id.in_(shared),
                             Subnet.network_id.in_(shared_with(ctx, Network, core.region, SHARED))))


def get(core: NetworkCore, session: Session, ctx: AuthContext, subnet_id: str) -> Subnet:
    """:raises NotFound: SubnetNotFound (also another project's subnet on an unshared network,
    external ones included, as Neutron hides them)."""
    subnet = lookup(session, Subnet, subnet_id, core.region)
    if subnet is not None and not ctx.is_admin and subnet.project_id != ctx.project_id:
        network = session.get(Network, subnet.network_id)
        if network is None or not (network.shared or session.scalar(shared_with(
                ctx, Network, core.region, SHARED).where(RbacPolicy.object_id == network.id).limit(1))):
            subnet = None
    if subnet is None:
        fetch(session, ctx, Subnet, "subnet", subnet_id, core.region)  # raises SubnetNotFound
    return subnet  # type: ignore[return-value]


def _gateway(net: ipam.IPNetwork, body: dict[str, Any]) -> ipam.IPAddress | None:
    if "gateway_ip" not in body:
        return ipam.default_gateway(net)
    if body["gateway_ip"] is None:
        return None
    gateway = ipam.parse_ip(body["gateway_ip"], "gateway_ip")
    if gateway.version != net.version:
        raise invalid_input(f"gateway_ip '{gateway}' does not match the ip_version '{net.version}'")
    if net.version == 4 and net.prefixlen < 31 and gateway in (net.network_address, net.broadcast_address):
        raise invalid_input("Gateway is not valid on subnet")
    return gateway


def _nameservers(values: list[str]) -> list[str]:
    """:raises Invalid: a bad or repeated address; :raises Conflict: more than the limit."""
    seen: list[str] = []
    for value in values:
        ipam.parse_ip(value, "dns_nameservers")
        if value in seen:
            raise Invalid(f"Invalid input for dns_nameservers. Reason: Duplicate nameserver '{value}'.",
                          kind="HTTPBadRequest")
        seen.append(value)
    if len(seen) > MAX_DNS_NAMESERVERS:
        raise conflict("DNSNameServersExhausted", "Unable to complete operation for subnet. The number of DNS "
                                                  f"nameservers exceeds the limit {MAX_DNS_NAMESERVERS}.")
    return seen


def _host_routes(net: ipam.IPNetwork, routes: list[dict[str, str]]) -> list[dict[str, str]]:
    """:raises Invalid: a bad destination or nexthop. :raises Conflict: more than the limit."""
    result = []
    for route in routes:
        destination = ipam.parse_cidr(route["destination"], net.version, "host_routes")
        nexthop = ipam.parse_ip(route["nexthop"], "host_routes")
        result.append({"destination": str(destination), "nexthop": str(nexthop)})
    if len(result) > MAX_HOST_ROUTES:
        raise conflict("HostRoutesExhausted", "Unable to complete operation for subnet. The number of host "
                                              f"routes exceeds the limit {MAX_HOST_ROUTES}.")
    return result


def _check_overlap(session: Session, network_id: str, net: ipam.IPNetwork, cidr: str) -> None:
    for other in session.scalars(select(Subnet).where(Subnet.network_id == network_id)):
        other_net = ipaddress.ip_network(other.cidr)
        if other_net.version == net.version and other_net.overlaps(net):
            raise invalid_input(f"Requested subnet with cidr: {cidr} for network: {network_id} "
                                "overlaps with another subnet")


def _cidr(core: NetworkCore, session: Session, ctx: AuthContext, body: dict[str, Any],
          project_id: str) -> tuple[ipam.IPNetwork, str | None]:
    """The new subnet's CIDR and the pool it is cut from (None: given outright).

    :raises Invalid: no CIDR and no pool, a CIDR and a prefixlen, allocation pools with a pool
        but no CIDR, a bad CIDR, a length outside the pool's bounds.
    :raises Conflict: SubnetAllocationError, SubnetPoolQuotaExceeded.
    """
    if body.get("cidr") is not None and body.get("prefixlen") is not None:
        raise bad_request("subnets", "cidr and prefixlen must not be supplied together")
    pool = subnet_pools.pool_for(core, session, ctx, body)
    if pool is None:
        if body.get("cidr") is None:
            raise Invalid("Bad subnet request: a cidr must be specified in the absence of a subnet pool.",
                          kind="BadRequest")
        return ipam.parse_cidr(body["cidr"], body["ip_version"]), None
    if body.get("cidr") is None and body.get("allocation_pools"):
        raise bad_request("subnets", "allocation_pools allowed only for specific subnet requests.")
    if pool.ip_version != body["ip_version"]:
        raise bad_request("subnets", f"Cannot allocate IPv{body['ip_version']} subnet from IPv{pool.ip_version} "
                                     "subnet pool")
    cidr = ipam.parse_cidr(body["cidr"], body["ip_version"]) if body.get("cidr") is not None else None
    pool, net = subnet_pools.allocate(session, pool, project_id, cidr, body.get("prefixlen"))
    return net, pool.id


def create(core: NetworkCore, session: Session, ctx: AuthContext, body: dict[str, Any]) -> Subnet:
    """:raises NotFound: the network. :raises Forbidden: not the network's owner (or admin).
    :raises Invalid: CIDR, version, gateway, pools, DNS, routes, overlap within the network.
    :raises Conflict: pools overlapping each other or the gateway; OverQuota."""
    network = fetch(session, ctx, Network, "network", body["network_id"], core.region)
    project_id = owner(ctx, body, "create_subnet")
    if network.project_id != project_id and not ctx.is_admin:
        raise policy("create_subnet")
    ip_version = body["ip_version"]
    net, pool_id = _cidr(core, session, ctx, body, project_id)
    cidr = str(net)
    ra_mode, address_mode = body.get("ipv6_ra_mode"), body.get("ipv6_address_mode")
    if ip_version == 4 and (ra_mode or address_mode):
        raise invalid_input("ipv6_ra_mode or ipv6_address_mode cannot be set when ip_version is 4")
    if ra_mode and address_mode and ra_mode != address_mode:
        raise invalid_input(f"ipv6_ra_mode set to '{ra_mode}' with ipv6_address_mode set to '{address_mode}' is "
                            "not valid. If both attributes are set, they must be the same value")
    gateway = _gateway(net, body)
    pools = (ipam.validate_pools(net, body["allocation_pools"], gateway) if body.get("allocation_pools")
             else ipam.default_pools(net, gateway))
    dns = _nameservers(body.get("dns_nameservers") or [])
    routes = _host_routes(net, body.get("host_routes") or [])
    _check_overlap(session, network.id, net, cidr)
    quotas.check(core, session, project_id, "subnet")
    subnet = Subnet(cloud=core.region, project_id=project_id, network_id=network.id, name=body.get("name", ""),
                    description=body.get("description", ""), ip_version=ip_version, cidr=cidr,
                    gateway_ip=str(gateway) if gateway is not None else None,
                    enable_dhcp=body.get("enable_dhcp", True), allocation_pools=pools, dns_nameservers=dns,
                    host_routes=routes, ipv6_ra_mode=body.get("ipv6_ra_mode"),
                    ipv6_address_mode=body.get("ipv6_address_mode"), subnetpool_id=pool_id, tags=[], extra={})
    session.add(subnet)
    touch(network)
    session.flush()
    core.realise(session, subnet, action="create")
    agents.schedule(core, session, subnet)
    if ipam.is_automatic(subnet) and not core.provider_addresses:
        _add_slaac_addresses(core, session, subnet)
    return subnet


def _add_slaac_addresses(core: NetworkCore, session: Session, subnet: Subnet) -> None:
    """A new automatic IPv6 subnet gives every port already on its network (routers' aside) its
    SLAAC address, as Neutron does."""
    devices = []
    for port in session.scalars(select(Port).where(Port.network_id == subnet.network_id)):
        if port_rules.is_router(port):
            continue
        port.fixed_ips.append(IpAllocation(subnet_id=subnet.id, ip_address=ipam.eui64(subnet.cidr, port.mac_address),
                                           network_id=subnet.network_id, position=len(port.fixed_ips)))
        touch(port)
        core.realise(session, port)
        devices.append(port.device_id)
    session.flush()
    core.devices_changed(session, devices)


def update(core: NetworkCore, session: Session, ctx: AuthContext, subnet_id: str, changes: dict[str, Any]) -> Subnet:
    """:raises NotFound: :raises Forbidden: :raises Invalid: :raises Conflict: as for create."""
    subnet = get(core, session, ctx, subnet_id)
    authorize(ctx, "update_subnet", subnet.project_id)
    net = ipaddress.ip_network(subnet.cidr)
    if "gateway_ip" in changes:
        gateway = _gateway(net, changes)
        subnet.gateway_ip = str(gateway) if gateway is not None else None
    if "allocation_pools" in changes or "gateway_ip" in changes:
        gateway = ipaddress.ip_address(subnet.gateway_ip) if subnet.gateway_ip else None
        pools = changes.get("allocation_pools", subnet.allocation_pools)
        subnet.allocation_pools = ipam.validate_pools(net, pools, gateway)
    if "dns_nameservers" in changes:
        subnet.dns_nameservers = _nameservers(changes["dns_nameservers"] or [])
    if "host_routes" in changes:
        subnet.host_routes = _host_routes(net, changes["host_routes"] or [])
    update_fields(subnet, changes, ("name", "description", "enable_dhcp"))
    touch(subnet)
    session.flush()
    core.realise(session, subnet)
    return subnet


def delete(core: NetworkCore, session: Session, ctx: AuthContext, subnet_id: str) -> None:
    """:raises NotFound: :raises Forbidden: :raises Conflict: SubnetInUse, ports hold its addresses."""
    subnet = get(core, session, ctx, subnet_id)
    authorize(ctx, "delete_subnet", subnet.project_id)
    held = select(IpAllocation).where(IpAllocation.subnet_id == subnet.id)
    routed = held.join(Port).where(Port.device_owner.startswith(port_rules.ROUTER_OWNER_PREFIX))
    if ipam.is_automatic(subnet) and session.scalar(routed.limit(1)) is None:
        # SLAAC addresses go with their subnet (Neutron removes them); a router's interface stays
        holders = list(session.scalars(select(Port).join(IpAllocation).where(IpAllocation.subnet_id == subnet.id)))
        session.execute(IpAllocation.__table__.delete().where(IpAllocation.subnet_id == subnet.id))
        session.expire_all()
        for port in holders:
            touch(port)
            core.realise(session, port)
        core.devices_changed(session, [p.device_id for p in holders])
    elif session.scalar(held.limit(1)) is not None:
        raise conflict("SubnetInUse", f"Unable to complete operation on subnet {subnet.id}: One or more ports "
                                      "have an IP allocation from this subnet.")
    network = session.get(Network, subnet.network_id)
    core.unrealise(session, subnet)
    session.delete(subnet)
    if network is not None:
        touch(network)
    session.flush()
