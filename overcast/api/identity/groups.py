"""``/v3/groups``: CRUD and membership (``/v3/groups/{group_id}/users[/{user_id}]``)."""

from __future__ import annotations

from typing import Any

import falcon

from overcast.api.identity.common import Links, caller, enforce, text_filters, truthy
from overcast.api.identity.projects import DESCRIPTION, ID_STRING, owning_domain
from overcast.api.identity.views import group_view, user_view
from overcast.api.routing import Registry
from overcast.api.validation import read_json
from overcast.core.identity import IdentityCore
from overcast.core.identity import groups as rules
from overcast.store.models import Group

# Keystone allows 255 characters, but its group table (and ours) holds 64.
NAME = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": r"[\S]+"}
_PROPERTIES = {"name": NAME, "description": DESCRIPTION, "domain_id": ID_STRING}
CREATE_SCHEMA = {
    "type": "object", "required": ["group"], "additionalProperties": False,
    "properties": {"group": {"type": "object", "required": ["name"], "additionalProperties": True,
                             "properties": _PROPERTIES}},
}
UPDATE_SCHEMA = {
    "type": "object", "required": ["group"], "additionalProperties": False,
    "properties": {"group": {"type": "object", "minProperties": 1, "additionalProperties": True,
                             "properties": _PROPERTIES}},
}


def target_of(group: Group | None, user_id: str | None = None) -> dict[str, Any]:
    target: dict[str, Any] = {} if group is None else {"group_id": group.id, "domain_id": group.domain_id}
    if user_id is not None:
        target["user_id"] = user_id
    return target


class Groups:
    def __init__(self, core: IdentityCore, links: Links):
        self.core, self.links = core, links

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        ctx = caller(req)
        enforce(req, "identity:list_groups", {"domain_id": ctx.domain_id} if ctx.domain_id else {})
        domain_id = req.get_param("domain_id")
        if ctx.domain_id and domain_id not in (None, ctx.domain_id):
            resp.media = {"groups": [], "links": self.links.collection(req)}
            return
        with self.core.store.session() as session:
            views = [group_view(self.links, g) for g in rules.list_groups(
                session, name=req.get_param("name"), domain_id=ctx.domain_id or domain_id,
                matching=text_filters(req, ("name", "domain_id")))]
        resp.media = {"groups": views, "links": self.links.collection(req)}

    on_head = on_get

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        ref = read_json(req, CREATE_SCHEMA)["group"]
        ref["domain_id"] = owning_domain(caller(req), ref.get("domain_id"))
        enforce(req, "identity:create_group", {"domain_id": ref["domain_id"]})
        with self.core.store.session() as session:
            view = group_view(self.links, rules.create(session, ref, default_domain_id=ref["domain_id"]))
        resp.status = falcon.HTTP_201
        resp.media = {"group": view}


class GroupItem:
    def __init__(self, core: IdentityCore, links: Links):
        self.core, self.links = core, links

    def on_get(self, req: falcon.Request, resp: falcon.Response, group_id: str) -> None:
        with self.core.store.session() as session:
            enforce(req, "identity:get_group", target_of(session.get(Group, group_id)))
            view = group_view(self.links, rules.get(session, group_id))
        resp.media = {"group": view}

    on_head = on_get

    def on_patch(self, req: falcon.Request, resp: falcon.Response, group_id: str) -> None:
        with self.core.store.session() as session:
            enforce(req, "identity:update_group", target_of(session.get(Group, group_id)))
            ref = read_json(req, UPDATE_SCHEMA)["group"]
            group = rules.get(session, group_id)
            rules.update(session, group, ref)
            view = group_view(self.links, group)
        resp.media = {"group": view}

    def on_delete(self, req: falcon.Request, resp: falcon.Response, group_id: str) -> None:
        with self.core.store.session() as session:
            enforce(req, "identity:delete_group", target_of(session.get(Group, group_id)))
            revocations = rules.delete_group(session, rules.get(session, group_id))
        self.core.revocations.revoke_all(revocations)
        resp.status = falcon.HTTP_204


class GroupUsers:
    def __init__(self, core: IdentityCore, links: Links):
        self.core, self.links = core, links

    def on_get(self, req: falcon.Request, resp: falcon.Response, group_id: str) -> None:
        with self.core.store.session() as session:
            enforce(req, "identity:list_users_in_group", target_of(session.get(Group, group_id)))
            rules.get(session, group_id)
            views = [user_view(self.links, u) for u in rules.users_in(
                session, group_id, name=req.get_param("name"), domain_id=req.get_param("domain_id"),
                enabled=truthy(req.get_param("enabled")), matching=text_filters(req, ("name", "domain_id")))]
        resp.media = {"users": views, "links": self.links.collection(req)}

    on_head = on_get


class GroupUser:
    def __init__(self, core: IdentityCore, links: Links):
        self.core, self.links = core, links

    def _group(self, req: falcon.Request, session: Any, action: str, group_id: str, user_id: str) -> Group:
        enforce(req, action, target_of(session.get(Group, group_id), user_id))
        return rules.get(session, group_id)

    def on_head(self, req: falcon.Request, resp: falcon.Response, group_id: str, user_id: str) -> None:
        with self.core.store.session() as session:
            group = self._group(req, session, "identity:check_user_in_group", group_id, user_id)
            rules.check_member(session, group, user_id)
        resp.status = falcon.HTTP_204

    def on_put(self, req: falcon.Request, resp: falcon.Response, group_id: str, user_id: str) -> None:
        with self.core.store.session() as session:
            group = self._group(req, session, "identity:add_user_to_group", group_id, user_id)
            rules.add_member(session, group, user_id)
        resp.status = falcon.HTTP_204

    def on_delete(self, req: falcon.Request, resp: falcon.Response, group_id: str, user_id: str) -> None:
        with self.core.store.session() as session:
            group = self._group(req, session, "identity:remove_user_from_group", group_id, user_id)
            revocations = rules.remove_member(session, group, user_id)
        self.core.revocations.revoke_all(revocations)
        resp.status = falcon.HTTP_204


def bind(registry: Registry, core: IdentityCore, links: Links) -> None:
    registry.bind("identity", "v3_groups", Groups(core, links))
    registry.bind("identity", "v3_group", GroupItem(core, links))
    registry.bind("identity", "v3_group_users", GroupUsers(core, links))
    registry.bind("identity", "v3_group_user", GroupUser(core, links))
