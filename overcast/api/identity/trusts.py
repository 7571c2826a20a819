"""``/v3/OS-TRUST/trusts[/{trust_id}[/roles[/{role_id}]]]`` (trust-scoped tokens are in tokens.py)."""

from __future__ import annotations

from typing import Any

import falcon
from sqlalchemy.orm import Session

from overcast.api.identity.common import Links, caller, enforce
from overcast.api.identity.views import timestamp
from overcast.api.routing import Registry
from overcast.api.validation import read_json
from overcast.core import policy
from overcast.core.identity import IdentityCore
from overcast.core.identity import trusts as core_trusts
from overcast.store.models import ROOT_DOMAIN_ID, Role, Trust

_ROLE_REF = {"type": "object", "properties": {"id": {"type": "string"}, "name": {"type": "string"}},
             "anyOf": [{"required": ["id"]}, {"required": ["name"]}]}
_ID = {"type": "string", "minLength": 1, "maxLength": 64}
CREATE_SCHEMA = {
    "type": "object", "required": ["trust"],
    "properties": {"trust": {
        "type": "object", "required": ["trustor_user_id", "trustee_user_id", "impersonation"],
        "properties": {
            "trustor_user_id": _ID,
            "trustee_user_id": _ID,
            "impersonation": {"type": "boolean"},
            "project_id": {"type": ["string", "null"], "maxLength": 64},
            "roles": {"type": "array", "items": _ROLE_REF},
            "expires_at": {"type": ["null", "string"]},
            "remaining_uses": {"type": ["null", "integer"], "minimum": 1},
            "allow_redelegation": {"type": ["boolean", "null"]},
            "redelegation_count": {"type": ["integer", "null"], "minimum": 0},
        },
    }},
}


def role_view(links: Links, role: Role) -> dict[str, Any]:
    return {"id": role.id, "name": role.name,
            "domain_id": None if role.domain_id == ROOT_DOMAIN_ID else role.domain_id,
            "links": links.self_link(f"/roles/{role.id}")}


def trust_view(links: Links, session: Session | None, trust: Trust) -> dict[str, Any]:
    """Keystone's trust document; without a session (listings) the roles are left out, as Keystone does."""
    view: dict[str, Any] = {
        **trust.extra,
        "id": trust.id, "trustor_user_id": trust.trustor_user_id, "trustee_user_id": trust.trustee_user_id,
        "project_id": trust.project_id, "impersonation": trust.impersonation,
        "expires_at": timestamp(trust.expires_at), "remaining_uses": trust.remaining_uses,
        "allow_redelegation": trust.allow_redelegation, "redelegated_trust_id": trust.redelegated_trust_id,
        "links": links.self_link(f"/OS-TRUST/trusts/{trust.id}"),
    }
    if trust.allow_redelegation:
        view["redelegation_count"] = trust.redelegation_count
    if session is not None:
        view["roles"] = [role_view(links, r) for r in core_trusts.roles_of(session, trust)]
        view["roles_links"] = {"self": links.v3(f"/OS-TRUST/trusts/{trust.id}/roles"), "previous": None,
                               "next": None}
    return view


class Trusts:
    def __init__(self, core: IdentityCore, links: Links):
        self.core, self.links = core, links

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        trustor, trustee = req.get_param("trustor_user_id"), req.get_param("trustee_user_id")
        ctx = caller(req)
        if trustor is None and trustee is None:
            policy.enforce("identity:list_trusts", ctx)
        if trustor is not None:
            policy.enforce("identity:list_trusts_for_trustor", ctx, {"trustor_user_id": trustor})
        if trustee is not None:
            policy.enforce("identity:list_trusts_for_trustee", ctx, {"trustee_user_id": trustee})
        with self.core.store.session() as session:
            trusts = core_trusts.list_trusts(session, trustor_user_id=trustor, trustee_user_id=trustee)
            views = [trust_view(self.links, None, t) for t in trusts]
        resp.media = {"trusts": views, "links": self.links.collection(req)}

    on_head = on_get

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        ctx = enforce(req, "identity:create_trust")
        body = read_json(req, CREATE_SCHEMA)["trust"]
        trust = core_trusts.create(self.core, ctx, body)
        with self.core.store.session() as session:
            view = trust_view(self.links, session, trust)
        resp.status = falcon.HTTP_201
        resp.media = {"trust": view}


class TrustItem:
    def __init__(self, core: IdentityCore, links: Links):
        self.core, self.links = core, links

    def on_get(self, req: falcon.Request, resp: falcon.Response, trust_id: str) -> None:
        with self.core.store.session() as session:
            trust = core_trusts.get(session, trust_id)
            enforce(req, "identity:get_trust", core_trusts.target(trust))
            resp.media = {"trust": trust_view(self.links, session, trust)}

    on_head = on_get

    def on_delete(self, req: falcon.Request, resp: falcon.Response, trust_id: str) -> None:
        core_trusts.delete(self.core, caller(req), trust_id)
        resp.status = falcon.HTTP_204


class TrustRoles:
    def __init__(self, core: IdentityCore, links: Links):
        self.core, self.links = core, links

    def on_get(self, req: falcon.Request, resp: falcon.Response, trust_id: str) -> None:
        with self.core.store.session() as session:
            trust = core_trusts.get(session, trust_id)
            enforce(req, "identity:list_roles_for_trust", core_trusts.target(trust))
            roles = [role_view(self.links, r) for r in core_trusts.roles_of(session, trust)]
        resp.media = {"roles": roles, "links": self.links.collection(req)}

    on_head = on_get


class TrustRole:
    def __init__(self, core: IdentityCore, links: Links):
        self.core, self.links = core, links

    def on_get(self, req: falcon.Request, resp: falcon.Response, trust_id: str, role_id: str) -> None:
        with self.core.store.session() as session:
            trust = core_trusts.get(session, trust_id)
            enforce(req, "identity:get_role_for_trust", core_trusts.target(trust))
            resp.media = {"role": role_view(self.links, core_trusts.role_of(session, trust, role_id))}

    on_head = on_get


def bind(registry: Registry, core: IdentityCore, links: Links) -> None:
    registry.bind("identity", "v3_trusts", Trusts(core, links))
    registry.bind("identity", "v3_trust", TrustItem(core, links))
    registry.bind("identity", "v3_trust_roles", TrustRoles(core, links))
    registry.bind("identity", "v3_trust_role", TrustRole(core, links))
