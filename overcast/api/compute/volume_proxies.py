"""Nova's volume proxies over Cinder (below 2.36; 404 from 2.36): ``os-volumes`` (list, detail,
show, create, delete) and ``os-snapshots`` (the same). Wire format only: request schemas, Nova's
camelCase views and ``limit``/``offset``; the rules are Cinder's, reached through
:mod:`overcast.core.compute.volume_proxies`.

Request bodies take Nova's types (``nova/api/openstack/compute/schemas/volumes.py``) with
Cinder's bounds (what Cinder would refuse, Nova passes on as a 400). One addition to Nova's
schema: ``imageRef`` makes a bootable volume from an image, as novaclient's ``volumes.create``
offered it (Nova itself answers it with "Additional properties are not allowed").
"""

from __future__ import annotations

from typing import Any

import falcon

from overcast.api import faults
from overcast.api.compute.common import PROXY_MAX, caller, enforce, limited, served
from overcast.api.compute.flavors import parse_bool
from overcast.api.compute.server_schemas import BOOLEAN
from overcast.api.routing import Registry
from overcast.api.validation import read_json
from overcast.api.volume import schemas as cinder_schemas
from overcast.api.volume.views import timestamp
from overcast.api.volume.volumes import size_of, type_names
from overcast.core.compute import ComputeCore
from overcast.core.compute import volume_proxies as rules
from overcast.core.volume import VolumeCore, build_volume, states
from overcast.core.volume.volumes import VolumeSpec
from overcast.store.volume import Snapshot, Volume

_POLICY = "os_compute_api:os-volumes:"
_TEXT = {"type": "string", "maxLength": 255}
CREATE_VOLUME = {
    "type": "object", "required": ["volume"], "additionalProperties": False,
    "properties": {"volume": {
        "type": "object", "required": ["size"], "additionalProperties": False,
        "properties": {"size": cinder_schemas.SIZE, "display_name": _TEXT, "display_description": _TEXT,
                       "volume_type": _TEXT, "availability_zone": _TEXT, "metadata": cinder_schemas.METADATA,
                       "snapshot_id": {"type": "string"}, "imageRef": {"type": "string"}}}}}
CREATE_SNAPSHOT = {
    "type": "object", "required": ["snapshot"], "additionalProperties": False,
    "properties": {"snapshot": {
        "type": "object", "required": ["volume_id"], "additionalProperties": False,
        "properties": {"volume_id": {"type": "string"}, "force": BOOLEAN, "display_name": _TEXT,
                       "display_description": _TEXT}}}}


def _size(value: Any) -> int:
    """The size asked for, as Cinder bounds it (its schema checks numeric strings too).

    :raises faults.BadRequest: below 1 or above Cinder's maximum, naming the field.
    """
    size = size_of(value, "volume.size")
    maximum = cinder_schemas.SIZE["maximum"]
    if size > maximum:
        raise faults.BadRequest(f"Invalid input for field 'volume.size': {value} is greater than the maximum of "
                                f"{maximum}.")
    return size


def _attachments(volume: Volume) -> list[dict[str, Any]]:
    """Nova shows the first server the volume is attached to, or ``[{}]`` when it is attached to none."""
    attached = next((a for a in volume.attachments if a.attach_status == states.ATTACHED), None)
    if attached is None:
        return [{}]
    view = {"id": volume.id, "volumeId": volume.id, "serverId": attached.instance_uuid}
    if attached.mountpoint:
        view["device"] = attached.mountpoint
    return [view]


def volume_view(volume: Volume, types: dict[str, str]) -> dict[str, Any]:
    """One volume as Nova shows it (summary and detail are the same)."""
    return {"id": volume.id, "status": volume.status, "size": volume.size,
            "availabilityZone": volume.availability_zone, "createdAt": timestamp(volume.created_at),
            "attachments": _attachments(volume), "displayName": volume.name,
            "displayDescription": volume.description, "volumeType": types.get(volume.volume_type_id or ""),
            "snapshotId": volume.snapshot_id, "metadata": dict(volume.metadata_ or {})}


def snapshot_view(snapshot: Snapshot) -> dict[str, Any]:
    """One snapshot as Nova shows it (summary and detail are the same)."""
    return {"id": snapshot.id, "volumeId": snapshot.volume_id, "status": snapshot.status, "size": snapshot.size,
            "createdAt": timestamp(snapshot.created_at), "displayName": snapshot.name,
            "displayDescription": snapshot.description}


def _allow(req: falcon.Request, action: str) -> None:
    """Nova's policy for ``action``, checked before it calls Cinder. :raises overcast.core.errors.Forbidden:"""
    enforce(req, _POLICY + action, {"project_id": caller(req).project_id})


class _Base:
    def __init__(self, core: ComputeCore, volume: VolumeCore):
        self.core, self.volume = core, volume


class VolumeList(_Base):
    """``GET /os-volumes`` (``action="list"``) or ``/os-volumes/detail`` (``"detail"``): the same view."""

    def __init__(self, core: ComputeCore, volume: VolumeCore, action: str):
        super().__init__(core, volume)
        self.action = action

    def on_get(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        served(req, last=PROXY_MAX)
        _allow(req, self.action)
        with self.core.store.session() as session:
            shown = limited(req, rules.list_volumes(session, caller(req), region=req.context.region))
            types = type_names(session)
            resp.media = {"volumes": [volume_view(v, types) for v in shown]}

    on_head = on_get


class Volumes(VolumeList):
    def on_post(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        served(req, last=PROXY_MAX)
        body = read_json(req, CREATE_VOLUME)["volume"]
        size = _size(body["size"])
        _allow(req, "create")
        spec = VolumeSpec(size=size, name=body.get("display_name"), description=body.get("display_description"),
                          volume_type=body.get("volume_type"), availability_zone=body.get("availability_zone"),
                          metadata=body.get("metadata") or {}, snapshot_id=body.get("snapshot_id"),
                          image_ref=body.get("imageRef"))
        with self.core.store.session() as session:
            volume = rules.create_volume(self.volume, session, caller(req), spec, region=req.context.region,
                                         request_id=req.context.request_id)
            resp.media = {"volume": volume_view(volume, type_names(session))}
        # Nova's Location is the URL asked for (region prefix and project id included) and the id
        resp.location = f"{req.prefix}{req.env.get('PATH_INFO') or req.path}/{volume.id}"


class VolumeItem(_Base):
    def on_get(self, req: falcon.Request, resp: falcon.Response, volume_id: str, **_: str) -> None:
        served(req, last=PROXY_MAX)
        _allow(req, "show")
        with self.core.store.session() as session:
            volume = rules.get_volume(session, caller(req), volume_id, region=req.context.region)
            resp.media = {"volume": volume_view(volume, type_names(session))}

    on_head = on_get

    def on_delete(self, req: falcon.Request, resp: falcon.Response, volume_id: str, **_: str) -> None:
        served(req, last=PROXY_MAX)
        _allow(req, "delete")
        with self.core.store.session() as session:
            rules.delete_volume(session, caller(req), volume_id, region=req.context.region,
                                request_id=req.context.request_id)
        resp.status = falcon.HTTP_202


class SnapshotList(_Base):
    """``GET /os-snapshots`` (``action="list"``) or ``/os-snapshots/detail`` (``"detail"``): the same view."""

    def __init__(self, core: ComputeCore, volume: VolumeCore, action: str):
        super().__init__(core, volume)
        self.action = action

    def on_get(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        served(req, last=PROXY_MAX)
        _allow(req, "snapshots:" + self.action)
        with self.core.store.session() as session:
            shown = limited(req, rules.list_snapshots(session, caller(req), region=req.context.region))
            resp.media = {"snapshots": [snapshot_view(s) for s in shown]}

    on_head = on_get


class Snapshots(SnapshotList):
    def on_post(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        served(req, last=PROXY_MAX)
        body = read_json(req, CREATE_SNAPSHOT)["snapshot"]
        force = parse_bool(body.get("force", False), "snapshot.force")
        _allow(req, "snapshots:create")
        with self.core.store.session() as session:
            snapshot = rules.create_snapshot(session, caller(req), body["volume_id"], region=req.context.region,
                                             name=body.get("display_name"),
                                             description=body.get("display_description"), force=force,
                                             request_id=req.context.request_id)
            resp.media = {"snapshot": snapshot_view(snapshot)}


class SnapshotItem(_Base):
    def on_get(self, req: falcon.Request, resp: falcon.Response, snapshot_id: str, **_: str) -> None:
        served(req, last=PROXY_MAX)
        _allow(req, "snapshots:show")
        with self.core.store.session() as session:
            found = rules.get_snapshot(session, caller(req), snapshot_id, region=req.context.region)
            resp.media = {"snapshot": snapshot_view(found)}

    on_head = on_get

    def on_delete(self, req: falcon.Request, resp: falcon.Response, snapshot_id: str, **_: str) -> None:
        served(req, last=PROXY_MAX)
        _allow(req, "snapshots:delete")
        with self.core.store.session() as session:
            rules.delete_snapshot(session, caller(req), snapshot_id, region=req.context.region,
                                  request_id=req.context.request_id)
        resp.status = falcon.HTTP_202


def bind(registry: Registry, core: ComputeCore) -> None:
    volume = build_volume(core)
    registry.bind("compute", "v2_os_volumes", Volumes(core, volume, "list"))
    registry.bind("compute", "v2_os_volumes_detail", VolumeList(core, volume, "detail"))
    registry.bind("compute", "v2_os_volume", VolumeItem(core, volume))
    registry.bind("compute", "v2_os_snapshots", Snapshots(core, volume, "list"))
    registry.bind("compute", "v2_os_snapshots_detail", SnapshotList(core, volume, "detail"))
    registry.bind("compute", "v2_os_snapshot", SnapshotItem(core, volume))
