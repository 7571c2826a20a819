"""Quota sets, quota class sets and absolute limits: wire format only."""

from __future__ import annotations

from typing import Any, Mapping

import falcon

from overcast.api import faults
from overcast.api.routing import Registry
from overcast.api.validation import read_json
from overcast.api.volume import schemas
from overcast.api.volume.common import enforce, one, parse_bool
from overcast.core.volume import VolumeCore
from overcast.core.volume import quotas as core

#: quota_set key -> the absolute limits' (max, used) names
LIMIT_NAMES = {"volumes": ("maxTotalVolumes", "totalVolumesUsed"),
               "snapshots": ("maxTotalSnapshots", "totalSnapshotsUsed"),
               "gigabytes": ("maxTotalVolumeGigabytes", "totalGigabytesUsed"),
               "backups": ("maxTotalBackups", "totalBackupsUsed"),
               "backup_gigabytes": ("maxTotalBackupGigabytes", "totalBackupGigabytesUsed")}


#: Cinder's db.MAX_INT: the largest limit a quota may have
MAX_INT = 0x7FFFFFFF


def _limits(body: Mapping[str, Any]) -> dict[str, int]:
    """The integer limits of a quota (class) set body (its ``id``/``tenant_id`` aside).

    Cinder's ``validate_integer``: the value's text must be an integer (``1.5e308`` and ``true`` are
    not) no greater than its database's MAX_INT; the lower bound is the core's.

    :raises faults.BadRequest: a value that is not an integer, or one too large, naming the key.
    """
    values: dict[str, int] = {}
    for key, value in body.items():
        if key in ("tenant_id", "id"):
            continue
        try:
            number = int(str(value))
        except ValueError:
            raise faults.BadRequest(f"Invalid input received: {key} must be an integer.") from None
        if number > MAX_INT:
            raise faults.BadRequest(f"Invalid input received: {key} must be <= {MAX_INT}.")
        values[key] = number
    return values


class QuotaSet:
    def __init__(self, core_: VolumeCore):
        self.core = core_

    def on_get(self, req: falcon.Request, resp: falcon.Response, target_id: str, **_: str) -> None:
        enforce(req, "volume_extension:quotas:show", {"project_id": target_id})
        usage = parse_bool("usage", one(req, "usage") or "false")
        with self.core.store.session() as session:
            values: dict[str, Any] = (core.detail(session, target_id, region=req.context.region) if usage
                                      else core.limits(session, target_id))
        if usage:
            values = {k: {n: v[n] for n in ("limit", "in_use", "reserved")} for k, v in values.items()}
        resp.media = {"quota_set": {"id": target_id, **values}}

    on_head = on_get

    def on_put(self, req: falcon.Request, resp: falcon.Response, target_id: str, **_: str) -> None:
        enforce(req, "volume_extension:quotas:update", {"project_id": target_id})
        values = _limits(read_json(req, schemas.QUOTA_SET)["quota_set"])
        with self.core.store.session() as session:
            resp.media = {"quota_set": core.update(session, target_id, values, region=req.context.region)}

    def on_delete(self, req: falcon.Request, resp: falcon.Response, target_id: str, **_: str) -> None:
        enforce(req, "volume_extension:quotas:delete", {"project_id": target_id})
        with self.core.store.session() as session:
            core.reset(session, target_id)


class QuotaDefaults:
    def __init__(self, core_: VolumeCore):
        self.core = core_

    def on_get(self, req: falcon.Request, resp: falcon.Response, target_id: str, **_: str) -> None:
        enforce(req, "volume_extension:quotas:show", {"project_id": target_id})
        with self.core.store.session() as session:
            resp.media = {"quota_set": {"id": target_id, **core.defaults(session)}}

    on_head = on_get


class QuotaClassSet:
    def __init__(self, core_: VolumeCore):
        self.core = core_

    def on_get(self, req: falcon.Request, resp: falcon.Response, class_name: str, **_: str) -> None:
        enforce(req, "volume_extension:quota_classes")
        with self.core.store.session() as session:
            resp.media = {"quota_class_set": {"id": class_name, **core.class_limits(session, class_name)}}

    on_head = on_get

    def on_put(self, req: falcon.Request, resp: falcon.Response, class_name: str, **_: str) -> None:
        enforce(req, "volume_extension:quota_classes")
        values = _limits(read_json(req, schemas.QUOTA_CLASS_SET)["quota_class_set"])
        with self.core.store.session() as session:
            resp.media = {"quota_class_set": core.update_class(session, class_name, values)}


class Limits:
    def __init__(self, core_: VolumeCore):
        self.core = core_

    def on_get(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        ctx = enforce(req, "limits_extension:used_limits")
        with self.core.store.session() as session:
            detail = core.detail(session, ctx.project_id or "", region=req.context.region)
        absolute: dict[str, int] = {}
        for key, (max_name, used_name) in LIMIT_NAMES.items():
            absolute[max_name] = detail[key]["limit"]
            absolute[used_name] = detail[key]["in_use"]
        resp.media = {"limits": {"rate": [], "absolute": absolute}}

    on_head = on_get


def bind(registry: Registry, core_: VolumeCore) -> None:
    registry.bind("volume", "quota_set", QuotaSet(core_))
    registry.bind("volume", "quota_set_defaults", QuotaDefaults(core_))
    registry.bind("volume", "quota_class_set", QuotaClassSet(core_))
    registry.bind("volume", "limits", Limits(core_))
