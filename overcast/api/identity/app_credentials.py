"""``/v3/users/{user_id}/application_credentials[/{id}]``."""

from __future__ import annotations

from typing import Any

import falcon
from sqlalchemy.orm import Session

from overcast.api.identity.access_rules import ACCESS_RULE_SCHEMA
from overcast.api.identity.common import Links, enforce, text_filters
from overcast.api.identity.views import naive_timestamp
from overcast.api.routing import Registry
from overcast.api.validation import read_json
from overcast.core.identity import IdentityCore
from overcast.core.identity import app_credentials as core_app_creds
from overcast.store.models import ROOT_DOMAIN_ID, ApplicationCredential

_ROLE_REF = {"type": "object", "properties": {"id": {"type": "string"}, "name": {"type": "string"}},
             "anyOf": [{"required": ["id"]}, {"required": ["name"]}]}
_ACCESS_RULE = ACCESS_RULE_SCHEMA
CREATE_SCHEMA = {
    "type": "object", "required": ["application_credential"],
    "properties": {"application_credential": {
        "type": "object", "required": ["name"],
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 255},
            "description": {"type": ["string", "null"]},
            "secret": {"type": ["string", "null"], "minLength": 1},
            "expires_at": {"type": ["string", "null"]},
            "roles": {"type": "array", "items": _ROLE_REF},
            "unrestricted": {"type": ["boolean", "null"]},
            "access_rules": {"type": "array", "items": _ACCESS_RULE},
        },
        "additionalProperties": False,
    }},
}


def app_credential_view(links: Links, session: Session, cred: ApplicationCredential) -> dict[str, Any]:
    roles = [{"id": r.id, "name": r.name, "domain_id": None if r.domain_id == ROOT_DOMAIN_ID else r.domain_id}
             for r in core_app_creds.roles_of(session, cred)]
    return {"id": cred.id, "name": cred.name, "description": cred.description or None,
            "user_id": cred.user_id, "project_id": cred.project_id, "roles": roles,
            "expires_at": naive_timestamp(cred.expires_at), "unrestricted": cred.unrestricted,
            "access_rules": list(cred.access_rules),
            "links": links.self_link(f"/users/{cred.user_id}/application_credentials/{cred.id}")}


class AppCredentials:
    def __init__(self, core: IdentityCore, links: Links):
        self.core, self.links = core, links

    def on_get(self, req: falcon.Request, resp: falcon.Response, user_id: str) -> None:
        enforce(req, "identity:list_application_credentials", {"user_id": user_id})
        with self.core.store.session() as session:
            creds = core_app_creds.list_for_user(session, user_id, req.get_param("name"),
                                                 matching=text_filters(req, ("name",)))
            views = [app_credential_view(self.links, session, c) for c in creds]
        resp.media = {"application_credentials": views, "links": self.links.collection(req)}

    on_head = on_get

    def on_post(self, req: falcon.Request, resp: falcon.Response, user_id: str) -> None:
        ctx = enforce(req, "identity:create_application_credential", {"user_id": user_id})
        body = read_json(req, CREATE_SCHEMA)["application_credential"]
        cred, secret = core_app_creds.create(self.core, ctx, user_id, body)
        with self.core.store.session() as session:
            view = app_credential_view(self.links, session, cred)
        resp.status = falcon.HTTP_201
        resp.media = {"application_credential": {**view, "secret": secret}}


class AppCredential:
    def __init__(self, core: IdentityCore, links: Links):
        self.core, self.links = core, links

    def on_get(self, req: falcon.Request, resp: falcon.Response, user_id: str,
               application_credential_id: str) -> None:
        enforce(req, "identity:get_application_credential", {"user_id": user_id})
        with self.core.store.session() as session:
            cred = core_app_creds.get(session, user_id, application_credential_id)
            resp.media = {"application_credential": app_credential_view(self.links, session, cred)}

    on_head = on_get

    def on_delete(self, req: falcon.Request, resp: falcon.Response, user_id: str,
                  application_credential_id: str) -> None:
        enforce(req, "identity:delete_application_credential", {"user_id": user_id})
        core_app_creds.delete(self.core, user_id, application_credential_id)
        resp.status = falcon.HTTP_204


def bind(registry: Registry, core: IdentityCore, links: Links) -> None:
    registry.bind("identity", "v3_user_application_credentials", AppCredentials(core, links))
    registry.bind("identity", "v3_user_application_credential", AppCredential(core, links))
