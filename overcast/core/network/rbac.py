"""RBAC policies (Neutron's ``rbac-policies``): share a network (``access_as_shared``,
``access_as_external``), a QoS policy, a subnet pool, an address scope or a security group
(``access_as_shared``) with one project or, for admins only, with every project (``*``).

What a policy grants is read where records are listed and fetched
(:func:`overcast.core.network.common.shared_with`): a network shared with a project is visible to
it and takes its ports; its subnets are visible to it. The ``*`` entries are what ``shared`` (and
``router:external``) mean: a network or QoS policy made or updated with ``shared`` gets one, and
making or removing a ``*`` entry sets the flag, as Neutron derives it.

A project sees the policies it owns and those that target it. Removing a policy (or retargeting
it) while the project it shares with still has ports on the network, networks and ports using
the QoS policy, subnets cut from the pool, pools in the address scope or ports in the security
group, that no other policy covers is refused (409 RbacPolicyInUse).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete as sql_delete
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from overcast.core.context import AuthContext
from overcast.core.errors import Invalid, NotFound
from overcast.core.network import NetworkCore, quotas
from overcast.core.network.common import (EXTERNAL, RBAC_TYPES, SHARED, authorize, in_region, lookup, owner, touch,
                                          visible)
from overcast.core.network.errors import bad_attribute, conflict, not_found, policy
from overcast.store.network import AddressScope, Network, Port, QosPolicy, RbacPolicy, SecurityGroup, Subnet, \
    SubnetPool

WILDCARD = "*"
#: object type -> (its model, the actions it takes)
OBJECT_TYPES: dict[str, tuple[type, tuple[str, ...]]] = {
    "network": (Network, (SHARED, EXTERNAL)),
    "qos_policy": (QosPolicy, (SHARED,)),
    "subnetpool": (SubnetPool, (SHARED,)),
    "address_scope": (AddressScope, (SHARED,)),
    "security_group": (SecurityGroup, (SHARED,)),
}
#: (object type, action) -> the attribute a ``*`` entry stands for (security groups have none)
FLAGS = {("network", SHARED): "shared", ("network", EXTERNAL): "external", ("qos_policy", SHARED): "shared",
         ("subnetpool", SHARED): "shared", ("address_scope", SHARED): "shared"}


def _not_found(policy_id: str) -> NotFound:
    return NotFound(f"RBAC policy of type unknown with ID {policy_id} not found", kind="RbacPolicyNotFound")


def query(core: NetworkCore, session: Session, ctx: AuthContext) -> Select[tuple[RbacPolicy]]:
    """The policies of the region ``ctx`` may list: those it owns or that target its project (all for admins)."""
    policies = in_region(RbacPolicy, core.region)
    if ctx.is_admin:
        return policies
    return policies.where(or_(RbacPolicy.project_id == ctx.project_id, RbacPolicy.target_project == ctx.project_id))


def get(core: NetworkCore, session: Session, ctx: AuthContext, policy_id: str) -> RbacPolicy:
    """:raises NotFound: RbacPolicyNotFound."""
    entry = lookup(session, RbacPolicy, policy_id, core.region)
    if entry is None or not (ctx.is_admin or ctx.project_id in (entry.project_id, entry.target_project)):
        raise _not_found(policy_id)
    return entry


def _object(core: NetworkCore, session: Session, ctx: AuthContext, object_type: str, object_id: str) -> Any:
    """The object a new policy shares, which the caller must own (admins: any).

    :raises NotFound: none the caller sees. :raises Forbidden: one it sees but does not own.
    """
    model = OBJECT_TYPES[object_type][0]
    record = lookup(session, model, object_id, core.region)
    if record is None or not (visible(ctx, record, session) or getattr(record, "shared", False)):
        raise not_found(object_type, object_id)
    if not ctx.is_admin and record.project_id != ctx.project_id:
        raise policy("create_rbac_policy")
    return record


def _target(ctx: AuthContext, target: str, action: str) -> str:
    """:raises Forbidden: a non-admin sharing with every project (Neutron's restrict_wildcard)."""
    if target == WILDCARD and not ctx.is_admin:
        raise policy(f"{action}_rbac_policy:target_tenant")
    return target


def create(core: NetworkCore, session: Session, ctx: AuthContext, body: dict[str, Any]) -> RbacPolicy:
    """:raises Invalid: an unknown object type, or an action it does not take.
    :raises NotFound: :raises Forbidden: :raises Conflict: DuplicateRbacPolicy, OverQuota."""
    object_type, action = body["object_type"], body["action"]
    if object_type not in OBJECT_TYPES:
        raise bad_attribute("object_type", f"'{object_type}' is not in {sorted(OBJECT_TYPES)}")
    valid = OBJECT_TYPES[object_type][1]
    if action not in valid:
        raise Invalid(f"Invalid action '{action}' for object type '{object_type}'. Valid actions: {list(valid)}",
                      kind="InvalidActionForType")
    project_id = owner(ctx, body, "create_rbac_policy")
    target = _target(ctx, body["target_tenant"], "create")
    record = _object(core, session, ctx, object_type, body["object_id"])
    quotas.check(core, session, project_id, "rbac_policy")
    entry = RbacPolicy(cloud=core.region, project_id=project_id, object_type=object_type, object_id=record.id,
                       action=action)
    _record(session, entry, target)
    _flag(core, session, record, entry, True)
    return entry


def _record(session: Session, entry: RbacPolicy, target: str) -> None:
    """Record ``entry`` (new, or retargeted) with ``target``.

    :raises Conflict: DuplicateRbacPolicy (one made before, or concurrently).
    """
    same = select(RbacPolicy.id).where(RbacPolicy.object_type == entry.object_type,
                                       RbacPolicy.object_id == entry.object_id, RbacPolicy.action == entry.action,
                                       RbacPolicy.target_project == target)
    if entry.id is not None:
        same = same.where(RbacPolicy.id != entry.id)
    duplicate = conflict("DuplicateRbacPolicy", "An RBAC policy already exists with those values.")
    with session.no_autoflush:
        if session.scalar(same.limit(1)) is not None:
            raise duplicate
    try:
        with session.begin_nested():
            entry.target_project = target
            session.add(entry)
            session.flush()
    except IntegrityError:
        raise duplicate from None


def _flag(core: NetworkCore, session: Session, record: Any, entry: RbacPolicy, present: bool) -> None:
    """A ``*`` entry made (``present``) or gone: the flag it stands for follows."""
    if entry.target_project != WILDCARD:
        return
    attr = FLAGS[(entry.object_type, entry.action)]
    if getattr(record, attr) != present:
        setattr(record, attr, present)
        touch(record)
        if isinstance(record, Network):
            core.realise(session, record)


def _object_of(session: Session, entry: RbacPolicy) -> Any:
    return session.get(OBJECT_TYPES[entry.object_type][0], entry.object_id)


def _check_unused(session: Session, entry: RbacPolicy) -> None:
    """:raises Conflict: RbacPolicyInUse, a project that would lose access (the target, or any
    other than the owner for ``*``) still uses the object and no other policy covers it."""
    record = _object_of(session, entry)
    if record is None:
        return
    others = set(session.scalars(select(RbacPolicy.target_project).where(
        RbacPolicy.object_type == entry.object_type, RbacPolicy.object_id == entry.object_id,
        RbacPolicy.action == entry.action, RbacPolicy.id != entry.id)))
    if WILDCARD in others:
        return
    for user_id, project_id in _users(session, entry.object_type, record):
        if project_id in ("", record.project_id) or project_id in others:
            continue
        if entry.target_project in (WILDCARD, project_id):
            raise conflict("RbacPolicyInUse", f"RBAC policy on object {record.id} cannot be removed because other "
                                              f"objects depend on it.\nDetails: {user_id} of project {project_id}")


def _users(session: Session, object_type: str, record: Any) -> list[tuple[str, str]]:
    """(id, project) of what uses ``record``: ports on a network; networks and ports under a QoS
    policy; subnets cut from a pool; pools in an address scope; ports in a security group."""
    if object_type == "network":
        return [(r.id, r.project_id) for r in session.execute(
            select(Port.id, Port.project_id).where(Port.network_id == record.id))]
    if object_type == "qos_policy":
        return [(r.id, r.project_id) for model in (Network, Port) for r in session.execute(
            select(model.id, model.project_id).where(model.qos_policy_id == record.id))]
    if object_type == "subnetpool":
        return [(r.id, r.project_id) for r in session.execute(
            select(Subnet.id, Subnet.project_id).where(Subnet.subnetpool_id == record.id))]
    if object_type == "address_scope":
        return [(r.id, r.project_id) for r in session.execute(
            select(SubnetPool.id, SubnetPool.project_id).where(SubnetPool.address_scope_id == record.id))]
    return [(r.id, r.project_id) for r in session.execute(  # a security group (a JSON list on ports)
        select(Port.id, Port.project_id, Port.security_group_ids).where(Port.cloud == record.cloud))
        if record.id in (r.security_group_ids or [])]


def update(core: NetworkCore, session: Session, ctx: AuthContext, policy_id: str,
           changes: dict[str, Any]) -> RbacPolicy:
    """Retarget a policy. :raises NotFound: :raises Forbidden: :raises Conflict: RbacPolicyInUse
    (the old target still uses the object), DuplicateRbacPolicy."""
    entry = get(core, session, ctx, policy_id)
    authorize(ctx, "update_rbac_policy", entry.project_id)
    if "target_tenant" not in changes or changes["target_tenant"] == entry.target_project:
        return entry
    target = _target(ctx, changes["target_tenant"], "update")
    _check_unused(session, entry)
    record = _object_of(session, entry)
    _flag(core, session, record, entry, False)
    _record(session, entry, target)
    _flag(core, session, record, entry, True)
    return entry


def delete(core: NetworkCore, session: Session, ctx: AuthContext, policy_id: str) -> None:
    """:raises NotFound: :raises Forbidden: :raises Conflict: RbacPolicyInUse."""
    entry = get(core, session, ctx, policy_id)
    authorize(ctx, "delete_rbac_policy", entry.project_id)
    _check_unused(session, entry)
    record = _object_of(session, entry)
    session.delete(entry)
    session.flush()
    if record is not None:
        _flag(core, session, record, entry, False)


# -- what the flags of networks and QoS policies mean ------------------------------------------
def follow_flags(core: NetworkCore, session: Session, record: Any) -> None:
    """After a create or update of a network, QoS policy, subnet pool or address scope: each flag a ``*`` entry stands for
    (``shared``, ``router:external``) has its entry, made by the record's owner, or none.

    :raises Conflict: RbacPolicyInUse, a flag turned off while other projects use the object.
    """
    object_type = RBAC_TYPES[type(record).__name__]
    for (kind, action), attr in FLAGS.items():
        if kind != object_type:
            continue
        found = session.scalar(select(RbacPolicy).where(
            RbacPolicy.object_type == kind, RbacPolicy.object_id == record.id, RbacPolicy.action == action,
            RbacPolicy.target_project == WILDCARD))
        if getattr(record, attr) and found is None:
            session.add(RbacPolicy(cloud=record.cloud, project_id=record.project_id, object_type=kind,
                                   object_id=record.id, action=action, target_project=WILDCARD))
        elif not getattr(record, attr) and found is not None:
            _check_unused(session, found)
            session.delete(found)
    session.flush()


def forget(session: Session, record: Any) -> None:
    """The object is being deleted: its policies go with it."""
    session.execute(sql_delete(RbacPolicy).where(RbacPolicy.object_id == record.id))
