"""Glance's metadata definitions catalog (metadefs): who sees and who changes a namespace, and the
rules every named thing in a namespace (object, property, tag) follows.

Glance's default policy: a project reader (or anyone with a role that implies it) reads the public
namespaces and the private ones their project owns; only an admin creates, changes or deletes
anything in the catalog. A namespace the caller cannot see is 404 to them, never 403. A protected
namespace cannot be deleted, and neither can anything in it.

``namespaces`` (the catalog itself), ``contents`` (objects, properties, tags) and
``resource_types`` (resource types and associations) build on this module.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.core import policy
from overcast.core.context import AuthContext
from overcast.core.errors import Conflict, Forbidden, NotFound
from overcast.store.metadefs import MetadefNamespace, MetadefObject, MetadefProperty, MetadefTag
from overcast.store.models import utcnow

#: anything named within a namespace
Item = TypeVar("Item", MetadefObject, MetadefProperty, MetadefTag)


def can_read(ctx: AuthContext) -> bool:
    return ctx.is_admin or ctx.has_role("reader")


def require_admin(ctx: AuthContext, action: str) -> None:
    """Glance's rule ``action`` (e.g. ``add_metadef_tag``; core/image/policies.py).

    :raises Forbidden: not an admin."""
    if not policy.allowed(action, ctx, {"project_id": ctx.project_id}):
        raise Forbidden(f"You are not authorized to complete {action} action.")


def require_reader(ctx: AuthContext, action: str) -> None:
    """Glance's rule ``action``. :raises Forbidden: no role that reads the catalog."""
    if not policy.allowed(action, ctx, {"project_id": ctx.project_id}):
        raise Forbidden(f"You are not authorized to complete {action} action.")


def is_visible(ctx: AuthContext, namespace: MetadefNamespace) -> bool:
    """Glance's rule: admins see every namespace; others public ones, their own, and unowned ones."""
    return (ctx.is_admin or namespace.visibility == "public" or namespace.owner is None
            or (ctx.project_id is not None and namespace.owner == ctx.project_id))


def find_namespace(session: Session, ctx: AuthContext, name: str) -> MetadefNamespace:
    """The namespace called ``name`` if the caller may read it.

    :raises NotFound: no such namespace, or one the caller cannot see or read.
    """
    namespace = session.scalar(select(MetadefNamespace).where(MetadefNamespace.namespace == name))
    if namespace is None or not is_visible(ctx, namespace) or not can_read(ctx):
        raise NotFound(f"Metadata definition namespace={name} was not found.")
    return namespace


def changeable_namespace(session: Session, ctx: AuthContext, name: str, action: str) -> MetadefNamespace:
    """The namespace called ``name`` if the caller may change it (or what it holds).

    :raises NotFound: not visible to the caller. :raises Forbidden: not an admin.
    """
    namespace = find_namespace(session, ctx, name)
    require_admin(ctx, action)
    return namespace


def touch(row: Any) -> None:
    row.updated_at = utcnow()


# --- named contents: objects, properties, tags -------------------------------------------------------


def find_item(session: Session, namespace: MetadefNamespace, model: type[Item], name: str) -> Item | None:
    return session.scalar(select(model).where(model.namespace_id == namespace.id, model.name == name))


def get_item(session: Session, namespace: MetadefNamespace, model: type[Item], name: str) -> Item:
    """:raises NotFound: no ``model`` called ``name`` in the namespace."""
    item = find_item(session, namespace, model, name)
    if item is None:
        raise NotFound(f"The metadata definition {model.kind} with name={name} was not found in "
                       f"namespace={namespace.namespace}.")
    return item


def check_unique(session: Session, namespace: MetadefNamespace, model: type[Item], name: str,
                 keep: Item | None = None) -> None:
    """:raises Conflict: another ``model`` in the namespace is already called ``name``."""
    found = find_item(session, namespace, model, name)
    if found is not None and found is not keep:
        raise Conflict(f"A metadata definition {model.kind} with name={name} already exists in "
                       f"namespace={namespace.namespace}.")


def add_item(session: Session, namespace: MetadefNamespace, model: type[Item], name: str, **fields: Any) -> Item:
    """A new ``model`` in the namespace (the caller has checked the policy). :raises Conflict:"""
    check_unique(session, namespace, model, name)
    now = utcnow()
    item = model(namespace_id=namespace.id, name=name, created_at=now, updated_at=now, **fields)
    session.add(item)
    session.flush()
    return item


def update_item(session: Session, namespace: MetadefNamespace, model: type[Item], name: str, new_name: str,
                **fields: Any) -> Item:
    """Rename ``name`` to ``new_name`` and set ``fields``. :raises NotFound: :raises Conflict:"""
    item = get_item(session, namespace, model, name)
    check_unique(session, namespace, model, new_name, keep=item)
    item.name = new_name
    for key, value in fields.items():
        setattr(item, key, value)
    touch(item)
    session.flush()
    return item


def delete_item(session: Session, namespace: MetadefNamespace, model: type[Item], name: str) -> None:
    """:raises NotFound: :raises Forbidden: the namespace is protected."""
    item = get_item(session, namespace, model, name)
    if namespace.protected:
        raise Forbidden(f"Metadata definition {model.kind} {name} is protected and cannot be deleted.")
    session.delete(item)


def refuse_protected(namespace: MetadefNamespace) -> None:
    """:raises Forbidden: the namespace is protected (it, and all it holds, stay)."""
    if namespace.protected:
        raise Forbidden(f"Metadata definition namespace {namespace.namespace} is protected and cannot be "
                        "deleted.")
