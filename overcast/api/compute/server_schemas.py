"""JSON Schemas for server request bodies (Nova's, per microversion)."""

from __future__ import annotations

import functools
from typing import Any

#: no leading or trailing whitespace, 1-255 characters (Nova's name rule)
NAME = {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^\S([\s\S]*\S)?$"}
DESCRIPTION = {"type": ["string", "null"], "maxLength": 255}
#: 2.90's ``hostname``: a short name (Nova's parameter_types.hostname: no dots, 2 to 63 characters)
HOSTNAME = {"type": "string", "minLength": 2, "maxLength": 63,
            "pattern": r"^[a-zA-Z0-9][a-zA-Z0-9-_]{0,61}[a-zA-Z0-9]$"}
#: 2.94's ``hostname``: a fully qualified name (Nova's parameter_types.fqdn)
FQDN = {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^[a-zA-Z0-9-._]*$"}
FQDN_HOSTNAME = "2.94"


def _hostname(version: tuple[int, int]) -> dict[str, Any]:
    """The ``hostname`` of create, update and rebuild: from 2.90, an FQDN from 2.94."""
    return FQDN if _v(version, FQDN_HOSTNAME) else HOSTNAME
UUID = {"type": "string",
        "pattern": r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"}
METADATA = {"type": "object",
            "patternProperties": {r"^[a-zA-Z0-9\-_:. /]{1,255}$": {"type": "string", "maxLength": 255}},
            "additionalProperties": False}
TAG = {"type": "string", "minLength": 1, "maxLength": 60, "pattern": r"^[^,/]*$"}
TAGS = {"type": "array", "items": TAG, "maxItems": 50}
COUNT = {"type": ["integer", "string"], "pattern": r"^[0-9]*$", "minimum": 1, "minLength": 1}
IPV4 = {"type": "string", "format": "ipv4"}
IPV6 = {"type": "string", "format": "ipv6"}
#: OS-DCF:diskConfig (create, rebuild, resize, update)
DISK_CONFIG = {"type": "string", "enum": ["AUTO", "MANUAL"]}
ADMIN_PASS = {"type": "string"}
REF = {"type": ["string", "integer"], "minLength": 1, "maxLength": 255}

NETWORK_ITEM = {
    "type": "object",
    "properties": {"uuid": {"type": "string"}, "port": {"type": ["string", "null"]},
                   "fixed_ip": {"type": "string"}, "tag": {"type": "string", "maxLength": 60}},
    "additionalProperties": False,
}

#: Nova's parameter_types.boolean
BOOLEAN = {"type": ["boolean", "string"],
           "enum": [True, "True", "TRUE", "true", "1", "ON", "On", "on", "YES", "Yes", "yes",
                    False, "False", "FALSE", "false", "0", "OFF", "Off", "off", "NO", "No", "no"]}
NON_NEGATIVE = {"type": ["integer", "string"], "pattern": r"^[0-9]*$", "minimum": 0, "minLength": 1,
                "maximum": 2147483647}

#: Nova's personality (create and rebuild, up to 2.56): files for the guest, contents in base64
PERSONALITY = {"type": "array", "items": {
    "type": "object", "properties": {"path": {"type": "string"}, "contents": {"type": "string"}},
    "additionalProperties": False}}

BDM = {
    "type": "object",
    "properties": {
        "uuid": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^[a-zA-Z0-9._-]*$"},
        "source_type": {"enum": ["volume", "image", "snapshot", "blank"]},
        "destination_type": {"enum": ["local", "volume"]},
        "boot_index": {"type": ["integer", "string", "null"], "pattern": r"^-?[0-9]+$"},
        "delete_on_termination": BOOLEAN, "volume_size": NON_NEGATIVE,
        "device_name": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^[a-zA-Z0-9._/-]*$"},
        "device_type": {"type": "string"}, "disk_bus": {"type": "string"},
        "guest_format": {"type": "string", "maxLength": 255}, "tag": TAG, "no_device": {},
        "volume_type": {"type": ["string", "null"], "maxLength": 255},
    },
    "additionalProperties": False,
}


def _v(version: tuple[int, int], at: str) -> bool:
    major, minor = (int(x) for x in at.split("."))
    return version >= (major, minor)


@functools.lru_cache(maxsize=None)
def create(version: tuple[int, int]) -> dict[str, Any]:
    networks: dict[str, Any] = {"oneOf": [{"type": "array", "items": NETWORK_ITEM},
                                          {"type": "string", "enum": ["auto", "none"]}]}
    if not _v(version, "2.37"):
        networks = {"type": "array", "items": NETWORK_ITEM}
    props: dict[str, Any] = {
        "name": NAME, "imageRef": {"type": "string", "maxLength": 255}, "flavorRef": REF,
        "adminPass": ADMIN_PASS, "metadata": METADATA, "networks": networks,
        "key_name": {"type": "string", "minLength": 1, "maxLength": 255},
        "security_groups": {"type": "array", "items": {
            "type": "object", "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 255}},
            "required": ["name"], "additionalProperties": False}},
        "user_data": {"type": "string", "maxLength": 65535 * 4 // 3 + 4},
        "config_drive": {"type": ["boolean", "string"]},
        "availability_zone": {"type": "string", "minLength": 1, "maxLength": 255},
        "min_count": COUNT, "max_count": COUNT, "return_reservation_id": {"type": ["boolean", "string"]},
        "block_device_mapping_v2": {"type": "array", "items": BDM},
        "block_device_mapping": {"type": "array"},
        "accessIPv4": IPV4, "accessIPv6": IPV6, "OS-DCF:diskConfig": DISK_CONFIG,
    }
    required = ["name", "flavorRef"]
    if not _v(version, "2.57"):
        props["personality"] = PERSONALITY
    if _v(version, "2.19"):
        props["description"] = DESCRIPTION
    if _v(version, "2.37"):
        required.append("networks")
    if _v(version, "2.52"):
        props["tags"] = TAGS
    if _v(version, "2.63"):
        props["trusted_image_certificates"] = {"type": ["array", "null"], "items": {"type": "string"}}
    if _v(version, "2.74"):
        props["host"] = {"type": "string"}
        props["hypervisor_hostname"] = {"type": "string"}
    if _v(version, "2.90"):
        props["hostname"] = _hostname(version)
    return {
        "type": "object",
        "properties": {
            "server": {"type": "object", "properties": props, "required": required, "additionalProperties": False},
            "os:scheduler_hints": {"type": "object", "properties": {"group": UUID}},
            "OS-SCH-HNT:scheduler_hints": {"type": "object", "properties": {"group": UUID}},
        },
        "required": ["server"],
        "additionalProperties": False,
    }


@functools.lru_cache(maxsize=None)
def update(version: tuple[int, int]) -> dict[str, Any]:
    props: dict[str, Any] = {"name": NAME, "accessIPv4": IPV4, "accessIPv6": IPV6,
                             "OS-DCF:diskConfig": DISK_CONFIG}
    if _v(version, "2.19"):
        props["description"] = DESCRIPTION
    if _v(version, "2.90"):
        props["hostname"] = _hostname(version)
    return {"type": "object",
            "properties": {"server": {"type": "object", "properties": props, "additionalProperties": False}},
            "required": ["server"], "additionalProperties": False}


def _action(name: str, body: dict[str, Any] | None) -> dict[str, Any]:
    inner = body if body is not None else {"type": ["object", "null"]}
    return {"type": "object", "properties": {name: inner}, "required": [name], "additionalProperties": False}


REBOOT = _action("reboot", {"type": "object", "properties": {"type": {"enum": [
    "HARD", "Hard", "hard", "SOFT", "Soft", "soft"]}}, "required": ["type"], "additionalProperties": False})
RESIZE = _action("resize", {"type": "object", "properties": {
    "flavorRef": REF, "OS-DCF:diskConfig": DISK_CONFIG},
    "required": ["flavorRef"], "additionalProperties": False})
CREATE_IMAGE = _action("createImage", {"type": "object", "properties": {"name": NAME, "metadata": METADATA},
                                       "required": ["name"], "additionalProperties": False})
CREATE_BACKUP = _action("createBackup", {"type": "object", "properties": {
    "name": NAME, "backup_type": {"type": "string"}, "metadata": METADATA,
    "rotation": {"type": ["integer", "string"], "pattern": r"^[0-9]+$", "minimum": 0}},
    "required": ["name", "backup_type", "rotation"], "additionalProperties": False})
CHANGE_PASSWORD = _action("changePassword", {"type": "object", "properties": {"adminPass": ADMIN_PASS},
                                             "required": ["adminPass"], "additionalProperties": False})
CONSOLE_OUTPUT = _action("os-getConsoleOutput", {"type": "object", "properties": {
    "length": {"type": ["integer", "string", "null"], "pattern": r"^-?[0-9]+$"}}, "additionalProperties": False})
RESCUE = _action("rescue", {"type": ["object", "null"], "properties": {
    "adminPass": ADMIN_PASS, "rescue_image_ref": {"type": "string"}}, "additionalProperties": False})
SECURITY_GROUP = {name: _action(name, {"type": "object", "properties": {
    "name": {"type": "string", "minLength": 1, "maxLength": 255}}, "required": ["name"],
    "additionalProperties": False}) for name in ("addSecurityGroup", "removeSecurityGroup")}
HOSTNAME_OR_NULL = {"type": ["string", "null"], "minLength": 1, "maxLength": 255,
                    "pattern": r"^[a-zA-Z0-9-._]*$"}
RESET_STATE = _action("os-resetState", {"type": "object", "properties": {"state": {"enum": ["active", "error"]}},
                                        "required": ["state"], "additionalProperties": False})


@functools.lru_cache(maxsize=None)
def rebuild(version: tuple[int, int]) -> dict[str, Any]:
    props: dict[str, Any] = {"imageRef": {"type": "string", "minLength": 1}, "name": NAME,
                             "adminPass": ADMIN_PASS, "metadata": METADATA, "preserve_ephemeral": {"type": "boolean"},
                             "accessIPv4": IPV4, "accessIPv6": IPV6,
                             "OS-DCF:diskConfig": DISK_CONFIG}
    if not _v(version, "2.57"):
        props["personality"] = PERSONALITY
    if _v(version, "2.19"):
        props["description"] = DESCRIPTION
    if _v(version, "2.54"):
        props["key_name"] = {"type": ["string", "null"]}
    if _v(version, "2.57"):
        props["user_data"] = {"type": ["string", "null"]}
    if _v(version, "2.63"):
        props["trusted_image_certificates"] = {"type": ["array", "null"]}
    if _v(version, "2.90"):
        props["hostname"] = _hostname(version)
    return _action("rebuild", {"type": "object", "properties": props, "required": ["imageRef"],
                               "additionalProperties": False})


@functools.lru_cache(maxsize=None)
def lock(version: tuple[int, int]) -> dict[str, Any]:
    if _v(version, "2.73"):
        return _action("lock", {"type": ["object", "null"], "properties": {
            "locked_reason": {"type": "string", "minLength": 1, "maxLength": 255}}, "additionalProperties": False})
    return _action("lock", None)


@functools.lru_cache(maxsize=None)
def migrate(version: tuple[int, int]) -> dict[str, Any]:
    if _v(version, "2.56"):
        return _action("migrate", {"type": ["object", "null"], "properties": {"host": HOSTNAME_OR_NULL},
                                   "additionalProperties": False})
    return _action("migrate", None)


@functools.lru_cache(maxsize=None)
def unshelve(version: tuple[int, int]) -> dict[str, Any]:
    """Nova's unshelve body: nothing before 2.77; ``{"availability_zone": <name>}`` (required in
    the object) from 2.77; from 2.91 a ``host`` too, and a null zone (unpin)."""
    if _v(version, "2.91"):
        return _action("unshelve", {"oneOf": [
            {"type": "object", "properties": {"availability_zone": {"type": ["string", "null"]},
                                              "host": {"type": "string"}}, "additionalProperties": False},
            {"type": "null"}]})
    if _v(version, "2.77"):
        return _action("unshelve", {"type": ["object", "null"], "properties": {"availability_zone": NAME},
                                    "required": ["availability_zone"], "additionalProperties": False})
    return _action("unshelve", None)


@functools.lru_cache(maxsize=None)
def evacuate(version: tuple[int, int]) -> dict[str, Any]:
    """Nova's evacuate body: ``onSharedStorage`` required before 2.14, ``force`` from 2.29 to 2.67."""
    props: dict[str, Any] = {"host": HOSTNAME_OR_NULL, "adminPass": ADMIN_PASS}
    required: list[str] = []
    if not _v(version, "2.14"):
        props["onSharedStorage"] = {"type": ["boolean", "string"]}
        required = ["onSharedStorage"]
    elif _v(version, "2.29") and not _v(version, "2.68"):
        props["force"] = {"type": ["boolean", "string"]}
    return _action("evacuate", {"type": "object", "properties": props, "required": required,
                                "additionalProperties": False})


def no_body(name: str) -> dict[str, Any]:
    return _action(name, None)


METADATA_BODY = {"type": "object", "properties": {"metadata": METADATA}, "required": ["metadata"],
                 "additionalProperties": False}
META_ITEM = {"type": "object", "properties": {"meta": {
    "type": "object", "patternProperties": {r"^[a-zA-Z0-9\-_:. /]{1,255}$": {"type": "string", "maxLength": 255}},
    "minProperties": 1, "maxProperties": 1, "additionalProperties": False}},
    "required": ["meta"], "additionalProperties": False}
TAGS_BODY = {"type": "object", "properties": {"tags": TAGS}, "required": ["tags"], "additionalProperties": False}
