"""Keystone's inexact list filters: ``?name__contains=``, ``__icontains``, ``__startswith``,
``__istartswith``, ``__endswith``, ``__iendswith``, ``__equals`` and ``__iequals``.

Keystone narrows a list in SQL with the case-insensitive comparisons and applies the
case-sensitive ones to the rows in Python (its SQL ``LIKE`` follows the database's collation).
Here every filter narrows the query with a case-insensitive ``LIKE`` whose wildcards are escaped
(so ``%`` and ``_`` in a value are literal, where Keystone lets them act as wildcards), and the
rows are then checked exactly, so a case-sensitive filter means the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Sequence, TypeVar

from sqlalchemy import Select, func

T = TypeVar("T")

#: what may follow ``<attribute>__`` (after an optional ``i`` for a case-insensitive match)
COMPARATORS = ("contains", "startswith", "endswith", "equals")


@dataclass(frozen=True)
class TextFilter:
    """One inexact filter on a string attribute of the listed records."""

    attr: str
    comparator: str
    value: str
    case_sensitive: bool = True

    def clause(self, column: Any) -> Any:
        """A SQL condition every row this filter keeps satisfies (it may keep a few more)."""
        if self.comparator == "equals":
            return column == self.value if self.case_sensitive else func.lower(column) == self.value.lower()
        like = {"contains": column.icontains, "startswith": column.istartswith, "endswith": column.iendswith}
        return like[self.comparator](self.value, autoescape=True)

    def matches(self, text: object) -> bool:
        if not isinstance(text, str):
            return False
        value = self.value
        if not self.case_sensitive:
            text, value = text.lower(), value.lower()
        if self.comparator == "contains":
            return value in text
        if self.comparator == "startswith":
            return text.startswith(value)
        if self.comparator == "endswith":
            return text.endswith(value)
        return text == value


def narrow(query: Select, model: type, filters: Sequence[TextFilter]) -> Select:
    """The query with each filter's SQL condition on ``model``'s column of that name."""
    for f in filters:
        query = query.where(f.clause(getattr(model, f.attr)))
    return query


def keep(rows: Iterable[T], filters: Sequence[TextFilter]) -> list[T]:
    """The rows every filter matches exactly (after :func:`narrow`)."""
    return [row for row in rows if all(f.matches(getattr(row, f.attr)) for f in filters)]


def select_matching(session: Any, query: Select, model: type, filters: Sequence[TextFilter]) -> list[Any]:
    """Run ``query`` narrowed by the filters and keep the rows they match exactly."""
    return keep(session.scalars(narrow(query, model, filters)), filters)
