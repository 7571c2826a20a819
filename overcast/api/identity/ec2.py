"""OS-EC2: ``/v3/users/{user_id}/credentials/OS-EC2[/{credential_id}]`` (the id in the URL is the
access key; the credential's owner or an admin may use them), and ``/v3/ec2tokens`` and
``/v3/s3tokens``, where an EC2 or S3 front end trades a request signed with such a credential for a
token (no token needed to call them: the signature is the proof)."""

from __future__ import annotations

from typing import Any, Literal

import falcon

from overcast.api.identity.common import Links, enforce
from overcast.api.identity.tokens import token_body
from overcast.api.routing import Registry
from overcast.api.validation import read_json
from overcast.core.identity import IdentityCore
from overcast.core.identity import ec2 as core_ec2
from overcast.core.identity.auth import Authenticator
from overcast.core.identity.ec2 import Ec2Credential


CREATE_SCHEMA = {
    "type": "object", "required": ["tenant_id"],
    "properties": {"tenant_id": {"type": "string", "minLength": 1, "maxLength": 64}},
}


def ec2_view(links: Links, cred: Ec2Credential) -> dict[str, Any]:
    return {"user_id": cred.user_id, "tenant_id": cred.tenant_id, "access": cred.access, "secret": cred.secret,
            "trust_id": cred.trust_id,
            "links": links.self_link(f"/users/{cred.user_id}/credentials/OS-EC2/{cred.credential_id}")}


class Ec2Credentials:
    def __init__(self, core: IdentityCore, links: Links):
        self.core, self.links = core, links

    def on_get(self, req: falcon.Request, resp: falcon.Response, user_id: str) -> None:
        enforce(req, "identity:ec2_list_credentials", {"user_id": user_id})
        with self.core.store.session() as session:
            views = [ec2_view(self.links, c)
                     for c in core_ec2.list_for_user(session, self.core.credentials, user_id)]
        resp.media = {"credentials": views, "links": self.links.collection(req)}

    on_head = on_get

    def on_post(self, req: falcon.Request, resp: falcon.Response, user_id: str) -> None:
        ctx = enforce(req, "identity:ec2_create_credential", {"user_id": user_id})
        body = read_json(req, CREATE_SCHEMA)
        with self.core.store.session() as session:
            cred = core_ec2.create(session, self.core.credentials, user_id, body["tenant_id"],
                                   trust_id=ctx.trust_id, app_cred_id=ctx.app_cred_id,
                                   access_token_id=ctx.access_token_id)
        resp.status = falcon.HTTP_201
        resp.media = {"credential": ec2_view(self.links, cred)}


class Ec2CredentialItem:
    def __init__(self, core: IdentityCore, links: Links):
        self.core, self.links = core, links

    def _enforce(self, req: falcon.Request, action: str, user_id: str, access: str) -> None:
        with self.core.store.session() as session:
            owner = core_ec2.owner_of(session, access)
        # The target is the credential's owner when it exists, else the user in the URL.
        enforce(req, action, {"user_id": owner or user_id})

    def on_get(self, req: falcon.Request, resp: falcon.Response, user_id: str, credential_id: str) -> None:
        self._enforce(req, "identity:ec2_get_credential", user_id, credential_id)
        with self.core.store.session() as session:
            cred = core_ec2.get(session, self.core.credentials, user_id, credential_id)
        resp.media = {"credential": ec2_view(self.links, cred)}

    on_head = on_get

    def on_delete(self, req: falcon.Request, resp: falcon.Response, user_id: str, credential_id: str) -> None:
        self._enforce(req, "identity:ec2_delete_credential", user_id, credential_id)
        with self.core.store.session() as session:
            core_ec2.delete(session, self.core.credentials, user_id, credential_id)
        resp.status = falcon.HTTP_204


#: what the core reads of an ec2tokens/s3tokens body is checked there; it must be an object
SIGNED_REQUEST_SCHEMA = {"type": "object"}


class SignedRequestTokens:
    """``POST /v3/ec2tokens`` (200, the token also in X-Subject-Token) and ``/v3/s3tokens`` (200)."""

    public_methods = ("POST",)

    def __init__(self, core: IdentityCore, kind: Literal["ec2", "s3"]):
        self.core, self.kind, self.auth = core, kind, Authenticator(core)

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        token, facts = core_ec2.authenticate(self.core, self.auth, read_json(req, SIGNED_REQUEST_SCHEMA), self.kind)
        if self.kind == "ec2":
            resp.set_header("X-Subject-Token", token)
        resp.media = token_body(facts)


def bind(registry: Registry, core: IdentityCore, links: Links) -> None:
    registry.bind("identity", "v3_user_ec2_credentials", Ec2Credentials(core, links))
    registry.bind("identity", "v3_user_ec2_credential", Ec2CredentialItem(core, links))
    registry.bind("identity", "v3_ec2tokens", SignedRequestTokens(core, "ec2"))
    registry.bind("identity", "v3_s3tokens", SignedRequestTokens(core, "s3"))
