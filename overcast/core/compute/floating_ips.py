"""Nova's floating-IP proxy over Neutron's records (``os-floating-ips`` and
``os-floating-ip-pools`` below 2.36) and the server actions ``addFloatingIp`` /
``removeFloatingIp`` (below 2.44).

A pool is an external network; a floating IP is Neutron's, allocated, associated and released by
Neutron's own rules (:mod:`overcast.core.network.floating_ips`). Only the lookups and the answers
are Nova's (``nova.network.neutron.API`` and ``nova.api.openstack.compute.floating_ips``): a pool
is found by name or id among the external networks, a floating IP of an action by its address
among those the caller can see, and Neutron's refusals become Nova's 400/403/404.
"""

from __future__ import annotations

import ipaddress
import uuid
from typing import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.core.compute.networking import server_ports
from overcast.core.context import AuthContext
from overcast.core.errors import Conflict, Forbidden, Invalid, NotFound, OvercastError
from overcast.core.network import NetworkCore
from overcast.core.network import floating_ips as fip_rules
from overcast.core.network import networks as network_rules
from overcast.core.network.seed import PUBLIC
from overcast.store.compute import Server
from overcast.store.network import FloatingIp, Network, Port

#: The pool used when a request names none: nova.conf ``[neutron] default_floating_pool``, set
#: to the external network Overcast seeds (DevStack's ``public``).
DEFAULT_POOL: str = PUBLIC["name"]


def pools(network: NetworkCore, session: Session, ctx: AuthContext) -> list[Network]:
    """The floating IP pools: the external networks of the region the caller can see."""
    return [n for n in network_rules.listing(network, session, ctx) if n.external]


def find_pool(network: NetworkCore, session: Session, ctx: AuthContext, name_or_id: str) -> Network:
    """The pool named (or with the id) ``name_or_id``.

    :raises NotFound: "Floating IP pool not found."
    :raises Invalid: several pools have that name.
    """
    try:
        uuid.UUID(name_or_id)
        matches = [n for n in pools(network, session, ctx) if n.id == name_or_id]
    except ValueError:
        matches = [n for n in pools(network, session, ctx) if n.name == name_or_id]
    if not matches:
        raise NotFound("Floating IP pool not found.")
    if len(matches) > 1:
        raise Invalid(f"Multiple floating IP pools matches found for name '{name_or_id}'")
    return matches[0]


def pool_names(session: Session, fips: Iterable[FloatingIp]) -> dict[str, str]:
    """Each floating IP's pool as Nova names it: its network's name, or its id if unnamed."""
    ids = {f.floating_network_id for f in fips}
    if not ids:
        return {}
    rows = session.execute(select(Network.id, Network.name).where(Network.id.in_(ids)))
    return {row.id: row.name or row.id for row in rows}


def port_devices(session: Session, fips: Iterable[FloatingIp]) -> dict[str, str]:
    """port id -> the device owning it, for the associated floating IPs (Nova shows the fixed
    port's ``device_id`` as the floating IP's ``instance_id``)."""
    ports = {f.port_id for f in fips if f.port_id}
    if not ports:
        return {}
    return {row.id: row.device_id for row in session.execute(select(Port.id, Port.device_id)
                                                             .where(Port.id.in_(ports)))}


def project_floating_ips(network: NetworkCore, session: Session, ctx: AuthContext) -> list[FloatingIp]:
    """The floating IPs of the caller's project in the region (Nova lists by project, for an admin too)."""
    return list(session.scalars(select(FloatingIp).where(FloatingIp.project_id == ctx.project_id,
                                                         FloatingIp.cloud == network.region)
                                .order_by(FloatingIp.created_at, FloatingIp.id)))


def get(network: NetworkCore, session: Session, ctx: AuthContext, fip_id: str) -> FloatingIp:
    """:raises NotFound: "Floating IP not found for ID <id>" (unknown or not the caller's)."""
    try:
        return fip_rules.get(network, session, ctx, fip_id)
    except NotFound:
        raise NotFound(f"Floating IP not found for ID {fip_id}") from None


def allocate(network: NetworkCore, session: Session, ctx: AuthContext, pool: str | None) -> FloatingIp:
    """Allocate a floating IP from ``pool`` (:data:`DEFAULT_POOL` when None) for the caller's
    project, by Neutron's rules.

    :raises NotFound: no such pool; no address left in it.
    :raises Forbidden: over the project's floating IP quota, or not allowed to allocate.
    :raises Invalid: several pools of that name; what Neutron refused as a bad request.
    :raises Conflict: any other conflict Neutron answered.
    """
    target = find_pool(network, session, ctx, pool or DEFAULT_POOL)
    try:
        return fip_rules.create(network, session, ctx, {"floating_network_id": target.id})
    except Conflict as exc:
        if exc.kind == "OverQuota":
            raise Forbidden(f"IP allocation over quota in pool {pool}." if pool
                            else "IP allocation over quota.") from exc
        if exc.kind == "IpAddressGenerationFailure":
            raise NotFound(f"No more floating IPs in pool {pool}." if pool
                           else "No more floating IPs available.") from exc
        raise


def release(network: NetworkCore, session: Session, ctx: AuthContext, fip_id: str) -> None:
    """Release a floating IP (which disassociates it first).

    :raises NotFound: "Floating IP not found for ID <id>". :raises Forbidden: not allowed.
    """
    fip = get(network, session, ctx, fip_id)
    fip_rules.delete(network, session, ctx, fip.id)


def _canonical(address: str) -> str:
    """The address as Neutron stores it (IPv6 compressed); the API has checked it is one."""
    return str(ipaddress.ip_address(address))


def by_address(network: NetworkCore, session: Session, ctx: AuthContext, address: str) -> FloatingIp | None:
    """The floating IP of the region with ``address`` among those the caller can see (None if none).

    :raises Conflict: several floating IPs have that address (on different external networks).
    """
    query = select(FloatingIp).where(FloatingIp.floating_ip_address == _canonical(address),
                                     FloatingIp.cloud == network.region)
    if not ctx.is_admin:
        query = query.where(FloatingIp.project_id == ctx.project_id)
    found = list(session.scalars(query))
    if len(found) > 1:
        raise Conflict(f"Multiple floating IPs are found for address {address}.")
    return found[0] if found else None


def add_to_server(network: NetworkCore, session: Session, ctx: AuthContext, server: Server, address: str,
                  fixed_address: str | None = None) -> FloatingIp:
    """``addFloatingIp``: map the floating IP ``address`` to one of the server's fixed IPs
    (``fixed_address``, else its first IPv4 address) through the port holding it.

    :raises Invalid: the server has no ports or fixed IPs, not that fixed address, no IPv4 one;
        Neutron refused the association (taken, no router to the pool's network ...).
    :raises NotFound: "floating IP not found" (no floating IP with that address for the caller).
    :raises Conflict: several floating IPs have that address.
    :raises Forbidden: not allowed to change that floating IP.
    """
    ports = server_ports(session, server.id)
    if not ports:
        raise Invalid("Instance network is not ready yet")
    fixed = [(port, allocation.ip_address) for port in ports for allocation in port.fixed_ips]
    if not fixed:
        raise Invalid("No fixed IPs associated to instance")
    if fixed_address is not None:
        wanted = ipaddress.ip_address(fixed_address)
        chosen = next((pair for pair in fixed if ipaddress.ip_address(pair[1]) == wanted), None)
        if chosen is None:
            raise Invalid("Specified fixed address not assigned to instance")
    else:
        chosen = next((pair for pair in fixed if ipaddress.ip_address(pair[1]).version == 4), None)
        if chosen is None:
            raise Invalid(f"Unable to associate floating IP {address} to any fixed IPs for instance "
                          f"{server.id}. Instance has no fixed IPv4 addresses to associate.")
    port, fixed_ip = chosen
    fip = by_address(network, session, ctx, address)
    if fip is None:
        raise NotFound("floating IP not found")
    try:
        return fip_rules.update(network, session, ctx, fip.id, {"port_id": port.id, "fixed_ip_address": fixed_ip})
    except Forbidden:
        raise
    except Conflict as exc:
        raise Invalid(exc.message) from exc
    except OvercastError as exc:
        raise Invalid(f"Unable to associate floating IP {address} to fixed IP {fixed_ip} for instance "
                      f"{server.id}. Error: {exc.message}") from exc


def remove_from_server(network: NetworkCore, session: Session, ctx: AuthContext, server: Server,
                       address: str) -> None:
    """``removeFloatingIp``: unmap the floating IP ``address`` from the server.

    :raises NotFound: "Floating IP not found for address <address>."
    :raises Conflict: it is not associated with this server; several floating IPs have that address.
    :raises Forbidden: not allowed to change that floating IP.
    """
    fip = by_address(network, session, ctx, address)
    if fip is None:
        raise NotFound(f"Floating IP not found for address {address}.")
    port = session.get(Port, fip.port_id) if fip.port_id else None
    if port is None or port.device_id != server.id:
        raise Conflict(f"Floating IP {address} is not associated with instance {server.id}.")
    fip_rules.update(network, session, ctx, fip.id, {"port_id": None})
