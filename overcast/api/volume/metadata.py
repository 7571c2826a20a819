"""``.../metadata`` and ``.../metadata/{key}`` of volumes and snapshots: one resource for both."""

from __future__ import annotations

from typing import Any, Callable

import falcon

from overcast.api import faults
from overcast.api.validation import read_json
from overcast.api.volume import schemas
from overcast.api.volume.common import caller, enforce, target
from overcast.core.context import AuthContext
from overcast.core.volume import VolumeCore
from overcast.core.volume import metadata as core

#: (session, caller, id, region=...) -> the record, raising NotFound
Fetch = Callable[[Any, AuthContext, str], Any]


class Metadata:
    def __init__(self, volume_core: VolumeCore, fetch: Fetch, id_param: str, read: str, write: str):
        self.core, self.fetch, self.id_param = volume_core, fetch, id_param
        self.read, self.write = read, write

    def _record(self, req: falcon.Request, session: Any, params: dict[str, str], action: str) -> Any:
        record = self.fetch(session, caller(req), params[self.id_param], region=req.context.region)
        enforce(req, action, target(record))
        return record

    def on_get(self, req: falcon.Request, resp: falcon.Response, **params: str) -> None:
        with self.core.store.session() as session:
            resp.media = {"metadata": dict(self._record(req, session, params, self.read).metadata_ or {})}

    on_head = on_get

    def _update(self, req: falcon.Request, resp: falcon.Response, params: dict[str, str], replace: bool) -> None:
        values = read_json(req, schemas.METADATA_BODY)["metadata"]
        with self.core.store.session() as session:
            record = self._record(req, session, params, self.write)
            resp.media = {"metadata": core.update(record, values, replace=replace)}

    def on_post(self, req: falcon.Request, resp: falcon.Response, **params: str) -> None:
        self._update(req, resp, params, replace=False)

    def on_put(self, req: falcon.Request, resp: falcon.Response, **params: str) -> None:
        self._update(req, resp, params, replace=True)


class MetadataItem(Metadata):
    def on_get(self, req: falcon.Request, resp: falcon.Response, **params: str) -> None:
        with self.core.store.session() as session:
            record = self._record(req, session, params, self.read)
            resp.media = {"meta": {params["key"]: core.item(record, params["key"])}}

    on_head = on_get

    def on_put(self, req: falcon.Request, resp: falcon.Response, **params: str) -> None:
        meta = read_json(req, schemas.META_ITEM_BODY)["meta"]
        if params["key"] not in meta:
            raise faults.BadRequest("Request body and URI mismatch")
        with self.core.store.session() as session:
            core.update(self._record(req, session, params, self.write), meta)
        resp.media = {"meta": meta}

    def on_delete(self, req: falcon.Request, resp: falcon.Response, **params: str) -> None:
        with self.core.store.session() as session:
            core.delete_item(self._record(req, session, params, self.write), params["key"])
