"""What every compute resource shares: the microversion range, links, the caller, pagination."""

from __future__ import annotations

from typing import Any, Iterable

import falcon

from overcast.api import faults, urls
from overcast.api.microversions import MicroversionPolicy, Version
from overcast.core import policy
from overcast.core.context import AuthContext

#: Nova's microversions served: 2.1 to 2.100 (views render each version's fields; issue 17: the maximum
#: is the highest version whose whole list below it is done).
MICROVERSIONS = MicroversionPolicy("compute", Version(2, 1), Version(2, 100), "X-OpenStack-Nova-API-Version")


def version(req: falcon.Request) -> Version:
    """The microversion of this request (negotiated by the middleware)."""
    return req.context.microversion or MICROVERSIONS.minimum


def at_least(req: falcon.Request, text: str) -> bool:
    return version(req) >= Version.parse(text)


#: The last microversion of Nova's proxy APIs (images, networks, floating IPs, security groups).
PROXY_MAX = "2.35"


def served(req: falcon.Request, first: str = "2.1", last: str | None = None) -> None:
    """A method Nova serves from ``first`` to ``last``: outside them Nova finds no method.

    :raises faults.NotFound: "The resource could not be found." outside the range.
    """
    if not at_least(req, first) or (last is not None and version(req) > Version.parse(last)):
        raise faults.NotFound("The resource could not be found.")


def gone() -> faults.Fault:
    """Nova's answer for an API it removed (nova-network's): 410, webob's HTTPGone text."""
    return faults.Fault(410, "This resource is no longer available.  No forwarding address is given.")


def int_param(req: falcon.Request, name: str, default: int | None, minimum: int = 0) -> int | None:
    """An integer query parameter (the last one given).

    :raises faults.BadRequest: not an integer, or below ``minimum`` (Nova's query schema messages).
    """
    value = req.get_param(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise faults.BadRequest(f"Invalid input for query parameters {name}. Value: {value}. "
                                f"'{value}' is not a 'integer'") from None
    if number < minimum:
        raise faults.BadRequest(f"Invalid input for query parameters {name}. Value: {value}.")
    return number


#: Nova's ``api.max_limit``: the most items a page holds
MAX_LIMIT = 1000


def page(req: falcon.Request) -> slice:
    """Nova's ``common.limited``: ``offset``, then ``limit`` (0 or none: Nova's maximum, 1000).

    :raises faults.BadRequest: ``limit`` or ``offset`` not a non-negative integer.
    """
    offset = int_param(req, "offset", 0) or 0
    limit = min(int_param(req, "limit", None) or MAX_LIMIT, MAX_LIMIT)
    return slice(offset, offset + limit)


def limited(req: falcon.Request, items: list[Any]) -> list[Any]:
    """``items`` cut to the request's ``offset`` and ``limit`` (see :func:`page`)."""
    return items[page(req)]


def refuse_unknown(req: falcon.Request, known: Iterable[str]) -> None:
    """A query schema without additional properties (Nova's from some microversion on).

    :raises faults.BadRequest: a parameter not in ``known``, named as jsonschema names it.
    """
    unknown = sorted(set(req.params) - set(known))
    if unknown:
        raise faults.BadRequest(f"Additional properties are not allowed ({', '.join(map(repr, unknown))} "
                                f"{'was' if len(unknown) == 1 else 'were'} unexpected)")


class Links:
    """Absolute compute URLs for views (``self`` and ``bookmark`` links, as Nova renders them)."""

    def __init__(self, public_url: str):
        self.public_url = public_url.rstrip("/")

    @property
    def base(self) -> str:
        """The compute URL of the request's region (0008: the first at the root, others under /regions)."""
        return f"{self.public_url}{urls.region_prefix()}/compute"

    def pair(self, collection: str, item_id: str, base: str | None = None) -> list[dict[str, str]]:
        """``base``: :attr:`base`, when the caller has it already (a list: once per request)."""
        base = self.base if base is None else base
        return [{"rel": "self", "href": f"{base}/v2.1/{collection}/{item_id}"},
                {"rel": "bookmark", "href": f"{base}/{collection}/{item_id}"}]

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
