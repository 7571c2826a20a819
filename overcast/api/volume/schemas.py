"""JSON Schema for block storage request bodies (Cinder's cinder/api/schemas/*.py, in shape)."""

from __future__ import annotations

from typing import Any

NAME = {"type": ["string", "null"], "maxLength": 255}
DESCRIPTION = {"type": ["string", "null"], "maxLength": 255}
UUID_OR_NULL = {"type": ["string", "null"], "format": "uuid"}
SIZE = {"type": ["integer", "string"], "pattern": "^[0-9]+$", "minimum": 1, "maximum": 2147483647}
SIZE_OR_NULL = {**SIZE, "type": ["integer", "string", "null"]}
BOOLEAN = {"type": ["boolean", "string"],
           "enum": [True, False, "True", "False", "true", "false", "1", "0", "on", "off", "yes", "no", "t", "f",
                    "y", "n", "TRUE", "FALSE"]}
METADATA = {"type": "object", "patternProperties": {"^.{1,255}$": {"type": "string", "maxLength": 255}},
            "additionalProperties": False, "maxProperties": 128}
METADATA_OR_NULL = {**METADATA, "type": ["object", "null"]}


def wrapped(key: str, properties: dict[str, Any], required: tuple[str, ...] = (), *,
            additional: bool = True, body_required: bool = True) -> dict[str, Any]:
    inner: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": additional}
    if required:
        inner["required"] = list(required)
    schema: dict[str, Any] = {"type": "object", "properties": {key: inner}, "additionalProperties": False}
    if body_required:
        schema["required"] = [key]
    return schema


CREATE_VOLUME = wrapped("volume", {
    "name": NAME, "description": DESCRIPTION, "display_name": NAME, "display_description": DESCRIPTION,
    "size": SIZE_OR_NULL, "availability_zone": {"type": ["string", "null"], "maxLength": 255},
    "source_volid": UUID_OR_NULL, "snapshot_id": UUID_OR_NULL, "imageRef": {"type": ["string", "null"]},
    "image_id": {"type": ["string", "null"]}, "volume_type": {"type": ["string", "null"], "maxLength": 255},
    "metadata": METADATA_OR_NULL, "multiattach": BOOLEAN, "consistencygroup_id": UUID_OR_NULL,
    "group_id": UUID_OR_NULL, "backup_id": UUID_OR_NULL,
})
UPDATE_VOLUME = wrapped("volume", {
    "name": NAME, "description": DESCRIPTION, "display_name": NAME, "display_description": DESCRIPTION,
    "metadata": METADATA,
})
METADATA_BODY = {"type": "object", "properties": {"metadata": METADATA}, "required": ["metadata"],
                 "additionalProperties": False}
IMAGE_METADATA_KEY = {"type": "object", "properties": {"key": {"type": "string", "minLength": 1, "maxLength": 255}},
                      "required": ["key"], "additionalProperties": False}
RETYPE = {"type": "object", "properties": {
    "new_type": {"type": "string", "minLength": 1, "maxLength": 255},
    "migration_policy": {"type": ["string", "null"], "enum": ["on-demand", "never", None]},
}, "required": ["new_type"], "additionalProperties": False}
META_ITEM_BODY = {"type": "object", "properties": {"meta": {**METADATA, "minProperties": 1, "maxProperties": 1}},
                  "required": ["meta"], "additionalProperties": False}

CREATE_SNAPSHOT = wrapped("snapshot", {
    "name": NAME, "description": DESCRIPTION, "display_name": NAME, "display_description": DESCRIPTION,
    "volume_id": UUID_OR_NULL, "force": BOOLEAN, "metadata": METADATA_OR_NULL,
}, ("volume_id",))
UPDATE_SNAPSHOT_STATUS = {"type": "object", "properties": {
    "status": {"type": "string", "maxLength": 255}, "progress": {"type": "string", "pattern": "^[0-9]{1,3}%$"},
}, "required": ["status"], "additionalProperties": False}
UPDATE_SNAPSHOT = wrapped("snapshot", {
    "name": NAME, "description": DESCRIPTION, "display_name": NAME, "display_description": DESCRIPTION,
}, additional=False)

CREATE_BACKUP = wrapped("backup", {
    "volume_id": {"type": "string", "format": "uuid"}, "container": {"type": ["string", "null"], "maxLength": 255},
    "name": NAME, "description": DESCRIPTION, "incremental": BOOLEAN, "force": BOOLEAN,
    "snapshot_id": UUID_OR_NULL, "metadata": METADATA_OR_NULL,
    "availability_zone": {"type": ["string", "null"], "maxLength": 255},
}, ("volume_id",), additional=False)
UPDATE_BACKUP = wrapped("backup", {"name": NAME, "description": DESCRIPTION, "metadata": METADATA_OR_NULL},
                        additional=False)
RESTORE_BACKUP = wrapped("restore", {"volume_id": UUID_OR_NULL, "name": NAME}, additional=False)
IMPORT_BACKUP = wrapped("backup-record", {"backup_service": {"type": "string", "minLength": 1, "maxLength": 255},
                                          "backup_url": {"type": "string", "minLength": 1}},
                        ("backup_service", "backup_url"), additional=False)
RESET_BACKUP_STATUS = {"type": "object", "properties": {"status": {"type": "string", "enum": ["available", "error"]}},
                       "required": ["status"], "additionalProperties": False}

TYPE_NAME = {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^(?!\s)(?!.*\s$).*$"}
EXTRA_SPECS = {"type": "object", "patternProperties": {"^[\\w.:/-]{1,255}$": {"type": ["string", "integer",
                                                                                       "boolean", "number"]}},
               "additionalProperties": False}
CREATE_TYPE = wrapped("volume_type", {
    "name": TYPE_NAME, "description": DESCRIPTION, "extra_specs": EXTRA_SPECS,
    "os-volume-type-access:is_public": BOOLEAN, "is_public": BOOLEAN,
}, ("name",), additional=False)
UPDATE_TYPE = wrapped("volume_type", {
    "name": {**TYPE_NAME, "type": ["string", "null"]}, "description": DESCRIPTION, "is_public": BOOLEAN,
}, additional=False)
EXTRA_SPECS_BODY = {"type": "object", "properties": {"extra_specs": EXTRA_SPECS}, "required": ["extra_specs"],
                    "additionalProperties": False}

#: QoS specs: string values, as Cinder's specs (its keys are up to 255 of these characters)
QOS_SPECS = {"type": "object", "patternProperties": {"^[\\w.:/ -]{1,255}$": {"type": "string", "maxLength": 255}},
             "additionalProperties": False}
CREATE_QOS_SPECS = {"type": "object", "properties": {"qos_specs": {
    **QOS_SPECS, "properties": {"name": TYPE_NAME, "consumer": {"type": "string"}}, "required": ["name"]}},
    "required": ["qos_specs"], "additionalProperties": False}
SET_QOS_SPECS = {"type": "object", "properties": {"qos_specs": QOS_SPECS}, "required": ["qos_specs"],
                 "additionalProperties": False}
UNSET_QOS_SPECS = {"type": "object", "properties": {"keys": {
    "type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 255}, "uniqueItems": True}},
    "required": ["keys"], "additionalProperties": False}

QUOTA_SET = wrapped("quota_set", {}, additional=True)
QUOTA_CLASS_SET = wrapped("quota_class_set", {}, additional=True)

_TRANSFER = {"volume_id": {"type": "string", "format": "uuid"}, "name": NAME}
CREATE_TRANSFER = wrapped("transfer", _TRANSFER, ("volume_id",), additional=False)
CREATE_TRANSFER_355 = wrapped("transfer", {**_TRANSFER, "no_snapshots": BOOLEAN}, ("volume_id",), additional=False)
ACCEPT_TRANSFER = wrapped("accept", {"auth_key": {"type": "string", "minLength": 1, "maxLength": 255}},
                          ("auth_key",), additional=False)

_ENCRYPTION = {"provider": {"type": "string", "minLength": 1, "maxLength": 255},
               "cipher": {"type": ["string", "null"], "maxLength": 255},
               "key_size": {"type": ["integer", "null"], "minimum": 0, "maximum": 2147483647},
               "control_location": {"type": "string", "enum": ["front-end", "back-end"]}}
CREATE_ENCRYPTION = wrapped("encryption", _ENCRYPTION, ("provider",), additional=False)
UPDATE_ENCRYPTION = wrapped("encryption", _ENCRYPTION, additional=False)

SERVICE_HOST = {"type": "object", "properties": {
    "host": {"type": "string", "minLength": 1, "maxLength": 255},
    "binary": {"type": "string", "minLength": 1, "maxLength": 255},
    "service": {"type": "string", "maxLength": 255},
    "cluster": {"type": ["string", "null"], "maxLength": 255},
}, "required": ["host"]}
SERVICE_DISABLE_REASON = {**SERVICE_HOST, "properties": {
    **SERVICE_HOST["properties"], "disabled_reason": {"type": "string", "minLength": 1, "maxLength": 255}},
    "required": ["host", "disabled_reason"]}

CREATE_ATTACHMENT = wrapped("attachment", {
    "volume_uuid": {"type": "string", "format": "uuid"}, "instance_uuid": UUID_OR_NULL,
    "connector": {"type": ["object", "null"]}, "mode": {"type": "string", "enum": ["rw", "ro"]},
}, ("volume_uuid",))
UPDATE_ATTACHMENT = wrapped("attachment", {"connector": {"type": "object"}}, ("connector",))

GROUP_SPECS_BODY = {"type": "object", "properties": {"group_specs": EXTRA_SPECS}, "required": ["group_specs"],
                    "additionalProperties": False}
CREATE_GROUP_TYPE = wrapped("group_type", {
    "name": TYPE_NAME, "description": DESCRIPTION, "is_public": BOOLEAN, "group_specs": EXTRA_SPECS,
}, ("name",), additional=False)
UPDATE_GROUP_TYPE = wrapped("group_type", {
    "name": {**TYPE_NAME, "type": ["string", "null"]}, "description": DESCRIPTION, "is_public": BOOLEAN,
}, additional=False)
CREATE_GROUP = wrapped("group", {
    "name": NAME, "description": DESCRIPTION, "group_type": {"type": "string", "minLength": 1, "maxLength": 255},
    "volume_types": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1, "maxLength": 255}},
    "availability_zone": {"type": ["string", "null"], "maxLength": 255},
}, ("group_type", "volume_types"), additional=False)
#: add_volumes / remove_volumes: volume ids separated by commas, as Cinder takes them
UPDATE_GROUP = wrapped("group", {
    "name": NAME, "description": DESCRIPTION, "add_volumes": {"type": ["string", "null"]},
    "remove_volumes": {"type": ["string", "null"]},
}, additional=False)
CREATE_GROUP_FROM_SOURCE = wrapped("create-from-src", {
    "name": NAME, "description": DESCRIPTION, "group_snapshot_id": UUID_OR_NULL, "source_group_id": UUID_OR_NULL,
}, additional=False)
DELETE_GROUP = wrapped("delete", {"delete-volumes": BOOLEAN}, additional=False)
RESET_STATUS = wrapped("reset_status", {"status": {"type": "string", "minLength": 1, "maxLength": 255}},
                       ("status",), additional=False)
CREATE_GROUP_SNAPSHOT = wrapped("group_snapshot", {
    "name": NAME, "description": DESCRIPTION, "group_id": {"type": "string", "format": "uuid"},
}, ("group_id",), additional=False)

#: a manage request's backend reference (Cinder's ``ref``: ``source-name``, ``source-id``, or a driver's own keys)
MANAGE_REF = {"type": "object", "minProperties": 1}
MANAGE_VOLUME = wrapped("volume", {
    "host": {"type": ["string", "null"], "maxLength": 255}, "cluster": {"type": ["string", "null"], "maxLength": 255},
    "ref": MANAGE_REF, "name": NAME, "description": DESCRIPTION,
    "volume_type": {"type": ["string", "null"], "maxLength": 255},
    "availability_zone": {"type": ["string", "null"], "maxLength": 255}, "bootable": BOOLEAN,
    "metadata": METADATA_OR_NULL,
}, ("ref",))
MANAGE_SNAPSHOT = wrapped("snapshot", {
    "volume_id": {"type": "string", "format": "uuid"}, "ref": MANAGE_REF, "name": NAME, "description": DESCRIPTION,
    "metadata": METADATA_OR_NULL,
}, ("volume_id", "ref"))
