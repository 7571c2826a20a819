"""``/v3/users/{user_id}/access_rules[/{access_rule_id}]``."""

from __future__ import annotations

from typing import Any

import falcon

from overcast.api.identity.common import Links, enforce
from overcast.api.routing import Registry
from overcast.core.identity import IdentityCore
from overcast.core.identity import access_rules as core_rules
from overcast.store.models import AccessRule

#: an access rule in an application credential request (Keystone's schema)
ACCESS_RULE_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "minLength": 1, "maxLength": 64},
        "service": {"type": "string", "minLength": 1, "maxLength": 64},
        "path": {"type": "string", "minLength": 1, "maxLength": 128, "pattern": "^/"},
        "method": {"type": "string", "enum": ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]},
    },
    "anyOf": [{"required": ["id"]}, {"required": ["service", "path", "method"]}],
    "additionalProperties": False,
}


def access_rule_view(links: Links, rule: AccessRule) -> dict[str, Any]:
    return {**core_rules.as_dict(rule), "links": links.self_link(f"/users/{rule.user_id}/access_rules/{rule.id}")}


class AccessRules:
    def __init__(self, core: IdentityCore, links: Links):
        self.core, self.links = core, links

    def on_get(self, req: falcon.Request, resp: falcon.Response, user_id: str) -> None:
        enforce(req, "identity:list_access_rules", {"user_id": user_id})
        with self.core.store.session() as session:
            rules = core_rules.list_for_user(session, user_id)
            for key in ("service", "path", "method"):
                if req.get_param(key) is not None:
                    rules = [r for r in rules if getattr(r, key) == req.get_param(key)]
            views = [access_rule_view(self.links, r) for r in rules]
        resp.media = {"access_rules": views, "links": self.links.collection(req)}

    on_head = on_get


class AccessRuleItem:
    def __init__(self, core: IdentityCore, links: Links):
        self.core, self.links = core, links

    def on_get(self, req: falcon.Request, resp: falcon.Response, user_id: str, access_rule_id: str) -> None:
        enforce(req, "identity:get_access_rule", {"user_id": user_id})
        with self.core.store.session() as session:
            resp.media = {"access_rule": access_rule_view(self.links,
                                                          core_rules.get(session, user_id, access_rule_id))}

    on_head = on_get

    def on_delete(self, req: falcon.Request, resp: falcon.Response, user_id: str, access_rule_id: str) -> None:
        enforce(req, "identity:delete_access_rule", {"user_id": user_id})
        with self.core.store.session() as session:
            core_rules.delete(session, user_id, access_rule_id)
        resp.status = falcon.HTTP_204


def bind(registry: Registry, core: IdentityCore, links: Links) -> None:
    registry.bind("identity", "v3_user_access_rules", AccessRules(core, links))
    registry.bind("identity", "v3_user_access_rule", AccessRuleItem(core, links))
