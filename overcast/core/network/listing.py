"""Neutron lists in SQL: filters on plain columns, sort keys with a unique tie-breaker, and one
page of ``limit`` rows after (or, paging in reverse, before) a marker, fetched as ``limit + 1``
rows so that a request costs what its page costs, not what the project holds.

The answers are exactly those of filtering, sorting and paging the rendered records (what the
API does with anything these columns cannot express):

- a filter value matches as the rendered value's ``str()`` would: exactly for text, the decimal
  form for integers, ``true``/``1``/``false``/``0`` in any case for booleans, and ``""``,
  ``None`` or ``null`` for a null;
- sorting puts nulls first ascending and last descending, and keeps ties in the order a list
  has without sort keys (creation time, then id) in either direction, as a stable sort does;
- a marker that is not among the filtered records is ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence

from sqlalchemy import Boolean, Integer, String, and_, bindparam, false, literal, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql import ColumnElement, Select

#: wire attribute name -> the column it shows
Columns = Mapping[str, InstrumentedAttribute[Any]]
#: what a filter value on a nullable column matches null with
NULL_VALUES = ("", "None", "null")


@dataclass(frozen=True)
class Page:
    """One page of records, and whether there are more before and after it."""

    rows: list[Any]
    more_before: bool = False
    more_after: bool = False


def related(owner: Any, *columns: Any, order: Any) -> Select[Any]:
    """``owner`` and ``columns`` of the rows whose ``owner`` is one of the expanding ``ids``, by owner
    then ``order``: the statement :func:`grouped` runs (built once by its caller)."""
    return select(owner, *columns).where(owner.in_(bindparam("ids", expanding=True))).order_by(owner, order)


def grouped(session: Session, statement: Select[Any], ids: Iterable[str], make: Callable[..., Any]
            ) -> dict[str, tuple[Any, ...]]:
    """The rows of ``statement`` (its first column an owner's id, the owners bound as the expanding
    ``ids``) by owner, in the statement's order, each the rest of its columns made into ``make(...)``:
    one statement per thousand owners (a list's related rows, 0067)."""
    wanted = sorted(set(ids))
    found: dict[str, list[Any]] = {}
    for start in range(0, len(wanted), 1000):
        for owner, *rest in session.connection().execute(statement, {"ids": wanted[start:start + 1000]}):
            found.setdefault(owner, []).append(make(*rest))
    return {owner: tuple(items) for owner, items in found.items()}


def ordered(query: Select[Any]) -> Select[Any]:
    """``query`` in the order of a list without sort keys: creation time, then id."""
    return query.order_by(*_tie_breakers(query))


def page(session: Session, query: Select[Any], columns: Columns, *, filters: Mapping[str, Sequence[str]],
         sort: Sequence[tuple[str, bool]], limit: int | None, marker: str | None, reverse: bool,
         only: Sequence[Any] = ()) -> Page:
    """The records of ``query`` matching every filter (wire name -> the values any of which
    matches), sorted by ``sort`` ((wire name, descending) pairs), and, with a ``limit`` (0: no
    limit), the page after ``marker`` (before it with ``reverse``). With ``only`` (Core columns),
    the page is rows of those columns read on the session's connection, not records
    (docs/decisions/0067-kept-neutron-and-flavor-views.md).

    :raises KeyError: a filter or sort key ``columns`` does not name (callers check first).
    """
    query = query.where(*(_matching(columns[name], wanted) for name, wanted in filters.items()))
    dialect = session.get_bind().dialect.name
    keys = [_Key(columns[name], descending, dialect) for name, descending in sort]
    keys += [_Key(column, False, dialect) for column in _tie_breakers(query)]

    def fetch(statement: Select[Any]) -> list[Any]:
        if only:
            return list(session.connection().execute(statement.with_only_columns(*only)).all())
        return list(session.scalars(statement))

    if limit is None:
        return Page(fetch(query.order_by(*(k.term(False) for k in keys))))
    anchor = None
    if marker is not None:
        values = query.with_only_columns(*(k.column.label(f"k{i}") for i, k in enumerate(keys)))
        anchor = session.execute(values.where(_tie_breakers(query)[-1] == marker)).first()
    if anchor is not None:
        query = query.where(_beyond(keys, tuple(anchor), reverse))
    query = query.order_by(*(k.term(reverse) for k in keys))
    rows = fetch(query.limit(limit + 1) if limit else query)
    more = bool(limit) and len(rows) > limit
    if more:
        rows = rows[:limit]
    if reverse:
        rows.reverse()
        return Page(rows, more_before=more, more_after=anchor is not None)
    return Page(rows, more_before=anchor is not None, more_after=more)


def _tie_breakers(query: Select[Any]) -> tuple[InstrumentedAttribute[Any], InstrumentedAttribute[Any]]:
    model = query.column_descriptions[0]["entity"]
    return model.created_at, model.id


def _integer(text: str) -> int | None:
    """The integer whose ``str()`` is ``text``, if there is one."""
    try:
        number = int(text)
    except ValueError:
        return None
    return number if str(number) == text else None


def _matching(column: InstrumentedAttribute[Any], wanted: Sequence[str]) -> ColumnElement[bool]:
    kind = column.expression.type
    values: list[Any]
    if isinstance(kind, Boolean):
        values = [flag for flag, words in ((True, ("true", "1")), (False, ("false", "0")))
                  if any(w.lower() in words for w in wanted)]
    elif isinstance(kind, Integer):
        values = [n for n in map(_integer, wanted) if n is not None]
    else:
        values = list(wanted)
    clause = column.in_(values)
    if column.expression.nullable and any(w in NULL_VALUES for w in wanted):
        clause = or_(clause, column.is_(None))
    return clause


class _Key:
    """One sort key: nulls come first in ascending order and last in descending order."""

    def __init__(self, column: InstrumentedAttribute[Any], descending: bool, dialect: str):
        self.column = column
        self.descending = descending
        self.nullable = bool(column.expression.nullable)
        # text sorts by code point, as Python compares strings (SQLite's default; not PostgreSQL's)
        self.ordered = (column.collate("C") if dialect == "postgresql" and isinstance(column.expression.type, String)
                        else column)

    def _descends(self, reverse: bool) -> bool:
        return self.descending != reverse

    def term(self, reverse: bool) -> ColumnElement[Any]:
        """The ORDER BY term, walking the list backwards with ``reverse``."""
        if self._descends(reverse):
            term = self.ordered.desc()
            return term.nulls_last() if self.nullable else term
        term = self.ordered.asc()
        return term.nulls_first() if self.nullable else term

    def _bound(self, value: Any) -> ColumnElement[Any]:
        return literal(value, self.column.expression.type)  # booleans too: SQL compares them as 0 < 1

    def equal(self, value: Any) -> ColumnElement[bool]:
        return self.column.is_(None) if value is None else self.ordered == self._bound(value)

    def after(self, value: Any, reverse: bool) -> ColumnElement[bool]:
        """Rows this key puts strictly after ``value`` (in the walking direction)."""
        if self._descends(reverse):
            if value is None:
                return false()
            before = self.ordered < self._bound(value)
            return or_(before, self.column.is_(None)) if self.nullable else before
        return self.column.is_not(None) if value is None else self.ordered > self._bound(value)


def _beyond(keys: Sequence[_Key], anchor: tuple[Any, ...], reverse: bool) -> ColumnElement[bool]:
    """Rows strictly after the anchor's values in the order of ``keys`` (the last key is unique)."""
    return or_(*(and_(*(keys[j].equal(anchor[j]) for j in range(i)), keys[i].after(anchor[i], reverse))
                 for i in range(len(keys))))
