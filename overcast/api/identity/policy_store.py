"""``/v3/policies[/{id}]``: Keystone's deprecated policy blob store."""

from __future__ import annotations

from typing import Any

import falcon

from overcast.api.identity.common import Links, enforce, text_filters
from overcast.api.routing import Registry
from overcast.api.validation import read_json
from overcast.core.identity import IdentityCore
from overcast.core.identity import policy_store as core_policies
from overcast.store.models import Policy

_PROPERTIES = {"type": {"type": "string", "minLength": 1, "maxLength": 255}, "blob": {"type": "string"}}
CREATE_SCHEMA = {"type": "object", "required": ["policy"], "properties": {
    "policy": {"type": "object", "required": ["type", "blob"], "properties": _PROPERTIES}}}
UPDATE_SCHEMA = {"type": "object", "required": ["policy"], "properties": {
    "policy": {"type": "object", "minProperties": 1, "properties": _PROPERTIES}}}


def policy_view(links: Links, policy: Policy) -> dict[str, Any]:
    return {**policy.extra, "id": policy.id, "type": policy.type, "blob": policy.blob,
            "links": links.self_link(f"/policies/{policy.id}")}


class Policies:
    def __init__(self, core: IdentityCore, links: Links):
        self.core, self.links = core, links

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        enforce(req, "identity:list_policies")
        with self.core.store.session() as session:
            views = [policy_view(self.links, p) for p in core_policies.list_policies(
                session, req.get_param("type"), matching=text_filters(req, ("type",)))]
        resp.media = {"policies": views, "links": self.links.collection(req)}

    on_head = on_get

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        enforce(req, "identity:create_policy")
        body = read_json(req, CREATE_SCHEMA)["policy"]
        with self.core.store.session() as session:
            view = policy_view(self.links, core_policies.create(session, body))
        resp.status = falcon.HTTP_201
        resp.media = {"policy": view}


class PolicyItem:
    def __init__(self, core: IdentityCore, links: Links):
        self.core, self.links = core, links

    def on_get(self, req: falcon.Request, resp: falcon.Response, policy_id: str) -> None:
        enforce(req, "identity:get_policy")
        with self.core.store.session() as session:
            resp.media = {"policy": policy_view(self.links, core_policies.get(session, policy_id))}

    on_head = on_get

    def on_patch(self, req: falcon.Request, resp: falcon.Response, policy_id: str) -> None:
        enforce(req, "identity:update_policy")
        body = read_json(req, UPDATE_SCHEMA)["policy"]
        with self.core.store.session() as session:
            resp.media = {"policy": policy_view(self.links, core_policies.update(session, policy_id, body))}

    def on_delete(self, req: falcon.Request, resp: falcon.Response, policy_id: str) -> None:
        enforce(req, "identity:delete_policy")
        with self.core.store.session() as session:
            core_policies.delete(session, policy_id)
        resp.status = falcon.HTTP_204


def bind(registry: Registry, core: IdentityCore, links: Links) -> None:
    registry.bind("identity", "v3_policies", Policies(core, links))
    registry.bind("identity", "v3_policy", PolicyItem(core, links))
