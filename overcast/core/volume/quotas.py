"""Cinder's quotas: defaults, per-project limits, usage counted from the records, atomic reserve.

Usage is never stored: it is counted from the volume and snapshot records (``gigabytes`` holds
both, as Cinder counts it). :func:`reserve` takes the project's quota lock (the same row the
compute quotas lock, see :func:`overcast.core.compute.quotas.lock_project`) before checking, so
the check and the caller's insert are one atomic step.
"""

from __future__ import annotations

from typing import Mapping

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from overcast.core.compute.quotas import lock_project
from overcast.core.errors import Invalid, OvercastError
from overcast.store.models import put_row
from overcast.store.volume import Snapshot, Volume, VolumeQuota

#: Cinder's default limits (cinder.conf [DEFAULT] quota_*).
DEFAULTS: dict[str, int] = {
    "volumes": 10,
    "snapshots": 10,
    "gigabytes": 1000,
    "backups": 10,
    "backup_gigabytes": 1000,
    "groups": 10,
    "per_volume_gigabytes": -1,
}
UNLIMITED = -1


class OverLimit(OvercastError):
    """Cinder's 413 quota faults (VolumeLimitExceeded, VolumeSizeExceedsAvailableQuota, ...)."""

    status = 413


def limits(session: Session, project_id: str) -> dict[str, int]:
    result = dict(DEFAULTS)
    for row in session.scalars(select(VolumeQuota).where(VolumeQuota.project_id == project_id)):
        if row.resource in DEFAULTS:
            result[row.resource] = int(row.hard_limit)
    return result


def usage(session: Session, project_id: str) -> dict[str, int]:
    """What the project uses now, counted from the records."""
    count, size = session.execute(select(func.count(), func.coalesce(func.sum(Volume.size), 0))
                                  .where(Volume.project_id == project_id)).one()
    snaps, snap_size = session.execute(select(func.count(), func.coalesce(func.sum(Snapshot.size), 0))
                                       .where(Snapshot.project_id == project_id)).one()
    used = {name: 0 for name in DEFAULTS}
    used.update(volumes=int(count), snapshots=int(snaps), gigabytes=int(size) + int(snap_size))
    return used


def reserve(session: Session, project_id: str, *, volumes: int = 0, snapshots: int = 0, gigabytes: int = 0,
            volume_size: int | None = None) -> None:
    """Lock the project's quota and check the new records fit (the caller adds them in this transaction).

    :raises OverLimit: with Cinder's message for the resource that does not fit.
    """
    lock_project(session, project_id)
    allowed = limits(session, project_id)
    per_volume = allowed["per_volume_gigabytes"]
    if volume_size is not None and per_volume != UNLIMITED and volume_size > per_volume:
        raise OverLimit(f"Requested volume size {volume_size}G is larger than maximum allowed limit {per_volume}G.")
    used = usage(session, project_id)
    if gigabytes and allowed["gigabytes"] != UNLIMITED and used["gigabytes"] + gigabytes > allowed["gigabytes"]:
        raise OverLimit(f"Requested volume or snapshot exceeds allowed gigabytes quota. Requested {gigabytes}G, "
                        f"quota is {allowed['gigabytes']}G and {used['gigabytes']}G has been consumed.")
    if volumes and allowed["volumes"] != UNLIMITED and used["volumes"] + volumes > allowed["volumes"]:
        raise OverLimit(f"Maximum number of volumes allowed ({allowed['volumes']}) exceeded for quota 'volumes'.")
    if snapshots and allowed["snapshots"] != UNLIMITED and used["snapshots"] + snapshots > allowed["snapshots"]:
        raise OverLimit(f"Maximum number of snapshots allowed ({allowed['snapshots']}) exceeded")


def detail(session: Session, project_id: str) -> dict[str, dict[str, int]]:
    allowed, used = limits(session, project_id), usage(session, project_id)
    return {name: {"limit": allowed[name], "in_use": used[name], "reserved": 0, "allocated": 0}
            for name in DEFAULTS}


def update(session: Session, project_id: str, values: Mapping[str, int]) -> dict[str, int]:
    """Set the project's limits. A limit below what is in use is refused, as Cinder does.

    :raises Invalid: unknown resource, a value below -1, or below the usage.
    """
    used = usage(session, project_id)
    for name, value in values.items():
        if name not in DEFAULTS:
            raise Invalid(f"Bad key(s) in quota set: {name}")
        if value < UNLIMITED:
            raise Invalid(f"Invalid input received: Quota limit {value} for {name} must be -1 or greater.")
        if value != UNLIMITED and value < used[name]:
            raise Invalid(f"Invalid input received: Quota limit {value} for {name} must be greater than or "
                          f"equal to already used and reserved {used[name]}.")
    for name, value in values.items():
        put_row(session, VolumeQuota, {"project_id": project_id, "resource": name}, hard_limit=value)
    session.flush()
    return limits(session, project_id)


def reset(session: Session, project_id: str) -> None:
    """Drop the project's limits: the defaults apply again."""
    for row in session.scalars(select(VolumeQuota).where(VolumeQuota.project_id == project_id)):
        session.delete(row)
