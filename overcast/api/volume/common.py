"""What every block storage resource shares: the microversion range, links, the caller, query parsing."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import falcon

from overcast.api import faults, urls
from overcast.api.microversions import MicroversionPolicy, Version
from overcast.core import policy
from overcast.core.context import AuthContext
from overcast.core.volume.listing import Page, parse_limit, parse_offset, parse_sort

#: Cinder's microversions served: 3.0 to 3.71 (views render each version's fields).
MICROVERSIONS = MicroversionPolicy("volume", Version(3, 0), Version(3, 71), service_within_entry=True)

_TRUE = {"1", "t", "true", "on", "y", "yes"}
_FALSE = {"0", "f", "false", "off", "n", "no"}


def version(req: falcon.Request) -> Version:
    return req.context.microversion or MICROVERSIONS.minimum


def at_least(req: falcon.Request, text: str) -> bool:
    return version(req) >= Version.parse(text)


def require(req: falcon.Request, text: str) -> None:
    """:raises faults.NotFound: a request below microversion ``text`` (a resource that came later)."""
    if not at_least(req, text):
        raise faults.NotFound("The resource could not be found.")


class Links:
    """Absolute block storage URLs for views (``self`` and ``bookmark``, as Cinder renders them)."""

    def __init__(self, public_url: str):
        self.public_url = public_url.rstrip("/")

    @property
    def base(self) -> str:
        """The block storage URL of the request's region (0008)."""
        return f"{self.public_url}{urls.region_prefix()}/volume"

    def pair(self, project_id: str, collection: str, item_id: str) -> list[dict[str, str]]:
        return self.pair_at(self.base, project_id, collection, item_id)

    @staticmethod
    def pair_at(base: str, project_id: str, collection: str, item_id: str) -> list[dict[str, str]]:
        """:meth:`pair` under ``base`` (a list works the region's base out once)."""
        return [{"rel": "self", "href": f"{base}/v3/{project_id}/{collection}/{item_id}"},
                {"rel": "bookmark", "href": f"{base}/{project_id}/{collection}/{item_id}"}]

    def next_page(self, req: falcon.Request, collection: str, marker: str) -> list[dict[str, str]]:
        params = [(k, v) for k, values in req.params.items() if k != "marker"
                  for v in (values if isinstance(values, list) else [values])]
        params.append(("marker", marker))
        project = req.context.auth.project_id if req.context.auth else ""
        return [{"rel": "next", "href": f"{self.base}/v3/{project}/{collection}?{urlencode(params)}"}]


def caller(req: falcon.Request) -> AuthContext:
    return req.context.auth


def enforce(req: falcon.Request, action: str, target: dict[str, Any] | None = None) -> AuthContext:
    """:raises overcast.core.errors.Forbidden:"""
    ctx = caller(req)
    policy.enforce(action, ctx, target if target is not None else {"project_id": ctx.project_id})
    return ctx


def backend_headroom(core: Any, req: falcon.Request, ctx: AuthContext) -> Any:
    """What the request region's volume backend itself still allows (decision 0046): read before the
    transaction (a backend call), None where the driver reports nothing.

    :raises overcast.ops.calls.BackendUnavailable: the backend did not answer (503).
    """
    kept = core.backend_quotas
    if kept is None:
        return None
    region = req.context.region
    return kept.read(core.backends, region, "volume", core.volume_driver(region), project_id=ctx.project_id,
                     user_id=ctx.user_id, request_id=req.context.request_id)


def backend_taken(core: Any, req: falcon.Request, deltas: dict[str, int]) -> None:
    """Count what was just accepted into the kept headroom of the request region's volume backend."""
    if core.backend_quotas is not None:
        core.backend_quotas.taken(req.context.region, "volume", deltas)


def target(record: Any) -> dict[str, Any]:
    return {"project_id": record.project_id}


def one(req: falcon.Request, name: str) -> str | None:
    value = req.params.get(name)
    return value[-1] if isinstance(value, list) else value


def parse_bool(name: str, value: Any) -> bool:
    """Cinder's strict boolean. :raises faults.BadRequest: naming the parameter."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise faults.BadRequest(f"Invalid input received: {name} must be a boolean, not '{value}'. Valid values are: "
                            f"{', '.join(sorted(_TRUE | _FALSE))}")


def all_tenants(req: falcon.Request) -> bool:
    raw = one(req, "all_tenants")
    if raw is None:
        return False
    return True if raw == "" else parse_bool("all_tenants", raw)


def is_public_filter(req: falcon.Request) -> bool | None:
    """``is_public`` of type lists: None (absent, empty or ``None``) lets an admin see every type."""
    raw = one(req, "is_public")
    return None if raw in (None, "") or raw.lower() == "none" else parse_bool("is_public", raw)


def page(req: falcon.Request, sort_keys: tuple[str, ...]) -> Page:
    """``sort``/``sort_key``/``sort_dir``, ``limit``, ``marker`` and ``offset``. :raises Invalid:"""
    return Page(sort=parse_sort(one(req, "sort"), one(req, "sort_key"), one(req, "sort_dir"), sort_keys),
                limit=parse_limit(one(req, "limit")), marker=one(req, "marker"),
                offset=parse_offset(one(req, "offset")))


def metadata_filter(req: falcon.Request) -> dict[str, str]:
    """``metadata={'k': 'v'}`` as cinderclient and openstacksdk send it (a Python or JSON dict)."""
    raw = one(req, "metadata")
    if not raw:
        return {}
    import ast

    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        value = None
    if not isinstance(value, dict):
        raise faults.BadRequest(f"Invalid input received: metadata filter must be a dict, not {raw!r}")
    return {str(k): str(v) for k, v in value.items()}
