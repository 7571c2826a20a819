"""The volume services of every configured region, as Cinder's os-services, os-hosts,
scheduler-stats and capabilities APIs show them.

Each region with block storage runs a ``cinder-scheduler`` (host ``<region>-controller``) and a
``cinder-volume`` (host ``host@backend``, the driver's :attr:`~overcast.drivers.volume.VolumeDriver.host`).
Both are up while Overcast runs; what an admin sets on one (disabled and why, frozen) is a
:class:`~overcast.store.volume.VolumeService` record. A disabled or frozen ``cinder-volume`` gets
no new volumes (:func:`accepts_volumes`). Hosts are matched as Cinder matches them: ``host``
names every backend on that host, ``host@backend`` every pool of that backend.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from overcast.core.errors import Invalid, NotFound
from overcast.core.volume import VolumeCore
from overcast.drivers.volume import Pool, VolumeDriver
from overcast.store.models import put_row, utcnow
from overcast.store.volume import Snapshot, Volume, VolumeService

SCHEDULER = "cinder-scheduler"
VOLUME = "cinder-volume"


@dataclass(frozen=True)
class Service:
    binary: str
    host: str
    zone: str
    region: str
    disabled: bool = False
    disabled_reason: str | None = None
    frozen: bool = False


def host_matches(host: str, wanted: str) -> bool:
    """Cinder's host filter: ``wanted`` names ``host`` itself or a level above it."""
    return host == wanted or host.startswith(wanted + ("#" if "@" in wanted else "@"))


def _drivers(core: VolumeCore) -> Iterator[tuple[str, VolumeDriver]]:
    for region, cloud in core.clouds.items():
        if cloud.volume is not None:
            yield region, cloud.volume


def list_services(session: Session, core: VolumeCore, *, host: str | None = None,
                  binary: str | None = None) -> list[Service]:
    """Every region's services, with what admins set on them, filtered by host and binary."""
    state = {(row.host, row.binary): row for row in session.scalars(select(VolumeService))}
    services = []
    for region, driver in _drivers(core):
        zones = driver.zones()
        zone = zones[0].name if zones else "nova"
        for kind, name in ((SCHEDULER, f"{region.lower()}-controller"), (VOLUME, driver.host)):
            row = state.get((name, kind))
            services.append(Service(kind, name, zone, region) if row is None else Service(
                kind, name, zone, region, row.disabled, row.disabled_reason, row.frozen))
    return [s for s in services if (host is None or host_matches(s.host, host))
            and (binary is None or s.binary == binary)]


def find(session: Session, core: VolumeCore, host: str, binary: str) -> Service:
    """:raises NotFound: no such service (Cinder's ServiceNotFound)."""
    found = list_services(session, core, host=host, binary=binary)
    if not found:
        raise NotFound(f"Service {binary} could not be found on host {host}.")
    return found[0]


def _save(session: Session, service: Service, **values: object) -> None:
    put_row(session, VolumeService, {"host": service.host, "binary": service.binary},
            **{"disabled": service.disabled, "disabled_reason": service.disabled_reason,
               "frozen": service.frozen, **values, "modified_at": utcnow()})


def set_disabled(session: Session, core: VolumeCore, host: str, binary: str, disabled: bool,
                 reason: str | None = None) -> None:
    """Enable or disable a service (a disabled cinder-volume is given no new volumes).

    :raises NotFound: no such service.
    """
    _save(session, find(session, core, host, binary), disabled=disabled, disabled_reason=reason if disabled else None)


def _backend(session: Session, core: VolumeCore, host: str) -> Service:
    """:raises Invalid: no cinder-volume service on ``host`` (Cinder answers 400 here)."""
    found = list_services(session, core, host=host, binary=VOLUME)
    if not found:
        raise Invalid(f"Invalid input received: No service found with host={host}")
    return found[0]


def freeze(session: Session, core: VolumeCore, host: str) -> None:
    """Freeze a backend for a failover: frozen, and disabled so it gets no new volumes.

    :raises Invalid: no such backend, or already frozen (Cinder's messages).
    """
    service = _backend(session, core, host)
    if service.frozen:
        raise Invalid("Invalid input received: Host is already Frozen.")
    _save(session, service, frozen=True, disabled=True, disabled_reason="frozen")


def thaw(session: Session, core: VolumeCore, host: str) -> None:
    """Thaw a frozen backend: enabled again. :raises Invalid: no such backend, or not frozen."""
    service = _backend(session, core, host)
    if not service.frozen:
        raise Invalid("Invalid input received: Host is NOT Frozen.")
    _save(session, service, frozen=False, disabled=False, disabled_reason=None)


def accepts_volumes(session: Session, host: str) -> bool:
    """Whether the cinder-volume service ``host`` may be given new volumes (enabled, not frozen)."""
    row = session.get(VolumeService, (host, VOLUME))
    return row is None or not (row.disabled or row.frozen)


# -- hosts -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HostUsage:
    project: str
    volume_count: int
    total_volume_gb: int
    snapshot_count: int
    total_snapshot_gb: int


def host_usage(session: Session, core: VolumeCore, host: str) -> list[HostUsage]:
    """os-hosts/{host}: what the volumes of a cinder-volume host hold, in total (``(total)``)
    and per project.

    :raises NotFound: ``host`` is not a cinder-volume service.
    """
    if not any(s.host == host for s in list_services(session, core, binary=VOLUME)):
        raise NotFound(f"Host {host} could not be found.")
    on_host = select(Volume.id).where((Volume.host == host) | Volume.host.like(host + "#%"))
    volumes = dict(((p, (n, gb)) for p, n, gb in session.execute(
        select(Volume.project_id, func.count(), func.coalesce(func.sum(Volume.size), 0))
        .where(Volume.id.in_(on_host)).group_by(Volume.project_id))))
    snapshots = dict(((p, (n, gb)) for p, n, gb in session.execute(
        select(Snapshot.project_id, func.count(), func.coalesce(func.sum(Snapshot.size), 0))
        .where(Snapshot.volume_id.in_(on_host)).group_by(Snapshot.project_id))))
    rows = [HostUsage(p, *volumes.get(p, (0, 0)), *snapshots.get(p, (0, 0)))
            for p in sorted(set(volumes) | set(snapshots))]
    total = HostUsage("(total)", sum(r.volume_count for r in rows), sum(r.total_volume_gb for r in rows),
                      sum(r.snapshot_count for r in rows), sum(r.total_snapshot_gb for r in rows))
    return [total, *rows]


# -- pools -------------------------------------------------------------------------------------------


def pools(core: VolumeCore) -> list[tuple[str, Pool]]:
    """Every region's pools with their scheduler names (``host@backend#pool``)."""
    return [(f"{driver.host}#{pool.name}", pool) for _, driver in _drivers(core) for pool in driver.pools()]


def backend_pools(core: VolumeCore, host: str) -> list[tuple[str, Pool]]:
    """The pools ``host`` names: all of a backend (``host@backend``) or one (``host@backend#pool``).

    :raises NotFound: no backend or pool by that name.
    """
    found = [(name, pool) for name, pool in pools(core) if host_matches(name, host)]
    if not found or "@" not in host:
        raise NotFound(f"Service {VOLUME} could not be found on host {host}.")
    return found
