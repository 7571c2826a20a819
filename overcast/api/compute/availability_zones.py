"""``/os-availability-zone`` and ``/detail`` (admin: hosts and their services)."""

from __future__ import annotations

from typing import Any

import falcon

from overcast.api.compute.common import Links, enforce
from overcast.api.routing import Registry
from overcast.core.compute import ComputeCore
from overcast.core.compute import zones as rules


class Zones:
    detailed = False

    def __init__(self, core: ComputeCore, links: Links):
        self.core, self.links = core, links

    def on_get(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        enforce(req, "compute:availability_zone:detail" if self.detailed else "compute:availability_zone:list")
        with self.core.store.session() as session:
            found = rules.list_zones(session, region=req.context.region, internal=self.detailed)
        info: list[dict[str, Any]] = []
        for zone in found:
            hosts: Any = None
            if self.detailed:
                hosts = {host: {binary: {"available": available, "active": active,
                                         "updated_at": updated.isoformat(timespec="microseconds")}
                                for binary, (available, active, updated) in services.items()}
                         for host, services in zone.hosts.items()}
            info.append({"zoneName": zone.name, "zoneState": {"available": zone.available}, "hosts": hosts})
        resp.media = {"availabilityZoneInfo": info}

    on_head = on_get


class ZonesDetail(Zones):
    detailed = True


def bind(registry: Registry, core: ComputeCore, links: Links) -> None:
    registry.bind("compute", "v2_availability_zone", Zones(core, links))
    registry.bind("compute", "v2_availability_zone_detail", ZonesDetail(core, links))
