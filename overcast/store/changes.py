"""A database's change stamp: every committed write moves it, in every process on this machine
(docs/decisions/0038-read-path.md).

For a SQLite database the stamp is the modification time of ``<database file>.changes``. Each
engine made by :func:`overcast.store.db.make_engine` marks its connection when it executes a
write, and moves the stamp when that transaction commits, then again when the connection goes back
to the pool (so a reader that read the stamp between the commit and the release finds it moved
after). Readers compare the stamp with the one they saw when they cached something: unchanged
means no write committed in between.

PostgreSQL databases have no stamp (other machines write to them): :func:`stamp_of` answers None
and callers do not cache.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine

_WRITES = ("insert", "update", "delete", "replace")
_DIRTY = "overcast_wrote"


def stamp_path(url: str) -> Path | None:
    """Where the stamp of the database at ``url`` lives (None: no stamp for this kind of database)."""
    if not url.startswith("sqlite:///") or url == "sqlite:///:memory:":
        return None
    return Path(url[len("sqlite:///"):] + ".changes")


def bump(path: Path) -> None:
    """Move the stamp forward (strictly, even within one clock tick)."""
    try:
        current = path.stat().st_mtime_ns
    except FileNotFoundError:
        path.touch()
        current = 0
    now = max(time.time_ns(), current + 1)
    try:
        os.utime(path, ns=(now, now))
    except FileNotFoundError:
        path.touch()


def read(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return 0


def track(engine: Engine, path: Path) -> None:
    """Move ``path`` whenever a transaction on ``engine`` that wrote something commits."""

    @event.listens_for(engine, "after_cursor_execute")
    def _wrote(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        # a write that changed no row (a worker's claim finding nothing due) is not a change
        if statement[:7].lstrip().lower().startswith(_WRITES) and cursor.rowcount != 0:
            conn.info[_DIRTY] = True

    @event.listens_for(engine, "commit")
    def _commit(conn):  # noqa: ANN001
        if conn.info.get(_DIRTY):
            bump(path)  # before the commit ...
            conn.info[_DIRTY] = "committed"

    @event.listens_for(engine, "rollback")
    def _rollback(conn):  # noqa: ANN001
        if conn.info.get(_DIRTY) is True:
            conn.info.pop(_DIRTY, None)

    @event.listens_for(engine.pool, "checkin")
    def _checkin(dbapi_connection, record):  # noqa: ANN001
        if record is not None and record.info.pop(_DIRTY, None) == "committed":
            bump(path)  # ... and after it, once the connection is released
