"""Generic volume groups (3.13+): volumes of the group's volume types, in one region and zone,
that are snapshotted together (see :mod:`overcast.core.volume.group_snapshots`).

A group is Overcast's record, as Cinder's generic groups are its database's: making an empty
group needs no backend work, so it is ``available`` at once. A group made from a source (another
group, or a group snapshot, 3.14) is ``creating`` while a volume is made for each source volume
or snapshot; ``group.create`` waits for them (``available``, or ``error`` when one failed).
Deleting a group with ``delete-volumes`` deletes its volumes; ``group.delete`` waits for them to
go, then removes the group.
"""

from __future__ import annotations

import uuid
from typing import Iterable

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from overcast.core import inventory
from overcast.core.context import AuthContext
from overcast.core.errors import Invalid, NotFound
from overcast.core.volume import group_types, quotas, scheduler, states, volumes
from overcast.core.volume import types as vtypes
from overcast.core.volume.listing import Page, paginate
from overcast.ops.engine import enqueue
from overcast.store.models import utcnow
from overcast.store.volume import GroupSnapshot, Snapshot, Volume, VolumeGroup

CREATE = "group.create"
DELETE = "group.delete"
#: the group spec asking the backend for consistent group snapshots
CONSISTENT_SNAPSHOTS = "consistent_group_snapshot_enabled"
#: Cinder's group statuses (what os-reset_status accepts)
STATUSES = frozenset({states.CREATING, states.AVAILABLE, "updating", states.DELETING, states.ERROR,
                      states.ERROR_DELETING, states.IN_USE})
SORT_KEYS = ("id", "name", "status", "created_at", "availability_zone", "group_type_id")
#: volume statuses a volume may be added to (or removed from) a group in
ADDABLE = (states.AVAILABLE, states.IN_USE)
REMOVABLE = (states.AVAILABLE, states.IN_USE, states.ERROR, states.ERROR_DELETING)


def get_group(session: Session, ctx: AuthContext, group_id: str, *, region: str) -> VolumeGroup:
    """:raises NotFound: unknown, another region's, or another project's (admins see every project's)."""
    group = session.get(VolumeGroup, group_id)
    if group is None or group.cloud != region or not (ctx.is_admin or group.project_id == ctx.project_id):
        raise NotFound(f"Group {group_id} could not be found.")
    return group


def list_groups(session: Session, ctx: AuthContext, page: Page, *, region: str,
                all_tenants: bool = False) -> tuple[list[VolumeGroup], bool]:
    """``region``'s groups. :raises NotFound: the marker is not among the results."""
    stmt = select(VolumeGroup).where(VolumeGroup.cloud == region)
    if not (ctx.is_admin and all_tenants):
        stmt = stmt.where(VolumeGroup.project_id == ctx.project_id)
    return paginate(list(session.scalars(stmt)), page)


def volumes_of(session: Session, group: VolumeGroup) -> list[Volume]:
    return list(session.scalars(select(Volume).where(Volume.group_id == group.id).order_by(Volume.created_at)))


def volume_ids(session: Session, group_ids: list[str]) -> dict[str, list[str]]:
    """The ids of the volumes in each of these groups (oldest first), in one query; a group
    without volumes has no entry."""
    found: dict[str, list[str]] = {}
    for volume_id, group_id in session.execute(select(Volume.id, Volume.group_id)
                                               .where(Volume.group_id.in_(group_ids)).order_by(Volume.created_at)):
        found.setdefault(group_id, []).append(volume_id)
    return found


def _record(session: Session, ctx: AuthContext, *, region: str, zone: str, group_type_id: str,
            volume_type_ids: list[str], name: str | None, description: str | None, status: str,
            group_snapshot_id: str | None = None, source_group_id: str | None = None) -> VolumeGroup:
    """:raises Invalid: no project scope. :raises quotas.OverLimit: over the groups quota."""
    if not ctx.project_id:
        raise Invalid("Invalid input received: groups are created in a project; use a project-scoped token.")
    quotas.reserve(session, ctx.project_id, groups=1, region=region)
    group = VolumeGroup(id=str(uuid.uuid4()), cloud=region, project_id=ctx.project_id, user_id=ctx.user_id,
                        name=name, description=description, status=status, availability_zone=zone,
                        group_type_id=group_type_id, volume_type_ids=volume_type_ids,
                        group_snapshot_id=group_snapshot_id, source_group_id=source_group_id, created_at=utcnow())
    session.add(group)
    session.flush()
    return group


def create(session: Session, ctx: AuthContext, *, name: str | None, description: str | None, group_type: str,
           volume_types: Iterable[str], availability_zone: str | None, region: str) -> VolumeGroup:
    """Record an empty group (in ``error`` if its type asks for consistent group snapshots).

    :raises NotFound: unknown group type or volume type. :raises Invalid: a bad zone.
    :raises quotas.OverLimit: over the groups quota.
    """
    gtype = group_types.get(session, ctx, group_type)
    type_ids = list(dict.fromkeys(vtypes.by_name_or_id(session, ctx, ref).id for ref in volume_types))
    consistent = (gtype.group_specs or {}).get(CONSISTENT_SNAPSHOTS)
    # no driver snapshots a group consistently: a type that asks for it gets a group in error, as
    # Cinder's volume manager leaves one its backend cannot make
    status = states.ERROR if consistent is not None and not scheduler.matches(False, consistent) else states.AVAILABLE
    zones = inventory.volume_zone_names(session, region)
    return _record(session, ctx, region=region, zone=volumes.pick_zone(availability_zone, zones),
                   group_type_id=gtype.id, volume_type_ids=type_ids, name=name, description=description,
                   status=status)


def usable(session: Session, ctx: AuthContext, group_id: str, region: str) -> VolumeGroup:
    """The group a new volume of ``region`` goes into.

    :raises NotFound: no such group. :raises Invalid: not available, or in another region.
    """
    group = get_group(session, ctx, group_id, region=region)
    _expect_available(group)
    if group.cloud != region:
        raise Invalid(f"Invalid input received: Group {group.id} is in region {group.cloud}, not {region}.")
    return group


def _expect_available(group: VolumeGroup) -> None:
    if group.status != states.AVAILABLE:
        raise Invalid(f"Invalid group: Group {group.id} status must be available, but current status is: "
                      f"{group.status}.")


def _cannot(volume_id: str, verb: str, group: VolumeGroup, why: str) -> Invalid:
    preposition = "to" if verb == "add" else "from"
    return Invalid(f"Invalid volume: Cannot {verb} volume {volume_id} {preposition} group {group.id} because {why}.")


def _by_id(session: Session, ids: list[str], condition: ColumnElement[bool]) -> dict[str, Volume]:
    """The volumes with these ids that meet ``condition``, by id, in one query."""
    if not ids:
        return {}
    return {v.id: v for v in session.scalars(select(Volume).where(Volume.id.in_(ids), condition))}


def update(session: Session, ctx: AuthContext, group: VolumeGroup, *, name: str | None, description: str | None,
           add: Iterable[str], remove: Iterable[str]) -> None:
    """Rename, describe, and add or remove volumes (Cinder's checks and messages).

    :raises Invalid: nothing to change, the group is not available, or a volume cannot be added
        (unknown, wrong state, zone, region or type, in a group) or removed (not in the group).
    """
    add, remove = list(add), list(remove)
    if name is None and description is None and not add and not remove:
        raise Invalid("Invalid input received: Name, description, add_volumes, and remove_volumes can not be all "
                      "empty in the request body.")
    _expect_available(group)
    addable = _by_id(session, add, Volume.project_id == group.project_id)
    for volume_id in add:
        volume = addable.get(volume_id)
        if volume is None:
            raise _cannot(volume_id, "add", group, "volume cannot be found")
        if volume.group_id:
            raise _cannot(volume_id, "add", group, f"it is already in group {volume.group_id}")
        if volume.status not in ADDABLE:
            raise _cannot(volume_id, "add", group, f"volume is in an invalid state: {volume.status}. Valid states "
                                                   f"are: {ADDABLE}")
        if (volume.cloud, volume.availability_zone) != (group.cloud, group.availability_zone):
            raise _cannot(volume_id, "add", group, "volume is not in the group's region and availability zone")
        vtype = volumes.volume_type(session, volume)
        if vtype is None or vtype.id not in group.volume_type_ids:
            raise _cannot(volume_id, "add", group, f"volume type {volume.volume_type_id} is not supported by the group")
        volume.group_id = group.id
    # read after the additions (autoflushed), so a volume just added can be removed again
    members = _by_id(session, remove, Volume.group_id == group.id)
    for volume_id in remove:
        volume = members.get(volume_id)
        if volume is None or volume.group_id != group.id:  # (or listed twice, removed already)
            raise _cannot(volume_id, "remove", group, "it is not in the group")
        if volume.status not in REMOVABLE:
            raise _cannot(volume_id, "remove", group, f"volume is in an invalid state: {volume.status}. Valid "
                                                      f"states are: {REMOVABLE}")
        volume.group_id = None
    if name is not None:
        group.name = name
    if description is not None:
        group.description = description
    group.updated_at = utcnow()


def delete(session: Session, ctx: AuthContext, group: VolumeGroup, *, delete_volumes: bool,
           request_id: str | None) -> None:
    """Mark the group deleting (and its volumes, with ``delete_volumes``) and enqueue ``group.delete``.

    :raises Invalid: a status that forbids it, group snapshots left, volumes left without
        ``delete_volumes``, or a volume that cannot be deleted (Cinder's messages).
    """
    if group.status not in (states.AVAILABLE, states.ERROR, states.ERROR_DELETING):
        raise Invalid(f"Invalid group: Group status must be available or error, but current status is: "
                      f"{group.status}.")
    if session.scalar(select(GroupSnapshot.id).where(GroupSnapshot.group_id == group.id).limit(1)) is not None:
        raise Invalid(f"Invalid group: Group {group.id} still has dependent group snapshots.")
    members = volumes_of(session, group)
    if members and not delete_volumes:
        raise Invalid(f"Invalid group: Group {group.id} still contains volumes. The delete-volumes flag is required "
                      "to delete it.")
    for volume in members:
        if volume.status != states.DELETING:
            volumes.delete(session, ctx, volume, request_id=request_id, with_group=True)
    group.status = states.DELETING
    group.updated_at = utcnow()
    enqueue(session, kind=DELETE, cloud=group.cloud, resource_type="group", resource_id=group.id, action="delete",
            request_id=request_id, user_id=ctx.user_id, project_id=group.project_id)


def create_from_source(session: Session, ctx: AuthContext, source: VolumeGroup | GroupSnapshot, *,
                       name: str | None, description: str | None, request_id: str | None) -> VolumeGroup:
    """A new group of the source's kind with a volume cloned from each volume of a source group,
    or made from each snapshot of a source group snapshot (3.14).

    :raises Invalid: the source is not available. :raises quotas.OverLimit: over a quota.
    """
    if source.status != states.AVAILABLE:
        raise Invalid(f"Invalid group: Source {source.id} status must be available, but current status is: "
                      f"{source.status}.")
    from_snapshot = isinstance(source, GroupSnapshot)
    origin = session.get(VolumeGroup, source.group_id) if from_snapshot else source
    group = _record(session, ctx, region=origin.cloud, zone=origin.availability_zone,
                    group_type_id=origin.group_type_id, volume_type_ids=list(origin.volume_type_ids),
                    name=name, description=description, status=states.CREATING,
                    group_snapshot_id=source.id if from_snapshot else None,
                    source_group_id=None if from_snapshot else source.id)
    zone = group.availability_zone
    if from_snapshot:
        members = session.execute(select(Snapshot, Volume).join(Volume, Volume.id == Snapshot.volume_id)
                                  .where(Snapshot.group_snapshot_id == source.id)).all()
        specs = [volumes.VolumeSpec(size=None, name=volume.name, volume_type=volume.volume_type_id,
                                    availability_zone=zone, snapshot_id=snapshot.id) for snapshot, volume in members]
    else:
        specs = [volumes.VolumeSpec(size=None, name=volume.name, volume_type=volume.volume_type_id,
                                    availability_zone=zone, source_volid=volume.id)
                 for volume in volumes_of(session, source)]
    for spec in specs:
        volumes.create(session, ctx, spec, region=group.cloud, zones=[zone], request_id=request_id, group=group)
    enqueue(session, kind=CREATE, cloud=group.cloud, resource_type="group", resource_id=group.id, action="create",
            request_id=request_id, user_id=ctx.user_id, project_id=group.project_id)
    return group


def reset_status(group: VolumeGroup, status: str) -> None:
    """:raises Invalid: not one of Cinder's group statuses."""
    if status not in STATUSES:
        raise Invalid(f"Invalid input received: Group status: {status}, must be one of: {', '.join(sorted(STATUSES))}.")
    group.status = status
    group.updated_at = utcnow()
