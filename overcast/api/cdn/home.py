"""The home document (JSON Home, as Poppy's), /ping and /health: wire format only."""

from __future__ import annotations

import falcon

from overcast.api import faults, media
from overcast.api.cdn.common import Links
from overcast.api.routing import Registry
from overcast.core import policy
from overcast.core.cdn import CdnCore
from overcast.core.cdn import health as core
from overcast.core.errors import NotFound


def _resource(template: str, allow: list[str], variables: dict[str, str] | None = None) -> dict:
    entry: dict = {"hints": {"allow": allow, "formats": {"application/json": {}}}}
    if variables:
        entry["href-template"] = template
        entry["href-vars"] = variables
    else:
        entry["href"] = template
    return entry


def home_document(links: Links) -> dict:
    base = links.base
    return {"resources": {
        "rel/cdn#services": _resource(f"{base}/services{{?marker,limit}}", ["GET", "POST"],
                                      {"marker": "param/marker", "limit": "param/limit"}),
        "rel/cdn#service": _resource(f"{base}/services/{{service_id}}", ["GET", "PATCH", "DELETE"],
                                     {"service_id": "param/service_id"}),
        "rel/cdn#assets": _resource(f"{base}/services/{{service_id}}/assets{{?url,all,hard}}", ["DELETE"],
                                    {"service_id": "param/service_id", "url": "param/url", "all": "param/all",
                                     "hard": "param/hard"}),
        "rel/cdn#analytics": _resource(f"{base}/services/{{service_id}}/analytics", ["GET"],
                                       {"service_id": "param/service_id"}),
        "rel/cdn#flavors": _resource(f"{base}/flavors", ["GET", "POST"]),
        "rel/cdn#flavor": _resource(f"{base}/flavors/{{flavor_id}}", ["GET", "DELETE"],
                                    {"flavor_id": "param/flavor_id"}),
        "rel/cdn#ssl_certificate": _resource(f"{base}/ssl_certificate", ["POST"]),
        "rel/cdn#ping": _resource(f"{base}/ping", ["GET", "HEAD"]),
        "rel/cdn#health": _resource(f"{base}/health", ["GET"]),
    }}


class Home:
    public_methods = ("GET", "HEAD")

    def __init__(self, links: Links):
        self.document = media.dumps(home_document(links))

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.data = self.document
        resp.content_type = "application/json-home"

    on_head = on_get


class Ping:
    """204 when the store answers, 503 when it does not (for load balancers: no token needed)."""

    public_methods = ("GET", "HEAD")

    def __init__(self, cdn: CdnCore):
        self.core = cdn

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.status = falcon.HTTP_204 if core.storage_alive(self.core) else falcon.HTTP_503

    on_head = on_get


class Health:
    def __init__(self, cdn: CdnCore, links: Links):
        self.core, self.links = cdn, links

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        policy.enforce("cdn:health", req.context.auth, {})
        alive, report = core.health(self.core)
        resp.media = {
            "storage": {name: {"online": ok, "links": {"href": f"{self.links.base}/health/storage/{name}",
                                                         "rel": "self"}}
                        for name, ok in report["storage"].items()},
            "providers": {name: {"online": ok, "links": {"href": f"{self.links.base}/health/provider/{name}",
                                                           "rel": "self"}}
                          for name, ok in report["providers"].items()},
        }
        if not alive:
            resp.status = falcon.HTTP_503

    on_head = on_get


class StorageHealth:
    def __init__(self, cdn: CdnCore):
        self.core = cdn

    def on_get(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        policy.enforce("cdn:health", req.context.auth, {})
        if name != core.STORAGE:
            raise faults.NotFound(f"storage {name} could not be found")
        alive = core.storage_alive(self.core)
        resp.media = {"online": alive}
        if not alive:
            resp.status = falcon.HTTP_503

    on_head = on_get


class ProviderHealth:
    def __init__(self, cdn: CdnCore):
        self.core = cdn

    def on_get(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        policy.enforce("cdn:health", req.context.auth, {})
        if name not in self.core.providers:
            raise NotFound(f"provider {name} could not be found")
        alive = core.provider_alive(self.core, name)
        resp.media = {"online": alive}
        if not alive:
            resp.status = falcon.HTTP_503

    on_head = on_get


def bind(registry: Registry, cdn: CdnCore, links: Links) -> None:
    registry.bind("cdn", "home", Home(links))
    registry.bind("cdn", "ping", Ping(cdn))
    registry.bind("cdn", "health", Health(cdn, links))
    registry.bind("cdn", "health_storage", StorageHealth(cdn))
    registry.bind("cdn", "health_provider", ProviderHealth(cdn))
