"""What every Placement responder shares: microversions, policy, URLs, cache headers, query grammar."""

from __future__ import annotations

import datetime as dt
import email.utils
import uuid as uuidlib
from typing import Any, Iterable

import falcon

from overcast.api import faults
from overcast.api.microversions import MicroversionPolicy, Version
from overcast.core import policy
from overcast.core.context import AuthContext
from overcast.core.placement import providers as rules
from overcast.store.db import Store

#: Placement's range: 1.0 to 1.39 (2023.1 and later)
MICROVERSIONS = MicroversionPolicy("placement", Version(1, 0), Version(1, 39))


class Base:
    def __init__(self, store: Store, first_region: str):
        self.store, self.first_region = store, first_region

    def prefix(self, req: falcon.Request) -> str:
        """The path Placement is served at for the request's region (its links are paths)."""
        region = req.context.region
        return "/placement" if region == self.first_region else f"/regions/{region}/placement"

    @staticmethod
    def location(req: falcon.Request, path: str) -> str:
        """A ``Location`` header: absolute, as webob makes Placement's (clients GET it as given)."""
        return f"{req.scheme}://{req.netloc}{path}"


def version(req: falcon.Request) -> Version:
    return req.context.microversion


def at_least(req: falcon.Request, text: str) -> bool:
    return version(req) >= Version.parse(text)


def since(req: falcon.Request, text: str, status: int = 404) -> None:
    """A route Placement serves from ``text``: before it, 404 (or 405 where Placement says so)."""
    if not at_least(req, text):
        if status == 405:
            raise faults.Fault(405, "The method specified is not allowed for this resource.")
        raise faults.NotFound("The resource could not be found.")


def enforce(req: falcon.Request, action: str, target: dict[str, Any] | None = None) -> AuthContext:
    """:raises overcast.core.errors.Forbidden:"""
    ctx = req.context.auth
    policy.enforce(f"placement:{action}", ctx, target or {"project_id": ctx.project_id})
    return ctx


def cache_headers(req: falcon.Request, resp: falcon.Response, modified: dt.datetime | None) -> None:
    """From 1.15: Last-Modified (the newest change shown, else now) and Cache-Control: no-cache."""
    if not at_least(req, "1.15"):
        return
    when = (modified or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)).replace(tzinfo=dt.timezone.utc)
    resp.set_header("Last-Modified", email.utils.format_datetime(when, usegmt=True))
    resp.set_header("Cache-Control", "no-cache")


def newest(times: Iterable[dt.datetime | None]) -> dt.datetime | None:
    found = [t for t in times if t is not None]
    return max(found) if found else None


def allowed_params(req: falcon.Request, names: Iterable[str]) -> None:
    """Placement's query schemas allow no other parameters. :raises faults.BadRequest:"""
    unknown = sorted(set(req.params) - set(names))
    if unknown:
        raise faults.BadRequest(f"Invalid query string parameters: Additional properties are not allowed "
                                f"({', '.join(repr(u) for u in unknown)} {'was' if len(unknown) == 1 else 'were'} "
                                "unexpected)")


def one(req: falcon.Request, name: str) -> str | None:
    value = req.params.get(name)
    if isinstance(value, list):
        return value[-1]
    return value


def many(req: falcon.Request, name: str) -> list[str]:
    value = req.params.get(name)
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def check_uuid(text: str, field: str) -> str:
    """:raises faults.BadRequest:"""
    try:
        return str(uuidlib.UUID(text))
    except ValueError:
        raise faults.BadRequest(f"Invalid query string parameters: '{text}' is not a '{field}'") from None


def parse_resources(text: str) -> dict[str, int]:
    """``VCPU:1,MEMORY_MB:512`` -> {"VCPU": 1, ...}. :raises faults.BadRequest:"""
    result: dict[str, int] = {}
    for part in text.split(","):
        name, sep, amount = part.partition(":")
        name, amount = name.strip(), amount.strip()
        if not sep or not name or not amount.lstrip("-").isdigit():
            raise faults.BadRequest("Badly formed resources parameter. Expected resources query string parameter "
                                    f"in form: ?resources=VCPU:2,MEMORY_MB:1024. Got: {text}.")
        if name in result:
            raise faults.BadRequest("Badly formed resources parameter. Expected each resource class to be "
                                    f"specified only once. Got: {text}.")
        if int(amount) < 1:
            raise faults.BadRequest(f"Requested resource {name} expected positive integer amount. Got: {amount}.")
        result[name] = int(amount)
    return result


def parse_member_of(req: falcon.Request) -> tuple[tuple[frozenset[str], ...], frozenset[str]]:
    """``member_of`` (1.3; several from 1.24; ``!`` forbidden from 1.32): (any-of groups, forbidden).

    :raises faults.BadRequest:
    """
    values = many(req, "member_of")
    if len(values) > 1 and not at_least(req, "1.24"):
        values = values[-1:]
    groups, forbidden = [], set()
    for value in values:
        text = value
        negate = text.startswith("!") and at_least(req, "1.32")
        if negate:
            text = text[1:]
        if text.startswith("in:"):
            names = [n for n in text[3:].split(",")]
            if negate:
                raise faults.BadRequest("Forbidden member_of parameters may not be combined with in: prefix. "
                                        f"Got: {value}")
        else:
            names = [text]
        checked = {check_uuid(n, "uuid") if n else "" for n in names}
        if "" in checked:
            raise faults.BadRequest(f"Invalid query string parameters: Expected 'member_of' parameter to contain "
                                    f"valid UUID(s). Got: {value}")
        if negate:
            forbidden |= checked
        else:
            groups.append(frozenset(checked))
    return tuple(groups), frozenset(forbidden)


def parse_required(req: falcon.Request, text: str) -> tuple[frozenset[str], frozenset[str], tuple[frozenset[str], ...]]:
    """``required`` traits: (required, forbidden ``!T`` from 1.22, any-of ``in:A,B`` from 1.39).

    :raises faults.BadRequest:
    """
    required, forbidden, any_of = set(), set(), []
    if text.startswith("in:") and at_least(req, "1.39"):
        return frozenset(), frozenset(), (frozenset(t for t in text[3:].split(",") if t),)
    for name in text.split(","):
        name = name.strip()
        if not name:
            raise faults.BadRequest(f"Invalid query string parameters: Expected 'required' parameter value of the "
                                    f"form: HW_CPU_X86_VMX,CUSTOM_MAGIC. Got: {text}")
        if name.startswith("!") and at_least(req, "1.22"):
            forbidden.add(name[1:])
        else:
            required.add(name)
    return frozenset(required), frozenset(forbidden), tuple(any_of)


def filters_from(req: falcon.Request, member_of_since: str = "1.3", required_since: str = "1.18") -> rules.Filters:
    """The provider filters of ``GET /resource_providers`` (and, with their own first versions,
    ``/allocation_candidates``) by microversion."""
    member_of, forbidden_aggs = ((), frozenset())
    if one(req, "member_of") and at_least(req, member_of_since):
        member_of, forbidden_aggs = parse_member_of(req)
    required, forbidden, any_traits = frozenset(), frozenset(), ()
    text = one(req, "required")
    if text is not None and at_least(req, required_since):
        required = frozenset()
        for value in many(req, "required") if at_least(req, "1.39") else [text]:
            r, f, a = parse_required(req, value)
            required |= r
            forbidden |= f
            any_traits += a
    in_tree = one(req, "in_tree") if at_least(req, "1.14") else None
    if in_tree is not None:
        in_tree = check_uuid(in_tree, "uuid")
    return rules.Filters(member_of=member_of, forbidden_aggregates=forbidden_aggs, in_tree=in_tree,
                         required=required, forbidden=frozenset(forbidden), any_traits=any_traits)


def params_for(req: falcon.Request) -> set[str]:
    """The query parameters ``GET /resource_providers`` accepts at the request's version."""
    names = {"name", "uuid"}
    if at_least(req, "1.3"):
        names.add("member_of")
    if at_least(req, "1.4"):
        names.add("resources")
    if at_least(req, "1.14"):
        names.add("in_tree")
    if at_least(req, "1.18"):
        names.add("required")
    return names
