"""Auto-allocated topology (Neutron's ``auto-allocated-topology``, "get me a network"): the first
``get`` for a project makes a network, an IPv4 subnet (``[network] auto_allocated_cidr``) and a
router with its gateway on the region's default external network (``is_default``) and an
interface on the subnet; every later ``get`` answers the same network. ``delete`` takes it down.

Race-safe: the topology record's primary key is (project, region). A ``get`` that loses a race
(another made the project's topology meanwhile) fails to record its own at the savepoint, which
takes back everything it made, and answers the winner's network: two concurrent calls give one
topology, as Neutron's duplicate clean-up ends with one.

The network is made with ``admin_state_up`` false and turned up once the topology is recorded,
as Neutron does. See ``docs/decisions/0050-auto-allocated-topology.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from overcast.core.context import AuthContext
from overcast.core.errors import Conflict, Forbidden, Invalid, NotFound
from overcast.core.network import NetworkCore, networks, routers, subnets
from overcast.core.network.common import authorize, touch
from overcast.core.network.errors import conflict
from overcast.store.db import take_write_lock
from overcast.store.network import AutoAllocatedTopology, Network, Subnet

NETWORK_NAME = "auto_allocated_network"
SUBNET_NAME = "auto_allocated_subnet_v4"
ROUTER_NAME = "auto_allocated_router"
#: what ``?fields=`` asks for a check of the requirements instead of a topology
DRY_RUN = "dry-run"
#: the id a passed check answers
DRY_RUN_PASS = "dry-run=pass"


@dataclass(frozen=True)
class Topology:
    """A project's auto-allocated network (``network_id``: :data:`DRY_RUN_PASS` for a check)."""

    network_id: str
    project_id: str


def failure(reason: str) -> Conflict:
    """Neutron's AutoAllocationFailure (409)."""
    return conflict("AutoAllocationFailure", f"Deployment error: {reason}.")


def _project(ctx: AuthContext, project_id: str, action: str) -> str:
    """The project the topology is for (``None``: the caller's, as Neutron reads it).

    :raises Forbidden: NotAuthorized (another project's, for a non-admin), or the policy.
    """
    if project_id == "None":
        project_id = ctx.project_id or ""
    if not ctx.is_admin and project_id != ctx.project_id:
        raise Forbidden("Not authorized.", kind="NotAuthorized")
    authorize(ctx, action, project_id)
    return project_id


def _external(core: NetworkCore, session: Session) -> Network:
    """:raises Conflict: AutoAllocationFailure, the region has no default external network."""
    network = networks.default_external(core, session)
    if network is None:
        raise failure("No default router:external network")
    return network


def check(core: NetworkCore, session: Session, ctx: AuthContext, project_id: str) -> Topology:
    """The dry run: whether a ``get`` could make the topology (nothing is made).

    :raises Forbidden: :raises Conflict: AutoAllocationFailure.
    """
    project_id = _project(ctx, project_id, "get_auto_allocated_topology")
    _external(core, session)
    return Topology(DRY_RUN_PASS, project_id)


def get(core: NetworkCore, session: Session, ctx: AuthContext, project_id: str) -> Topology:
    """The project's topology in the region, made now if it has none.

    :raises Forbidden: another project's (non-admin), a reader making one.
    :raises Conflict: AutoAllocationFailure (no default external network, the subnet or the
        router could not be made), OverQuota.
    """
    project_id = _project(ctx, project_id, "get_auto_allocated_topology")
    found = session.get(AutoAllocatedTopology, (project_id, core.region))
    if found is not None:
        return Topology(found.network_id, project_id)
    return Topology(_build(core, session, ctx, project_id, _external(core, session)), project_id)


def _build(core: NetworkCore, session: Session, ctx: AuthContext, project_id: str, external: Network) -> str:
    """Make and record the topology; the network id of the one recorded (another's if a
    concurrent call recorded one first)."""
    take_write_lock(session, AutoAllocatedTopology.__table__)  # SQLite: after a racing call's commit, if any
    found = session.get(AutoAllocatedTopology, (project_id, core.region), populate_existing=True)
    if found is not None:
        return found.network_id
    try:
        with session.begin_nested():
            network = networks.create(core, session, ctx, {"name": NETWORK_NAME, "admin_state_up": False,
                                                           "project_id": project_id})
            try:
                subnet = subnets.create(core, session, ctx, {
                    "name": SUBNET_NAME, "network_id": network.id, "project_id": project_id, "ip_version": 4,
                    "cidr": core.settings.network.auto_allocated_cidr})
            except Invalid:
                raise failure("Unable to provide tenant private network") from None
            try:
                router = routers.create(core, session, ctx, {"name": ROUTER_NAME, "project_id": project_id,
                                                             "external_gateway_info": {"network_id": external.id}})
                routers.add_interface(core, session, ctx, router.id, {"subnet_id": subnet.id})
            except (Invalid, NotFound):
                raise failure("Unable to provide external connectivity") from None
            session.add(AutoAllocatedTopology(project_id=project_id, cloud=core.region, network_id=network.id,
                                              router_id=router.id))
            session.flush()
    except IntegrityError:
        found = session.get(AutoAllocatedTopology, (project_id, core.region), populate_existing=True)
        if found is None:
            raise
        return found.network_id
    network.admin_state_up = True
    touch(network)
    core.realise(session, network)
    return network.id


def delete(core: NetworkCore, session: Session, ctx: AuthContext, project_id: str) -> None:
    """Take the project's topology down (nothing to do without one): the router's interfaces,
    the router, the subnets and the network.

    :raises Forbidden: :raises Conflict: NetworkInUse (a server's port is still on it).
    """
    project_id = _project(ctx, project_id, "delete_auto_allocated_topology")
    found = session.get(AutoAllocatedTopology, (project_id, core.region))
    if found is None:
        return
    network_id, router_id = found.network_id, found.router_id
    subnet_ids = list(session.scalars(select(Subnet.id).where(Subnet.network_id == network_id)))
    if router_id is not None:
        try:
            routers.get(core, session, ctx, router_id)
        except NotFound:
            router_id = None  # deleted by hand meanwhile
    if router_id is not None:
        for subnet_id in subnet_ids:
            try:
                routers.remove_interface(core, session, ctx, router_id, {"subnet_id": subnet_id})
            except NotFound:
                pass  # never connected, or disconnected by hand
        routers.delete(core, session, ctx, router_id)
    networks.delete(core, session, ctx, network_id)
