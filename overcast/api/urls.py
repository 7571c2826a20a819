"""Where the region a request is for is served, for the links and ``Location`` headers views render.

The first configured region is served at the root, every other one under ``/regions/<name>`` (0008).
:class:`~overcast.api.middleware.RequestContextMiddleware` sets the prefix of the request's region
here for the length of the request, so every link a view builds points at the region the record
belongs to (records are filtered on the request's region, so the two are the same) without each
view being handed the request.
"""

from __future__ import annotations

import contextvars

#: "" for the first region, "/regions/<name>" for the others; "" outside a request
_PREFIX: contextvars.ContextVar[str] = contextvars.ContextVar("overcast_region_prefix", default="")

REGION_PREFIX = "/regions/"


def prefix_for(region: str, regions: list[str]) -> str:
    """The path prefix a region is served under."""
    return "" if not regions or region == regions[0] else f"{REGION_PREFIX}{region}"


def set_region_prefix(prefix: str) -> contextvars.Token:
    return _PREFIX.set(prefix)


def reset_region_prefix(token: contextvars.Token) -> None:
    _PREFIX.reset(token)


def region_prefix() -> str:
    """The current request's region prefix ("" at the root)."""
    return _PREFIX.get()
