"""Where the noop drivers keep what they remember: in this process, or in one file all the
processes of a data directory share (decision 0073).

``overcast serve --workers 2`` runs two processes, each with its own operation workers, and an
operation may run its next step in the other one (a build whose ports were not wired yet polls
again; a lease that expired under load is taken by another worker). With state in each process's
memory, the other process did not know the server the first had built and the build went to
ERROR "No <id> on the backend of region ...": half the builds of a 1,000-server run on two
processes. So the noop drivers made by the ``noop`` entry point keep their state in
``<data_dir>/noop-cloud.db`` (SQLite, WAL), and every process sees one backend, as with a real
cloud. Drivers made directly (``NoopComputeDriver()``, the conformance kit) keep it in memory.

:class:`Memory` and :class:`SharedFile` offer the same three things: ``lock()`` (a context
manager: a ``threading.RLock``, or a ``BEGIN IMMEDIATE`` transaction, re-entrant within a thread)
under which a read-check-write is atomic; ``reader()`` (the same lock, or a ``BEGIN`` snapshot that
takes no write lock) for reads; and ``table(name)``, a mapping of id -> value. A value read from a
shared table is a copy: a change to it is kept only by assigning it back.

The file is as trusted as the rest of the data directory (it holds the Fernet keys): its values
are pickled dataclasses written by these drivers.
"""

from __future__ import annotations

import pickle
import sqlite3
import threading
from pathlib import Path
from typing import Any, ContextManager, Iterator, MutableMapping

FILE_NAME = "noop-cloud.db"

SCHEMA = """
CREATE TABLE IF NOT EXISTS item (
    tbl TEXT NOT NULL,
    id TEXT NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (tbl, id)
);
"""


class Memory:
    """State in this object only (one process)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._tables: dict[str, dict[str, Any]] = {}

    def lock(self) -> ContextManager[Any]:
        return self._lock

    def reader(self) -> ContextManager[Any]:
        return self._lock

    def table(self, name: str) -> MutableMapping[str, Any]:
        return self._tables.setdefault(name, {})


class SharedFile:
    """State in one SQLite file, shared by every process that opens it."""

    def __init__(self, path: Path, busy_timeout_s: float = 30.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        self._conn().executescript(SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=self._busy_timeout_s, isolation_level=None,
                                   check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_s * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            self._local.conn = conn
            self._local.depth = 0
        return conn

    def lock(self) -> ContextManager[Any]:
        return _Transaction(self, "BEGIN IMMEDIATE")

    def reader(self) -> ContextManager[Any]:
        """A snapshot for reads (``BEGIN``: no write lock, so reads of several processes do not queue)."""
        return _Transaction(self, "BEGIN")

    def table(self, name: str) -> MutableMapping[str, Any]:
        return _Table(self, name)


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` on the thread's connection; re-entrant within a thread,
    reusable (a driver keeps one as its ``_lock``)."""

    def __init__(self, state: SharedFile, begin: str) -> None:
        self._state = state
        self._begin = begin

    def __enter__(self) -> None:
        conn = self._state._conn()
        local = self._state._local
        if local.depth == 0:
            conn.execute(self._begin)
        local.depth += 1

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> None:
        local = self._state._local
        local.depth -= 1
        if local.depth == 0:
            self._state._conn().execute("ROLLBACK" if kind is not None else "COMMIT")


class _Table(MutableMapping[str, Any]):
    def __init__(self, state: SharedFile, name: str) -> None:
        self._state = state
        self._name = name

    def __getitem__(self, key: str) -> Any:
        row = self._state._conn().execute("SELECT value FROM item WHERE tbl = ? AND id = ?",
                                          (self._name, key)).fetchone()
        if row is None:
            raise KeyError(key)
        return pickle.loads(row[0])  # noqa: S301 - written by this module into the data directory

    def __setitem__(self, key: str, value: Any) -> None:
        self._state._conn().execute("INSERT INTO item (tbl, id, value) VALUES (?, ?, ?) "
                                    "ON CONFLICT (tbl, id) DO UPDATE SET value = excluded.value",
                                    (self._name, key, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)))

    def __delitem__(self, key: str) -> None:
        cur = self._state._conn().execute("DELETE FROM item WHERE tbl = ? AND id = ?", (self._name, key))
        if cur.rowcount == 0:
            raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return self._state._conn().execute("SELECT 1 FROM item WHERE tbl = ? AND id = ?",
                                           (self._name, key)).fetchone() is not None

    def __iter__(self) -> Iterator[str]:
        rows = self._state._conn().execute("SELECT id FROM item WHERE tbl = ? ORDER BY rowid",
                                           (self._name,)).fetchall()
        return iter([r[0] for r in rows])

    def __len__(self) -> int:
        return int(self._state._conn().execute("SELECT COUNT(*) FROM item WHERE tbl = ?",
                                               (self._name,)).fetchone()[0])

    def values(self) -> list[Any]:  # type: ignore[override]  # one query, not one per key
        rows = self._state._conn().execute("SELECT value FROM item WHERE tbl = ? ORDER BY rowid",
                                           (self._name,)).fetchall()
        return [pickle.loads(r[0]) for r in rows]  # noqa: S301 - see __getitem__

    def items(self) -> list[tuple[str, Any]]:  # type: ignore[override]
        rows = self._state._conn().execute("SELECT id, value FROM item WHERE tbl = ? ORDER BY rowid",
                                           (self._name,)).fetchall()
        return [(r[0], pickle.loads(r[1])) for r in rows]  # noqa: S301 - see __getitem__


State = Memory | SharedFile


def for_data_dir(data_dir: Path | None) -> State:
    """The state the ``noop`` entry point gives its drivers: shared through the data directory."""
    return Memory() if data_dir is None else SharedFile(Path(data_dir) / FILE_NAME)
