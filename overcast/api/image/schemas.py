"""Glance's JSON schemas: served at ``/v2/schemas/*`` and used to validate request bodies.

The image schema is Glance's ``PermissiveSchema``: the base properties below, and any other
(additional) property must be a string.
"""

from __future__ import annotations

import copy
from typing import Any

import falcon

from overcast.api.routing import Registry
from overcast.core.image.writes import CONTAINER_FORMATS, DISK_FORMATS

_UUID_PATTERN = ("^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$")


def _s(kind: Any, description: str, **more: Any) -> dict[str, Any]:
    return {"type": kind, "description": description, **more}


IMAGE_PROPERTIES: dict[str, Any] = {
    "id": _s("string", "An identifier for the image", pattern=_UUID_PATTERN),
    "name": _s(["null", "string"], "Descriptive name for the image", maxLength=255),
    "status": _s("string", "Status of the image", readOnly=True,
                 enum=["queued", "saving", "active", "killed", "deleted", "uploading", "importing",
                       "pending_delete", "deactivated"]),
    "visibility": _s("string", "Scope of image accessibility", enum=["community", "public", "private", "shared"]),
    "protected": _s("boolean", "If true, image will not be deletable."),
    "os_hidden": _s("boolean", "If true, image will not appear in default image list response."),
    "checksum": _s(["null", "string"], "md5 hash of image contents.", readOnly=True, maxLength=32),
    "os_hash_algo": _s(["null", "string"], "Algorithm to calculate the os_hash_value", readOnly=True,
                       maxLength=64),
    "os_hash_value": _s(["null", "string"], "Hexdigest of the image contents using the algorithm specified by "
                        "the os_hash_algo", readOnly=True, maxLength=128),
    "owner": _s(["null", "string"], "Owner of the image", maxLength=255),
    "size": _s(["null", "integer"], "Size of image file in bytes", readOnly=True),
    "virtual_size": _s(["null", "integer"], "Virtual size of image in bytes", readOnly=True),
    "container_format": _s(["null", "string"], "Format of the container", enum=[None, *CONTAINER_FORMATS]),
    "disk_format": _s(["null", "string"], "Format of the disk", enum=[None, *DISK_FORMATS]),
    "created_at": _s("string", "Date and time of image registration", readOnly=True),
    "updated_at": _s("string", "Date and time of the last image modification", readOnly=True),
    "tags": _s("array", "List of strings related to the image", items={"type": "string", "maxLength": 255}),
    "direct_url": _s("string", "URL to access the image file kept in external store", readOnly=True),
    # bounded by Glance's Integer columns (Glance itself answers a 500 beyond them)
    "min_ram": _s("integer", "Amount of ram (in MB) required to boot image.", minimum=0, maximum=2147483647),
    "min_disk": _s("integer", "Amount of disk space (in GB) required to boot image.", minimum=0,
                   maximum=2147483647),
    "self": _s("string", "An image self url", readOnly=True),
    "file": _s("string", "An image file url", readOnly=True),
    "stores": _s("string", "Store in which image data resides.  Only present when the operator has enabled "
                 "multiple stores.  May be a comma-separated list of store identifiers.", readOnly=True),
    "schema": _s("string", "An image schema url", readOnly=True),
    "locations": _s("array", "A set of URLs to access the image file kept in external store", items={
        "type": "object", "required": ["url", "metadata"],
        "properties": {
            "url": {"type": "string", "maxLength": 255}, "metadata": {"type": "object"},
            "validation_data": {
                "description": "Values to be used to populate the corresponding image properties. If the image "
                               "status is not 'queued', values must exactly match those already contained in "
                               "the image properties.",
                "type": "object", "writeOnly": True, "additionalProperties": False,
                "properties": {"checksum": {"type": "string", "minLength": 32, "maxLength": 32},
                               "os_hash_algo": {"type": "string", "maxLength": 64},
                               "os_hash_value": {"type": "string", "maxLength": 128}},
                "required": ["os_hash_algo", "os_hash_value"]}}}),
}

MEMBER_PROPERTIES: dict[str, Any] = {
    "member_id": _s("string", "An identifier for the image member (tenantId)"),
    "image_id": _s("string", "An identifier for the image", pattern=_UUID_PATTERN),
    "created_at": _s("string", "Date and time of image member creation"),
    "updated_at": _s("string", "Date and time of last modification of image member"),
    "status": _s("string", "The status of this image member", enum=["pending", "accepted", "rejected"]),
    "schema": {"readOnly": True, "type": "string"},
}


TASK_PROPERTIES: dict[str, Any] = {
    "id": _s("string", "An identifier for the task", pattern=_UUID_PATTERN),
    "type": _s("string", "The type of task represented by this content", enum=["import", "api_image_import",
                                                                                "location_import"]),
    "status": _s("string", "The current status of this task", enum=["pending", "processing", "success",
                                                                     "failure"]),
    "input": _s(["null", "object"], "The parameters required by task, JSON blob"),
    "result": _s(["null", "object"], "The result of current task, JSON blob"),
    "owner": _s("string", "An identifier for the owner of this task"),
    "message": _s("string", "Human-readable informative message only included when appropriate (usually on "
                  "failure)"),
    "image_id": _s("string", "Image associated with the task"),
    "request_id": _s("string", "Human-readable informative request-id"),
    "user_id": _s("string", "User associated with the task"),
    "expires_at": _s(["null", "string"], "Datetime when this resource would be subject to removal"),
    "created_at": _s("string", "Datetime when this resource was created"),
    "updated_at": _s("string", "Datetime when this resource was updated"),
    "self": {"readOnly": True, "type": "string"},
    "schema": {"readOnly": True, "type": "string"},
}


def task_schema(partial: bool = False) -> dict[str, Any]:
    """Glance's task schema; ``partial`` (a task in a list) has no input, result or message."""
    hidden = ("input", "result", "message") if partial else ()
    properties = {k: copy.deepcopy(v) for k, v in TASK_PROPERTIES.items() if k not in hidden}
    return {"name": "task", "properties": properties, "additionalProperties": False}


def _collection(name: str, item: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "properties": {name: {"type": "array", "items": item},
                                         "schema": {"type": "string"}, "first": {"type": "string"},
                                         "next": {"type": "string"}},
            "links": [{"rel": "first", "href": "{first}"}, {"rel": "next", "href": "{next}"},
                      {"rel": "describedby", "href": "{schema}"}]}


def image_schema() -> dict[str, Any]:
    return {"name": "image", "properties": copy.deepcopy(IMAGE_PROPERTIES),
            "additionalProperties": {"type": "string"},
            "links": [{"rel": "self", "href": "{self}"}, {"rel": "enclosure", "href": "{file}"},
                      {"rel": "describedby", "href": "{schema}"}]}


def member_schema() -> dict[str, Any]:
    return {"name": "member", "properties": copy.deepcopy(MEMBER_PROPERTIES), "additionalProperties": False}


DOCUMENTS = {
    "v2_schemas_image": image_schema,
    "v2_schemas_images": lambda: _collection("images", image_schema()),
    "v2_schemas_member": member_schema,
    "v2_schemas_members": lambda: {"name": "members", "properties": {
        "members": {"type": "array", "items": member_schema()}, "schema": {"type": "string"}},
        "links": [{"rel": "schema", "href": "{schema}"}]},
    "v2_schemas_task": task_schema,
    "v2_schemas_tasks": lambda: _collection("tasks", task_schema(partial=True)),
}

#: request bodies: the image schema without the ``readOnly`` noise (read-only keys answer 403 first)
IMAGE_REQUEST = {"type": "object", "properties": {k: {x: y for x, y in v.items() if x not in ("readOnly",
                                                                                            "description")}
                                                  for k, v in IMAGE_PROPERTIES.items()},
                 "additionalProperties": {"type": "string"}}


#: ``POST /v2/images/{id}/locations`` (2.17)
ADD_LOCATION = {"type": "object", "required": ["url"], "additionalProperties": False, "properties": {
    "url": {"type": "string", "maxLength": 255},
    "validation_data": {"type": "object", "additionalProperties": False, "properties": {
        "os_hash_algo": {"type": "string", "maxLength": 64},
        "os_hash_value": {"type": "string", "maxLength": 128}}}}}


class Schema:
    def __init__(self, document: dict[str, Any]):
        self.document = document

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.document

    on_head = on_get


def bind(registry: Registry) -> None:
    for name, build in DOCUMENTS.items():
        registry.bind("image", name, Schema(build()))
