"""``os-interface``: ports attached to a running server after it was built.

The port is made (or bound) in the request, as Nova's API does before it answers; the
``server.action`` operation then plugs it into the backend server (``attach_port``), or unplugs
it (``detach_port``). A failed plug takes the port off again.

Nova's faults differ here from server create: an unknown port or network is 404, a port or
fixed IP in use is 409, nothing to attach to is 400.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Iterable

from sqlalchemy.orm import Session

from overcast.core.compute import actions, networking
from overcast.core.context import AuthContext
from overcast.core.errors import Conflict, Invalid, NotFound, OvercastError
from overcast.core.network import NetworkCore
from overcast.drivers.compute import Capability
from overcast.store.compute import Server
from overcast.store.network import Port

#: Nova's status for each of these Neutron faults on os-interface
_STATUS: dict[str, type[OvercastError]] = {
    "PortNotFound": NotFound, "NetworkNotFound": NotFound, "PortInUse": Conflict, "FixedIpAlreadyInUse": Conflict,
}


def get(session: Session, server: Server, port_id: str) -> Port:
    """:raises NotFound: the server has no such port."""
    port = session.get(Port, port_id)
    if port is None or port.device_id != server.id:
        raise NotFound(f"Instance {server.id} does not have a port with id {port_id}")
    return port


def _nic(session: Session, ctx: AuthContext, server: Server, body: dict[str, Any]) -> dict[str, Any]:
    """The one NIC an attach asks for. :raises Invalid, NotFound, Conflict: Nova's faults."""
    port_id, net_id, fixed = body.get("port_id"), body.get("net_id"), body.get("fixed_ips") or []
    if port_id and net_id:
        raise Invalid("Must not input both network_id and port_id")
    if fixed and not net_id:
        raise Invalid("Must input network_id when request IP address")
    if port_id:
        wanted: Any = [{"port": port_id}]
    elif net_id:
        wanted = [{"uuid": net_id, **({"fixed_ip": fixed[0]["ip_address"]} if fixed else {})}]
    else:
        wanted = None
    try:
        nics = networking.requested_nics(session, ctx, wanted, project_id=server.project_id, max_count=1,
                                         region=server.cloud)
    except (Invalid, Conflict) as exc:
        cls = _STATUS.get(exc.kind or "", Invalid)
        raise cls(exc.message, kind=exc.kind) from exc
    if not nics:
        raise Invalid(f"No specific network was requested and none are available for project "
                      f"'{server.project_id}'.", kind="InterfaceAttachFailedNoNetwork")
    return nics[0]


def attach(network: NetworkCore, session: Session, ctx: AuthContext, server: Server, body: dict[str, Any], *,
           capabilities: Iterable[Capability], request_id: str | None) -> Port:
    """Plug a port into the server (Nova's ``attach_interface``), recording the NIC with its
    ``tag`` (see :mod:`overcast.core.compute.networking`).

    :raises Conflict: locked, wrong state, port or address in use. :raises NotFound: port or
        network. :raises Invalid: bad combination, nothing to attach to. :raises
        FeatureNotSupported: the driver cannot hot-plug.
    """
    rule = actions.allowed(server, ctx, "attach_interface", capabilities)
    nic = {**_nic(session, ctx, server, body), "tag": body.get("tag")}
    port = networking.plug(network, session, server, nic)
    server.requested_networks = [*(server.requested_networks or []), {**nic, "vif": port.id}]
    actions.record(session, ctx, server, rule, "attach_interface", request_id=request_id,
                   params={"port": asdict(networking.attachments(session, [port])[0])})
    return port


def detach(network: NetworkCore, session: Session, ctx: AuthContext, server: Server, port_id: str, *,
           capabilities: Iterable[Capability], request_id: str | None) -> None:
    """Unplug a port (Nova's ``detach_interface``): the records now, the backend in the operation.

    :raises Conflict: locked or wrong state. :raises NotFound: not this server's port.
    :raises FeatureNotSupported: the driver cannot hot-unplug.
    """
    rule = actions.allowed(server, ctx, "detach_interface", capabilities)
    port = get(session, server, port_id)
    networking.unplug(network, session, server, port)
    networking.forget_nic(server, port.id)
    actions.record(session, ctx, server, rule, "detach_interface", request_id=request_id,
                   params={"port_id": port_id})
