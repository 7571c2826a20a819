"""Snapshots: create (``force`` for an in-use volume), list, show, update, delete (``force`` for an
admin, in any status) and the status actions (os-reset_status, os-update_snapshot_status)."""

from __future__ import annotations

import uuid
from typing import Any, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.core.context import AuthContext
from overcast.core.errors import Invalid, NotFound
from overcast.core.volume import quotas, states
from overcast.core.volume.listing import OfVolumeQuery, of_volume, paginate
from overcast.core.volume.volumes import touch, volume_type
from overcast.drivers.headroom import Headroom
from overcast.ops.engine import enqueue
from overcast.store.models import utcnow
from overcast.store.volume import Snapshot, Volume

CREATE = "snapshot.create"
DELETE = "snapshot.delete"
SORT_KEYS = ("id", "name", "size", "status", "created_at", "updated_at", "volume_id", "project_id")
#: os-update_snapshot_status: from each status, the ones the snapshot may report next (Cinder's map)
STATUS_UPDATES = {states.CREATING: (states.CREATING, states.AVAILABLE, states.ERROR),
                  states.DELETING: (states.DELETING, states.ERROR_DELETING)}


def get_snapshot(session: Session, ctx: AuthContext, snapshot_id: str, *, region: str) -> Snapshot:
    """:raises NotFound: unknown, another region's or another project's snapshot."""
    snapshot = session.scalar(select(Snapshot).where(Snapshot.id == snapshot_id, Snapshot.cloud == region))
    if snapshot is None or (not ctx.is_admin and snapshot.project_id != ctx.project_id):
        raise NotFound(f"Snapshot {snapshot_id} could not be found.")
    return snapshot


def create(session: Session, ctx: AuthContext, volume: Volume, *, name: str | None, description: str | None,
           metadata: Mapping[str, Any], force: bool, request_id: str | None,
           group_snapshot_id: str | None = None, headroom: Headroom | None = None) -> Snapshot:
    """Record a snapshot (one of a group snapshot's, when ``group_snapshot_id``) and enqueue it.

    ``headroom``: what the region's backend still allows (:mod:`overcast.core.headroom`); the
    snapshot must fit it too, or Cinder's 413 with the backend's figures and nothing recorded.

    :raises Invalid: the volume is not available (or in-use without ``force``), Cinder's message.
    :raises quotas.OverLimit: over the snapshots or gigabytes quota.
    """
    allowed = (states.AVAILABLE, states.IN_USE) if force else (states.AVAILABLE,)
    if volume.status not in allowed:
        raise Invalid(f"Invalid volume: Volume {volume.id} status must be available, but current status is: "
                      f"{volume.status}.")
    quotas.reserve(session, volume.project_id, snapshots=1, gigabytes=volume.size,
                   volume_type=volume_type(session, volume), region=volume.cloud)
    if headroom is not None:
        quotas.check_headroom(headroom.limits, headroom.used, {"snapshots": 1, "gigabytes": volume.size})
    snapshot = Snapshot(id=str(uuid.uuid4()), cloud=volume.cloud, project_id=volume.project_id,
                        user_id=ctx.user_id, volume_id=volume.id, name=name, description=description,
                        size=volume.size, status=states.CREATING, group_snapshot_id=group_snapshot_id,
                        metadata_={k: str(v) for k, v in metadata.items()}, created_at=utcnow())
    session.add(snapshot)
    session.flush()
    enqueue(session, kind=CREATE, cloud=volume.cloud, resource_type="snapshot", resource_id=snapshot.id,
            action="create", request_id=request_id, user_id=ctx.user_id, project_id=volume.project_id,
            idempotency_key=snapshot.idempotency_key)
    return snapshot


ListQuery = OfVolumeQuery


def list_snapshots(session: Session, ctx: AuthContext, query: ListQuery, *,
                   region: str) -> tuple[list[Snapshot], bool]:
    """``region``'s snapshots the query selects. :raises NotFound: the marker is not among the results."""
    rows = of_volume(session, ctx, Snapshot, query, region)
    return paginate(rows, query.page)


def update(snapshot: Snapshot, changes: Mapping[str, Any]) -> Snapshot:
    for key in ("name", "description"):
        if key in changes:
            setattr(snapshot, key, changes[key])
    touch(snapshot)
    return snapshot


def mark_deleting(session: Session, ctx: AuthContext, snapshot: Snapshot, *, request_id: str | None) -> None:
    snapshot.status = states.DELETING
    touch(snapshot)
    enqueue(session, kind=DELETE, cloud=snapshot.cloud, resource_type="snapshot", resource_id=snapshot.id,
            action="delete", request_id=request_id, user_id=ctx.user_id, project_id=snapshot.project_id)


def check_removable(snapshot: Snapshot, *, force: bool = False) -> None:
    """What Cinder checks before it deletes (or unmanages) a snapshot.

    :raises Invalid: part of a group snapshot, or not available or error unless ``force`` (Cinder's message).
    """
    if snapshot.group_snapshot_id or (
            not force and snapshot.status not in (states.AVAILABLE, states.ERROR, states.ERROR_DELETING)):
        raise Invalid("Invalid snapshot: Snapshot status must be available or error and must not be part of a "
                      "group.")


def delete(session: Session, ctx: AuthContext, snapshot: Snapshot, *, request_id: str | None,
           force: bool = False) -> None:
    """Mark the snapshot deleting and enqueue its deletion; ``force`` (os-force_delete) in any status.

    :raises Invalid: part of a group snapshot, or not available or error unless forced (Cinder's message).
    """
    check_removable(snapshot, force=force)
    mark_deleting(session, ctx, snapshot, request_id=request_id)


def reset_status(snapshot: Snapshot, status: Any) -> None:
    """:raises Invalid: an unknown status (anything but one of the status names)."""
    if not isinstance(status, str) or status not in states.SNAPSHOT_STATUSES:
        raise Invalid("Invalid input received: Must specify a valid status")
    snapshot.status = status
    touch(snapshot)


def update_status(snapshot: Snapshot, status: str, progress: str | None) -> None:
    """os-update_snapshot_status (what Nova reports of a snapshot it takes).

    :raises Invalid: ``status`` may not follow the current one (Cinder's map and message).
    """
    if status not in STATUS_UPDATES.get(snapshot.status, ()):
        raise Invalid(f"Provided snapshot status {status} not allowed for snapshot with status "
                      f"{snapshot.status}.")
    snapshot.status = status
    if progress:
        snapshot.progress = progress
    touch(snapshot)
