"""Router interface actions, quotas and tags: the Neutron endpoints that are not plain CRUD."""

from __future__ import annotations

from typing import Any

import falcon

from overcast.api import faults
from overcast.api.network.common import TAGS, UUID, caller, read_body, regional
from overcast.api.network.endpoints import TAGGABLE
from overcast.api.routing import Registry
from overcast.api.validation import read_json, validate
from overcast.core.network import (NetworkCore, floating_ips, networks, ports, quotas, routers, security_groups,
                                   subnet_pools, subnets, trunks)
from overcast.core.network import common as rules
from overcast.core.network.errors import policy

_INTERFACE = {"subnet_id": UUID, "port_id": UUID}


class RouterInterface:
    """PUT /routers/{id}/add_router_interface and remove_router_interface."""

    def __init__(self, core: NetworkCore, add: bool):
        self.core, self.add = core, add

    def on_put(self, req: falcon.Request, resp: falcon.Response, item_id: str) -> None:
        body = read_json(req)
        if not isinstance(body, dict):
            raise faults.BadRequest("Body contains invalid data", kind="HTTPBadRequest")
        body = validate(body, {"type": "object", "properties": _INTERFACE})
        action = routers.add_interface if self.add else routers.remove_interface
        core = regional(self.core, req)
        with core.session() as session:
            resp.media = action(core, session, caller(req), item_id, body)


# -- quotas --------------------------------------------------------------------------------------------
def _may_read_quota(req: falcon.Request, project_id: str) -> None:
    ctx = caller(req)
    if not (ctx.is_admin or ctx.project_id == project_id):
        raise policy("get_quota")


class Quotas:
    def __init__(self, core: NetworkCore):
        self.core = core

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        ctx, core = caller(req), regional(self.core, req)
        with core.session() as session:
            projects = quotas.projects_with_limits(core, session) if ctx.is_admin else []
            resp.media = {"quotas": [{**quotas.limits(core, session, p), "tenant_id": p, "project_id": p}
                                     for p in projects]}


class Quota:
    def __init__(self, core: NetworkCore):
        self.core = core

    def on_get(self, req: falcon.Request, resp: falcon.Response, project_id: str) -> None:
        _may_read_quota(req, project_id)
        core = regional(self.core, req)
        with core.session() as session:
            resp.media = {"quota": quotas.limits(core, session, project_id)}

    def on_put(self, req: falcon.Request, resp: falcon.Response, project_id: str) -> None:
        if not caller(req).is_admin:
            raise policy("update_quota")
        body = read_body(req, "quota", {"check_limit": {"type": "boolean"},
                                        **{name: {"type": "integer"} for name in quotas.DEFAULTS}})
        check_limit = body.pop("check_limit", False)
        core = regional(self.core, req)
        with core.session() as session:
            resp.media = {"quota": quotas.update(core, session, project_id, body, check_limit=check_limit)}

    def on_delete(self, req: falcon.Request, resp: falcon.Response, project_id: str) -> None:
        if not caller(req).is_admin:
            raise policy("delete_quota")
        core = regional(self.core, req)
        with core.session() as session:
            quotas.reset(core, session, project_id)
        resp.status = falcon.HTTP_204


class QuotaDefault:
    def on_get(self, req: falcon.Request, resp: falcon.Response, project_id: str) -> None:
        _may_read_quota(req, project_id)
        resp.media = {"quota": dict(quotas.DEFAULTS)}


class QuotaDetails:
    def __init__(self, core: NetworkCore):
        self.core = core

    def on_get(self, req: falcon.Request, resp: falcon.Response, project_id: str) -> None:
        _may_read_quota(req, project_id)
        core = regional(self.core, req)
        with core.session() as session:
            limits, used = quotas.limits(core, session, project_id), quotas.usage(core, session, project_id)
        resp.media = {"quota": {name: {"limit": limit, "used": used[name], "reserved": 0}
                                for name, limit in limits.items()}}


# -- tags ------------------------------------------------------------------------------------------------
#: URL segment -> (policy resource name, core module whose get() fetches the record)
_TAGGED: dict[str, tuple[str, Any]] = {
    "networks": ("network", networks), "subnets": ("subnet", subnets), "ports": ("port", ports),
    "routers": ("router", routers), "floatingips": ("floatingip", floating_ips),
    "security-groups": ("security_group", security_groups), "subnetpools": ("subnetpool", subnet_pools),
    "trunks": ("trunk", trunks),
}


class Tags:
    """GET/PUT/DELETE /{collection}/{id}/tags."""

    def __init__(self, core: NetworkCore, collection: str):
        self.core = core
        self.resource, self.rules = _TAGGED[collection]

    def on_get(self, req: falcon.Request, resp: falcon.Response, item_id: str) -> None:
        core = regional(self.core, req)
        with core.session() as session:
            resp.media = {"tags": list(self.rules.get(core, session, caller(req), item_id).tags)}

    def on_put(self, req: falcon.Request, resp: falcon.Response, item_id: str) -> None:
        body = read_json(req, {"type": "object", "required": ["tags"], "properties": {"tags": TAGS}})
        core = regional(self.core, req)
        with core.session() as session:
            record = self.rules.get(core, session, caller(req), item_id)
            resp.media = {"tags": rules.set_tags(caller(req), record, self.resource, body["tags"])}

    def on_delete(self, req: falcon.Request, resp: falcon.Response, item_id: str) -> None:
        core = regional(self.core, req)
        with core.session() as session:
            record = self.rules.get(core, session, caller(req), item_id)
            rules.remove_tag(caller(req), record, self.resource, None)
        resp.status = falcon.HTTP_204


class Tag:
    """GET/PUT/DELETE /{collection}/{id}/tags/{tag}."""

    def __init__(self, core: NetworkCore, collection: str):
        self.core = core
        self.resource, self.rules = _TAGGED[collection]

    def on_get(self, req: falcon.Request, resp: falcon.Response, item_id: str, tag: str) -> None:
        core = regional(self.core, req)
        with core.session() as session:
            if tag not in self.rules.get(core, session, caller(req), item_id).tags:
                raise faults.NotFound(f"Tag {tag} could not be found.", kind="TagNotFound")
        resp.status = falcon.HTTP_204

    def on_put(self, req: falcon.Request, resp: falcon.Response, item_id: str, tag: str) -> None:
        if len(tag) > 255:
            raise faults.BadRequest(f"Invalid input for tag. Reason: '{tag}' exceeds maximum length of 255.",
                                    kind="HTTPBadRequest")
        core = regional(self.core, req)
        with core.session() as session:
            rules.add_tag(caller(req), self.rules.get(core, session, caller(req), item_id), self.resource, tag)
        resp.status = falcon.HTTP_201

    def on_delete(self, req: falcon.Request, resp: falcon.Response, item_id: str, tag: str) -> None:
        core = regional(self.core, req)
        with core.session() as session:
            rules.remove_tag(caller(req), self.rules.get(core, session, caller(req), item_id), self.resource, tag)
        resp.status = falcon.HTTP_204


def bind(registry: Registry, core: NetworkCore) -> None:
    registry.bind("network", "router_add_interface", RouterInterface(core, add=True))
    registry.bind("network", "router_remove_interface", RouterInterface(core, add=False))
    registry.bind("network", "quotas", Quotas(core))
    registry.bind("network", "quota", Quota(core))
    registry.bind("network", "quota_default", QuotaDefault())
    registry.bind("network", "quota_details", QuotaDetails(core))
    for collection in TAGGABLE:
        registry.bind("network", f"{collection}_tags", Tags(core, collection))
        registry.bind("network", f"{collection}_tag", Tag(core, collection))
