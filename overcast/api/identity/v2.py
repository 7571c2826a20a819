"""Keystone v2.0 for legacy clients: tokens, tenants, endpoints and extensions.

A v2.0 request is translated into the v3 auth flow, so both versions issue the same tokens,
which work on every service.
"""

from __future__ import annotations

from typing import Any

import falcon
from sqlalchemy import select

from overcast.api.identity.common import Links, enforce
from overcast.api.identity.views import timestamp
from overcast.api.routing import Registry
from overcast.api.validation import read_json
from overcast.core.errors import NotFound
from overcast.core.identity import IdentityCore
from overcast.core.identity.assignments import direct_role_ids
from overcast.core.identity.auth import Authenticator, TokenFacts
from overcast.store.models import DEFAULT_DOMAIN_ID, Project

V2_AUTH_SCHEMA = {
    "type": "object",
    "required": ["auth"],
    "properties": {"auth": {
        "type": "object",
        "properties": {
            "passwordCredentials": {
                "type": "object", "required": ["password"],
                "properties": {"username": {"type": "string"}, "userId": {"type": "string"},
                               "password": {"type": "string"}},
                "anyOf": [{"required": ["username"]}, {"required": ["userId"]}],
            },
            "token": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}},
            "tenantName": {"type": "string"},
            "tenantId": {"type": "string"},
        },
        "oneOf": [{"required": ["passwordCredentials"]}, {"required": ["token"]}],
    }},
}


def v3_auth(auth: dict[str, Any]) -> dict[str, Any]:
    """The v3 ``auth`` body equivalent to a v2.0 one (users and tenants in the default domain)."""
    if "passwordCredentials" in auth:
        creds = auth["passwordCredentials"]
        user = ({"id": creds["userId"]} if "userId" in creds
                else {"name": creds["username"], "domain": {"id": DEFAULT_DOMAIN_ID}})
        identity = {"methods": ["password"], "password": {"user": {**user, "password": creds["password"]}}}
    else:
        identity = {"methods": ["token"], "token": {"id": auth["token"]["id"]}}
    body: dict[str, Any] = {"identity": identity}
    if "tenantId" in auth:
        body["scope"] = {"project": {"id": auth["tenantId"]}}
    elif "tenantName" in auth:
        body["scope"] = {"project": {"name": auth["tenantName"], "domain": {"id": DEFAULT_DOMAIN_ID}}}
    else:
        body["scope"] = "unscoped"
    return body


def v2_catalog(catalog: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """v3 catalog -> v2.0 serviceCatalog (one entry per region with public/internal/admin URLs)."""
    services = []
    for service in catalog:
        regions: dict[str, dict[str, Any]] = {}
        for endpoint in service["endpoints"]:
            entry = regions.setdefault(endpoint["region"], {"region": endpoint["region"], "id": endpoint["id"]})
            entry[f"{endpoint['interface']}URL"] = endpoint["url"]
        services.append({"type": service["type"], "name": service["name"],
                         "endpoints": list(regions.values()), "endpoints_links": []})
    return services


def tenant_view(project: Project) -> dict[str, Any]:
    return {"id": project.id, "name": project.name, "description": project.description,
            "enabled": project.enabled}


def access_body(token: str, facts: TokenFacts) -> dict[str, Any]:
    ctx = facts.ctx
    token_doc: dict[str, Any] = {"id": token, "issued_at": timestamp(ctx.issued_at),
                                 "expires": timestamp(ctx.expires_at), "audit_ids": list(ctx.audit_ids)}
    if facts.project is not None:
        token_doc["tenant"] = tenant_view(facts.project)
    return {"access": {
        "token": token_doc,
        "serviceCatalog": v2_catalog(facts.catalog or []),
        "user": {"id": facts.user.id, "name": facts.user.name, "username": facts.user.name,
                 "roles": [{"name": r.name} for r in facts.roles], "roles_links": []},
        "metadata": {"is_admin": 0, "roles": [r.id for r in facts.roles]},
    }}


class Tokens:
    public_methods = ("POST",)

    def __init__(self, core: IdentityCore):
        self.auth = Authenticator(core)

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = read_json(req, V2_AUTH_SCHEMA)
        token, facts = self.auth.authenticate(v3_auth(body["auth"]))
        resp.media = access_body(token, facts)


class Token:
    def __init__(self, core: IdentityCore):
        self.auth = Authenticator(core)

    def _facts(self, req: falcon.Request, token_id: str) -> TokenFacts:
        enforce(req, "identity:v2_validate_token")
        facts = self.auth.describe(token_id)
        belongs_to = req.get_param("belongsTo")
        if belongs_to and (facts.project is None or facts.project.id != belongs_to):
            raise NotFound("Failed to validate token")
        return facts

    def on_get(self, req: falcon.Request, resp: falcon.Response, token_id: str) -> None:
        resp.media = access_body(token_id, self._facts(req, token_id))

    def on_head(self, req: falcon.Request, resp: falcon.Response, token_id: str) -> None:
        self._facts(req, token_id)
        resp.status = falcon.HTTP_200

    def on_delete(self, req: falcon.Request, resp: falcon.Response, token_id: str) -> None:
        self._facts(req, token_id)
        self.auth.revoke(token_id)
        resp.status = falcon.HTTP_204


class TokenEndpoints:
    def __init__(self, core: IdentityCore):
        self.auth = Authenticator(core)

    def on_get(self, req: falcon.Request, resp: falcon.Response, token_id: str) -> None:
        enforce(req, "identity:v2_validate_token")
        facts = self.auth.describe(token_id)
        endpoints = [{**e, "type": s["type"], "name": s["name"]}
                     for s in v2_catalog(facts.catalog or []) for e in s["endpoints"]]
        resp.media = {"endpoints": endpoints, "endpoints_links": []}

    on_head = on_get


class Tenants:
    def __init__(self, core: IdentityCore):
        self.core = core

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        ctx = enforce(req, "identity:v2_list_tenants")
        with self.core.store.session() as session:
            projects = [p for p in session.scalars(select(Project).where(Project.enabled.is_(True))
                                                   .order_by(Project.name))
                        if direct_role_ids(session, ctx.user_id, project=p)]
            resp.media = {"tenants": [tenant_view(p) for p in projects], "tenants_links": []}

    on_head = on_get


class Extensions:
    public_methods = ("GET", "HEAD")

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"extensions": {"values": []}}

    on_head = on_get


class Extension:
    public_methods = ("GET", "HEAD")

    def on_get(self, req: falcon.Request, resp: falcon.Response, alias: str) -> None:
        raise NotFound(f"Could not find extension: {alias}.")

    on_head = on_get


def bind(registry: Registry, core: IdentityCore, links: Links) -> None:
    registry.bind("identity", "v2_tokens", Tokens(core))
    registry.bind("identity", "v2_token", Token(core))
    registry.bind("identity", "v2_token_endpoints", TokenEndpoints(core))
    registry.bind("identity", "v2_tenants", Tenants(core))
    registry.bind("identity", "v2_extensions", Extensions())
    registry.bind("identity", "v2_extension_alias", Extension())
