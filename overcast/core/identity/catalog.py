"""The service catalog: regions, services and endpoints, derived from configuration at bootstrap
(every configured cloud is a region) and editable through the API like Keystone's."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.config import Settings
from overcast.store.models import Endpoint, Region, Service

#: (type, name, path under the public URL) of each service Overcast serves, per region.
SERVED = (
    ("identity", "keystone", "/identity"),
)
INTERFACES = ("public", "internal", "admin")
_MANAGED = "overcast_managed"


def sync_from_settings(session: Session, settings: Settings) -> None:
    """Make the catalog hold a region per configured cloud and our endpoints in each.

    Endpoints Overcast made are marked and their URLs refreshed (the public URL may change
    between runs); endpoints an administrator made are left alone.
    """
    for region in settings.regions:
        if session.get(Region, region) is None:
            session.add(Region(id=region, description=f"Overcast cloud {region}"))
    for service_type, name, path in SERVED:
        service = session.scalar(select(Service).where(Service.type == service_type, Service.name == name))
        if service is None:
            service = Service(type=service_type, name=name, description=f"Overcast {service_type} service",
                              extra={_MANAGED: True})
            session.add(service)
            session.flush()
        url = settings.public_url + path
        existing = {(e.region_id, e.interface): e for e in session.scalars(
            select(Endpoint).where(Endpoint.service_id == service.id))}
        for region in settings.regions:
            for interface in INTERFACES:
                endpoint = existing.get((region, interface))
                if endpoint is None:
                    session.add(Endpoint(service_id=service.id, region_id=region, interface=interface, url=url,
                                         extra={_MANAGED: True}))
                elif endpoint.extra.get(_MANAGED) and endpoint.url != url:
                    endpoint.url = url


def build_catalog(session: Session) -> list[dict[str, Any]]:
    """The catalog as Keystone v3 renders it in a token: enabled services with enabled endpoints."""
    services = session.scalars(select(Service).where(Service.enabled.is_(True)).order_by(Service.type)).all()
    endpoints = session.scalars(select(Endpoint).where(Endpoint.enabled.is_(True))).all()
    by_service: dict[str, list[dict[str, Any]]] = {}
    for e in endpoints:
        by_service.setdefault(e.service_id, []).append(
            {"id": e.id, "interface": e.interface, "region": e.region_id, "region_id": e.region_id, "url": e.url})
    return [{"id": s.id, "type": s.type, "name": s.name, "endpoints": by_service.get(s.id, [])}
            for s in services]
