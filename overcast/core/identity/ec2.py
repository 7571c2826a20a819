"""OS-EC2: a user's EC2-style access/secret pairs, and the tokens signed EC2 and S3 requests get.

They are ordinary ``ec2`` credentials (so ``/v3/credentials`` lists them too): the blob holds
``access``, ``secret`` and ``trust_id`` (and, as Keystone now records them, the ``app_cred_id`` or
OAuth1 ``access_token_id`` of the token that made it, which then bounds the roles its tokens get),
the credential's project is the EC2 ``tenant_id``, and its id is the SHA-256 of the access key, so
the OS-EC2 API addresses them by access key.

``/v3/ec2tokens`` and ``/v3/s3tokens`` (:func:`authenticate`) check a request's signature against
the credential's secret and issue a token on its project, with the method ``ec2credential``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Mapping
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.core.errors import Invalid, NotFound, Unauthorized
from overcast.core.identity import credentials as core_creds, fetch
from overcast.core.identity import oauth1 as core_oauth1
from overcast.core.identity import trusts as core_trusts
from overcast.core.identity.assignments import effective_roles
from overcast.core.identity.aws_signatures import SignatureError, ec2_signature, s3_signature
from overcast.core.identity.credentials import CredentialCipher
from overcast.store.models import (ROOT_DOMAIN_ID, ApplicationCredential, Credential, OAuth1AccessToken, Project, Role,
                                   Trust, User, utcnow)

if TYPE_CHECKING:
    from overcast.core.identity import IdentityCore
    from overcast.core.identity.auth import Authenticator, TokenFacts

EC2 = "ec2"


@dataclass(frozen=True)
class Ec2Credential:
    access: str
    secret: str | None
    user_id: str
    tenant_id: str | None
    trust_id: str | None
    credential_id: str
    app_cred_id: str | None = None
    access_token_id: str | None = None


def hash_access_key(access: str) -> str:
    return hashlib.sha256(access.encode()).hexdigest()


def _from_record(cipher: CredentialCipher, cred: Credential) -> Ec2Credential:
    try:
        blob: Any = json.loads(cipher.decrypt(cred.encrypted_blob))
    except ValueError:
        blob = {}
    if not isinstance(blob, dict):
        blob = {}
    return Ec2Credential(access=blob.get("access"), secret=blob.get("secret"), user_id=cred.user_id,
                         tenant_id=cred.project_id, trust_id=blob.get("trust_id"), credential_id=cred.id,
                         app_cred_id=blob.get("app_cred_id"), access_token_id=blob.get("access_token_id"))


def _user(session: Session, user_id: str) -> User:
    """:raises NotFound:"""
    return fetch(session, User, user_id, "user")


def create(session: Session, cipher: CredentialCipher, user_id: str, tenant_id: str,
           trust_id: str | None = None, app_cred_id: str | None = None,
           access_token_id: str | None = None) -> Ec2Credential:
    """A fresh access/secret pair for the user on the project; the delegation of the token that asked
    (trust, application credential, OAuth1 access token) is recorded and bounds its tokens' roles.

    :raises NotFound: user or project."""
    _user(session, user_id)
    if session.get(Project, tenant_id) is None:
        raise NotFound(f"Could not find project: {tenant_id}.")
    blob: dict[str, Any] = {"access": uuid.uuid4().hex, "secret": uuid.uuid4().hex, "trust_id": trust_id}
    if app_cred_id:
        blob["app_cred_id"] = app_cred_id
    if access_token_id:
        blob["access_token_id"] = access_token_id
    cred = core_creds.create(session, cipher, {"user_id": user_id, "project_id": tenant_id, "type": EC2,
                                               "blob": json.dumps(blob)})
    return _from_record(cipher, cred)


def list_for_user(session: Session, cipher: CredentialCipher, user_id: str) -> list[Ec2Credential]:
    """:raises NotFound: unknown user."""
    _user(session, user_id)
    creds = session.scalars(select(Credential).where(Credential.user_id == user_id, Credential.type == EC2)
                            .order_by(Credential.id))
    return [_from_record(cipher, c) for c in creds]


def get(session: Session, cipher: CredentialCipher, user_id: str, access: str) -> Ec2Credential:
    """The user's credential with this access key.

    :raises NotFound: no such credential, or it belongs to another user.
    :raises Unauthorized: the id names a credential that is not an EC2 one (as Keystone answers).
    """
    credential_id = hash_access_key(access)
    cred = session.get(Credential, credential_id)
    if cred is None or cred.user_id != user_id:
        raise NotFound(f"Could not find credential: {credential_id}.")
    if cred.type != EC2:
        raise Unauthorized("EC2 access key not found.")
    return _from_record(cipher, cred)


def owner_of(session: Session, access: str) -> str | None:
    """The user id owning the credential with this access key (for the policy target), if any."""
    cred = session.get(Credential, hash_access_key(access))
    return cred.user_id if cred is not None else None


def delete(session: Session, cipher: CredentialCipher, user_id: str, access: str) -> None:
    """:raises NotFound:"""
    found = get(session, cipher, user_id, access)
    session.delete(session.get(Credential, found.credential_id))


# -- /v3/ec2tokens and /v3/s3tokens ------------------------------------------------------------------

#: Keystone's [credential] auth_ttl: how old a signed request's timestamp may be
AUTH_TTL = dt.timedelta(minutes=15)


def _check_ec2_signature(secret: str, credentials: dict[str, Any]) -> None:
    """:raises Unauthorized: no signature, or one that matches neither the host as given nor the host
    without its port (some clients sign without it)."""
    given = credentials.get("signature")
    if not given:
        raise Unauthorized("EC2 signature not supplied.")
    hosts = [credentials.get("host")]
    if ":" in str(credentials.get("host") or ""):
        hosts.append(urlsplit("//" + credentials["host"]).hostname)
    for host in hosts:
        try:
            expected = ec2_signature(secret, {**credentials, "host": host})
        except SignatureError:
            break
        if hmac.compare_digest(str(given), expected):
            return
    raise Unauthorized("Invalid EC2 signature.")


def _check_s3_signature(secret: str, credentials: dict[str, Any]) -> None:
    """:raises Unauthorized: a signature that does not match the string to sign."""
    try:
        string_to_sign = base64.urlsafe_b64decode(str(credentials.get("token", "")))
        expected = s3_signature(secret, string_to_sign)
    except (binascii.Error, ValueError):
        raise Unauthorized("Invalid EC2 signature.") from None
    if not hmac.compare_digest(str(credentials.get("signature", "")), expected):
        raise Unauthorized("Credential signature mismatch")


def _parse_timestamp(text: str) -> dt.datetime:
    """ISO 8601, extended (``2026-12-07T10:00:00Z``, version 2) or basic (``20261207T100000Z``, version 4).

    :raises ValueError:
    """
    text = text.strip()
    for basic in ("%Y%m%dT%H%M%SZ", "%Y%m%dT%H%M%S"):
        try:
            return dt.datetime.strptime(text, basic)
        except ValueError:
            continue
    parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed.astimezone(dt.timezone.utc).replace(tzinfo=None) if parsed.tzinfo else parsed


def _check_timestamp(credentials: Mapping[str, Any]) -> None:
    """:raises Unauthorized: an unreadable timestamp, or one older than :data:`AUTH_TTL`."""
    params, headers = credentials.get("params") or {}, credentials.get("headers") or {}
    stamp = params.get("Timestamp") or headers.get("X-Amz-Date") or params.get("X-Amz-Date")
    if not stamp:
        return  # the signer left it out
    try:
        when = _parse_timestamp(str(stamp))
    except ValueError:
        raise Unauthorized(f"Credential timestamp is invalid: {stamp}") from None
    if utcnow() > when + AUTH_TTL:
        raise Unauthorized("Credential is expired")


def _roles(session: Session, cred: Ec2Credential, user: User, project: Project) -> tuple[list[Role], dict[str, Any]]:
    """The roles the credential's token gets, and the delegation it carries (trust, app_cred,
    access_token_id, and the user a trust makes the token for).

    :raises Unauthorized: a delegation for another project.
    """
    if cred.trust_id:
        trust = session.get(Trust, cred.trust_id)
        trustee = session.get(User, trust.trustee_user_id) if trust is not None else None
        if trustee is None:
            raise Unauthorized("User not valid for project.")
        trust, token_user, _, roles = core_trusts.for_token(session, cred.trust_id, trustee)
        return roles, {"trust": trust, "user": token_user}
    held = [r for r in effective_roles(session, user.id, project=project) if r.domain_id == ROOT_DOMAIN_ID]
    if cred.app_cred_id:
        app_cred = _delegation(session.get(ApplicationCredential, cred.app_cred_id), project, "application credential")
        return [r for r in held if r.id in set(app_cred.role_ids)], {"app_cred": app_cred}
    if cred.access_token_id:
        access = _delegation(session.get(OAuth1AccessToken, cred.access_token_id), project, "OAuth1 access token")
        return core_oauth1.token_roles(session, access), {"access_token_id": access.id}
    return held, {}


def _delegation(row: Any, project: Project, what: str) -> Any:
    """The application credential or access token a credential was made with, on its project.

    :raises Unauthorized: gone, or for another project."""
    if row is None:
        raise Unauthorized("User not valid for project.")
    if row.project_id != project.id:
        raise Unauthorized(f"EC2 credential project does not match the {what} project.")
    return row


def authenticate(core: "IdentityCore", authenticator: "Authenticator", body: Mapping[str, Any],
                 kind: Literal["ec2", "s3"]) -> tuple[str, "TokenFacts"]:
    """A token for a request signed with an EC2 credential (Keystone's ec2tokens and s3tokens).

    :raises Invalid: no body.
    :raises Unauthorized: no access key, a bad signature or timestamp, a disabled user or project,
        no role on the project.
    :raises NotFound: an unknown access key.
    """
    if not body:
        raise Invalid("request must include a request body")
    credentials = body.get("credentials") or body.get("credential") or body.get("ec2Credentials") or {}
    if not isinstance(credentials, dict) or "access" not in credentials:
        raise Unauthorized("EC2 Signature not supplied")
    with core.store.session() as session:
        record = session.get(Credential, hash_access_key(str(credentials["access"])))
        if record is None or record.type != EC2:
            raise NotFound("EC2 access key not found.")
        cred = _from_record(core.credentials, record)
        if not cred.secret:
            raise Unauthorized("Invalid EC2 signature.")
        (_check_ec2_signature if kind == "ec2" else _check_s3_signature)(cred.secret, dict(credentials))
        project = fetch(session, Project, cred.tenant_id or "", "project")
        user = fetch(session, User, cred.user_id, "user")
        _check_timestamp(credentials)
        roles, delegation = _roles(session, cred, user, project)
        if not roles:
            raise Unauthorized("User not valid for project.")
        return authenticator.issue_for_project(session, user=delegation.pop("user", user), project=project,
                                               roles=roles, method="ec2credential", **delegation)
