"""What each region's backend offers (zones, pools, flavors, images), kept in the store.

Requests never ask a provider what it offers: a server create checks its zone, a volume create
picks its zone, Cinder's pools and availability-zone APIs answer, all from the region's
:class:`~overcast.store.compute.CloudInventory` rows. Those rows are written at start and then by
the ``inventory`` reconciler task (:func:`refresh`), which asks each region's drivers with the
engine's timeout and breaker, as any other driver call from a worker. A region whose backend did
not answer keeps what it said last (or, before it ever answered, the defaults a driver without
the call would give: one zone ``nova``).

Compute zones also keep Nova's compute services (one ``nova-compute`` per backend host) in step,
so availability zones, hypervisors and os-services follow the backend.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.core.image import sync_backend_images
from overcast.drivers import compute as dc
from overcast.drivers import volume as dv
from overcast.drivers.context import CallContext
from overcast.drivers.registry import CloudDriver
from overcast.store.compute import CloudInventory, ComputeService
from overcast.store.models import put_row, utcnow

LOG = logging.getLogger(__name__)

COMPUTE_ZONES = "compute.zones"
COMPUTE_FLAVORS = "compute.flavors"
COMPUTE_IMAGES = "compute.images"
VOLUME_ZONES = "volume.zones"
VOLUME_POOLS = "volume.pools"

#: the control-plane services Nova lists beside the computes, in the "internal" zone
CONTROL_BINARIES = ("nova-scheduler", "nova-conductor")
INTERNAL_ZONE = "internal"
DEFAULT_ZONE = "nova"


def controller_host(region: str) -> str:
    return f"{region.lower()}-controller"


def _row(session: Session, region: str, kind: str) -> CloudInventory | None:
    return session.get(CloudInventory, (region, kind))


def _items(session: Session, region: str, kind: str) -> list[dict[str, Any]] | None:
    row = _row(session, region, kind)
    return None if row is None else list(row.items or [])


def _record(record: Any) -> dict[str, Any]:
    return {k: (list(v) if isinstance(v, tuple) else dict(v) if isinstance(v, dict) else v)
            for k, v in dataclasses.asdict(record).items()}


# -- reads (requests) -----------------------------------------------------------------------------


def compute_zones(session: Session, region: str) -> list[dc.Zone]:
    """The zones the region's compute driver last listed (one ``nova`` before it ever answered)."""
    items = _items(session, region, COMPUTE_ZONES)
    if not items:
        return [dc.Zone(DEFAULT_ZONE)]
    return [dc.Zone(i["name"], bool(i.get("available", True)), tuple(i.get("hosts") or ()),
                    tuple(i.get("down_hosts") or ())) for i in items]


def volume_zones(session: Session, region: str) -> list[dv.Zone]:
    """The zones the region's volume driver last listed (one ``nova`` before it ever answered)."""
    items = _items(session, region, VOLUME_ZONES)
    return [dv.Zone(i["name"], bool(i.get("available", True))) for i in items] if items else [dv.Zone(DEFAULT_ZONE)]


def volume_zone_names(session: Session, region: str) -> list[str]:
    return [z.name for z in volume_zones(session, region)]


def pools(session: Session, region: str) -> list[dv.Pool]:
    """The pools the region's volume driver last reported (none before it ever answered)."""
    return [dv.Pool(**{**i, "extra": dict(i.get("extra") or {})}) for i in _items(session, region, VOLUME_POOLS) or []]


def backend_flavors(session: Session, region: str) -> list[dc.Flavor]:
    """The flavors the region's backend offers natively (empty: Overcast's own flavors apply)."""
    return [dc.Flavor(**{**i, "extra_specs": dict(i.get("extra_specs") or {})})
            for i in _items(session, region, COMPUTE_FLAVORS) or []]


def backend_images(session: Session, region: str) -> list[dc.Image]:
    """The images the region's backend offers natively, as it last listed them."""
    return [dc.Image(**{**i, "properties": dict(i.get("properties") or {})})
            for i in _items(session, region, COMPUTE_IMAGES) or []]


# -- writes (start and the reconciler) -----------------------------------------------------------


def _put(session: Session, region: str, kind: str, items: Iterable[Any]) -> None:
    put_row(session, CloudInventory, {"cloud": region, "kind": kind}, items=[_record(i) for i in items],
            refreshed_at=utcnow())


def _ensure_service(session: Session, cloud: str, host: str, binary: str, zone: str,
                    seen: bool = False) -> None:
    row = session.scalar(select(ComputeService).where(ComputeService.cloud == cloud, ComputeService.host == host,
                                                      ComputeService.binary == binary))
    if row is None:
        session.add(ComputeService(cloud=cloud, host=host, binary=binary, zone=zone))
        return
    if row.zone != zone:
        row.zone = zone
    if seen:
        row.updated_at = utcnow()       # Nova's updated_at: the service's last report


def record_compute_zones(session: Session, region: str, zones: list[dc.Zone], *, names_hosts: bool = False) -> None:
    """Keep the zones and a nova-compute service per host (plus the region's control services).

    ``names_hosts`` (:attr:`~overcast.drivers.compute.ComputeDriver.names_hosts`): the zones name
    the backend's real hosts, so a zone without hosts has no compute service, no zone at all is
    kept as such (no host has reported yet), and the services of the hosts that are up are
    marked as just seen. Otherwise a backend that names no host has one ``nova-compute`` named
    after the region, in the default zone when it named none."""
    if not names_hosts:
        zones = zones or [dc.Zone(DEFAULT_ZONE)]
    _put(session, region, COMPUTE_ZONES, zones)
    for zone in zones:
        for host in zone.hosts or (() if names_hosts else (region.lower(),)):
            _ensure_service(session, region, host, "nova-compute", zone.name,
                            seen=names_hosts and host not in zone.down_hosts)
    for binary in CONTROL_BINARIES:
        _ensure_service(session, region, controller_host(region), binary, INTERNAL_ZONE)


def down_hosts(session: Session, region: str) -> frozenset[str]:
    """The region's hosts its compute driver last said are down (missed their heartbeats)."""
    return frozenset(h for i in _items(session, region, COMPUTE_ZONES) or [] for h in i.get("down_hosts") or ())


def refresh(session_factory: Any, region: str, cloud: CloudDriver, *, ctx: CallContext | None = None,
            abandoned: Any = None) -> list[str]:
    """Ask the region's drivers what they offer and record it; returns the kinds that could not
    be refreshed (each logged; what the region said before stays)."""
    ctx = ctx or CallContext()
    failed: list[str] = []
    asks: list[tuple[str, Any]] = []
    if cloud.compute is not None:
        asks += [(COMPUTE_ZONES, cloud.compute.zones), (COMPUTE_FLAVORS, cloud.compute.flavors),
                 (COMPUTE_IMAGES, cloud.compute.images)]
    if cloud.volume is not None:
        asks += [(VOLUME_ZONES, cloud.volume.zones), (VOLUME_POOLS, cloud.volume.pools)]
    answers: dict[str, list[Any]] = {}
    names_hosts = bool(cloud.compute is not None and cloud.compute.names_hosts)
    for kind, ask in asks:
        if abandoned is not None and abandoned.is_set():
            break
        try:
            answers[kind] = list(ask(ctx))
        except Exception:  # noqa: BLE001 - one family's failure must not stop the others'
            LOG.warning("region %s did not answer %s; keeping what it said before", region, kind, exc_info=True)
            failed.append(kind)
    with session_factory() as session:
        for kind, items in answers.items():
            if kind == COMPUTE_ZONES:
                record_compute_zones(session, region, items, names_hosts=names_hosts)
            else:
                _put(session, region, kind, items)
            if kind == COMPUTE_IMAGES:
                sync_backend_images(session, region, items)
        if cloud.compute is not None and COMPUTE_ZONES not in answers and _row(session, region, COMPUTE_ZONES) is None:
            # a first start without an answer: the default zone (no host, for a region of real hosts)
            record_compute_zones(session, region, [], names_hosts=names_hosts)
    return failed
