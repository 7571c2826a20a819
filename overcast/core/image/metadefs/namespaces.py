"""Metadefs namespaces: list (filters, paging, sorting), create with contents, show, update, delete.

Bodies arrive checked against Glance's namespace schema. A new namespace is private, unprotected
and owned by the caller's project unless the body says otherwise; so is an updated one (Glance's
``PUT`` replaces the namespace's own attributes, defaults included).
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from overcast.core.context import AuthContext
from overcast.core.errors import Conflict, Invalid
from overcast.core.image import paging
from overcast.core.image.metadefs import (changeable_namespace, find_namespace, refuse_protected, require_admin,
                                          require_reader, touch)
from overcast.core.image.metadefs.contents import fill
from overcast.core.image.metadefs.resource_types import associate
from overcast.store.metadefs import MetadefAssociation, MetadefNamespace, MetadefResourceType
from overcast.store.models import utcnow

VISIBILITIES = ("public", "private")
SORT_KEYS = ("namespace", "display_name", "visibility", "protected", "owner", "created_at", "updated_at")


def list_namespaces(session: Session, ctx: AuthContext, *, visibility: str | None = None,
                    resource_types: Iterable[str] = (), limit: int | None = None, marker: str | None = None,
                    sort_key: str = "created_at", sort_dir: str = "desc") -> tuple[list[MetadefNamespace], str | None]:
    """The namespaces the caller sees; returns (page, next marker or None).

    ``resource_types``: only namespaces associated with one of them.
    :raises Forbidden: no reader role. :raises Invalid: bad visibility or sort. :raises NotFound: marker.
    """
    require_reader(ctx, "get_metadef_namespaces")
    if visibility is not None and visibility not in VISIBILITIES:
        raise Invalid(f"Invalid visibility value: {visibility}")
    query = select(MetadefNamespace)
    if not ctx.is_admin:
        query = query.where(or_(MetadefNamespace.visibility == "public", MetadefNamespace.owner.is_(None),
                                MetadefNamespace.owner == (ctx.project_id or "")))
    if visibility is not None:
        query = query.where(MetadefNamespace.visibility == visibility)
    wanted = [name for name in resource_types if name]
    if wanted:
        query = query.where(exists().where(
            MetadefAssociation.namespace_id == MetadefNamespace.id,
            MetadefAssociation.resource_type_id == MetadefResourceType.id,
            MetadefResourceType.name.in_(wanted)))
    return paging.page(session, query, MetadefNamespace, sort=[(sort_key, sort_dir)], sort_keys=SORT_KEYS,
                       limit=limit, marker=marker, marker_attr="namespace",
                       check_marker=lambda m: find_namespace(session, ctx, m))


def _check_free(session: Session, name: str, message: str) -> None:
    if session.scalar(select(MetadefNamespace.id).where(MetadefNamespace.namespace == name)) is not None:
        raise Conflict(message)


def create(session: Session, ctx: AuthContext, body: Mapping[str, Any]) -> MetadefNamespace:
    """A namespace with the resource type associations, objects, properties and tags ``body`` lists.

    :raises Forbidden: not an admin. :raises Conflict: the name is taken, or two contents share a name.
    """
    require_admin(ctx, "add_metadef_namespace")
    name = body["namespace"]
    _check_free(session, name, f"The metadata definition namespace={name} already exists.")
    now = utcnow()
    namespace = MetadefNamespace(namespace=name, display_name=body.get("display_name"),
                                 description=body.get("description"),
                                 visibility=body.get("visibility") or "private",
                                 protected=bool(body.get("protected", False)),
                                 owner=body.get("owner") or ctx.project_id, created_at=now, updated_at=now)
    session.add(namespace)
    session.flush()
    for association in body.get("resource_type_associations") or []:
        associate(session, namespace, association)
    fill(session, namespace, body)
    session.expire(namespace)
    return namespace


def show(session: Session, ctx: AuthContext, name: str) -> MetadefNamespace:
    """:raises NotFound: no such namespace, or not visible to the caller."""
    return find_namespace(session, ctx, name)


def update(session: Session, ctx: AuthContext, name: str, body: Mapping[str, Any]) -> MetadefNamespace:
    """Replace the namespace's attributes (a rename too); its contents stay.

    :raises NotFound: :raises Forbidden: not an admin. :raises Conflict: renamed onto another namespace.
    """
    namespace = changeable_namespace(session, ctx, name, "modify_metadef_namespace")
    new_name = body["namespace"]
    if new_name != namespace.namespace:
        _check_free(session, new_name, "Invalid update. It would result in a duplicate metadata definition "
                                       f"namespace with the same name of {new_name}")
    namespace.namespace = new_name
    namespace.display_name = body.get("display_name")
    namespace.description = body.get("description")
    namespace.visibility = body.get("visibility") or "private"
    namespace.protected = bool(body.get("protected") or False)
    namespace.owner = body.get("owner") or ctx.project_id
    touch(namespace)
    session.flush()
    return namespace


def delete(session: Session, ctx: AuthContext, name: str) -> None:
    """The namespace and all it holds. :raises NotFound: :raises Forbidden: not an admin, or protected."""
    namespace = changeable_namespace(session, ctx, name, "delete_metadef_namespace")
    refuse_protected(namespace)
    session.delete(namespace)
