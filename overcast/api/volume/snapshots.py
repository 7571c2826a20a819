"""/snapshots, /snapshots/detail, /snapshots/{id}, its metadata and actions: wire format only."""

from __future__ import annotations

from typing import Any

import falcon

from overcast.api import faults
from overcast.api.routing import Registry
from overcast.api.validation import read_json, validate
from overcast.api.volume import schemas
from overcast.api.volume.common import (all_tenants, backend_headroom, backend_taken, caller, enforce, metadata_filter,
                                        one, page, parse_bool, target)
from overcast.api.volume.metadata import Metadata, MetadataItem
from overcast.api.volume.views import VolumeViews
from overcast.core.volume import VolumeCore, manage
from overcast.core.volume import snapshots as core
from overcast.core.volume.volumes import get_volume


def _renamed(body: dict[str, Any]) -> dict[str, Any]:
    changes = dict(body)
    for old, new in (("display_name", "name"), ("display_description", "description")):
        if old in changes:
            changes.setdefault(new, changes.pop(old))
    return changes


class _Base:
    def __init__(self, core_: VolumeCore, views: VolumeViews):
        self.core = core_
        self.views = views

    def _snapshot(self, req: falcon.Request, session: Any, snapshot_id: str, action: str) -> Any:
        snapshot = core.get_snapshot(session, caller(req), snapshot_id, region=req.context.region)
        enforce(req, action, target(snapshot))
        return snapshot


class Snapshots(_Base):
    def __init__(self, core_: VolumeCore, views: VolumeViews, detail: bool):
        super().__init__(core_, views)
        self.detail = detail

    def on_get(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        ctx = enforce(req, "volume:get_all_snapshots")
        everyone = all_tenants(req)  # Cinder ignores it for non-admins (their own volumes only)
        query = core.ListQuery(all_tenants=everyone, project_id=one(req, "project_id"), name=one(req, "name"),
                               status=one(req, "status"), volume_id=one(req, "volume_id"),
                               metadata=metadata_filter(req), page=page(req, core.SORT_KEYS))
        with self.core.store.session() as session:
            rows, more = core.list_snapshots(session, ctx, query, region=req.context.region)
            resp.media = self.views.snapshot_list(req, rows, detail=self.detail, more=more)

    on_head = on_get

    def on_post(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        body = _renamed(read_json(req, schemas.CREATE_SNAPSHOT)["snapshot"])
        force = parse_bool("force", body.get("force", False))
        ctx = caller(req)
        with self.core.store.session() as session:  # 404 or 403 before the backend is asked anything
            enforce(req, "volume:create_snapshot", target(get_volume(session, ctx, body["volume_id"],
                                                                     region=req.context.region)))
        headroom = backend_headroom(self.core, req, ctx)
        with self.core.store.session() as session:
            volume = get_volume(session, ctx, body["volume_id"], region=req.context.region)
            snapshot = core.create(session, ctx, volume, name=body.get("name"), description=body.get("description"),
                                   metadata=body.get("metadata") or {}, force=force,
                                   request_id=req.context.request_id, headroom=headroom)
            resp.media = {"snapshot": self.views.snapshot(req, snapshot, detail=False)}
            size = snapshot.size
        backend_taken(self.core, req, {"snapshots": 1, "gigabytes": size})
        resp.status = falcon.HTTP_202


class SnapshotItem(_Base):
    def on_get(self, req: falcon.Request, resp: falcon.Response, snapshot_id: str, **_: str) -> None:
        with self.core.store.session() as session:
            snapshot = self._snapshot(req, session, snapshot_id, "volume:get_snapshot")
            resp.media = {"snapshot": self.views.snapshot(req, snapshot)}

    on_head = on_get

    def on_put(self, req: falcon.Request, resp: falcon.Response, snapshot_id: str, **_: str) -> None:
        body = read_json(req, schemas.UPDATE_SNAPSHOT)["snapshot"]
        if not body:
            raise faults.BadRequest("Invalid input received: Missing required element 'snapshot' in request body.")
        with self.core.store.session() as session:
            snapshot = self._snapshot(req, session, snapshot_id, "volume:update_snapshot")
            core.update(snapshot, _renamed(body))
            session.flush()
            resp.media = {"snapshot": self.views.snapshot(req, snapshot, detail=False)}

    def on_delete(self, req: falcon.Request, resp: falcon.Response, snapshot_id: str, **_: str) -> None:
        with self.core.store.session() as session:
            snapshot = self._snapshot(req, session, snapshot_id, "volume:delete_snapshot")
            core.delete(session, caller(req), snapshot, request_id=req.context.request_id)
        resp.status = falcon.HTTP_202


#: action name -> the policy it needs (each is served by a method named after it, without "os-")
ACTIONS: dict[str, str] = {
    "os-reset_status": "volume_extension:snapshot_admin_actions:reset_status",
    "os-update_snapshot_status": "snapshot_extension:snapshot_actions:update_snapshot_status",
    "os-force_delete": "volume_extension:snapshot_admin_actions:force_delete",
    "os-unmanage": "snapshot_extension:snapshot_unmanage",
}


class SnapshotAction(_Base):
    def on_post(self, req: falcon.Request, resp: falcon.Response, snapshot_id: str, **_: str) -> None:
        body = read_json(req)
        name = next(iter(body), None) if isinstance(body, dict) else None
        if name not in ACTIONS or len(body) != 1:
            raise faults.BadRequest(f"There is no such action: {name}")
        args = body[name] if isinstance(body[name], dict) else {}
        with self.core.store.session() as session:
            snapshot = self._snapshot(req, session, snapshot_id, ACTIONS[name])
            getattr(self, "_" + name[3:])(req, session, snapshot, args)
        resp.status = falcon.HTTP_202

    def _reset_status(self, req: falcon.Request, session: Any, snapshot: Any, args: dict[str, Any]) -> None:
        if "status" not in args:
            raise faults.BadRequest("Invalid input received: Must specify 'status'")
        core.reset_status(snapshot, args["status"])

    def _update_snapshot_status(self, req: falcon.Request, session: Any, snapshot: Any,
                                args: dict[str, Any]) -> None:
        args = validate(args, schemas.UPDATE_SNAPSHOT_STATUS)
        core.update_status(snapshot, args["status"], args.get("progress"))

    def _force_delete(self, req: falcon.Request, session: Any, snapshot: Any, args: dict[str, Any]) -> None:
        core.delete(session, caller(req), snapshot, request_id=req.context.request_id, force=True)


    def _unmanage(self, req: falcon.Request, session: Any, snapshot: Any, args: dict[str, Any]) -> None:
        manage.unmanage_snapshot(session, caller(req), snapshot,
                                 capabilities=self.core.volume_driver(snapshot.cloud).capabilities,
                                 request_id=req.context.request_id)


def bind(registry: Registry, core_: VolumeCore, views: VolumeViews) -> None:
    registry.bind("volume", "snapshots", Snapshots(core_, views, detail=False))
    registry.bind("volume", "snapshots_detail", Snapshots(core_, views, detail=True))
    registry.bind("volume", "snapshot", SnapshotItem(core_, views))
    registry.bind("volume", "snapshot_action", SnapshotAction(core_, views))
    args = (core.get_snapshot, "snapshot_id", "volume:get_snapshot", "volume:update_snapshot")
    registry.bind("volume", "snapshot_metadata", Metadata(core_, *args))
    registry.bind("volume", "snapshot_metadata_key", MetadataItem(core_, *args))
