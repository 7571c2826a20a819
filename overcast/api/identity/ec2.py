"""OS-EC2: ``/v3/users/{user_id}/credentials/OS-EC2[/{credential_id}]`` (the id in the URL is the
access key). The credential's owner or an admin may use them."""

from __future__ import annotations

from typing import Any

import falcon

from overcast.api.identity.common import Links, enforce
from overcast.api.routing import Registry
from overcast.api.validation import read_json
from overcast.core.identity import IdentityCore
from overcast.core.identity import ec2 as core_ec2
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
                                   trust_id=getattr(ctx, "trust_id", None))
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


def bind(registry: Registry, core: IdentityCore, links: Links) -> None:
    registry.bind("identity", "v3_user_ec2_credentials", Ec2Credentials(core, links))
    registry.bind("identity", "v3_user_ec2_credential", Ec2CredentialItem(core, links))
