"""Rendered views kept per record (docs/decisions/0061-rendered-views-per-record.md).

A list renders every record of its page with one view shape; most of those records did not change
since the last list. :class:`Fragments` keeps each record's rendered JSON (bytes) under a key made of
the view shape and *everything the view reads of the record*: the list row itself (its columns, JSON
columns as their stored text) and its related rows. A write that changes anything a view shows
changes the key, whichever process or code path made it (API, operations, sync from drivers, the
reconciler, a Core ``UPDATE``): there is nothing to invalidate, and a stale fragment can only be
found by a key nothing reads again, which the bound drops in time.

One per view class per process (made in the app factory with the views, shared by the threads of a
worker), bounded by the bytes it holds (keys and fragments counted together): when full, the oldest
quarter is dropped (insertion order).
"""

from __future__ import annotations

import itertools
import threading
from typing import Any, Callable, Hashable, Iterable

from overcast.api.media import dumps

#: bytes a process keeps per view class by default: ~12,000 servers' detail views
DEFAULT_BUDGET = 32 * 1024 * 1024


def _weight(key: Any) -> int:
    """Roughly what a key holds: the text of its strings and bytes (a row's user data, JSON text)."""
    if isinstance(key, (str, bytes)):
        return len(key) + 50
    if isinstance(key, tuple):
        return 56 + sum(_weight(item) for item in key)
    return 32


class Fragments:
    """Rendered records by (shape, record content); bounded by ``budget`` bytes."""

    def __init__(self, budget: int = DEFAULT_BUDGET):
        self.budget = budget
        self.size = 0
        self._items: dict[Hashable, tuple[bytes, int]] = {}
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._items)

    def render(self, key: Hashable, view: Callable[[], Any]) -> bytes:
        """The fragment kept under ``key``, else ``view()`` serialized, kept and returned."""
        found = self._items.get(key)
        if found is not None:
            self.hits += 1
            return found[0]
        self.misses += 1
        fragment = dumps(view())
        cost = len(fragment) + _weight(key)
        if cost > self.budget // 8:  # one huge record must not empty the cache
            return fragment
        with self._lock:
            if key not in self._items:
                if self.size + cost > self.budget:
                    self._drop(max(len(self._items) // 4, 1))
                self._items[key] = (fragment, cost)
                self.size += cost
        return fragment

    def _drop(self, count: int) -> None:
        for key in list(itertools.islice(self._items, count)):
            self.size -= self._items.pop(key)[1]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.size = 0


def frozen(row: tuple) -> tuple:
    """``row`` as a key: its JSON values (dicts, lists: unhashable) as their serialized bytes."""
    return tuple(dumps(value) if isinstance(value, (dict, list)) else value for value in row)


def json_list(name: str, fragments: Iterable[bytes], extra: dict[str, Any] | None = None) -> bytes:
    """``{"<name>": [fragment, ...], **extra}`` as JSON bytes, the fragments joined as they are."""
    parts = [b'{"' + name.encode() + b'":[', b",".join(fragments), b"]"]
    for key, value in (extra or {}).items():
        parts += (b",", dumps(key), b":", dumps(value))
    parts.append(b"}")
    return b"".join(parts)  # one copy of a large body, not one per extra key
