"""A region's volume services, as that region's Cinder os-services, os-hosts, scheduler-stats and
capabilities APIs show them (each region lists its own, as two OpenStack regions do).

Each region with block storage runs a ``cinder-scheduler`` (host ``<region>-controller``) and a
``cinder-volume`` (host ``host@backend``, the driver's :attr:`~overcast.drivers.volume.VolumeDriver.host`).
Both are up while Overcast runs; what an admin sets on one (disabled and why, frozen) is a
:class:`~overcast.store.volume.VolumeService` record. A disabled or frozen ``cinder-volume`` gets
no new volumes (:func:`accepts_volumes`). Hosts are matched as Cinder matches them: ``host``
names every backend on that host, ``host@backend`` every pool of that backend. Zones and pools are
what the region's driver last reported (:mod:`overcast.core.inventory`): no request asks the backend.
"""

from __future__ import annotations

from dataclasses import dataclass
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from overcast.core import inventory
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


def _driver(core: VolumeCore, region: str) -> VolumeDriver | None:
    cloud = core.clouds.get(region)
    return cloud.volume if cloud is not None else None


def list_services(session: Session, core: VolumeCore, *, region: str, host: str | None = None,
                  binary: str | None = None) -> list[Service]:
    """``region``'s services, with what admins set on them, filtered by host and binary."""
    driver = _driver(core, region)
    if driver is None:
        return []
    state = {(row.host, row.binary): row for row in session.scalars(select(VolumeService)
                                                                    .where(VolumeService.cloud == region))}
    zone = inventory.volume_zone_names(session, region)[0]
    services = []
    for kind, name in ((SCHEDULER, inventory.controller_host(region)), (VOLUME, driver.host)):
        row = state.get((name, kind))
        services.append(Service(kind, name, zone, region) if row is None else Service(
            kind, name, zone, region, row.disabled, row.disabled_reason, row.frozen))
    return [s for s in services if (host is None or host_matches(s.host, host))
            and (binary is None or s.binary == binary)]


def find(session: Session, core: VolumeCore, host: str, binary: str, *, region: str) -> Service:
    """:raises NotFound: no such service in ``region`` (Cinder's ServiceNotFound)."""
    found = list_services(session, core, region=region, host=host, binary=binary)
    if not found:
        raise NotFound(f"Service {binary} could not be found on host {host}.")
    return found[0]


def _save(session: Session, service: Service, **values: object) -> None:
    put_row(session, VolumeService, {"cloud": service.region, "host": service.host, "binary": service.binary},
            **{"disabled": service.disabled, "disabled_reason": service.disabled_reason,
               "frozen": service.frozen, **values, "modified_at": utcnow()})


def set_disabled(session: Session, core: VolumeCore, host: str, binary: str, disabled: bool,
                 reason: str | None = None, *, region: str) -> None:
    """Enable or disable a service (a disabled cinder-volume is given no new volumes).

    :raises NotFound: no such service.
    """
    _save(session, find(session, core, host, binary, region=region), disabled=disabled,
          disabled_reason=reason if disabled else None)


def _backend(session: Session, core: VolumeCore, host: str, region: str) -> Service:
    """:raises Invalid: no cinder-volume service on ``host`` (Cinder answers 400 here)."""
    found = list_services(session, core, region=region, host=host, binary=VOLUME)
    if not found:
        raise Invalid(f"Invalid input received: No service found with host={host}")
    return found[0]


def freeze(session: Session, core: VolumeCore, host: str, *, region: str) -> None:
    """Freeze a backend for a failover: frozen, and disabled so it gets no new volumes.

    :raises Invalid: no such backend, or already frozen (Cinder's messages).
    """
    service = _backend(session, core, host, region)
    if service.frozen:
        raise Invalid("Invalid input received: Host is already Frozen.")
    _save(session, service, frozen=True, disabled=True, disabled_reason="frozen")


def thaw(session: Session, core: VolumeCore, host: str, *, region: str) -> None:
    """Thaw a frozen backend: enabled again. :raises Invalid: no such backend, or not frozen."""
    service = _backend(session, core, host, region)
    if not service.frozen:
        raise Invalid("Invalid input received: Host is NOT Frozen.")
    _save(session, service, frozen=False, disabled=False, disabled_reason=None)


def accepts_volumes(session: Session, region: str, host: str) -> bool:
    """Whether ``region``'s cinder-volume service ``host`` may be given new volumes (enabled, not frozen)."""
    row = session.get(VolumeService, (region, host, VOLUME))
    return row is None or not (row.disabled or row.frozen)


# -- hosts -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HostUsage:
    project: str
    volume_count: int
    total_volume_gb: int
    snapshot_count: int
    total_snapshot_gb: int


def host_usage(session: Session, core: VolumeCore, host: str, *, region: str) -> list[HostUsage]:
    """os-hosts/{host}: what the volumes of one of ``region``'s cinder-volume hosts hold, in total
    (``(total)``) and per project.

    :raises NotFound: ``host`` is not a cinder-volume service of ``region``.
    """
    if not any(s.host == host for s in list_services(session, core, region=region, binary=VOLUME)):
        raise NotFound(f"Host {host} could not be found.")
    on_host = select(Volume.id).where(Volume.cloud == region, (Volume.host == host) | Volume.host.like(host + "#%"))
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


def pools(session: Session, core: VolumeCore, region: str) -> list[tuple[str, Pool]]:
    """``region``'s pools as its driver last reported them, with their scheduler names (``host@backend#pool``)."""
    driver = _driver(core, region)
    if driver is None:
        return []
    return [(f"{driver.host}#{pool.name}", pool) for pool in inventory.pools(session, region)]


def backend_pools(session: Session, core: VolumeCore, region: str, host: str) -> list[tuple[str, Pool]]:
    """The pools ``host`` names: all of a backend (``host@backend``) or one (``host@backend#pool``).

    :raises NotFound: no backend or pool by that name.
    """
    found = [(name, pool) for name, pool in pools(session, core, region) if host_matches(name, host)]
    if not found or "@" not in host:
        raise NotFound(f"Service {VOLUME} could not be found on host {host}.")
    return found
