"""Every row of every table Overcast keeps, written to a file and put back in one transaction
(``overcast reset`` and saved states; docs/decisions/0035-reset-and-saved-states.md).

Works the same on SQLite and PostgreSQL and while servers use the database: the restore replaces
all rows in one transaction, so a request sees the state before or after, never half of each.
Rows are encoded with msgpack (datetimes as ISO strings, converted back by column type); the file
records the schema revision it was taken at, and a restore refuses a file from another revision.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Iterable

import msgspec
from sqlalchemy import Date, DateTime, Integer, MetaData, Table, delete, insert, select, text
from sqlalchemy.engine import Connection

from overcast.store.db import Store
from overcast.store.schema import load_models

FORMAT = 1
#: tables that are not a cloud's state: injected faults outlive a reset (their owner clears them)
EXCLUDED = frozenset({"injected_fault"})
#: rows per INSERT statement when restoring
CHUNK = 500


class SnapshotError(Exception):
    """A snapshot file that cannot be restored here (another schema revision, unreadable)."""


def metadata() -> MetaData:
    """Every table of every service."""
    return load_models()


def _encode(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    raise TypeError(f"cannot snapshot a {type(value).__name__}")


def tables() -> list[Table]:
    """The tables a snapshot holds, parents before children."""
    return [t for t in metadata().sorted_tables if t.name not in EXCLUDED]


def dump(store: Store, path: Path) -> int:
    """Write every row to ``path`` (read in one transaction); returns the number of rows."""
    tables_ = tables()
    encoder = msgspec.msgpack.Encoder(enc_hook=_encode)
    rows_total = 0
    body: dict[str, Any] = {"format": FORMAT, "revision": store.revision(), "tables": {}}
    with store.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
        for table in tables_:
            columns = [c.name for c in table.columns]
            rows = [list(r) for r in conn.execute(select(*table.columns))]
            rows_total += len(rows)
            if rows:
                body["tables"][table.name] = {"columns": columns, "rows": rows}
        conn.rollback()
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(encoder.encode(body))
    tmp.replace(path)
    return rows_total


def _decoders(table: Table, columns: list[str]) -> list[Any]:
    out = []
    for name in columns:
        kind = table.columns[name].type
        if isinstance(kind, DateTime):
            out.append(lambda v: None if v is None else dt.datetime.fromisoformat(v))
        elif isinstance(kind, Date):
            out.append(lambda v: None if v is None else dt.date.fromisoformat(v))
        else:
            out.append(None)
    return out


def read(path: Path) -> dict[str, Any]:
    try:
        body = msgspec.msgpack.decode(path.read_bytes())
    except (OSError, msgspec.DecodeError) as exc:
        raise SnapshotError(f"cannot read the snapshot {path}: {exc}") from None
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        raise SnapshotError(f"{path} is not an Overcast snapshot")
    return body


def restore(store: Store, path: Path) -> int:
    """Replace every row with the snapshot's, in one transaction; returns the rows written.

    :raises SnapshotError: the file is unreadable or from another schema revision.
    """
    body = read(path)
    revision = store.revision()
    if body["revision"] != revision:
        raise SnapshotError(f"{path.name} was taken at schema revision {body['revision']}; the database is at "
                            f"{revision} (save the state again after an upgrade)")
    tables_ = tables()
    saved = body["tables"]
    with store.engine.begin() as conn:
        _clear(conn, tables_)
        written = 0
        for table in tables_:
            if table.name not in saved:
                continue
            columns = saved[table.name]["columns"]
            known = [c for c in columns if c in table.columns]
            index = [columns.index(c) for c in known]
            decoders = _decoders(table, known)
            rows = [{name: (decode(row[i]) if decode else row[i]) for name, i, decode in zip(known, index, decoders)}
                    for row in saved[table.name]["rows"]]
            for start in range(0, len(rows), CHUNK):
                conn.execute(insert(table), rows[start:start + CHUNK])
            written += len(rows)
        if conn.dialect.name == "postgresql":
            _reset_sequences(conn, tables_)
    return written


def _clear(conn: Connection, tables: Iterable[Table]) -> None:
    """Delete every row, children before parents. (PostgreSQL's TRUNCATE of ~80 tables makes new
    files for each and took seconds; a DELETE of a test cloud's few rows takes milliseconds.)"""
    tables = list(tables)
    if conn.dialect.name == "postgresql":  # one round trip for all of them
        quote = conn.dialect.identifier_preparer.quote
        conn.exec_driver_sql("; ".join(f"DELETE FROM {quote(t.name)}" for t in reversed(tables)))
        return
    if conn.dialect.name == "sqlite":
        conn.execute(text("PRAGMA defer_foreign_keys = ON"))
    for table in reversed(tables):
        conn.execute(delete(table))


def _reset_sequences(conn: Connection, tables: Iterable[Table]) -> None:
    """Integer keys the restore wrote explicitly: move each sequence past the largest (one query)."""
    quote = conn.dialect.identifier_preparer.quote
    calls = []
    for table in tables:
        keys = list(table.primary_key.columns)
        if len(keys) != 1 or not isinstance(keys[0].type, Integer) or keys[0].autoincrement not in (True, "auto"):
            continue
        name, column = quote(table.name), quote(keys[0].name)
        calls.append(f"(SELECT setval(s, COALESCE(m, 1), m IS NOT NULL) FROM "
                     f"(SELECT pg_get_serial_sequence('{table.name}', '{keys[0].name}') AS s, "
                     f"(SELECT max({column}) FROM {name}) AS m) AS x WHERE s IS NOT NULL)")
    if calls:
        conn.exec_driver_sql("SELECT " + ", ".join(calls))
