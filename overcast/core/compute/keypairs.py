"""Key pairs: generated (private key returned once, never stored) or imported, per user."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.core.compute import quotas
from overcast.core.errors import Conflict, Forbidden, Invalid, NotFound
from overcast.store.compute import KeyPair

TYPES = ("ssh", "x509")


def _colon_hex(digest: bytes) -> str:
    return ":".join(f"{b:02x}" for b in digest)


def ssh_fingerprint(public_key: str) -> str:
    """The MD5 fingerprint Nova shows for an OpenSSH public key. :raises Invalid:"""
    try:
        parts = public_key.strip().split()
        if len(parts) < 2:
            raise ValueError
        blob = base64.b64decode(parts[1], validate=True)
        serialization.load_ssh_public_key(f"{parts[0]} {parts[1]}".encode())
    except (ValueError, binascii.Error, TypeError):
        raise Invalid("Keypair data is invalid: failed to generate fingerprint") from None
    return _colon_hex(hashlib.md5(blob, usedforsecurity=False).digest())


def x509_fingerprint(certificate: str) -> str:
    """The SHA-1 fingerprint of a PEM certificate, as Nova shows it. :raises Invalid:"""
    try:
        cert = x509.load_pem_x509_certificate(certificate.encode())
    except (ValueError, TypeError):
        raise Invalid("Keypair data is invalid: failed to generate fingerprint") from None
    return _colon_hex(cert.fingerprint(hashes.SHA1()))  # noqa: S303 - Nova's fingerprint format


def fingerprint(public_key: str, key_type: str = "ssh") -> str:
    return x509_fingerprint(public_key) if key_type == "x509" else ssh_fingerprint(public_key)


def generate(key_type: str, user_id: str) -> tuple[str, str]:
    """A new key: (private key PEM, public key) with RSA-2048, as Nova generates them."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()).decode()
    if key_type == "x509":
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, user_id or "overcast"),
                             x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Overcast")])
        now = dt.datetime.now(dt.timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now).not_valid_after(now + dt.timedelta(days=3650))
                .sign(key, hashes.SHA256()))
        return private, cert.public_bytes(serialization.Encoding.PEM).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH).decode()
    return private, f"{public} Generated-by-Nova"


def find(session: Session, user_id: str, name: str, *, region: str) -> KeyPair:
    """The user's key pair in ``region`` (Nova keeps key pairs per region). :raises NotFound:"""
    keypair = session.scalar(select(KeyPair).where(KeyPair.user_id == user_id, KeyPair.cloud == region,
                                                   KeyPair.name == name))
    if keypair is None:
        raise NotFound(f"Keypair {name} not found for user {user_id}")
    return keypair


def list_keypairs(session: Session, user_id: str, *, region: str, limit: int | None = None,
                  marker: str | None = None) -> list[KeyPair]:
    """The user's key pairs in ``region`` by name; ``marker`` is a key pair name. :raises NotFound: bad marker."""
    mine = (KeyPair.user_id == user_id, KeyPair.cloud == region)
    query = select(KeyPair).where(*mine).order_by(KeyPair.name)
    if marker is not None:
        if session.scalar(select(KeyPair.id).where(*mine, KeyPair.name == marker)) is None:
            raise Invalid(f"Marker {marker} could not be found.")
        query = query.where(KeyPair.name > marker)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def create(session: Session, *, user_id: str, project_id: str | None, name: str, region: str,
           key_type: str = "ssh", public_key: str | None = None) -> tuple[KeyPair, str | None]:
    """Import ``public_key`` or generate a key pair; returns (record, private key or None).

    :raises Invalid: bad key data or type.
    :raises Conflict: the user already has a key pair of that name.
    :raises Forbidden: over the key_pairs quota.
    """
    if key_type not in TYPES:
        raise Invalid(f"Invalid input for field/attribute type. Value: {key_type}.")
    private_key = None
    if public_key is None:
        private_key, public_key = generate(key_type, user_id)
    fp = fingerprint(public_key, key_type)
    if project_id:
        quotas.lock_project(session, project_id)
    allowed = quotas.limits(session, project_id, user_id)["key_pairs"] if project_id else quotas.DEFAULTS["key_pairs"]
    used = quotas.usage(session, project_id or "", user_id, region=region)["key_pairs"]
    if allowed != quotas.UNLIMITED and used + 1 > allowed:
        raise Forbidden("Quota exceeded, too many key pairs.")
    if session.scalar(select(KeyPair.id).where(KeyPair.user_id == user_id, KeyPair.cloud == region,
                                               KeyPair.name == name)) is not None:
        raise Conflict(f"Key pair '{name}' already exists.")
    # kept byte for byte, trailing newline included, as Nova keeps it
    keypair = KeyPair(user_id=user_id, cloud=region, name=name, public_key=public_key, fingerprint=fp, type=key_type)
    session.add(keypair)
    session.flush()
    return keypair, private_key


def delete(session: Session, user_id: str, name: str, *, region: str) -> None:
    """:raises NotFound:"""
    session.delete(find(session, user_id, name, region=region))
    session.flush()
