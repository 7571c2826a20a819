"""Keystone's rules: the identity core shared by every identity module and the other services."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable

from overcast.config import Settings
from overcast.core.cache import StampedCache
from overcast.core.passwords import PasswordHasher
from overcast.core.revocation import RevocationChecker
from overcast.core.tokens import TokenProvider
from overcast.store.db import Store

if TYPE_CHECKING:
    from overcast.core.identity.credentials import CredentialCipher


@dataclass
class IdentityCore:
    """What the identity modules need: the store, settings, hashing, tokens and revocation."""

    settings: Settings
    store: Store
    hasher: PasswordHasher
    tokens: TokenProvider
    revocations: RevocationChecker
    #: encrypts credential blobs with its own key repository (``<data-dir>/credential-keys``)
    credentials: "CredentialCipher"
    #: the service catalog tokens carry, cached per node (invalidated on catalog writes)
    catalog: StampedCache[list[dict[str, Any]]]


def split_extra(ref: dict[str, Any], known: Iterable[str]) -> dict[str, Any]:
    """The attributes Keystone keeps in ``extra``: anything the schema does not name."""
    known = set(known) | {"id", "links"}
    return {k: v for k, v in ref.items() if k not in known}
