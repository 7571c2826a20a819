"""Request bodies: bounded reads, JSON parsing and JSON Schema validation (fastjsonschema).

The validator was chosen by measurement (docs/decisions/0003-json-and-validation.md). Every
failure is a 400 whose message names the field, in the form Keystone and Nova use.
"""

from __future__ import annotations

import functools
from typing import Any, Mapping

import falcon
import fastjsonschema
import orjson

from overcast.api import faults
from overcast.api.media import loads


@functools.lru_cache(maxsize=None)
def _compile(schema_json: bytes) -> Any:
    return fastjsonschema.compile(orjson.loads(schema_json))


def validator(schema: Mapping[str, Any]) -> Any:
    """A compiled validator for ``schema`` (compiled once per distinct schema)."""
    return _compile(orjson.dumps(schema, option=orjson.OPT_SORT_KEYS))


def _field(path: str) -> str:
    # fastjsonschema names paths "data.user.name" or "data.roles[0]"
    return path[5:] if path.startswith("data.") else ("body" if path == "data" else path)


def validate(body: Any, schema: Mapping[str, Any]) -> Any:
    """Validate ``body``; returns it with schema defaults applied. :raises faults.BadRequest:"""
    try:
        return validator(schema)(body)
    except fastjsonschema.JsonSchemaValueException as exc:
        field = _field(exc.name or "data")
        detail = exc.message.replace(exc.name or "data", field, 1) if exc.name else exc.message
        raise faults.BadRequest(f"Invalid input for field '{field}': {detail}.") from None


def read_json(req: falcon.Request, schema: Mapping[str, Any] | None = None, max_bytes: int | None = None) -> Any:
    """Read, parse and validate a JSON body.

    :raises faults.TooLarge: body over the limit.
    :raises faults.BadRequest: empty or malformed body, or one the schema rejects.
    """
    limit = max_bytes or req.context.max_body_bytes
    data = req.bounded_stream.read(limit + 1)
    if len(data) > limit:
        raise faults.TooLarge()
    if not data.strip():
        raise faults.BadRequest("The request body is empty; a JSON object was expected.")
    try:
        body = loads(data)
    except orjson.JSONDecodeError as exc:
        raise faults.BadRequest(f"Malformed request body: {exc}") from None
    return validate(body, schema) if schema is not None else body
