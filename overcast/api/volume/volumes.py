"""/volumes, /volumes/detail, /volumes/{id}, its metadata and its actions: wire format only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import falcon

from overcast.core.availability import refuse_while_down
from overcast.api import faults
from overcast.api.fragments import json_list
from overcast.api.routing import Registry
from overcast.api.validation import read_json, validate
from overcast.api.volume import schemas, uploads
from overcast.api.volume.common import (all_tenants, at_least, backend_headroom, backend_taken, caller, enforce,
                                        metadata_filter, one, page, parse_bool, require, target)
from overcast.api.volume.groups import GROUPS
from overcast.api.volume.metadata import Metadata, MetadataItem
from overcast.api.volume.views import VolumeViews
from overcast.core.volume import VolumeCore, backups, exports, groups, manage, metadata
from overcast.core.volume import types as vtypes
from overcast.core.volume import volumes as core
from overcast.core.volume.retype import retype

#: the microversion from which a volume may be created from a backup (``backup_id``)
FROM_BACKUP = "3.47"

#: action name -> the policy it needs (each is served by a method named after it, without "os-")
ACTIONS: dict[str, str] = {
    "os-extend": "volume:extend",
    "os-reset_status": "volume_extension:volume_admin_actions:reset_status",
    "os-set_bootable": "volume:update",
    "os-update_readonly_flag": "volume:update_readonly_flag",
    "os-reserve": "volume_extension:volume_actions:attach",
    "os-unreserve": "volume_extension:volume_actions:attach",
    "os-begin_detaching": "volume_extension:volume_actions:attach",
    "os-roll_detaching": "volume_extension:volume_actions:attach",
    "os-initialize_connection": "volume_extension:volume_actions:attach",
    "os-terminate_connection": "volume_extension:volume_actions:attach",
    "os-attach": "volume_extension:volume_actions:attach",
    "os-detach": "volume_extension:volume_actions:attach",
    "os-force_delete": "volume_extension:volume_admin_actions:force_delete",
    "os-force_detach": "volume_extension:volume_admin_actions:force_detach",
    "os-retype": "volume:retype",
    "os-set_image_metadata": "volume_extension:volume_image_metadata:set",
    "os-unset_image_metadata": "volume_extension:volume_image_metadata:remove",
    "os-show_image_metadata": "volume_extension:volume_image_metadata:show",
    "os-volume_upload_image": "volume_extension:volume_actions:upload_image",
    "os-unmanage": "volume_extension:volume_unmanage",
    "os-extend_volume_completion": "volume_extension:volume_admin_actions:extend_volume_completion",
}

#: action -> the microversion that brought it (below it Cinder finds no method for the action: 404)
ACTION_SINCE: dict[str, str] = {"os-extend_volume_completion": "3.71"}


class Accepted(dict):
    """An action's answer that Cinder gives with 202 rather than 200."""


@dataclass(frozen=True)
class Exporting:
    """os-initialize_connection's answer: the export it enqueued, waited for once its transaction commits."""

    op_id: str
    mode: str


EXTEND_SCHEMA = {"type": "object", "properties": {"new_size": schemas.SIZE}, "required": ["new_size"]}

#: Cinder's body for os-extend_volume_completion (3.71): only ``error``, a boolean or null
EXTEND_COMPLETION_SCHEMA = {"type": "object", "properties": {"error": {"type": ["boolean", "null"]}},
                            "additionalProperties": False}


def type_names(session: Any) -> dict[str, str]:
    return vtypes.names(session)


def size_of(value: Any, field: str) -> int | None:
    """A size given as an integer or a numeric string (the schema checked the shape)."""
    if value is None:
        return None
    size = int(value)
    if size < 1:
        raise faults.BadRequest(f"Invalid input for field '{field}': {value} is less than the minimum of 1.")
    return size


class _Base:
    def __init__(self, core_: VolumeCore, views: VolumeViews):
        self.core = core_
        self.views = views

    def show(self, req: falcon.Request, session: Any, volume: Any, extended: bool = True) -> dict[str, Any]:
        return {"volume": self.views.volume(req, volume, vtypes.catalog(session), extended=extended)}


class Volumes(_Base):
    def __init__(self, core_: VolumeCore, views: VolumeViews, detail: bool):
        super().__init__(core_, views)
        self.detail = detail

    def on_get(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        ctx = enforce(req, "volume:get_all")
        everyone = all_tenants(req)  # Cinder ignores it for non-admins (their own volumes only)
        bootable = one(req, "bootable")
        query = core.ListQuery(
            all_tenants=everyone, project_id=one(req, "project_id"), name=one(req, "name"),
            status=one(req, "status"), availability_zone=one(req, "availability_zone"),
            bootable=None if bootable is None else parse_bool("bootable", bootable),
            metadata=metadata_filter(req), page=page(req, core.SORT_KEYS))
        with self.core.store.session() as session:
            listed = core.list_rows(session, ctx, query, region=req.context.region, detail=self.detail)
            body = self.views.volume_list(
                req, listed.rows, vtypes.catalog(session) if self.detail else vtypes.Catalog(), detail=self.detail,
                more=listed.more,
                attachments=core.list_attachments(session, listed.rows) if self.detail else None)
            if at_least(req, "3.45") and one(req, "with_count") and parse_bool("with_count", one(req, "with_count")):
                body["count"] = listed.count
        if self.detail:  # rendered views joined as they are (docs/decisions/0061-rendered-views-per-record.md)
            resp.data = json_list("volumes", body.pop("volumes"), body)
            resp.content_type = falcon.MEDIA_JSON
        else:
            resp.media = body

    on_head = on_get

    def on_post(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        ctx = enforce(req, "volume:create")
        body = read_json(req, schemas.CREATE_VOLUME)["volume"]
        spec = core.VolumeSpec(
            size=size_of(body.get("size"), "size"),
            name=body.get("name", body.get("display_name")),
            description=body.get("description", body.get("display_description")),
            volume_type=body.get("volume_type"), availability_zone=body.get("availability_zone"),
            metadata=body.get("metadata") or {}, snapshot_id=body.get("snapshot_id"),
            source_volid=body.get("source_volid"), image_ref=body.get("imageRef") or body.get("image_id"),
            multiattach=parse_bool("multiattach", body.get("multiattach", False)))
        region = req.context.region
        self.core.volume_driver(region)  # 501 for a region without block storage
        refuse_while_down(self.core.backends, region, "volume", "volume")
        group_id = body.get("group_id") if at_least(req, GROUPS) else None
        headroom = backend_headroom(self.core, req, ctx)
        backup_id = body.get("backup_id") if at_least(req, FROM_BACKUP) else None
        with self.core.store.session() as session:
            group = groups.usable(session, ctx, group_id, region) if group_id else None
            if backup_id:
                backup = backups.get_backup(session, ctx, backup_id, region=region)
                volume = backups.restore(session, ctx, backup, volume=None, name=None, spec=spec, headroom=headroom,
                                         capabilities=self.core.volume_driver(region).capabilities,
                                         request_id=req.context.request_id)
            else:
                volume = core.create(session, ctx, spec, region=region, request_id=req.context.request_id,
                                     group=group, zones=[group.availability_zone] if group else None,
                                     headroom=headroom,
                                     overcast_images=self.core.volume_driver(region).writes_overcast_images)
            resp.media = self.show(req, session, volume, extended=False)
            size = volume.size
        backend_taken(self.core, req, {"volumes": 1, "gigabytes": size})
        resp.status = falcon.HTTP_202


class VolumeSummary(_Base):
    def on_get(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        ctx = enforce(req, "volume:get_all")
        with self.core.store.session() as session:
            rows = core.matching(session, ctx, core.ListQuery(all_tenants=all_tenants(req)), region=req.context.region)
        summary: dict[str, Any] = {"total_size": sum(v.size for v in rows), "total_count": len(rows)}
        if at_least(req, "3.36"):
            keys: dict[str, set[str]] = {}
            for v in rows:
                for k, val in (v.metadata_ or {}).items():
                    keys.setdefault(k, set()).add(val)
            summary["metadata"] = {k: sorted(vals) for k, vals in keys.items()}
        resp.media = {"volume-summary": summary}

    on_head = on_get


class VolumeItem(_Base):
    def on_get(self, req: falcon.Request, resp: falcon.Response, volume_id: str, **_: str) -> None:
        with self.core.store.session() as session:
            volume = core.get_volume(session, caller(req), volume_id, region=req.context.region)
            enforce(req, "volume:get", target(volume))
            resp.media = self.show(req, session, volume)

    on_head = on_get

    def on_put(self, req: falcon.Request, resp: falcon.Response, volume_id: str, **_: str) -> None:
        body = read_json(req, schemas.UPDATE_VOLUME)["volume"]
        if not body:
            raise faults.BadRequest("Invalid input received: Missing required element 'volume' in request body.")
        changes = dict(body)
        if "display_name" in changes:
            changes.setdefault("name", changes.pop("display_name"))
        if "display_description" in changes:
            changes.setdefault("description", changes.pop("display_description"))
        with self.core.store.session() as session:
            volume = core.get_volume(session, caller(req), volume_id, region=req.context.region)
            enforce(req, "volume:update", target(volume))
            core.update(volume, changes)
            session.flush()
            resp.media = self.show(req, session, volume, extended=False)

    def on_delete(self, req: falcon.Request, resp: falcon.Response, volume_id: str, **_: str) -> None:
        cascade = parse_bool("cascade", one(req, "cascade") or "false")
        force = parse_bool("force", one(req, "force") or "false")
        with self.core.store.session() as session:
            ctx = caller(req)
            volume = core.get_volume(session, ctx, volume_id, region=req.context.region)
            enforce(req, "volume:delete", target(volume))
            if force:
                enforce(req, "volume:force_delete", target(volume))
            core.delete(session, ctx, volume, force=force, cascade=cascade, request_id=req.context.request_id)
        resp.status = falcon.HTTP_202


class VolumeAction(_Base):
    def on_post(self, req: falcon.Request, resp: falcon.Response, volume_id: str, **_: str) -> None:
        body = read_json(req)
        if not isinstance(body, dict) or len(body) != 1:
            raise faults.BadRequest("Invalid input received: There is no such action: None")
        name, args = next(iter(body.items()))
        if name not in ACTIONS:
            raise faults.BadRequest(f"There is no such action: {name}")
        if name in ACTION_SINCE:
            require(req, ACTION_SINCE[name])
        args = args if isinstance(args, dict) else {}
        with self.core.store.session() as session:
            ctx = caller(req)
            volume = core.get_volume(session, ctx, volume_id, region=req.context.region)
            enforce(req, ACTIONS[name], target(volume))
            result = getattr(self, "_" + name[3:])(req, session, volume, args)
        if isinstance(result, Exporting):  # committed: now wait for the export it enqueued
            result = {"connection_info": exports.connection_view(exports.wait(self.core.store, result.op_id),
                                                                 result.mode)}
        if result is None or isinstance(result, Accepted):
            resp.status = falcon.HTTP_202
        if result:  # an empty result is Cinder's 200 without a body (os-set_bootable)
            resp.media = result

    def _extend(self, req: falcon.Request, session: Any, volume: Any, args: dict[str, Any]) -> None:
        new_size = size_of(validate(args, EXTEND_SCHEMA)["new_size"], "new_size")
        core.extend(session, caller(req), volume, new_size, allow_in_use=at_least(req, "3.42"),
                    request_id=req.context.request_id)

    def _extend_volume_completion(self, req: falcon.Request, session: Any, volume: Any,
                                  args: dict[str, Any]) -> None:
        error = validate(args, EXTEND_COMPLETION_SCHEMA).get("error")
        core.extend_volume_completion(volume, error=bool(error))

    def _reset_status(self, req: falcon.Request, session: Any, volume: Any, args: dict[str, Any]) -> None:
        if not any(k in args for k in ("status", "attach_status", "migration_status")):
            raise faults.BadRequest("Invalid input received: Must specify 'status', 'attach_status' or "
                                    "'migration_status' for update.")
        core.reset_status(volume, args.get("status"), args.get("attach_status"))

    def _set_bootable(self, req: falcon.Request, session: Any, volume: Any, args: dict[str, Any]) -> dict:
        if "bootable" not in args:
            raise faults.BadRequest("Invalid input received: Must specify bootable in request.")
        volume.bootable = parse_bool("bootable", args["bootable"])
        core.touch(volume)
        return {}

    def _update_readonly_flag(self, req: falcon.Request, session: Any, volume: Any, args: dict[str, Any]) -> None:
        if "readonly" not in args:
            raise faults.BadRequest("Invalid input received: Must specify readonly in request.")
        core.set_readonly(volume, parse_bool("readonly", args["readonly"]))

    def _reserve(self, req: falcon.Request, session: Any, volume: Any, args: dict[str, Any]) -> None:
        core.reserve(volume)

    def _unreserve(self, req: falcon.Request, session: Any, volume: Any, args: dict[str, Any]) -> None:
        core.unreserve(volume)

    def _begin_detaching(self, req: falcon.Request, session: Any, volume: Any, args: dict[str, Any]) -> None:
        core.begin_detaching(volume)

    def _roll_detaching(self, req: falcon.Request, session: Any, volume: Any, args: dict[str, Any]) -> None:
        core.roll_detaching(volume)

    def _connector(self, args: dict[str, Any]) -> dict[str, Any]:
        connector = args.get("connector")
        if not isinstance(connector, dict):
            raise faults.BadRequest("Invalid input received: Must specify 'connector'")
        return connector

    def _initialize_connection(self, req: falcon.Request, session: Any, volume: Any,
                               args: dict[str, Any]) -> "Exporting":
        connector = self._connector(args)
        self.core.volume_driver(volume.cloud)  # 501 for a region without block storage
        mode = "ro" if core.is_readonly(volume) else "rw"
        op_id = exports.request(session, volume, host=str(connector.get("host") or "overcast"), mode=mode,
                                attachment=None, request_id=req.context.request_id, user_id=caller(req).user_id)
        return Exporting(op_id, mode)

    def _terminate_connection(self, req: falcon.Request, session: Any, volume: Any, args: dict[str, Any]) -> None:
        connector = self._connector(args)
        exports.unexport(session, volume, str(connector.get("host") or "overcast"),
                         request_id=req.context.request_id, user_id=caller(req).user_id)

    def _attach(self, req: falcon.Request, session: Any, volume: Any, args: dict[str, Any]) -> None:
        if not args.get("mountpoint"):
            raise faults.BadRequest("Invalid input received: Must specify 'mountpoint'")
        if not args.get("instance_uuid") and not args.get("host_name"):
            raise faults.BadRequest("Invalid request to attach volume to an invalid target")
        mode = args.get("mode", "rw")
        if mode not in ("rw", "ro"):
            raise faults.BadRequest("Invalid request to attach volume with an invalid mode. Attaching mode should "
                                    "be 'rw' or 'ro'")
        core.attach(volume, instance_uuid=args.get("instance_uuid"), host_name=args.get("host_name"),
                    mountpoint=str(args["mountpoint"]), mode=mode)

    def _detach(self, req: falcon.Request, session: Any, volume: Any, args: dict[str, Any]) -> None:
        core.detach(volume, args.get("attachment_id"))

    def _force_detach(self, req: falcon.Request, session: Any, volume: Any, args: dict[str, Any]) -> None:
        core.force_detach(session, volume, args.get("attachment_id"))
        connector = args.get("connector")
        if isinstance(connector, dict) and volume.backend_id is not None:
            self._terminate_connection(req, session, volume, args)

    def _force_delete(self, req: falcon.Request, session: Any, volume: Any, args: dict[str, Any]) -> None:
        core.delete(session, caller(req), volume, force=True, request_id=req.context.request_id)

    def _retype(self, req: falcon.Request, session: Any, volume: Any, args: dict[str, Any]) -> None:
        args = validate(args, schemas.RETYPE)
        retype(session, caller(req), volume, args["new_type"], migration_policy=args.get("migration_policy"),
               request_id=req.context.request_id)

    def _set_image_metadata(self, req: falcon.Request, session: Any, volume: Any, args: dict[str, Any]) -> dict:
        return {"metadata": metadata.set_image_metadata(volume, validate(args, schemas.METADATA_BODY)["metadata"])}

    def _unset_image_metadata(self, req: falcon.Request, session: Any, volume: Any, args: dict[str, Any]) -> dict:
        metadata.unset_image_metadata(volume, validate(args, schemas.IMAGE_METADATA_KEY)["key"])
        return {}

    def _show_image_metadata(self, req: falcon.Request, session: Any, volume: Any, args: dict[str, Any]) -> dict:
        return {"metadata": dict(volume.image_metadata or {})}

    def _unmanage(self, req: falcon.Request, session: Any, volume: Any, args: dict[str, Any]) -> None:
        manage.unmanage_volume(session, caller(req), volume, capabilities=self.core.volume_driver(volume.cloud).capabilities,
                               request_id=req.context.request_id)

    def _volume_upload_image(self, req: falcon.Request, session: Any, volume: Any, args: dict[str, Any]) -> dict:
        return Accepted(uploads.upload_image(req, session, self.core, volume, args))


def bind(registry: Registry, core_: VolumeCore, views: VolumeViews) -> None:
    registry.bind("volume", "volumes", Volumes(core_, views, detail=False))
    registry.bind("volume", "volumes_detail", Volumes(core_, views, detail=True))
    registry.bind("volume", "volumes_summary", VolumeSummary(core_, views))
    registry.bind("volume", "volume", VolumeItem(core_, views))
    registry.bind("volume", "volume_action", VolumeAction(core_, views))
    args = (core.get_volume, "volume_id", "volume:get", "volume:update")
    registry.bind("volume", "volume_metadata", Metadata(core_, *args))
    registry.bind("volume", "volume_metadata_key", MetadataItem(core_, *args))
