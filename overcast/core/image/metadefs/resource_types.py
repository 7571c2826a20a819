"""Metadefs resource types (``OS::Glance::Image`` ...) and their associations with namespaces.

Associating a namespace with a resource type the catalog does not know yet adds that type, as
Glance does; the seeded types (Glance's five) are protected.
"""

from __future__ import annotations

from typing import Any, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.core.context import AuthContext
from overcast.core.errors import Conflict, Forbidden, NotFound
from overcast.core.image.metadefs import changeable_namespace, find_namespace, require_reader
from overcast.store.metadefs import MetadefAssociation, MetadefNamespace, MetadefResourceType
from overcast.store.models import utcnow


def list_resource_types(session: Session, ctx: AuthContext) -> list[MetadefResourceType]:
    """:raises Forbidden: no role that reads the catalog."""
    require_reader(ctx, "list_metadef_resource_types")
    return list(session.scalars(select(MetadefResourceType).order_by(MetadefResourceType.id)))


def list_associations(session: Session, ctx: AuthContext, namespace: str) -> list[MetadefAssociation]:
    """:raises NotFound: namespace not visible."""
    return list(find_namespace(session, ctx, namespace).associations)


def associate(session: Session, namespace: MetadefNamespace, body: Mapping[str, Any]) -> MetadefAssociation:
    """Associate ``namespace`` with the resource type ``body["name"]`` (added when new).

    The caller has checked the policy. :raises Conflict: already associated.
    """
    name = body["name"]
    now = utcnow()
    resource_type = session.scalar(select(MetadefResourceType).where(MetadefResourceType.name == name))
    if resource_type is None:
        resource_type = MetadefResourceType(name=name, protected=False, created_at=now, updated_at=now)
        session.add(resource_type)
        session.flush()
    elif session.get(MetadefAssociation, (namespace.id, resource_type.id)) is not None:
        raise Conflict(f"The metadata definition resource-type association of resource-type={name} to "
                       f"namespace={namespace.namespace}, already exists.")
    association = MetadefAssociation(namespace_id=namespace.id, resource_type=resource_type,
                                     prefix=body.get("prefix"), properties_target=body.get("properties_target"),
                                     created_at=now, updated_at=now)
    session.add(association)
    session.flush()
    return association


def add_association(session: Session, ctx: AuthContext, namespace: str, body: Mapping[str, Any]
                    ) -> MetadefAssociation:
    """``POST /namespaces/{ns}/resource_types``. :raises NotFound: :raises Forbidden: :raises Conflict:"""
    found = changeable_namespace(session, ctx, namespace, "add_metadef_resource_type_association")
    association = associate(session, found, body)
    session.expire(found, ["associations"])
    return association


def remove_association(session: Session, ctx: AuthContext, namespace: str, resource_type: str) -> None:
    """:raises NotFound: namespace or association. :raises Forbidden: not an admin, or a protected namespace."""
    found = changeable_namespace(session, ctx, namespace, "remove_metadef_resource_type_association")
    association = next((a for a in found.associations if a.resource_type.name == resource_type), None)
    if association is None:
        raise NotFound(f"Failed to find resource type {resource_type} to delete")
    if found.protected:
        raise Forbidden(f"Metadata definition resource-type-association {resource_type} is protected and cannot "
                        "be deleted.")
    found.associations.remove(association)
