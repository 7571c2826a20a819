"""Cinder's quotas: defaults, quota classes, per-project limits, usage counted from the records,
atomic reserve.

Resources are Cinder's (``volumes``, ``snapshots``, ``gigabytes``, ``backups``, ...) plus, for each
volume type, ``volumes_<type>``, ``snapshots_<type>`` and ``gigabytes_<type>`` (unlimited unless
set). A project's limit is its own row, else the ``default`` quota class's, else Cinder's
configuration default (:data:`DEFAULTS`).

Usage is never stored: it is counted from the volume, snapshot and group records (``gigabytes``
holds volumes and snapshots, as Cinder counts it; a snapshot counts under its volume's type;
``backups`` and ``backup_gigabytes`` count the backup records). :func:`reserve` takes the
project's quota lock (the same row the compute quotas lock, see
:func:`overcast.core.compute.quotas.lock_project`) before checking, so the check and the caller's
insert are one atomic step.
"""

from __future__ import annotations

from typing import Iterable, Mapping

from sqlalchemy import delete as delete_rows
from sqlalchemy import func, select
from sqlalchemy import update as update_rows  # this module has its own update()
from sqlalchemy.orm import Session

from overcast.core.compute.quotas import lock_project
from overcast.core.errors import Invalid, OvercastError
from overcast.store.models import put_row
from overcast.store.volume import (Snapshot, Volume, VolumeBackup, VolumeGroup, VolumeQuota, VolumeQuotaClass,
                                   VolumeType)

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
#: the resources each volume type has a quota of its own for
PER_TYPE = ("volumes", "snapshots", "gigabytes")
UNLIMITED = -1
DEFAULT_CLASS = "default"


class OverLimit(OvercastError):
    """Cinder's 413 quota faults (VolumeLimitExceeded, VolumeSizeExceedsAvailableQuota, ...)."""

    status = 413


def _per_type(type_name: str) -> list[str]:
    return [f"{resource}_{type_name}" for resource in PER_TYPE]


def class_limits(session: Session, class_name: str) -> dict[str, int]:
    """A quota class's limits: Cinder's defaults (per-type ones unlimited) with the class's rows."""
    result = dict(DEFAULTS)
    for name in session.scalars(select(VolumeType.name).order_by(VolumeType.name)):
        result.update(dict.fromkeys(_per_type(name), UNLIMITED))
    for row in session.scalars(select(VolumeQuotaClass).where(VolumeQuotaClass.class_name == class_name)):
        if row.resource in result:
            result[row.resource] = int(row.hard_limit)
    return result


def defaults(session: Session) -> dict[str, int]:
    """What a project gets without limits of its own: the ``default`` class."""
    return class_limits(session, DEFAULT_CLASS)


def limits(session: Session, project_id: str) -> dict[str, int]:
    result = defaults(session)
    for row in session.scalars(select(VolumeQuota).where(VolumeQuota.project_id == project_id)):
        if row.resource in result:
            result[row.resource] = int(row.hard_limit)
    return result


def usage(session: Session, project_id: str, resources: Iterable[str] | None = None, *,
          region: str) -> dict[str, int]:
    """What the project uses now in ``region``, counted from the records, for each of ``resources``
    (the project's :func:`limits`, already read by the caller; read here when not given). Limits
    are the project's everywhere; each region holds them against its own usage, as each region's
    Cinder of a multi-region OpenStack does (0008)."""
    used = dict.fromkeys(limits(session, project_id) if resources is None else resources, 0)
    volumes = session.execute(select(VolumeType.name, func.count(), func.coalesce(func.sum(Volume.size), 0))
                              .select_from(Volume).outerjoin(VolumeType, VolumeType.id == Volume.volume_type_id)
                              .where(Volume.project_id == project_id, Volume.cloud == region)
                              .group_by(VolumeType.name)).all()
    snapshots = session.execute(select(VolumeType.name, func.count(), func.coalesce(func.sum(Snapshot.size), 0))
                                .select_from(Snapshot).join(Volume, Volume.id == Snapshot.volume_id)
                                .outerjoin(VolumeType, VolumeType.id == Volume.volume_type_id)
                                .where(Snapshot.project_id == project_id, Snapshot.cloud == region)
                                .group_by(VolumeType.name)).all()
    used["groups"] = int(session.scalar(select(func.count()).select_from(VolumeGroup)
                                        .where(VolumeGroup.project_id == project_id, VolumeGroup.cloud == region)))
    backups = session.execute(select(func.count(), func.coalesce(func.sum(VolumeBackup.size), 0))
                              .where(VolumeBackup.project_id == project_id, VolumeBackup.cloud == region)).one()
    used["backups"], used["backup_gigabytes"] = int(backups[0]), int(backups[1])
    for kind, rows in (("volumes", volumes), ("snapshots", snapshots)):
        for type_name, count, size in rows:
            for prefix, amount in ((kind, int(count)), ("gigabytes", int(size))):
                used[prefix] += amount
                if type_name is not None and f"{prefix}_{type_name}" in used:
                    used[f"{prefix}_{type_name}"] += amount
    return used


def _check(allowed: Mapping[str, int], used: Mapping[str, int], name: str, amount: int) -> None:
    """:raises OverLimit: ``amount`` more of ``name`` does not fit (Cinder's message per resource)."""
    limit = allowed.get(name, UNLIMITED)
    if not amount or limit == UNLIMITED or used[name] + amount <= limit:
        return
    if name == "backup_gigabytes":
        raise OverLimit(f"Requested backup exceeds allowed Backup gigabytes quota. Requested {amount}G, quota is "
                        f"{limit}G and {used[name]}G has been consumed.")
    if name == "backups":
        raise OverLimit(f"Maximum number of backups allowed ({limit}) exceeded")
    if name.startswith("gigabytes"):
        raise OverLimit(f"Requested volume or snapshot exceeds allowed {name} quota. Requested {amount}G, "
                        f"quota is {limit}G and {used[name]}G has been consumed.")
    if name.startswith("volumes"):
        raise OverLimit(f"Maximum number of volumes allowed ({limit}) exceeded for quota '{name}'.")
    if name == "groups":
        raise OverLimit(f"Maximum number of groups allowed ({limit}) exceeded for quota 'groups'.")
    raise OverLimit(f"Maximum number of snapshots allowed ({limit}) exceeded for quota '{name}'.")


def check_headroom(allowed: Mapping[str, int], used: Mapping[str, int], wanted: Mapping[str, int]) -> None:
    """``wanted`` more must fit a backend's own limits and usage (decision 0046).

    :raises OverLimit: with Cinder's message for the first resource that does not fit.
    """
    for name, amount in wanted.items():
        _check(allowed, {name: used.get(name, 0)}, name, amount)


def reserve(session: Session, project_id: str, *, volumes: int = 0, snapshots: int = 0, gigabytes: int = 0,
            groups: int = 0, backups: int = 0, backup_gigabytes: int = 0, volume_size: int | None = None,
            volume_type: VolumeType | None = None, type_only: bool = False, region: str) -> None:
    """Lock the project's quota and check the new records fit (the caller adds them in this transaction).

    ``volume_type`` also checks that type's quotas; ``type_only`` checks only those (a retype
    moves a volume between types without adding to the totals).

    :raises OverLimit: with Cinder's message for the resource that does not fit.
    """
    lock_project(session, project_id)
    allowed = limits(session, project_id)
    per_volume = allowed["per_volume_gigabytes"]
    if volume_size is not None and per_volume != UNLIMITED and volume_size > per_volume:
        raise OverLimit(f"Requested volume size {volume_size}G is larger than maximum allowed limit {per_volume}G.")
    used = usage(session, project_id, allowed, region=region)
    wanted = {"gigabytes": gigabytes, "volumes": volumes, "snapshots": snapshots, "groups": groups,
              "backups": backups, "backup_gigabytes": backup_gigabytes}
    names = [] if type_only else list(wanted)
    if volume_type is not None:
        names += [f"{name}_{volume_type.name}" for name in PER_TYPE]
    for name in names:
        _check(allowed, used, name, wanted[name if name in wanted else name.split("_", 1)[0]])


def detail(session: Session, project_id: str, *, region: str) -> dict[str, dict[str, int]]:
    """Limits and ``region``'s usage."""
    allowed = limits(session, project_id)
    used = usage(session, project_id, allowed, region=region)
    return {name: {"limit": allowed[name], "in_use": used[name], "reserved": 0, "allocated": 0}
            for name in allowed}


def _checked(known: Mapping[str, int], values: Mapping[str, int]) -> None:
    """:raises Invalid: an unknown resource or a value below -1."""
    bad = sorted(name for name in values if name not in known)
    if bad:
        raise Invalid(f"Bad key(s) in quota set: {', '.join(bad)}")
    for name, value in values.items():
        if value < UNLIMITED:
            raise Invalid(f"Invalid input received: Quota limit {value} for {name} must be -1 or greater.")


def update(session: Session, project_id: str, values: Mapping[str, int], *, region: str) -> dict[str, int]:
    """Set the project's limits. A limit below what is in use in ``region`` is refused, as Cinder does.

    :raises Invalid: unknown resource, a value below -1, or below the usage.
    """
    allowed = limits(session, project_id)
    used = usage(session, project_id, allowed, region=region)
    _checked(allowed, values)
    for name, value in values.items():
        if value != UNLIMITED and value < used[name]:
            raise Invalid(f"Invalid input received: Quota limit {value} for {name} must be greater than or "
                          f"equal to already used and reserved {used[name]}.")
    for name, value in values.items():
        put_row(session, VolumeQuota, {"project_id": project_id, "resource": name}, hard_limit=value)
    session.flush()
    return {**allowed, **{name: int(value) for name, value in values.items()}}


def update_class(session: Session, class_name: str, values: Mapping[str, int]) -> dict[str, int]:
    """Set a quota class's limits (``default``: what every project without its own gets).

    :raises Invalid: unknown resource or a value below -1.
    """
    _checked(class_limits(session, class_name), values)
    for name, value in values.items():
        put_row(session, VolumeQuotaClass, {"class_name": class_name, "resource": name}, hard_limit=value)
    session.flush()
    return class_limits(session, class_name)


def reset(session: Session, project_id: str) -> None:
    """Drop the project's limits: the defaults apply again."""
    for row in session.scalars(select(VolumeQuota).where(VolumeQuota.project_id == project_id)):
        session.delete(row)


def rename_type(session: Session, old: str, new: str) -> None:
    """A volume type was renamed: its per-type limits follow it (as Cinder renames them)."""
    for model in (VolumeQuota, VolumeQuotaClass):
        for old_name, new_name in zip(_per_type(old), _per_type(new), strict=True):
            session.execute(update_rows(model).where(model.resource == old_name).values(resource=new_name))


def drop_type(session: Session, name: str) -> None:
    """A volume type was deleted: its per-type limits go with it."""
    for model in (VolumeQuota, VolumeQuotaClass):
        session.execute(delete_rows(model).where(model.resource.in_(_per_type(name))))
