"""Small helpers every identity resource uses: links, policy checks, query parsing."""

from __future__ import annotations

from typing import Any, Mapping

import falcon

from overcast.core import policy
from overcast.core.context import AuthContext
from overcast.core.identity.filters import COMPARATORS, TextFilter


class Links:
    """Builds absolute identity URLs from the public base URL."""

    def __init__(self, public_url: str):
        self.base = public_url.rstrip("/") + "/identity"

    def v3(self, path: str) -> str:
        return f"{self.base}/v3{path}"

    def self_link(self, path: str) -> dict[str, str]:
        return {"self": self.v3(path)}

    def collection(self, req: falcon.Request) -> dict[str, Any]:
        query = f"?{req.query_string}" if req.query_string else ""
        return {"self": self.base + req.path[len("/identity"):] + query, "previous": None, "next": None}


def caller(req: falcon.Request) -> AuthContext:
    """The authenticated caller (the auth middleware guarantees one on non-public calls)."""
    return req.context.auth


def enforce(req: falcon.Request, action: str, target: Mapping[str, Any] | None = None) -> AuthContext:
    """:raises overcast.core.errors.Forbidden: when policy refuses."""
    ctx = caller(req)
    policy.enforce(action, ctx, target)
    return ctx


def truthy(value: str | None) -> bool | None:
    """Keystone's boolean query parsing: '0' and 'false' are False, anything else True."""
    if value is None:
        return None
    return value.lower() not in ("0", "false", "f", "no", "n", "off")


def text_filters(req: falcon.Request, attributes: tuple[str, ...]) -> list[TextFilter]:
    """Keystone's inexact filters on a list's filterable attributes: ``<attribute>__<comparator>``,
    the comparator prefixed with ``i`` for a case-insensitive match (``name__icontains=dem``).
    Keystone ignores a comparator it does not know, and so do we."""
    found = []
    for key, value in req.params.items():
        attr, sep, comparator = key.partition("__")
        if not sep or attr not in attributes:
            continue
        case_sensitive = not comparator.startswith("i")
        comparator = comparator if case_sensitive else comparator[1:]
        if comparator in COMPARATORS:
            found.extend(TextFilter(attr, comparator, v, case_sensitive)
                         for v in (value if isinstance(value, list) else [value]))
    return found
