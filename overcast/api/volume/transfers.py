"""Volume transfers: /os-volume-transfer and, from 3.55, /volume-transfers (``no_snapshots``);
3.57 adds the source and destination projects and ``accepted``. Wire format only."""

from __future__ import annotations

from typing import Any

import falcon

from overcast.api.routing import Registry
from overcast.api.validation import read_json
from overcast.api.volume import schemas
from overcast.api.volume.common import Links, all_tenants, at_least, caller, enforce, parse_bool, require, target
from overcast.api.volume.views import timestamp
from overcast.core.volume import VolumeCore
from overcast.core.volume import transfers as core
from overcast.core.volume.volumes import get_volume
from overcast.store.volume import VolumeTransfer

#: from this microversion transfers can leave the volume's snapshots behind (and /volume-transfers exists)
NO_SNAPSHOTS = "3.55"
#: from this one transfers show their projects and whether they were accepted
DETAILS = "3.57"


class _Base:
    def __init__(self, core_: VolumeCore, links: Links, collection: str):
        self.core, self.links, self.collection = core_, links, collection

    def require(self, req: falcon.Request) -> None:
        """:raises faults.NotFound: /volume-transfers before 3.55."""
        if self.collection == "volume-transfers":
            require(req, NO_SNAPSHOTS)

    def summary(self, transfer: VolumeTransfer) -> dict[str, Any]:
        return {"id": transfer.id, "name": transfer.name, "volume_id": transfer.volume_id,
                "links": self.links.pair(transfer.source_project_id, self.collection, transfer.id)}

    def detail(self, req: falcon.Request, transfer: VolumeTransfer) -> dict[str, Any]:
        body = {**self.summary(transfer), "created_at": timestamp(transfer.created_at)}
        if at_least(req, NO_SNAPSHOTS):
            body["no_snapshots"] = transfer.no_snapshots
        if at_least(req, DETAILS):
            # an accepted transfer is gone, so every transfer shown is still waiting for its receiver
            body.update(source_project_id=transfer.source_project_id, destination_project_id=None, accepted=False)
        return body


class Transfers(_Base):
    def __init__(self, core_: VolumeCore, links: Links, collection: str, detail: bool):
        super().__init__(core_, links, collection)
        self.with_detail = detail

    def on_get(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        self.require(req)
        ctx = enforce(req, "volume:get_all_transfers")
        with self.core.store.session() as session:
            rows = core.list_transfers(session, ctx, region=req.context.region, all_tenants=all_tenants(req))
            resp.media = {"transfers": [self.detail(req, t) if self.with_detail else self.summary(t) for t in rows]}

    on_head = on_get

    def on_post(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        self.require(req)
        schema = schemas.CREATE_TRANSFER_355 if at_least(req, NO_SNAPSHOTS) else schemas.CREATE_TRANSFER
        body = read_json(req, schema)["transfer"]
        with self.core.store.session() as session:
            ctx = caller(req)
            volume = get_volume(session, ctx, body["volume_id"], region=req.context.region)
            enforce(req, "volume:create_transfer", target(volume))
            transfer, auth_key = core.create(session, ctx, volume, name=body.get("name"),
                                             no_snapshots=parse_bool("no_snapshots", body.get("no_snapshots", False)))
            resp.media = {"transfer": {**self.detail(req, transfer), "auth_key": auth_key}}
        resp.status = falcon.HTTP_202


class TransferItem(_Base):
    def on_get(self, req: falcon.Request, resp: falcon.Response, transfer_id: str, **_: str) -> None:
        self.require(req)
        with self.core.store.session() as session:
            transfer = core.get(session, caller(req), transfer_id, region=req.context.region)
            enforce(req, "volume:get_transfer", {"project_id": transfer.source_project_id})
            resp.media = {"transfer": self.detail(req, transfer)}

    on_head = on_get

    def on_delete(self, req: falcon.Request, resp: falcon.Response, transfer_id: str, **_: str) -> None:
        self.require(req)
        with self.core.store.session() as session:
            transfer = core.get(session, caller(req), transfer_id, region=req.context.region)
            enforce(req, "volume:delete_transfer", {"project_id": transfer.source_project_id})
            core.delete(session, transfer)
        resp.status = falcon.HTTP_202


class TransferAccept(_Base):
    def on_post(self, req: falcon.Request, resp: falcon.Response, transfer_id: str, **_: str) -> None:
        self.require(req)
        ctx = enforce(req, "volume:accept_transfer")
        auth_key = read_json(req, schemas.ACCEPT_TRANSFER)["accept"]["auth_key"]
        with self.core.store.session() as session:
            transfer = core.accept(session, ctx, transfer_id, auth_key, region=req.context.region)
            resp.media = {"transfer": self.summary(transfer)}
        resp.status = falcon.HTTP_202


def bind(registry: Registry, core_: VolumeCore, links: Links) -> None:
    for prefix, collection in (("transfers_legacy", "os-volume-transfer"), ("transfers", "volume-transfers")):
        item = prefix.replace("transfers", "transfer")
        registry.bind("volume", prefix, Transfers(core_, links, collection, detail=False))
        registry.bind("volume", f"{prefix}_detail", Transfers(core_, links, collection, detail=True))
        registry.bind("volume", item, TransferItem(core_, links, collection))
        registry.bind("volume", f"{item}_accept", TransferAccept(core_, links, collection))
