"""The local cloud's block storage: volumes and snapshots that persist across restarts.

State lives in the local cloud's SQLite file (beside the simulated hypervisor's, see
:mod:`overcast.drivers.local.store`); bytes written from an image live in
``<database dir>/local-volumes/<id>`` and are copied on clone and snapshot, so a volume made from
cirros really holds cirros. Reading a volume (:meth:`LocalVolumeDriver.read`, for an upload to an
image) returns exactly those bytes: volumes are thin and their unwritten space is never
materialised, so a volume made from cirros uploads as cirros (same size and checksum) and a blank
volume as an empty image, whatever its size in GB.

Backups (Cinder's backup service, decision 0049) are files too: ``<database dir>/local-backups/<id>``,
a whole copy of the bytes the volume (or snapshot) holds, made before :meth:`create_backup`
returns; an incremental backup names its parent but is kept whole (restoring needs no chain). With
``backup_store = "s3"`` the copies are objects in an S3 bucket instead (:mod:`overcast.drivers.local.backups`).

Manage and unmanage (decision 0065): the backend names a volume ``volume-<Overcast id>`` and a snapshot
``_snapshot-<Overcast id>`` as DevStack's LVM backend does (the ``backend_name`` the core passes), a
manage reference names one by that name (``source-name``) or by its backend id (``source-id``), and an
adoption renames it after the new id. A volume or snapshot made before names were kept (a data
directory from an older Overcast) is named by its backend id.

Fault injection per volume, through the request's metadata (as the compute driver does):

``overcast:fail_create = "true"``
    The create fails: at once with BuildFailed, or (with ``overcast:create_seconds``) the volume
    goes to ERROR.
``overcast:create_seconds = N``
    Stay CREATING for N seconds.
``overcast:fail_delete = N``
    The first N deletes raise DeleteFailed.
``overcast:unavailable = N``
    The first N calls of each kind for this volume (create, get, delete) raise Unavailable.
"""

from __future__ import annotations

import builtins
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

from overcast.drivers.context import CallContext
from overcast.drivers.errors import (BuildFailed, Conflict, DeleteFailed, DriverError, InvalidRequest, NotFound,
                                     Unavailable)
from overcast.drivers.local.backups import BackupStore, FileBackupStore, copy_file
from overcast.drivers.local.driver import LocalComputeDriver, _count, _seconds, _truthy
from overcast.drivers.local.store import LocalStore
from overcast.drivers.volume import (BackupInfo, Capability, Connection, Manageable, Pool, SnapshotInfo, VolumeDriver,
                                     VolumeInfo, VolumeRequest, VolumeState, Zone)

FAIL_CREATE = "overcast:fail_create"
CREATE_SECONDS = "overcast:create_seconds"
FAIL_DELETE = "overcast:fail_delete"
UNAVAILABLE = "overcast:unavailable"
#: Cinder's host for DevStack's LVM backend: host@backend (volumes add #pool)
HOST = "overcast-local@lvmdriver-1"
#: the one pool, named as DevStack's LVM backend names it
POOL = "lvmdriver-1"
#: how much of a volume's file :meth:`LocalVolumeDriver.read` holds at once
READ_CHUNK = 1024 * 1024

SCHEMA = """
CREATE TABLE IF NOT EXISTS volume (
    id TEXT PRIMARY KEY,
    idempotency_key TEXT UNIQUE,
    name TEXT NOT NULL,
    size_gb INTEGER NOT NULL,
    zone TEXT NOT NULL,
    volume_type TEXT,
    source TEXT,
    image_bytes INTEGER NOT NULL DEFAULT 0,
    ready_at REAL NOT NULL,
    fail_create INTEGER NOT NULL DEFAULT 0,
    fail_deletes_left INTEGER NOT NULL DEFAULT 0,
    unavailable_n INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS volume_snapshot (
    id TEXT PRIMARY KEY,
    idempotency_key TEXT UNIQUE,
    volume_id TEXT NOT NULL,
    name TEXT NOT NULL,
    size_gb INTEGER NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_volume_snapshot_volume ON volume_snapshot (volume_id);
CREATE TABLE IF NOT EXISTS volume_backup (
    id TEXT PRIMARY KEY,
    idempotency_key TEXT UNIQUE,
    volume_id TEXT NOT NULL,
    parent_id TEXT,
    size_bytes INTEGER NOT NULL DEFAULT 0,
    complete INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS volume_export (
    volume_id TEXT NOT NULL,
    host TEXT NOT NULL,
    mode TEXT NOT NULL,
    PRIMARY KEY (volume_id, host)
);
"""


#: columns added after the tables were first made: (table, column, type); a data directory made
#: before them gains them when the store opens (NULL in the rows it had)
ADDED_COLUMNS = (("volume", "ref_name", "TEXT"), ("volume_snapshot", "ref_name", "TEXT"))


class LocalVolumeStore(LocalStore):
    """The local cloud's store with the block storage tables added."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        conn = self._connect()
        conn.executescript(SCHEMA)
        for table, column, kind in ADDED_COLUMNS:
            if column not in {row["name"] for row in conn.execute(f"PRAGMA table_info({table})")}:
                try:
                    conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
                except sqlite3.OperationalError:  # another process added it first
                    pass


class LocalVolumeDriver(VolumeDriver):
    """Simulated LVM-style storage: thin volumes, snapshots, exports, persistent state."""

    capabilities = frozenset(Capability)
    host = HOST

    def __init__(self, path: Path, *, zones: Iterable[str] = ("nova",),
                 clock: Callable[[], float] = time.time, backups: BackupStore | None = None) -> None:
        self.store = LocalVolumeStore(path)
        self.data_dir = Path(path).parent / "local-volumes"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        #: files in a directory (as Cinder's POSIX backup driver keeps them) unless an S3 store is given
        self.backups = backups if backups is not None else FileBackupStore(Path(path).parent / "local-backups")
        self.backup_service = self.backups.service
        self.backup_location = self.backups.location
        self.zone_names = tuple(zones)
        self._clock = clock

    def close(self) -> None:
        self.store.close()

    # -- helpers ------------------------------------------------------------------------------
    def _file(self, backend_id: str) -> Path:
        return self.data_dir / backend_id

    def _copy(self, source_id: str, target_id: str) -> int:
        return self._copy_file(self._file(source_id), self._file(target_id))

    _copy_file = staticmethod(copy_file)

    def _write(self, target_id: str, chunks: Iterable[bytes]) -> int:
        tmp = self._file(target_id).with_suffix(".part")
        written = 0
        with open(tmp, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
                written += len(chunk)
        tmp.replace(self._file(target_id))
        return written

    def _info(self, row: sqlite3.Row, now: float) -> VolumeInfo:
        state = VolumeState.AVAILABLE
        fault = None
        if row["ready_at"] > now:
            state = VolumeState.CREATING
        elif row["fail_create"]:
            state, fault = VolumeState.ERROR, f"Injected create failure ({FAIL_CREATE})"
        return VolumeInfo(backend_id=row["id"], name=row["name"], size_gb=row["size_gb"], state=state,
                          availability_zone=row["zone"], idempotency_key=row["idempotency_key"],
                          host=f"{HOST}#{POOL}",
                          fault=fault, image_bytes=row["image_bytes"])

    @staticmethod
    def _row(conn: sqlite3.Connection, backend_id: str) -> sqlite3.Row:
        row = conn.execute("SELECT * FROM volume WHERE id = ?", (backend_id,)).fetchone()
        if row is None:
            raise NotFound(f"local: no volume {backend_id}")
        return row

    def _unavailable_now(self, conn: sqlite3.Connection, row: sqlite3.Row | None, key: str | None,
                         method: str, count: int) -> None:
        if LocalComputeDriver._consume_unavailable(conn, key, method, count):
            raise Unavailable(f"local: volume {row['id'] if row else key} is injected unavailable ({UNAVAILABLE})")

    # -- lifecycle ----------------------------------------------------------------------------
    def create(self, ctx: CallContext, request: VolumeRequest) -> str:
        """Idempotent on the key: a second call returns the first volume, and writes its data if
        the first call stopped between recording the volume and writing it (a crash)."""
        if request.size_gb < 1:
            raise InvalidRequest(f"local: volume size must be at least 1 GB, not {request.size_gb}")
        zone = request.availability_zone or self.zone_names[0]
        if zone not in self.zone_names:
            raise InvalidRequest(f"local: unknown availability zone {zone}")
        metadata = request.metadata
        fail = _truthy(metadata.get(FAIL_CREATE, "false"))
        delay = _seconds(metadata, CREATE_SECONDS) or 0.0
        unavailable = _count(metadata, UNAVAILABLE)
        now = self._clock()
        outcome: Exception | None = None
        backend_id = str(uuid.uuid4())
        with self.store.write() as conn:
            existing = conn.execute("SELECT id, image_bytes FROM volume WHERE idempotency_key = ?",
                                    (request.idempotency_key,)).fetchone()
            if existing is not None:
                backend_id = existing["id"]
                if existing["image_bytes"] or self._file(backend_id).exists():
                    return backend_id
            else:
                try:
                    self._unavailable_now(conn, None, request.idempotency_key, "create", unavailable)
                except Unavailable as exc:
                    outcome = exc
                else:
                    outcome = self._check_source(conn, request)
                if outcome is None and fail and delay <= 0:
                    outcome = BuildFailed(f"Injected create failure for volume {request.name!r} ({FAIL_CREATE})")
                if outcome is None:
                    conn.execute(
                        "INSERT INTO volume (id, idempotency_key, name, size_gb, zone, volume_type, source, ready_at,"
                        " fail_create, fail_deletes_left, unavailable_n, created_at, ref_name)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (backend_id, request.idempotency_key, request.name, request.size_gb, zone,
                         request.volume_type, request.snapshot_id or request.source_volume_id or request.image_id,
                         now + delay, int(fail), _count(metadata, FAIL_DELETE), unavailable, now,
                         request.backend_name))
        if outcome is not None:
            raise outcome
        written = self._fill(backend_id, request)
        if written:
            with self.store.write() as conn:
                conn.execute("UPDATE volume SET image_bytes = ? WHERE id = ?", (written, backend_id))
        return backend_id

    @staticmethod
    def _check_source(conn: sqlite3.Connection, request: VolumeRequest) -> Exception | None:
        if request.snapshot_id:
            snap = conn.execute("SELECT size_gb FROM volume_snapshot WHERE id = ?", (request.snapshot_id,)).fetchone()
            if snap is None:
                return NotFound(f"local: no snapshot {request.snapshot_id}")
            if request.size_gb < snap["size_gb"]:
                return InvalidRequest("local: a volume cannot be smaller than its snapshot")
        if request.source_volume_id:
            source = conn.execute("SELECT size_gb FROM volume WHERE id = ?", (request.source_volume_id,)).fetchone()
            if source is None:
                return NotFound(f"local: no volume {request.source_volume_id}")
            if request.size_gb < source["size_gb"]:
                return InvalidRequest("local: a clone cannot be smaller than its source")
        return None

    def _fill(self, backend_id: str, request: VolumeRequest) -> int:
        try:
            if request.image_data is not None:
                return self._write(backend_id, request.image_data)
            if request.snapshot_id:
                return self._copy(request.snapshot_id, backend_id)
            if request.source_volume_id:
                return self._copy(request.source_volume_id, backend_id)
        except OSError as exc:
            raise BuildFailed(f"local: could not write volume {backend_id}: {exc}") from None
        return 0

    def delete(self, ctx: CallContext, backend_id: str) -> None:
        outcome: Exception | None = None
        with self.store.write() as conn:
            row = conn.execute("SELECT * FROM volume WHERE id = ?", (backend_id,)).fetchone()
            if row is None:
                return
            try:
                self._unavailable_now(conn, row, row["idempotency_key"], "delete", row["unavailable_n"])
            except Unavailable as exc:
                outcome = exc
            else:
                if conn.execute("SELECT 1 FROM volume_snapshot WHERE volume_id = ?", (backend_id,)).fetchone():
                    outcome = Conflict(f"local: volume {backend_id} has snapshots")
                elif row["fail_deletes_left"] > 0:
                    conn.execute("UPDATE volume SET fail_deletes_left = fail_deletes_left - 1 WHERE id = ?",
                                 (backend_id,))
                    outcome = DeleteFailed(f"Injected delete failure for volume {backend_id} ({FAIL_DELETE})")
                else:
                    conn.execute("DELETE FROM volume WHERE id = ?", (backend_id,))
                    conn.execute("DELETE FROM volume_export WHERE volume_id = ?", (backend_id,))
        if outcome is not None:
            raise outcome
        self._file(backend_id).unlink(missing_ok=True)

    def get(self, ctx: CallContext, backend_id: str) -> VolumeInfo:
        with self.store.write() as conn:
            row = self._row(conn, backend_id)
            self._unavailable_now(conn, row, row["idempotency_key"], "get", row["unavailable_n"])
        return self._info(row, self._clock())

    def list(self, ctx: CallContext) -> builtins.list[VolumeInfo]:
        now = self._clock()
        with self.store.read() as conn:
            return [self._info(row, now) for row in conn.execute("SELECT * FROM volume ORDER BY created_at")]

    def find(self, ctx: CallContext, idempotency_key: str) -> VolumeInfo | None:
        with self.store.read() as conn:
            row = conn.execute("SELECT * FROM volume WHERE idempotency_key = ?", (idempotency_key,)).fetchone()
        return None if row is None else self._info(row, self._clock())

    def zones(self, ctx: CallContext) -> builtins.list[Zone]:
        return [Zone(name) for name in self.zone_names]

    def pools(self, ctx: CallContext) -> builtins.list[Pool]:
        """One thin LVM-style pool, described as DevStack's ``lvmdriver-1`` reports itself."""
        with self.store.read() as conn:
            allocated = conn.execute("SELECT COALESCE(SUM(size_gb), 0) FROM volume").fetchone()[0]
        return [Pool(name=POOL, volume_backend_name=POOL, vendor_name="Open Source", storage_protocol="iSCSI",
                     driver_version="3.0.0", allocated_capacity_gb=allocated)]

    # -- optional -----------------------------------------------------------------------------
    def extend(self, ctx: CallContext, backend_id: str, new_size_gb: int) -> None:
        with self.store.write() as conn:
            row = self._row(conn, backend_id)
            if new_size_gb <= row["size_gb"]:
                raise InvalidRequest(f"local: new size {new_size_gb} is not larger than {row['size_gb']}")
            conn.execute("UPDATE volume SET size_gb = ? WHERE id = ?", (new_size_gb, backend_id))

    def create_snapshot(self, ctx: CallContext, volume_backend_id: str, name: str, idempotency_key: str, *,
                        backend_name: str | None = None) -> str:
        with self.store.write() as conn:
            existing = conn.execute("SELECT id FROM volume_snapshot WHERE idempotency_key = ?",
                                    (idempotency_key,)).fetchone()
            if existing is not None:  # an earlier call made it; copy its data if that call stopped first
                if not self._file(existing["id"]).exists():
                    self._copy(volume_backend_id, existing["id"])
                return existing["id"]
            row = self._row(conn, volume_backend_id)
            snapshot_id = str(uuid.uuid4())
            conn.execute("INSERT INTO volume_snapshot (id, idempotency_key, volume_id, name, size_gb, created_at,"
                         " ref_name) VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (snapshot_id, idempotency_key, volume_backend_id, name, row["size_gb"], self._clock(),
                          backend_name))
        self._copy(volume_backend_id, snapshot_id)
        return snapshot_id

    def delete_snapshot(self, ctx: CallContext, backend_id: str) -> None:
        with self.store.write() as conn:
            conn.execute("DELETE FROM volume_snapshot WHERE id = ?", (backend_id,))
        self._file(backend_id).unlink(missing_ok=True)

    def get_snapshot(self, ctx: CallContext, backend_id: str) -> SnapshotInfo:
        with self.store.read() as conn:
            row = conn.execute("SELECT * FROM volume_snapshot WHERE id = ?", (backend_id,)).fetchone()
        if row is None:
            raise NotFound(f"local: no snapshot {backend_id}")
        return self._snapshot_info(row)

    @staticmethod
    def _snapshot_info(row: sqlite3.Row) -> SnapshotInfo:
        return SnapshotInfo(backend_id=row["id"], volume_id=row["volume_id"], name=row["name"],
                            size_gb=row["size_gb"], state=VolumeState.AVAILABLE,
                            idempotency_key=row["idempotency_key"])

    def attach(self, ctx: CallContext, backend_id: str, host: str, mode: str = "rw") -> Connection:
        with self.store.write() as conn:
            self._row(conn, backend_id)
            conn.execute("INSERT OR REPLACE INTO volume_export (volume_id, host, mode) VALUES (?, ?, ?)",
                         (backend_id, host, mode))
        return Connection("local", {"volume_id": backend_id, "device_path": str(self._file(backend_id)),
                                    "access_mode": mode})

    def detach(self, ctx: CallContext, backend_id: str, host: str) -> None:
        with self.store.write() as conn:
            self._row(conn, backend_id)
            conn.execute("DELETE FROM volume_export WHERE volume_id = ? AND host = ?", (backend_id, host))

    def read(self, ctx: CallContext, backend_id: str) -> Iterator[bytes]:
        """The bytes written into the volume (from an image, snapshot or clone); nothing for a
        blank volume. :raises NotFound: The iterator raises DriverError if the file cannot be read."""
        with self.store.read() as conn:
            self._row(conn, backend_id)
        path = self._file(backend_id)
        return self._chunks(backend_id, path) if path.exists() else iter(())

    @staticmethod
    def _chunks(backend_id: str, path: Path) -> Iterator[bytes]:
        try:
            with open(path, "rb") as handle:
                while chunk := handle.read(READ_CHUNK):
                    yield chunk
        except OSError as exc:
            raise DriverError(f"local: could not read volume {backend_id}: {exc}") from None

    # -- backups (decision 0049) ----------------------------------------------------------------
    def create_backup(self, ctx: CallContext, volume_backend_id: str, idempotency_key: str, *,
                      snapshot_backend_id: str | None = None, parent_backend_id: str | None = None,
                      container: str | None = None) -> BackupInfo:
        """Copy the volume's (or snapshot's) file whole; a repeated call finishes an unfinished copy."""
        with self.store.write() as conn:
            existing = conn.execute("SELECT * FROM volume_backup WHERE idempotency_key = ?",
                                    (idempotency_key,)).fetchone()
            if existing is not None and existing["complete"]:
                return self._backup_info(existing, container)
            self._row(conn, volume_backend_id)
            if snapshot_backend_id is not None and conn.execute(
                    "SELECT 1 FROM volume_snapshot WHERE id = ?", (snapshot_backend_id,)).fetchone() is None:
                raise NotFound(f"local: no snapshot {snapshot_backend_id}")
            if parent_backend_id is not None and conn.execute(
                    "SELECT 1 FROM volume_backup WHERE id = ?", (parent_backend_id,)).fetchone() is None:
                raise NotFound(f"local: no backup {parent_backend_id}")
            backend_id = existing["id"] if existing is not None else str(uuid.uuid4())
            if existing is None:
                conn.execute("INSERT INTO volume_backup (id, idempotency_key, volume_id, parent_id, created_at)"
                             " VALUES (?, ?, ?, ?, ?)",
                             (backend_id, idempotency_key, volume_backend_id, parent_backend_id, self._clock()))
        try:
            size = self.backups.put(backend_id, self._file(snapshot_backend_id or volume_backend_id))
        except OSError as exc:
            raise BuildFailed(f"local: could not write backup {backend_id}: {exc}") from None
        with self.store.write() as conn:
            conn.execute("UPDATE volume_backup SET size_bytes = ?, complete = 1 WHERE id = ?", (size, backend_id))
            row = conn.execute("SELECT * FROM volume_backup WHERE id = ?", (backend_id,)).fetchone()
        return self._backup_info(row, container)

    def _backup_info(self, row: sqlite3.Row, container: str | None) -> BackupInfo:
        return BackupInfo(backend_id=row["id"], size_bytes=row["size_bytes"], object_count=1 if row["size_bytes"] else 0,
                          container=container)  # never the server's own path

    def delete_backup(self, ctx: CallContext, backend_id: str) -> None:
        self.backups.delete(backend_id)  # first: an unreachable store keeps the record, to be deleted again
        with self.store.write() as conn:
            conn.execute("DELETE FROM volume_backup WHERE id = ?", (backend_id,))

    def reimage(self, ctx: CallContext, backend_id: str, image_id: str, image_data: Iterable[bytes] | None = None,
                image_backend_id: str | None = None) -> None:
        """The volume's bytes become the image's (this cloud holds no images of its own: the bytes
        are given; an image without bytes blanks the volume, as :meth:`create` from it would)."""
        with self.store.read() as conn:
            self._row(conn, backend_id)
        try:
            written = self._write(backend_id, image_data if image_data is not None else ())
        except OSError as exc:
            raise DriverError(f"local: could not write image {image_id} onto volume {backend_id}: {exc}") from None
        with self.store.write() as conn:
            conn.execute("UPDATE volume SET image_bytes = ? WHERE id = ?", (written, backend_id))

    def restore_backup(self, ctx: CallContext, backend_id: str, volume_backend_id: str) -> None:
        """The volume's bytes become the backup's (a blank backup blanks the volume)."""
        with self.store.write() as conn:
            self._row(conn, volume_backend_id)
            row = conn.execute("SELECT * FROM volume_backup WHERE id = ? AND complete = 1", (backend_id,)).fetchone()
            if row is None:
                raise NotFound(f"local: no backup {backend_id}")
        try:
            written = self.backups.get(backend_id, self._file(volume_backend_id))
        except OSError as exc:
            raise DriverError(f"local: could not restore backup {backend_id}: {exc}") from None
        with self.store.write() as conn:
            conn.execute("UPDATE volume SET image_bytes = ? WHERE id = ?", (written, volume_backend_id))

    # -- manage and unmanage (decision 0065) ----------------------------------------------------
    @staticmethod
    def _reference(row: sqlite3.Row) -> dict[str, str]:
        return {"source-name": row["ref_name"] or row["id"]}

    @staticmethod
    def _resolve(conn: sqlite3.Connection, table: str, reference: Mapping[str, Any]) -> sqlite3.Row:
        """The row a manage reference names. :raises InvalidRequest: no source-name/source-id, or no such row."""
        what = "volume" if table == "volume" else "snapshot"
        if reference.get("source-id"):
            row = conn.execute(f"SELECT * FROM {table} WHERE id = ?", (str(reference["source-id"]),)).fetchone()
        elif reference.get("source-name"):
            name = str(reference["source-name"])
            row = conn.execute(f"SELECT * FROM {table} WHERE ref_name = ? OR (ref_name IS NULL AND id = ?)",
                               (name, name)).fetchone()
        else:
            raise InvalidRequest("local: a reference must give source-name or source-id")
        if row is None:
            raise InvalidRequest(f"local: no {what} is named by this reference")
        return row

    @staticmethod
    def _forget(conn: sqlite3.Connection, table: str, backend_id: str) -> None:
        if conn.execute(f"SELECT 1 FROM {table} WHERE id = ?", (backend_id,)).fetchone() is None:
            raise NotFound(f"local: no {'volume' if table == 'volume' else 'snapshot'} {backend_id}")
        conn.execute(f"UPDATE {table} SET idempotency_key = NULL WHERE id = ?", (backend_id,))

    @staticmethod
    def _adopt(conn: sqlite3.Connection, table: str, backend_id: str, backend_name: str, key: str) -> sqlite3.Row:
        if conn.execute(f"UPDATE {table} SET ref_name = ?, idempotency_key = ? WHERE id = ?",
                        (backend_name, key, backend_id)).rowcount != 1:
            raise NotFound(f"local: no {'volume' if table == 'volume' else 'snapshot'} {backend_id}")
        return conn.execute(f"SELECT * FROM {table} WHERE id = ?", (backend_id,)).fetchone()

    def unmanage_volume(self, ctx: CallContext, backend_id: str) -> None:
        """The volume stays, with its data and name; no Overcast key finds it any more."""
        with self.store.write() as conn:
            self._forget(conn, "volume", backend_id)

    def manageable_volumes(self, ctx: CallContext) -> builtins.list[Manageable]:
        with self.store.read() as conn:
            exported = {r["volume_id"] for r in conn.execute("SELECT DISTINCT volume_id FROM volume_export")}
            rows = conn.execute("SELECT * FROM volume ORDER BY created_at").fetchall()
        return [Manageable(backend_id=row["id"], reference=self._reference(row), size_gb=row["size_gb"],
                           reason_not_safe="volume in use" if row["id"] in exported else None) for row in rows]

    def resolve_volume(self, ctx: CallContext, reference: Mapping[str, Any]) -> VolumeInfo:
        with self.store.read() as conn:
            row = self._resolve(conn, "volume", reference)
        return self._info(row, self._clock())

    def manage_volume(self, ctx: CallContext, backend_id: str, backend_name: str, idempotency_key: str) -> VolumeInfo:
        with self.store.write() as conn:
            row = self._adopt(conn, "volume", backend_id, backend_name, idempotency_key)
        return self._info(row, self._clock())

    def unmanage_snapshot(self, ctx: CallContext, backend_id: str) -> None:
        with self.store.write() as conn:
            self._forget(conn, "volume_snapshot", backend_id)

    def manageable_snapshots(self, ctx: CallContext) -> builtins.list[Manageable]:
        with self.store.read() as conn:
            rows = conn.execute("SELECT s.*, v.ref_name AS volume_ref_name FROM volume_snapshot s"
                                " LEFT JOIN volume v ON v.id = s.volume_id ORDER BY s.created_at").fetchall()
        return [Manageable(backend_id=row["id"], reference=self._reference(row), size_gb=row["size_gb"],
                           source_reference={"source-name": row["volume_ref_name"] or row["volume_id"]})
                for row in rows]

    def resolve_snapshot(self, ctx: CallContext, reference: Mapping[str, Any]) -> SnapshotInfo:
        with self.store.read() as conn:
            return self._snapshot_info(self._resolve(conn, "volume_snapshot", reference))

    def manage_snapshot(self, ctx: CallContext, backend_id: str, backend_name: str,
                        idempotency_key: str) -> SnapshotInfo:
        with self.store.write() as conn:
            return self._snapshot_info(self._adopt(conn, "volume_snapshot", backend_id, backend_name, idempotency_key))
