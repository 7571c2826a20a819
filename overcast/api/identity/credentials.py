"""``/v3/credentials[/{id}]`` (Jumpgate's names: ``v3_credentails``, ``v3_credentail``)."""

from __future__ import annotations

from typing import Any

import falcon

from overcast.api.identity.common import Links, enforce, text_filters
from overcast.api.routing import Registry
from overcast.api.validation import read_json
from overcast.core import policy
from overcast.core.identity import IdentityCore
from overcast.core.identity import credentials as core_creds
from overcast.core.identity.credentials import CredentialCipher
from overcast.store.models import Credential

_STR = {"type": "string", "minLength": 1, "maxLength": 255}
_PROPERTIES = {"type": _STR, "blob": {"type": "string", "minLength": 1}, "user_id": _STR,
               "project_id": {"type": ["string", "null"], "maxLength": 64}}
CREATE_SCHEMA = {
    "type": "object", "required": ["credential"],
    "properties": {"credential": {"type": "object", "required": ["type", "blob", "user_id"],
                                  "properties": _PROPERTIES}},
}
UPDATE_SCHEMA = {
    "type": "object", "required": ["credential"],
    "properties": {"credential": {"type": "object", "minProperties": 1, "properties": _PROPERTIES}},
}


def credential_view(links: Links, cipher: CredentialCipher, cred: Credential) -> dict[str, Any]:
    return {**cred.extra, "id": cred.id, "user_id": cred.user_id, "project_id": cred.project_id,
            "type": cred.type, "blob": cipher.decrypt(cred.encrypted_blob),
            "links": links.self_link(f"/credentials/{cred.id}")}


class Credentials:
    def __init__(self, core: IdentityCore, links: Links, cipher: CredentialCipher):
        self.core, self.links, self.cipher = core, links, cipher

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        ctx = enforce(req, "identity:list_credentials")
        see_all = policy.allowed("identity:get_credential", ctx, {"user_id": None})
        with self.core.store.session() as session:
            creds = core_creds.list_credentials(session, ctx, user_id=req.get_param("user_id"),
                                                type_=req.get_param("type"), see_all=see_all,
                                                matching=text_filters(req, ("user_id", "type")))
            views = [credential_view(self.links, self.cipher, c) for c in creds]
        resp.media = {"credentials": views, "links": self.links.collection(req)}

    on_head = on_get

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = read_json(req, CREATE_SCHEMA)["credential"]
        enforce(req, "identity:create_credential", {"user_id": body["user_id"]})
        with self.core.store.session() as session:
            view = credential_view(self.links, self.cipher, core_creds.create(session, self.cipher, body))
        resp.status = falcon.HTTP_201
        resp.media = {"credential": view}


class CredentialItem:
    def __init__(self, core: IdentityCore, links: Links, cipher: CredentialCipher):
        self.core, self.links, self.cipher = core, links, cipher

    def on_get(self, req: falcon.Request, resp: falcon.Response, credential_id: str) -> None:
        with self.core.store.session() as session:
            cred = core_creds.get(session, credential_id)
            enforce(req, "identity:get_credential", {"user_id": cred.user_id})
            resp.media = {"credential": credential_view(self.links, self.cipher, cred)}

    on_head = on_get

    def on_patch(self, req: falcon.Request, resp: falcon.Response, credential_id: str) -> None:
        body = read_json(req, UPDATE_SCHEMA)["credential"]
        with self.core.store.session() as session:
            cred = core_creds.get(session, credential_id)
            enforce(req, "identity:update_credential", {"user_id": cred.user_id})
            if "user_id" in body:
                enforce(req, "identity:update_credential", {"user_id": body["user_id"]})
            cred = core_creds.update(session, self.cipher, credential_id, body)
            resp.media = {"credential": credential_view(self.links, self.cipher, cred)}

    def on_delete(self, req: falcon.Request, resp: falcon.Response, credential_id: str) -> None:
        with self.core.store.session() as session:
            cred = core_creds.get(session, credential_id)
            enforce(req, "identity:delete_credential", {"user_id": cred.user_id})
            session.delete(cred)
        resp.status = falcon.HTTP_204


def bind(registry: Registry, core: IdentityCore, links: Links) -> None:
    cipher = core.credentials
    registry.bind("identity", "v3_credentails", Credentials(core, links, cipher))
    registry.bind("identity", "v3_credentail", CredentialItem(core, links, cipher))
