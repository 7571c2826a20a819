"""What every Neutron resource shares: body parsing (unknown and read-only attributes refused as
Neutron does), list queries (filters on any attribute, tags, ``fields=``, sorting, limit/marker
with ``<collection>_links``; in SQL where the kind's columns can express them) and the generic
collection/item responders each resource binds."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping
from urllib.parse import urlencode

import falcon
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from overcast.api import faults
from overcast.api.fragments import Fragments, json_list
from overcast.api.validation import read_json, validate
from overcast.core.context import AuthContext
from overcast.core.network import NetworkCore, listing

TAG_PARAMS = ("tags", "tags-any", "not-tags", "not-tags-any")
CONTROL_PARAMS = {"fields", "sort_key", "sort_dir", "limit", "marker", "page_reverse", *TAG_PARAMS}
TAGS = {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 255}}
NAME = {"type": "string", "maxLength": 255}
UUID = {"type": "string", "minLength": 1, "maxLength": 64}
BOOL = {"type": "boolean"}
#: the largest value of Neutron's integer columns (32-bit signed)
INT_MAX = 2 ** 31 - 1
#: an attribute Neutron converts to an integer: a number or its digits (see :func:`to_integers`)
INTEGER = {"type": ["integer", "string"], "pattern": "^[0-9]+$", "minimum": 0, "maximum": INT_MAX}


def caller(req: falcon.Request) -> AuthContext:
    return req.context.auth


def regional(core: NetworkCore, req: falcon.Request) -> NetworkCore:
    """The network core acting in the request's region, for this request."""
    auth = getattr(req.context, "auth", None)
    return core.at(req.context.region, request_id=getattr(req.context, "request_id", None),
                   user_id=auth.user_id if auth is not None else None)


def iso(value: dt.datetime | None) -> str | None:
    """``2026-12-07T10:00:00Z``; a naive (UTC) time with ``isoformat``, C code (``strftime`` was a
    tenth of a port list's time)."""
    if value is None:
        return None
    if value.tzinfo is not None:
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return value.isoformat(timespec="seconds") + "Z"


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


def to_integers(body: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """``body`` with the digits given for ``names`` (validated by :data:`INTEGER`) as integers.

    :raises faults.BadRequest: digits beyond :data:`INT_MAX` (the schema bounds only numbers).
    """
    out = {}
    for key, value in body.items():
        if key in names and isinstance(value, str):
            value = int(value)
            if value > INT_MAX:
                raise faults.BadRequest(f"Invalid input for {key}. Reason: '{value}' is too large - must be no "
                                        f"larger than '{INT_MAX}'.", kind="HTTPBadRequest")
        out[key] = value
    return out


# -- listing ---------------------------------------------------------------------------------------
def attribute_filters(req: falcon.Request) -> dict[str, list[str]]:
    """Attribute filters: every parameter that is not a list control, with its values."""
    return {k: (v if isinstance(v, list) else [v]) for k, v in req.params.items() if k not in CONTROL_PARAMS}


def _matches(value: Any, wanted: list[str]) -> bool:
    if isinstance(value, bool):
        return any(w.lower() in (("true", "1") if value else ("false", "0")) for w in wanted)
    if isinstance(value, list):
        if value and isinstance(value[0], dict):  # fixed_ips=ip_address=...&fixed_ips=subnet_id=...
            pairs = [w.split("=", 1) for w in wanted if "=" in w]
            return all(any(str(item.get(k)) == v for item in value) for k, v in pairs)
        return any(w in [str(v) for v in value] for w in wanted)
    if value is None:
        return any(w in listing.NULL_VALUES for w in wanted)
    return str(value) in wanted


def _tag_params(req: falcon.Request) -> dict[str, set[str]]:
    """The tag filters asked for (parameter -> tags, comma lists split), empty ones left out."""
    found = {}
    for name in TAG_PARAMS:
        tags = {t for v in req.get_param_as_list(name) or [] for t in v.split(",") if t}
        if tags:
            found[name] = tags
    return found


def _kept(view: dict[str, Any], filters: dict[str, list[str]], tags: dict[str, set[str]]) -> bool:
    """Whether ``view`` passes every filter it has the attribute for, and the tag filters."""
    if not all(k not in view or _matches(view[k], w) for k, w in filters.items()):
        return False
    have = set(view.get("tags") or [])
    return not (("tags" in tags and not tags["tags"] <= have) or ("tags-any" in tags and not tags["tags-any"] & have)
                or ("not-tags" in tags and tags["not-tags"] <= have)
                or ("not-tags-any" in tags and tags["not-tags-any"] & have))


def matching(req: falcon.Request, views: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ``views`` every attribute and tag filter of the request keeps (a resource listed
    without the store: service providers)."""
    filters, tags = attribute_filters(req), _tag_params(req)
    return [v for v in views if _kept(v, filters, tags)]


def _sort(req: falcon.Request, known: Callable[[str], bool]) -> list[tuple[str, bool]]:
    """(key, descending) for each ``sort_key`` (a missing ``sort_dir`` is ascending).

    :raises faults.BadRequest: a direction other than asc/desc, or a key ``known`` refuses (checked
        from the last key back, the order the sorts run in).
    """
    keys = req.get_param_as_list("sort_key") or []
    dirs = req.get_param_as_list("sort_dir") or []
    sort: list[tuple[str, bool]] = []
    for index in reversed(range(len(keys))):
        key, direction = keys[index], dirs[index] if index < len(dirs) else "asc"
        if direction not in ("asc", "desc"):
            raise faults.BadRequest(f"Sort direction specified '{direction}' is not valid.", kind="HTTPBadRequest")
        if not known(key):
            raise faults.BadRequest(f"{key} is invalid attribute for sort_key", kind="HTTPBadRequest")
        sort.insert(0, (key, direction == "desc"))
    return sort


def _sort_value(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    if isinstance(value, (bool, int, float)):
        return (1, value)
    return (2, str(value))


def _sorted(views: list[dict[str, Any]], sort: list[tuple[str, bool]]) -> list[dict[str, Any]]:
    """Stable sorts from the last key to the first: ties keep the order they came in."""
    for key, descending in reversed(sort):
        views = sorted(views, key=lambda v: _sort_value(v.get(key)), reverse=descending)
    return views


def _limit(req: falcon.Request) -> int | None:
    """The page size (0: no limit), None without ``limit``.

    :raises faults.BadRequest: not an integer, or negative.
    """
    limit = req.get_param("limit")
    if limit is None:
        return None
    try:
        size = int(limit)
    except ValueError:
        raise faults.BadRequest(f"Invalid input for limit. Reason: '{limit}' is not an integer.",
                                kind="HTTPBadRequest") from None
    if size < 0:
        raise faults.BadRequest(f"Limit must be an integer 0 or greater and not '{limit}'", kind="HTTPBadRequest")
    return size


def _page(views: list[dict[str, Any]], limit: int | None, marker: str | None, reverse: bool) -> listing.Page:
    """The page of ``views`` after ``marker`` (before it with ``reverse``); a marker not among
    them is ignored; everything without a limit (None) or with 0."""
    if limit is None:
        return listing.Page(views)
    ids = [v["id"] for v in views]
    at = ids.index(marker) if marker in ids else None
    if reverse:
        end = at if at is not None else len(views)
        return listing.Page(views[max(0, end - limit):end] if limit else views[:end],
                            more_before=bool(limit) and end > limit, more_after=at is not None)
    start = at + 1 if at is not None else 0
    return listing.Page(views[start:start + limit] if limit else views[start:], more_before=at is not None,
                        more_after=bool(limit) and start + limit < len(views))


def _link(req: falcon.Request, base: str, url: str, marker: str, reverse: bool) -> str:
    params = [(k, v) for k, vals in req.params.items() if k not in ("marker", "page_reverse")
              for v in (vals if isinstance(vals, list) else [vals])]
    params.append(("marker", marker))
    if reverse:
        params.append(("page_reverse", "True"))
    return f"{base}/v2.0/{url}?{urlencode(params)}"


def _links(req: falcon.Request, base: str, kind: Kind, page: listing.Page, ids: list[str]) -> dict[str, Any]:
    """``{"<collection>_links": [next, previous]}`` of a page whose records have ``ids``; {} when none."""
    links = []
    if ids and page.more_after:
        links.append({"rel": "next", "href": _link(req, base, kind.url or kind.collection, ids[-1], False)})
    if ids and page.more_before:
        links.append({"rel": "previous", "href": _link(req, base, kind.url or kind.collection, ids[0], True)})
    return {f"{kind.collection}_links": links} if links else {}


def _body(req: falcon.Request, base: str, kind: Kind, page: listing.Page) -> dict[str, Any]:
    """``{collection: [...]}`` with ``<collection>_links`` (next, previous) and ``fields=`` applied."""
    views: list[dict[str, Any]] = page.rows
    body = _links(req, base, kind, page, [v["id"] for v in views])
    fields = requested_fields(req)
    body[kind.collection] = [_selected(v, fields) for v in views] if fields else views
    return body


def list_body(req: falcon.Request, base: str, kind: Kind, session: Session, query: Select[Any]) -> dict[str, Any]:
    """The records of ``query`` filtered, sorted, paged and field-selected as Neutron lists are
    (:func:`list_answer` without kept views)."""
    body = list_answer(req, base, kind, session, query, None)
    assert isinstance(body, dict)
    return body


def list_answer(req: falcon.Request, base: str, kind: Kind, session: Session, query: Select[Any],
                fragments: Fragments | None) -> dict[str, Any] | bytes:
    """The records of ``query`` filtered, sorted, paged and field-selected as Neutron lists are.

    When every filter and sort key is one of ``kind.columns`` and no tag filter is asked, the
    database does it all and only the page is loaded (:func:`listing.page`); otherwise every
    record is rendered and the views are filtered (on any attribute, tags too), sorted and paged.
    Both give the same answer for any query the first can take. On the first path, a kind with
    kept views (``kind.kept``, given ``fragments``) and no ``fields=`` reads the page as rows of
    ``kind.rows`` and answers the JSON bytes of its kept views
    (docs/decisions/0067-kept-neutron-and-flavor-views.md).

    :raises faults.BadRequest: a bad limit, sort key or direction.
    """
    filters, tags = attribute_filters(req), _tag_params(req)
    for name in kind.narrowing.keys() & filters.keys():
        query = kind.narrowing[name](query, filters.pop(name))
    keys = req.get_param_as_list("sort_key") or []
    marker, reverse = req.get_param("marker"), (req.get_param("page_reverse") or "").lower() == "true"
    if not tags and kind.columns.keys() >= {*filters, *keys}:
        sort = _sort(req, kind.columns.__contains__)
        if kind.kept is not None and fragments is not None and not requested_fields(req):
            page = listing.page(session, query, kind.columns, filters=filters, sort=sort, limit=_limit(req),
                                marker=marker, reverse=reverse, only=kind.rows)
            return json_list(kind.collection, kind.kept(req, session, page.rows, fragments),
                             _links(req, base, kind, page, [row.id for row in page.rows]))
        page = listing.page(session, query.options(*kind.options), kind.columns, filters=filters, sort=sort,
                            limit=_limit(req), marker=marker, reverse=reverse)
        return _body(req, base, kind, replace(page, rows=kind.render(req, session, page.rows)))
    query = query.options(*kind.options)
    views = [v for v in kind.render(req, session, list(session.scalars(listing.ordered(query))))
             if _kept(v, filters, tags)]
    known = set(views[0]) if views else None
    views = _sorted(views, _sort(req, lambda key: known is None or key in known))
    return _body(req, base, kind, _page(views, _limit(req), marker, reverse))


def requested_fields(req: falcon.Request) -> list[str]:
    """The attributes ``fields=`` asks for (none: all)."""
    return [f for v in req.get_param_as_list("fields") or [] for f in v.split(",") if f]


def _selected(view: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    return {k: view[k] for k in fields if k in view}


def select_fields(req: falcon.Request, view: dict[str, Any]) -> dict[str, Any]:
    fields = requested_fields(req)
    return _selected(view, fields) if fields else view


# -- generic responders ------------------------------------------------------------------------------
#: what no update may set, on every resource
STANDARD_READ_ONLY = ("id", "tenant_id", "project_id", "status", "created_at", "updated_at", "revision_number")


@dataclass
class Kind:
    """One Neutron resource: its names, view, rules and request attributes."""

    collection: str            # "networks" (JSON and URL)
    member: str                # "network"
    view: Callable[[falcon.Request, Any, Any], dict[str, Any]]   # (req, session, record) -> dict
    rules: Any                 # the core module: query/get/create/update/delete
    create_properties: Mapping[str, Any]
    update_properties: Mapping[str, Any]
    required: tuple[str, ...] = ()
    #: the attributes a list filters and sorts on in SQL: wire name -> the column the view shows
    #: as it is (anything else is filtered and sorted on the rendered views)
    columns: listing.Columns = field(default_factory=dict)
    #: filters with a grammar of their own: wire name -> (query, the values asked) -> the query
    #: narrowed (ports' ``fixed_ips=ip_address_substr=...``)
    narrowing: Mapping[str, Callable[[Select[Any], list[str]], Select[Any]]] = field(default_factory=dict)
    #: loader options for listed records (load only what the view reads)
    options: tuple[Any, ...] = ()
    #: views of many records, loading what they refer to at once (default: ``view`` on each)
    many: Callable[[falcon.Request, Session, list[Any]], list[dict[str, Any]]] | None = None
    #: kept views of list rows (docs/decisions/0067-kept-neutron-and-flavor-views.md): the rows of
    #: :attr:`rows` (every column the view reads) -> their views' JSON, kept in the fragments given
    kept: Callable[[falcon.Request, Session, list[Any], Fragments], list[bytes]] | None = None
    #: the Core columns a kept list reads (the kind's ``LIST_COLUMNS``)
    rows: tuple[Any, ...] = ()
    url: str = ""              # URL segment when it differs from collection ("security-groups")
    extra_read_only: tuple[str, ...] = field(default=STANDARD_READ_ONLY)
    #: attributes Neutron converts to integers (``convert_to_int``): given as a number or as its
    #: digits (the CLI sends ``"28"``), schema :data:`INTEGER`
    integers: tuple[str, ...] = ()

    def render(self, req: falcon.Request, session: Session, records: list[Any]) -> list[dict[str, Any]]:
        """The views of ``records``, in their order."""
        if self.many is not None:
            return self.many(req, session, records)
        return [self.view(req, session, r) for r in records]

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
        #: the list's rendered views, one per process (docs/decisions/0067-kept-neutron-and-flavor-views.md)
        self.fragments = Fragments() if kind.kept is not None else None

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """The list. :raises faults.BadRequest: a bad limit, sort key or direction."""
        core = regional(self.core, req)
        with core.session() as session:
            query = self.kind.rules.query(core, session, caller(req))
            body = list_answer(req, self.base, self.kind, session, query, self.fragments)
        if isinstance(body, bytes):  # kept views joined as they are
            resp.data = body
            resp.content_type = falcon.MEDIA_JSON
        else:
            resp.media = body

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
        # what the region's backend itself still allows, read before the transaction (decision 0046)
        core = regional(self.core, req).with_headroom(caller(req).project_id)
        with core.session() as session:
            records = [self.kind.rules.create(core, session, caller(req), to_integers(body, self.kind.integers))
                       for body in bodies]
            settle = getattr(self.kind.rules, "settle", None)
            if settle is not None:  # what the backend must make before the answer (a provider's address)
                settle(core, session, records)
            views = [self.kind.view(req, session, record) for record in records]
        core.headroom_spent()
        resp.status = falcon.HTTP_201
        resp.media = {self.kind.collection: views} if bulk else {self.kind.member: views[0]}


class Item:
    def __init__(self, core: NetworkCore, kind: Kind):
        self.core, self.kind = core, kind

    def on_get(self, req: falcon.Request, resp: falcon.Response, item_id: str) -> None:
        core = regional(self.core, req)
        with core.session() as session:
            record = self.kind.rules.get(core, session, caller(req), item_id)
            resp.media = {self.kind.member: select_fields(req, self.kind.view(req, session, record))}

    def on_put(self, req: falcon.Request, resp: falcon.Response, item_id: str) -> None:
        if not self.kind.update_properties:
            raise faults.Fault(405, f"{self.kind.member} cannot be updated.", kind="HTTPMethodNotAllowed")
        changes = to_integers(read_body(req, self.kind.member, self.kind.update_properties,
                                        read_only=self.kind.read_only), self.kind.integers)
        core = regional(self.core, req)
        with core.session() as session:
            record = self.kind.rules.update(core, session, caller(req), item_id, changes)
            resp.media = {self.kind.member: self.kind.view(req, session, record)}

    def on_delete(self, req: falcon.Request, resp: falcon.Response, item_id: str) -> None:
        core = regional(self.core, req)
        with core.session() as session:
            self.kind.rules.delete(core, session, caller(req), item_id)
        resp.status = falcon.HTTP_204
