"""``/v3/roles`` (global and domain-specific) and the implied-role (inference rule) endpoints."""

from __future__ import annotations

from typing import Any

import falcon

from overcast.api.identity.common import Links, enforce, text_filters
from overcast.api.identity.views import role_view
from overcast.api.routing import Registry
from overcast.api.validation import read_json
from overcast.core.identity import IdentityCore
from overcast.core.identity import roles as core_roles
from overcast.store.models import ROOT_DOMAIN_ID, Role

_NAME = {"type": "string", "minLength": 1, "maxLength": 255}
_ROLE_PROPERTIES = {
    "name": _NAME,
    "domain_id": {"type": ["string", "null"]},
    "description": {"type": ["string", "null"], "maxLength": 255},
    "options": {"type": "object", "properties": {"immutable": {"type": ["boolean", "null"]}}},
}
CREATE_SCHEMA = {
    "type": "object", "required": ["role"],
    "properties": {"role": {"type": "object", "required": ["name"], "properties": _ROLE_PROPERTIES}},
}
UPDATE_SCHEMA = {
    "type": "object", "required": ["role"],
    "properties": {"role": {"type": "object", "minProperties": 1, "properties": _ROLE_PROPERTIES}},
}


def _action(role: Role, verb: str) -> str:
    """Keystone checks domain-specific roles under their own rule names."""
    return f"identity:{verb}_domain_role" if role.domain_id != ROOT_DOMAIN_ID else f"identity:{verb}_role"


def _target(role: Role) -> dict[str, Any]:
    return {"domain_id": None if role.domain_id == ROOT_DOMAIN_ID else role.domain_id}


class Roles:
    def __init__(self, core: IdentityCore, links: Links):
        self.core, self.links = core, links

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        domain_id = req.get_param("domain_id")
        enforce(req, "identity:list_domain_roles" if domain_id else "identity:list_roles",
                {"domain_id": domain_id})
        with self.core.store.session() as session:
            roles = core_roles.list_roles(session, name=req.get_param("name"), domain_id=domain_id,
                                          matching=text_filters(req, ("name", "domain_id")))
            views = [role_view(self.links, r) for r in roles]
        resp.media = {"roles": views, "links": self.links.collection(req)}

    on_head = on_get

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = read_json(req, CREATE_SCHEMA)["role"]
        domain_id = body.get("domain_id")
        enforce(req, "identity:create_domain_role" if domain_id else "identity:create_role",
                {"domain_id": domain_id})
        with self.core.store.session() as session:
            view = role_view(self.links, core_roles.create_role(session, body))
        resp.status = falcon.HTTP_201
        resp.media = {"role": view}


class RoleItem:
    def __init__(self, core: IdentityCore, links: Links):
        self.core, self.links = core, links

    def on_get(self, req: falcon.Request, resp: falcon.Response, role_id: str) -> None:
        with self.core.store.session() as session:
            role = core_roles.get_role(session, role_id)
            enforce(req, _action(role, "get"), _target(role))
            resp.media = {"role": role_view(self.links, role)}

    on_head = on_get

    def on_patch(self, req: falcon.Request, resp: falcon.Response, role_id: str) -> None:
        body = read_json(req, UPDATE_SCHEMA)["role"]
        with self.core.store.session() as session:
            role = core_roles.get_role(session, role_id)
            enforce(req, _action(role, "update"), _target(role))
            resp.media = {"role": role_view(self.links, core_roles.update_role(session, role_id, body))}

    def on_delete(self, req: falcon.Request, resp: falcon.Response, role_id: str) -> None:
        with self.core.store.session() as session:
            role = core_roles.get_role(session, role_id)
            enforce(req, _action(role, "delete"), _target(role))
        core_roles.delete_role(self.core, role_id)
        resp.status = falcon.HTTP_204


# -- inference rules ----------------------------------------------------------------------
def _rule_role(links: Links, role: Role) -> dict[str, Any]:
    """How Keystone shows a role inside an inference rule."""
    body = {"id": role.id, "name": role.name, "links": links.self_link(f"/roles/{role.id}")}
    if role.description:
        body["description"] = role.description
    return body


def _rule_prior(links: Links, role: Role) -> dict[str, Any]:
    return {"id": role.id, "name": role.name, "links": links.self_link(f"/roles/{role.id}")}


class RoleImplies:
    """``GET /v3/roles/{prior}/implies``: the rules from one prior role."""

    def __init__(self, core: IdentityCore, links: Links):
        self.core, self.links = core, links

    def on_get(self, req: falcon.Request, resp: falcon.Response, role_id: str) -> None:
        enforce(req, "identity:list_implied_roles")
        with self.core.store.session() as session:
            implied = core_roles.implied_by(session, role_id)
            prior = core_roles.get_role(session, role_id)
            resp.media = {
                "role_inference": {"prior_role": _rule_prior(self.links, prior),
                                   "implies": [_rule_role(self.links, r) for r in implied]},
                "links": self.links.self_link(f"/roles/{role_id}/implies"),
            }

    on_head = on_get


class RoleImply:
    """``/v3/roles/{prior}/implies/{implied}``: one inference rule."""

    def __init__(self, core: IdentityCore, links: Links):
        self.core, self.links = core, links

    def _body(self, prior: Role, implied: Role) -> dict[str, Any]:
        return {
            "role_inference": {"prior_role": _rule_prior(self.links, prior),
                               "implies": _rule_role(self.links, implied)},
            "links": self.links.self_link(f"/roles/{prior.id}/implies/{implied.id}"),
        }

    def on_put(self, req: falcon.Request, resp: falcon.Response, role_id: str, implied_role_id: str) -> None:
        enforce(req, "identity:create_implied_role")
        with self.core.store.session() as session:
            resp.media = self._body(*core_roles.create_implied(session, role_id, implied_role_id))
        resp.status = falcon.HTTP_201

    def on_get(self, req: falcon.Request, resp: falcon.Response, role_id: str, implied_role_id: str) -> None:
        enforce(req, "identity:get_implied_role")
        with self.core.store.session() as session:
            resp.media = self._body(*core_roles.get_implied(session, role_id, implied_role_id))

    def on_head(self, req: falcon.Request, resp: falcon.Response, role_id: str, implied_role_id: str) -> None:
        enforce(req, "identity:check_implied_role")
        with self.core.store.session() as session:
            core_roles.get_implied(session, role_id, implied_role_id)
        resp.status = falcon.HTTP_204

    def on_delete(self, req: falcon.Request, resp: falcon.Response, role_id: str, implied_role_id: str) -> None:
        enforce(req, "identity:delete_implied_role")
        core_roles.delete_implied(self.core, role_id, implied_role_id)
        resp.status = falcon.HTTP_204


class RoleInferences:
    def __init__(self, core: IdentityCore, links: Links):
        self.core, self.links = core, links

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        enforce(req, "identity:list_role_inference_rules")
        with self.core.store.session() as session:
            rules = [{"prior_role": _rule_prior(self.links, prior),
                      "implies": [_rule_role(self.links, r) for r in implied]}
                     for prior, implied in core_roles.inference_rules(session)]
        resp.media = {"role_inferences": rules, "links": self.links.self_link("/role_inferences")}

    on_head = on_get


def bind(registry: Registry, core: IdentityCore, links: Links) -> None:
    registry.bind("identity", "v3_roles", Roles(core, links))
    registry.bind("identity", "v3_role", RoleItem(core, links))
    registry.bind("identity", "v3_role_implies", RoleImplies(core, links))
    registry.bind("identity", "v3_role_imply", RoleImply(core, links))
    registry.bind("identity", "v3_role_inferences", RoleInferences(core, links))
