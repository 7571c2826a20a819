"""What every network resource shares: who may see and change it (Neutron's default policy),
fetch-or-404 within the region, standard attributes (revision, timestamps, tags) and the owning
project.

Neutron's defaults, as DevStack runs them: the admin role sees and changes everything; a member
changes its own project's resources; a reader only reads them. Another project's resource is
404 (it is not there for the caller), an action the role does not allow is 403. A resource of
another region is 404 for everyone: each region is a Neutron of its own.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from overcast.core import policy as rules
from overcast.core.context import AuthContext
from overcast.core.errors import Invalid, NotFound
from overcast.core.network.errors import not_found, policy
from overcast.store.models import utcnow
from overcast.store.network import Network, RbacPolicy, StandardAttrs

R = TypeVar("R", bound=StandardAttrs)
M = TypeVar("M")


def visible(ctx: AuthContext, record: Any, session: Session | None = None) -> bool:
    """Admins see everything; others their project's records, shared or external networks, and
    (given a session) what an RBAC policy shares with their project."""
    if ctx.is_admin or record.project_id == ctx.project_id:
        return True
    if isinstance(record, Network) and (record.shared or record.external):
        return True
    return session is not None and type(record).__name__ in RBAC_TYPES and session.scalar(
        shared_with(ctx, type(record), record.cloud).where(RbacPolicy.object_id == record.id).limit(1)) is not None


#: the RBAC actions: use the object as one's own (ports on a network, a QoS policy), or attach
#: routers and floating IPs to the network as an external one
SHARED, EXTERNAL = "access_as_shared", "access_as_external"
#: record class name -> the RBAC object type that shares it
RBAC_TYPES = {"Network": "network", "QosPolicy": "qos_policy", "SubnetPool": "subnetpool",
              "AddressScope": "address_scope", "SecurityGroup": "security_group"}


def shared_with(ctx: AuthContext, model: type, region: str, action: str | None = None) -> Select[tuple[str]]:
    """The ids of ``model`` records of ``region`` an RBAC policy (for ``action``; None: any)
    shares with the caller's project or with every project."""
    query = select(RbacPolicy.object_id).where(RbacPolicy.object_type == RBAC_TYPES[model.__name__],
                                               RbacPolicy.cloud == region,
                                               RbacPolicy.target_project.in_([ctx.project_id or "", "*"]))
    return query if action is None else query.where(RbacPolicy.action == action)


def in_region(model: type[M], region: str) -> Select[tuple[M]]:
    """Every ``model`` record of ``region``."""
    return select(model).where(model.cloud == region)


def owned(ctx: AuthContext, model: type[M], region: str) -> Select[tuple[M]]:
    """The ``model`` records of ``region`` ``ctx`` may list: all for admins, else its project's."""
    query = in_region(model, region)
    return query if ctx.is_admin else query.where(model.project_id == ctx.project_id)


def own_or_granted(ctx: AuthContext, model: type[M], region: str, *also: Any) -> Select[tuple[M]]:
    """The ``model`` records of ``region`` ``ctx`` may list: all for admins, else its project's,
    those an RBAC policy shares with its project, and those matching any of ``also``, in no order."""
    query = in_region(model, region)
    if ctx.is_admin:
        return query
    return query.where(or_(model.project_id == ctx.project_id,  # type: ignore[attr-defined]
                           model.id.in_(shared_with(ctx, model, region)), *also))  # type: ignore[attr-defined]


def own_or_shared(ctx: AuthContext, model: type[M], region: str) -> Select[tuple[M]]:
    """:func:`own_or_granted` and the shared ones, for a model with ``shared``."""
    return own_or_granted(ctx, model, region, model.shared.is_(True))  # type: ignore[attr-defined]


def sees_own_or_shared(ctx: AuthContext, record: Any, session: Session) -> bool:
    """Whether ``ctx`` may see ``record`` (a record with ``shared``): admin, its project's, shared,
    or shared with its project by an RBAC policy."""
    return bool(record.shared) or visible(ctx, record, session)


def lookup(session: Session, model: type[M], item_id: str | None, region: str) -> M | None:
    """The record with this id if it belongs to ``region`` (no policy check)."""
    if not item_id:
        return None
    record = session.get(model, item_id)
    return record if record is not None and record.cloud == region else None


def fetch(session: Session, ctx: AuthContext, model: type[R], resource: str, item_id: str, region: str) -> R:
    """The record of ``region`` if the caller may see it.

    :raises NotFound: (Neutron's ``<Resource>NotFound``) none, another region's, or not visible.
    """
    record = lookup(session, model, item_id, region)
    if record is None or not visible(ctx, record, session):
        raise not_found(resource, item_id)
    return record


def authorize(ctx: AuthContext, action: str, project_id: str | None) -> None:
    """Neutron's rule ``action`` (core/network/policies.py) for a resource of ``project_id``.

    :raises Forbidden: PolicyNotAuthorized.
    """
    if not rules.allowed(action, ctx, {"project_id": project_id}):
        raise policy(action)


def admin_only(ctx: AuthContext, action: str, given: Any) -> None:
    """An attribute only admins may set (``shared``, ``router:external``, ``provider:*`` ...): the
    rule ``action`` decides when the body gives it.

    :raises Forbidden: PolicyNotAuthorized.
    """
    if given is not None and not rules.allowed(action, ctx, {}):
        raise policy(action)


def owner(ctx: AuthContext, body: dict[str, Any], action: str) -> str:
    """The project a new resource belongs to: the caller's, or (for an admin) the one named.

    :raises Forbidden: a non-admin naming another project, or a reader creating.
    :raises Invalid: no project at all (a system-scoped caller naming none), as Neutron answers.
    """
    project_id = body.get("project_id") or body.get("tenant_id") or ctx.project_id
    if not project_id:
        raise Invalid("Running without keystone AuthN requires that tenant_id is specified", kind="HTTPBadRequest")
    if project_id != ctx.project_id and not ctx.is_admin:
        raise policy(action)
    authorize(ctx, action, project_id)
    return project_id


def touch(record: StandardAttrs) -> None:
    """A change: Neutron bumps revision_number and updated_at on every update."""
    record.revision_number = (record.revision_number or 0) + 1
    record.updated_at = utcnow()


def update_fields(record: Any, changes: dict[str, Any], fields: tuple[str, ...]) -> None:
    """Copy the plain fields present in ``changes`` onto ``record``."""
    for name in fields:
        if name in changes:
            setattr(record, name, changes[name])


# -- tags (standard-attr-tag) ----------------------------------------------------------------
def set_tags(ctx: AuthContext, record: StandardAttrs, resource: str, tags: list[str]) -> list[str]:
    """Replace every tag. :raises Forbidden:"""
    authorize(ctx, f"update_{resource}:tags", record.project_id)
    record.tags = sorted(set(tags))
    touch(record)
    return record.tags


def add_tag(ctx: AuthContext, record: StandardAttrs, resource: str, tag: str) -> None:
    """:raises Forbidden:"""
    authorize(ctx, f"update_{resource}:tags", record.project_id)
    if tag not in record.tags:
        record.tags = sorted({*record.tags, tag})
        touch(record)


def remove_tag(ctx: AuthContext, record: StandardAttrs, resource: str, tag: str | None) -> None:
    """Remove one tag (or all, for ``None``). :raises NotFound: TagNotFound. :raises Forbidden:"""
    authorize(ctx, f"update_{resource}:tags", record.project_id)
    if tag is None:
        record.tags = []
    elif tag in record.tags:
        record.tags = [t for t in record.tags if t != tag]
    else:
        raise NotFound(f"Tag {tag} could not be found.", kind="TagNotFound")
    touch(record)
