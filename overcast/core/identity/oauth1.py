"""OAuth 1.0a delegation (OS-OAUTH1), as Keystone does it:

1. an administrator makes a *consumer* (an application) and hands it the consumer's id and secret;
2. the consumer asks for a *request token* on a project (``POST /v3/OS-OAUTH1/request_token``,
   signed with its secret, the project in ``Requested-Project-Id``);
3. a user who holds roles on that project *authorizes* the request token for some of them
   (``PUT /v3/OS-OAUTH1/authorize/{request_token_id}``) and gives the consumer the *verifier*;
4. the consumer trades the request token and verifier for an *access token*
   (``POST /v3/OS-OAUTH1/access_token``, signed with both secrets); the request token is spent;
5. the consumer gets Keystone tokens with it (``POST /v3/auth/tokens``, method ``oauth1``, signed
   with its secret and the access token's): scoped to the project, with the authorized roles the
   user still holds, until the user deletes the access token.

Signatures are checked by oauthlib (RFC 5849 HMAC-SHA1/SHA256/SHA512). Every secret is kept
encrypted with the credential keys (the HMAC needs it back). Ids and secrets are 32 hex digits and
verifiers 8 letters and digits, as Keystone's validator expects.
"""

from __future__ import annotations

import datetime as dt
import secrets
import string
import uuid
from dataclasses import dataclass
from typing import Any, Literal, Mapping

from oauthlib import oauth1
from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.core.errors import Forbidden, Invalid, NotFound, Unauthorized
from overcast.core.identity import IdentityCore
from overcast.core.identity.assignments import effective_roles, expand_implied
from overcast.store.models import (ROOT_DOMAIN_ID, OAuth1AccessToken, OAuth1Consumer, OAuth1RequestToken, Project,
                                   Role, utcnow)


_KNOWN = ("id", "links", "description", "secret")
#: Keystone's [oauth1] request_token_duration and access_token_duration (seconds; 0: never expire)
REQUEST_TOKEN_SECONDS = 28800
ACCESS_TOKEN_SECONDS = 86400
_HEX = frozenset("0123456789abcdef")
_VERIFIER_CHARS = string.ascii_letters + string.digits
_DUMMY = "0" * 32


@dataclass(frozen=True)
class SignedRequest:
    """The HTTP request a signature covers: the URLs the client may have signed (the public URL
    first, then the one the server saw), the method, the headers and the form body, if any."""

    uris: tuple[str, ...]
    http_method: str
    headers: Mapping[str, str]
    body: str | None = None


@dataclass(frozen=True)
class IssuedToken:
    """A request or access token with its secret (shown once, to the consumer)."""

    id: str
    secret: str
    expires_at: dt.datetime | None


# -- consumers -----------------------------------------------------------------------------------

def get(session: Session, consumer_id: str) -> OAuth1Consumer:
    """:raises NotFound:"""
    consumer = session.get(OAuth1Consumer, consumer_id)
    if consumer is None:
        raise NotFound("Consumer not found")
    return consumer


def list_consumers(session: Session) -> list[OAuth1Consumer]:
    return list(session.scalars(select(OAuth1Consumer).order_by(OAuth1Consumer.id)))


def create(core: IdentityCore, body: dict[str, Any]) -> tuple[OAuth1Consumer, str]:
    """A new consumer and its secret (shown once)."""
    secret = uuid.uuid4().hex
    with core.store.session() as session:
        consumer = OAuth1Consumer(description=body.get("description"),
                                  encrypted_secret=core.credentials.encrypt(secret),
                                  extra={k: v for k, v in body.items() if k not in _KNOWN})
        session.add(consumer)
        session.flush()
        return consumer, secret


def update(session: Session, consumer_id: str, body: dict[str, Any]) -> OAuth1Consumer:
    """:raises NotFound: :raises Invalid: a change of secret or id."""
    consumer = get(session, consumer_id)
    if "secret" in body:
        raise Invalid("Cannot change consumer secret")
    if body.get("id") not in (None, consumer_id):
        raise Invalid("Cannot change consumer id")
    if "description" in body:
        consumer.description = body["description"]
    extra = {k: v for k, v in body.items() if k not in _KNOWN}
    if extra:
        consumer.extra = {**consumer.extra, **extra}
    session.flush()
    return consumer


def delete(session: Session, consumer_id: str) -> list[dict[str, str | None]]:
    """Delete a consumer with its request and access tokens; returns the revocations of the tokens
    its access tokens gave. :raises NotFound:"""
    consumer = get(session, consumer_id)
    access_ids = session.scalars(select(OAuth1AccessToken.id).where(OAuth1AccessToken.consumer_id == consumer.id))
    revocations: list[dict[str, str | None]] = [{"access_token_id": a} for a in access_ids]
    session.delete(consumer)
    return revocations


# -- signatures ----------------------------------------------------------------------------------

class _Validator(oauth1.RequestValidator):
    """oauthlib's questions, answered from the store (Keystone's OAuthValidator, with the consumer
    also checked against the access token)."""

    def __init__(self, session: Session, core: IdentityCore):
        super().__init__()
        self.session, self.core = session, core

    enforce_ssl = False
    allowed_signature_methods = (oauth1.SIGNATURE_HMAC_SHA1, oauth1.SIGNATURE_HMAC_SHA256,
                                 oauth1.SIGNATURE_HMAC_SHA512)
    dummy_client = dummy_request_token = dummy_access_token = _DUMMY

    @staticmethod
    def _hex32(value: str) -> bool:
        return len(value) == 32 and set(value) <= _HEX

    def check_client_key(self, client_key: str) -> bool:
        return self._hex32(client_key)

    def check_request_token(self, request_token: str) -> bool:
        return self._hex32(request_token)

    def check_access_token(self, request_token: str) -> bool:
        return self._hex32(request_token)

    def check_nonce(self, nonce: str) -> bool:
        return bool(nonce) and nonce.isalnum() and len(nonce) <= 64

    def check_verifier(self, verifier: str) -> bool:
        return len(verifier) == 8 and all(c in _VERIFIER_CHARS for c in verifier)

    def _secret(self, encrypted: str | None) -> str:
        return self.core.credentials.decrypt(encrypted) if encrypted else _DUMMY

    def get_client_secret(self, client_key: str, request: Any) -> str:
        consumer = self.session.get(OAuth1Consumer, client_key)
        return self._secret(consumer.encrypted_secret if consumer is not None else None)

    def get_request_token_secret(self, client_key: str, token: str, request: Any) -> str:
        row = self.session.get(OAuth1RequestToken, token)
        return self._secret(row.encrypted_secret if row is not None else None)

    def get_access_token_secret(self, client_key: str, token: str, request: Any) -> str:
        row = self.session.get(OAuth1AccessToken, token)
        return self._secret(row.encrypted_secret if row is not None else None)

    def validate_client_key(self, client_key: str, request: Any) -> bool:
        consumer = self.session.get(OAuth1Consumer, client_key)
        return consumer is not None and consumer.encrypted_secret is not None

    def validate_request_token(self, client_key: str, token: str, request: Any) -> bool:
        row = self.session.get(OAuth1RequestToken, token)
        return row is not None and row.consumer_id == client_key

    def validate_access_token(self, client_key: str, token: str, request: Any) -> bool:
        row = self.session.get(OAuth1AccessToken, token)
        return row is not None and row.consumer_id == client_key

    def validate_verifier(self, client_key: str, token: str, verifier: str, request: Any) -> bool:
        row = self.session.get(OAuth1RequestToken, token)
        return row is not None and row.verifier is not None and secrets.compare_digest(row.verifier, verifier)

    def validate_timestamp_and_nonce(self, *args: Any, **kwargs: Any) -> bool:
        return True  # oauthlib checks the timestamp is recent; Keystone keeps no nonces either

    def validate_redirect_uri(self, client_key: str, redirect_uri: str, request: Any) -> bool:
        return True  # out of band: the user hands the verifier to the consumer

    def validate_requested_realms(self, *args: Any) -> bool:
        return True

    def validate_realms(self, *args: Any, **kwargs: Any) -> bool:
        return True

    def verify_request_token(self, token: str, request: Any) -> bool:
        return isinstance(token, str)

    def verify_realms(self, *args: Any) -> bool:
        return True

    def get_default_realms(self, client_key: str, request: Any) -> list[str]:
        return []

    def get_realms(self, token: str, request: Any) -> list[str]:
        return []

    def get_redirect_uri(self, token: str, request: Any) -> str:
        return "oob"

    def get_rsa_key(self, client_key: str, request: Any) -> str:
        return ""

    # Overcast makes and spends the tokens itself, after oauthlib has checked the request
    def invalidate_request_token(self, *args: Any) -> None:
        return None

    def save_request_token(self, *args: Any) -> None:
        return None

    def save_access_token(self, *args: Any) -> None:
        return None

    def save_verifier(self, *args: Any) -> None:
        return None


def _signature_holds(session: Session, core: IdentityCore, request: SignedRequest,
                     step: Literal["request_token", "access_token", "resource"]) -> bool:
    """True when oauthlib finds the request well signed, for one of the URLs the client may have
    signed, as a request token request, an access token request or a protected resource request."""
    validator = _Validator(session, core)

    def holds(uri: str) -> bool:
        kw = {"http_method": request.http_method, "body": request.body, "headers": dict(request.headers)}
        if step == "resource":
            return oauth1.ResourceEndpoint(validator).validate_protected_resource_request(uri, **kw)[0]
        if step == "request_token":
            return oauth1.RequestTokenEndpoint(validator).create_request_token_response(uri, **kw)[2] == 200
        return oauth1.AccessTokenEndpoint(validator).create_access_token_response(uri, **kw)[2] == 200

    return any(holds(uri) for uri in request.uris)


def oauth_parameters(headers: Mapping[str, str]) -> dict[str, str]:
    """The ``oauth_*`` parameters of the Authorization header.

    :raises Unauthorized: no OAuth Authorization header (Keystone's OAuthHeadersMissingError).
    """
    header = next((v for k, v in headers.items() if k.lower() == "authorization"), None)
    if not header or not header.lower().startswith("oauth "):
        raise Unauthorized("No Authorization headers found, cannot proceed with OAuth related calls.")
    try:
        return dict(oauth1.rfc5849.utils.parse_authorization_header(header))
    except (ValueError, TypeError):
        raise Unauthorized("Invalid signature") from None


def _required(params: Mapping[str, str | None], name: str) -> str:
    value = params.get(name)
    if not value:
        raise Invalid(f"Expecting to find {name} in request. The server could not comply with the request since it "
                      "is either malformed or otherwise incorrect. The client is assumed to be in error.")
    return value


def _expiry(seconds: int) -> dt.datetime | None:
    return utcnow() + dt.timedelta(seconds=seconds) if seconds else None


def _unexpired(expires_at: dt.datetime | None, what: str) -> None:
    if expires_at is not None and expires_at <= utcnow():
        raise Unauthorized(f"{what} is expired")


def _issue(core: IdentityCore) -> tuple[str, str, str]:
    """A fresh id, secret and the secret encrypted for the store."""
    secret = uuid.uuid4().hex
    return uuid.uuid4().hex, secret, core.credentials.encrypt(secret)


# -- the flow ------------------------------------------------------------------------------------

def create_request_token(core: IdentityCore, request: SignedRequest, project_id: str | None) -> IssuedToken:
    """Step 2: a consumer's signed request for a token on a project.

    :raises Invalid: no consumer key or no ``Requested-Project-Id``.
    :raises NotFound: unknown project or consumer.
    :raises Unauthorized: no OAuth header, or a signature that does not hold.
    """
    params = oauth_parameters(request.headers)
    consumer_id = _required(params, "oauth_consumer_key")
    project_id = _required({"Requested-Project-Id": project_id}, "Requested-Project-Id")
    with core.store.session() as session:
        if session.get(Project, project_id) is None:
            raise NotFound(f"Could not find project: {project_id}.")
        get(session, consumer_id)
        if not _signature_holds(session, core, request, "request_token"):
            raise Unauthorized("Invalid signature")
        token_id, secret, encrypted = _issue(core)
        expires_at = _expiry(REQUEST_TOKEN_SECONDS)
        session.add(OAuth1RequestToken(id=token_id, consumer_id=consumer_id, requested_project_id=project_id,
                                       encrypted_secret=encrypted, expires_at=expires_at))
        return IssuedToken(token_id, secret, expires_at)


def _request_token(session: Session, token_id: str) -> OAuth1RequestToken:
    row = session.get(OAuth1RequestToken, token_id)
    if row is None:
        raise NotFound("Request token not found")
    return row


def _role_ids(session: Session, refs: list[dict[str, str]]) -> set[str]:
    """The ids of global roles named by id or name. :raises NotFound:"""
    ids = set()
    for ref in refs:
        if ref.get("id"):
            role = session.get(Role, ref["id"])
        else:
            role = session.scalar(select(Role).where(Role.name == ref.get("name"), Role.domain_id == ROOT_DOMAIN_ID))
        if role is None:
            raise NotFound(f"Could not find role: {ref.get('id') or ref.get('name')}.")
        ids.add(role.id)
    return ids


def authorize(session: Session, ctx: Any, request_token_id: str, roles: list[dict[str, str]]) -> str:
    """Step 3: the caller lets the request token's consumer act with these of their roles on the
    requested project; returns the verifier.

    :raises Forbidden: a token issued through delegation.
    :raises NotFound: unknown request token or role.
    :raises Unauthorized: an expired request token; a role the caller does not hold there.
    """
    if ctx.is_delegated:
        raise Forbidden("Cannot authorize a request token with a token issued via delegation.")
    row = _request_token(session, request_token_id)
    _unexpired(row.expires_at, "Request token")
    wanted = _role_ids(session, roles)
    project = session.get(Project, row.requested_project_id)
    held = {r.id for r in effective_roles(session, ctx.user_id, project=project)}
    if not wanted <= held:
        raise Unauthorized("authorizing user does not have role required")
    row.authorizing_user_id = ctx.user_id
    row.role_ids = sorted(wanted)
    row.verifier = "".join(secrets.choice(_VERIFIER_CHARS) for _ in range(8))
    return row.verifier


def create_access_token(core: IdentityCore, request: SignedRequest) -> IssuedToken:
    """Step 4: trade an authorized request token (and its verifier) for an access token; the
    request token is spent.

    :raises Invalid: a missing consumer key, token or verifier.
    :raises NotFound: unknown request token.
    :raises Unauthorized: expired, not authorized, another consumer's, a wrong verifier, a bad signature.
    """
    params = oauth_parameters(request.headers)
    consumer_id = _required(params, "oauth_consumer_key")
    request_token_id = _required(params, "oauth_token")
    verifier = _required(params, "oauth_verifier")
    with core.store.session() as session:
        row = _request_token(session, request_token_id)
        _unexpired(row.expires_at, "Request token")
        if session.get(OAuth1Consumer, consumer_id) is None:
            raise Unauthorized("Provided consumer does not exist.")
        if row.consumer_id != consumer_id:
            raise Unauthorized("Provided consumer key does not match stored consumer key.")
        if not _signature_holds(session, core, request, "access_token"):
            if row.verifier is None or not secrets.compare_digest(row.verifier, verifier):
                raise Unauthorized("Provided verifier does not match stored verifier")
            raise Unauthorized("Invalid signature")
        if row.authorizing_user_id is None:
            raise Unauthorized("Request Token does not have an authorizing user id.")
        token_id, secret, encrypted = _issue(core)
        expires_at = _expiry(ACCESS_TOKEN_SECONDS)
        session.add(OAuth1AccessToken(id=token_id, consumer_id=consumer_id, authorizing_user_id=row.authorizing_user_id,
                                      project_id=row.requested_project_id, role_ids=list(row.role_ids or []),
                                      encrypted_secret=encrypted, expires_at=expires_at))
        session.delete(row)
        return IssuedToken(token_id, secret, expires_at)


def authenticate(session: Session, core: IdentityCore, request: SignedRequest) -> OAuth1AccessToken:
    """Step 5: the access token a signed ``oauth1`` authentication request proves.

    :raises Invalid: no ``oauth_token``.
    :raises NotFound: unknown access token.
    :raises Unauthorized: no OAuth header, an expired access token, a bad signature.
    """
    params = oauth_parameters(request.headers)
    access_id = _required(params, "oauth_token")
    access = session.get(OAuth1AccessToken, access_id)
    if access is None:
        raise NotFound("Access token not found")
    _unexpired(access.expires_at, "Access token")
    if not _signature_holds(session, core, request, "resource"):
        raise Unauthorized("Could not validate the access token")
    return access


def token_roles(session: Session, access: OAuth1AccessToken) -> list[Role]:
    """An OAuth token's roles: the authorized ones and those they imply, that the user still holds
    on the project (Keystone recomputes them on every token)."""
    authorized = expand_implied(session, access.role_ids)
    project = session.get(Project, access.project_id)
    return [r for r in effective_roles(session, access.authorizing_user_id, project=project) if r.id in authorized]


# -- a user's access tokens ----------------------------------------------------------------------

def find_access_token(session: Session, access_token_id: str | None) -> OAuth1AccessToken | None:
    return session.get(OAuth1AccessToken, access_token_id) if access_token_id else None


def access_tokens_of(session: Session, user_id: str) -> list[OAuth1AccessToken]:
    return list(session.scalars(select(OAuth1AccessToken).where(OAuth1AccessToken.authorizing_user_id == user_id)
                                .order_by(OAuth1AccessToken.created_at, OAuth1AccessToken.id)))


def access_token_of(session: Session, user_id: str, access_token_id: str) -> OAuth1AccessToken:
    """:raises NotFound: unknown, or another user's."""
    access = session.get(OAuth1AccessToken, access_token_id)
    if access is None or access.authorizing_user_id != user_id:
        raise NotFound("Could not find access token.")
    return access


def roles_of(session: Session, access: OAuth1AccessToken) -> list[Role]:
    return list(session.scalars(select(Role).where(Role.id.in_(access.role_ids)).order_by(Role.name)))


def delete_access_token(session: Session, user_id: str, access_token_id: str) -> list[dict[str, str | None]]:
    """Delete a user's access token; returns the revocation of the tokens it gave.

    :raises NotFound: unknown access token. :raises Unauthorized: another user's (Keystone's answer).
    """
    access = session.get(OAuth1AccessToken, access_token_id)
    if access is None:
        raise NotFound("Could not find access token.")
    if access.authorizing_user_id != user_id:
        raise Unauthorized("User IDs do not match")
    session.delete(access)
    return [{"access_token_id": access_token_id}]

