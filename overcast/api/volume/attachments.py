"""/attachments (3.27+) and the os-complete action (3.44): wire format only."""

from __future__ import annotations

from typing import Any

import falcon

from overcast.api import faults
from overcast.api.routing import Registry
from overcast.api.validation import read_json
from overcast.api.volume import schemas
from overcast.api.volume.common import all_tenants, caller, enforce, one, require
from overcast.api.volume.views import VolumeViews
from overcast.core.volume import VolumeCore
from overcast.core.volume import attachments as core
from overcast.core.volume import exports
from overcast.core.volume.volumes import get_volume


class _Base:
    def __init__(self, core_: VolumeCore):
        self.core = core_

    def show(self, req: falcon.Request, attachment_id: str, op_id: str | None) -> dict[str, Any]:
        """The attachment, once its export (if one was asked for) is done (:func:`exports.wait`)."""
        if op_id is not None:
            exports.wait(self.core.store, op_id)
        with self.core.store.session() as session:
            return {"attachment": VolumeViews.attachment(core.get_attachment(session, caller(req), attachment_id,
                                                                             region=req.context.region))}


class Attachments(_Base):
    def __init__(self, core_: VolumeCore, detail: bool):
        super().__init__(core_)
        self.detail = detail

    def on_get(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        require(req, "3.27")
        ctx = enforce(req, "volume:attachment_get_all")
        with self.core.store.session() as session:
            rows = core.list_attachments(session, ctx, region=req.context.region, all_tenants=all_tenants(req),
                                         volume_id=one(req, "volume_id"), instance_id=one(req, "instance_id"))
            resp.media = {"attachments": [VolumeViews.attachment(a, detail=self.detail) for a in rows]}

    on_head = on_get

    def on_post(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        require(req, "3.27")
        ctx = enforce(req, "volume:attachment_create")
        body = read_json(req, schemas.CREATE_ATTACHMENT)["attachment"]
        with self.core.store.session() as session:
            volume = get_volume(session, ctx, body["volume_uuid"], region=req.context.region)
            self.core.volume_driver(volume.cloud)  # 501 for a region without block storage
            attachment, op_id = core.create(session, ctx, volume, instance_uuid=body.get("instance_uuid"),
                                            connector=body.get("connector"), mode=body.get("mode", "rw"),
                                            request_id=req.context.request_id)
            session.flush()
            attachment_id = attachment.id
        resp.media = self.show(req, attachment_id, op_id)


class AttachmentItem(_Base):
    def on_get(self, req: falcon.Request, resp: falcon.Response, attachment_id: str, **_: str) -> None:
        require(req, "3.27")
        ctx = enforce(req, "volume:attachment_get")
        with self.core.store.session() as session:
            attachment = core.get_attachment(session, ctx, attachment_id, region=req.context.region)
            resp.media = {"attachment": VolumeViews.attachment(attachment)}

    on_head = on_get

    def on_put(self, req: falcon.Request, resp: falcon.Response, attachment_id: str, **_: str) -> None:
        require(req, "3.27")
        ctx = enforce(req, "volume:attachment_update")
        connector = read_json(req, schemas.UPDATE_ATTACHMENT)["attachment"]["connector"]
        with self.core.store.session() as session:
            attachment = core.get_attachment(session, ctx, attachment_id, region=req.context.region)
            op_id = core.update(session, ctx, attachment, connector, request_id=req.context.request_id)
        resp.media = self.show(req, attachment_id, op_id)

    def on_delete(self, req: falcon.Request, resp: falcon.Response, attachment_id: str, **_: str) -> None:
        require(req, "3.27")
        ctx = enforce(req, "volume:attachment_delete")
        with self.core.store.session() as session:
            attachment = core.get_attachment(session, ctx, attachment_id, region=req.context.region)
            core.delete(session, ctx, attachment, request_id=req.context.request_id)
        resp.media = {"attachments": []}


class AttachmentAction(_Base):
    def on_post(self, req: falcon.Request, resp: falcon.Response, attachment_id: str, **_: str) -> None:
        require(req, "3.44")
        body = read_json(req)
        if not isinstance(body, dict) or "os-complete" not in body:
            raise faults.BadRequest(f"There is no such action: {next(iter(body), None) if isinstance(body, dict) else None}")
        ctx = enforce(req, "volume:attachment_complete")
        with self.core.store.session() as session:
            core.complete(session, ctx, core.get_attachment(session, ctx, attachment_id, region=req.context.region))
        resp.status = falcon.HTTP_204


def bind(registry: Registry, core_: VolumeCore) -> None:
    registry.bind("volume", "attachments", Attachments(core_, detail=False))
    registry.bind("volume", "attachments_detail", Attachments(core_, detail=True))
    registry.bind("volume", "attachment", AttachmentItem(core_))
    registry.bind("volume", "attachment_action", AttachmentAction(core_))
