"""The local cloud's own SQLite file: its hypervisor state, apart from Overcast's records.

One connection per thread (sqlite3 connections are not shared across threads here), WAL so
readers never wait for the writer, ``busy_timeout`` so several processes (``overcast serve``
plus ``overcast worker``) queue for the write lock instead of failing, and every write in a
short ``BEGIN IMMEDIATE`` transaction so read-check-write sequences (idempotency, anti-affinity,
fault counters) are atomic across processes.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from pathlib import Path
from typing import Iterator

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS server (
    id TEXT PRIMARY KEY,
    idempotency_key TEXT UNIQUE,
    name TEXT NOT NULL,
    state TEXT NOT NULL,
    prior_state TEXT,
    host TEXT,
    zone TEXT,
    flavor TEXT NOT NULL,
    old_flavor TEXT,
    image TEXT,
    metadata TEXT NOT NULL DEFAULT '{}',
    networks TEXT NOT NULL DEFAULT '[]',
    server_group TEXT,
    ready_at REAL NOT NULL,
    fail_build INTEGER NOT NULL DEFAULT 0,
    fault TEXT,
    fail_deletes_left INTEGER NOT NULL DEFAULT 0,
    unavailable_n INTEGER NOT NULL DEFAULT 0,
    console TEXT NOT NULL DEFAULT '',
    boots INTEGER NOT NULL DEFAULT 1,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_server_group ON server (server_group);
CREATE INDEX IF NOT EXISTS ix_server_host ON server (host);
CREATE TABLE IF NOT EXISTS volume_attachment (
    server_id TEXT NOT NULL,
    volume_id TEXT NOT NULL,
    device TEXT NOT NULL,
    PRIMARY KEY (server_id, volume_id)
);
-- assisted volume snapshots: the qcow2 overlay files of a volume, oldest first; the volume's own
-- file is the base of the chain and the newest overlay is the file the guest writes to
CREATE TABLE IF NOT EXISTS volume_snapshot_file (
    volume_id TEXT NOT NULL,
    snapshot_id TEXT NOT NULL,
    file TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (volume_id, snapshot_id)
);
CREATE TABLE IF NOT EXISTS server_group (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    policy TEXT NOT NULL
);
-- images the cloud made from its servers (snapshots); their data is a file beside the database
CREATE TABLE IF NOT EXISTS image (
    id TEXT PRIMARY KEY,
    idempotency_key TEXT UNIQUE,
    server_id TEXT,
    name TEXT NOT NULL,
    size INTEGER NOT NULL,
    disk_format TEXT NOT NULL DEFAULT 'qcow2',
    checksum TEXT,
    created_at REAL NOT NULL
);
-- servers in the middle of an action (reboot, rebuild, resize, revert): unsettled until settles_at
CREATE TABLE IF NOT EXISTS transition (
    server_id TEXT PRIMARY KEY,
    settles_at REAL NOT NULL
);
-- fault injection: calls of each kind left to fail with Unavailable, by the build's idempotency key
CREATE TABLE IF NOT EXISTS unavailable (
    idempotency_key TEXT NOT NULL,
    method TEXT NOT NULL,
    remaining INTEGER NOT NULL,
    PRIMARY KEY (idempotency_key, method)
);
"""


class LocalStore:
    """Thread-local sqlite3 connections to one file; :meth:`write` and :meth:`read` are short transactions."""

    #: the tables this store makes (idempotent DDL); a store of another part of the local cloud
    #: kept in a file of its own gives its own
    schema = SCHEMA

    def __init__(self, path: Path, busy_timeout_s: float = 30.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        self._closed = False
        conn = self._connect()
        conn.executescript(self.schema)  # idempotent DDL, each statement its own transaction
        with self.write() as conn:
            conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
                         (str(SCHEMA_VERSION),))

    def _connect(self) -> sqlite3.Connection:
        if self._closed:
            raise RuntimeError("the local cloud store is closed")
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=self._busy_timeout_s, isolation_level=None,
                                   check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_s * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            self._local.conn = conn
            with self._all_lock:
                self._all.append(conn)
        return conn

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction taken with the write lock up front (``BEGIN IMMEDIATE``)."""
        conn = self._connect()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")

    @contextlib.contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A consistent snapshot for several SELECTs."""
        conn = self._connect()
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    def close(self) -> None:
        self._closed = True
        with self._all_lock:
            conns, self._all = self._all, []
        for conn in conns:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
        self._local = threading.local()
