"""``/v3/regions``, ``/v3/services`` and ``/v3/endpoints``: the catalog tokens carry, read from
the same records, so a change here shows in the next token or ``/v3/auth/catalog`` at once."""

from __future__ import annotations

from typing import Any

import falcon

from overcast.api.identity.common import Links, enforce, text_filters
from overcast.api.routing import Registry
from overcast.api.validation import read_json
from overcast.core.identity import IdentityCore
from overcast.core.identity import catalog as core_catalog
from overcast.core.identity.catalog import INTERFACES
from overcast.store.models import Endpoint, Region, Service

_HIDDEN = ("overcast_managed",)


def _extra(extra: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in extra.items() if k not in _HIDDEN}


def region_view(links: Links, region: Region) -> dict[str, Any]:
    return {**_extra(region.extra), "id": region.id, "description": region.description,
            "parent_region_id": region.parent_region_id, "links": links.self_link(f"/regions/{region.id}")}


def service_view(links: Links, service: Service) -> dict[str, Any]:
    body = {**_extra(service.extra), "id": service.id, "type": service.type, "enabled": service.enabled,
            "links": links.self_link(f"/services/{service.id}")}
    if service.name:
        body["name"] = service.name
    if service.description:
        body["description"] = service.description
    return body


def endpoint_view(links: Links, endpoint: Endpoint) -> dict[str, Any]:
    return {**_extra(endpoint.extra), "id": endpoint.id, "interface": endpoint.interface,
            "region_id": endpoint.region_id, "region": endpoint.region_id, "service_id": endpoint.service_id,
            "url": endpoint.url, "enabled": endpoint.enabled, "links": links.self_link(f"/endpoints/{endpoint.id}")}


_ID = {"type": "string", "minLength": 1, "maxLength": 255}
_NULLABLE_ID = {"type": ["string", "null"], "maxLength": 255}
_REGION = {"type": "object", "properties": {"id": _ID, "description": {"type": ["string", "null"]},
                                            "parent_region_id": _NULLABLE_ID}}
REGION_CREATE_SCHEMA = {"type": "object", "required": ["region"], "properties": {"region": _REGION}}
REGION_UPDATE_SCHEMA = {"type": "object", "required": ["region"],
                        "properties": {"region": {**_REGION, "minProperties": 1}}}
_SERVICE = {"type": "object", "properties": {
    "type": _ID, "name": _NULLABLE_ID, "description": {"type": ["string", "null"]},
    "enabled": {"type": "boolean"}}}
SERVICE_CREATE_SCHEMA = {"type": "object", "required": ["service"],
                         "properties": {"service": {**_SERVICE, "required": ["type"]}}}
SERVICE_UPDATE_SCHEMA = {"type": "object", "required": ["service"],
                         "properties": {"service": {**_SERVICE, "minProperties": 1}}}
_ENDPOINT = {"type": "object", "properties": {
    "service_id": _ID, "region_id": _NULLABLE_ID, "region": _NULLABLE_ID,
    "interface": {"type": "string", "enum": list(INTERFACES)},
    "url": {"type": "string", "minLength": 1, "maxLength": 225, "pattern": "^[a-zA-Z0-9+.-]+:.+"},
    "enabled": {"type": "boolean"}}}
ENDPOINT_CREATE_SCHEMA = {"type": "object", "required": ["endpoint"], "properties": {
    "endpoint": {**_ENDPOINT, "required": ["service_id", "interface", "url"]}}}
ENDPOINT_UPDATE_SCHEMA = {"type": "object", "required": ["endpoint"],
                          "properties": {"endpoint": {**_ENDPOINT, "minProperties": 1}}}


def _refresh_catalog(req: falcon.Request, resp: falcon.Response, resource: object, *_: object) -> None:
    """After a change to regions, services or endpoints, every node rebuilds its token catalog."""
    if req.method not in ("GET", "HEAD"):
        resource.core.catalog.invalidate()


@falcon.after(_refresh_catalog)
class Regions:
    def __init__(self, core: IdentityCore, links: Links):
        self.core, self.links = core, links

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        enforce(req, "identity:list_regions")
        with self.core.store.session() as session:
            views = [region_view(self.links, r)
                     for r in core_catalog.list_regions(session, req.get_param("parent_region_id"),
                                                        matching=text_filters(req, ("parent_region_id",)))]
        resp.media = {"regions": views, "links": self.links.collection(req)}

    on_head = on_get

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        enforce(req, "identity:create_region")
        body = read_json(req, REGION_CREATE_SCHEMA)["region"]
        with self.core.store.session() as session:
            view = region_view(self.links, core_catalog.create_region(session, body))
        resp.status = falcon.HTTP_201
        resp.media = {"region": view}


@falcon.after(_refresh_catalog)
class RegionItem:
    def __init__(self, core: IdentityCore, links: Links):
        self.core, self.links = core, links

    def on_get(self, req: falcon.Request, resp: falcon.Response, region_id: str) -> None:
        enforce(req, "identity:get_region")
        with self.core.store.session() as session:
            resp.media = {"region": region_view(self.links, core_catalog.get_region(session, region_id))}

    on_head = on_get

    def on_put(self, req: falcon.Request, resp: falcon.Response, region_id: str) -> None:
        """Create a region with the id in the URL (Keystone's PUT does not update)."""
        enforce(req, "identity:create_region")
        body = read_json(req, REGION_CREATE_SCHEMA)["region"]
        with self.core.store.session() as session:
            view = region_view(self.links, core_catalog.create_region(session, body, region_id))
        resp.status = falcon.HTTP_201
        resp.media = {"region": view}

    def on_patch(self, req: falcon.Request, resp: falcon.Response, region_id: str) -> None:
        enforce(req, "identity:update_region")
        body = read_json(req, REGION_UPDATE_SCHEMA)["region"]
        with self.core.store.session() as session:
            resp.media = {"region": region_view(self.links, core_catalog.update_region(session, region_id, body))}

    def on_delete(self, req: falcon.Request, resp: falcon.Response, region_id: str) -> None:
        enforce(req, "identity:delete_region")
        with self.core.store.session() as session:
            core_catalog.delete_region(session, region_id)
        resp.status = falcon.HTTP_204


@falcon.after(_refresh_catalog)
class Services:
    def __init__(self, core: IdentityCore, links: Links):
        self.core, self.links = core, links

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        enforce(req, "identity:list_services")
        with self.core.store.session() as session:
            views = [service_view(self.links, s) for s in core_catalog.list_services(
                session, type_=req.get_param("type"), name=req.get_param("name"),
                matching=text_filters(req, ("type", "name")))]
        resp.media = {"services": views, "links": self.links.collection(req)}

    on_head = on_get

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        enforce(req, "identity:create_service")
        body = read_json(req, SERVICE_CREATE_SCHEMA)["service"]
        with self.core.store.session() as session:
            view = service_view(self.links, core_catalog.create_service(session, body))
        resp.status = falcon.HTTP_201
        resp.media = {"service": view}


@falcon.after(_refresh_catalog)
class ServiceItem:
    def __init__(self, core: IdentityCore, links: Links):
        self.core, self.links = core, links

    def on_get(self, req: falcon.Request, resp: falcon.Response, service_id: str) -> None:
        enforce(req, "identity:get_service")
        with self.core.store.session() as session:
            resp.media = {"service": service_view(self.links, core_catalog.get_service(session, service_id))}

    on_head = on_get

    def on_patch(self, req: falcon.Request, resp: falcon.Response, service_id: str) -> None:
        enforce(req, "identity:update_service")
        body = read_json(req, SERVICE_UPDATE_SCHEMA)["service"]
        with self.core.store.session() as session:
            resp.media = {"service": service_view(self.links,
                                                  core_catalog.update_service(session, service_id, body))}

    def on_delete(self, req: falcon.Request, resp: falcon.Response, service_id: str) -> None:
        enforce(req, "identity:delete_service")
        with self.core.store.session() as session:
            core_catalog.delete_service(session, service_id)
        resp.status = falcon.HTTP_204


@falcon.after(_refresh_catalog)
class Endpoints:
    def __init__(self, core: IdentityCore, links: Links):
        self.core, self.links = core, links

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        enforce(req, "identity:list_endpoints")
        with self.core.store.session() as session:
            views = [endpoint_view(self.links, e) for e in core_catalog.list_endpoints(
                session, interface=req.get_param("interface"), service_id=req.get_param("service_id"),
                region_id=req.get_param("region_id"),
                matching=text_filters(req, ("interface", "service_id", "region_id")))]
        resp.media = {"endpoints": views, "links": self.links.collection(req)}

    on_head = on_get

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        enforce(req, "identity:create_endpoint")
        body = read_json(req, ENDPOINT_CREATE_SCHEMA)["endpoint"]
        with self.core.store.session() as session:
            view = endpoint_view(self.links, core_catalog.create_endpoint(session, body))
        resp.status = falcon.HTTP_201
        resp.media = {"endpoint": view}


@falcon.after(_refresh_catalog)
class EndpointItem:
    def __init__(self, core: IdentityCore, links: Links):
        self.core, self.links = core, links

    def on_get(self, req: falcon.Request, resp: falcon.Response, endpoint_id: str) -> None:
        enforce(req, "identity:get_endpoint")
        with self.core.store.session() as session:
            resp.media = {"endpoint": endpoint_view(self.links, core_catalog.get_endpoint(session, endpoint_id))}

    on_head = on_get

    def on_patch(self, req: falcon.Request, resp: falcon.Response, endpoint_id: str) -> None:
        enforce(req, "identity:update_endpoint")
        body = read_json(req, ENDPOINT_UPDATE_SCHEMA)["endpoint"]
        with self.core.store.session() as session:
            resp.media = {"endpoint": endpoint_view(self.links,
                                                    core_catalog.update_endpoint(session, endpoint_id, body))}

    def on_delete(self, req: falcon.Request, resp: falcon.Response, endpoint_id: str) -> None:
        enforce(req, "identity:delete_endpoint")
        with self.core.store.session() as session:
            session.delete(core_catalog.get_endpoint(session, endpoint_id))
        resp.status = falcon.HTTP_204


def bind(registry: Registry, core: IdentityCore, links: Links) -> None:
    registry.bind("identity", "v3_regions", Regions(core, links))
    registry.bind("identity", "v3_region", RegionItem(core, links))
    registry.bind("identity", "v3_services", Services(core, links))
    registry.bind("identity", "v3_services_with_id", ServiceItem(core, links))
    registry.bind("identity", "v3_endpoints", Endpoints(core, links))
    registry.bind("identity", "v3_endpoints_with_id", EndpointItem(core, links))
