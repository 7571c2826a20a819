"""What a metadefs namespace holds: objects, property definitions and tag definitions.

Request bodies arrive already checked against Glance's schemas (``api/image/metadef_schemas``);
these functions apply the catalog's rules: policy, visibility, unique names, protected namespaces.
Every function that reads raises NotFound for a namespace the caller cannot see; every one that
changes something raises Forbidden for a caller who is not an admin.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from overcast.core.context import AuthContext
from overcast.core.errors import Conflict, NotFound
from overcast.core.image import paging
from overcast.core.image.metadefs import (add_item, changeable_namespace, delete_item, find_namespace,
                                          get_item, refuse_protected, require_admin, update_item)
from overcast.store.metadefs import MetadefNamespace, MetadefObject, MetadefProperty, MetadefTag

#: what ``DELETE /objects``, ``/properties`` and ``/tags`` remove, by the word in the URL
KINDS: dict[str, type[MetadefObject] | type[MetadefProperty] | type[MetadefTag]] = {
    "objects": MetadefObject, "properties": MetadefProperty, "tags": MetadefTag}
TAG_SORT_KEYS = ("name", "created_at", "updated_at")


def _object_fields(body: Mapping[str, Any]) -> dict[str, Any]:
    return {"description": body.get("description"), "required": body.get("required"),
            "properties": body.get("properties")}


def _definition(body: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "name"}


# --- objects ------------------------------------------------------------------------------------------


def list_objects(session: Session, ctx: AuthContext, namespace: str) -> list[MetadefObject]:
    """:raises NotFound: namespace not visible."""
    return list(find_namespace(session, ctx, namespace).objects)


def get_object(session: Session, ctx: AuthContext, namespace: str, name: str) -> MetadefObject:
    """:raises NotFound: namespace or object."""
    return get_item(session, find_namespace(session, ctx, namespace), MetadefObject, name)


def add_object(session: Session, ctx: AuthContext, namespace: str, body: Mapping[str, Any]) -> MetadefObject:
    """:raises NotFound: :raises Forbidden: :raises Conflict: the name is taken."""
    found = changeable_namespace(session, ctx, namespace, "add_metadef_object")
    return add_item(session, found, MetadefObject, body["name"], **_object_fields(body))


def update_object(session: Session, ctx: AuthContext, namespace: str, name: str, body: Mapping[str, Any]
                  ) -> MetadefObject:
    """Replace the object with ``body`` (a rename too). :raises NotFound: :raises Forbidden: :raises Conflict:"""
    found = changeable_namespace(session, ctx, namespace, "modify_metadef_object")
    return update_item(session, found, MetadefObject, name, body["name"], **_object_fields(body))


def delete_object(session: Session, ctx: AuthContext, namespace: str, name: str) -> None:
    """:raises NotFound: :raises Forbidden: not an admin, or a protected namespace."""
    found = changeable_namespace(session, ctx, namespace, "delete_metadef_object")
    delete_item(session, found, MetadefObject, name)


# --- properties ---------------------------------------------------------------------------------------


def list_properties(session: Session, ctx: AuthContext, namespace: str) -> list[MetadefProperty]:
    """:raises NotFound: namespace not visible."""
    return list(find_namespace(session, ctx, namespace).properties)


def get_property(session: Session, ctx: AuthContext, namespace: str, name: str,
                 resource_type: str | None = None) -> MetadefProperty:
    """The property ``name``; with ``resource_type``, ``name`` carries that association's prefix.

    :raises NotFound: namespace, property or association, or a name without the prefix.
    """
    found = find_namespace(session, ctx, namespace)
    if resource_type:
        association = next((a for a in found.associations if a.resource_type.name == resource_type), None)
        if association is None:
            raise NotFound(f"The metadata definition resource-type association of resource-type={resource_type} "
                           f"to namespace={namespace}, was not found.")
        prefix = association.prefix or ""
        if not prefix or not name.startswith(prefix):
            raise NotFound(f"Property {name} does not start with the expected resource type association prefix "
                           f"of '{prefix}'.")
        name = name[len(prefix):]
    return get_item(session, found, MetadefProperty, name)


def add_property(session: Session, ctx: AuthContext, namespace: str, body: Mapping[str, Any]) -> MetadefProperty:
    """``body`` is a property definition with its ``name``. :raises NotFound: :raises Forbidden: :raises Conflict:"""
    found = changeable_namespace(session, ctx, namespace, "add_metadef_property")
    return add_item(session, found, MetadefProperty, body["name"], definition=_definition(body))


def update_property(session: Session, ctx: AuthContext, namespace: str, name: str, body: Mapping[str, Any]
                    ) -> MetadefProperty:
    """:raises NotFound: :raises Forbidden: :raises Conflict: renamed onto another property."""
    found = changeable_namespace(session, ctx, namespace, "modify_metadef_property")
    return update_item(session, found, MetadefProperty, name, body["name"], definition=_definition(body))


def delete_property(session: Session, ctx: AuthContext, namespace: str, name: str) -> None:
    """:raises NotFound: :raises Forbidden: not an admin, or a protected namespace."""
    found = changeable_namespace(session, ctx, namespace, "remove_metadef_property")
    delete_item(session, found, MetadefProperty, name)


# --- tags ---------------------------------------------------------------------------------------------


def list_tags(session: Session, ctx: AuthContext, namespace: str, *, limit: int | None = None,
              marker: str | None = None, sort_key: str = "created_at", sort_dir: str = "desc") -> list[MetadefTag]:
    """A page of the namespace's tags. :raises NotFound: namespace or marker. :raises Invalid: sort."""
    found = find_namespace(session, ctx, namespace)
    query = select(MetadefTag).where(MetadefTag.namespace_id == found.id)
    tags, _ = paging.page(session, query, MetadefTag, sort=[(sort_key, sort_dir)], sort_keys=TAG_SORT_KEYS,
                          limit=limit, marker=marker, marker_attr="name", default_limit=None, max_limit=None,
                          missing=lambda m: NotFound(f"The metadata definition tag with name={m} was not found "
                                                     f"in namespace={namespace}."))
    return tags


def get_tag(session: Session, ctx: AuthContext, namespace: str, name: str) -> MetadefTag:
    """:raises NotFound: namespace or tag."""
    return get_item(session, find_namespace(session, ctx, namespace), MetadefTag, name)


def add_tag(session: Session, ctx: AuthContext, namespace: str, name: str) -> MetadefTag:
    """:raises NotFound: :raises Forbidden: :raises Conflict: the namespace has that tag."""
    found = changeable_namespace(session, ctx, namespace, "add_metadef_tag")
    return add_item(session, found, MetadefTag, name)


def add_tags(session: Session, ctx: AuthContext, namespace: str, names: Iterable[str], append: bool
             ) -> list[MetadefTag]:
    """Tags for every name: they replace the namespace's tags, or with ``append`` join them.

    :raises NotFound: :raises Forbidden: :raises Conflict: a name twice, or (appending) one already there.
    """
    found = changeable_namespace(session, ctx, namespace, "add_metadef_tags")
    names = list(names)
    duplicated = next((n for i, n in enumerate(names) if n in names[:i]), None)
    if duplicated is not None:
        raise Conflict(f"A metadata definition tag with name={duplicated} already exists in namespace={namespace}.")
    if not append:
        session.execute(delete(MetadefTag).where(MetadefTag.namespace_id == found.id))
        session.expire(found, ["tags"])
    return [add_item(session, found, MetadefTag, name) for name in names]


def rename_tag(session: Session, ctx: AuthContext, namespace: str, name: str, new_name: str) -> MetadefTag:
    """:raises NotFound: :raises Forbidden: :raises Conflict: the new name is taken."""
    found = changeable_namespace(session, ctx, namespace, "modify_metadef_tag")
    return update_item(session, found, MetadefTag, name, new_name)


def delete_tag(session: Session, ctx: AuthContext, namespace: str, name: str) -> None:
    """:raises NotFound: :raises Forbidden: not an admin, or a protected namespace."""
    found = changeable_namespace(session, ctx, namespace, "delete_metadef_tag")
    delete_item(session, found, MetadefTag, name)


# --- all of one kind ----------------------------------------------------------------------------------


def delete_all(session: Session, ctx: AuthContext, namespace: str, kind: str) -> None:
    """``DELETE /namespaces/{ns}/objects`` (``properties``, ``tags``): everything of that kind.

    :raises NotFound: :raises Forbidden: not an admin, or a protected namespace.
    """
    found = changeable_namespace(session, ctx, namespace, "delete_metadef_namespace")
    if kind == "tags":
        require_admin(ctx, "delete_metadef_tags")
    refuse_protected(found)
    model = KINDS[kind]
    session.execute(delete(model).where(model.namespace_id == found.id))
    session.expire(found, [kind])


def fill(session: Session, namespace: MetadefNamespace, body: Mapping[str, Any]) -> None:
    """A new namespace's objects, properties and tags from its create body. :raises Conflict: a name twice."""
    for obj in body.get("objects") or []:
        add_item(session, namespace, MetadefObject, obj["name"], **_object_fields(obj))
    for name, definition in (body.get("properties") or {}).items():
        add_item(session, namespace, MetadefProperty, name, definition=_definition(definition))
    for tag in body.get("tags") or []:
        add_item(session, namespace, MetadefTag, tag["name"])

