"""JSON Schemas for Placement request bodies, per microversion (as Placement's own schemas check them)."""

from __future__ import annotations

from typing import Any

import falcon

from overcast.api.placement.common import at_least
from overcast.core.placement.providers import MAX_INT

UUID = {"type": "string", "format": "uuid",
        "pattern": r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"}
RESOURCE_CLASS = {"type": "string", "pattern": r"^[A-Z0-9_]+$", "maxLength": 255}
CUSTOM_CLASS = {"type": "string", "pattern": r"^CUSTOM_[A-Z0-9_]+$", "maxLength": 255}
TRAIT = {"type": "string", "pattern": r"^[A-Z0-9_]+$", "maxLength": 255}
GENERATION = {"type": "integer"}


def provider(req: falcon.Request, create: bool) -> dict[str, Any]:
    properties: dict[str, Any] = {"name": {"type": "string", "minLength": 1, "maxLength": 200}}
    if create:
        properties["uuid"] = UUID
    if at_least(req, "1.14"):
        properties["parent_provider_uuid"] = {"anyOf": [UUID, {"type": "null"}]}
    return {"type": "object", "properties": properties, "required": ["name"], "additionalProperties": False}


_INVENTORY_FIELDS: dict[str, Any] = {
    "total": {"type": "integer", "minimum": 1, "maximum": MAX_INT},
    "reserved": {"type": "integer", "minimum": 0, "maximum": MAX_INT},
    "min_unit": {"type": "integer", "minimum": 1, "maximum": MAX_INT},
    "max_unit": {"type": "integer", "minimum": 1, "maximum": MAX_INT},
    "step_size": {"type": "integer", "minimum": 1, "maximum": MAX_INT},
    "allocation_ratio": {"type": "number", "minimum": 0, "maximum": 3.40282e38},
}

POST_INVENTORY = {"type": "object", "properties": {"resource_class": RESOURCE_CLASS, **_INVENTORY_FIELDS},
                  "required": ["total", "resource_class"], "additionalProperties": False}
PUT_INVENTORY = {"type": "object", "properties": {"resource_provider_generation": GENERATION, **_INVENTORY_FIELDS},
                 "required": ["total", "resource_provider_generation"], "additionalProperties": False}
PUT_INVENTORIES = {
    "type": "object", "required": ["resource_provider_generation", "inventories"], "additionalProperties": False,
    "properties": {
        "resource_provider_generation": GENERATION,
        "inventories": {"type": "object", "additionalProperties": False, "patternProperties": {
            r"^[A-Z0-9_]+$": {"type": "object", "properties": _INVENTORY_FIELDS, "required": ["total"],
                              "additionalProperties": False}}}}}

_AGGREGATE_LIST = {"type": "array", "uniqueItems": True, "items": UUID}
PUT_AGGREGATES = _AGGREGATE_LIST
PUT_AGGREGATES_1_19 = {"type": "object", "properties": {"aggregates": _AGGREGATE_LIST,
                                                        "resource_provider_generation": GENERATION},
                       "required": ["aggregates", "resource_provider_generation"], "additionalProperties": False}
PUT_PROVIDER_TRAITS = {"type": "object", "properties": {
    "traits": {"type": "array", "items": TRAIT, "uniqueItems": True},
    "resource_provider_generation": GENERATION},
    "required": ["traits", "resource_provider_generation"], "additionalProperties": False}

POST_RESOURCE_CLASS = {"type": "object", "properties": {"name": CUSTOM_CLASS}, "required": ["name"],
                       "additionalProperties": False}
PUT_RESOURCE_CLASS = POST_RESOURCE_CLASS

_RESOURCES = {"type": "object", "minProperties": 1, "additionalProperties": False,
              "patternProperties": {r"^[A-Z0-9_]+$": {"type": "integer", "minimum": 1, "maximum": MAX_INT}}}
_PROJECT_USER = {"type": "string", "minLength": 1, "maxLength": 255}


def consumer_allocations(req: falcon.Request, many: bool = False) -> dict[str, Any]:
    """One consumer's body: the 1.0 list form before 1.12, the dict form after; who owns it
    (required from 1.8); its generation (1.28) and type (1.38). ``many``: inside POST /allocations,
    where an empty dict of allocations removes them."""
    if at_least(req, "1.12"):
        allocations: dict[str, Any] = {
            "type": "object", "additionalProperties": False,
            "patternProperties": {UUID["pattern"]: {
                "type": "object", "properties": {"resources": _RESOURCES, "generation": GENERATION},
                "required": ["resources"], "additionalProperties": False}}}
        if not many:
            allocations["minProperties"] = 1 if not at_least(req, "1.12") else 0
    else:
        allocations = {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["resource_provider", "resources"], "additionalProperties": False,
            "properties": {"resource_provider": {"type": "object", "properties": {"uuid": UUID},
                                                 "required": ["uuid"], "additionalProperties": False},
                           "resources": _RESOURCES}}}
    properties: dict[str, Any] = {"allocations": allocations}
    required = ["allocations"]
    if at_least(req, "1.8"):
        properties.update(project_id=_PROJECT_USER, user_id=_PROJECT_USER)
        required += ["project_id", "user_id"]
    if at_least(req, "1.28"):
        properties["consumer_generation"] = {"type": ["integer", "null"]}
        required.append("consumer_generation")
    if at_least(req, "1.38"):
        properties["consumer_type"] = {"type": "string", "pattern": r"^[A-Z0-9_]+$", "minLength": 1,
                                       "maxLength": 255}
        required.append("consumer_type")
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


def post_allocations(req: falcon.Request) -> dict[str, Any]:
    return {"type": "object", "minProperties": 1, "additionalProperties": False,
            "patternProperties": {UUID["pattern"]: consumer_allocations(req, many=True)}}
