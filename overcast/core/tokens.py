"""Fernet tokens: a compact msgpack payload, encrypted with the shared key repository.

A token validates on any node with the keys and the (cached) revocation list; no database
read is needed. The payload holds who the caller is, the scope and the effective role names.
"""

from __future__ import annotations

import base64
import os
import time
from typing import TYPE_CHECKING, Iterable

import msgspec
from cryptography.fernet import InvalidToken

from overcast.core.context import AuthContext
from overcast.core.keys import KeyRepository

if TYPE_CHECKING:
    from overcast.core.revocation import RevocationChecker

PAYLOAD_VERSION = 1
#: bit positions of the methods bitmask: append only (tokens already issued keep their meaning)
_METHODS = ("password", "token", "application_credential", "totp", "mapped", "oauth1", "ec2credential")


class TokenError(Exception):
    """The token is malformed, tampered with, expired or revoked. The message is safe to show."""


def new_audit_id() -> str:
    return base64.urlsafe_b64encode(os.urandom(16)).rstrip(b"=").decode()


def _pack_methods(methods: Iterable[str]) -> int:
    return sum(1 << _METHODS.index(m) for m in set(methods))


def _unpack_methods(bits: int) -> tuple[str, ...]:
    return tuple(m for i, m in enumerate(_METHODS) if bits & (1 << i))


#: decoded tokens remembered per process (the same few tokens come back on every request)
DECODED_CACHE = 4096


class TokenProvider:
    def __init__(self, keys: KeyRepository, revocations: "RevocationChecker", lifetime: int):
        self.keys = keys
        self.revocations = revocations
        self.lifetime = lifetime
        # token -> its payload, for the key set that decrypted it (a rotation empties it); expiry
        # and revocation are still checked on every validation
        self._decoded: dict[str, AuthContext] = {}
        self._decoded_with: object = None

    def issue(self, *, user_id: str, user_domain_id: str, methods: Iterable[str], roles: Iterable[str],
              project_id: str | None = None, project_domain_id: str | None = None,
              domain_id: str | None = None, system: bool = False,
              parent_audit_ids: tuple[str, ...] = (), expires_at: float | None = None,
              app_cred_id: str | None = None, trust_id: str | None = None,
              access_token_id: str | None = None) -> tuple[str, AuthContext]:
        """Make a token. A rescoped token keeps its parent's expiry and audit chain."""
        now = time.time()
        expires = now + self.lifetime if expires_at is None else min(expires_at, now + self.lifetime)
        audit_ids = (new_audit_id(),) + tuple(parent_audit_ids[:1])
        ctx = AuthContext(user_id=user_id, user_domain_id=user_domain_id, methods=tuple(methods),
                          roles=frozenset(roles), audit_ids=audit_ids, issued_at=now, expires_at=expires,
                          project_id=project_id, project_domain_id=project_domain_id, domain_id=domain_id,
                          system=system, app_cred_id=app_cred_id, trust_id=trust_id, access_token_id=access_token_id)
        fields = [
            PAYLOAD_VERSION, user_id, user_domain_id, _pack_methods(ctx.methods), sorted(ctx.roles),
            list(audit_ids), now, expires, project_id, project_domain_id, domain_id, system, app_cred_id, trust_id,
        ]
        if access_token_id is not None:  # an OAuth1 token; the others keep the shorter payload
            fields.append(access_token_id)
        payload = msgspec.msgpack.encode(fields)
        token = self.keys.fernet().encrypt(payload).rstrip(b"=").decode()
        return token, ctx

    def decode(self, token: str) -> AuthContext:
        """Decrypt and unpack, without expiry or revocation checks. :raises TokenError:"""
        if not token or len(token) > 1024:
            raise TokenError("The request you have made requires authentication.")
        fernet = self.keys.fernet()
        if fernet is not self._decoded_with:
            self._decoded = {}
            self._decoded_with = fernet
        known = self._decoded.get(token)
        if known is not None:
            return known
        padded = token + "=" * (-len(token) % 4)
        try:
            raw = fernet.decrypt(padded.encode())
            (version, user_id, user_domain_id, methods, roles, audit_ids, issued_at, expires_at,
             project_id, project_domain_id, domain_id, system, app_cred_id, trust_id,
             *rest) = msgspec.msgpack.decode(raw)
            access_token_id = rest[0] if len(rest) == 1 else None
        except (InvalidToken, msgspec.DecodeError, ValueError, TypeError, UnicodeError):
            raise TokenError("The request you have made requires authentication.") from None
        if version != PAYLOAD_VERSION or len(rest) > 1:
            raise TokenError("The request you have made requires authentication.")
        ctx = AuthContext(user_id=user_id, user_domain_id=user_domain_id, methods=_unpack_methods(methods),
                          roles=frozenset(roles), audit_ids=tuple(audit_ids), issued_at=issued_at,
                          expires_at=expires_at, project_id=project_id, project_domain_id=project_domain_id,
                          domain_id=domain_id, system=system, app_cred_id=app_cred_id, trust_id=trust_id,
                          access_token_id=access_token_id)
        if len(self._decoded) >= DECODED_CACHE:
            self._decoded = {}
        self._decoded[token] = ctx
        return ctx

    def validate(self, token: str) -> AuthContext:
        """The caller a token stands for. :raises TokenError: malformed, tampered, expired or revoked."""
        ctx = self.decode(token)
        if ctx.expires_at <= time.time():
            raise TokenError("The request you have made requires authentication.")
        if self.revocations.is_revoked(ctx):
            raise TokenError("The request you have made requires authentication.")
        return ctx

