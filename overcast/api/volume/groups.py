"""/groups (3.13+; create-from-src 3.14, reset_status 3.20) and /group_snapshots (3.14+;
reset_status 3.19): wire format only."""

from __future__ import annotations

from typing import Any, Mapping

import falcon

from overcast.api import faults
from overcast.api.routing import Registry
from overcast.api.validation import read_json, validate
from overcast.api.volume import schemas
from overcast.api.volume.common import all_tenants, at_least, caller, enforce, one, page, parse_bool, require, target
from overcast.api.volume.views import timestamp
from overcast.core.volume import VolumeCore
from overcast.core.volume import group_snapshots, groups
from overcast.store.volume import GroupSnapshot, VolumeGroup

GROUPS, FROM_SOURCE, SNAPSHOT_RESET, GROUP_RESET = "3.13", "3.14", "3.19", "3.20"
#: group views list the group's volumes when asked (list_volume=true) from 3.25, replication from 3.38
VOLUME_LIST, REPLICATION = "3.25", "3.38"


def _ids(value: str | None) -> list[str]:
    """Cinder's comma-separated volume ids."""
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def members(req: falcon.Request, session: Any, shown: list[VolumeGroup]) -> Mapping[str, list[str]] | None:
    """The volume ids of each group shown, when the request asks for them (``list_volume``, 3.25+),
    in one query; None when it does not. :raises faults.BadRequest: ``list_volume`` not a boolean."""
    if not shown or not (at_least(req, VOLUME_LIST)
                         and parse_bool("list_volume", one(req, "list_volume") or "false")):
        return None
    return groups.volume_ids(session, [g.id for g in shown])


def group_view(req: falcon.Request, group: VolumeGroup, volume_ids: Mapping[str, list[str]] | None) -> dict[str, Any]:
    """A group's detail; ``volume_ids`` (from :func:`members`) lists its volumes when given."""
    body: dict[str, Any] = {
        "id": group.id, "name": group.name, "description": group.description, "status": group.status,
        "availability_zone": group.availability_zone, "created_at": timestamp(group.created_at),
        "group_type": group.group_type_id, "volume_types": list(group.volume_type_ids or []),
        "group_snapshot_id": group.group_snapshot_id, "source_group_id": group.source_group_id}
    if volume_ids is not None:
        body["volumes"] = volume_ids.get(group.id, [])
    if at_least(req, REPLICATION):
        body["replication_status"] = "disabled"
    return body


def group_snapshot_view(group_snapshot: GroupSnapshot) -> dict[str, Any]:
    return {"id": group_snapshot.id, "name": group_snapshot.name, "description": group_snapshot.description,
            "status": group_snapshot.status, "group_id": group_snapshot.group_id,
            "group_type_id": group_snapshot.group_type_id, "created_at": timestamp(group_snapshot.created_at)}


def fetch_group(req: falcon.Request, session: Any, group_id: str, action: str) -> VolumeGroup:
    """:raises faults.NotFound: before 3.13. :raises NotFound: :raises Forbidden:"""
    require(req, GROUPS)
    group = groups.get_group(session, caller(req), group_id, region=req.context.region)
    enforce(req, action, target(group))
    return group


def fetch_group_snapshot(req: falcon.Request, session: Any, group_snapshot_id: str, action: str) -> GroupSnapshot:
    """:raises faults.NotFound: before 3.14. :raises NotFound: :raises Forbidden:"""
    require(req, FROM_SOURCE)
    group_snapshot = group_snapshots.get(session, caller(req), group_snapshot_id, region=req.context.region)
    enforce(req, action, target(group_snapshot))
    return group_snapshot


class _Base:
    def __init__(self, core_: VolumeCore):
        self.core = core_


class Groups(_Base):
    def __init__(self, core_: VolumeCore, detail: bool):
        super().__init__(core_)
        self.detail = detail

    def on_get(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        require(req, GROUPS)
        ctx = enforce(req, "group:get_all")
        with self.core.store.session() as session:
            rows, _full = groups.list_groups(session, ctx, page(req, groups.SORT_KEYS), region=req.context.region,
                                              all_tenants=all_tenants(req))
            if self.detail:
                volume_ids = members(req, session, rows)
                resp.media = {"groups": [group_view(req, g, volume_ids) for g in rows]}
            else:
                resp.media = {"groups": [{"id": g.id, "name": g.name} for g in rows]}

    on_head = on_get

    def on_post(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        require(req, GROUPS)
        ctx = enforce(req, "group:create")
        body = read_json(req, schemas.CREATE_GROUP)["group"]
        region = req.context.region
        self.core.volume_driver(region)  # 501 for a region without block storage
        with self.core.store.session() as session:
            group = groups.create(session, ctx, name=body.get("name"), description=body.get("description"),
                                  group_type=body["group_type"], volume_types=body["volume_types"],
                                  availability_zone=body.get("availability_zone"), region=region)
            resp.media = {"group": {"id": group.id, "name": group.name}}
        resp.status = falcon.HTTP_202


class GroupsAction(_Base):
    """POST /groups/action: create-from-src (3.14)."""

    def on_post(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        require(req, FROM_SOURCE)
        ctx = enforce(req, "group:create")
        body = read_json(req, schemas.CREATE_GROUP_FROM_SOURCE)["create-from-src"]
        snapshot_id, group_id = body.get("group_snapshot_id"), body.get("source_group_id")
        if bool(snapshot_id) == bool(group_id):
            raise faults.BadRequest("Invalid input received: Either 'group_snapshot_id' or 'source_group_id' must be "
                                    f"provided to create group {body.get('name')} from source.")
        with self.core.store.session() as session:
            source = (group_snapshots.get(session, ctx, snapshot_id, region=req.context.region) if snapshot_id
                      else groups.get_group(session, ctx, group_id, region=req.context.region))
            group = groups.create_from_source(session, ctx, source, name=body.get("name"),
                                              description=body.get("description"), request_id=req.context.request_id)
            resp.media = {"group": {"id": group.id, "name": group.name}}
        resp.status = falcon.HTTP_202


class GroupItem(_Base):
    def on_get(self, req: falcon.Request, resp: falcon.Response, group_id: str, **_: str) -> None:
        with self.core.store.session() as session:
            group = fetch_group(req, session, group_id, "group:get")
            resp.media = {"group": group_view(req, group, members(req, session, [group]))}

    on_head = on_get

    def on_put(self, req: falcon.Request, resp: falcon.Response, group_id: str, **_: str) -> None:
        body = read_json(req, schemas.UPDATE_GROUP)["group"]
        with self.core.store.session() as session:
            groups.update(session, caller(req), fetch_group(req, session, group_id, "group:update"),
                          name=body.get("name"), description=body.get("description"),
                          add=_ids(body.get("add_volumes")), remove=_ids(body.get("remove_volumes")))
        resp.status = falcon.HTTP_202


class GroupAction(_Base):
    """POST /groups/{id}/action: delete, reset_status (3.20)."""

    def on_post(self, req: falcon.Request, resp: falcon.Response, group_id: str, **_: str) -> None:
        body = read_json(req)
        name = next(iter(body), None) if isinstance(body, dict) else None
        if name == "delete":
            args = validate(body, schemas.DELETE_GROUP)["delete"]
            with self.core.store.session() as session:
                group = fetch_group(req, session, group_id, "group:delete")
                groups.delete(session, caller(req), group, request_id=req.context.request_id,
                              delete_volumes=parse_bool("delete-volumes", args.get("delete-volumes", False)))
        elif name == "reset_status" and at_least(req, GROUP_RESET):
            status = validate(body, schemas.RESET_STATUS)["reset_status"]["status"]
            with self.core.store.session() as session:
                groups.reset_status(fetch_group(req, session, group_id, "group:reset_status"), status)
        else:
            raise faults.BadRequest(f"There is no such action: {name}")
        resp.status = falcon.HTTP_202


class GroupSnapshots(_Base):
    def __init__(self, core_: VolumeCore, detail: bool):
        super().__init__(core_)
        self.detail = detail

    def on_get(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        require(req, FROM_SOURCE)
        ctx = enforce(req, "group:get_all_group_snapshots")
        with self.core.store.session() as session:
            rows, _full = group_snapshots.list_group_snapshots(session, ctx, page(req, group_snapshots.SORT_KEYS),
                                                               region=req.context.region,
                                                               all_tenants=all_tenants(req))
            resp.media = {"group_snapshots": [group_snapshot_view(g) if self.detail else {"id": g.id, "name": g.name}
                                              for g in rows]}

    on_head = on_get

    def on_post(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        require(req, FROM_SOURCE)
        body = read_json(req, schemas.CREATE_GROUP_SNAPSHOT)["group_snapshot"]
        with self.core.store.session() as session:
            ctx = caller(req)
            group = groups.get_group(session, ctx, body["group_id"], region=req.context.region)
            enforce(req, "group:create_group_snapshot", target(group))
            group_snapshot = group_snapshots.create(session, ctx, group, name=body.get("name"),
                                                    description=body.get("description"),
                                                    request_id=req.context.request_id)
            resp.media = {"group_snapshot": {"id": group_snapshot.id, "name": group_snapshot.name,
                                             "group_type_id": group_snapshot.group_type_id}}
        resp.status = falcon.HTTP_202


class GroupSnapshotItem(_Base):
    def on_get(self, req: falcon.Request, resp: falcon.Response, group_snapshot_id: str, **_: str) -> None:
        with self.core.store.session() as session:
            resp.media = {"group_snapshot": group_snapshot_view(
                fetch_group_snapshot(req, session, group_snapshot_id, "group:get_group_snapshot"))}

    on_head = on_get

    def on_delete(self, req: falcon.Request, resp: falcon.Response, group_snapshot_id: str, **_: str) -> None:
        with self.core.store.session() as session:
            group_snapshot = fetch_group_snapshot(req, session, group_snapshot_id, "group:delete_group_snapshot")
            group_snapshots.delete(session, caller(req), group_snapshot, request_id=req.context.request_id)
        resp.status = falcon.HTTP_202


class GroupSnapshotAction(_Base):
    """POST /group_snapshots/{id}/action: reset_status (3.19)."""

    def on_post(self, req: falcon.Request, resp: falcon.Response, group_snapshot_id: str, **_: str) -> None:
        body = read_json(req)
        name = next(iter(body), None) if isinstance(body, dict) else None
        if name != "reset_status" or not at_least(req, SNAPSHOT_RESET):
            raise faults.BadRequest(f"There is no such action: {name}")
        status = validate(body, schemas.RESET_STATUS)["reset_status"]["status"]
        with self.core.store.session() as session:
            group_snapshots.reset_status(fetch_group_snapshot(req, session, group_snapshot_id,
                                                              "group:reset_group_snapshot_status"), status)
        resp.status = falcon.HTTP_202


def bind(registry: Registry, core_: VolumeCore) -> None:
    registry.bind("volume", "groups", Groups(core_, detail=False))
    registry.bind("volume", "groups_detail", Groups(core_, detail=True))
    registry.bind("volume", "groups_action", GroupsAction(core_))
    registry.bind("volume", "group", GroupItem(core_))
    registry.bind("volume", "group_action", GroupAction(core_))
    registry.bind("volume", "group_snapshots", GroupSnapshots(core_, detail=False))
    registry.bind("volume", "group_snapshots_detail", GroupSnapshots(core_, detail=True))
    registry.bind("volume", "group_snapshot", GroupSnapshotItem(core_))
    registry.bind("volume", "group_snapshot_action", GroupSnapshotAction(core_))
