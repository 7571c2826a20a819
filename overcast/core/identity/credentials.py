"""Credentials (``ec2``, ``cert``, ``totp``, ...): blobs kept for a user, encrypted at rest with the
credential key repository (``<data_dir>/credential-keys``, Fernet, rotated like the token keys).

An ``ec2`` credential's id is the SHA-256 of its access key at creation, as Keystone makes it, so
the EC2 token API can find it by access key alone. As in Keystone, an update may change the access
key (the id stays); it may not change the blob's scope (``trust_id`` and the like).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Sequence

from cryptography.fernet import InvalidToken
from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.core.identity import fetch
from overcast.core.identity.filters import TextFilter, select_matching
from overcast.core.context import AuthContext
from overcast.core.errors import Conflict, Invalid, NotFound
from overcast.core.keys import KeyRepository
from overcast.store.models import Credential, User, new_id

_COLUMNS = ("user_id", "project_id", "type", "blob")


class CredentialCipher:
    """Encrypts and decrypts blobs with the credential key repository's primary key."""

    def __init__(self, keys: KeyRepository):
        self.keys = keys

    def encrypt(self, blob: str) -> str:
        return self.keys.fernet().encrypt(blob.encode()).decode()

    def decrypt(self, encrypted: str) -> str:
        """:raises Invalid: a blob no active key can read (keys rotated past it)."""
        try:
            return self.keys.fernet().decrypt(encrypted.encode()).decode()
        except InvalidToken:
            raise Invalid("This credential was encrypted with a key that is no longer active.") from None


def _ec2_id(blob: str) -> str:
    """:raises Invalid: a blob that is not a JSON object with an ``access`` key."""
    try:
        parsed = json.loads(blob)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise Invalid("Invalid blob in credential")
    if parsed.get("access") is None:
        raise Invalid("Expecting to find access in credential. The server could not comply with the request "
                      "since it is either malformed or otherwise incorrect. The client is assumed to be in error.")
    return hashlib.sha256(str(parsed["access"]).encode()).hexdigest()


_EC2_SCOPE_KEYS = ("trust_id", "app_cred_id", "access_token_id", "access_id")


def _blob_dict(blob: str) -> dict[str, Any]:
    try:
        parsed = json.loads(blob)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def get(session: Session, credential_id: str) -> Credential:
    """:raises NotFound:"""
    return fetch(session, Credential, credential_id, "credential")


def list_credentials(session: Session, ctx: AuthContext, *, user_id: str | None = None,
                     type_: str | None = None, see_all: bool = False,
                     matching: Sequence[TextFilter] = ()) -> list[Credential]:
    """Credentials matching the filters; without ``see_all`` only the caller's own."""
    query = select(Credential)
    if user_id is not None:
        query = query.where(Credential.user_id == user_id)
    if type_ is not None:
        query = query.where(Credential.type == type_)
    if not see_all:
        query = query.where(Credential.user_id == ctx.user_id)
    return select_matching(session, query.order_by(Credential.id), Credential, matching)


def create(session: Session, cipher: CredentialCipher, body: dict[str, Any]) -> Credential:
    """:raises Invalid: an ec2 blob without an access key, or no project. :raises NotFound: unknown user.
    :raises Conflict: the id (for ec2, the access key) is taken."""
    fields = dict(body)
    fields.pop("links", None)
    if session.get(User, fields["user_id"]) is None:
        raise NotFound(f"Could not find user: {fields['user_id']}.")
    if fields["type"] == "ec2":
        if not fields.get("project_id"):
            raise Invalid("Invalid input for field 'project_id': an ec2 credential requires a project_id.")
        credential_id = _ec2_id(fields["blob"])
    else:
        credential_id = fields.get("id") or new_id()
    fields.pop("id", None)
    if session.get(Credential, credential_id) is not None:
        raise Conflict(f"Conflict occurred attempting to store credential - Duplicate ID, {credential_id}.")
    cred = Credential(id=credential_id, user_id=fields.pop("user_id"), project_id=fields.pop("project_id", None),
                      type=fields.pop("type"), encrypted_blob=cipher.encrypt(fields.pop("blob")), extra=fields)
    session.add(cred)
    session.flush()
    return cred


def update(session: Session, cipher: CredentialCipher, credential_id: str, body: dict[str, Any]) -> Credential:
    """:raises NotFound: :raises Invalid: a change that would break an ec2 credential's id."""
    cred = get(session, credential_id)
    fields = dict(body)
    fields.pop("links", None)
    if "id" in fields and fields.pop("id") != cred.id:
        raise Invalid("Update of `id` is not allowed.")
    if "user_id" in fields and session.get(User, fields["user_id"]) is None:
        raise NotFound(f"Could not find user: {fields['user_id']}.")
    new_type = fields.get("type", cred.type)
    new_project = fields.get("project_id", cred.project_id)
    if new_type == "ec2":
        if not new_project:
            raise Invalid("Invalid input for field 'project_id': an ec2 credential requires a project_id.")
        if "blob" in fields:
            # As Keystone: the new blob must be an ec2 blob, and its scope (trust, application
            # credential, OAuth access token) cannot change. The access key may change; the id,
            # fixed at creation from the first access key, stays.
            _ec2_id(fields["blob"])
            old_blob = _blob_dict(cipher.decrypt(cred.encrypted_blob)) if cred.type == "ec2" else {}
            new_blob = _blob_dict(fields["blob"])
            for key in _EC2_SCOPE_KEYS:
                if old_blob.get(key) != new_blob.get(key):
                    raise Invalid(f"{key} can not be updated for credential")
        elif cred.type != "ec2":
            _ec2_id(cipher.decrypt(cred.encrypted_blob))
    for column in ("user_id", "project_id", "type"):
        if column in fields:
            setattr(cred, column, fields.pop(column))
    if "blob" in fields:
        cred.encrypted_blob = cipher.encrypt(fields.pop("blob"))
    if fields:
        cred.extra = {**cred.extra, **fields}
    session.flush()
    return cred


def reencrypt_all(session: Session, cipher: CredentialCipher) -> int:
    """Re-encrypt every blob with the current primary key (after a rotation, before the old key
    is dropped by the next one). Returns how many were rewritten.

    :raises Invalid: a blob no active key can read.
    """
    creds = list(session.scalars(select(Credential)))
    for cred in creds:
        cred.encrypted_blob = cipher.encrypt(cipher.decrypt(cred.encrypted_blob))
    return len(creds)
