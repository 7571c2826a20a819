"""Nova's security-group proxies over Neutron (below 2.36; 404 from 2.36):
``os-security-groups`` (list with ``limit``/``offset``/``all_tenants``, show, create, update,
delete) and ``os-security-group-rules`` (create, delete), rules rendered in Nova's form.

Bodies are read as Nova reads them (no schema: "The request body can't be empty", "Missing
parameter security_group"); the values are checked by the core, as Nova's security group API does.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

import falcon
from sqlalchemy.orm import Session

from overcast.api import faults
from overcast.api.compute.common import PROXY_MAX, Links, caller, enforce, page, served
from overcast.api.routing import Registry
from overcast.api.validation import read_json
from overcast.core.compute import ComputeCore
from overcast.core.compute import security_groups as rules
from overcast.core.context import AuthContext
from overcast.store.network import SecurityGroup


def rule_view(rule: Mapping[str, Any], sources: Mapping[str, SecurityGroup]) -> dict[str, Any] | None:
    """A rule in Nova's form; None for a rule naming a group the caller cannot see (Nova skips it)."""
    view: dict[str, Any] = {"id": rule["id"], "parent_group_id": rule["parent_group_id"],
                            "ip_protocol": rule["protocol"], "from_port": rule["from_port"],
                            "to_port": rule["to_port"], "group": {}, "ip_range": {}}
    if rule["group_id"]:
        source = sources.get(rule["group_id"])
        if source is None:
            return None
        view["group"] = {"name": source.name, "tenant_id": source.project_id}
    else:
        view["ip_range"] = {"cidr": rule["cidr"]}
    return view


def group_view(group: SecurityGroup, sources: Mapping[str, SecurityGroup]) -> dict[str, Any]:
    shown = (rule_view(rules.nova_rule(r), sources) for r in rules.ingress(group))
    return {"id": group.id, "name": group.name, "description": group.description, "tenant_id": group.project_id,
            "rules": [r for r in shown if r is not None]}


def group_views(session: Session, ctx: AuthContext, groups: Iterable[SecurityGroup]) -> list[dict[str, Any]]:
    groups = list(groups)
    sources = rules.visible_groups(session, ctx, (r.remote_group_id for g in groups for r in rules.ingress(g)))
    return [group_view(g, sources) for g in groups]


def member(req: falcon.Request, key: str) -> dict[str, Any]:
    """``body[key]`` as Nova's security group controllers read it.

    :raises faults.BadRequest: no body, no ``key`` (or not an object).
    """
    body = read_json(req) if req.content_length else None
    if not body:
        raise faults.BadRequest("The request body can't be empty")
    value = body.get(key) if isinstance(body, dict) else None
    if not isinstance(value, dict):
        raise faults.BadRequest(f"Missing parameter {key}")
    return value


class _Base:
    def __init__(self, core: ComputeCore, links: Links):
        self.core, self.links = core, links


class SecurityGroups(_Base):
    def on_get(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        served(req, last=PROXY_MAX)
        ctx = enforce(req, "os_compute_api:os-security-groups:get", {"project_id": caller(req).project_id})
        window = page(req)
        with self.core.network.session() as session:
            groups = rules.list_groups(self.core.network.at(req.context.region), session, ctx, all_tenants="all_tenants" in req.params)
            views = group_views(session, ctx, groups[window])
        resp.media = {"security_groups": sorted(views, key=lambda g: (g["tenant_id"], g["name"]))}

    on_head = on_get

    def on_post(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        served(req, last=PROXY_MAX)
        ctx = enforce(req, "os_compute_api:os-security-groups:create", {"project_id": caller(req).project_id})
        ref = member(req, "security_group")
        with self.core.network.session() as session:
            group = rules.create_group(self.core.network.at(req.context.region), session, ctx, ref.get("name"), ref.get("description"))
            resp.media = {"security_group": group_views(session, ctx, [group])[0]}

    def on_delete(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        """``DELETE /os-security-groups`` (no id): Nova routes no such method, so 404."""
        raise faults.NotFound("The resource could not be found.")


class SecurityGroupItem(_Base):
    def on_get(self, req: falcon.Request, resp: falcon.Response, security_group_id: str, **_: str) -> None:
        served(req, last=PROXY_MAX)
        ctx = enforce(req, "os_compute_api:os-security-groups:show", {"project_id": caller(req).project_id})
        with self.core.store.session() as session:
            group = rules.get_group(self.core.network.at(req.context.region), session, ctx, security_group_id)
            resp.media = {"security_group": group_views(session, ctx, [group])[0]}

    on_head = on_get

    def on_put(self, req: falcon.Request, resp: falcon.Response, security_group_id: str, **_: str) -> None:
        served(req, last=PROXY_MAX)
        ctx = enforce(req, "os_compute_api:os-security-groups:update", {"project_id": caller(req).project_id})
        with self.core.network.session() as session:
            group = rules.get_group(self.core.network.at(req.context.region), session, ctx, security_group_id)
            ref = member(req, "security_group")
            group = rules.update_group(self.core.network.at(req.context.region), session, ctx, group, ref.get("name"),
                                       ref.get("description"))
            resp.media = {"security_group": group_views(session, ctx, [group])[0]}

    def on_delete(self, req: falcon.Request, resp: falcon.Response, security_group_id: str, **_: str) -> None:
        served(req, last=PROXY_MAX)
        ctx = enforce(req, "os_compute_api:os-security-groups:delete", {"project_id": caller(req).project_id})
        with self.core.network.session() as session:
            rules.delete_group(self.core.network.at(req.context.region), session, ctx, security_group_id)
        resp.status = falcon.HTTP_202


class SecurityGroupRules(_Base):
    def on_post(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        served(req, last=PROXY_MAX)
        ctx = enforce(req, "os_compute_api:os-security-groups:rule:create", {"project_id": caller(req).project_id})
        ref = member(req, "security_group_rule")
        with self.core.network.session() as session:
            rule = rules.create_rule(self.core.network.at(req.context.region), session, ctx, ref)
            sources = rules.visible_groups(session, ctx, [rule.remote_group_id])
            resp.media = {"security_group_rule": rule_view(rules.nova_rule(rule), sources)}


class SecurityGroupRule(_Base):
    def on_delete(self, req: falcon.Request, resp: falcon.Response, rule_id: str, **_: str) -> None:
        served(req, last=PROXY_MAX)
        ctx = enforce(req, "os_compute_api:os-security-groups:rule:delete", {"project_id": caller(req).project_id})
        with self.core.network.session() as session:
            rules.delete_rule(self.core.network.at(req.context.region), session, ctx, rule_id)
        resp.status = falcon.HTTP_202


def bind(registry: Registry, core: ComputeCore, links: Links) -> None:
    registry.bind("compute", "v2_os_security_groups", SecurityGroups(core, links))
    registry.bind("compute", "v2_os_security_group", SecurityGroupItem(core, links))
    registry.bind("compute", "v2_os_security_group_rules", SecurityGroupRules(core, links))
    registry.bind("compute", "v2_os_security_group_rule", SecurityGroupRule(core, links))
