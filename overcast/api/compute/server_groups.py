"""``/os-server-groups``: create (policies list below 2.64, policy + rules from 2.64), list, show, delete."""

from __future__ import annotations

from typing import Any

import falcon

from overcast.api.compute.common import Links, at_least, caller, enforce, int_param
from overcast.api.compute.flavors import parse_bool
from overcast.api.routing import Registry
from overcast.api.validation import read_json
from overcast.core.compute import ComputeCore
from overcast.core.compute import server_groups as rules
from overcast.drivers.compute import Capability
from overcast.store.compute import ServerGroup

_NAME = {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^(?! )[^\x00-\x1f\x7f]+(?<! )$"}


def create_schema(req: falcon.Request) -> dict[str, Any]:
    if at_least(req, "2.64"):
        group = {"type": "object", "required": ["name", "policy"], "additionalProperties": False,
                 "properties": {"name": _NAME, "policy": {"type": "string", "enum": list(rules.POLICIES)},
                                "rules": {"type": "object", "additionalProperties": False, "properties": {
                                    "max_server_per_host": {"type": ["integer", "string"], "pattern": "^[0-9]*$",
                                                            "minimum": 1}}}}}
    else:
        allowed = rules.POLICIES if at_least(req, "2.15") else rules.LEGACY_POLICIES
        group = {"type": "object", "required": ["name", "policies"], "additionalProperties": False,
                 "properties": {"name": _NAME, "policies": {
                     "type": "array", "minItems": 1, "maxItems": 1, "uniqueItems": True,
                     "items": {"type": "string", "enum": list(allowed)}}}}
    return {"type": "object", "required": ["server_group"], "additionalProperties": False,
            "properties": {"server_group": group}}


def group_view(req: falcon.Request, group: ServerGroup, members: list[str]) -> dict[str, Any]:
    view: dict[str, Any] = {"id": group.id, "name": group.name}
    if at_least(req, "2.64"):
        view.update(policy=group.policy, rules=group.rules or {})
    else:
        view.update(policies=[group.policy], metadata={})
    view["members"] = members
    if at_least(req, "2.13"):
        view.update(project_id=group.project_id, user_id=group.user_id)
    return view


class ServerGroups:
    def __init__(self, core: ComputeCore, links: Links):
        self.core, self.links = core, links

    def on_get(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        ctx = enforce(req, "compute:server_groups:index", {"project_id": caller(req).project_id})
        project_id: str | None = ctx.project_id or ""
        if req.get_param("all_projects") is not None and parse_bool(req.get_param("all_projects"), "all_projects"):
            enforce(req, "compute:server_groups:index:all_projects")
            project_id = None
        limit = int_param(req, "limit", None, minimum=1)
        offset = int_param(req, "offset", 0) or 0
        with self.core.store.session() as session:
            groups = rules.list_groups(session, project_id, region=req.context.region, limit=limit, offset=offset)
            members = rules.members_by_group(session, [g.id for g in groups])
            resp.media = {"server_groups": [group_view(req, g, members[g.id]) for g in groups]}

    on_head = on_get

    def on_post(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        ctx = enforce(req, "compute:server_groups:create", {"project_id": caller(req).project_id})
        ref = read_json(req, create_schema(req))["server_group"]
        policy = ref["policy"] if at_least(req, "2.64") else ref["policies"][0]
        region = req.context.region
        driver = self.core.compute_driver(region)
        headroom = None
        if Capability.SERVER_GROUPS in driver.capabilities:
            # the backend holds a copy of every group of the region: its own quota counts (decision 0076)
            headroom = self.core.backend_quotas.read(self.core.backends, region, "compute", driver,
                                                     project_id=ctx.project_id, user_id=ctx.user_id,
                                                     request_id=req.context.request_id)
        with self.core.store.session() as session:
            group = rules.create(session, name=ref["name"], policy=policy, rules=ref.get("rules"),
                                 project_id=ctx.project_id or "", user_id=ctx.user_id,
                                 cloud=region, headroom=headroom)
            resp.media = {"server_group": group_view(req, group, [])}
        if headroom is not None:
            self.core.backend_quotas.taken(region, "compute", {"server_groups": 1})


class ServerGroupItem:
    def __init__(self, core: ComputeCore, links: Links):
        self.core, self.links = core, links

    def _scope(self, req: falcon.Request) -> str | None:
        ctx = caller(req)
        return None if ctx.is_admin else (ctx.project_id or "")

    def on_get(self, req: falcon.Request, resp: falcon.Response, group_id: str, **_: str) -> None:
        with self.core.store.session() as session:
            group = rules.find(session, group_id, self._scope(req), region=req.context.region)
            enforce(req, "compute:server_groups:show", {"project_id": group.project_id})
            resp.media = {"server_group": group_view(req, group, rules.members(session, group.id))}

    on_head = on_get

    def on_delete(self, req: falcon.Request, resp: falcon.Response, group_id: str, **_: str) -> None:
        with self.core.store.session() as session:
            group = rules.find(session, group_id, self._scope(req), region=req.context.region)
            enforce(req, "compute:server_groups:delete", {"project_id": group.project_id})
            rules.delete(session, group.id, region=req.context.region,
                         driver=self.core.compute_driver(req.context.region), request_id=req.context.request_id,
                         user_id=caller(req).user_id)
        resp.status = falcon.HTTP_204


def bind(registry: Registry, core: ComputeCore, links: Links) -> None:
    registry.bind("compute", "v2_os_server_groups", ServerGroups(core, links))
    registry.bind("compute", "v2_os_server_group", ServerGroupItem(core, links))
