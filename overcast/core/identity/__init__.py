"""Keystone's rules: the identity core shared by every identity module and the other services."""

from __future__ import annotations

from dataclasses import dataclass

from overcast.config import Settings
from overcast.core.passwords import PasswordHasher
from overcast.core.revocation import RevocationChecker
from overcast.core.tokens import TokenProvider
from overcast.store.db import Store


@dataclass
class IdentityCore:
    """What the identity modules need: the store, settings, hashing, tokens and revocation."""

    settings: Settings
    store: Store
    hasher: PasswordHasher
    tokens: TokenProvider
    revocations: RevocationChecker
