"""Quota sets, absolute limits, availability zones, services and extensions: wire format only."""

from __future__ import annotations

from typing import Any

import falcon

from overcast.api import faults
from overcast.api.routing import Registry
from overcast.api.validation import read_json
from overcast.api.volume import schemas
from overcast.api.volume.common import caller, enforce, one, parse_bool
from overcast.api.volume.views import timestamp
from overcast.core.volume import VolumeCore
from overcast.core.volume import quotas as core
from overcast.store.models import utcnow

#: quota_set key -> the absolute limits' (max, used) names
LIMIT_NAMES = {"volumes": ("maxTotalVolumes", "totalVolumesUsed"),
               "snapshots": ("maxTotalSnapshots", "totalSnapshotsUsed"),
               "gigabytes": ("maxTotalVolumeGigabytes", "totalGigabytesUsed"),
               "backups": ("maxTotalBackups", "totalBackupsUsed"),
               "backup_gigabytes": ("maxTotalBackupGigabytes", "totalBackupGigabytesUsed")}


class QuotaSet:
    def __init__(self, core_: VolumeCore):
        self.core = core_

    def on_get(self, req: falcon.Request, resp: falcon.Response, target_id: str, **_: str) -> None:
        enforce(req, "volume_extension:quotas:show", {"project_id": target_id})
        usage = parse_bool("usage", one(req, "usage") or "false")
        with self.core.store.session() as session:
            values: dict[str, Any] = (core.detail(session, target_id) if usage
                                      else core.limits(session, target_id))
        if usage:
            values = {k: {n: v[n] for n in ("limit", "in_use", "reserved")} for k, v in values.items()}
        resp.media = {"quota_set": {"id": target_id, **values}}

    on_head = on_get

    def on_put(self, req: falcon.Request, resp: falcon.Response, target_id: str, **_: str) -> None:
        enforce(req, "volume_extension:quotas:update", {"project_id": target_id})
        body = read_json(req, schemas.QUOTA_SET)["quota_set"]
        values: dict[str, int] = {}
        for key, value in body.items():
            if key in ("tenant_id", "id"):
                continue
            try:
                values[key] = int(value)
            except (TypeError, ValueError):
                raise faults.BadRequest(f"Invalid input received: Quota '{key}' must be an integer, "
                                        f"not '{value}'.") from None
        with self.core.store.session() as session:
            resp.media = {"quota_set": core.update(session, target_id, values)}

    def on_delete(self, req: falcon.Request, resp: falcon.Response, target_id: str, **_: str) -> None:
        enforce(req, "volume_extension:quotas:delete", {"project_id": target_id})
        with self.core.store.session() as session:
            core.reset(session, target_id)


class QuotaDefaults:
    def __init__(self, core_: VolumeCore):
        self.core = core_

    def on_get(self, req: falcon.Request, resp: falcon.Response, target_id: str, **_: str) -> None:
        enforce(req, "volume_extension:quotas:show", {"project_id": target_id})
        resp.media = {"quota_set": {"id": target_id, **core.DEFAULTS}}

    on_head = on_get


class Limits:
    def __init__(self, core_: VolumeCore):
        self.core = core_

    def on_get(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        ctx = enforce(req, "limits_extension:used_limits")
        with self.core.store.session() as session:
            detail = core.detail(session, ctx.project_id or "")
        absolute: dict[str, int] = {}
        for key, (max_name, used_name) in LIMIT_NAMES.items():
            absolute[max_name] = detail[key]["limit"]
            absolute[used_name] = detail[key]["in_use"]
        resp.media = {"limits": {"rate": [], "absolute": absolute}}

    on_head = on_get


class AvailabilityZones:
    def __init__(self, core_: VolumeCore):
        self.core = core_

    def on_get(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        enforce(req, "volume_extension:availability_zone_list")
        zones = self.core.volume_driver(req.context.region).zones()
        resp.media = {"availabilityZoneInfo": [{"zoneName": z.name, "zoneState": {"available": z.available}}
                                               for z in zones]}

    on_head = on_get


class Services:
    def __init__(self, core_: VolumeCore):
        self.core = core_

    def on_get(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        enforce(req, "volume_extension:services:index")
        host_filter, binary_filter = one(req, "host"), one(req, "binary")
        now = timestamp(utcnow())
        services = []
        for region, cloud in self.core.clouds.items():
            if cloud.volume is None:
                continue
            zone = cloud.volume.zones()[0].name if cloud.volume.zones() else "nova"
            for binary, host in (("cinder-scheduler", f"{region.lower()}-controller"),
                                 ("cinder-volume", cloud.volume.host)):
                services.append({"binary": binary, "host": host, "zone": zone, "status": "enabled", "state": "up",
                                 "updated_at": now, "disabled_reason": None})
        services = [s for s in services if (host_filter is None or s["host"] == host_filter)
                    and (binary_filter is None or s["binary"] == binary_filter)]
        resp.media = {"services": services}

    on_head = on_get


class Extensions:
    #: the API extensions Cinder lists that Overcast serves
    ALIASES = ("os-availability-zone", "os-extended-snapshot-attributes", "os-quota-sets", "os-types-manage",
               "os-types-extra-specs", "os-volume-actions", "os-admin-actions", "os-vol-tenant-attr",
               "os-vol-host-attr", "os-volume-type-access", "os-used-limits", "os-services")

    def on_get(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        caller(req)
        resp.media = {"extensions": [{"alias": a, "name": a, "namespace": "", "description": a,
                                      "updated": "2013-01-01T00:00:00+00:00", "links": []}
                                     for a in self.ALIASES]}

    on_head = on_get


def bind(registry: Registry, core_: VolumeCore) -> None:
    registry.bind("volume", "quota_set", QuotaSet(core_))
    registry.bind("volume", "quota_set_defaults", QuotaDefaults(core_))
    registry.bind("volume", "limits", Limits(core_))
    registry.bind("volume", "availability_zones", AvailabilityZones(core_))
    registry.bind("volume", "services", Services(core_))
    registry.bind("volume", "extensions", Extensions())
