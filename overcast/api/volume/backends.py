"""The region's storage as admins see it: os-services (list, enable/disable, freeze/thaw),
os-hosts, scheduler-stats/get_pools, capabilities/{host}, and os-availability-zone for everyone.
Wire format only."""

from __future__ import annotations

from typing import Any

import falcon

from overcast.api import faults
from overcast.api.routing import Registry
from overcast.api.validation import read_json
from overcast.api.volume import schemas
from overcast.api.volume.common import at_least, enforce, one, parse_bool
from overcast.api.volume.views import timestamp
from overcast.core import inventory
from overcast.core.volume import VolumeCore
from overcast.core.volume import services as core
from overcast.store.models import utcnow

#: microversions that add a field to each service: its cluster (3.7), its backend's state (3.49)
CLUSTERS, BACKEND_STATE = "3.7", "3.49"


def _service(req: falcon.Request, service: core.Service, now: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"binary": service.binary, "host": service.host, "zone": service.zone,
                            "status": "disabled" if service.disabled else "enabled", "state": "up",
                            "updated_at": now, "disabled_reason": service.disabled_reason}
    if service.binary == core.VOLUME:
        body.update(replication_status="disabled", active_backend_id=None, frozen=service.frozen)
        if at_least(req, BACKEND_STATE):
            body["backend_state"] = "up"
    if at_least(req, CLUSTERS):
        body["cluster"] = None
    return body


class Services:
    def __init__(self, core_: VolumeCore):
        self.core = core_

    def on_get(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        enforce(req, "volume_extension:services:index")
        now = timestamp(utcnow())
        with self.core.store.session() as session:
            found = core.list_services(session, self.core, region=req.context.region, host=one(req, "host"),
                                       binary=one(req, "binary"))
        resp.media = {"services": [_service(req, s, now) for s in found]}

    on_head = on_get


class ServiceAction:
    """PUT /os-services/{enable,disable,disable-log-reason,freeze,thaw}."""

    def __init__(self, core_: VolumeCore):
        self.core = core_

    def on_put(self, req: falcon.Request, resp: falcon.Response, action: str, **_: str) -> None:
        enforce(req, "volume_extension:services:update")
        if action not in ("enable", "disable", "disable-log-reason", "freeze", "thaw"):
            raise faults.BadRequest("Invalid input received: Unknown action")
        body = read_json(req, schemas.SERVICE_DISABLE_REASON if action == "disable-log-reason"
                         else schemas.SERVICE_HOST)
        host = body["host"]
        with self.core.store.session() as session:
            if action in ("freeze", "thaw"):
                (core.freeze if action == "freeze" else core.thaw)(session, self.core, host,
                                                                   region=req.context.region)
                return
            binary = body.get("binary") or body.get("service") or ""
            reason = body.get("disabled_reason")
            core.set_disabled(session, self.core, host, binary, action != "enable", reason,
                              region=req.context.region)
        result: dict[str, Any] = {"disabled": action != "enable", "status": "enabled" if action == "enable"
                                  else "disabled", "host": host, "service": body.get("service", ""),
                                  "binary": body.get("binary", "")}
        if action != "disable":
            result["disabled_reason"] = reason
        resp.media = result


class Hosts:
    def __init__(self, core_: VolumeCore):
        self.core = core_

    def on_get(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        enforce(req, "volume_extension:hosts")
        zone, now = one(req, "zone"), timestamp(utcnow())
        with self.core.store.session() as session:
            found = core.list_services(session, self.core, region=req.context.region)
        resp.media = {"hosts": [{"host_name": s.host, "service": s.binary, "zone": s.zone,
                                 "service-status": "available",
                                 "service-state": "disabled" if s.disabled else "enabled", "last-update": now}
                                for s in found if zone is None or s.zone == zone]}

    on_head = on_get


class Host:
    def __init__(self, core_: VolumeCore):
        self.core = core_

    def on_get(self, req: falcon.Request, resp: falcon.Response, host_name: str, **_: str) -> None:
        enforce(req, "volume_extension:hosts")
        with self.core.store.session() as session:
            usage = core.host_usage(session, self.core, host_name, region=req.context.region)
        resp.media = {"host": [{"resource": {
            "host": host_name, "project": u.project, "volume_count": str(u.volume_count),
            "total_volume_gb": str(u.total_volume_gb), "snapshot_count": str(u.snapshot_count),
            "total_snapshot_gb": str(u.total_snapshot_gb)}} for u in usage]}

    on_head = on_get


class Pools:
    def __init__(self, core_: VolumeCore):
        self.core = core_

    def on_get(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        enforce(req, "scheduler_extension:scheduler_stats:get_pools")
        detail = parse_bool("detail", one(req, "detail") or "false")
        now = timestamp(utcnow())
        with self.core.store.session() as session:
            found = core.pools(session, self.core, req.context.region)
        resp.media = {"pools": [{"name": name, "capabilities": {**pool.capabilities(), "timestamp": now}}
                                if detail else {"name": name} for name, pool in found]}

    on_head = on_get


#: the well-known properties Cinder describes: name -> (title, description, the capability that shows it)
PROPERTIES = {"thin_provisioning": ("Thin Provisioning", "Sets thin provisioning.",
                                    "thin_provisioning_support"),
              "qos": ("QoS", "Enables QoS.", "QoS_support"),
              "multiattach": ("Multi-attach", "Allows a volume to be attached to several servers.", "multiattach")}


class Capabilities:
    def __init__(self, core_: VolumeCore):
        self.core = core_

    def on_get(self, req: falcon.Request, resp: falcon.Response, host_name: str, **_: str) -> None:
        enforce(req, "volume_extension:capabilities")
        with self.core.store.session() as session:
            name, pool = core.backend_pools(session, self.core, req.context.region, host_name)[0]
        capabilities = pool.capabilities()
        resp.media = {
            "namespace": f"OS::Storage::Capabilities::{name.partition('#')[0]}",
            "vendor_name": pool.vendor_name, "volume_backend_name": pool.volume_backend_name,
            "pool_name": pool.name, "driver_version": pool.driver_version, "storage_protocol": pool.storage_protocol,
            "display_name": None, "description": None, "visibility": None, "replication_targets": [],
            "properties": {key: {"title": title, "description": text, "type": "boolean"}
                           for key, (title, text, capability) in PROPERTIES.items() if capability in capabilities}}

    on_head = on_get


class AvailabilityZones:
    def __init__(self, core_: VolumeCore):
        self.core = core_

    def on_get(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        enforce(req, "volume_extension:availability_zone_list")
        self.core.volume_driver(req.context.region)  # 501 for a region without block storage
        with self.core.store.session() as session:
            zones = inventory.volume_zones(session, req.context.region)
        resp.media = {"availabilityZoneInfo": [{"zoneName": z.name, "zoneState": {"available": z.available}}
                                               for z in zones]}

    on_head = on_get


def bind(registry: Registry, core_: VolumeCore) -> None:
    registry.bind("volume", "services", Services(core_))
    registry.bind("volume", "service_action", ServiceAction(core_))
    registry.bind("volume", "hosts", Hosts(core_))
    registry.bind("volume", "host", Host(core_))
    registry.bind("volume", "pools", Pools(core_))
    registry.bind("volume", "capabilities", Capabilities(core_))
    registry.bind("volume", "availability_zones", AvailabilityZones(core_))
