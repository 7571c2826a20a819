"""JSON on the wire: orjson, chosen by measurement (docs/decisions/0003-json-and-validation.md)."""

from __future__ import annotations

from typing import Any

import falcon
import orjson

_OPTIONS = orjson.OPT_NON_STR_KEYS


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj, option=_OPTIONS)


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
