"""Backups (Cinder's backup API): create (full or incremental, of a volume or one of its snapshots,
``force`` for an in-use volume), list, show, update, delete (``force`` for an admin), restore (to a
new volume or over an existing one) and os-reset_status.

The rules and their faults are Cinder's (cinder/backup/api.py): the volume must be available, or
in-use with ``force`` (or when a snapshot is backed up); an incremental backup needs an available
backup of the volume to follow; a backup with incremental backups after it cannot be deleted; a
restore needs an available backup and an available volume at least as large. Quotas ``backups``
and ``backup_gigabytes`` are taken with the record.

While a backup is made the volume is ``backing-up`` (the snapshot instead, when it is the source);
while one is restored the backup is ``restoring`` and the target volume ``restoring-backup``. The
copies run in the engine (:mod:`overcast.core.volume.operations`: ``backup.create``,
``backup.delete``, ``backup.restore``) through the region's volume driver's backup capability.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.core.context import AuthContext
from overcast.core.errors import Invalid, NotFound, NotImplementedYet
from overcast.core.volume import UNSUPPORTED, messages, quotas, states
from overcast.core.volume.listing import OfVolumeQuery, of_volume, paginate
from overcast.core.volume.volumes import VolumeSpec, find_volume, swap_status, touch
from overcast.core.volume.volumes import create as create_volume
from overcast.drivers.errors import BuildFailed
from overcast.drivers.volume import Capability, VolumeDriver
from overcast.ops.engine import Job, done, enqueue, poll_again
from overcast.ops.models import Operation
from overcast.store.models import utcnow
from overcast.store.volume import Snapshot, Volume, VolumeBackup

CREATE = "backup.create"
DELETE = "backup.delete"
RESTORE = "backup.restore"

CREATING = "creating"
AVAILABLE = "available"
DELETING = "deleting"
RESTORING = "restoring"
ERROR = "error"
#: the volume's and snapshot's statuses while they are read or written
BACKING_UP = "backing-up"
RESTORING_BACKUP = "restoring-backup"
ERROR_RESTORING = "error_restoring"
#: what os-reset_status may set (Cinder's schema for the backup action)
RESET_STATUSES = (AVAILABLE, ERROR)
SORT_KEYS = ("id", "name", "size", "status", "created_at", "updated_at", "volume_id", "project_id",
             "container", "availability_zone", "object_count", "display_name")


def get_backup(session: Session, ctx: AuthContext, backup_id: str, *, region: str) -> VolumeBackup:
    """:raises NotFound: unknown, another region's or another project's backup (Cinder's message)."""
    backup = session.get(VolumeBackup, backup_id)
    if backup is None or backup.cloud != region or (not ctx.is_admin and backup.project_id != ctx.project_id):
        raise NotFound(f"Backup {backup_id} could not be found.")
    return backup


def find_backup(session: Session, backup_id: str) -> VolumeBackup | None:
    return session.get(VolumeBackup, backup_id)


def _require(capabilities: frozenset[Capability]) -> None:
    """:raises NotImplementedYet: the region's volume driver keeps no backups."""
    if Capability.BACKUP not in capabilities:
        raise NotImplementedYet(UNSUPPORTED)


def latest(session: Session, volume_id: str) -> VolumeBackup | None:
    """The volume's newest available backup (the parent of an incremental one)."""
    return session.scalar(select(VolumeBackup).where(VolumeBackup.volume_id == volume_id,
                                                     VolumeBackup.status == AVAILABLE)
                          .order_by(VolumeBackup.data_timestamp.desc(), VolumeBackup.created_at.desc()).limit(1))


def has_dependents(session: Session, backup: VolumeBackup) -> bool:
    return session.scalar(select(VolumeBackup.id).where(VolumeBackup.parent_id == backup.id).limit(1)) is not None


def volume_info(volume: Volume) -> dict[str, Any]:
    """What a restore gives a volume besides its data (Cinder backs up the volume's metadata too)."""
    return {"metadata": dict(volume.metadata_ or {}), "bootable": bool(volume.bootable),
            "image_metadata": dict(volume.image_metadata) if volume.image_metadata else None}


def apply_volume_info(volume: Volume, info: Mapping[str, Any]) -> None:
    """The backed-up volume's metadata (merged over the target's), bootable flag and image metadata."""
    if not info:
        return
    volume.metadata_ = {**(volume.metadata_ or {}), **info.get("metadata", {})}
    volume.bootable = bool(info.get("bootable", volume.bootable))
    if info.get("image_metadata"):
        volume.image_metadata = dict(info["image_metadata"])


@dataclass(frozen=True)
class BackupSpec:
    """What the request asks for (the API checked the shapes)."""

    name: str | None = None
    description: str | None = None
    container: str | None = None
    incremental: bool = False
    force: bool = False
    snapshot_id: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)


def create(session: Session, ctx: AuthContext, volume: Volume, spec: BackupSpec, *,
           capabilities: frozenset[Capability], request_id: str | None) -> VolumeBackup:
    """Record the backup (``creating``), move the volume (or the snapshot backed up) to ``backing-up``
    and enqueue the copy.

    :raises NotImplementedYet: the region's driver keeps no backups.
    :raises NotFound: the snapshot is not one of the volume's.
    :raises Invalid: the volume or snapshot is not in a state to back up, or an incremental backup
        has no backup to follow (Cinder's messages).
    :raises quotas.OverLimit: over the backups or backup_gigabytes quota.
    """
    _require(capabilities)
    snapshot = None
    if spec.snapshot_id:
        snapshot = session.scalar(select(Snapshot).where(Snapshot.id == spec.snapshot_id))
        if snapshot is None or snapshot.volume_id != volume.id:
            raise NotFound(f"Snapshot {spec.snapshot_id} could not be found.")
    previous = volume.status
    if previous not in (states.AVAILABLE, states.IN_USE):
        raise Invalid(f'Invalid volume: Volume to be backed up must be available or in-use, but the current '
                      f'status is "{previous}".')
    if previous == states.IN_USE and snapshot is None and not spec.force:
        raise Invalid("Invalid volume: Backing up an in-use volume must use the force flag.")
    if snapshot is not None and snapshot.status != states.AVAILABLE:
        raise Invalid(f'Invalid snapshot: Snapshot to be backed up must be available, but the current status is '
                      f'"{snapshot.status}".')
    parent = latest(session, volume.id) if spec.incremental else None
    if spec.incremental and parent is None:
        raise Invalid("Invalid backup: No backups available to do an incremental backup.")
    quotas.reserve(session, volume.project_id, backups=1, backup_gigabytes=volume.size, region=volume.cloud)
    if snapshot is not None:  # as Cinder: the snapshot is read, the volume keeps its status
        snapshot.status = BACKING_UP
        touch(snapshot)
    elif swap_status(session, volume, previous, BACKING_UP):
        touch(volume)
    else:
        raise Invalid(f'Invalid volume: Volume to be backed up must be available or in-use, but the current '
                      f'status is "{volume.status}".')
    now = utcnow()
    backup = VolumeBackup(id=str(uuid.uuid4()), cloud=volume.cloud, project_id=volume.project_id,
                          user_id=ctx.user_id, volume_id=volume.id, snapshot_id=snapshot.id if snapshot else None,
                          parent_id=parent.id if parent else None, name=spec.name, description=spec.description,
                          container=spec.container, availability_zone=volume.availability_zone, size=volume.size,
                          object_count=0, status=CREATING, metadata_={k: str(v) for k, v in spec.metadata.items()},
                          volume_info=volume_info(volume),
                          data_timestamp=snapshot.created_at if snapshot else now, created_at=now)
    session.add(backup)
    session.flush()
    enqueue(session, kind=CREATE, cloud=volume.cloud, resource_type="backup", resource_id=backup.id,
            action="create", params={"previous_status": previous}, request_id=request_id, user_id=ctx.user_id,
            project_id=volume.project_id, idempotency_key=backup.idempotency_key)
    return backup


ListQuery = OfVolumeQuery


def list_backups(session: Session, ctx: AuthContext, query: ListQuery, *,
                 region: str) -> tuple[list[VolumeBackup], bool, int]:
    """``region``'s backups the query selects: the page, whether it is full, how many matched in all.

    :raises NotFound: the marker is not among the results."""
    rows = of_volume(session, ctx, VolumeBackup, query, region)
    return (*paginate(rows, query.page), len(rows))


def update(backup: VolumeBackup, changes: Mapping[str, Any]) -> VolumeBackup:
    """Name, description (3.9) and metadata (3.43, replacing the whole set as Cinder does)."""
    for key in ("name", "description"):
        if key in changes:
            setattr(backup, key, changes[key])
    if changes.get("metadata") is not None:
        backup.metadata_ = {k: str(v) for k, v in changes["metadata"].items()}
    backup.updated_at = utcnow()
    return backup


def delete(session: Session, ctx: AuthContext, backup: VolumeBackup, *, request_id: str | None,
           force: bool = False) -> None:
    """Mark the backup ``deleting`` and enqueue the removal of its data; ``force`` (os-force_delete) in any status.

    :raises Invalid: not available or error (unless forced), or incremental backups follow it.
    """
    if not force and backup.status not in (AVAILABLE, ERROR):
        raise Invalid("Invalid backup: Backup status must be available or error")
    if has_dependents(session, backup):
        raise Invalid("Invalid backup: Incremental backups exist for this backup.")
    backup.status = DELETING
    backup.updated_at = utcnow()
    enqueue(session, kind=DELETE, cloud=backup.cloud, resource_type="backup", resource_id=backup.id,
            action="delete", request_id=request_id, user_id=ctx.user_id, project_id=backup.project_id)


def restore(session: Session, ctx: AuthContext, backup: VolumeBackup, *, volume: Volume | None, name: str | None,
            capabilities: frozenset[Capability], request_id: str | None, spec: VolumeSpec | None = None,
            headroom: Any = None) -> Volume:
    """Restore onto ``volume`` or, without one, onto a new volume: ``spec``'s (a volume create with
    ``backup_id``, 3.47) or one of the backup's size named ``name``, else ``restore_backup_<id>``, as
    Cinder names it. Returns the target volume.

    :raises NotImplementedYet: :raises Invalid: the backup is not available, the volume not available
        or too small (Cinder's messages). :raises quotas.OverLimit: a new volume over quota.
    """
    _require(capabilities)
    if backup.status != AVAILABLE:
        raise Invalid("Invalid backup: Backup status must be available")
    if volume is None:  # made for the restore: its create ends in restoring-backup (see restoring())
        if spec is None:
            spec = VolumeSpec(size=None, name=name or f"restore_backup_{backup.id}")
        if spec.snapshot_id or spec.source_volid or spec.image_ref:
            raise Invalid("Invalid input received: A volume is created from one source: backup_id cannot be given "
                          "with snapshot_id, source_volid or imageRef.")
        if spec.size is not None and spec.size < backup.size:
            raise Invalid(f"Invalid input received: Volume size {spec.size}GB cannot be smaller than the backup size "
                          f"{backup.size}GB. It must be >= backup size.")
        spec = replace(spec, size=spec.size or backup.size,
                       availability_zone=spec.availability_zone or backup.availability_zone)
        volume = create_volume(session, ctx, spec, region=backup.cloud, request_id=request_id, headroom=headroom)
    else:
        if volume.status != states.AVAILABLE:
            raise Invalid("Invalid volume: Volume to be restored to must be available")
        if volume.size < backup.size:
            raise Invalid(f"Invalid volume: volume size {volume.size} is too small to restore backup of size "
                          f"{backup.size}.")
        if not swap_status(session, volume, states.AVAILABLE, RESTORING_BACKUP):
            raise Invalid("Invalid volume: Volume to be restored to must be available")
        touch(volume)
    backup.status = RESTORING
    backup.restore_volume_id = volume.id
    backup.updated_at = utcnow()
    session.flush()
    enqueue(session, kind=RESTORE, cloud=backup.cloud, resource_type="backup", resource_id=backup.id,
            action="restore", params={"volume_id": volume.id}, request_id=request_id,
            user_id=ctx.user_id, project_id=backup.project_id)
    return volume


#: the fields an exported record carries (Cinder's backup_url is the backup's row, base64-encoded JSON)
EXPORTED = ("id", "volume_id", "snapshot_id", "parent_id", "name", "description", "container", "availability_zone",
            "size", "object_count", "backend_id", "volume_info", "project_id", "user_id")


def export_record(backup: VolumeBackup, backup_service: str | None) -> dict[str, str]:
    """``backup_service`` and ``backup_url`` (what :func:`import_record` takes back).

    :raises Invalid: the backup is not available (Cinder's message) or the driver names no backup store.
    """
    if backup.status != AVAILABLE:
        raise Invalid(f"Invalid backup: Backup status must be available and not {backup.status}.")
    if not backup_service:
        raise NotImplementedYet(UNSUPPORTED)
    record = {name: getattr(backup, name) for name in EXPORTED}
    record["metadata"] = dict(backup.metadata_ or {})
    record["data_timestamp"] = backup.data_timestamp.isoformat() if backup.data_timestamp else None
    encoded = base64.b64encode(json.dumps(record, sort_keys=True).encode()).decode()
    return {"backup_service": backup_service, "backup_url": encoded}


def import_record(session: Session, ctx: AuthContext, backup_service: str, backup_url: str, *, region: str,
                  driver_service: str | None) -> VolumeBackup:
    """A backup record from an exported one, owned by the caller's project and ``available`` at once
    (its data is where the export said; a restore reads it).

    :raises Invalid: a service this region does not run, a record that cannot be read, or an id in use.
    :raises quotas.OverLimit: over the backups or backup_gigabytes quota.
    """
    if not driver_service or backup_service != driver_service:
        raise Invalid(f"Invalid input received: Backup service {backup_service} is not supported in region "
                      f"{region}.")
    try:
        record = json.loads(base64.b64decode(backup_url, validate=True))
        backup_id, backend_id, size = str(uuid.UUID(record["id"])), str(record["backend_id"]), int(record["size"])
        volume_id = str(record["volume_id"])
    except (ValueError, TypeError, KeyError, binascii.Error):
        raise Invalid("Invalid input received: Can't parse backup record.") from None
    if session.get(VolumeBackup, backup_id) is not None:
        raise Invalid("Invalid backup: Backup already exists in database.")
    project_id = ctx.project_id or record.get("project_id") or ""
    quotas.reserve(session, project_id, backups=1, backup_gigabytes=size, region=region)
    now = utcnow()
    text = {name: record.get(name) if isinstance(record.get(name), str) else None
            for name in ("snapshot_id", "parent_id", "name", "description", "container", "availability_zone")}
    backup = VolumeBackup(id=backup_id, cloud=region, project_id=project_id, user_id=ctx.user_id or "",
                          volume_id=volume_id, size=size, object_count=int(record.get("object_count") or 0),
                          status=AVAILABLE, backend_id=backend_id,
                          metadata_={str(k): str(v) for k, v in (record.get("metadata") or {}).items()},
                          volume_info=record.get("volume_info") if isinstance(record.get("volume_info"), dict)
                          else {}, data_timestamp=now, created_at=now, **text)
    session.add(backup)
    session.flush()
    return backup


def restoring(session: Session, volume: Volume) -> bool:
    """A backup is being restored onto the volume (a volume made for a restore goes from
    ``creating`` to ``restoring-backup``, never ``available`` in between, as Cinder's clients see it)."""
    return session.scalar(select(VolumeBackup.id).where(VolumeBackup.restore_volume_id == volume.id,
                                                        VolumeBackup.status == RESTORING).limit(1)) is not None


def reset_status(backup: VolumeBackup, status: str) -> None:
    """os-reset_status (the API checked ``status`` is one of :data:`RESET_STATUSES`)."""
    backup.status = status
    backup.updated_at = utcnow()


# -- the operations (in a worker) -------------------------------------------------------------------
def _snapshot(session: Session, snapshot_id: str | None) -> Snapshot | None:
    return session.scalar(select(Snapshot).where(Snapshot.id == snapshot_id)) if snapshot_id else None


def _give_back(session: Session, backup: VolumeBackup, job: Job) -> None:
    """The volume's status before the backup (the snapshot's ``available``), unless something else changed it."""
    volume = find_volume(session, backup.volume_id)
    if volume is not None and volume.status == BACKING_UP:
        volume.status = job.params.get("previous_status") or states.AVAILABLE
        touch(volume)
    snapshot = _snapshot(session, backup.snapshot_id)
    if snapshot is not None and snapshot.status == BACKING_UP:
        snapshot.status = states.AVAILABLE
        touch(snapshot)


def _error(session: Session, job: Job) -> str:
    op = session.get(Operation, job.id)
    session.refresh(op)
    return op.error or "Unknown error"


class BackupHandlers:
    """``backup.create``, ``backup.delete`` and ``backup.restore``: each safe to run again after a
    crash (the driver's create is idempotent on the backup's key, a restore writes the whole volume
    again, deleting what is gone succeeds)."""

    #: how long a restore onto a new volume waits between looks at the volume being made
    POLL_SECONDS = 0.2

    def __init__(self, driver: Callable[[str], VolumeDriver]):
        self.driver = driver

    def create(self, job: Job, ctx: Any) -> Any:
        driver = self.driver(job.cloud)
        call = job.call_context()
        with ctx.session() as session:
            backup = find_backup(session, job.resource_id)
            if backup is None or backup.status != CREATING:
                return done({"skipped": "backup deleted or no longer creating"})
            volume = find_volume(session, backup.volume_id)
            snapshot = _snapshot(session, backup.snapshot_id)
            parent = find_backup(session, backup.parent_id) if backup.parent_id else None
            if volume is None or volume.backend_id is None or (snapshot is not None and snapshot.backend_id is None):
                raise BuildFailed(f"Volume {backup.volume_id} has no backend volume to back up.")
            key, container = backup.idempotency_key, backup.container
            source = (volume.backend_id, snapshot.backend_id if snapshot else None,
                      parent.backend_id if parent else None)
        info = driver.create_backup(call, source[0], key, snapshot_backend_id=source[1],
                                    parent_backend_id=source[2], container=container)
        with ctx.session() as session:
            backup = find_backup(session, job.resource_id)
            if backup is None:  # its force-delete already ran: remove what this made
                driver.delete_backup(call, info.backend_id)
                return done({"skipped": "backup deleted while creating"})
            backup.backend_id = info.backend_id
            backup.object_count = info.object_count
            backup.container = info.container
            if backup.status == CREATING:
                backup.status = AVAILABLE
            backup.updated_at = utcnow()
            _give_back(session, backup, job)
        return done({"backend_id": info.backend_id})

    def create_failed(self, job: Job, session: Session) -> None:
        backup = find_backup(session, job.resource_id)
        if backup is not None:
            if backup.status == CREATING:
                backup.status = ERROR
                backup.fail_reason = _error(session, job)
                backup.updated_at = utcnow()
                messages.tell(session, job, messages.BACKUP, messages.BACKUP_CREATE,
                              messages.BACKUP_CREATE_DRIVER_ERROR)
            _give_back(session, backup, job)

    def delete(self, job: Job, ctx: Any) -> Any:
        with ctx.session() as session:
            backup = find_backup(session, job.resource_id)
            if backup is None:
                return done()
            backend_id = backup.backend_id
            shared = backend_id is not None and session.scalar(
                select(VolumeBackup.id).where(VolumeBackup.cloud == backup.cloud, VolumeBackup.backend_id == backend_id,
                                              VolumeBackup.id != backup.id).limit(1)) is not None
        if backend_id is not None and not shared:  # an imported record may share its data with another
            self.driver(job.cloud).delete_backup(job.call_context(), backend_id)
        with ctx.session() as session:
            backup = find_backup(session, job.resource_id)
            if backup is not None:
                session.delete(backup)
        return done()

    def delete_failed(self, job: Job, session: Session) -> None:
        backup = find_backup(session, job.resource_id)
        if backup is not None:
            backup.status = ERROR
            backup.fail_reason = _error(session, job)
            backup.updated_at = utcnow()
            messages.tell(session, job, messages.BACKUP, messages.BACKUP_DELETE, messages.BACKUP_DELETE_DRIVER_ERROR)

    def restore(self, job: Job, ctx: Any) -> Any:
        """Wait for a volume made for the restore to be made, then write the backup over it."""
        with ctx.session() as session:
            backup = find_backup(session, job.resource_id)
            volume = find_volume(session, job.params["volume_id"])
            if backup is None or backup.status != RESTORING:
                return done({"skipped": "backup deleted or no longer restoring"})
            if volume is None:
                raise BuildFailed(f"Volume {job.params['volume_id']} to restore to is gone.")
            if volume.status == states.CREATING:
                return poll_again(self.POLL_SECONDS)
            if volume.status != RESTORING_BACKUP or volume.backend_id is None or backup.backend_id is None:
                raise BuildFailed(f"Volume {volume.id} is {volume.status}, not {RESTORING_BACKUP}.")
            backend_ids = (backup.backend_id, volume.backend_id)
        self.driver(job.cloud).restore_backup(job.call_context(), *backend_ids)
        with ctx.session() as session:
            volume = find_volume(session, job.params["volume_id"])
            backup = find_backup(session, job.resource_id)
            if volume is not None and volume.status == RESTORING_BACKUP:
                volume.status = states.AVAILABLE
                if backup is not None:
                    apply_volume_info(volume, backup.volume_info)
                touch(volume)
            if backup is not None and backup.status == RESTORING:
                backup.status = AVAILABLE
                backup.restore_volume_id = None
                backup.updated_at = utcnow()
        return done({"volume_id": job.params["volume_id"]})

    def restore_failed(self, job: Job, session: Session) -> None:
        """As Cinder's backup manager: the volume goes to ``error_restoring``, the backup back to ``available``."""
        volume = find_volume(session, job.params["volume_id"])
        if volume is not None and volume.status in (RESTORING_BACKUP, states.CREATING):
            volume.status = ERROR_RESTORING
            volume.fault = _error(session, job)
            touch(volume)
        backup = find_backup(session, job.resource_id)
        if backup is not None and backup.status == RESTORING:
            backup.status = AVAILABLE
            backup.restore_volume_id = None
            backup.updated_at = utcnow()
        messages.tell(session, job, messages.BACKUP, messages.BACKUP_RESTORE, messages.BACKUP_RESTORE_ERROR)

    def register(self, runtime: Any) -> None:
        register = runtime.registry.register
        register(CREATE, self.create, on_failure=self.create_failed, family="volume",
                 event="backup_create_backup", timeout=3600)
        register(DELETE, self.delete, on_failure=self.delete_failed, family="volume",
                 event="backup_delete_backup", timeout=600, when_open="defer")
        register(RESTORE, self.restore, on_failure=self.restore_failed, family="volume",
                 event="backup_restore_backup", timeout=3600)
