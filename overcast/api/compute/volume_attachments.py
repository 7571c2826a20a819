"""``/servers/{id}/os-volume_attachments``: a server's volumes. Wire format only: request
schemas and views per microversion (2.70 ``tag``, 2.79 ``delete_on_termination``, 2.89
``attachment_id`` and ``bdm_uuid`` instead of ``id``); the rules are in
:mod:`overcast.core.compute.volumes`."""

from __future__ import annotations

import functools
from typing import Any

import falcon

from overcast.api.compute.common import at_least, caller, enforce, int_param, refuse_unknown, version
from overcast.api.compute.server_schemas import BOOLEAN, TAG
from overcast.api.compute.server_views import ServerViews
from overcast.api.compute.servers import ServerResource, target
from overcast.api.microversions import Version
from overcast.api.routing import Registry
from overcast.api.validation import read_json
from overcast.core.compute import ComputeCore, block_devices
from overcast.core.compute import servers as core_servers
from overcast.core.compute import volumes as core_volumes
from overcast.core.compute.block_devices import DEVICE_PATTERN
from overcast.store.compute import BlockDeviceMapping

_POLICY = "os_compute_api:os-volumes-attachments:"
_UUID = {"type": "string", "format": "uuid"}
_DEVICE = {"type": ["string", "null"], "pattern": DEVICE_PATTERN}
_QUERY = ("limit", "offset")


def _body(props: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": ["volumeAttachment"], "additionalProperties": False,
            "properties": {"volumeAttachment": {"type": "object", "properties": props, "required": ["volumeId"],
                                                "additionalProperties": False}}}


@functools.lru_cache(maxsize=None)
def create_schema(v: Version) -> dict[str, Any]:
    props: dict[str, Any] = {"volumeId": _UUID, "device": _DEVICE}
    if v >= Version(2, 49):
        props["tag"] = TAG
    if v >= Version(2, 79):
        props["delete_on_termination"] = BOOLEAN
    return _body(props)


@functools.lru_cache(maxsize=None)
def update_schema(v: Version) -> dict[str, Any]:
    if v >= Version(2, 85):  # what GET shows may be sent back; only delete_on_termination may change
        return _body({"volumeId": _UUID, "device": _DEVICE, "tag": TAG, "delete_on_termination": BOOLEAN,
                      "serverId": _UUID, "id": _UUID})
    return _body({"volumeId": _UUID})


def view(req: falcon.Request, mapping: BlockDeviceMapping, *, created: bool = False) -> dict[str, Any]:
    """One attachment as Nova shows it; a create answers without the 2.89 fields and always with ``device``."""
    ids_by_bdm = at_least(req, "2.89") and not created
    out: dict[str, Any] = {} if ids_by_bdm else {"id": mapping.volume_id}
    out.update(volumeId=mapping.volume_id, serverId=mapping.server_id)
    if mapping.device_name or created:
        out["device"] = mapping.device_name
    if at_least(req, "2.70"):
        out["tag"] = mapping.tag
    if at_least(req, "2.79"):
        out["delete_on_termination"] = bool(mapping.delete_on_termination)
    if ids_by_bdm:
        out.update(attachment_id=mapping.attachment_id, bdm_uuid=mapping.id)
    return out


class VolumeAttachments(ServerResource):
    def on_get(self, req: falcon.Request, resp: falcon.Response, server_id: str, **_: str) -> None:
        if at_least(req, "2.75"):
            refuse_unknown(req, _QUERY)
        limit = int_param(req, "limit", None) or None
        offset = int_param(req, "offset", 0) or 0
        with self.core.store.session() as session:
            server = core_servers.get_server(session, caller(req), server_id, region=req.context.region)
            enforce(req, _POLICY + "index", target(server))
            mappings = [m for m in server.volume_mappings if m.volume_id]
            shown = mappings[offset:offset + limit] if limit is not None else mappings[offset:]
            resp.media = {"volumeAttachments": [view(req, m) for m in shown]}

    on_head = on_get

    def on_post(self, req: falcon.Request, resp: falcon.Response, server_id: str, **_: str) -> None:
        body = read_json(req, create_schema(version(req)))["volumeAttachment"]
        ctx = caller(req)
        with self.core.store.session() as session:
            server = core_servers.get_server(session, ctx, server_id, region=req.context.region, for_update=True)
            enforce(req, _POLICY + "create", target(server))
            mapping = core_volumes.attach(
                session, ctx, server, body["volumeId"], device=body.get("device"), tag=body.get("tag"),
                delete_on_termination=block_devices.flag(body.get("delete_on_termination", False)),
                capabilities=self.capabilities(server), allow_shelved=at_least(req, "2.20"),
                allow_multiattach=at_least(req, "2.60"), request_id=req.context.request_id)
            resp.media = {"volumeAttachment": view(req, mapping, created=True)}


class VolumeAttachment(ServerResource):
    def on_get(self, req: falcon.Request, resp: falcon.Response, server_id: str, volume_id: str, **_: str) -> None:
        with self.core.store.session() as session:
            server = core_servers.get_server(session, caller(req), server_id, region=req.context.region)
            enforce(req, _POLICY + "show", target(server))
            resp.media = {"volumeAttachment": view(req, core_volumes.attached(server, volume_id))}

    on_head = on_get

    def on_put(self, req: falcon.Request, resp: falcon.Response, server_id: str, volume_id: str, **_: str) -> None:
        body = read_json(req, update_schema(version(req)))["volumeAttachment"]
        ctx = caller(req)
        swap_only = not at_least(req, "2.85")
        with self.core.store.session() as session:
            server = core_servers.get_server(session, ctx, server_id, region=req.context.region, for_update=True)
            if swap_only or body["volumeId"] != volume_id:
                enforce(req, _POLICY + "swap", {})  # Nova checks a swap without a target: Cinder calls it
            else:
                enforce(req, _POLICY + "update", target(server))
            core_volumes.update(session, ctx, server, volume_id, body, swap_only=swap_only)
        resp.status = falcon.HTTP_202

    def on_delete(self, req: falcon.Request, resp: falcon.Response, server_id: str, volume_id: str,
                  **_: str) -> None:
        ctx = caller(req)
        with self.core.store.session() as session:
            server = core_servers.get_server(session, ctx, server_id, region=req.context.region, for_update=True)
            enforce(req, _POLICY + "delete", target(server))
            core_volumes.detach(session, ctx, server, volume_id, capabilities=self.capabilities(server),
                                allow_shelved=at_least(req, "2.20"), request_id=req.context.request_id)
        resp.status = falcon.HTTP_202


def bind(registry: Registry, core: ComputeCore, views: ServerViews) -> None:
    registry.bind("compute", "v2_os_volume_attachments", VolumeAttachments(core, views))
    registry.bind("compute", "v2_os_volume_attachments_detail", VolumeAttachment(core, views))
