"""Cinder's list parameters, shared by volumes, snapshots, transfers and messages: ``sort``
(``key:dir,...``) or ``sort_key``/``sort_dir``, ``limit``, ``marker`` and ``offset``.

As in Cinder, a page holds at most ``limit`` items (:data:`MAX_LIMIT` without one), and a page
that is full gets a link to the next one."""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.core.context import AuthContext
from overcast.core.errors import Invalid, NotFound
from overcast.core.volume import metadata

T = TypeVar("T")

MAX_LIMIT = 1000
#: the v1 names Cinder still accepts as sort keys
SORT_ALIASES = {"display_name": "name", "display_description": "description"}


@dataclass(frozen=True)
class Page:
    sort: tuple[tuple[str, str], ...] = (("created_at", "desc"), ("id", "desc"))
    limit: int | None = None
    marker: str | None = None
    offset: int = 0


def parse_sort(sort: str | None, sort_key: str | None, sort_dir: str | None,
               allowed: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """``sort=name:asc,size`` or ``sort_key``/``sort_dir``, with ``id`` appended for a stable order.

    :raises Invalid: an unknown key or direction, or both forms at once (Cinder's messages).
    """
    if sort and (sort_key or sort_dir):
        raise Invalid("Invalid input received: The 'sort_key' and 'sort_dir' parameters are deprecated and "
                      "cannot be used with the 'sort' parameter.")
    pairs: list[tuple[str, str]] = []
    if sort:
        for part in sort.split(","):
            key, _, direction = part.strip().partition(":")
            pairs.append((key.strip(), (direction or "desc").strip().lower()))
    elif sort_key or sort_dir:
        pairs.append(((sort_key or "created_at").strip(), (sort_dir or "desc").strip().lower()))
    else:
        pairs.append(("created_at", "desc"))
    pairs = [(SORT_ALIASES.get(key, key), direction) for key, direction in pairs]
    for key, direction in pairs:
        if key not in allowed:
            raise Invalid(f"Invalid input received: Invalid sort key {key}")
        if direction not in ("asc", "desc"):
            raise Invalid("Invalid input received: Unknown sort direction, must be 'desc' or 'asc'")
    if "id" not in {k for k, _ in pairs}:
        pairs.append(("id", pairs[-1][1]))
    return tuple(pairs)


def _non_negative(raw: str, name: str) -> int:
    """:raises Invalid: not a non-negative integer (Cinder's messages)."""
    try:
        value = int(raw)
    except ValueError:
        raise Invalid(f"Invalid input received: {name} param must be an integer") from None
    if value < 0:
        raise Invalid(f"Invalid input received: {name} param must be positive")
    return value


def parse_limit(raw: str | None) -> int | None:
    """:raises Invalid: not a non-negative integer."""
    return None if raw is None else min(_non_negative(raw, "limit"), MAX_LIMIT)


def parse_offset(raw: str | None) -> int:
    """:raises Invalid: not a non-negative integer."""
    return 0 if raw is None else _non_negative(raw, "offset")


def _key(item: Any, sort: tuple[tuple[str, str], ...], aliases: Mapping[str, str]) -> tuple:
    out = []
    for key, direction in sort:
        value = getattr(item, aliases.get(key, key))
        # None sorts first ascending, as in Cinder's SQL; invert for descending by wrapping
        out.append(_Ordered(value, direction == "desc"))
    return tuple(out)


class _Ordered:
    __slots__ = ("value", "reverse")

    def __init__(self, value: Any, reverse: bool):
        self.value, self.reverse = value, reverse

    def __lt__(self, other: "_Ordered") -> bool:
        a, b = self.value, other.value
        if a == b:
            return False
        if a is None or b is None:
            less = a is None
        else:
            less = a < b
        return not less if self.reverse else less

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Ordered) and self.value == other.value


def _sorted(items: list[T], sort: tuple[tuple[str, str], ...], aliases: Mapping[str, str]) -> list[T]:
    """``items`` in ``sort``'s order: plain value tuples when every key goes one way and no value
    is None (the common case, a C-level comparison), else :class:`_Ordered` wrappers. The same
    order either way: ``reverse`` keeps equal items in their order, as the wrappers do."""
    directions = {direction for _, direction in sort}
    if len(directions) == 1:
        values = operator.attrgetter(*(aliases.get(key, key) for key, _ in sort))
        keys = [values(i) for i in items] if len(sort) > 1 else [(values(i),) for i in items]
        if not any(None in k for k in keys):
            order = sorted(range(len(items)), key=keys.__getitem__, reverse=directions == {"desc"})
            return [items[n] for n in order]
    return sorted(items, key=lambda i: _key(i, sort, aliases))


def paginate(items: list[T], page: Page, *, aliases: Mapping[str, str] | None = None,
             missing_marker: str = "Marker {marker} could not be found.") -> tuple[list[T], bool]:
    """Sort ``items``, start after ``page.marker`` (and ``page.offset`` more) and cut at the limit;
    returns (page, full): ``full`` when the page holds as many items as the limit allows.

    :raises NotFound: the marker is not among the items.
    """
    ordered = _sorted(items, page.sort, aliases or {})
    if page.marker is not None:
        ids = [getattr(i, "id") for i in ordered]  # noqa: B009 (T is any record with an id)
        try:
            start = ids.index(page.marker) + 1
        except ValueError:
            raise NotFound(missing_marker.format(marker=page.marker)) from None
        ordered = ordered[start:]
    limit = MAX_LIMIT if page.limit is None else page.limit
    chosen = ordered[page.offset:page.offset + limit]
    return chosen, bool(limit) and len(chosen) == limit


@dataclass
class OfVolumeQuery:
    """The filters of a list of what belongs to a volume (snapshots, backups)."""

    all_tenants: bool = False
    project_id: str | None = None
    name: str | None = None
    status: str | None = None
    volume_id: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    page: Page = field(default_factory=Page)


def of_volume(session: Session, ctx: AuthContext, model: Any, query: OfVolumeQuery, region: str) -> list[Any]:
    """Every ``model`` row (a snapshot or backup record) of ``region`` the query selects, unpaged:
    the caller's project's, or with ``all_tenants`` (admins) every project's or ``project_id``'s."""
    stmt = select(model).where(model.cloud == region)
    if not (ctx.is_admin and query.all_tenants):
        stmt = stmt.where(model.project_id == ctx.project_id)
    elif query.project_id:
        stmt = stmt.where(model.project_id == query.project_id)
    for column, value in ((model.name, query.name), (model.status, query.status), (model.volume_id, query.volume_id)):
        if value is not None:
            stmt = stmt.where(column == value)
    rows = list(session.scalars(stmt))
    if query.metadata:
        rows = [row for row in rows if metadata.matches(row, query.metadata)]
    return rows
