"""Cinder's manage/unmanage: /os-volume-manage, /manageable_volumes (3.8), /os-snapshot-manage,
/manageable_snapshots (3.8) and their lists (decision 0065): wire format only. ``os-unmanage`` is
an action of /volumes/{id}/action and /snapshots/{id}/action (:mod:`.volumes`, :mod:`.snapshots`)."""

from __future__ import annotations

from typing import Any

import falcon

from overcast.api import faults
from overcast.api.routing import Registry
from overcast.api.validation import read_json
from overcast.api.volume import schemas
from overcast.api.volume.common import at_least, enforce, one, parse_bool
from overcast.api.volume.views import VolumeViews
from overcast.core.volume import VolumeCore, manage
from overcast.core.volume import types as vtypes

#: the microversion from which the manageable lists (and /manageable_* paths) are served
MANAGEABLE = "3.8"


def _not_yet(req: falcon.Request, path_from: str | None) -> None:
    """The /manageable_* paths exist from 3.8 (Cinder's 404 below)."""
    if path_from is not None and not at_least(req, path_from):
        raise faults.NotFound("The resource could not be found.")


def _entries(req: falcon.Request, rows: list[manage.Entry], *, detail: bool, snapshots: bool) -> list[dict]:
    """Cinder's manageable-volumes/-snapshots rows (the summary's keys, the detail's besides); paged
    with ``offset`` and ``limit``."""
    out = []
    for row in rows:
        item: dict[str, Any] = {"reference": dict(row.reference), "size": row.size,
                                "safe_to_manage": row.safe_to_manage}
        if snapshots:
            item["source_reference"] = dict(row.source_reference or {})
        if detail:
            item.update({"reason_not_safe": row.reason_not_safe, "cinder_id": row.cinder_id,
                         "extra_info": dict(row.extra_info) if row.extra_info else None})
        out.append(item)
    offset, limit = one(req, "offset"), one(req, "limit")
    try:
        start = int(offset) if offset is not None else 0
        count = int(limit) if limit is not None else None
    except ValueError:
        raise faults.BadRequest("Invalid input received: offset and limit must be integers.") from None
    if start < 0 or (count is not None and count < 0):
        raise faults.BadRequest("Invalid input received: offset and limit must not be negative.")
    return out[start:] if count is None else out[start:start + count]


class _Manage:
    """POST adopts; GET lists what the backend has (/os-*-manage from 3.0, /manageable_* from 3.8)."""

    #: the list's key, its policy, and whether it lists snapshots
    listed: str = "manageable-volumes"
    list_policy: str = "volume_extension:list_manageable"
    snapshots: bool = False

    def __init__(self, core_: VolumeCore, views: VolumeViews, *, path_from: str | None, detail: bool = False):
        self.core, self.views, self.path_from, self.detail = core_, views, path_from, detail

    def on_get(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        _not_yet(req, self.path_from)
        resp.media = {self.listed: listing(self.core, req, self.list_policy, detail=self.detail,
                                           snapshots=self.snapshots)}

    on_head = on_get


class VolumeManage(_Manage):
    def on_post(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        _not_yet(req, self.path_from)
        ctx = enforce(req, "volume_extension:volume_manage")
        body = read_json(req, schemas.MANAGE_VOLUME)["volume"]
        if not body.get("host"):
            if body.get("cluster"):
                raise faults.NotFound(f"Cluster '{body['cluster']}' not found.")
            raise faults.BadRequest("Invalid input received: host must be specified.")
        spec = manage.ManageSpec(host=body["host"], ref=body["ref"], name=body.get("name"),
                                 description=body.get("description"), volume_type=body.get("volume_type"),
                                 availability_zone=body.get("availability_zone"),
                                 bootable=parse_bool("bootable", body.get("bootable", False)),
                                 metadata=body.get("metadata") or {})
        region = req.context.region
        driver = self.core.volume_driver(region)
        with self.core.store.session() as session:
            volume = manage.manage_volume(session, ctx, spec, region=region, driver=driver,
                                          request_id=req.context.request_id)
            resp.media = {"volume": self.views.volume(req, volume, vtypes.catalog(session), extended=False)}
        resp.status = falcon.HTTP_202


class SnapshotManage(_Manage):
    listed = "manageable-snapshots"
    list_policy = "snapshot_extension:list_manageable"
    snapshots = True

    def on_post(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        _not_yet(req, self.path_from)
        ctx = enforce(req, "snapshot_extension:snapshot_manage")
        body = read_json(req, schemas.MANAGE_SNAPSHOT)["snapshot"]
        spec = manage.SnapshotManageSpec(volume_id=body["volume_id"], ref=body["ref"], name=body.get("name"),
                                         description=body.get("description"), metadata=body.get("metadata") or {})
        region = req.context.region
        capabilities = self.core.volume_driver(region).capabilities
        with self.core.store.session() as session:
            snapshot = manage.manage_snapshot(session, ctx, spec, region=region, capabilities=capabilities,
                                              request_id=req.context.request_id)
            resp.media = {"snapshot": self.views.snapshot(req, snapshot, detail=False)}
        resp.status = falcon.HTTP_202


def listing(core_: VolumeCore, req: falcon.Request, policy: str, *, detail: bool, snapshots: bool) -> list[dict]:
    """A manageable list: ``host`` names the region's volume service (400 without it, 404 another)."""
    ctx = enforce(req, policy)
    host = one(req, "host")
    if not host:
        raise faults.BadRequest("Invalid input received: host must be specified.")
    region = req.context.region
    driver = core_.volume_driver(region)
    with core_.store.session() as session:
        op_id = manage.request_manageable(session, ctx, host=host, region=region, driver=driver,
                                          snapshots=snapshots, request_id=req.context.request_id)
    rows = manage.manageable(core_.store, op_id, region=region, snapshots=snapshots)
    return _entries(req, rows, detail=detail, snapshots=snapshots)


def bind(registry: Registry, core_: VolumeCore, views: VolumeViews) -> None:
    for name, cls in (("volume", VolumeManage), ("snapshot", SnapshotManage)):
        registry.bind("volume", f"{name}_manage", cls(core_, views, path_from=None))
        registry.bind("volume", f"{name}_manage_detail", cls(core_, views, path_from=None, detail=True))
        registry.bind("volume", f"manageable_{name}s", cls(core_, views, path_from=MANAGEABLE))
        registry.bind("volume", f"manageable_{name}s_detail", cls(core_, views, path_from=MANAGEABLE, detail=True))
