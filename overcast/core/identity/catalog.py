"""The service catalog: regions, services and endpoints, derived from configuration at bootstrap
(every configured cloud is a region) and editable through the API like Keystone's."""

from __future__ import annotations

from typing import Any, Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from overcast.core.identity import fetch
from overcast.core.identity.filters import TextFilter, select_matching
from overcast.config import Settings
from overcast.core.errors import Conflict, Forbidden, Invalid
from overcast.store.models import Endpoint, Region, Service, new_id

#: (type, name, path under the public URL) of each service Overcast serves, per region.
SERVED = (
    ("identity", "keystone", "/identity"),
    ("compute", "nova", "/compute/v2.1"),
    ("image", "glance", "/image"),
    ("volumev3", "cinderv3", "/volume/v3/$(project_id)s"),
    ("block-storage", "cinder", "/volume/v3/$(project_id)s"),
    ("network", "neutron", "/network"),
    ("cdn", "poppy", "/cdn/v1.0"),
    ("placement", "placement", "/placement"),
)
#: Services served once for every region: one Keystone, and one CDN (its flavors choose providers,
#: not regions; 0031). Every other service is per region (0008).
GLOBAL = {"identity", "cdn"}


def service_url(settings: Settings, service_type: str, path: str, region: str) -> str:
    """Where a region's service is: the first region at the root, the others under /regions/<name>."""
    if service_type in GLOBAL or region == settings.regions[0]:
        return settings.public_url + path
    return f"{settings.public_url}/regions/{region}{path}"
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
        existing = {(e.region_id, e.interface): e for e in session.scalars(
            select(Endpoint).where(Endpoint.service_id == service.id))}
        for region in settings.regions:
            url = service_url(settings, service_type, path, region)
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


def for_project(catalog: list[dict[str, Any]] | None, project_id: str | None) -> list[dict[str, Any]] | None:
    """The catalog with ``$(project_id)s``/``$(tenant_id)s`` in URLs filled in, as Keystone renders a
    token's catalog; without a project, endpoints that need one are left out (Keystone does the same)."""
    if catalog is None:
        return None
    out = []
    for service in catalog:
        endpoints = []
        for e in service["endpoints"]:
            url = e["url"]
            if "$(project_id)s" in url or "$(tenant_id)s" in url:
                if not project_id:
                    continue
                url = url.replace("$(project_id)s", project_id).replace("$(tenant_id)s", project_id)
            endpoints.append({**e, "url": url})
        out.append({**service, "endpoints": endpoints})
    return out


def _invalid_reference(attribute: str, target: str) -> Invalid:
    return Invalid(f"Expecting to find {attribute} in {target}. The server could not comply with the request "
                   "since it is either malformed or otherwise incorrect. The client is assumed to be in error.")


def _split(body: dict[str, Any], columns: tuple[str, ...]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(column values, extra attributes) of a request body; ``id`` and ``links`` are dropped."""
    fields = {k: v for k, v in body.items() if k not in ("id", "links")}
    return {k: fields.pop(k) for k in columns if k in fields}, fields


# -- regions ------------------------------------------------------------------------------
def get_region(session: Session, region_id: str) -> Region:
    """:raises NotFound:"""
    return fetch(session, Region, region_id, "region")


def list_regions(session: Session, parent_region_id: str | None = None,
                 matching: Sequence[TextFilter] = ()) -> list[Region]:
    query = select(Region)
    if parent_region_id is not None:
        query = query.where(Region.parent_region_id == parent_region_id)
    return select_matching(session, query.order_by(Region.id), Region, matching)


def _check_parent(session: Session, region_id: str, parent_id: str | None) -> None:
    if parent_id is None:
        return
    get_region(session, parent_id)
    seen, current = {region_id}, parent_id
    while current is not None:
        if current in seen:
            raise Invalid(f"The specified parent region {parent_id} would create a circular region hierarchy.")
        seen.add(current)
        current = session.scalar(select(Region.parent_region_id).where(Region.id == current))


def create_region(session: Session, body: dict[str, Any], region_id: str | None = None) -> Region:
    """:raises Invalid: ids that disagree, a cycle. :raises NotFound: unknown parent. :raises Conflict:"""
    if region_id is not None and body.get("id") not in (None, region_id):
        raise Invalid(f'Conflicting region IDs specified: "{region_id}" != "{body["id"]}"')
    region_id = region_id or body.get("id") or new_id()
    if session.get(Region, region_id) is not None:
        raise Conflict(f"Conflict occurred attempting to store region - Duplicate ID, {region_id}.")
    columns, extra = _split(body, ("description", "parent_region_id"))
    _check_parent(session, region_id, columns.get("parent_region_id"))
    region = Region(id=region_id, description=columns.get("description") or "",
                    parent_region_id=columns.get("parent_region_id"), extra=extra)
    session.add(region)
    session.flush()
    return region


def update_region(session: Session, region_id: str, body: dict[str, Any]) -> Region:
    """:raises NotFound: :raises Invalid: a cycle or an id change."""
    region = get_region(session, region_id)
    if body.get("id") not in (None, region_id):
        raise Invalid("Update of `id` is not allowed.")
    columns, extra = _split(body, ("description", "parent_region_id"))
    if "parent_region_id" in columns:
        _check_parent(session, region_id, columns["parent_region_id"])
        region.parent_region_id = columns["parent_region_id"]
    if "description" in columns:
        region.description = columns["description"] or ""
    if extra:
        region.extra = {**region.extra, **extra}
    session.flush()
    return region


def delete_region(session: Session, region_id: str) -> None:
    """Delete a region and its child regions, as Keystone does.

    :raises NotFound: :raises Forbidden: it or a child region has endpoints.
    """
    get_region(session, region_id)
    tree, frontier = [region_id], [region_id]
    while frontier:
        children = list(session.scalars(select(Region.id).where(Region.parent_region_id.in_(frontier))))
        frontier = [c for c in children if c not in tree]
        tree += frontier
    if session.scalar(select(Endpoint.id).where(Endpoint.region_id.in_(tree)).limit(1)) is not None:
        raise Forbidden(f"Unable to delete region {region_id} because it or its child regions have associated "
                        "endpoints.")
    session.execute(delete(Region).where(Region.id.in_(tree)))


# -- services -----------------------------------------------------------------------------
def get_service(session: Session, service_id: str) -> Service:
    """:raises NotFound:"""
    return fetch(session, Service, service_id, "service")


def list_services(session: Session, *, type_: str | None = None, name: str | None = None,
                  matching: Sequence[TextFilter] = ()) -> list[Service]:
    query = select(Service)
    if type_ is not None:
        query = query.where(Service.type == type_)
    if name is not None:
        query = query.where(Service.name == name)
    return select_matching(session, query.order_by(Service.type, Service.name), Service, matching)


def create_service(session: Session, body: dict[str, Any]) -> Service:
    columns, extra = _split(body, ("type", "name", "description", "enabled"))
    service = Service(type=columns["type"], name=columns.get("name") or "",
                      description=columns.get("description") or "",
                      enabled=columns.get("enabled", True) is not False, extra=extra)
    session.add(service)
    session.flush()
    return service


def update_service(session: Session, service_id: str, body: dict[str, Any]) -> Service:
    """:raises NotFound: :raises Invalid: an id change."""
    service = get_service(session, service_id)
    if body.get("id") not in (None, service_id):
        raise Invalid("Update of `id` is not allowed.")
    columns, extra = _split(body, ("type", "name", "description", "enabled"))
    for column, value in columns.items():
        setattr(service, column, "" if value is None and column in ("name", "description") else value)
    if extra:
        service.extra = {**service.extra, **extra}
    session.flush()
    return service


def delete_service(session: Session, service_id: str) -> None:
    """Delete a service and its endpoints. :raises NotFound:"""
    service = get_service(session, service_id)
    session.execute(delete(Endpoint).where(Endpoint.service_id == service_id))
    session.delete(service)


# -- endpoints ----------------------------------------------------------------------------
def get_endpoint(session: Session, endpoint_id: str) -> Endpoint:
    """:raises NotFound:"""
    return fetch(session, Endpoint, endpoint_id, "endpoint")


def list_endpoints(session: Session, *, interface: str | None = None, service_id: str | None = None,
                   region_id: str | None = None, matching: Sequence[TextFilter] = ()) -> list[Endpoint]:
    query = select(Endpoint)
    if interface is not None:
        query = query.where(Endpoint.interface == interface)
    if service_id is not None:
        query = query.where(Endpoint.service_id == service_id)
    if region_id is not None:
        query = query.where(Endpoint.region_id == region_id)
    return select_matching(session, query.order_by(Endpoint.service_id, Endpoint.region_id, Endpoint.interface),
                           Endpoint, matching)


def _endpoint_region(session: Session, columns: dict[str, Any], extra: dict[str, Any]) -> None:
    """``region_id`` must exist; the legacy ``region`` attribute creates its region if missing."""
    legacy = extra.pop("region", None)
    if columns.get("region_id") is None and legacy is not None:
        columns["region_id"] = legacy
        if session.get(Region, legacy) is None:
            session.add(Region(id=legacy, description=""))
            session.flush()
    elif columns.get("region_id") is not None and session.get(Region, columns["region_id"]) is None:
        raise _invalid_reference("endpoint region_id", "region table")


def create_endpoint(session: Session, body: dict[str, Any]) -> Endpoint:
    """:raises Invalid: an unknown service or region."""
    columns, extra = _split(body, ("service_id", "region_id", "interface", "url", "enabled"))
    if session.get(Service, columns["service_id"]) is None:
        raise _invalid_reference("endpoint service_id", "service table")
    _endpoint_region(session, columns, extra)
    endpoint = Endpoint(service_id=columns["service_id"], region_id=columns.get("region_id"),
                        interface=columns["interface"], url=columns["url"],
                        enabled=columns.get("enabled", True) is not False, extra=extra)
    session.add(endpoint)
    session.flush()
    return endpoint


def update_endpoint(session: Session, endpoint_id: str, body: dict[str, Any]) -> Endpoint:
    """:raises NotFound: :raises Invalid: an unknown service or region, an id change."""
    endpoint = get_endpoint(session, endpoint_id)
    if body.get("id") not in (None, endpoint_id):
        raise Invalid("Update of `id` is not allowed.")
    columns, extra = _split(body, ("service_id", "region_id", "interface", "url", "enabled"))
    if "service_id" in columns and session.get(Service, columns["service_id"]) is None:
        raise _invalid_reference("endpoint service_id", "service table")
    _endpoint_region(session, columns, extra)
    for column, value in columns.items():
        setattr(endpoint, column, value)
    if extra:
        endpoint.extra = {k: v for k, v in {**endpoint.extra, **extra}.items()}
    session.flush()
    return endpoint
