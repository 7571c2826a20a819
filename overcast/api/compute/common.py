"""What every compute resource shares: the microversion range, links, the caller, pagination."""

from __future__ import annotations

from typing import Any

import falcon

from overcast.api.microversions import MicroversionPolicy, Version
from overcast.core import policy
from overcast.core.context import AuthContext

#: Nova's microversions served: 2.1 to 2.90 (views render each version's fields).
MICROVERSIONS = MicroversionPolicy("compute", Version(2, 1), Version(2, 90), "X-OpenStack-Nova-API-Version")


def version(req: falcon.Request) -> Version:
    """The microversion of this request (negotiated by the middleware)."""
    return req.context.microversion or MICROVERSIONS.minimum


def at_least(req: falcon.Request, text: str) -> bool:
    return version(req) >= Version.parse(text)


class Links:
    """Absolute compute URLs for views (``self`` and ``bookmark`` links, as Nova renders them)."""

    def __init__(self, public_url: str):
        self.base = public_url.rstrip("/") + "/compute"

    def pair(self, collection: str, item_id: str) -> list[dict[str, str]]:
        return [{"rel": "self", "href": f"{self.base}/v2.1/{collection}/{item_id}"},
                {"rel": "bookmark", "href": f"{self.base}/{collection}/{item_id}"}]

    def next_page(self, req: falcon.Request, collection: str, marker: str) -> list[dict[str, str]]:
        params = {k: v for k, v in req.params.items() if k != "marker"}
        params["marker"] = marker
        query = "&".join(f"{k}={v}" for k, v in params.items() for v in (v if isinstance(v, list) else [v]))
        return [{"rel": "next", "href": f"{self.base}/v2.1/{collection}?{query}"}]


def caller(req: falcon.Request) -> AuthContext:
    return req.context.auth


def enforce(req: falcon.Request, action: str, target: dict[str, Any] | None = None) -> AuthContext:
    """:raises overcast.core.errors.Forbidden:"""
    ctx = caller(req)
    policy.enforce(action, ctx, target)
    return ctx
