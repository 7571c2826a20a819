"""``GET /v2.0/network-ip-availabilities`` and ``/{network_id}`` (the ``network-ip-availability``
extension): the wire form of :mod:`overcast.core.network.ip_availability`, with ``fields=``."""

from __future__ import annotations

from typing import Any

import falcon

from overcast.api.routing import Registry
from overcast.api.network.common import attribute_filters, caller, regional, select_fields
from overcast.core.network import NetworkCore, ip_availability
from overcast.core.network.ip_availability import NetworkAvailability


def view(found: NetworkAvailability) -> dict[str, Any]:
    return {"network_id": found.network_id, "network_name": found.network_name, "tenant_id": found.project_id,
            "project_id": found.project_id, "total_ips": found.total_ips, "used_ips": found.used_ips,
            "subnet_ip_availability": [
                {"subnet_id": s.subnet_id, "subnet_name": s.subnet_name, "cidr": s.cidr, "ip_version": s.ip_version,
                 "total_ips": s.total_ips, "used_ips": s.used_ips} for s in found.subnets]}


class Availabilities:
    def __init__(self, core: NetworkCore):
        self.core = core

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        core = regional(self.core, req)
        with core.session() as session:
            found = ip_availability.availabilities(core, session, caller(req), attribute_filters(req))
        resp.media = {"network_ip_availabilities": [select_fields(req, view(f)) for f in found]}


class Availability:
    def __init__(self, core: NetworkCore):
        self.core = core

    def on_get(self, req: falcon.Request, resp: falcon.Response, network_id: str) -> None:
        core = regional(self.core, req)
        with core.session() as session:
            found = ip_availability.availability(core, session, caller(req), network_id)
        resp.media = {"network_ip_availability": select_fields(req, view(found))}


def bind(registry: Registry, core: NetworkCore) -> None:
    registry.bind("network", "network_ip_availabilities", Availabilities(core))
    registry.bind("network", "network_ip_availability", Availability(core))
