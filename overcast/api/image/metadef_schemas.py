"""Glance's metadefs schemas: served at ``/v2/schemas/metadefs/*`` and used to check request bodies.

Each document is what Glance's ``Schema.raw()`` gives: the properties, ``additionalProperties``
false, ``required`` and shared ``definitions``; a collection (``namespaces``, ``objects`` ...)
wraps the item schema and carries the definitions itself.
"""

from __future__ import annotations

import copy
from typing import Any, Mapping

from overcast.api import faults
from overcast.api.validation import validate

_ITEM_TYPES = ["array", "boolean", "integer", "number", "object", "string", None]
#: Glance refuses these in a namespace or object body (a property, tag or association: only the times)
READ_ONLY = ("self", "schema", "created_at", "updated_at")


def _ro(description: str) -> dict[str, Any]:
    return {"type": "string", "readOnly": True, "description": description, "format": "date-time"}


#: what a property definition may say (Glance's PropertyType)
PROPERTY_FIELDS: dict[str, Any] = {
    "name": {"type": "string", "maxLength": 255},
    "title": {"type": "string"},
    "description": {"type": "string"},
    "operators": {"type": "array", "items": {"type": "string"}},
    "type": {"type": "string", "enum": _ITEM_TYPES},
    "required": {"$ref": "#/definitions/stringArray"},
    "minimum": {"type": "number"},
    "maximum": {"type": "number"},
    "maxLength": {"$ref": "#/definitions/positiveInteger"},
    "minLength": {"$ref": "#/definitions/positiveIntegerDefault0"},
    "pattern": {"type": "string", "format": "regex"},
    "enum": {"type": "array"},
    "readonly": {"type": "boolean"},
    "default": {},
    "items": {"type": "object", "properties": {"type": {"type": "string", "enum": _ITEM_TYPES},
                                               "enum": {"type": "array"}}},
    "maxItems": {"$ref": "#/definitions/positiveInteger"},
    "minItems": {"$ref": "#/definitions/positiveIntegerDefault0"},
    "uniqueItems": {"type": "boolean", "default": False},
    "additionalItems": {"type": "boolean"},
}


def definitions(min_items: int | None = None) -> dict[str, Any]:
    """Glance's shared definitions; a property's ``stringArray`` needs one item (``min_items=1``)."""
    string_array: dict[str, Any] = {"type": "array", "items": {"type": "string"}, "uniqueItems": True}
    if min_items:
        string_array["minItems"] = min_items
    return {
        "positiveInteger": {"type": "integer", "minimum": 0},
        "positiveIntegerDefault0": {"allOf": [{"$ref": "#/definitions/positiveInteger"}, {"default": 0}]},
        "stringArray": string_array,
        "property": {"type": "object", "additionalProperties": {
            "type": "object", "required": ["title", "type"], "properties": copy.deepcopy(PROPERTY_FIELDS)}},
    }


NAMESPACE_FIELDS: dict[str, Any] = {
    "namespace": {"type": "string", "description": "The unique namespace text.", "maxLength": 80},
    "display_name": {"type": "string", "description": "The user friendly name for the namespace. Used by UI if "
                     "available.", "maxLength": 80},
    "description": {"type": "string", "description": "Provides a user friendly description of the namespace.",
                    "maxLength": 500},
    "visibility": {"type": "string", "description": "Scope of namespace accessibility.",
                   "enum": ["public", "private"]},
    "protected": {"type": "boolean", "description": "If true, namespace will not be deletable."},
    "owner": {"type": "string", "description": "Owner of the namespace.", "maxLength": 255},
    "created_at": _ro("Date and time of namespace creation"),
    "updated_at": _ro("Date and time of the last namespace modification"),
    "schema": {"readOnly": True, "type": "string"},
    "self": {"readOnly": True, "type": "string"},
    "resource_type_associations": {"type": "array", "items": {"type": "object", "properties": {
        "name": {"type": "string"}, "prefix": {"type": "string"}, "properties_target": {"type": "string"}}}},
    "properties": {"$ref": "#/definitions/property"},
    "objects": {"type": "array", "items": {"type": "object", "properties": {
        "name": {"type": "string"}, "description": {"type": "string"},
        "required": {"$ref": "#/definitions/stringArray"}, "properties": {"$ref": "#/definitions/property"}}}},
    "tags": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}}}},
}

OBJECT_FIELDS: dict[str, Any] = {
    "name": {"type": "string", "maxLength": 80},
    "description": {"type": "string"},
    "required": {"$ref": "#/definitions/stringArray"},
    "properties": {"$ref": "#/definitions/property"},
    "schema": {"readOnly": True, "type": "string"},
    "self": {"readOnly": True, "type": "string"},
    "created_at": _ro("Date and time of object creation"),
    "updated_at": _ro("Date and time of the last object modification"),
}

ASSOCIATION_FIELDS: dict[str, Any] = {
    "name": {"type": "string", "maxLength": 80, "description": "Resource type names should be aligned with Heat "
             "resource types whenever possible: https://docs.openstack.org/heat/latest/template_guide/"
             "openstack.html"},
    "prefix": {"type": "string", "maxLength": 80, "description": "Specifies the prefix to use for the given "
               "resource type. Any properties in the namespace should be prefixed with this prefix when being "
               "applied to the specified resource type. Must include prefix separator (e.g. a colon :)."},
    "properties_target": {"type": "string", "maxLength": 80, "description": "Some resource types allow more than "
                          "one key / value pair per instance.  For example, Cinder allows user and image metadata "
                          "on volumes. Only the image properties metadata is evaluated by Nova (scheduling or "
                          "drivers). This property allows a namespace target to remove the ambiguity."},
    "created_at": _ro("Date and time of resource type association"),
    "updated_at": _ro("Date and time of the last resource type association modification"),
}

TAG_FIELDS: dict[str, Any] = {
    "name": {"type": "string", "maxLength": 255},
    "created_at": _ro("Date and time of tag creation"),
    "updated_at": _ro("Date and time of the last tag modification"),
}


def _schema(name: str, properties: Mapping[str, Any], required: list[str],
            shared: dict[str, Any] | None = None) -> dict[str, Any]:
    document: dict[str, Any] = {"name": name, "properties": copy.deepcopy(dict(properties)),
                                "additionalProperties": False}
    if shared:
        document["definitions"] = shared
    document["required"] = required
    return document


def namespace_schema() -> dict[str, Any]:
    return _schema("namespace", NAMESPACE_FIELDS, ["namespace"], definitions())


def object_schema() -> dict[str, Any]:
    return _schema("object", OBJECT_FIELDS, ["name"], definitions())


def property_schema(require_name: bool = True) -> dict[str, Any]:
    required = ["type", "title", "name"] if require_name else ["type", "title"]
    shared = {k: v for k, v in definitions(min_items=1).items() if k != "property"}
    return _schema("property", PROPERTY_FIELDS, required, shared)


def association_schema() -> dict[str, Any]:
    return _schema("resource_type_association", ASSOCIATION_FIELDS, ["name"])


def tag_schema() -> dict[str, Any]:
    return _schema("tag", TAG_FIELDS, ["name"])


_LINKS = [{"rel": "first", "href": "{first}"}, {"rel": "next", "href": "{next}"},
          {"rel": "describedby", "href": "{schema}"}]


def collection(name: str, item: dict[str, Any], as_dict: bool = False) -> dict[str, Any]:
    """Glance's CollectionSchema (an array of items) or DictCollectionSchema (items by name)."""
    item = dict(item)
    shared = item.pop("definitions", None)
    members = {"type": "object", "additionalProperties": item} if as_dict else {"type": "array", "items": item}
    document: dict[str, Any] = {"name": name, "properties": {name: members, "first": {"type": "string"},
                                                             "next": {"type": "string"},
                                                             "schema": {"type": "string"}},
                                "links": copy.deepcopy(_LINKS)}
    if shared:
        document["definitions"] = shared
    return document


def _properties_collection() -> dict[str, Any]:
    # a property's name is its key in the collection, not a field
    return collection("properties", property_schema(require_name=False), as_dict=True)


#: endpoint name -> document
DOCUMENTS = {
    "v2_schemas_metadefs_namespace": namespace_schema,
    "v2_schemas_metadefs_namespaces": lambda: collection("namespaces", namespace_schema()),
    "v2_schemas_metadefs_resource_type": association_schema,
    "v2_schemas_metadefs_resource_types": lambda: collection("resource_type_associations", association_schema()),
    "v2_schemas_metadefs_object": object_schema,
    "v2_schemas_metadefs_objects": lambda: collection("objects", object_schema()),
    "v2_schemas_metadefs_property": property_schema,
    "v2_schemas_metadefs_properties": _properties_collection,
    "v2_schemas_metadefs_tag": tag_schema,
    "v2_schemas_metadefs_tags": lambda: collection("tags", tag_schema()),
}

def _namespace_request() -> dict[str, Any]:
    """The namespace schema Glance publishes, less lenient for what a request may list: each
    resource type association, object and tag needs its name (Glance's own code reads it, and
    fails with a 500 where it is missing)."""
    schema = namespace_schema()
    schema["properties"] = dict(schema["properties"])
    for key in ("resource_type_associations", "objects", "tags"):
        listed = dict(schema["properties"][key])
        listed["items"] = {**listed["items"], "required": ["name"]}
        schema["properties"][key] = listed
    return schema


#: the request bodies' schemas, built once
NAMESPACE_REQUEST = _namespace_request()
OBJECT_REQUEST = object_schema()
PROPERTY_REQUEST = property_schema()
PROPERTY_IN_OBJECT = property_schema(require_name=False)
ASSOCIATION_REQUEST = association_schema()
TAG_REQUEST = tag_schema()
TAGS_REQUEST = {"type": "object", "required": ["tags"], "properties": {
    "tags": {"type": "array", "items": {**tag_schema(), "type": "object"}}}}


def check(body: Any, schema: Mapping[str, Any], read_only: tuple[str, ...] = ("created_at", "updated_at")
          ) -> dict[str, Any]:
    """``body`` if it is an object the schema accepts (Glance checks read-only attributes first).

    :raises faults.Forbidden: a read-only attribute. :raises faults.BadRequest: anything else wrong.
    """
    if not isinstance(body, dict):
        raise faults.BadRequest("Request body must be a JSON object.")
    for key in read_only:
        if key in body:
            raise faults.Forbidden(f"Attribute '{key}' is read-only.")
    validate(copy.deepcopy(body), schema)  # a copy: the validator fills in the schema's defaults
    return body
