"""Networks: create (shared, router:external and provider:* are the admin's), update, delete
(refused while ports use it), and what a caller may list."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Iterable

import orjson
from sqlalchemy import Text, cast, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from overcast.core.context import AuthContext
from overcast.core.network import NetworkCore, floating_ips, qos, quotas, rbac
from overcast.core.network.common import admin_only, authorize, fetch, in_region, owner, shared_with, touch, \
    update_fields
from overcast.core.network.errors import conflict
from overcast.core.network.listing import grouped, ordered, related
from overcast.store.network import FloatingIp, IpAllocation, Network, Port, Subnet

#: DevStack with OVN: project networks are Geneve (MTU 1442), the public one flat on "public".
TENANT_TYPE, TENANT_MTU = "geneve", 1442
FLAT_MTU = 1500


#: the list statement per (region, admin, project), built once: building it and its RBAC
#: subquery was a third of a network list's time (docs/decisions/0067-kept-neutron-and-flavor-views.md)
_LISTABLE: dict[tuple[str, bool, str | None], Select[tuple[Network]]] = {}


def query(core: NetworkCore, session: Session, ctx: AuthContext) -> Select[tuple[Network]]:
    """The networks of the region ``ctx`` may list (its project's, shared and external ones), in no order."""
    key = (core.region, ctx.is_admin, None if ctx.is_admin else ctx.project_id)
    found = _LISTABLE.get(key)
    if found is None:
        found = _listable(core, ctx)
        if len(_LISTABLE) >= 4096:  # bounded: many projects' statements are dropped together
            _LISTABLE.clear()
        _LISTABLE[key] = found
    return found


def _listable(core: NetworkCore, ctx: AuthContext) -> Select[tuple[Network]]:
    networks = in_region(Network, core.region)
    if ctx.is_admin:
        return networks
    return networks.where(or_(Network.project_id == ctx.project_id, Network.shared.is_(True),
                              Network.external.is_(True), Network.id.in_(shared_with(ctx, Network, core.region))))


def listing(core: NetworkCore, session: Session, ctx: AuthContext) -> list[Network]:
    """The networks ``ctx`` may list, oldest first."""
    return list(session.scalars(ordered(query(core, session, ctx))))


def get(core: NetworkCore, session: Session, ctx: AuthContext, network_id: str) -> Network:
    """:raises NotFound: NetworkNotFound."""
    return fetch(session, ctx, Network, "network", network_id, core.region)


def _segment(core: NetworkCore, session: Session, body: dict[str, Any],
             external: bool) -> tuple[str, str | None, int | None]:
    given = body.get("provider:network_type")
    if given:
        return given, body.get("provider:physical_network"), body.get("provider:segmentation_id")
    if external:
        return "flat", "public", None
    top = session.scalar(select(func.max(Network.segmentation_id)).where(Network.network_type == TENANT_TYPE,
                                                                         Network.cloud == core.region))
    return TENANT_TYPE, None, (top or 0) + 1


def create(core: NetworkCore, session: Session, ctx: AuthContext, body: dict[str, Any]) -> Network:
    """:raises Forbidden: a reader, or a non-admin setting shared/router:external/provider:*.
    :raises Conflict: OverQuota."""
    project_id = owner(ctx, body, "create_network")
    admin_only(ctx, "create_network:shared", body.get("shared"))
    admin_only(ctx, "create_network:router:external", body.get("router:external"))
    admin_only(ctx, "create_network:is_default", body.get("is_default"))
    for attr in ("provider:network_type", "provider:physical_network", "provider:segmentation_id"):
        admin_only(ctx, f"create_network:{attr}", body.get(attr))
    quotas.check(core, session, project_id, "network")
    external = bool(body.get("router:external", False))
    network_type, physnet, segment = _segment(core, session, body, external)
    network = Network(cloud=core.region, project_id=project_id, name=body.get("name", ""), description=body.get("description", ""),
                      admin_state_up=body.get("admin_state_up", True), shared=bool(body.get("shared", False)),
                      external=external, port_security_enabled=body.get("port_security_enabled", True),
                      network_type=network_type, physical_network=physnet, segmentation_id=segment,
                      mtu=body.get("mtu") or (TENANT_MTU if network_type == TENANT_TYPE else FLAT_MTU),
                      tags=[], status="ACTIVE", extra={})
    network.qos_policy_id = qos.for_new_network(core, session, ctx, project_id, body)
    session.add(network)
    session.flush()
    _set_default(core, session, network, body.get("is_default"))
    rbac.follow_flags(core, session, network)
    core.realise(session, network, action="create")
    return network


def default_external(core: NetworkCore, session: Session) -> Network | None:
    """The region's default external network (``is_default``), None without one."""
    return session.scalar(in_region(Network, core.region).where(Network.external.is_(True),
                                                                 Network.is_default.is_(True))
                          .order_by(Network.created_at, Network.id).limit(1))


def _set_default(core: NetworkCore, session: Session, network: Network, wanted: bool | None) -> None:
    """``is_default`` as asked (None: unchanged); only an external network keeps it true, as
    Neutron keeps it with the network's external record.

    :raises Conflict: DefaultExternalNetworkExists, another network of the region is the default.
    """
    if wanted and network.external:
        current = default_external(core, session)
        if current is not None and current.id != network.id:
            raise conflict("DefaultExternalNetworkExists",
                           f"A default external network already exists: {current.id}.")
    if wanted is not None:
        network.is_default = bool(wanted)
    if not network.external:
        network.is_default = False


def update(core: NetworkCore, session: Session, ctx: AuthContext, network_id: str, changes: dict[str, Any]) -> Network:
    """:raises NotFound: :raises Forbidden: reader, other project, or admin-only attributes."""
    network = get(core, session, ctx, network_id)
    authorize(ctx, "update_network", network.project_id)
    admin_only(ctx, "update_network:shared", changes.get("shared"))
    admin_only(ctx, "update_network:router:external", changes.get("router:external"))
    admin_only(ctx, "update_network:is_default", changes.get("is_default"))
    update_fields(network, changes, ("name", "description", "admin_state_up", "shared", "mtu",
                                     "port_security_enabled"))
    if "router:external" in changes:
        network.external = bool(changes["router:external"])
    if "qos_policy_id" in changes:
        network.qos_policy_id = qos.policy_for(core, session, ctx, changes["qos_policy_id"])
    _set_default(core, session, network, changes.get("is_default"))
    touch(network)
    session.flush()
    rbac.follow_flags(core, session, network)
    core.realise(session, network)
    return network


def delete(core: NetworkCore, session: Session, ctx: AuthContext, network_id: str) -> None:
    """Delete a network, its subnets and (an external one) its floating IPs no port uses.

    :raises NotFound: :raises Forbidden: :raises Conflict: NetworkInUse, ports remain.
    """
    network = get(core, session, ctx, network_id)
    authorize(ctx, "delete_network", network.project_id)
    free = list(session.scalars(select(FloatingIp).where(FloatingIp.floating_network_id == network.id,
                                                         FloatingIp.port_id.is_(None))))
    others = select(Port.id).where(Port.network_id == network.id,
                                   Port.id.not_in([f.floating_port_id for f in free])).limit(1)
    if session.scalar(others) is not None:
        raise conflict("NetworkInUse", f"Unable to complete operation on network {network.id}. "
                                       "There are one or more ports still in use on the network.")
    for fip in free:
        floating_ips.remove(core, session, fip)
    subnets = list(session.scalars(select(Subnet).where(Subnet.network_id == network.id)))
    for subnet in subnets:
        session.execute(IpAllocation.__table__.delete().where(IpAllocation.subnet_id == subnet.id))
        core.unrealise(session, subnet)
        session.delete(subnet)
    session.flush()
    core.unrealise(session, network)
    rbac.forget(session, network)
    session.delete(network)
    session.flush()


# -- the list's rows (docs/decisions/0067-kept-neutron-and-flavor-views.md) -------------------------------
_NETWORKS = Network.__table__.c
#: every column a network's view reads, as a list row reads them (``tags`` as its JSON text: a row
#: is a hashable key; :func:`decoded`)
LIST_COLUMNS: tuple[Any, ...] = tuple(
    cast(_NETWORKS[name], Text).label(name) if name == "tags" else _NETWORKS[name]
    for name in ("id", "name", "admin_state_up", "status", "shared", "external", "is_default", "mtu",
                 "port_security_enabled", "network_type", "physical_network", "segmentation_id", "qos_policy_id",
                 "description", "project_id", "created_at", "updated_at", "revision_number", "tags"))
_SUBNETS_OF = related(Subnet.network_id, Subnet.id, Subnet.subnetpool_id, order=Subnet.created_at)


@dataclass(frozen=True)
class ListedSubnet:
    id: str
    subnetpool_id: str | None


def subnets_of(session: Session, network_ids: Iterable[str]) -> dict[str, tuple[ListedSubnet, ...]]:
    """The subnets of these networks (id, pool) by network id, in the order a network shows them:
    one statement per thousand networks."""
    return grouped(session, _SUBNETS_OF, network_ids, ListedSubnet)


def decoded(row: Any, subnets: tuple[ListedSubnet, ...]) -> SimpleNamespace:
    """A list row as a network's view reads it: tags decoded, its subnets attached."""
    values = row._asdict()
    values["tags"] = orjson.loads(values["tags"]) if values["tags"] is not None else None
    return SimpleNamespace(**values, subnets=subnets)
