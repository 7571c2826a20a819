"""Availability zones, as Nova derives them: from the compute services and host aggregates."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.core.compute.admin import down_hosts, service_is_up
from overcast.core.inventory import INTERNAL_ZONE
from overcast.store.compute import Aggregate, ComputeService


@dataclass
class ZoneInfo:
    name: str
    available: bool
    #: host -> binary -> (available: up, active: enabled, updated_at)
    hosts: dict[str, dict[str, tuple[bool, bool, dt.datetime]]] = field(default_factory=dict)


def host_zones(session: Session) -> dict[str, str]:
    """Host -> zone named by an aggregate's availability_zone (Nova's override)."""
    found: dict[str, str] = {}
    for aggregate in session.scalars(select(Aggregate).where(Aggregate.availability_zone.is_not(None))):
        for host in aggregate.hosts or []:
            found.setdefault(host, aggregate.availability_zone)
    return found


def zone_of(service: ComputeService, overrides: dict[str, str]) -> str:
    if service.binary != "nova-compute":
        return INTERNAL_ZONE
    return overrides.get(service.host, service.zone)


def list_zones(session: Session, *, region: str, internal: bool = False) -> list[ZoneInfo]:
    """``region``'s zones with a compute service; a zone whose services are all disabled is
    unavailable. The services follow the zones the region's driver last listed (the inventory
    refresh keeps them, with the hosts that missed their heartbeats), so this never asks the
    backend. Per host and service, as Nova's: ``available`` the service is up, ``active`` it is
    enabled."""
    overrides = host_zones(session)
    down = down_hosts(session, region=region)
    zones: dict[str, ZoneInfo] = {}
    for service in session.scalars(select(ComputeService).where(ComputeService.cloud == region)
                                   .order_by(ComputeService.id)):
        name = zone_of(service, overrides)
        if name == INTERNAL_ZONE and not internal:
            continue
        zone = zones.setdefault(name, ZoneInfo(name, False))
        zone.available = zone.available or not service.disabled or name == INTERNAL_ZONE
        zone.hosts.setdefault(service.host, {})[service.binary] = (service_is_up(service, down),
                                                                   not service.disabled, service.updated_at)
    return sorted(zones.values(), key=lambda z: (z.name == INTERNAL_ZONE, z.name))
