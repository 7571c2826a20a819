"""A server's sub-resources: metadata, tags, ips, os-instance-actions, os-security-groups and
os-server-password (diagnostics are in :mod:`overcast.api.compute.diagnostics`). Wire format only."""

from __future__ import annotations

from typing import Any

import falcon
from sqlalchemy import select

from overcast.api import faults
from overcast.api.compute import server_schemas as schemas
from overcast.api.compute.common import MAX_LIMIT, at_least, caller, enforce, int_param, refuse_unknown, version
from overcast.api.compute.flavors import next_links
from overcast.api.compute.security_groups import group_views
from overcast.api.compute.server_views import ServerViews, usg
from overcast.api.compute.servers import ServerResource, parse_time, target
from overcast.api.routing import Registry
from overcast.api.validation import read_json
from overcast.core.compute import ComputeCore, networking
from overcast.core.compute import servers as core_servers
from overcast.core.compute import states as S
from overcast.core.compute.actions import EVENTS
from overcast.core.errors import Conflict
from overcast.ops.engine import events_for, operations_for
from overcast.ops.models import Operation
from overcast.store.compute import ServerMetadata, ServerTag

_META_STATES = {S.ACTIVE, S.PAUSED, S.SUSPENDED, S.STOPPED}
MAX_TAGS = 50


def _meta_state(server: Any, what: str) -> None:
    if server.vm_state not in _META_STATES:
        raise Conflict(f"Cannot '{what}' instance {server.id} while it is in vm_state {server.vm_state}")
    if server.task_state is not None:
        raise Conflict(f"Cannot '{what}' instance {server.id} while it is in task_state {server.task_state}")


class _Sub(ServerResource):
    def server(self, session: Any, req: falcon.Request, server_id: str, policy: str) -> Any:
        server = core_servers.get_server(session, caller(req), server_id, region=req.context.region)
        enforce(req, policy, target(server))
        return server


# -- metadata -------------------------------------------------------------------------------------


def _set_metadata(session: Any, req: falcon.Request, server: Any, items: dict[str, str], *, replace: bool) -> dict:
    core_servers.check_metadata(items)
    current = {m.key: m.value for m in server.metadata_items}
    new = dict(items) if replace else {**current, **items}
    core_servers.check_metadata_quota(session, caller(req), server.project_id, len(new), region=server.cloud)
    server.metadata_items = [ServerMetadata(key=k, value=str(v)) for k, v in sorted(new.items())]
    server.updated_at = core_servers.utcnow()
    return new


class Metadata(_Sub):
    def on_get(self, req: falcon.Request, resp: falcon.Response, server_id: str, **_: str) -> None:
        with self.core.store.session() as session:
            server = self.server(session, req, server_id, "os_compute_api:server-metadata:index")
            resp.media = {"metadata": {m.key: m.value for m in server.metadata_items}}

    on_head = on_get

    def _write(self, req: falcon.Request, resp: falcon.Response, server_id: str, replace: bool) -> None:
        body = read_json(req, schemas.METADATA_BODY)
        policy = "update_all" if replace else "create"
        with self.core.store.session() as session:
            server = self.server(session, req, server_id, f"os_compute_api:server-metadata:{policy}")
            core_servers.check_lock(server, caller(req))
            _meta_state(server, "update_metadata")
            resp.media = {"metadata": _set_metadata(session, req, server, body["metadata"], replace=replace)}

    def on_post(self, req: falcon.Request, resp: falcon.Response, server_id: str, **_: str) -> None:
        self._write(req, resp, server_id, replace=False)

    def on_put(self, req: falcon.Request, resp: falcon.Response, server_id: str, **_: str) -> None:
        self._write(req, resp, server_id, replace=True)


class MetadataItem(_Sub):
    def on_get(self, req: falcon.Request, resp: falcon.Response, server_id: str, key: str, **_: str) -> None:
        with self.core.store.session() as session:
            server = self.server(session, req, server_id, "os_compute_api:server-metadata:show")
            items = {m.key: m.value for m in server.metadata_items}
            if key not in items:
                raise faults.NotFound("Metadata item was not found")
            resp.media = {"meta": {key: items[key]}}

    on_head = on_get

    def on_put(self, req: falcon.Request, resp: falcon.Response, server_id: str, key: str, **_: str) -> None:
        body = read_json(req, schemas.META_ITEM)
        if key not in body["meta"]:
            raise faults.BadRequest("Request body and URI mismatch")
        with self.core.store.session() as session:
            server = self.server(session, req, server_id, "os_compute_api:server-metadata:update")
            core_servers.check_lock(server, caller(req))
            _meta_state(server, "update_metadata")
            _set_metadata(session, req, server, {key: body["meta"][key]}, replace=False)
        resp.media = {"meta": {key: body["meta"][key]}}

    def on_delete(self, req: falcon.Request, resp: falcon.Response, server_id: str, key: str, **_: str) -> None:
        with self.core.store.session() as session:
            server = self.server(session, req, server_id, "os_compute_api:server-metadata:delete")
            core_servers.check_lock(server, caller(req))
            if key not in {m.key for m in server.metadata_items}:
                raise faults.NotFound("Metadata item was not found")
            _meta_state(server, "delete_metadata")
            server.metadata_items = [m for m in server.metadata_items if m.key != key]
            server.updated_at = core_servers.utcnow()
        resp.status = falcon.HTTP_204


# -- tags (2.26) ---------------------------------------------------------------------------------


def _need_tags(req: falcon.Request) -> None:
    if not at_least(req, "2.26"):
        raise faults.NotFound("The resource could not be found.")


def _tag_state(server: Any) -> None:
    if server.vm_state not in (S.ACTIVE, S.PAUSED, S.SUSPENDED, S.STOPPED, S.SHELVED, S.SHELVED_OFFLOADED,
                               S.BUILDING, S.RESIZED, S.ERROR, S.RESCUED):
        raise Conflict(f"Cannot 'update tags' instance {server.id} while it is in vm_state {server.vm_state}")


class Tags(_Sub):
    def on_get(self, req: falcon.Request, resp: falcon.Response, server_id: str, **_: str) -> None:
        _need_tags(req)
        with self.core.store.session() as session:
            server = self.server(session, req, server_id, "os_compute_api:os-server-tags:index")
            resp.media = {"tags": [t.tag for t in server.tags]}

    on_head = on_get

    def on_put(self, req: falcon.Request, resp: falcon.Response, server_id: str, **_: str) -> None:
        _need_tags(req)
        body = read_json(req, schemas.TAGS_BODY)
        tags = list(dict.fromkeys(body["tags"]))
        with self.core.store.session() as session:
            server = self.server(session, req, server_id, "os_compute_api:os-server-tags:update_all")
            _tag_state(server)
            server.tags = [ServerTag(tag=t) for t in tags]
            server.updated_at = core_servers.utcnow()
        resp.media = {"tags": sorted(tags)}

    def on_delete(self, req: falcon.Request, resp: falcon.Response, server_id: str, **_: str) -> None:
        _need_tags(req)
        with self.core.store.session() as session:
            server = self.server(session, req, server_id, "os_compute_api:os-server-tags:delete_all")
            _tag_state(server)
            server.tags = []
            server.updated_at = core_servers.utcnow()
        resp.status = falcon.HTTP_204


class Tag(_Sub):
    def on_get(self, req: falcon.Request, resp: falcon.Response, server_id: str, tag: str, **_: str) -> None:
        _need_tags(req)
        with self.core.store.session() as session:
            server = self.server(session, req, server_id, "os_compute_api:os-server-tags:show")
            if tag not in {t.tag for t in server.tags}:
                raise faults.NotFound(f"Tag {tag} could not be found.")
        resp.status = falcon.HTTP_204

    on_head = on_get

    def on_put(self, req: falcon.Request, resp: falcon.Response, server_id: str, tag: str, **_: str) -> None:
        _need_tags(req)
        if not tag or len(tag) > 60 or "," in tag or "/" in tag:
            raise faults.BadRequest(f"Tag '{tag}' is invalid. It must be a non-empty string of at most 60 "
                                    "characters without ',' or '/'.")
        with self.core.store.session() as session:
            server = self.server(session, req, server_id, "os_compute_api:os-server-tags:update")
            _tag_state(server)
            existing = {t.tag for t in server.tags}
            if tag in existing:
                resp.status = falcon.HTTP_204
            else:
                if len(existing) >= MAX_TAGS:
                    raise faults.BadRequest(f"The number of tags exceeded the per-server limit {MAX_TAGS}")
                server.tags = [*server.tags, ServerTag(tag=tag)]
                server.updated_at = core_servers.utcnow()
                resp.status = falcon.HTTP_201
        resp.set_header("Location", f"{self.views.links.base}/v2.1/servers/{server_id}/tags/{tag}")

    def on_delete(self, req: falcon.Request, resp: falcon.Response, server_id: str, tag: str, **_: str) -> None:
        _need_tags(req)
        with self.core.store.session() as session:
            server = self.server(session, req, server_id, "os_compute_api:os-server-tags:delete")
            _tag_state(server)
            if tag not in {t.tag for t in server.tags}:
                raise faults.NotFound(f"Tag {tag} could not be found.")
            server.tags = [t for t in server.tags if t.tag != tag]
            server.updated_at = core_servers.utcnow()
        resp.status = falcon.HTTP_204


# -- ips --------------------------------------------------------------------------------------------


def _plain(addrs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"version": a["version"], "addr": a["addr"]} for a in addrs]


class Ips(_Sub):
    def on_get(self, req: falcon.Request, resp: falcon.Response, server_id: str, **_: str) -> None:
        with self.core.store.session() as session:
            server = self.server(session, req, server_id, "os_compute_api:ips:index")
            resp.media = {"addresses": {n: _plain(a) for n, a in (server.addresses or {}).items()}}

    on_head = on_get


class IpsNetwork(_Sub):
    def on_get(self, req: falcon.Request, resp: falcon.Response, server_id: str, network_label: str,
               **_: str) -> None:
        with self.core.store.session() as session:
            server = self.server(session, req, server_id, "os_compute_api:ips:show")
            addresses = server.addresses or {}
            if network_label not in addresses:
                raise faults.NotFound("Instance is not a member of specified network")
            resp.media = {network_label: _plain(addresses[network_label])}

    on_head = on_get


# -- os-instance-actions ----------------------------------------------------------------------------


# Instance actions and their events show their times as Nova's database datetimes reach its JSON
# (oslo's to_primitive): microseconds and no zone, e.g. 2026-12-06T09:26:41.000000.


def _updated(op: Operation) -> Any:
    return op.finished_at or op.updated_at


class InstanceActionViews:
    @staticmethod
    def action(op: Operation, version: Any) -> dict[str, Any]:
        out = {"action": op.action, "instance_uuid": op.resource_id, "request_id": op.request_id or "",
               "user_id": op.user_id or "", "project_id": op.project_id or "", "start_time": usg(op.created_at),
               "message": "Error" if op.state == "failed" else None}
        if version >= "2.58":
            out["updated_at"] = usg(_updated(op))
        return out


def _ops_visible(session: Any, server_id: str) -> list[Operation]:
    return [op for op in operations_for(session, "server", server_id) if op.action]


def _page(req: falcon.Request, ops: list[Operation]) -> tuple[list[Operation], int]:
    """2.58's ``limit``, ``marker`` (a request id) and ``changes-since``; 2.66's ``changes-before``;
    from 2.58 no other parameter. ``ops`` are newest first; returns the page and the limit applied.

    :raises faults.BadRequest: a bad or unknown parameter, an unknown marker, since after before.
    """
    refuse_unknown(req, ("limit", "marker", "changes-since", *(("changes-before",) if at_least(req, "2.66") else ())))
    limit = min(MAX_LIMIT, int_param(req, "limit", MAX_LIMIT))
    since, before = (parse_time(name, req.get_param(name)) if req.get_param(name) is not None else None
                     for name in ("changes-since", "changes-before"))
    if since is not None and before is not None and before < since:
        raise faults.BadRequest("The value of changes-since must be less than or equal to changes-before.")
    ops = [op for op in ops if (since is None or _updated(op) >= since) and (before is None or _updated(op) <= before)]
    marker = req.get_param("marker")
    if marker is not None:
        after = [i for i, op in enumerate(ops) if op.request_id == marker]
        if not after:
            raise faults.BadRequest(f"Marker {marker} could not be found.")
        ops = ops[after[0] + 1:]
    return ops[:limit], limit


class InstanceActions(_Sub):
    def on_get(self, req: falcon.Request, resp: falcon.Response, server_id: str, **_: str) -> None:
        v = version(req)
        with self.core.store.session() as session:
            server = self._any_server(session, req, server_id, v, "os_compute_api:os-instance-actions:list")
            ops = sorted(_ops_visible(session, server.id), key=lambda o: (o.created_at, o.id), reverse=True)
            body: dict[str, Any] = {}
            if v >= "2.58":
                ops, limit = _page(req, ops)
                links = next_links(req, self.views.links, f"servers/{server_id}/os-instance-actions", ops, limit,
                                   lambda op: op.request_id)
                if links:
                    body["links"] = links
            body["instanceActions"] = [InstanceActionViews.action(op, v) for op in ops]
            resp.media = body

    on_head = on_get

    def _any_server(self, session: Any, req: falcon.Request, server_id: str, v: Any, policy: str) -> Any:
        """From 2.21 the actions of a deleted server are listed too."""
        from overcast.store.compute import Server as ServerRow

        ctx = caller(req)
        row = session.scalars(select(ServerRow).where(ServerRow.id == server_id)).first()
        if (row is None or row.cloud != req.context.region or (row.deleted and v < "2.21")
                or (not ctx.is_admin and row.project_id != ctx.project_id)):
            raise core_servers.not_found(server_id)
        enforce(req, policy, target(row))
        return row


class InstanceAction(InstanceActions):
    def on_get(self, req: falcon.Request, resp: falcon.Response, server_id: str, request_id: str,
               **_: str) -> None:
        v = version(req)
        ctx = caller(req)
        with self.core.store.session() as session:
            server = self._any_server(session, req, server_id, v, "os_compute_api:os-instance-actions:show")
            ops = [op for op in _ops_visible(session, server.id) if op.request_id == request_id]
            if not ops:
                raise faults.NotFound(f"Action for request_id {request_id} on instance {server_id} not found")
            op = ops[0]
            body = InstanceActionViews.action(op, v)
            if ctx.is_admin or v >= "2.51":
                events = []
                for ev in events_for(session, op.id):
                    name = ev.event if ev.event != "server.action" else EVENTS.get(op.action, "compute_" + op.action)
                    item = {"event": name, "start_time": usg(ev.start_time), "finish_time": usg(ev.finish_time),
                            "result": ev.result}
                    if ctx.is_admin:
                        item["traceback"] = ev.message if ev.result == "Error" else None
                    if v >= "2.62":
                        item["hostId"] = core_servers.host_id(server.project_id, server.host)
                        if ctx.is_admin:
                            item["host"] = server.host or ""
                    events.append(item)
                body["events"] = events
            resp.media = {"instanceAction": body}

    on_head = on_get


# -- security groups, password ---------------------------------------------------------------------


class SecurityGroups(_Sub):
    def on_get(self, req: falcon.Request, resp: falcon.Response, server_id: str, **_: str) -> None:
        with self.core.store.session() as session:
            server = self.server(session, req, server_id, "os_compute_api:os-security-groups:list")
            groups = networking.server_groups(session, server)
            resp.media = {"security_groups": group_views(session, caller(req), groups)}

    on_head = on_get


class Password(_Sub):
    def on_get(self, req: falcon.Request, resp: falcon.Response, server_id: str, **_: str) -> None:
        with self.core.store.session() as session:
            self.server(session, req, server_id, "os_compute_api:os-server-password:show")
        resp.media = {"password": ""}

    on_head = on_get

    def on_delete(self, req: falcon.Request, resp: falcon.Response, server_id: str, **_: str) -> None:
        with self.core.store.session() as session:
            self.server(session, req, server_id, "os_compute_api:os-server-password:clear")
        resp.status = falcon.HTTP_204


def bind(registry: Registry, core: ComputeCore, views: ServerViews) -> None:
    for name, cls in (("v2_server_metadata", Metadata), ("v2_server_metadata_key", MetadataItem),
                      ("v2_server_tags", Tags), ("v2_server_tag", Tag), ("v2_server_ips", Ips),
                      ("v2_server_ips_network", IpsNetwork), ("v2_os_instance_actions", InstanceActions),
                      ("v2_os_instance_action", InstanceAction),
                      ("v2_os_server_security_groups", SecurityGroups),
                      ("v2_server_password", Password)):
        registry.bind("compute", name, cls(core, views))
