"""Request bodies: bounded reads, JSON parsing and JSON Schema validation (fastjsonschema).

The validator was chosen by measurement (docs/decisions/0003-json-and-validation.md). Every
failure is a 400 whose message names the field, in the form Keystone and Nova use.
"""

from __future__ import annotations

import functools
import re
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


#: How deep a body may nest when the request carries no limit of its own (the server's default).
DEFAULT_MAX_DEPTH = 32


def too_deep(body: Any, limit: int) -> str | None:
    """The path of the first container nested deeper than ``limit`` levels (the body itself is
    level 1), named as a validation message names a field (``credential.extra.a[0]``); None when
    the body is shallow enough. Iterative, so a body as deep as the parser allows cannot exhaust
    the stack here or in any code that walks it later."""
    stack: list[tuple[Any, int, str]] = [(body, 1, "")]
    while stack:
        node, depth, path = stack.pop()
        if isinstance(node, dict):
            children = ((f"{path}.{key}" if path else str(key), value) for key, value in node.items())
        elif isinstance(node, list):
            children = ((f"{path}[{index}]", value) for index, value in enumerate(node))
        else:
            continue
        if depth > limit:
            return path or "body"
        for child_path, value in children:
            if isinstance(value, (dict, list)):
                stack.append((value, depth + 1, child_path))
    return None


def check_depth(body: Any, limit: int) -> None:
    """:raises faults.BadRequest: naming the field nested deeper than ``limit`` levels."""
    path = too_deep(body, limit)
    if path is not None:
        field = _outer(path)
        raise faults.BadRequest(f"Invalid input for field '{field}': it is nested deeper than {limit} "
                                f"levels of objects and arrays.")


def _outer(path: str, parts: int = 3) -> str:
    """The first ``parts`` steps of a field path (a too-deep path can be thousands of steps long)."""
    steps = re.findall(r"[^.\[]+|\[\d+\]", path)
    kept = "".join(s if s.startswith("[") or not i else "." + s for i, s in enumerate(steps[:parts]))
    return kept + ("..." if len(steps) > parts else "")


def body_bytes(req: falcon.Request, limit: int) -> bytes:
    """The request's body, up to ``limit + 1`` bytes (more than ``limit``: too large), read once:
    a request the database made run again (:func:`overcast.api.routing.retrying`) reads it again."""
    data = getattr(req.context, "raw_body", None)
    if data is None:
        data = req.context.raw_body = req.bounded_stream.read(limit + 1)
    return data


def read_json(req: falcon.Request, schema: Mapping[str, Any] | None = None, max_bytes: int | None = None) -> Any:
    """Read, parse and validate a JSON body.

    The nesting depth is checked before the schema and before anything stores the body: a body
    nested deeper than the server's ``max_json_depth`` could be stored and then never rendered
    again, breaking every list that includes it.

    :raises faults.TooLarge: body over the limit.
    :raises faults.BadRequest: empty or malformed body, one nested too deep, or one the schema rejects.
    """
    limit = max_bytes or req.context.max_body_bytes
    data = body_bytes(req, limit)
    if len(data) > limit:
        raise faults.TooLarge()
    if not data.strip():
        raise faults.BadRequest("The request body is empty; a JSON object was expected.")
    try:
        body = loads(data)
    except orjson.JSONDecodeError as exc:
        raise faults.BadRequest(f"Malformed request body: {exc}") from None
    check_depth(body, getattr(req.context, "max_json_depth", DEFAULT_MAX_DEPTH))
    return validate(body, schema) if schema is not None else body
