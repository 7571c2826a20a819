"""OS-EC2: a user's EC2-style access/secret pairs.

They are ordinary ``ec2`` credentials (so ``/v3/credentials`` lists them too): the blob holds
``access``, ``secret`` and ``trust_id``, the credential's project is the EC2 ``tenant_id``, and its
id is the SHA-256 of the access key, so the OS-EC2 API addresses them by access key.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.core.errors import NotFound, Unauthorized
from overcast.core.identity import credentials as core_creds, fetch
from overcast.core.identity.credentials import CredentialCipher
from overcast.store.models import Credential, Project, User

EC2 = "ec2"


@dataclass(frozen=True)
class Ec2Credential:
    access: str
    secret: str | None
    user_id: str
    tenant_id: str | None
    trust_id: str | None
    credential_id: str


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
                         tenant_id=cred.project_id, trust_id=blob.get("trust_id"), credential_id=cred.id)


def _user(session: Session, user_id: str) -> User:
    """:raises NotFound:"""
    return fetch(session, User, user_id, "user")


def create(session: Session, cipher: CredentialCipher, user_id: str, tenant_id: str,
           trust_id: str | None = None) -> Ec2Credential:
    """A fresh access/secret pair for the user on the project. :raises NotFound: user or project."""
    _user(session, user_id)
    if session.get(Project, tenant_id) is None:
        raise NotFound(f"Could not find project: {tenant_id}.")
    blob = {"access": uuid.uuid4().hex, "secret": uuid.uuid4().hex, "trust_id": trust_id}
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
