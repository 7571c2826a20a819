"""/backups, /backups/detail, /backups/{id}, its restore, its actions (os-reset_status,
os-force_delete), export_record and import_record: wire format only (the rules are
:mod:`overcast.core.volume.backups`)."""

from __future__ import annotations

from typing import Any

import falcon

from overcast.api import faults
from overcast.api.routing import Registry
from overcast.api.validation import read_json, validate
from overcast.api.volume import schemas
from overcast.api.volume.common import (all_tenants, at_least, caller, enforce, metadata_filter, one, page,
                                        parse_bool, require, target)
from overcast.api.volume.views import VolumeViews
from overcast.core import policy
from overcast.core.volume import VolumeCore
from overcast.core.volume import backups as core
from overcast.core.volume.volumes import get_volume
from overcast.store.volume import VolumeBackup


class _Base:
    def __init__(self, core_: VolumeCore, views: VolumeViews):
        self.core = core_
        self.views = views

    def _backup(self, req: falcon.Request, session: Any, backup_id: str, action: str) -> VolumeBackup:
        backup = core.get_backup(session, caller(req), backup_id, region=req.context.region)
        enforce(req, action, target(backup))
        return backup

    def _capabilities(self, req: falcon.Request) -> frozenset:
        return self.core.volume_driver(req.context.region).capabilities

    def _show(self, req: falcon.Request, session: Any, backup: VolumeBackup) -> dict[str, Any]:
        return self.views.backup(req, backup, dependents=core.has_dependents(session, backup),
                                 project_attribute=_may(req, "backup:backup_project_attribute", backup))


def _may(req: falcon.Request, action: str, backup: VolumeBackup) -> bool:
    return policy.allowed(action, caller(req), target(backup))


class Backups(_Base):
    def __init__(self, core_: VolumeCore, views: VolumeViews, detail: bool):
        super().__init__(core_, views)
        self.detail = detail

    def on_get(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        ctx = enforce(req, "backup:get_all")
        query = core.ListQuery(all_tenants=all_tenants(req), project_id=one(req, "project_id"),
                               name=one(req, "name") or one(req, "display_name"), status=one(req, "status"),
                               volume_id=one(req, "volume_id"), metadata=metadata_filter(req),
                               page=page(req, core.SORT_KEYS))
        with self.core.store.session() as session:
            rows, more, total = core.list_backups(session, ctx, query, region=req.context.region)
            items = [self._show(req, session, b) if self.detail else self.views.backup_summary(req, b) for b in rows]
            body: dict[str, Any] = {"backups": items}
            if more and rows:
                body["backups_links"] = self.views.links.next_page(req, "backups/detail" if self.detail else "backups",
                                                                   rows[-1].id)
            if at_least(req, "3.45") and one(req, "with_count") and parse_bool("with_count", one(req, "with_count")):
                body["count"] = total
        resp.media = body

    on_head = on_get

    def on_post(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        body = read_json(req, schemas.CREATE_BACKUP)["backup"]
        if body.get("metadata") is not None and not at_least(req, "3.43"):
            raise faults.BadRequest("Invalid input for field 'metadata': metadata is accepted from microversion "
                                    "3.43.")
        spec = core.BackupSpec(name=body.get("name"), description=body.get("description"),
                               container=body.get("container"),
                               incremental=parse_bool("incremental", body.get("incremental", False)),
                               force=parse_bool("force", body.get("force", False)),
                               snapshot_id=body.get("snapshot_id"), metadata=body.get("metadata") or {})
        with self.core.store.session() as session:
            ctx = caller(req)
            volume = get_volume(session, ctx, body["volume_id"], region=req.context.region)
            enforce(req, "backup:create", target(volume))
            backup = core.create(session, ctx, volume, spec, capabilities=self._capabilities(req),
                                 request_id=req.context.request_id)
            resp.media = {"backup": self.views.backup_summary(req, backup)}
        resp.status = falcon.HTTP_202


class BackupItem(_Base):
    def on_get(self, req: falcon.Request, resp: falcon.Response, backup_id: str, **_: str) -> None:
        with self.core.store.session() as session:
            backup = self._backup(req, session, backup_id, "backup:get")
            resp.media = {"backup": self._show(req, session, backup)}

    on_head = on_get

    def on_put(self, req: falcon.Request, resp: falcon.Response, backup_id: str, **_: str) -> None:
        require(req, "3.9")
        body = read_json(req, schemas.UPDATE_BACKUP)["backup"]
        if "metadata" in body and not at_least(req, "3.43"):
            raise faults.BadRequest("Invalid input for field 'metadata': metadata is accepted from microversion "
                                    "3.43.")
        with self.core.store.session() as session:
            backup = self._backup(req, session, backup_id, "backup:update")
            core.update(backup, body)
            session.flush()
            resp.media = {"backup": self.views.backup_summary(req, backup)}

    def on_delete(self, req: falcon.Request, resp: falcon.Response, backup_id: str, **_: str) -> None:
        with self.core.store.session() as session:
            backup = self._backup(req, session, backup_id, "backup:delete")
            core.delete(session, caller(req), backup, request_id=req.context.request_id)
        resp.status = falcon.HTTP_202


class BackupRestore(_Base):
    def on_post(self, req: falcon.Request, resp: falcon.Response, backup_id: str, **_: str) -> None:
        body = read_json(req, schemas.RESTORE_BACKUP)["restore"]
        with self.core.store.session() as session:
            ctx = caller(req)
            backup = self._backup(req, session, backup_id, "backup:restore")
            volume = (get_volume(session, ctx, body["volume_id"], region=req.context.region)
                      if body.get("volume_id") else None)
            volume = core.restore(session, ctx, backup, volume=volume, name=body.get("name"),
                                  capabilities=self._capabilities(req), request_id=req.context.request_id)
            resp.media = {"restore": {"backup_id": backup.id, "volume_id": volume.id,
                                      "volume_name": volume.name or ""}}
        resp.status = falcon.HTTP_202


class BackupExport(_Base):
    def on_get(self, req: falcon.Request, resp: falcon.Response, backup_id: str, **_: str) -> None:
        with self.core.store.session() as session:
            backup = self._backup(req, session, backup_id, "backup:export-import")
            service = self.core.volume_driver(req.context.region).backup_service
            resp.media = {"backup-record": core.export_record(backup, service)}

    on_head = on_get


class BackupImport(_Base):
    def on_post(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        ctx = enforce(req, "backup:backup-import")
        record = read_json(req, schemas.IMPORT_BACKUP)["backup-record"]
        service = self.core.volume_driver(req.context.region).backup_service
        with self.core.store.session() as session:
            backup = core.import_record(session, ctx, record["backup_service"], record["backup_url"],
                                        region=req.context.region, driver_service=service)
            body = self.views.backup_summary(req, backup)
            body.pop("metadata", None)  # Cinder's import answer is id, name and links
            resp.media = {"backup": body}
        resp.status = falcon.HTTP_201


#: action name -> the policy it needs
ACTIONS: dict[str, str] = {
    "os-reset_status": "volume_extension:backup_admin_actions:reset_status",
    "os-force_delete": "volume_extension:backup_admin_actions:force_delete",
}


class BackupAction(_Base):
    def on_post(self, req: falcon.Request, resp: falcon.Response, backup_id: str, **_: str) -> None:
        body = read_json(req)
        name = next(iter(body), None) if isinstance(body, dict) else None
        if name not in ACTIONS or len(body) != 1:
            raise faults.BadRequest(f"There is no such action: {name}")
        with self.core.store.session() as session:
            backup = self._backup(req, session, backup_id, ACTIONS[name])
            if name == "os-reset_status":
                core.reset_status(backup, validate(body[name], schemas.RESET_BACKUP_STATUS)["status"])
            else:
                core.delete(session, caller(req), backup, request_id=req.context.request_id, force=True)
        resp.status = falcon.HTTP_202


def bind(registry: Registry, core_: VolumeCore, views: VolumeViews) -> None:
    registry.bind("volume", "backups", Backups(core_, views, detail=False))
    registry.bind("volume", "backups_detail", Backups(core_, views, detail=True))
    registry.bind("volume", "backup", BackupItem(core_, views))
    registry.bind("volume", "backup_restore", BackupRestore(core_, views))
    registry.bind("volume", "backup_action", BackupAction(core_, views))
    registry.bind("volume", "backup_export", BackupExport(core_, views))
    registry.bind("volume", "backup_import", BackupImport(core_, views))
