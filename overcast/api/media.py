"""JSON on the wire: orjson, chosen by measurement (docs/decisions/0003-json-and-validation.md)."""

from __future__ import annotations

import json
from typing import Any

import falcon
import orjson

_OPTIONS = orjson.OPT_NON_STR_KEYS


def dumps(obj: Any) -> bytes:
    """:raises TypeError: something JSON cannot carry."""
    try:
        return orjson.dumps(obj, option=_OPTIONS)
    except TypeError:
        # orjson stops at 64-bit integers; the stdlib writes any integer whole (an IPv6
        # network's address count: Neutron's network IP availability)
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def loads(data: bytes | str) -> Any:
    """:raises orjson.JSONDecodeError: (a ValueError) on malformed JSON."""
    return orjson.loads(data)


class JSONHandler(falcon.media.BaseHandler):
    """Falcon media handler backed by orjson."""

    exhaustive_stream = True

    def serialize(self, media: Any, content_type: str | None = None) -> bytes:
        return dumps(media)

    def deserialize(self, stream, content_type, content_length) -> Any:  # noqa: ANN001
        data = stream.read()
        if not data:
            raise falcon.MediaNotFoundError("JSON")
        try:
            return loads(data)
        except orjson.JSONDecodeError as exc:
            raise falcon.MediaMalformedError("JSON") from exc
