"""/servers, /servers/detail and /servers/{id}: wire format only (the rules are in core)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Any

import falcon

from overcast.core.availability import refuse_while_down
from overcast.api import faults
from overcast.api.compute import server_schemas
from overcast.api.compute.common import MAX_LIMIT, Links, at_least, caller, enforce, version
from overcast.api.compute.server_views import ServerViews, disk_config_shown
from overcast.api.fragments import json_list
from overcast.api.routing import Registry
from overcast.api.validation import read_json
from overcast.core.compute import ComputeCore
from overcast.core.compute import admin as admin_rules
from overcast.core.compute import quotas
from overcast.core.compute import servers as core_servers
from overcast.core.errors import Forbidden

_FALSE = {"0", "f", "false", "n", "no", "off"}
_TRUE = {"1", "t", "true", "y", "yes", "on"}


def vt(req: falcon.Request) -> tuple[int, int]:
    v = version(req)
    return (v.major, v.minor)


def target(server: Any) -> dict[str, Any]:
    return {"project_id": server.project_id, "user_id": server.user_id}


def parse_bool(name: str, value: str) -> bool:
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise faults.BadRequest(f"Invalid input for query parameters {name}. Value: {value}. "
                            f"Unrecognized value '{value}', acceptable values are: {', '.join(sorted(_TRUE | _FALSE))}")


def parse_time(name: str, value: str) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise faults.BadRequest(f"Invalid input for query parameters {name}. Value: {value}. "
                                f"'{value}' is not a 'date-time'") from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return parsed


def _one(req: falcon.Request, name: str) -> str | None:
    value = req.params.get(name)
    if isinstance(value, list):
        return value[-1]
    return value


def _many(req: falcon.Request, name: str) -> list[str]:
    value = req.params.get(name)
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def parse_limit(req: falcon.Request) -> int | None:
    raw = _one(req, "limit")
    if raw is None:
        return None
    try:
        limit = int(raw)
    except ValueError:
        raise faults.BadRequest("limit param must be an integer") from None
    if limit < 0:
        raise faults.BadRequest("limit param must be positive")
    return min(limit, MAX_LIMIT)


def host_states(session: Any, req: falcon.Request, ctx: Any) -> dict[str, str] | None:
    """Each host's ``host_status`` when the view shows it (2.16, admins), else None (not read)."""
    if ctx.is_admin and at_least(req, "2.16"):
        return admin_rules.host_statuses(session, region=req.context.region)
    return None


class ServerResource:
    """Shared plumbing: the core, views and a store session per call."""

    def __init__(self, core: ComputeCore, views: ServerViews):
        self.core = core
        self.views = views

    def capabilities(self, server: Any) -> frozenset:
        return self.core.compute_driver(server.cloud).capabilities


class Servers(ServerResource):
    def list_query(self, req: falcon.Request, detail: bool) -> tuple[core_servers.ListQuery, bool]:
        ctx = caller(req)
        enforce(req, "os_compute_api:servers:detail" if detail else "os_compute_api:servers:index",
                {"project_id": ctx.project_id})
        all_tenants = False
        raw_all = _one(req, "all_tenants")
        if raw_all is not None:
            all_tenants = True if raw_all == "" else parse_bool("all_tenants", raw_all)
            if all_tenants:
                enforce(req, "os_compute_api:servers:detail:get_all_tenants" if detail
                        else "os_compute_api:servers:index:get_all_tenants")
        filters: dict[str, Any] = {}
        for name in ("name", "flavor", "image", "ip", "ip6", "reservation_id", "availability_zone"):
            value = _one(req, name)
            if value is not None:
                filters[name] = value
        statuses = _many(req, "status")
        if statuses:
            filters["status"] = statuses
        if _one(req, "changes-since") is not None:
            filters["changes-since"] = parse_time("changes-since", _one(req, "changes-since"))
        if at_least(req, "2.66") and _one(req, "changes-before") is not None:
            filters["changes-before"] = parse_time("changes-before", _one(req, "changes-before"))
            since = filters.get("changes-since")
            if since is not None and since > filters["changes-before"]:
                raise faults.BadRequest("The value of changes-since must be less than or equal to "
                                        "changes-before.")
        if at_least(req, "2.26"):
            for name in ("tags", "tags-any", "not-tags", "not-tags-any"):
                value = _one(req, name)
                if value is not None:
                    filters[name] = [t for t in value.split(",") if t]
        if at_least(req, "2.73") and _one(req, "locked") is not None:
            filters["locked"] = parse_bool("locked", _one(req, "locked"))
        if ctx.is_admin:
            if _one(req, "deleted") is not None:
                filters["deleted"] = parse_bool("deleted", _one(req, "deleted"))
            for name in ("host", "user_id", "key_name"):
                if _one(req, name) is not None:
                    filters[name] = _one(req, name)
            project = _one(req, "project_id") or _one(req, "tenant_id")
            if project is not None:
                filters["project_id"] = project
        elif at_least(req, "2.83") and _one(req, "user_id") is not None:
            filters["user_id"] = _one(req, "user_id")
        sort_keys = _many(req, "sort_key")
        sort_dirs = _many(req, "sort_dir")
        for key in sort_keys:
            if key not in core_servers.SORT_KEYS:
                raise faults.BadRequest(f"Invalid input for query parameters sort_key. Value: {key}.")
        for direction in sort_dirs:
            if direction not in ("asc", "desc"):
                raise faults.BadRequest(f"Invalid input for query parameters sort_dir. Value: {direction}. "
                                        f"'{direction}' is not one of ['asc', 'desc']")
        if not sort_keys:
            sort_keys = ["created_at"]
        sort_dirs = (sort_dirs + [sort_dirs[-1] if sort_dirs else "desc"] * len(sort_keys))[: len(sort_keys)]
        query = core_servers.ListQuery(filters=filters, sort_keys=sort_keys, sort_dirs=sort_dirs,
                                       limit=parse_limit(req), marker=_one(req, "marker"), all_tenants=all_tenants)
        return query, all_tenants

    def render_list(self, req: falcon.Request, resp: falcon.Response, detail: bool) -> None:
        query, _ = self.list_query(req, detail)
        ctx = caller(req)
        with self.core.store.session() as session:
            shape = self.views.shape(version(req), ctx, host_states(session, req, ctx))
            rows = core_servers.list_servers(session, ctx, query, region=req.context.region, detail=detail,
                                             embedded_flavor=detail and shape.embedded_flavor)
            if detail:
                rendered = self.views.detail_list(rows, shape, core_servers.list_related(session, rows))
            else:
                items = [self.views.summary(s, shape.base) for s in rows]
        extra: dict[str, Any] = {}
        if query.limit is not None and rows and len(rows) == query.limit:
            extra["servers_links"] = self.views.links.next_page(req, "servers/detail" if detail else "servers",
                                                                 rows[-1].id)
        if detail:  # the rendered views joined as they are (docs/decisions/0061-rendered-views-per-record.md)
            resp.data = json_list("servers", rendered, extra)
            resp.content_type = falcon.MEDIA_JSON
        else:
            resp.media = {"servers": items, **extra}

    def on_get(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        self.render_list(req, resp, detail=False)

    on_head = on_get

    def on_post(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        ctx = caller(req)
        body = read_json(req, server_schemas.create(vt(req)))
        enforce(req, "os_compute_api:servers:create", {"project_id": ctx.project_id})
        if body["server"].get("block_device_mapping_v2"):
            enforce(req, "os_compute_api:servers:create:attach_volume", {"project_id": ctx.project_id})
        spec = self.build_spec(body)
        region = req.context.region
        refuse_while_down(self.core.backends, region, "compute", "compute")
        driver = self.core.compute_driver(region)
        headroom = self.core.backend_quotas.read(self.core.backends, region, "compute", driver,
                                                 project_id=ctx.project_id, user_id=ctx.user_id,
                                                 request_id=req.context.request_id)
        # the ports the builds will make must fit the region's network backend too (decision 0069)
        network = self.core.network.at(region, request_id=req.context.request_id, user_id=ctx.user_id)
        if body["server"].get("networks") != "none":
            network = network.with_headroom(ctx.project_id)
        with self.core.store.session() as session:
            check_personality(session, ctx, ctx.project_id, body["server"].get("personality"))
            created = core_servers.create(session, ctx, spec, network=network, region=region,
                                          driver=driver, request_id=req.context.request_id, headroom=headroom)
            first = created.servers[0]
            server_id, groups, auto_disk = first.id, first.security_groups, first.auto_disk_config
        self.core.backend_quotas.taken(region, "compute", created.counted)
        if network.headroom is not None and created.network_counted:
            network.backend_quotas.taken(region, "network", created.network_counted)
        resp.status = falcon.HTTP_202
        if _truthy(body["server"].get("return_reservation_id")):
            resp.media = {"reservation_id": created.reservation_id}
            return
        resp.set_header("Location", self.views.links.pair("servers", server_id)[0]["href"])
        resp.media = {"server": {"id": server_id, "links": self.views.links.pair("servers", server_id),
                                 "OS-DCF:diskConfig": disk_config_shown(auto_disk),
                                 "security_groups": [{"name": g["name"]} for g in groups],
                                 "adminPass": created.admin_password}}

    @staticmethod
    def build_spec(body: dict[str, Any]) -> core_servers.BuildSpec:
        s = body["server"]
        hints = body.get("os:scheduler_hints") or body.get("OS-SCH-HNT:scheduler_hints") or {}

        def count(name: str, default: int) -> int:
            raw = s.get(name)
            if raw is None or raw == "":
                return default
            value = int(raw)
            if value < 1:
                raise faults.BadRequest(f"Invalid input for field/attribute {name}. Value: {raw}. "
                                        f"{raw} is less than the minimum of 1")
            return value

        min_count = count("min_count", 1)
        max_count = count("max_count", min_count)
        if min_count > max_count:
            raise faults.BadRequest("min_count must be <= max_count")
        return core_servers.BuildSpec(
            name=s["name"], flavor_ref=str(s["flavorRef"]), image_ref=s.get("imageRef") or None,
            block_device_mapping_v2=list(s.get("block_device_mapping_v2") or []), networks=s.get("networks"),
            key_name=s.get("key_name"), security_groups=[g["name"] for g in s.get("security_groups") or []],
            user_data=s.get("user_data"), metadata=dict(s.get("metadata") or {}),
            config_drive=_truthy(s.get("config_drive")), availability_zone=s.get("availability_zone"),
            min_count=min_count, max_count=max_count, group=hints.get("group"), tags=list(s.get("tags") or []),
            description=s.get("description"), hostname=s.get("hostname"), admin_password=s.get("adminPass"),
            access_ipv4=s.get("accessIPv4", ""), access_ipv6=s.get("accessIPv6", ""), disk_config=disk_config(s),
            scheduler_hints=dict(hints))


def disk_config(body: dict[str, Any]) -> core_servers.DiskConfig | None:
    """``OS-DCF:diskConfig`` of a create, rebuild, resize or update body (the schema checked it;
    None: not given)."""
    value = body.get("OS-DCF:diskConfig")
    return None if value is None else core_servers.DiskConfig(value)


def check_personality(session: Any, ctx: Any, project_id: str, personality: list[dict[str, str]] | None) -> None:
    """Nova's checks of ``personality`` (create and rebuild, up to 2.56): base64 contents, then the
    project's injected-file limits. The files are accepted as Nova accepts them when neither file
    injection nor a config drive carries them to the guest (decision 0020).

    :raises faults.BadRequest: contents that are not base64.
    :raises overcast.core.errors.Forbidden: over an injected-file limit.
    """
    if not personality:
        return
    for i, item in enumerate(personality):
        try:
            base64.b64decode(item.get("contents", "").encode())
        except (binascii.Error, ValueError):
            raise faults.BadRequest(f"Invalid input for field 'personality[{i}].contents': "
                                    "is not a 'base64'.") from None
    files = [(item.get("path", ""), item.get("contents", "")) for item in personality]
    quotas.check_injected_files(session, project_id, ctx.user_id, files)


def _truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return value is not None and str(value).strip().lower() in _TRUE


class ServersDetail(Servers):
    def on_get(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        self.render_list(req, resp, detail=True)

    on_head = on_get


class Server(ServerResource):
    def on_get(self, req: falcon.Request, resp: falcon.Response, server_id: str, **_: str) -> None:
        ctx = caller(req)
        with self.core.store.session() as session:
            server = core_servers.get_server(session, ctx, server_id, region=req.context.region)
            enforce(req, "os_compute_api:servers:show", target(server))
            resp.media = {"server": self.views.detail(server, version(req), ctx, host_states(session, req, ctx))}

    on_head = on_get

    def on_put(self, req: falcon.Request, resp: falcon.Response, server_id: str, **_: str) -> None:
        ctx = caller(req)
        body = read_json(req, server_schemas.update(vt(req)))
        with self.core.store.session() as session:
            server = core_servers.get_server(session, ctx, server_id, region=req.context.region)
            enforce(req, "os_compute_api:servers:update", target(server))
            core_servers.update(session, ctx, server, body["server"], disk_config=disk_config(body["server"]))
            session.flush()
            resp.media = {"server": self.views.basic(server, version(req), ctx, host_states(session, req, ctx))}

    def on_delete(self, req: falcon.Request, resp: falcon.Response, server_id: str, **_: str) -> None:
        ctx = caller(req)
        with self.core.store.session() as session:
            server = core_servers.get_server(session, ctx, server_id, region=req.context.region)
            enforce(req, "os_compute_api:servers:delete", target(server))
            core_servers.delete(session, ctx, server, request_id=req.context.request_id)
        resp.status = falcon.HTTP_204


def bind(registry: Registry, core: ComputeCore, links: Links) -> ServerViews:
    views = ServerViews(links)
    registry.bind("compute", "v2_servers", Servers(core, views))
    registry.bind("compute", "v2_servers_detail", ServersDetail(core, views))
    registry.bind("compute", "v2_server", Server(core, views))
    return views


__all__ = ["bind", "Forbidden"]
