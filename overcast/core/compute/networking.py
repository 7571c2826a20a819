"""Nova's side of Neutron: the networks a new server asks for (checked in the request, as
Nova's API does), its ports (made by the build operation, released when the server goes), and
the ``addresses`` it shows.

``Server.addresses`` and ``Server.security_groups`` are Nova's network info cache: they are
rewritten from the server's ports, their floating IPs and their security groups whenever those
change (:func:`refresh_network_info`, a listener of the network core, which is Neutron's
``network-changed`` event), so server reads and the ``ip`` filter never join the network tables.

A server's ports are Neutron's of the server's region (``Server.cloud``): the networks, ports and
security groups a request names are looked up there, and its ports are made there.

A requested NIC is recorded on the server as ``{"network_id", "port_id", "fixed_ip", "tag"}``,
and once plugged with its port's id as ``vif`` (Nova's virtual interface, which keeps the tag);
an interface attached later is recorded the same way. A port the user passed (``port_id``) is
only unbound when the server goes, a port Nova made is deleted (Nova's ``preserve_on_delete``).
"""

from __future__ import annotations

import ipaddress
import uuid
from typing import Any, Callable, Iterable

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from overcast.core.context import AuthContext
from overcast.core.errors import Conflict, Invalid, NotFound
from overcast.core.network import NetworkCore, auto_allocation
from overcast.core.network import ports as port_rules
from overcast.core.network import security_groups as group_rules
from overcast.core.network.common import lookup, visible
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


def _available(session: Session, project_id: str, region: str) -> list[Network]:
    """The networks a server may get without naming one: the project's own and shared ones."""
    return list(session.scalars(select(Network)
                                .where(Network.cloud == region, Network.external.is_(False),
                                       or_(Network.project_id == project_id, Network.shared.is_(True)))
                                .order_by(Network.created_at, Network.id)))


def _network(session: Session, ctx: AuthContext, network_id: str, region: str) -> Network:
    """:raises Invalid: NetworkNotFound, NetworkRequiresSubnet (both 400 on server create)."""
    network = lookup(session, Network, network_id, region)
    if network is None or not visible(ctx, network):
        raise Invalid(f"Network {network_id} could not be found.", kind="NetworkNotFound")
    if session.scalar(select(Subnet.id).where(Subnet.network_id == network.id).limit(1)) is None:
        raise Invalid(f"Network {network.id} requires a subnet in order to boot instances on.",
                      kind="NetworkRequiresSubnet")
    return network


def _port(session: Session, ctx: AuthContext, port_id: str, region: str) -> Port:
    """:raises Invalid: PortNotFound, PortRequiresFixedIP. :raises Conflict: PortInUse."""
    port = lookup(session, Port, port_id, region)
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


def _auto_allocated(network: NetworkCore | None, session: Session, ctx: AuthContext, project_id: str) -> str:
    """The project's auto-allocated network (made now if it has none).

    :raises Invalid: UnableToAutoAllocateNetwork, Neutron could not make one (no default external
        network, say), or there is no network core to ask.
    """
    unable = Invalid(f"Unable to automatically allocate a network for project {project_id}",
                     kind="UnableToAutoAllocateNetwork")
    if network is None:
        raise unable
    try:
        return auto_allocation.get(network, session, ctx, project_id).network_id
    except Conflict:
        raise unable from None


def requested_nics(session: Session, ctx: AuthContext, networks: Any, *, project_id: str,
                   max_count: int, region: str, network: NetworkCore | None = None) -> list[dict[str, Any]]:
    """What a create asks for in ``region``, checked as Nova checks it before it answers 202.

    ``networks`` is the request's value: ``"none"``, ``"auto"`` (2.37+), a list of
    ``{uuid|port|fixed_ip|tag}``, or ``None`` (before 2.37: like ``auto``, but no network at all
    is fine). ``auto`` with no network to choose from gets the project's auto-allocated topology
    from ``network`` (the region's network core), as Nova asks Neutron for it.

    :raises Invalid: a bad uuid or address, an unknown network or port, a port or fixed IP with
        ``max_count`` > 1, ``auto`` with nothing to allocate from.
    :raises Conflict: a port in use; more than one network to choose from.
    """
    if networks == "none":
        return []
    if networks is None or networks == "auto":
        available = _available(session, project_id, region)
        if len(available) > 1:
            raise Conflict("Multiple possible networks found, use a Network ID to be more specific.",
                           kind="NetworkAmbiguous")
        if not available:
            if networks == "auto":
                return [{"network_id": _auto_allocated(network, session, ctx, project_id)}]
            return []
        return [{"network_id": _network(session, ctx, available[0].id, region).id}]
    nics: list[dict[str, Any]] = []
    for item in networks:
        nic: dict[str, Any] = {"tag": item.get("tag")}
        if item.get("port"):
            if max_count > 1:
                raise Invalid("Unable to launch multiple instances with a single configured port ID. Please "
                              "launch your instance one by one with different ports.",
                              kind="MultiplePortsNotApplicable")
            port = _port(session, ctx, _uuid(item["port"], "port"), region)
            nic.update(port_id=port.id, network_id=port.network_id)
            if any(n.get("port_id") == port.id for n in nics):
                raise Invalid(f"Port {port.id} is still in use.", kind="PortInUse")
        elif item.get("uuid"):
            network = _network(session, ctx, _uuid(item["uuid"], "network"), region)
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


def check_zone(session: Session, nics: Iterable[dict[str, Any]], zone: str) -> None:
    """A server asked for in ``zone`` on a port (or a network) whose subnets the backend placed in
    other zones (an EC2 subnet lives in one zone, and an instance runs in its interface's): Nova's
    400 when the API takes the request, not the provider's refusal later (decision 0070). Subnets
    whose zone the backend did not report (``extra["availability_zone"]``) are no objection.

    :raises Invalid: every subnet of a port or network with a known zone is in another zone."""
    for nic in nics:
        if nic.get("port_id"):
            ids = list(session.scalars(select(IpAllocation.subnet_id).where(IpAllocation.port_id == nic["port_id"])))
            subnets = list(session.scalars(select(Subnet).where(Subnet.id.in_(ids)))) if ids else []
            what = f"port {nic['port_id']}"
        elif nic.get("network_id"):
            subnets = list(session.scalars(select(Subnet).where(Subnet.network_id == nic["network_id"])))
            what = f"network {nic['network_id']}"
        else:
            continue
        zones = {str((s.extra or {}).get("availability_zone")) for s in subnets
                 if (s.extra or {}).get("availability_zone")}
        if zones and zone not in zones:
            raise Invalid(f"The requested availability zone {zone} is not the zone of {what} "
                          f"({', '.join(sorted(zones))}): the server would run in its subnet's zone.")


def check_security_groups(network: NetworkCore, session: Session, ctx: AuthContext, project_id: str,
                          names: Iterable[str]) -> None:
    """:raises Invalid: a group that is neither the project's (by name or id, in ``network``'s
    region) nor ``default``."""
    for name in names:
        if name == "default":
            continue
        try:
            group_rules.resolve(network, session, ctx, project_id, [name])
        except NotFound:
            raise Invalid(f"Security group {name} not found.", kind="SecurityGroupNotFound") from None


def acting_for(server: Server) -> AuthContext:
    """The context a worker uses on the server owner's behalf (Nova acts with the user's token)."""
    return AuthContext(user_id=server.user_id, user_domain_id="", methods=(), roles=frozenset({"member"}),
                       audit_ids=(), issued_at=0.0, expires_at=0.0, project_id=server.project_id)


def server_ports(session: Session, server_id: str) -> list[Port]:
    return _ports_of(session, [server_id]).get(server_id, [])


def _ports_of(session: Session, server_ids: Iterable[str]) -> dict[str, list[Port]]:
    """The servers' ports, oldest first, by server id (one query)."""
    out: dict[str, list[Port]] = {}
    for port in session.scalars(select(Port).where(Port.device_id.in_(list(server_ids)))
                                .order_by(Port.created_at, Port.id)):
        out.setdefault(port.device_id, []).append(port)
    return out


def allocate(network: NetworkCore, session: Session, server: Server) -> list[Port]:
    """Make (or bind) the server's ports in its region; idempotent: a server that has ports keeps them.

    :raises OvercastError: what Neutron refused (no address left, a port taken meanwhile, quota).
    """
    network = network.at(server.cloud)
    existing = server_ports(session, server.id)
    if existing or not server.requested_networks:
        return existing
    nics = list(server.requested_networks)
    # the groups asked for: the server's record follows its ports once the first one is made
    groups = group_names(server)
    ports = [plug(network, session, server, nic, groups=groups) for nic in nics]
    server.requested_networks = [{**nic, "vif": port.id} for nic, port in zip(nics, ports)]
    return ports


#: how long a build waits for its ports to be wired (Nova's ``vif_plugging_timeout``)
VIF_PLUGGING_TIMEOUT = 300.0


def ports_ready(network: NetworkCore, session: Session, server: Server) -> bool:
    """Whether the region's backend has wired every port of the server (Nova's
    ``network-vif-plugged`` events): each has a backend id, or the region has no network backend.

    :raises Conflict: a port the backend refused (its status is ERROR).
    """
    if network.at(server.cloud).driver is None:
        return True
    ports = server_ports(session, server.id)
    failed = [p.id for p in ports if p.status == "ERROR"]
    if failed:
        raise Conflict(f"Port {failed[0]} could not be wired by the network backend.", kind="PortBindingFailed")
    return all(p.backend_id is not None for p in ports)


def nic_tag(server: Server, port_id: str) -> str | None:
    """The tag the NIC on this port was asked with (at create or attach), else None."""
    return next((nic.get("tag") for nic in server.requested_networks or []
                 if port_id in (nic.get("vif"), nic.get("port_id"))), None)


def forget_nic(server: Server, port_id: str) -> None:
    """Drop the record of the NIC on this port (once it is unplugged)."""
    server.requested_networks = [nic for nic in server.requested_networks or []
                                 if port_id not in (nic.get("vif"), nic.get("port_id"))]


def plug(network: NetworkCore, session: Session, server: Server, nic: dict[str, Any], *,
         groups: list[str] | None = None) -> Port:
    """Give the server one port for ``nic`` (see :func:`requested_nics`): bind the port named, or
    make one on the network (with the fixed IP asked for, and the security groups ``groups``
    names, by default the server's).

    :raises OvercastError: what Neutron refused.
    """
    network = network.at(server.cloud)
    ctx = acting_for(server)
    owner = COMPUTE_OWNER + (server.availability_zone or "nova")
    if nic.get("port_id"):
        port = _port(session, ctx, nic["port_id"], network.region)
        port.device_id, port.device_owner = server.id, owner
        port.binding_host_id = server.host or ""
        session.flush()
        port_rules.bind(network, session, port)
        network.devices_changed(session, [server.id])
        return port
    net = lookup(session, Network, nic["network_id"], network.region)
    if net is None:
        raise Invalid(f"Network {nic['network_id']} could not be found.", kind="NetworkNotFound")
    body: dict[str, Any] = {"device_id": server.id, "device_owner": owner, "binding:host_id": server.host or ""}
    if nic.get("fixed_ip"):
        body["fixed_ips"] = [{"ip_address": nic["fixed_ip"]}]
    if net.port_security_enabled:
        body["security_groups"] = _group_ids(network, session, ctx, server.project_id,
                                             group_names(server) if groups is None else groups)
    return port_rules.make(network, session, ctx, net, server.project_id, body)


def unplug(network: NetworkCore, session: Session, server: Server, port: Port) -> None:
    """Take a port off the server: one the user passed in is unbound and kept, one Nova made is
    deleted (Nova's ``preserve_on_delete``)."""
    network = network.at(server.cloud)
    if port.id in _user_ports(server):
        port.device_id = port.device_owner = port.binding_host_id = ""
        session.flush()
        port_rules.bind(network, session, port)
        network.devices_changed(session, [server.id])
    else:
        port_rules.release(network, session, port)


def _user_ports(server: Server) -> set[str]:
    return {nic["port_id"] for nic in server.requested_networks or [] if nic.get("port_id")}


def group_names(server: Server) -> list[str]:
    """The names of the server's security groups, ``default`` when it has none."""
    return [g["name"] for g in server.security_groups or []] or ["default"]


def _group_ids(network: NetworkCore, session: Session, ctx: AuthContext, project_id: str,
               names: list[str]) -> list[str]:
    """The groups ``names`` names, by id; ``default`` is the project's default group (made on
    first use). :raises NotFound: a group deleted since the request."""
    named = [n for n in names if n != "default"]
    found = iter(group_rules.resolve(network, session, ctx, project_id, named) if named else [])
    default = group_rules.resolve(network, session, ctx, project_id, None) if "default" in names else []
    ids: list[str] = []
    for name in names:
        ids += default if name == "default" else [next(found)]
    return list(dict.fromkeys(ids))


def attachments(session: Session, ports: Iterable[Port]) -> tuple[NetworkAttachment, ...]:
    """The ports as the compute driver sees them."""
    names = _network_names(session, {p.network_id for p in ports})
    return tuple(NetworkAttachment(port_id=p.id, network_id=p.network_id, network_name=names.get(p.network_id, ""),
                                   mac_address=p.mac_address, fixed_ips=tuple(a.ip_address for a in p.fixed_ips),
                                   backend_id=p.backend_id)
                 for p in ports)


def release(network: NetworkCore, session: Session, server: Server) -> None:
    """Take every port off the server (see :func:`unplug`)."""
    for port in server_ports(session, server.id):
        unplug(network, session, server, port)


def _network_names(session: Session, ids: set[str]) -> dict[str, str]:
    if not ids:
        return {}
    return {row.id: row.name for row in session.execute(select(Network.id, Network.name).where(Network.id.in_(ids)))}


def _addresses(ports: list[Port], names: dict[str, str],
               floating: dict[str, list[FloatingIp]]) -> dict[str, list[dict[str, Any]]]:
    """Nova's ``addresses``: by network name, each port's fixed IPs then its floating IPs."""
    out: dict[str, list[dict[str, Any]]] = {}
    for port in ports:
        entries = out.setdefault(names.get(port.network_id) or port.network_id, [])
        # sorted: addresses a port update added in this session may sit out of position order
        for allocation in sorted(port.fixed_ips, key=lambda a: a.position):
            entries.append(_address(allocation.ip_address, "fixed", port.mac_address))
        for fip in floating.get(port.id, []):
            entries.append(_address(fip.floating_ip_address, "floating", port.mac_address))
    return out


def _address(ip: str, kind: str, mac: str) -> dict[str, Any]:
    return {"addr": ip, "version": 6 if ":" in ip else 4, "OS-EXT-IPS:type": kind, "OS-EXT-IPS-MAC:mac_addr": mac}


def _port_groups(ports: Iterable[Port], found: dict[str, SecurityGroup]) -> list[SecurityGroup]:
    """The groups on the ports, in first-seen order (Nova asks Neutron the same)."""
    ids = dict.fromkeys(g for p in ports for g in p.security_group_ids or [])
    return [found[i] for i in ids if i in found]


def _groups_by_id(session: Session, ports: Iterable[Port]) -> dict[str, SecurityGroup]:
    ids = {g for p in ports for g in p.security_group_ids or []}
    if not ids:
        return {}
    return {g.id: g for g in session.scalars(select(SecurityGroup).where(SecurityGroup.id.in_(ids)))}


def refresh_network_info(session: Session, device_ids: set[str]) -> None:
    """Rewrite the addresses and security groups of the servers among ``device_ids`` (the network
    core's listener), in a fixed number of queries. A server left without ports keeps the groups
    it had (there is nothing to read them from)."""
    servers = list(session.scalars(select(Server).where(Server.id.in_(device_ids), Server.deleted.is_(False))))
    if not servers:
        return
    ports = _ports_of(session, [s.id for s in servers])
    every = [p for mine in ports.values() for p in mine]
    names = _network_names(session, {p.network_id for p in every})
    floating: dict[str, list[FloatingIp]] = {}
    if every:
        for fip in session.scalars(select(FloatingIp).where(FloatingIp.port_id.in_([p.id for p in every]))
                                   .order_by(FloatingIp.created_at)):
            floating.setdefault(fip.port_id, []).append(fip)
    groups = _groups_by_id(session, every)
    for server in servers:
        mine = ports.get(server.id, [])
        server.addresses = _addresses(mine, names, floating)
        if mine:
            wanted = [{"name": g.name} for g in _port_groups(mine, groups)]
            if wanted != server.security_groups:
                server.security_groups = wanted


# -- a server's security groups: the groups on its ports ------------------------------------------


def server_groups(session: Session, server: Server) -> list[SecurityGroup]:
    """The groups on the server's ports, in first-seen order (Nova asks Neutron the same)."""
    ports = server_ports(session, server.id)
    return _port_groups(ports, _groups_by_id(session, ports))


def _named_group(network: NetworkCore, session: Session, ctx: AuthContext, server: Server,
                 name: str) -> SecurityGroup:
    """:raises NotFound: no group of the server's project by that name or id (Nova's message)."""
    try:
        [group_id] = group_rules.resolve(network.at(server.cloud), session, ctx, server.project_id, [name])
    except NotFound:
        raise NotFound(f"Security group {name} not found.", kind="SecurityGroupNotFound") from None
    return session.get(SecurityGroup, group_id)


def _change_groups(network: NetworkCore, session: Session, ctx: AuthContext, server: Server,
                   change: Callable[[list[str]], list[str]]) -> None:
    """Apply ``change`` to every port's group ids through Neutron's rules (whose device listener,
    :func:`refresh_network_info`, records the server's groups)."""
    network = network.at(server.cloud)
    for port in server_ports(session, server.id):
        wanted = change(list(port.security_group_ids or []))
        if wanted != list(port.security_group_ids or []):
            port_rules.update(network, session, ctx, port.id, {"security_groups": wanted})


def add_security_group(network: NetworkCore, session: Session, ctx: AuthContext, server: Server, name: str) -> None:
    """Nova's ``addSecurityGroup``: the group goes on every port of the server.

    :raises NotFound: no such group, or the server has no port.
    :raises Invalid: a port without port security (SecurityGroupCannotBeApplied).
    """
    group = _named_group(network, session, ctx, server, name)
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
    group = _named_group(network, session, ctx, server, name)
    if group not in server_groups(session, server):
        raise Invalid(f"Security group {name} not associated with the instance {server.id}",
                      kind="SecurityGroupNotExistsForInstance")
    _change_groups(network, session, ctx, server, lambda ids: [i for i in ids if i != group.id])
