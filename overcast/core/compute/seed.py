"""First start: Nova's default flavors, and a compute service (= hypervisor) per backend host."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.core.compute import ComputeCore
from overcast.core.compute import flavors as flavor_rules
from overcast.drivers.compute import Zone
from overcast.store.compute import ComputeService

LOG = logging.getLogger(__name__)

#: The control-plane services Nova lists beside the computes, in the "internal" zone.
CONTROL_BINARIES = ("nova-scheduler", "nova-conductor")
INTERNAL_ZONE = "internal"


def controller_host(region: str) -> str:
    return f"{region.lower()}-controller"


def _zones(core: ComputeCore, region: str) -> list[Zone]:
    try:
        zones = core.compute_driver(region).zones()
    except Exception:  # noqa: BLE001 - a driver that cannot answer at start still gets a row
        LOG.warning("cloud %s did not list its zones; assuming one zone 'nova'", region, exc_info=True)
        zones = []
    return zones or [Zone("nova")]


def _ensure_service(session: Session, cloud: str, host: str, binary: str, zone: str) -> None:
    row = session.scalar(select(ComputeService).where(ComputeService.cloud == cloud, ComputeService.host == host,
                                                      ComputeService.binary == binary))
    if row is None:
        session.add(ComputeService(cloud=cloud, host=host, binary=binary, zone=zone))
    elif row.zone != zone:
        row.zone = zone


def seed_services(core: ComputeCore, session: Session) -> None:
    for region in core.settings.regions:
        if region not in core.clouds:
            continue
        for zone in _zones(core, region):
            for host in zone.hosts or (region.lower(),):
                _ensure_service(session, region, host, "nova-compute", zone.name)
        for binary in CONTROL_BINARIES:
            _ensure_service(session, region, controller_host(region), binary, INTERNAL_ZONE)
    session.flush()


def seed(core: ComputeCore) -> None:
    """Idempotent: safe at every start."""
    with core.store.session() as session:
        flavor_rules.ensure_defaults(session)
        seed_services(core, session)
