"""What every Neutron resource shares: body parsing (unknown and read-only attributes refused as
Neutron does), list queries (filters on any attribute, tags, ``fields=``, sorting, limit/marker
with ``<collection>_links``) and the generic collection/item responders each resource binds."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping
from urllib.parse import urlencode

import falcon

from overcast.api import faults
from overcast.api.validation import read_json, validate
from overcast.core.context import AuthContext
from overcast.core.network import NetworkCore

CONTROL_PARAMS = {"fields", "sort_key", "sort_dir", "limit", "marker", "page_reverse", "tags", "tags-any",
                  "not-tags", "not-tags-any"}
TAGS = {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 255}}
NAME = {"type": "string", "maxLength": 255}
UUID = {"type": "string", "minLength": 1, "maxLength": 64}
BOOL = {"type": "boolean"}


def caller(req: falcon.Request) -> AuthContext:
    return req.context.auth


def iso(value: dt.datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else None


def standard(record: Any, tags: bool = True) -> dict[str, Any]:
    """Neutron's standard attributes and the owner (as both project_id and tenant_id)."""
    view = {"description": record.description, "tenant_id": record.project_id, "project_id": record.project_id,
            "created_at": iso(record.created_at), "updated_at": iso(record.updated_at),
            "revision_number": record.revision_number}
    if tags:
        view["tags"] = list(record.tags or [])
    return view


def read_body(req: falcon.Request, member: str, properties: Mapping[str, Any], *, required: tuple[str, ...] = (),
              read_only: tuple[str, ...] = ()) -> dict[str, Any]:
    """The ``{member: {...}}`` body, validated against ``properties``.

    :raises faults.BadRequest: malformed, an unrecognised or read-only attribute, a schema failure.
    """
    return parse_body(read_json(req), member, properties, required=required, read_only=read_only)


def parse_body(body: Any, member: str, properties: Mapping[str, Any], *, required: tuple[str, ...] = (),
               read_only: tuple[str, ...] = ()) -> dict[str, Any]:
    """:func:`read_body` for a parsed body. :raises faults.BadRequest:"""
    if not isinstance(body, dict) or not isinstance(body.get(member), dict):
        raise faults.BadRequest(f"Resource body required: '{member}' object expected.", kind="HTTPBadRequest")
    ref = body[member]
    unknown = sorted(set(ref) - set(properties) - set(read_only))
    if unknown:
        raise faults.BadRequest(f"Unrecognized attribute(s) '{', '.join(unknown)}'", kind="HTTPBadRequest")
    fixed = sorted(set(ref) & set(read_only))
    if fixed:
        raise faults.BadRequest(f"Cannot update read-only attribute {fixed[0]}", kind="HTTPBadRequest")
    missing = [name for name in required if name not in ref]
    if missing:
        raise faults.BadRequest(f"Failed to parse request. Required attribute '{missing[0]}' not specified",
                                kind="HTTPBadRequest")
    schema = {"type": "object", "properties": {member: {"type": "object", "properties": dict(properties)}}}
    return validate(body, schema)[member]


# -- listing ---------------------------------------------------------------------------------------
def _matches(value: Any, wanted: list[str]) -> bool:
    if isinstance(value, bool):
        return any(w.lower() in (("true", "1") if value else ("false", "0")) for w in wanted)
    if isinstance(value, list):
        if value and isinstance(value[0], dict):  # fixed_ips=ip_address=...&fixed_ips=subnet_id=...
            pairs = [w.split("=", 1) for w in wanted if "=" in w]
            return all(any(str(item.get(k)) == v for item in value) for k, v in pairs)
        return any(w in [str(v) for v in value] for w in wanted)
    if value is None:
        return any(w in ("", "None", "null") for w in wanted)
    return str(value) in wanted


def _tag_filter(req: falcon.Request, view: dict[str, Any]) -> bool:
    have = set(view.get("tags") or [])

    def param(name: str) -> list[str]:
        return [t for v in req.get_param_as_list(name) or [] for t in v.split(",") if t]

    if (tags := param("tags")) and not set(tags) <= have:
        return False
    if (tags := param("tags-any")) and not set(tags) & have:
        return False
    if (tags := param("not-tags")) and set(tags) <= have:
        return False
    if (tags := param("not-tags-any")) and set(tags) & have:
        return False
    return True


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    if isinstance(value, (bool, int, float)):
        return (1, value)
    return (2, str(value))


def _sorted(req: falcon.Request, views: list[dict[str, Any]]) -> list[dict[str, Any]]:
    keys = req.get_param_as_list("sort_key") or []
    dirs = req.get_param_as_list("sort_dir") or []
    for index in reversed(range(len(keys))):
        key, direction = keys[index], dirs[index] if index < len(dirs) else "asc"
        if direction not in ("asc", "desc"):
            raise faults.BadRequest(f"Sort direction specified '{direction}' is not valid.", kind="HTTPBadRequest")
        if views and key not in views[0]:
            raise faults.BadRequest(f"{key} is invalid attribute for sort_key", kind="HTTPBadRequest")
        views = sorted(views, key=lambda v: _sort_key(v.get(key)), reverse=direction == "desc")
    return views


def _link(req: falcon.Request, base: str, collection: str, marker: str, reverse: bool) -> str:
    params = [(k, v) for k, vals in req.params.items() if k not in ("marker", "page_reverse")
              for v in (vals if isinstance(vals, list) else [vals])]
    params.append(("marker", marker))
    if reverse:
        params.append(("page_reverse", "True"))
    return f"{base}/v2.0/{collection}?{urlencode(params)}"


def listing(req: falcon.Request, base: str, collection: str, views: list[dict[str, Any]],
            url: str | None = None) -> dict[str, Any]:
    """Filter, sort, page and select fields, as Neutron lists do (``collection`` names the JSON
    list, ``url`` the path segment when it differs).

    :raises faults.BadRequest: a bad limit, sort key or direction.
    """
    filters = {k: (v if isinstance(v, list) else [v]) for k, v in req.params.items() if k not in CONTROL_PARAMS}
    views = [v for v in views if all(k not in v or _matches(v[k], w) for k, w in filters.items())
             and _tag_filter(req, v)]
    views = _sorted(req, views)
    body: dict[str, Any] = {}
    limit = req.get_param("limit")
    marker = req.get_param("marker")
    reverse = (req.get_param("page_reverse") or "").lower() == "true"
    if limit is not None:
        try:
            size = int(limit)
        except ValueError:
            raise faults.BadRequest(f"Invalid input for limit. Reason: '{limit}' is not an integer.",
                                    kind="HTTPBadRequest") from None
        if size < 0:
            raise faults.BadRequest(f"Limit must be an integer 0 or greater and not '{limit}'",
                                    kind="HTTPBadRequest")
        ids = [v["id"] for v in views]
        at = ids.index(marker) if marker in ids else None
        if reverse:
            end = at if at is not None else len(views)
            page = views[max(0, end - size):end] if size else views[:end]
            more_before = size and end - size > 0
            more_after = at is not None
        else:
            start = at + 1 if at is not None else 0
            page = views[start:start + size] if size else views[start:]
            more_after = size and start + size < len(views)
            more_before = at is not None
        links = []
        if page and more_after:
            links.append({"rel": "next", "href": _link(req, base, url or collection, page[-1]["id"], False)})
        if page and more_before:
            links.append({"rel": "previous", "href": _link(req, base, url or collection, page[0]["id"], True)})
        views = page
        if links:
            body[f"{collection}_links"] = links
    fields = [f for v in req.get_param_as_list("fields") or [] for f in v.split(",") if f]
    if fields:
        views = [{k: v[k] for k in fields if k in v} for v in views]
    body[collection] = views
    return body


def select_fields(req: falcon.Request, view: dict[str, Any]) -> dict[str, Any]:
    fields = [f for v in req.get_param_as_list("fields") or [] for f in v.split(",") if f]
    return {k: view[k] for k in fields if k in view} if fields else view


# -- generic responders ------------------------------------------------------------------------------
@dataclass
class Kind:
    """One Neutron resource: its names, view, rules and request attributes."""

    collection: str            # "networks" (JSON and URL)
    member: str                # "network"
    view: Callable[[falcon.Request, Any, Any], dict[str, Any]]   # (req, session, record) -> dict
    rules: Any                 # the core module: listing/get/create/update/delete
    create_properties: Mapping[str, Any]
    update_properties: Mapping[str, Any]
    required: tuple[str, ...] = ()
    #: listing() takes the core too (security groups make the default group on first use)
    listing_needs_core: bool = False
    url: str = ""              # URL segment when it differs from collection ("security-groups")
    extra_read_only: tuple[str, ...] = field(default=("id", "tenant_id", "project_id", "status",
                                                      "created_at", "updated_at", "revision_number"))

    @property
    def read_only(self) -> tuple[str, ...]:
        """What an update may not set."""
        return tuple(set(self.create_properties) - set(self.update_properties)) + self.extra_read_only

    @property
    def create_read_only(self) -> tuple[str, ...]:
        """What a create may not set (the owner it may: an admin creates for another project)."""
        return tuple(a for a in self.extra_read_only if a not in self.create_properties)


class Collection:
    def __init__(self, core: NetworkCore, kind: Kind):
        self.core, self.kind = core, kind
        self.base = core.settings.public_url.rstrip("/") + "/network"

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        ctx = caller(req)
        with self.core.session() as session:
            records = (self.kind.rules.listing(self.core, session, ctx) if self.kind.listing_needs_core
                       else self.kind.rules.listing(session, ctx))
            views = [self.kind.view(req, session, r) for r in records]
        resp.media = listing(req, self.base, self.kind.collection, views, self.kind.url or None)

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """One resource (``{member: {...}}``) or Neutron's bulk form (``{collection: [...]}``),
        all made in one transaction or none."""
        raw = read_json(req)
        bulk = isinstance(raw, dict) and isinstance(raw.get(self.kind.collection), list)
        items = raw[self.kind.collection] if bulk else [raw]
        bodies = [parse_body(item, self.kind.member, self.kind.create_properties, required=self.kind.required,
                             read_only=self.kind.create_read_only) for item in
                  ({self.kind.member: i} for i in items)] if bulk else [
            parse_body(raw, self.kind.member, self.kind.create_properties, required=self.kind.required,
                       read_only=self.kind.create_read_only)]
        with self.core.session() as session:
            views = [self.kind.view(req, session, self.kind.rules.create(self.core, session, caller(req), body))
                     for body in bodies]
        resp.status = falcon.HTTP_201
        resp.media = {self.kind.collection: views} if bulk else {self.kind.member: views[0]}


class Item:
    def __init__(self, core: NetworkCore, kind: Kind):
        self.core, self.kind = core, kind

    def on_get(self, req: falcon.Request, resp: falcon.Response, item_id: str) -> None:
        with self.core.session() as session:
            record = self.kind.rules.get(session, caller(req), item_id)
            resp.media = {self.kind.member: select_fields(req, self.kind.view(req, session, record))}

    def on_put(self, req: falcon.Request, resp: falcon.Response, item_id: str) -> None:
        if not self.kind.update_properties:
            raise faults.Fault(405, f"{self.kind.member} cannot be updated.", kind="HTTPMethodNotAllowed")
        changes = read_body(req, self.kind.member, self.kind.update_properties, read_only=self.kind.read_only)
        with self.core.session() as session:
            record = self.kind.rules.update(self.core, session, caller(req), item_id, changes)
            resp.media = {self.kind.member: self.kind.view(req, session, record)}

    def on_delete(self, req: falcon.Request, resp: falcon.Response, item_id: str) -> None:
        with self.core.session() as session:
            self.kind.rules.delete(self.core, session, caller(req), item_id)
        resp.status = falcon.HTTP_204
