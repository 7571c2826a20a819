"""``/v3/auth/tokens`` and the token-scoped listings ``/v3/auth/{catalog,projects,domains,system}``."""

from __future__ import annotations

from typing import Any

import falcon
from sqlalchemy import select

from overcast.api.identity.common import Links, enforce, truthy
from overcast.api.identity.oauth1 import signed_request
from overcast.api.identity.views import domain_view, project_view, timestamp
from overcast.api.routing import Registry
from overcast.api.validation import read_json
from overcast.core.errors import Forbidden, NotFound
from overcast.core.identity import IdentityCore
from overcast.core.identity.assignments import direct_role_ids
from overcast.core.identity.auth import Authenticator, TokenFacts
from overcast.core.identity.catalog import for_project
from overcast.store.models import Domain, Project

_REF = {"type": "object", "properties": {"id": {"type": "string"}, "name": {"type": "string"}}}
_USER = {
    "type": "object",
    "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "password": {"type": "string"},
                   "domain": _REF},
    "anyOf": [{"required": ["id"]}, {"required": ["name", "domain"]}],
}
AUTH_SCHEMA = {
    "type": "object",
    "required": ["auth"],
    "properties": {"auth": {
        "type": "object",
        "required": ["identity"],
        "properties": {
            "identity": {
                "type": "object",
                "required": ["methods"],
                "properties": {
                    "methods": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                    "password": {"type": "object", "required": ["user"],
                                 "properties": {"user": {**_USER, "required": ["password"]}}},
                    "token": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}},
                    "application_credential": {
                        "type": "object", "required": ["secret"],
                        "properties": {"id": {"type": "string"}, "name": {"type": "string"},
                                       "secret": {"type": "string"}, "user": _USER},
                        "anyOf": [{"required": ["id"]}, {"required": ["name", "user"]}],
                    },
                },
            },
            "scope": {"anyOf": [
                {"type": "string", "enum": ["unscoped"]},
                {"type": "object", "properties": {
                    "project": {**_REF, "properties": {**_REF["properties"], "domain": _REF},
                                "anyOf": [{"required": ["id"]}, {"required": ["name", "domain"]}]},
                    "domain": {**_REF, "anyOf": [{"required": ["id"]}, {"required": ["name"]}]},
                    "system": {"type": "object", "properties": {"all": {"type": "boolean"}}},
                    "OS-TRUST:trust": {"type": "object", "required": ["id"],
                                       "properties": {"id": {"type": "string"}}},
                }},
            ]},
        },
    }},
}


def _ref(domain: Domain) -> dict[str, str]:
    return {"id": domain.id, "name": domain.name}


def token_body(facts: TokenFacts) -> dict[str, Any]:
    """Keystone v3's token document."""
    ctx = facts.ctx
    token: dict[str, Any] = {
        "methods": list(ctx.methods),
        "user": {"id": facts.user.id, "name": facts.user.name, "domain": _ref(facts.user_domain),
                 "password_expires_at": timestamp(facts.user.password_expires_at)},
        "audit_ids": list(ctx.audit_ids),
        "expires_at": timestamp(ctx.expires_at),
        "issued_at": timestamp(ctx.issued_at),
    }
    if facts.project is not None:
        token["project"] = {"id": facts.project.id, "name": facts.project.name,
                            "domain": _ref(facts.project_domain)}
        token["is_domain"] = False
    elif facts.domain is not None:
        token["domain"] = _ref(facts.domain)
    elif ctx.system:
        token["system"] = {"all": True}
    if ctx.scope_type is not None:
        token["roles"] = [{"id": r.id, "name": r.name} for r in facts.roles]
    if facts.catalog is not None:
        token["catalog"] = facts.catalog
    if facts.app_cred is not None:
        token["application_credential"] = {"id": facts.app_cred.id, "name": facts.app_cred.name,
                                           "restricted": not facts.app_cred.unrestricted}
    if facts.trust is not None:
        token["OS-TRUST:trust"] = {"id": facts.trust.id, "impersonation": facts.trust.impersonation,
                                   "trustee_user": {"id": facts.trust.trustee_user_id},
                                   "trustor_user": {"id": facts.trust.trustor_user_id}}
    if facts.access_token is not None:
        token["OS-OAUTH1"] = {"access_token_id": facts.access_token.id, "consumer_id": facts.access_token.consumer_id}
    return {"token": token}


class Tokens:
    public_methods = ("POST",)

    def __init__(self, core: IdentityCore):
        self.auth = Authenticator(core)

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = read_json(req, AUTH_SCHEMA)
        oauth1 = signed_request(self.auth.core, req) if "oauth1" in body["auth"]["identity"]["methods"] else None
        token, facts = self.auth.authenticate(body["auth"], with_catalog=not truthy(req.get_param("nocatalog")),
                                              oauth1=oauth1)
        resp.status = falcon.HTTP_201
        resp.set_header("X-Subject-Token", token)
        resp.media = token_body(facts)

    def _subject(self, req: falcon.Request, action: str, with_catalog: bool = True) -> tuple[str, TokenFacts]:
        subject = req.get_header("X-Subject-Token")
        if not subject:
            raise NotFound("Failed to validate token")
        facts = self.auth.describe(subject, with_catalog=with_catalog,
                                   allow_expired=bool(truthy(req.get_param("allow_expired"))))
        enforce(req, action, {"token_user_id": facts.user.id})
        return subject, facts

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        subject, facts = self._subject(req, "identity:validate_token",
                                       with_catalog=not truthy(req.get_param("nocatalog")))
        resp.set_header("X-Subject-Token", subject)
        resp.media = token_body(facts)

    def on_head(self, req: falcon.Request, resp: falcon.Response) -> None:
        subject, _ = self._subject(req, "identity:check_token", with_catalog=False)
        resp.set_header("X-Subject-Token", subject)
        resp.status = falcon.HTTP_200

    def on_delete(self, req: falcon.Request, resp: falcon.Response) -> None:
        subject, _ = self._subject(req, "identity:revoke_token", with_catalog=False)
        self.auth.revoke(subject)
        resp.status = falcon.HTTP_204


class AuthCatalog:
    def __init__(self, core: IdentityCore, links: Links):
        self.core, self.links = core, links

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        ctx = enforce(req, "identity:get_auth_catalog")
        if ctx.scope_type is None:
            raise Forbidden("A scoped token is required to get a service catalog.")
        resp.media = {"catalog": for_project(self.core.catalog.get(), ctx.project_id),
                      "links": {"self": self.links.v3("/auth/catalog")}}

    on_head = on_get


class AuthProjects:
    def __init__(self, core: IdentityCore, links: Links):
        self.core, self.links = core, links

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        ctx = enforce(req, "identity:get_auth_projects")
        with self.core.store.session() as session:
            projects = [p for p in session.scalars(select(Project).where(Project.enabled.is_(True))
                                                   .order_by(Project.name))
                        if direct_role_ids(session, ctx.user_id, project=p)]
            views = [project_view(self.links, p) for p in projects]
        resp.media = {"projects": views, "links": self.links.collection(req)}

    on_head = on_get


class AuthDomains:
    def __init__(self, core: IdentityCore, links: Links):
        self.core, self.links = core, links

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        ctx = enforce(req, "identity:get_auth_domains")
        with self.core.store.session() as session:
            domains = [d for d in session.scalars(select(Domain).where(Domain.enabled.is_(True))
                                                  .order_by(Domain.name))
                       if direct_role_ids(session, ctx.user_id, domain_id=d.id)]
            views = [domain_view(self.links, d) for d in domains]
        resp.media = {"domains": views, "links": self.links.collection(req)}

    on_head = on_get


class AuthSystem:
    def __init__(self, core: IdentityCore, links: Links):
        self.core, self.links = core, links

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        ctx = enforce(req, "identity:get_auth_system")
        with self.core.store.session() as session:
            has_system = bool(direct_role_ids(session, ctx.user_id, system=True))
        resp.media = {"system": [{"all": True}] if has_system else [],
                      "links": {"self": self.links.v3("/auth/system")}}

    on_head = on_get


def bind(registry: Registry, core: IdentityCore, links: Links) -> None:
    registry.bind("identity", "v3_auth_tokens", Tokens(core))
    registry.bind("identity", "v3_auth_catalog", AuthCatalog(core, links))
    registry.bind("identity", "v3_auth_projects", AuthProjects(core, links))
    registry.bind("identity", "v3_auth_domains", AuthDomains(core, links))
    registry.bind("identity", "v3_auth_system", AuthSystem(core, links))
