"""Group snapshots (3.14+): a snapshot of every volume of a group, taken together.

Creating one records a snapshot per volume (each a ``snapshot.create`` operation, as a single
snapshot is) and enqueues ``group_snapshot.create``, which waits for them: ``available``, or
``error`` when one failed. Its snapshots can only be deleted with it; ``group_snapshot.delete``
waits for them to go, then removes the record.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.core.context import AuthContext
from overcast.core.errors import Invalid, NotFound
from overcast.core.volume import snapshots, states
from overcast.core.volume.groups import volumes_of
from overcast.core.volume.listing import Page, paginate
from overcast.ops.engine import enqueue
from overcast.store.models import utcnow
from overcast.store.volume import GroupSnapshot, Snapshot, VolumeGroup

CREATE = "group_snapshot.create"
DELETE = "group_snapshot.delete"
#: Cinder's group snapshot statuses (what os-reset_status accepts)
STATUSES = frozenset({states.CREATING, states.AVAILABLE, "updating", states.DELETING, states.ERROR,
                      states.ERROR_DELETING})
SORT_KEYS = ("id", "name", "status", "created_at", "group_id")


def _in_region(region: str) -> Any:
    """Group snapshots whose group is ``region``'s (a group snapshot is its group's region's)."""
    return GroupSnapshot.group_id.in_(select(VolumeGroup.id).where(VolumeGroup.cloud == region))


def get(session: Session, ctx: AuthContext, group_snapshot_id: str, *, region: str) -> GroupSnapshot:
    """:raises NotFound: unknown, another region's, or another project's (admins see every project's)."""
    group_snapshot = session.scalar(select(GroupSnapshot).where(GroupSnapshot.id == group_snapshot_id,
                                                                _in_region(region)))
    if group_snapshot is None or not (ctx.is_admin or group_snapshot.project_id == ctx.project_id):
        raise NotFound(f"GroupSnapshot {group_snapshot_id} could not be found.")
    return group_snapshot


def list_group_snapshots(session: Session, ctx: AuthContext, page: Page, *, region: str,
                         all_tenants: bool = False) -> tuple[list[GroupSnapshot], bool]:
    """``region``'s group snapshots. :raises NotFound: the marker is not among the results."""
    stmt = select(GroupSnapshot).where(_in_region(region))
    if not (ctx.is_admin and all_tenants):
        stmt = stmt.where(GroupSnapshot.project_id == ctx.project_id)
    return paginate(list(session.scalars(stmt)), page)


def snapshots_of(session: Session, group_snapshot: GroupSnapshot) -> list[Snapshot]:
    return list(session.scalars(select(Snapshot).where(Snapshot.group_snapshot_id == group_snapshot.id)))


def create(session: Session, ctx: AuthContext, group: VolumeGroup, *, name: str | None, description: str | None,
           request_id: str | None) -> GroupSnapshot:
    """Snapshot every volume of ``group``.

    :raises Invalid: the group is not available, or a volume cannot be snapshotted now.
    :raises quotas.OverLimit: the snapshots do not fit the quota.
    """
    if group.status != states.AVAILABLE:
        raise Invalid(f"Invalid group: Group {group.id} status must be available, but current status is: "
                      f"{group.status}.")
    members = volumes_of(session, group)
    group_snapshot = GroupSnapshot(id=str(uuid.uuid4()), project_id=group.project_id, user_id=ctx.user_id,
                                   group_id=group.id, group_type_id=group.group_type_id, name=name,
                                   description=description, status=states.CREATING, created_at=utcnow())
    session.add(group_snapshot)
    for volume in members:
        snapshots.create(session, ctx, volume, name=f"snapshot-{group_snapshot.id}", description=description,
                         metadata={}, force=True, request_id=request_id, group_snapshot_id=group_snapshot.id)
    enqueue(session, kind=CREATE, cloud=group.cloud, resource_type="group_snapshot", resource_id=group_snapshot.id,
            action="create", request_id=request_id, user_id=ctx.user_id, project_id=group.project_id)
    return group_snapshot


def delete(session: Session, ctx: AuthContext, group_snapshot: GroupSnapshot, *, request_id: str | None) -> None:
    """Mark it and its snapshots deleting and enqueue ``group_snapshot.delete``.

    :raises Invalid: not available or error (Cinder's message).
    """
    if group_snapshot.status not in (states.AVAILABLE, states.ERROR, states.ERROR_DELETING):
        raise Invalid("Invalid group snapshot: Group snapshot status must be available or error, but current status "
                      f"is: {group_snapshot.status}.")
    for snapshot in snapshots_of(session, group_snapshot):
        if snapshot.status != states.DELETING:
            snapshots.mark_deleting(session, ctx, snapshot, request_id=request_id)
    group_snapshot.status = states.DELETING
    group_snapshot.updated_at = utcnow()
    group = session.get(VolumeGroup, group_snapshot.group_id)  # a group with group snapshots stays
    enqueue(session, kind=DELETE, cloud=group.cloud, resource_type="group_snapshot",
            resource_id=group_snapshot.id, action="delete", request_id=request_id, user_id=ctx.user_id,
            project_id=group_snapshot.project_id)


def reset_status(group_snapshot: GroupSnapshot, status: str) -> None:
    """:raises Invalid: not one of Cinder's group snapshot statuses."""
    if status not in STATUSES:
        raise Invalid(f"Invalid input received: Group snapshot status: {status}, must be one of: "
                      f"{', '.join(sorted(STATUSES))}.")
    group_snapshot.status = status
    group_snapshot.updated_at = utcnow()
