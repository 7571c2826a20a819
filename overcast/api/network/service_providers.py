"""``GET /v2.0/service-providers`` (the ``service-type`` extension): the wire form of
:mod:`overcast.core.network.service_providers`, with attribute filters and ``fields=``."""

from __future__ import annotations

import falcon

from overcast.api.network.common import caller, matching, regional, select_fields
from overcast.api.routing import Registry
from overcast.core.network import NetworkCore, service_providers


class ServiceProviders:
    def __init__(self, core: NetworkCore):
        self.core = core

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        core = regional(self.core, req)
        views = [{"service_type": p.service_type, "name": p.name, "default": p.default}
                 for p in service_providers.providers(core, caller(req))]
        resp.media = {"service_providers": [select_fields(req, v) for v in matching(req, views)]}


def declare(registry: Registry) -> None:
    registry.declare("network", "service_providers", "/v2.0/service-providers", ("GET",))


def bind(registry: Registry, core: NetworkCore) -> None:
    registry.bind("network", "service_providers", ServiceProviders(core))
