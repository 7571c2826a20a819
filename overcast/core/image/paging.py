"""Glance's list paging, shared by images, tasks, metadefs namespaces and metadefs tags: check the
sort, load the rows in order, start after the marker, cut to the limit."""

from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence

from sqlalchemy import Select
from sqlalchemy.orm import Session

from overcast.core.errors import Invalid

#: Glance's limit_param_default and api_limit_max
DEFAULT_LIMIT = 25
MAX_LIMIT = 1000
SORT_DIRS = ("asc", "desc")


def check_dir(direction: str) -> None:
    """:raises Invalid: not ``asc`` or ``desc``."""
    if direction not in SORT_DIRS:
        raise Invalid(f"Invalid sort direction: {direction}")


def page(session: Session, query: Select[Any], model: Any, *, sort: Iterable[tuple[str, str]],
         sort_keys: Sequence[str], limit: int | None, marker: str | None, marker_attr: str = "id",
         check_marker: Callable[[str], object] | None = None,
         missing: Callable[[str], Exception] | None = None, keep: Callable[[Any], bool] | None = None,
         default_limit: int | None = DEFAULT_LIMIT, max_limit: int | None = MAX_LIMIT,
         params: dict[str, Any] | None = None) -> tuple[list[Any], str | None]:
    """One page of ``query``'s rows of ``model``; returns (page, next marker or None).

    ``sort`` is (key, direction) pairs, checked in order against ``sort_keys``; ties go by ``id``
    (in the last pair's direction). ``check_marker(marker)`` runs once the sort is checked, before
    the rows are loaded; ``keep`` filters the loaded rows. The page starts after the row whose
    ``marker_attr`` is ``marker``: with no such row ``missing(marker)`` is raised, or without
    ``missing`` the page is empty. Without ``limit`` the page holds ``default_limit`` rows (None:
    all), with it at most ``max_limit`` (None: no cap). The next marker is the last row's
    ``marker_attr`` when the page is full. ``params``: the values of ``query``'s bound parameters.

    :raises Invalid: a sort key not in ``sort_keys`` or a direction not ``asc``/``desc``; and
        whatever ``check_marker`` and ``missing`` raise.
    """
    order = order_by(model, sort, sort_keys)
    if marker is not None and check_marker is not None:
        check_marker(marker)
    rows = list(session.scalars(query.order_by(*order), params))
    if keep is not None:
        rows = [row for row in rows if keep(row)]
    return cut(rows, limit=limit, marker=marker, marker_attr=marker_attr, missing=missing,
               default_limit=default_limit, max_limit=max_limit)


def order_by(model: Any, sort: Iterable[tuple[str, str]], sort_keys: Sequence[str]) -> list[Any]:
    """The ORDER BY terms of ``sort`` ((key, direction) pairs, checked in order against
    ``sort_keys``) on ``model``'s attributes (a mapped class or a table's columns), ties by ``id``
    in the last pair's direction. :raises Invalid: unknown key or direction."""
    sort = list(sort)
    order = []
    for key, direction in sort:
        if key not in sort_keys:
            raise Invalid(f"Invalid sort key: {key}. It should be one of the following: {', '.join(sort_keys)}.")
        check_dir(direction)
        column = getattr(model, key)
        order.append(column.asc() if direction == "asc" else column.desc())
    if "id" not in {key for key, _ in sort}:
        order.append(model.id.desc() if (sort and sort[-1][1] == "desc") else model.id.asc())
    return order


def page_size(limit: int | None, default_limit: int | None = DEFAULT_LIMIT,
              max_limit: int | None = MAX_LIMIT) -> int | None:
    """How many rows a page holds: ``default_limit`` without ``limit``, else ``limit`` up to ``max_limit`` (None: all)."""
    if limit is None:
        return default_limit
    return limit if max_limit is None else min(limit, max_limit)


def cut(rows: list[Any], *, limit: int | None, marker: str | None, marker_attr: str = "id",
        missing: Callable[[str], Exception] | None = None, default_limit: int | None = DEFAULT_LIMIT,
        max_limit: int | None = MAX_LIMIT) -> tuple[list[Any], str | None]:
    """The page of sorted ``rows`` after ``marker`` (see :func:`page`); returns (page, next marker or None)."""
    if marker is not None:
        values = [getattr(row, marker_attr) for row in rows]
        if marker in values:
            rows = rows[values.index(marker) + 1:]
        elif missing is not None:
            raise missing(marker)
        else:
            rows = []
    limit = page_size(limit, default_limit, max_limit)
    if limit is None:
        return rows, None
    found = rows[:limit]
    return found, (getattr(found[-1], marker_attr) if found and len(found) == limit else None)
