"""Nova's side of Neutron: the networks a new server asks for (checked in the request, as
Nova's API does), its ports (made by the build operation, released when the server goes), and
the ``addresses`` it shows.

``Server.addresses`` is Nova's network info cache: it is rewritten from the server's ports and
their floating IPs whenever they change (:func:`refresh_addresses`, a listener of the network
core, which is Neutron's ``network-changed`` event), so server reads and the ``ip`` filter never
join the network tables.

A requested NIC is recorded on the server as ``{"network_id", "port_id", "fixed_ip", "tag"}``;
a port the user passed (``port_id``) is only unbound when the server goes, a port Nova made is
deleted (Nova's ``preserve_on_delete``).
"""

from __future__ import annotations

import ipaddress
import uuid
from typing import Any, Callable, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.core.context import AuthContext
from overcast.core.errors import Conflict, Invalid, NotFound
from overcast.core.network import NetworkCore
from overcast.core.network import ports as port_rules
from overcast.core.network import security_groups as group_rules
from overcast.core.network.common import visible
from overcast.drivers.compute import NetworkAttachment
from overcast.store.compute import Server
from overcast.store.network import FloatingIp, IpAllocation, Network, Port, SecurityGroup, Subnet

#: Nova's device_owner for an instance's port
COMPUTE_OWNER = "compute:"


def _uuid(value: str, what: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise Invalid(f"Bad networks format: {what} uuid is not in proper format ({value})") from None


def _available(session: Session, project_id: str) -> list[Network]:
    """The networks a server may get without naming one: the project's own and shared ones."""
    rows = session.scalars(select(Network).where(Network.external.is_(False))
                           .order_by(Network.created_at, Network.id))
    return [n for n in rows if n.project_id == project_id or n.shared]


def _network(session: Session, ctx: AuthContext, network_id: str) -> Network:
    """:raises Invalid: NetworkNotFound, NetworkRequiresSubnet (both 400 on server create)."""
    network = session.get(Network, network_id)
    if network is None or not visible(ctx, network):
        raise Invalid(f"Network {network_id} could not be found.", kind="NetworkNotFound")
    if session.scalar(select(Subnet.id).where(Subnet.network_id == network.id).limit(1)) is None:
        raise Invalid(f"Network {network.id} requires a subnet in order to boot instances on.",
                      kind="NetworkRequiresSubnet")
    return network


def _port(session: Session, ctx: AuthContext, port_id: str) -> Port:
    """:raises Invalid: PortNotFound, PortRequiresFixedIP. :raises Conflict: PortInUse."""
    port = session.get(Port, port_id)
    if port is None or not (ctx.is_admin or port.project_id == ctx.project_id):
        raise Invalid(f"Port {port_id} could not be found.", kind="PortNotFound")
    if port.device_id:
        raise Conflict(f"Port {port.id} is still in use.", kind="PortInUse")
    if not port.fixed_ips:
        raise Invalid(f"Port {port.id} requires a FixedIP in order to be used.", kind="PortRequiresFixedIP")
    return port


def _fixed_ip(session: Session, network: Network, text: str) -> str:
    """:raises Invalid: not an address, not on the network, or already taken."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise Invalid(f"Invalid fixed IP address ({text})") from None
    subnets = session.scalars(select(Subnet).where(Subnet.network_id == network.id)).all()
    if not any(address in ipaddress.ip_network(s.cidr) for s in subnets):
        raise Invalid(f"Fixed IP address {text} is not valid for network {network.id}.", kind="InvalidFixedIp")
    holder = session.scalar(select(Port).join(IpAllocation).where(IpAllocation.network_id == network.id,
                                                                  IpAllocation.ip_address == str(address)))
    if holder is not None:
        raise Invalid(f"Fixed IP address {text} is already in use on instance {holder.device_id}.",
                      kind="FixedIpAlreadyInUse")
    return str(address)


def requested_nics(session: Session, ctx: AuthContext, networks: Any, *, project_id: str,
                   max_count: int) -> list[dict[str, Any]]:
    """What a create asks for, checked as Nova checks it before it answers 202.

    ``networks`` is the request's value: ``"none"``, ``"auto"`` (2.37+), a list of
    ``{uuid|port|fixed_ip|tag}``, or ``None`` (before 2.37: like ``auto``, but no network at all
    is fine).

    :raises Invalid: a bad uuid or address, an unknown network or port, a port or fixed IP with
        ``max_count`` > 1, ``auto`` with nothing to allocate from.
    :raises Conflict: a port in use; more than one network to choose from.
    """
    if networks == "none":
        return []
    if networks is None or networks == "auto":
        available = _available(session, project_id)
        if len(available) > 1:
            raise Conflict("Multiple possible networks found, use a Network ID to be more specific.",
                           kind="NetworkAmbiguous")
        if not available:
            if networks == "auto":
                raise Invalid(f"Unable to automatically allocate a network for project {project_id}",
                              kind="UnableToAutoAllocateNetwork")
            return []
        return [{"network_id": _network(session, ctx, available[0].id).id}]
    nics: list[dict[str, Any]] = []
    for item in networks:
        nic: dict[str, Any] = {"tag": item.get("tag")}
        if item.get("port"):
            if max_count > 1:
                raise Invalid("Unable to launch multiple instances with a single configured port ID. Please "
                              "launch your instance one by one with different ports.",
                              kind="MultiplePortsNotApplicable")
            port = _port(session, ctx, _uuid(item["port"], "port"))
            nic.update(port_id=port.id, network_id=port.network_id)
            if any(n.get("port_id") == port.id for n in nics):
                raise Invalid(f"Port {port.id} is still in use.", kind="PortInUse")
        elif item.get("uuid"):
            network = _network(session, ctx, _uuid(item["uuid"], "network"))
            nic["network_id"] = network.id
            if item.get("fixed_ip"):
                if max_count > 1:
                    raise Invalid("max_count cannot be greater than 1 if an fixed_ip is specified.",
                                  kind="InvalidFixedIpAndMaxCountRequest")
                nic["fixed_ip"] = _fixed_ip(session, network, item["fixed_ip"])
        else:
            raise Invalid("Bad network format: missing 'uuid'")
        nics.append(nic)
    return nics


def check_security_groups(session: Session, ctx: AuthContext, project_id: str, names: Iterable[str]) -> None:
    """:raises Invalid: a group that is neither the project's (by name or id) nor ``default``."""
    for name in names:
        if name == "default":
            continue
        group = session.get(SecurityGroup, name) or session.scalar(
            select(SecurityGroup).where(SecurityGroup.name == name, SecurityGroup.project_id == project_id))
        if group is None or not (ctx.is_admin or group.project_id == project_id):
            raise Invalid(f"Security group {name} not found.", kind="SecurityGroupNotFound")


def acting_for(server: Server) -> AuthContext:
    """The context a worker uses on the server owner's behalf (Nova acts with the user's token)."""
    return AuthContext(user_id=server.user_id, user_domain_id="", methods=(), roles=frozenset({"member"}),
                       audit_ids=(), issued_at=0.0, expires_at=0.0, project_id=server.project_id)


def server_ports(session: Session, server_id: str) -> list[Port]:
    return list(session.scalars(select(Port).where(Port.device_id == server_id)
                                .order_by(Port.created_at, Port.id)))


def allocate(network: NetworkCore, session: Session, server: Server) -> list[Port]:
    """Make (or bind) the server's ports; idempotent: a server that has ports keeps them.

    :raises OvercastError: what Neutron refused (no address left, a port taken meanwhile, quota).
    """
    existing = server_ports(session, server.id)
    if existing or not server.requested_networks:
        return existing
    return [plug(network, session, server, nic) for nic in server.requested_networks]


def plug(network: NetworkCore, session: Session, server: Server, nic: dict[str, Any]) -> Port:
    """Give the server one port for ``nic`` (see :func:`requested_nics`): bind the port named, or
    make one on the network (with the fixed IP asked for, and the server's security groups).

    :raises OvercastError: what Neutron refused.
    """
    ctx = acting_for(server)
    owner = COMPUTE_OWNER + (server.availability_zone or "nova")
    if nic.get("port_id"):
        port = _port(session, ctx, nic["port_id"])
        port.device_id, port.device_owner = server.id, owner
        port.binding_host_id = server.host or ""
        session.flush()
        port_rules.bind(network, port)
        network.devices_changed(session, [server.id])
        return port
    net = session.get(Network, nic["network_id"])
    if net is None:
        raise Invalid(f"Network {nic['network_id']} could not be found.", kind="NetworkNotFound")
    body: dict[str, Any] = {"device_id": server.id, "device_owner": owner, "binding:host_id": server.host or ""}
    if nic.get("fixed_ip"):
        body["fixed_ips"] = [{"ip_address": nic["fixed_ip"]}]
    if net.port_security_enabled:
        body["security_groups"] = _group_ids(network, session, ctx, server)
    return port_rules.make(network, session, ctx, net, server.project_id, body)


def unplug(network: NetworkCore, session: Session, server: Server, port: Port) -> None:
    """Take a port off the server: one the user passed in is unbound and kept, one Nova made is
    deleted (Nova's ``preserve_on_delete``)."""
    if port.id in _user_ports(server):
        port.device_id = port.device_owner = port.binding_host_id = ""
        session.flush()
        port_rules.bind(network, port)
        network.devices_changed(session, [server.id])
    else:
        port_rules.release(network, session, port)


def _user_ports(server: Server) -> set[str]:
    return {nic["port_id"] for nic in server.requested_networks or [] if nic.get("port_id")}


def _group_ids(network: NetworkCore, session: Session, ctx: AuthContext, server: Server) -> list[str]:
    """The server's security groups by id; ``default`` is the project's default group (made on
    first use). :raises NotFound: a group deleted since the request."""
    ids: list[str] = []
    for name in [g["name"] for g in server.security_groups or []] or ["default"]:
        ids += group_rules.resolve(network, session, ctx, server.project_id, None if name == "default" else [name])
    return list(dict.fromkeys(ids))


def attachments(session: Session, ports: Iterable[Port]) -> tuple[NetworkAttachment, ...]:
    """The ports as the compute driver sees them."""
    names = _network_names(session, {p.network_id for p in ports})
    return tuple(NetworkAttachment(port_id=p.id, network_id=p.network_id, network_name=names.get(p.network_id, ""),
                                   mac_address=p.mac_address, fixed_ips=tuple(a.ip_address for a in p.fixed_ips))
                 for p in ports)


def release(network: NetworkCore, session: Session, server: Server) -> None:
    """Take every port off the server (see :func:`unplug`)."""
    for port in server_ports(session, server.id):
        unplug(network, session, server, port)


def _network_names(session: Session, ids: set[str]) -> dict[str, str]:
    if not ids:
        return {}
    return {row.id: row.name for row in session.execute(select(Network.id, Network.name).where(Network.id.in_(ids)))}


def addresses(session: Session, server_id: str) -> dict[str, list[dict[str, Any]]]:
    """Nova's ``addresses``: by network name, each port's fixed IPs then its floating IPs."""
    ports = server_ports(session, server_id)
    if not ports:
        return {}
    names = _network_names(session, {p.network_id for p in ports})
    floating: dict[str, list[FloatingIp]] = {}
    for fip in session.scalars(select(FloatingIp).where(FloatingIp.port_id.in_([p.id for p in ports]))
                               .order_by(FloatingIp.created_at)):
        floating.setdefault(fip.port_id, []).append(fip)
    out: dict[str, list[dict[str, Any]]] = {}
    for port in ports:
        entries = out.setdefault(names.get(port.network_id) or port.network_id, [])
        for allocation in sorted(port.fixed_ips, key=lambda a: a.position):
            entries.append(_address(allocation.ip_address, "fixed", port.mac_address))
        for fip in floating.get(port.id, []):
            entries.append(_address(fip.floating_ip_address, "floating", port.mac_address))
    return out


def _address(ip: str, kind: str, mac: str) -> dict[str, Any]:
    return {"addr": ip, "version": 6 if ":" in ip else 4, "OS-EXT-IPS:type": kind, "OS-EXT-IPS-MAC:mac_addr": mac}


def refresh_addresses(session: Session, device_ids: set[str]) -> None:
    """Rewrite the addresses of the servers among ``device_ids`` (the network core's listener)."""
    for server in session.scalars(select(Server).where(Server.id.in_(device_ids), Server.deleted.is_(False))):
        server.addresses = addresses(session, server.id)



# -- a server's security groups: the groups on its ports ------------------------------------------


def server_groups(session: Session, server: Server) -> list[SecurityGroup]:
    """The groups on the server's ports, in first-seen order (Nova asks Neutron the same)."""
    ids = dict.fromkeys(g for p in server_ports(session, server.id) for g in p.security_group_ids or [])
    found = {g.id: g for g in session.scalars(select(SecurityGroup).where(SecurityGroup.id.in_(list(ids))))}
    return [found[i] for i in ids if i in found]


def _named_group(session: Session, server: Server, name: str) -> SecurityGroup:
    """:raises NotFound: no group of the server's project by that name or id."""
    group = session.get(SecurityGroup, name)
    if group is None or group.project_id != server.project_id:
        group = session.scalar(select(SecurityGroup).where(SecurityGroup.name == name,
                                                           SecurityGroup.project_id == server.project_id))
    if group is None:
        raise NotFound(f"Security group {name} not found.", kind="SecurityGroupNotFound")
    return group


def _change_groups(network: NetworkCore, session: Session, ctx: AuthContext, server: Server,
                   change: Callable[[list[str]], list[str]]) -> None:
    """Apply ``change`` to every port's group ids through Neutron's rules; record the names."""
    for port in server_ports(session, server.id):
        wanted = change(list(port.security_group_ids or []))
        if wanted != list(port.security_group_ids or []):
            port_rules.update(network, session, ctx, port.id, {"security_groups": wanted})
    server.security_groups = [{"name": g.name} for g in server_groups(session, server)]


def add_security_group(network: NetworkCore, session: Session, ctx: AuthContext, server: Server, name: str) -> None:
    """Nova's ``addSecurityGroup``: the group goes on every port of the server.

    :raises NotFound: no such group, or the server has no port.
    :raises Invalid: a port without port security (SecurityGroupCannotBeApplied).
    """
    group = _named_group(session, server, name)
    ports = server_ports(session, server.id)
    if not ports:
        raise NotFound(f"instance_id {server.id} could not be found as device id on any ports",
                       kind="SecurityGroupNotFound")
    if any(not p.port_security_enabled or not p.fixed_ips for p in ports):
        raise Invalid("Network requires port_security_enabled and subnet associated in order to apply security "
                      "groups.", kind="SecurityGroupCannotBeApplied")
    _change_groups(network, session, ctx, server, lambda ids: ids if group.id in ids else [*ids, group.id])


def remove_security_group(network: NetworkCore, session: Session, ctx: AuthContext, server: Server,
                          name: str) -> None:
    """Nova's ``removeSecurityGroup``: the group comes off every port of the server.

    :raises NotFound: no such group. :raises Invalid: no port of the server has it.
    """
    group = _named_group(session, server, name)
    if group not in server_groups(session, server):
        raise Invalid(f"Security group {name} not associated with the instance {server.id}",
                      kind="SecurityGroupNotExistsForInstance")
    _change_groups(network, session, ctx, server, lambda ids: [i for i in ids if i != group.id])
