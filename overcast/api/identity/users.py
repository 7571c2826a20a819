"""``/v3/users``: CRUD, self-service password change, and a user's groups and projects."""

from __future__ import annotations

from typing import Any

import falcon

from overcast.api.identity.common import Links, caller, enforce, text_filters, truthy
from overcast.api.identity.projects import BOOLEAN, DESCRIPTION, ID_STRING, owning_domain
from overcast.api.identity.views import group_view, project_view, user_view
from overcast.api.routing import Registry
from overcast.api.validation import read_json
from overcast.core.identity import IdentityCore
from overcast.core.identity import groups as group_rules
from overcast.core.identity import projects as project_rules
from overcast.core.identity import users as rules
from overcast.store.models import User

NAME = {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"[\S]+"}
_OPTION_VALUES = {"type": ["boolean", "null"]}
OPTIONS = {
    "type": "object", "additionalProperties": False,
    "properties": {
        **{name: _OPTION_VALUES for name in rules.USER_OPTIONS if name != "multi_factor_auth_rules"},
        "multi_factor_auth_rules": {"type": ["array", "null"],
                                    "items": {"type": "array", "items": {"type": "string"}}},
    },
}
_PROPERTIES = {
    "name": NAME, "description": DESCRIPTION, "domain_id": ID_STRING, "enabled": BOOLEAN,
    "default_project_id": {"type": ["string", "null"], "minLength": 1, "maxLength": 64,
                           "pattern": r"^[a-zA-Z0-9-]+$"},
    "password": {"type": ["string", "null"]}, "options": OPTIONS,
    # Keystone keeps email among the extra attributes; here it is a column of 255 characters
    "email": {"type": ["string", "null"], "maxLength": 255},
}
CREATE_SCHEMA = {
    "type": "object", "required": ["user"], "additionalProperties": False,
    "properties": {"user": {"type": "object", "required": ["name"], "additionalProperties": True,
                            "properties": _PROPERTIES}},
}
UPDATE_SCHEMA = {
    "type": "object", "required": ["user"], "additionalProperties": False,
    "properties": {"user": {"type": "object", "minProperties": 1, "additionalProperties": True,
                            "properties": _PROPERTIES}},
}
PASSWORD_SCHEMA = {
    "type": "object", "required": ["user"],
    "properties": {"user": {"type": "object", "required": ["original_password", "password"],
                            "additionalProperties": False,
                            "properties": {"original_password": {"type": "string"},
                                           "password": {"type": "string"}}}},
}


def target_of(user: User | None) -> dict[str, Any]:
    return {} if user is None else {"user_id": user.id, "domain_id": user.domain_id}


class Users:
    def __init__(self, core: IdentityCore, links: Links):
        self.core, self.links = core, links

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        ctx = caller(req)
        enforce(req, "identity:list_users", {"domain_id": ctx.domain_id} if ctx.domain_id else {})
        domain_id = req.get_param("domain_id")
        if ctx.domain_id and domain_id not in (None, ctx.domain_id):
            resp.media = {"users": [], "links": self.links.collection(req)}
            return
        with self.core.store.session() as session:
            views = [user_view(self.links, u) for u in rules.list_users(
                session, name=req.get_param("name"), domain_id=ctx.domain_id or domain_id,
                enabled=truthy(req.get_param("enabled")),
                password_expires_at=req.get_param("password_expires_at"),
                matching=text_filters(req, ("name", "domain_id")))]
        resp.media = {"users": views, "links": self.links.collection(req)}

    on_head = on_get

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        ref = read_json(req, CREATE_SCHEMA)["user"]
        ref["domain_id"] = owning_domain(caller(req), ref.get("domain_id"))
        enforce(req, "identity:create_user", {"domain_id": ref["domain_id"]})
        with self.core.store.session() as session:
            user = rules.create(self.core, session, ref, default_domain_id=ref["domain_id"])
            view = user_view(self.links, user)
        resp.status = falcon.HTTP_201
        resp.media = {"user": view}


class UserItem:
    def __init__(self, core: IdentityCore, links: Links):
        self.core, self.links = core, links

    def on_get(self, req: falcon.Request, resp: falcon.Response, user_id: str) -> None:
        with self.core.store.session() as session:
            enforce(req, "identity:get_user", target_of(session.get(User, user_id)) or {"user_id": user_id})
            view = user_view(self.links, rules.get(session, user_id))
        resp.media = {"user": view}

    on_head = on_get

    def on_patch(self, req: falcon.Request, resp: falcon.Response, user_id: str) -> None:
        with self.core.store.session() as session:
            enforce(req, "identity:update_user", target_of(session.get(User, user_id)))
            ref = read_json(req, UPDATE_SCHEMA)["user"]
            user = rules.get(session, user_id)
            revocations = rules.update(self.core, session, user, ref)
            view = user_view(self.links, user)
        self.core.revocations.revoke_all(revocations)
        resp.media = {"user": view}

    def on_delete(self, req: falcon.Request, resp: falcon.Response, user_id: str) -> None:
        with self.core.store.session() as session:
            enforce(req, "identity:delete_user", target_of(session.get(User, user_id)))
            revocations = rules.delete_user(session, rules.get(session, user_id))
        self.core.revocations.revoke_all(revocations)
        resp.status = falcon.HTTP_204


class UserPassword:
    """Self-service password change. Keystone answers it without a token (so a user whose
    password has expired can still change it); the original password is the credential."""

    public_methods = ("POST",)

    def __init__(self, core: IdentityCore, links: Links):
        self.core, self.links = core, links

    def on_post(self, req: falcon.Request, resp: falcon.Response, user_id: str) -> None:
        ref = read_json(req, PASSWORD_SCHEMA)["user"]
        with self.core.store.session() as session:
            revocations = rules.change_password(self.core, session, user_id, ref["original_password"],
                                                ref["password"])
        self.core.revocations.revoke_all(revocations)
        resp.status = falcon.HTTP_204


class UserGroups:
    def __init__(self, core: IdentityCore, links: Links):
        self.core, self.links = core, links

    def on_get(self, req: falcon.Request, resp: falcon.Response, user_id: str) -> None:
        with self.core.store.session() as session:
            enforce(req, "identity:list_groups_for_user", target_of(session.get(User, user_id)) or
                    {"user_id": user_id})
            rules.get(session, user_id)
            views = [group_view(self.links, g) for g in group_rules.groups_of(
                session, user_id, name=req.get_param("name"), domain_id=req.get_param("domain_id"),
                matching=text_filters(req, ("name",)))]
        resp.media = {"groups": views, "links": self.links.collection(req)}

    on_head = on_get


class UserProjects:
    def __init__(self, core: IdentityCore, links: Links):
        self.core, self.links = core, links

    def on_get(self, req: falcon.Request, resp: falcon.Response, user_id: str) -> None:
        with self.core.store.session() as session:
            enforce(req, "identity:list_user_projects", target_of(session.get(User, user_id)) or
                    {"user_id": user_id})
            rules.get(session, user_id)
            ids = project_rules.ids_for_user(session, user_id)
            views = [project_view(self.links, p) for p in project_rules.list_projects(
                session, ids=ids, name=req.get_param("name"), domain_id=req.get_param("domain_id"),
                enabled=truthy(req.get_param("enabled")), matching=text_filters(req, ("name", "domain_id")))]
        resp.media = {"projects": views, "links": self.links.collection(req)}

    on_head = on_get


def bind(registry: Registry, core: IdentityCore, links: Links) -> None:
    registry.bind("identity", "v3_users", Users(core, links))
    registry.bind("identity", "v3_user", UserItem(core, links))
    registry.bind("identity", "v3_user_password", UserPassword(core, links))
    registry.bind("identity", "v3_user_groups", UserGroups(core, links))
    registry.bind("identity", "v3_user_projects", UserProjects(core, links))
