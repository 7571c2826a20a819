"""OS-OAUTH1: consumers, the request token / authorize / access token flow, and a user's access
tokens (``/v3/users/{user_id}/OS-OAUTH1/access_tokens[/{id}[/roles[/{role_id}]]]``).

The token endpoints answer as Keystone does: ``application/x-www-form-urlencoded`` bodies
``oauth_token=...&oauth_token_secret=...&oauth_expires_at=...`` with 201.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import falcon

from overcast.api.identity.common import Links, enforce
from overcast.api.identity.views import role_view, timestamp
from overcast.api.routing import Registry
from overcast.api import validation
from overcast.api.validation import read_json
from overcast.core.errors import Forbidden, NotFound
from overcast.core.identity import IdentityCore
from overcast.core.identity import oauth1 as core_oauth1
from overcast.store.models import OAuth1AccessToken, OAuth1Consumer

_CONSUMER = {"type": "object", "properties": {"description": {"type": ["string", "null"], "maxLength": 64000}},
             "additionalProperties": True}
CREATE_SCHEMA = {"type": "object", "required": ["consumer"],
                 "properties": {"consumer": _CONSUMER}}
UPDATE_SCHEMA = {"type": "object", "required": ["consumer"], "properties": {"consumer": _CONSUMER}}
#: Keystone's request_token_authorize: a non-empty list of roles by id or by name
AUTHORIZE_SCHEMA = {"type": "object", "required": ["roles"], "properties": {"roles": {
    "type": "array", "minItems": 1, "items": {
        "type": "object", "minProperties": 1, "additionalProperties": False,
        "properties": {"id": {"type": "string", "minLength": 1, "maxLength": 64},
                       "name": {"type": "string", "minLength": 1, "maxLength": 255}}}}}}
_FORM = "application/x-www-form-urlencoded"


def consumer_view(links: Links, consumer: OAuth1Consumer) -> dict[str, Any]:
    return {**consumer.extra, "id": consumer.id, "description": consumer.description,
            "links": links.self_link(f"/OS-OAUTH1/consumers/{consumer.id}")}


def access_token_view(links: Links, access: OAuth1AccessToken) -> dict[str, Any]:
    path = f"/users/{access.authorizing_user_id}/OS-OAUTH1/access_tokens/{access.id}"
    return {"id": access.id, "consumer_id": access.consumer_id, "authorizing_user_id": access.authorizing_user_id,
            "project_id": access.project_id, "expires_at": timestamp(access.expires_at),
            "links": {"self": links.v3(path), "roles": links.v3(f"{path}/roles")}}


def signed_request(core: IdentityCore, req: falcon.Request) -> core_oauth1.SignedRequest:
    """What an OAuth signature covers: the public URL of the call (what a client read from the
    catalog) and, failing that, the URL the server saw; a form body, which is signed too."""
    query = f"?{req.query_string}" if req.query_string else ""
    public = core.settings.public_url.rstrip("/") + req.path + query
    body = None
    if (req.content_type or "").startswith(_FORM):
        body = validation.body_bytes(req, req.context.max_body_bytes)[:req.context.max_body_bytes].decode(
            "utf-8", "replace")
    return core_oauth1.SignedRequest(uris=tuple(dict.fromkeys((public, req.url))), http_method=req.method,
                                     headers=dict(req.headers), body=body)


def _form(resp: falcon.Response, issued: core_oauth1.IssuedToken) -> None:
    fields = {"oauth_token": issued.id, "oauth_token_secret": issued.secret}
    if issued.expires_at is not None:
        fields["oauth_expires_at"] = timestamp(issued.expires_at)
    resp.status = falcon.HTTP_201
    resp.content_type = _FORM
    resp.text = urlencode(fields)


class Consumers:
    def __init__(self, core: IdentityCore, links: Links):
        self.core, self.links = core, links

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        enforce(req, "identity:list_consumers")
        with self.core.store.session() as session:
            views = [consumer_view(self.links, c) for c in core_oauth1.list_consumers(session)]
        resp.media = {"consumers": views, "links": self.links.collection(req)}

    on_head = on_get

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        enforce(req, "identity:create_consumer")
        body = read_json(req, CREATE_SCHEMA)["consumer"]
        consumer, secret = core_oauth1.create(self.core, body)
        resp.status = falcon.HTTP_201
        resp.media = {"consumer": {**consumer_view(self.links, consumer), "secret": secret}}


class Consumer:
    def __init__(self, core: IdentityCore, links: Links):
        self.core, self.links = core, links

    def on_get(self, req: falcon.Request, resp: falcon.Response, consumer_id: str) -> None:
        enforce(req, "identity:get_consumer")
        with self.core.store.session() as session:
            resp.media = {"consumer": consumer_view(self.links, core_oauth1.get(session, consumer_id))}

    on_head = on_get

    def on_patch(self, req: falcon.Request, resp: falcon.Response, consumer_id: str) -> None:
        enforce(req, "identity:update_consumer")
        body = read_json(req, UPDATE_SCHEMA)["consumer"]
        with self.core.store.session() as session:
            resp.media = {"consumer": consumer_view(self.links, core_oauth1.update(session, consumer_id, body))}

    def on_delete(self, req: falcon.Request, resp: falcon.Response, consumer_id: str) -> None:
        enforce(req, "identity:delete_consumer")
        with self.core.store.session() as session:
            revocations = core_oauth1.delete(session, consumer_id)
        self.core.revocations.revoke_all(revocations)
        resp.status = falcon.HTTP_204


class RequestToken:
    public_methods = ("POST",)

    def __init__(self, core: IdentityCore):
        self.core = core

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        issued = core_oauth1.create_request_token(self.core, signed_request(self.core, req),
                                                  req.get_header("Requested-Project-Id"))
        _form(resp, issued)


class AccessToken:
    public_methods = ("POST",)

    def __init__(self, core: IdentityCore):
        self.core = core

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        _form(resp, core_oauth1.create_access_token(self.core, signed_request(self.core, req)))


class Authorize:
    def __init__(self, core: IdentityCore):
        self.core = core

    def on_put(self, req: falcon.Request, resp: falcon.Response, request_token_id: str) -> None:
        ctx = enforce(req, "identity:authorize_request_token")
        roles = read_json(req, AUTHORIZE_SCHEMA)["roles"]
        with self.core.store.session() as session:
            verifier = core_oauth1.authorize(session, ctx, request_token_id, roles)
        resp.media = {"token": {"oauth_verifier": verifier}}


class UserAccessTokens:
    def __init__(self, core: IdentityCore, links: Links):
        self.core, self.links = core, links

    def on_get(self, req: falcon.Request, resp: falcon.Response, user_id: str) -> None:
        ctx = enforce(req, "identity:list_access_tokens", {"user_id": user_id})
        if ctx.is_delegated:
            raise Forbidden("Cannot list request tokens with a token issued via delegation.")
        with self.core.store.session() as session:
            views = [access_token_view(self.links, a) for a in core_oauth1.access_tokens_of(session, user_id)]
        resp.media = {"access_tokens": views, "links": self.links.collection(req)}

    on_head = on_get


class UserAccessToken:
    def __init__(self, core: IdentityCore, links: Links):
        self.core, self.links = core, links

    def on_get(self, req: falcon.Request, resp: falcon.Response, user_id: str, access_token_id: str) -> None:
        enforce(req, "identity:get_access_token", {"user_id": user_id})
        with self.core.store.session() as session:
            access = core_oauth1.access_token_of(session, user_id, access_token_id)
            resp.media = {"access_token": access_token_view(self.links, access)}

    on_head = on_get

    def on_delete(self, req: falcon.Request, resp: falcon.Response, user_id: str, access_token_id: str) -> None:
        enforce(req, "identity:delete_access_token", {"user_id": user_id})
        with self.core.store.session() as session:
            revocations = core_oauth1.delete_access_token(session, user_id, access_token_id)
        self.core.revocations.revoke_all(revocations)
        resp.status = falcon.HTTP_204


class UserAccessTokenRoles:
    def __init__(self, core: IdentityCore, links: Links):
        self.core, self.links = core, links

    def on_get(self, req: falcon.Request, resp: falcon.Response, user_id: str, access_token_id: str) -> None:
        enforce(req, "identity:list_access_token_roles", {"user_id": user_id})
        with self.core.store.session() as session:
            access = core_oauth1.access_token_of(session, user_id, access_token_id)
            views = [role_view(self.links, r) for r in core_oauth1.roles_of(session, access)]
        resp.media = {"roles": views, "links": self.links.collection(req)}

    on_head = on_get


class UserAccessTokenRole:
    def __init__(self, core: IdentityCore, links: Links):
        self.core, self.links = core, links

    def on_get(self, req: falcon.Request, resp: falcon.Response, user_id: str, access_token_id: str,
               role_id: str) -> None:
        enforce(req, "identity:get_access_token_role", {"user_id": user_id})
        with self.core.store.session() as session:
            access = core_oauth1.access_token_of(session, user_id, access_token_id)
            role = next((r for r in core_oauth1.roles_of(session, access) if r.id == role_id), None)
            if role is None:
                raise NotFound(f"Could not find role: {role_id}.")
            resp.media = {"role": role_view(self.links, role)}

    on_head = on_get


def bind(registry: Registry, core: IdentityCore, links: Links) -> None:
    registry.bind("identity", "v3_oauth1_consumers", Consumers(core, links))
    registry.bind("identity", "v3_oauth1_consumer", Consumer(core, links))
    registry.bind("identity", "v3_oauth1_request_token", RequestToken(core))
    registry.bind("identity", "v3_oauth1_access_token", AccessToken(core))
    registry.bind("identity", "v3_oauth1_authorize", Authorize(core))
    registry.bind("identity", "v3_user_oauth1_access_tokens", UserAccessTokens(core, links))
    registry.bind("identity", "v3_user_oauth1_access_token", UserAccessToken(core, links))
    registry.bind("identity", "v3_user_oauth1_access_token_roles", UserAccessTokenRoles(core, links))
    registry.bind("identity", "v3_user_oauth1_access_token_role", UserAccessTokenRole(core, links))
