"""Metadefs records as Glance renders them: attributes that are unset are left out, times are ISO."""

from __future__ import annotations

from typing import Any

from overcast.api.image.views import isotime
from overcast.store.metadefs import (MetadefAssociation, MetadefNamespace, MetadefObject, MetadefProperty,
                                     MetadefResourceType, MetadefTag)


def _present(view: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in view.items() if v is not None}


def _times(row: Any) -> dict[str, Any]:
    return {"created_at": isotime(row.created_at), "updated_at": isotime(row.updated_at)}


def namespace_href(name: str) -> str:
    return f"/v2/metadefs/namespaces/{name}"


def association_view(association: MetadefAssociation) -> dict[str, Any]:
    return _present({"name": association.resource_type.name, "prefix": association.prefix,
                     "properties_target": association.properties_target, **_times(association)})


def resource_type_view(resource_type: MetadefResourceType) -> dict[str, Any]:
    return {"name": resource_type.name, **_times(resource_type)}


def object_view(namespace: str, obj: MetadefObject, prefix: str = "") -> dict[str, Any]:
    """An object; with ``prefix`` (a resource type's) its property names carry it."""
    properties = {prefix + k: v for k, v in obj.properties.items()} if obj.properties is not None else None
    required = [prefix + name for name in obj.required] if obj.required else obj.required
    return _present({"name": obj.name, "description": obj.description, "required": required,
                     "properties": properties, **_times(obj),
                     "self": f"{namespace_href(namespace)}/objects/{obj.name}",
                     "schema": "/v2/schemas/metadefs/object"})


def property_view(prop: MetadefProperty) -> dict[str, Any]:
    return {"name": prop.name, **prop.definition}


def properties_view(properties: list[MetadefProperty], prefix: str = "") -> dict[str, Any]:
    """Property definitions by (prefixed) name, the name left out of each, as Glance lists them."""
    return {prefix + p.name: dict(p.definition) for p in properties}


def tag_view(tag: MetadefTag) -> dict[str, Any]:
    return {"name": tag.name, **_times(tag)}


def namespace_view(namespace: MetadefNamespace, detail: bool = False, resource_type: str | None = None
                   ) -> dict[str, Any]:
    """A namespace (and its associations); ``detail`` adds what it holds (objects, properties, tags),
    with property names prefixed as ``resource_type``'s association says."""
    view = _present({"namespace": namespace.namespace, "display_name": namespace.display_name,
                     "description": namespace.description, "visibility": namespace.visibility,
                     "protected": namespace.protected, "owner": namespace.owner, **_times(namespace),
                     "self": namespace_href(namespace.namespace), "schema": "/v2/schemas/metadefs/namespace"})
    if namespace.associations:
        view["resource_type_associations"] = [association_view(a) for a in namespace.associations]
    if not detail:
        return view
    prefix = next((a.prefix or "" for a in namespace.associations
                   if resource_type and a.resource_type.name == resource_type), "")
    if namespace.objects:
        view["objects"] = [object_view(namespace.namespace, o, prefix) for o in namespace.objects]
    if namespace.properties:
        view["properties"] = properties_view(namespace.properties, prefix)
    if namespace.tags:
        view["tags"] = [{"name": t.name} for t in namespace.tags]
    return view
