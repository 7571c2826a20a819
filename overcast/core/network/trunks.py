"""Trunks (Neutron's ``trunk`` extension, ``/v2.0/trunks``): a parent port carrying subports, each
tagged with a segmentation type and id (``vlan`` 1-4094, or ``inherit``: the id of the subport's
network segment).

Neutron's rules (neutron/services/trunk): a port is the parent of at most one trunk and is not
also a subport (409 ``TrunkPortInUse``); a port is the subport of at most one trunk; no two
subports of a trunk share a segmentation (409 ``DuplicateSubPort``); a disabled trunk takes no
subport change (409 ``TrunkDisabled``); a trunk whose parent port is bound cannot be deleted (409
``TrunkInUse``); a parent port or subport cannot be deleted while it is one (409
``PortInUseAsTrunkParent`` / ``PortInUseAsSubPort``). ``status`` follows the parent port: ACTIVE
once the backend has bound it (the port is ACTIVE), DOWN before. A subport is owned by its trunk
(``device_owner`` ``trunk:subport``, ``device_id`` the trunk's id) while it is one.
docs/decisions/0064-network-agents-and-trunks.md (the trunk part).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from overcast.core.context import AuthContext
from overcast.core.errors import NotFound
from overcast.core.network import quotas
from overcast.core.network.common import authorize, fetch, lookup, owned, owner, touch, update_fields, visible
from overcast.core.network.errors import conflict, invalid_input
from overcast.store.network import Network, Port, SubPort, Trunk

if TYPE_CHECKING:
    from overcast.core.network import NetworkCore

VLAN, INHERIT = "vlan", "inherit"
SEGMENTATION_TYPES = (VLAN, INHERIT)
SUBPORT_OWNER = "trunk:subport"
ACTIVE, DOWN = "ACTIVE", "DOWN"


def trunk_not_found(trunk_id: str) -> NotFound:
    return NotFound(f"Trunk {trunk_id} could not be found.", kind="TrunkNotFound")


def status(session: Session, trunk: Trunk) -> str:
    """ACTIVE once the backend has bound the parent port, else DOWN."""
    parent = session.get(Port, trunk.port_id)
    return ACTIVE if parent is not None and parent.status == ACTIVE else DOWN


def query(core: NetworkCore, session: Session, ctx: AuthContext) -> Select[tuple[Trunk]]:
    return owned(ctx, Trunk, core.region)


def get(core: NetworkCore, session: Session, ctx: AuthContext, trunk_id: str) -> Trunk:
    """:raises NotFound: TrunkNotFound (also another project's)."""
    trunk = lookup(session, Trunk, trunk_id, core.region)
    if trunk is None or not visible(ctx, trunk, session):
        raise trunk_not_found(trunk_id)
    return trunk


def _port(core: NetworkCore, session: Session, ctx: AuthContext, port_id: str) -> Port:
    return fetch(session, ctx, Port, "port", port_id, core.region)


def _in_use(session: Session, port_id: str) -> None:
    """:raises Conflict: TrunkPortInUse (the port is a trunk's parent or a subport)."""
    if session.scalar(select(Trunk.id).where(Trunk.port_id == port_id)) or session.get(SubPort, port_id):
        raise conflict("TrunkPortInUse", f"Port {port_id} is in use by another trunk.")


def _segmentation(core: NetworkCore, session: Session, port: Port, given: dict[str, Any]) -> tuple[str, int]:
    """(type, id) of one subport. :raises Invalid: InvalidInput naming the field."""
    kind = given.get("segmentation_type")
    if kind not in SEGMENTATION_TYPES:
        raise invalid_input(f"Invalid segmentation type {kind!r} for subport {port.id}; "
                            f"valid types: {', '.join(SEGMENTATION_TYPES)} (segmentation_type)")
    if kind == INHERIT:
        network = session.get(Network, port.network_id)
        segment = network.segmentation_id if network is not None else None
        if segment is None:
            raise invalid_input(f"segmentation_id cannot be inherited for subport {port.id}: its network has "
                                "no segmentation id (segmentation_id)")
        return kind, int(segment)
    value = given.get("segmentation_id")
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 4094:
        raise invalid_input(f"Invalid segmentation_id {value!r} for subport {port.id}: vlan ids are 1 to 4094 "
                            "(segmentation_id)")
    return kind, value


def _add(core: NetworkCore, session: Session, ctx: AuthContext, trunk: Trunk, sub_ports: list[dict[str, Any]]) -> None:
    """:raises Conflict: TrunkPortInUse, DuplicateSubPort. :raises Invalid: :raises NotFound:"""
    taken = {(s.segmentation_type, s.segmentation_id) for s in trunk.sub_ports}
    position = max((s.position for s in trunk.sub_ports), default=-1) + 1
    for given in sub_ports:
        port = _port(core, session, ctx, given["port_id"])
        if port.id == trunk.port_id:
            raise conflict("TrunkPortInUse", f"Port {port.id} is in use by another trunk.")
        _in_use(session, port.id)
        segmentation = _segmentation(core, session, port, given)
        if segmentation in taken:
            raise conflict("DuplicateSubPort", f"segmentation_type {segmentation[0]} and segmentation_id "
                                               f"{segmentation[1]} already in use on trunk {trunk.id}.")
        taken.add(segmentation)
        trunk.sub_ports.append(SubPort(port_id=port.id, trunk_id=trunk.id, segmentation_type=segmentation[0],
                                       segmentation_id=segmentation[1], position=position))
        position += 1
        port.device_owner, port.device_id = SUBPORT_OWNER, trunk.id
        touch(port)
        session.flush()


def create(core: NetworkCore, session: Session, ctx: AuthContext, body: dict[str, Any]) -> Trunk:
    """:raises Conflict: TrunkPortInUse, DuplicateSubPort. :raises NotFound: :raises Forbidden:"""
    project_id = owner(ctx, body, "create_trunk")
    parent = _port(core, session, ctx, body["port_id"])
    _in_use(session, parent.id)
    quotas.check(core, session, project_id, "trunk")
    trunk = Trunk(cloud=core.region, project_id=project_id, name=body.get("name", ""),
                  description=body.get("description", ""), admin_state_up=body.get("admin_state_up", True),
                  port_id=parent.id, tags=[], extra={})
    session.add(trunk)
    session.flush()
    _add(core, session, ctx, trunk, body.get("sub_ports") or [])
    return trunk


def update(core: NetworkCore, session: Session, ctx: AuthContext, trunk_id: str, changes: dict[str, Any]) -> Trunk:
    trunk = get(core, session, ctx, trunk_id)
    authorize(ctx, "update_trunk", trunk.project_id)
    update_fields(trunk, changes, ("name", "description", "admin_state_up"))
    touch(trunk)
    session.flush()
    return trunk


def _enabled(trunk: Trunk) -> None:
    if not trunk.admin_state_up:
        raise conflict("TrunkDisabled", f"Trunk {trunk.id} is currently disabled.")


def add_subports(core: NetworkCore, session: Session, ctx: AuthContext, trunk_id: str,
                 sub_ports: list[dict[str, Any]]) -> Trunk:
    """:raises Conflict: TrunkDisabled, TrunkPortInUse, DuplicateSubPort. :raises Invalid: :raises NotFound:"""
    trunk = get(core, session, ctx, trunk_id)
    authorize(ctx, "add_subports", trunk.project_id)
    _enabled(trunk)
    _add(core, session, ctx, trunk, sub_ports)
    touch(trunk)
    session.flush()
    return trunk


def remove_subports(core: NetworkCore, session: Session, ctx: AuthContext, trunk_id: str,
                    sub_ports: list[dict[str, Any]]) -> Trunk:
    """:raises NotFound: SubPortNotFound (a port not a subport of this trunk). :raises Conflict: TrunkDisabled"""
    trunk = get(core, session, ctx, trunk_id)
    authorize(ctx, "remove_subports", trunk.project_id)
    _enabled(trunk)
    by_port = {s.port_id: s for s in trunk.sub_ports}
    for given in sub_ports:
        sub = by_port.pop(given["port_id"], None)
        if sub is None:
            raise NotFound(f"SubPort on trunk {trunk.id} with parent port {given['port_id']} could not be found.",
                           kind="SubPortNotFound")
        trunk.sub_ports.remove(sub)
        _release(session, sub)
    touch(trunk)
    session.flush()
    return trunk


def _release(session: Session, sub: SubPort) -> None:
    """The subport's port is its trunk's no more: no owner, no device."""
    port = session.get(Port, sub.port_id)
    if port is not None and port.device_owner == SUBPORT_OWNER:
        port.device_owner, port.device_id = "", ""
        touch(port)


def delete(core: NetworkCore, session: Session, ctx: AuthContext, trunk_id: str) -> None:
    """:raises Conflict: TrunkInUse (its parent port is bound). :raises NotFound: :raises Forbidden:"""
    trunk = get(core, session, ctx, trunk_id)
    authorize(ctx, "delete_trunk", trunk.project_id)
    if status(session, trunk) == ACTIVE:
        raise conflict("TrunkInUse", f"Trunk {trunk.id} is currently in use.")
    for sub in list(trunk.sub_ports):
        _release(session, sub)
    session.delete(trunk)
    session.flush()


def check_port_deletable(session: Session, port: Port) -> None:
    """:raises Conflict: PortInUseAsTrunkParent, PortInUseAsSubPort."""
    parent_of = session.scalar(select(Trunk.id).where(Trunk.port_id == port.id))
    if parent_of:
        raise conflict("PortInUseAsTrunkParent", f"Port {port.id} is currently a parent port for trunk {parent_of}.")
    sub = session.get(SubPort, port.id)
    if sub is not None:
        raise conflict("PortInUseAsSubPort", f"Port {port.id} is currently a subport for trunk {sub.trunk_id}.")
