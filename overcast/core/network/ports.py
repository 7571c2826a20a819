"""Ports: fixed IPs allocated (or requested by subnet and/or address), unique MACs
``fa:16:3e:xx:xx:xx``, security groups (the project's default when omitted), allowed address
pairs, port security, binding, and status: DOWN until the region's backend has wired the port,
then ACTIVE while it has a device and is up (as Neutron's agents report it).

Where the region's provider owns addresses (``AddressOwner.PROVIDER``), a port is recorded with
the subnets (and any addresses) asked for in ``extra["requested_fixed_ips"]`` and shows its
fixed IPs once the backend has chosen them."""

from __future__ import annotations

import ipaddress
import random
import re
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Iterable

import orjson
from sqlalchemy import Text, bindparam, cast, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from overcast.core.context import AuthContext
from overcast.core.errors import Invalid
from overcast.core.network import BINDING_PROFILE, EXTRA_DHCP_OPTS, NetworkCore, ipam, qos, quotas, security_groups, \
    trunks
from overcast.core.network import listing
from overcast.core.network.common import admin_only, authorize, fetch, lookup, owned, owner, touch, update_fields
from overcast.core.network.errors import conflict, invalid_input, not_found, policy
from overcast.store.network import FloatingIp, IpAllocation, Network, Port, Subnet

MAC_PREFIX = "fa:16:3e"
_MAC_RE = re.compile(r"^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$")
_rng = random.SystemRandom()
#: a safety net: recording picked addresses gives up after this many clashes (each clash leaves
#: the clashing address out of the next pick, so a pool runs out long before on a small subnet)
ALLOCATION_ATTEMPTS = 1000

ROUTER_INTERFACE = "network:router_interface"
ROUTER_GATEWAY = "network:router_gateway"
FLOATING_IP = "network:floatingip"
#: ports the port API may not delete (their router or floating IP owns them)
SERVICE_OWNERS = (ROUTER_INTERFACE, ROUTER_GATEWAY, FLOATING_IP)
#: what the device_owner of every router port starts with (interfaces, gateways, HA and DVR ones)
ROUTER_OWNER_PREFIX = "network:router"


def is_router(port: Port) -> bool:
    """Whether a router owns the port."""
    return port.device_owner.startswith(ROUTER_OWNER_PREFIX)


def query(core: NetworkCore, session: Session, ctx: AuthContext) -> Select[tuple[Port]]:
    """The ports of the region ``ctx`` may list, in no order."""
    return owned(ctx, Port, core.region)


@dataclass(frozen=True)
class FixedIpFilter:
    """What a port list asks of the ports' addresses (Neutron's ``fixed_ips`` filter): a port
    matches when, for each kind given, one of its addresses matches one of the values (the
    kinds need not match the same address)."""

    ip_addresses: tuple[str, ...] = ()
    subnet_ids: tuple[str, ...] = ()
    #: parts of an address (the ``ip-substring-filtering`` extension)
    substrings: tuple[str, ...] = ()


def network_policies(session: Session, network_ids: Iterable[str]) -> dict[str, str | None]:
    """The QoS policy of each of these networks that exists (``qos_network_policy_id`` of their
    ports), by network id: one statement per thousand networks, not one network loaded per port."""
    wanted = sorted(set(network_ids))
    found: dict[str, str | None] = {}
    for start in range(0, len(wanted), 1000):
        found.update(session.connection().execute(_NETWORK_POLICIES, {"ids": wanted[start:start + 1000]}).all())
    return found


#: built once: the statement cache then only expands the id list
_NETWORK_POLICIES = select(Network.id, Network.qos_policy_id).where(Network.id.in_(bindparam("ids", expanding=True)))


def with_fixed_ips(query: Select[tuple[Port]], wanted: FixedIpFilter) -> Select[tuple[Port]]:
    """``query`` narrowed to the ports whose addresses match ``wanted``."""
    if wanted.ip_addresses:
        query = query.where(Port.fixed_ips.any(IpAllocation.ip_address.in_(wanted.ip_addresses)))
    if wanted.subnet_ids:
        query = query.where(Port.fixed_ips.any(IpAllocation.subnet_id.in_(wanted.subnet_ids)))
    if wanted.substrings:
        query = query.where(or_(*(Port.fixed_ips.any(IpAllocation.ip_address.contains(part, autoescape=True))
                                  for part in wanted.substrings)))
    return query


def get(core: NetworkCore, session: Session, ctx: AuthContext, port_id: str) -> Port:
    """:raises NotFound: PortNotFound."""
    return fetch(session, ctx, Port, "port", port_id, core.region)


def _mac(session: Session, network_id: str, given: str | None) -> str:
    """:raises Invalid: a malformed MAC. :raises Conflict: MacAddressInUse."""
    taken = lambda mac: session.scalar(select(Port.id).where(Port.network_id == network_id,  # noqa: E731
                                                             Port.mac_address == mac)) is not None
    if given is not None:
        if not _MAC_RE.match(given):
            raise Invalid(f"Invalid input for mac_address. Reason: '{given}' is not a valid MAC address.",
                          kind="HTTPBadRequest")
        mac = given.lower().replace("-", ":")
        if taken(mac):
            raise conflict("MacAddressInUse", f"Unable to complete operation for network {network_id}. "
                                              f"The mac address {mac} is in use.")
        return mac
    while True:
        mac = MAC_PREFIX + "".join(f":{_rng.randrange(256):02x}" for _ in range(3))
        if not taken(mac):
            return mac


def _subnets(session: Session, network_id: str) -> list[Subnet]:
    return list(session.scalars(select(Subnet).where(Subnet.network_id == network_id)
                                .order_by(Subnet.created_at, Subnet.id)))


def allocate(session: Session, network: Network, requests: list[dict[str, Any]] | None,
             mac: str, *, router: bool = False, avoid: dict[str, set[str]] | None = None) -> list[tuple[str, str]]:
    """(subnet_id, address) for each requested fixed IP, or Neutron's default: one address from
    the first IPv4 subnet with room, one from the first stateful IPv6 subnet, and the SLAAC
    address of ``mac`` on every automatic (slaac, dhcpv6-stateless) IPv6 subnet. A ``router``
    port takes the address it asks for on an automatic subnet too (its gateway), as Neutron's do.

    Picks leave out the addresses of ``avoid`` (subnet id -> addresses that clashed before).

    :raises Invalid: InvalidIpForNetwork, a subnet of another network, an address outside its
        subnet, an address asked for on an automatic subnet.
    :raises Conflict: IpAddressAlreadyAllocated, IpAddressGenerationFailure.
    """
    subnets = _subnets(session, network.id)
    by_id = {s.id: s for s in subnets}
    chosen: list[tuple[str, str]] = []
    avoid = avoid or {}

    def taken(subnet_id: str) -> set[str]:
        return {address for sid, address in chosen if sid == subnet_id} | avoid.get(subnet_id, set())

    if requests is None:
        chosen += [(s.id, ipam.eui64(s.cidr, mac)) for s in subnets if ipam.is_automatic(s)]
        for version in (4, 6):
            candidates = [s for s in subnets if s.ip_version == version and not ipam.is_automatic(s)]
            for subnet in candidates:
                address = ipam.pick(session, subnet, taken(subnet.id))
                if address is not None:
                    chosen.append((subnet.id, address))
                    break
            else:
                if candidates:
                    raise ipam.exhausted(network.id)
        return chosen
    for request in requests:
        subnet_id, ip = request.get("subnet_id"), request.get("ip_address")
        if subnet_id is not None:
            subnet = by_id.get(subnet_id)
            if subnet is None:
                if lookup(session, Subnet, subnet_id, network.cloud) is None:
                    raise not_found("subnet", subnet_id)
                raise invalid_input(f"Failed to create port on network {network.id}, because fixed_ips included "
                                    f"invalid subnet {subnet_id}")
        elif ip is not None:
            subnet = ipam.subnet_for(subnets, ipam.parse_ip(ip, "ip_address"))
            if subnet is None:
                raise Invalid(f"IP address {ip} is not a valid IP for any of the subnets on the specified "
                              "network.", kind="InvalidIpForNetwork")
        else:
            raise invalid_input("Exactly one of subnet_id or ip_address must be given in fixed_ips")
        if ipam.is_automatic(subnet) and not (router and ip is not None):
            if ip is not None and str(ipam.parse_ip(ip, "ip_address")) != ipam.eui64(subnet.cidr, mac):
                raise invalid_input(f"IPv6 address {ip} cannot be directly assigned to a port on subnet "
                                    f"{subnet.id} as the subnet is configured for automatic addresses")
            chosen.append((subnet.id, ipam.eui64(subnet.cidr, mac)))
            continue
        mine = {address for sid, address in chosen if sid == subnet.id}
        chosen.append((subnet.id, ipam.allocate(session, subnet, ip, mine if ip is not None else taken(subnet.id))))
    return chosen


def _pairs(port_security: bool, pairs: list[dict[str, Any]] | None, mac: str) -> list[dict[str, str]]:
    """:raises Invalid: a bad address. :raises Conflict: pairs without port security."""
    if not pairs:
        return []
    if not port_security:
        raise conflict("AddressPairAndPortSecurityRequired",
                       "Port Security must be enabled in order to have allowed address pairs on a port.")
    result = []
    for pair in pairs:
        address = pair["ip_address"]
        try:
            ipaddress.ip_network(address, strict=False)
        except ValueError:
            raise Invalid(f"Invalid input for allowed_address_pairs. Reason: '{address}' is not a valid IP "
                          "address.", kind="HTTPBadRequest") from None
        entry = {"ip_address": address, "mac_address": (pair.get("mac_address") or mac).lower()}
        if entry in result:
            raise Invalid("Invalid input for allowed_address_pairs. Reason: Duplicate address pair "
                          f"{address}.", kind="HTTPBadRequest")
        result.append(entry)
    return result


def _groups(core: NetworkCore, session: Session, ctx: AuthContext, project_id: str, port_security: bool,
            device_owner: str, given: list[str] | None) -> list[str]:
    """:raises Invalid: groups on a port without port security. :raises NotFound: a group."""
    if not port_security:
        if given:
            raise Invalid("Port security must be enabled and port must have an IP address in order to use "
                          "security groups.", kind="PortSecurityAndIPRequiredForSecurityGroups")
        return []
    if device_owner.startswith("network:") and given is None:
        return []
    return security_groups.resolve(core, session, ctx, project_id, given)


def bind(core: NetworkCore, session: Session, port: Port, *, action: str = "update") -> None:
    """Have the backend (re)wire the port after the commit; its status follows when it has
    (:mod:`overcast.core.network.operations`). Without a backend a port with a device and up is
    ACTIVE at once."""
    if core.driver is None:
        port.status = "ACTIVE" if port.device_owner and port.admin_state_up else "DOWN"
    elif not port.device_owner:
        port.binding_vif_type = "unbound"
    core.realise(session, port, action=action)


def make(core: NetworkCore, session: Session, ctx: AuthContext, network: Network, project_id: str,
         body: dict[str, Any]) -> Port:
    """Record a port with its addresses and realise it (also used by routers, floating IPs and
    compute). :raises Invalid, Conflict, NotFound: see :func:`allocate` and the checks above."""
    mac = _mac(session, network.id, body.get("mac_address"))
    port_security = body.get("port_security_enabled", network.port_security_enabled)
    device_owner = body.get("device_owner", "")
    port = Port(cloud=core.region, project_id=project_id, network_id=network.id, status="DOWN", extra={}, name=body.get("name", ""),
                description=body.get("description", ""), mac_address=mac,
                admin_state_up=body.get("admin_state_up", True), device_id=body.get("device_id", ""),
                device_owner=device_owner, port_security_enabled=port_security, tags=[],
                binding_host_id=body.get("binding:host_id", ""),
                binding_vnic_type=body.get("binding:vnic_type", "normal"))
    port.security_group_ids = _groups(core, session, ctx, project_id, port_security, device_owner,
                                      body.get("security_groups"))
    port.allowed_address_pairs = _pairs(port_security, body.get("allowed_address_pairs"), mac)
    _set_profile(port, body.get("binding:profile"))
    _set_dhcp_options(port, body.get("extra_dhcp_opts"))
    port.qos_policy_id = qos.policy_for(core, session, ctx, body.get("qos_policy_id"))
    session.add(port)
    session.flush()
    add_addresses(core, session, port, network, body.get("fixed_ips"))
    bind(core, session, port, action="create")
    core.devices_changed(session, [port.device_id])
    return port


def create(core: NetworkCore, session: Session, ctx: AuthContext, body: dict[str, Any]) -> Port:
    """:raises NotFound: the network, a subnet or a security group. :raises Forbidden: a reader,
    another project, binding:* from a non-admin. :raises Invalid: :raises Conflict: addresses, MAC, quota."""
    network = fetch(session, ctx, Network, "network", body["network_id"], core.region)
    project_id = owner(ctx, body, "create_port")
    for attr in ("binding:host_id", "binding:profile"):
        admin_only(ctx, f"create_port:{attr}", body.get(attr))
    if body.get("fixed_ips") and network.project_id != project_id and not ctx.is_admin:
        raise policy("create_port:fixed_ips")
    quotas.check(core, session, project_id, "port")
    return make(core, session, ctx, network, project_id, body)


def update(core: NetworkCore, session: Session, ctx: AuthContext, port_id: str, changes: dict[str, Any]) -> Port:
    """:raises NotFound: :raises Forbidden: :raises Invalid: :raises Conflict: as for create."""
    port = get(core, session, ctx, port_id)
    authorize(ctx, "update_port", port.project_id)
    before = port.device_id
    for attr in ("binding:host_id", "binding:profile"):
        admin_only(ctx, f"update_port:{attr}", changes.get(attr))
    admin_only(ctx, "update_port:mac_address", changes.get("mac_address"))
    if "mac_address" in changes and changes["mac_address"] != port.mac_address:
        port.mac_address = _mac(session, port.network_id, changes["mac_address"])
    update_fields(port, changes, ("name", "description", "admin_state_up", "device_id", "device_owner",
                                  "port_security_enabled"))
    if "binding:host_id" in changes:
        port.binding_host_id = changes["binding:host_id"] or ""
    if "binding:profile" in changes:
        _set_profile(port, changes["binding:profile"])
    if "extra_dhcp_opts" in changes:
        _set_dhcp_options(port, changes["extra_dhcp_opts"])
    if "qos_policy_id" in changes:
        port.qos_policy_id = qos.policy_for(core, session, ctx, changes["qos_policy_id"])
    if "fixed_ips" in changes:
        _reallocate(core, session, port, changes["fixed_ips"] or [])
    if "security_groups" in changes or "port_security_enabled" in changes:
        given = changes.get("security_groups", port.security_group_ids) or []
        port.security_group_ids = _groups(core, session, ctx, port.project_id, port.port_security_enabled,
                                          port.device_owner, given)
    if "allowed_address_pairs" in changes or "port_security_enabled" in changes:
        pairs = changes.get("allowed_address_pairs", port.allowed_address_pairs)
        port.allowed_address_pairs = _pairs(port.port_security_enabled, pairs, port.mac_address)
    touch(port)
    session.flush()
    bind(core, session, port)
    core.devices_changed(session, [before, port.device_id])
    return port


def _set_profile(port: Port, profile: dict[str, Any] | None) -> None:
    """Keep ``binding:profile`` as given (null is Neutron's empty profile); the backend is not
    told (Overcast's drivers have no use for it, as Neutron's OVS/OVN mechanisms have none for
    most of its keys)."""
    extra = {k: v for k, v in (port.extra or {}).items() if k != BINDING_PROFILE}
    port.extra = {**extra, BINDING_PROFILE: profile} if profile else extra


#: the options Neutron keeps with an empty value (``dnsmasq`` then sends none)
BLANK_DHCP_OPTIONS = ("router", "classless-static-route")


def dhcp_options(port: Port) -> list[dict[str, Any]]:
    """The port's extra DHCP options (``opt_name``, ``opt_value``, ``ip_version``), as set."""
    return [dict(o) for o in (port.extra or {}).get(EXTRA_DHCP_OPTS) or []]


def _set_dhcp_options(port: Port, given: list[dict[str, Any]] | None) -> None:
    """Apply ``extra_dhcp_opts`` as Neutron does: an option is (name, IP version, 4 when not
    given); one given with a value sets it (added or changed), one given with a null value (or an
    empty one, except for :data:`BLANK_DHCP_OPTIONS`) removes it; options not named stay. Kept in
    the port's ``extra``; the backend is not told (no Overcast driver serves DHCP options)."""
    options = dhcp_options(port)
    for option in given or []:
        name, value, version = option["opt_name"], option.get("opt_value"), int(option.get("ip_version") or 4)
        found = next((o for o in options if o["opt_name"] == name and o["ip_version"] == version), None)
        if value is None or (value == "" and name not in BLANK_DHCP_OPTIONS):
            if found is not None:
                options.remove(found)
        elif found is not None:
            found["opt_value"] = value
        else:
            options.append({"opt_name": name, "opt_value": value, "ip_version": version})
    extra = {k: v for k, v in (port.extra or {}).items() if k != EXTRA_DHCP_OPTS}
    port.extra = {**extra, EXTRA_DHCP_OPTS: options} if options else extra


def _reallocate(core: NetworkCore, session: Session, port: Port, requests: list[dict[str, Any]]) -> None:
    """Keep the addresses asked for again, release the others, allocate the new ones."""
    kept: list[IpAllocation] = []
    fresh = []
    for request in requests:
        match = next((a for a in port.fixed_ips if a not in kept
                      and request.get("ip_address") in (None, a.ip_address)
                      and request.get("subnet_id") in (None, a.subnet_id)), None)
        if match is not None:
            kept.append(match)
        else:
            fresh.append(request)
    for allocation in list(port.fixed_ips):
        if allocation not in kept:
            port.fixed_ips.remove(allocation)
    session.flush()
    add_addresses(core, session, port, session.get(Network, port.network_id), fresh)


def add_addresses(core: NetworkCore, session: Session, port: Port, network: Network,
                  requests: list[dict[str, Any]] | None) -> None:
    """Allocate and record the port's addresses (see :func:`allocate`).

    Another transaction may take a picked address between our check and our insert (the
    (subnet, address) key refuses the second): the allocation is then tried again in a
    savepoint with that address left out, as Neutron retries on a duplicate entry, for as long
    as the pools have room. (PostgreSQL makes the second insert wait until the first transaction
    ends, so the retry sees its address taken; an address asked for by name that was taken
    meanwhile is then IpAddressAlreadyAllocated.) With provider IPAM nothing is picked: the
    requests are checked and kept for the backend (``extra["requested_fixed_ips"]``).

    :raises Invalid, Conflict: see :func:`allocate`.
    """
    if requests is not None and not requests:
        return
    # A router's interface on a subnet takes the subnet's gateway address on any Neutron, the
    # provider's too: it is recorded at once (floating IPs find their router through it).
    fixed_by_router = is_router(port) and bool(requests) and all(r.get("ip_address") for r in requests or [])
    if core.provider_addresses and not fixed_by_router:
        port.extra = {**(port.extra or {}), "requested_fixed_ips": _provider_requests(session, network, requests)}
        return
    clashed: dict[str, set[str]] = {}
    for _ in range(ALLOCATION_ATTEMPTS):
        chosen = allocate(session, network, requests, port.mac_address, router=is_router(port), avoid=clashed)
        try:
            with session.begin_nested():
                for subnet_id, address in chosen:
                    port.fixed_ips.append(IpAllocation(subnet_id=subnet_id, ip_address=address,
                                                       network_id=network.id, position=len(port.fixed_ips)))
                session.flush()
            return
        except IntegrityError:
            session.expire(port, ["fixed_ips"])
            for subnet_id, address in chosen:
                clashed.setdefault(subnet_id, set()).add(address)
    subnet_id, address = chosen[0]
    raise ipam.already_allocated(address, subnet_id)


def _provider_requests(session: Session, network: Network,
                       requests: list[dict[str, Any]] | None) -> list[dict[str, str | None]]:
    """What a provider that owns addresses is asked for: the subnets (and any address named) of
    ``requests``, checked as :func:`allocate` checks them, or by default the first IPv4 and the
    first IPv6 subnet. :raises Invalid, Conflict, NotFound: see :func:`allocate`."""
    subnets = _subnets(session, network.id)
    if requests is None:
        picked = [next((s for s in subnets if s.ip_version == v), None) for v in (4, 6)]
        return [{"subnet_id": s.id, "ip_address": None} for s in picked if s is not None]
    wanted = []
    for request in requests:
        [(subnet_id, address)] = allocate(session, network, [request], MAC_PREFIX + ":00:00:00")
        wanted.append({"subnet_id": subnet_id, "ip_address": address if request.get("ip_address") else None})
    return wanted


def release(core: NetworkCore, session: Session, port: Port) -> None:
    """Delete a port record: its addresses go, floating IPs on it are disassociated."""
    for fip in session.scalars(select(FloatingIp).where(FloatingIp.port_id == port.id)):
        fip.port_id = fip.fixed_ip_address = fip.router_id = None
        fip.status = "DOWN"
        touch(fip)
        core.realise(session, fip)
    core.unrealise(session, port)
    session.delete(port)
    session.flush()
    core.devices_changed(session, [port.device_id])


def delete(core: NetworkCore, session: Session, ctx: AuthContext, port_id: str) -> None:
    """:raises NotFound: :raises Forbidden: :raises Conflict: ServicePortInUse (a router's or
    floating IP's port, for non-admins)."""
    port = get(core, session, ctx, port_id)
    authorize(ctx, "delete_port", port.project_id)
    if port.device_owner in SERVICE_OWNERS and not ctx.is_admin:
        raise conflict("ServicePortInUse", f"Port {port.id} cannot be deleted directly via the port API: has "
                                           f"device owner {port.device_owner}.")
    trunks.check_port_deletable(session, port)
    release(core, session, port)


# -- the list's rows (docs/decisions/0067-kept-neutron-and-flavor-views.md) -------------------------------
_PORTS = Port.__table__.c
#: the JSON columns a port's view reads, read as their stored text so that a row is a hashable key
JSON_COLUMNS = ("security_group_ids", "allowed_address_pairs", "extra", "tags")
#: every column a port's view reads, as a list row reads them (JSON as text: :func:`decoded`)
LIST_COLUMNS: tuple[Any, ...] = tuple(
    cast(_PORTS[name], Text).label(name) if name in JSON_COLUMNS else _PORTS[name]
    for name in ("id", "name", "network_id", "mac_address", "admin_state_up", "status", "device_id", "device_owner",
                 "port_security_enabled", "security_group_ids", "allowed_address_pairs", "extra", "qos_policy_id",
                 "binding_host_id", "binding_vif_type", "binding_vnic_type", "description", "project_id",
                 "created_at", "updated_at", "revision_number", "tags"))
_FIXED_IPS_OF = listing.related(IpAllocation.port_id, IpAllocation.subnet_id, IpAllocation.ip_address,
                                order=IpAllocation.position)


@dataclass(frozen=True)
class FixedIp:
    subnet_id: str
    ip_address: str


def fixed_ips_of(session: Session, port_ids: Iterable[str]) -> dict[str, tuple[FixedIp, ...]]:
    """The addresses of these ports by port id, in the order a port shows them: one statement per
    thousand ports."""
    return listing.grouped(session, _FIXED_IPS_OF, port_ids, FixedIp)


def decoded(row: Any, fixed_ips: tuple[FixedIp, ...]) -> SimpleNamespace:
    """A list row as a port's view reads it: JSON columns decoded, its addresses attached."""
    values = row._asdict()
    for name in JSON_COLUMNS:
        text = values[name]
        values[name] = orjson.loads(text) if text is not None else None
    return SimpleNamespace(**values, fixed_ips=fixed_ips)
