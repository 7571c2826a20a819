"""``/os-assisted-volume-snapshots`` (services and admins; Cinder's file-based drivers call it):
Nova's request schema and answers, the rules in :mod:`overcast.core.compute.assisted_snapshots`."""

from __future__ import annotations

import json
from typing import Any

import falcon

from overcast.api import faults
from overcast.api.compute.common import at_least, caller, enforce, refuse_unknown
from overcast.api.routing import Registry
from overcast.api.validation import read_json
from overcast.core.compute import ComputeCore
from overcast.core.compute import assisted_snapshots as rules

_ID = {"type": "string", "minLength": 1}
CREATE_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["snapshot"], "additionalProperties": False,
    "properties": {"snapshot": {
        "type": "object", "required": ["volume_id", "create_info"], "additionalProperties": False,
        "properties": {
            "volume_id": _ID,
            "create_info": {
                "type": "object", "required": ["snapshot_id", "type", "new_file"], "additionalProperties": False,
                "properties": {"snapshot_id": _ID, "type": {"type": "string", "enum": ["qcow2"]},
                               "new_file": _ID, "id": _ID}}}}},
}
_POLICY = "os_compute_api:os-assisted-volume-snapshots:"


class AssistedVolumeSnapshots:
    def __init__(self, core: ComputeCore):
        self.core = core

    def _capabilities(self, req: falcon.Request) -> frozenset:
        return self.core.compute_driver(req.context.region).capabilities

    def on_post(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        body = read_json(req, CREATE_SCHEMA)["snapshot"]
        enforce(req, _POLICY + "create", {})  # Cinder calls it with no project of the volume's: no target
        info = body["create_info"]
        with self.core.store.session() as session:
            made = rules.create(session, caller(req), body["volume_id"], snapshot_id=info["snapshot_id"],
                                new_file=info["new_file"], snapshot_ref=info.get("id"), region=req.context.region,
                                capabilities=self._capabilities(req), request_id=req.context.request_id)
        resp.media = {"snapshot": {"id": made.id, "volumeId": made.volume_id}}

    def on_delete(self, req: falcon.Request, resp: falcon.Response, snapshot_id: str, **_: str) -> None:
        if at_least(req, "2.75"):
            refuse_unknown(req, ("delete_info",))
        enforce(req, _POLICY + "delete", {})
        raw = req.params.get("delete_info")
        if isinstance(raw, list):
            raw = raw[-1]
        if raw is None:
            raise faults.BadRequest("'delete_info'")
        try:
            info = json.loads(raw)
            volume_id = info["volume_id"]
        except (ValueError, TypeError, KeyError) as exc:  # Nova answers with the exception's text
            raise faults.BadRequest(str(exc)) from None
        with self.core.store.session() as session:
            rules.delete(session, caller(req), str(volume_id), snapshot_id, region=req.context.region,
                         capabilities=self._capabilities(req), request_id=req.context.request_id)
        resp.status = falcon.HTTP_204


def bind(registry: Registry, core: ComputeCore) -> None:
    resource = AssistedVolumeSnapshots(core)
    registry.bind("compute", "v2_os_assisted_volume_snapshots", resource)
    registry.bind("compute", "v2_os_assisted_volume_snapshot", resource)
