"""Keystone's rules: the identity core shared by every identity module and the other services."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, TypeVar

from overcast.config import Settings
from overcast.core.cache import StampedCache
from overcast.core.errors import NotFound
from overcast.core.keys import KeyRepository
from overcast.core.passwords import PasswordHasher
from overcast.core.revocation import RevocationChecker
from overcast.core.tokens import TokenProvider
from overcast.store.db import Store

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from overcast.core.identity.credentials import CredentialCipher

T = TypeVar("T")


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


def fetch(session: "Session", model: type[T], key: str, what: str) -> T:
    """The record with this primary key. :raises NotFound: Keystone's "Could not find <what>: <key>."."""
    row = session.get(model, key)
    if row is None:
        raise NotFound(f"Could not find {what}: {key}.")
    return row


def split_extra(ref: dict[str, Any], known: Iterable[str]) -> dict[str, Any]:
    """The attributes Keystone keeps in ``extra``: anything the schema does not name."""
    known = set(known) | {"id", "links"}
    return {k: v for k, v in ref.items() if k not in known}


def build_identity(settings: Settings, store: Store | None = None) -> IdentityCore:
    """The identity core for these settings (keys must exist: see ``bootstrap``)."""
    from overcast.core.identity.catalog import build_catalog
    from overcast.core.identity.credentials import CredentialCipher

    store = store or Store(settings.database_url)
    idn = settings.identity
    revocations = RevocationChecker(store, settings.data_dir / "revocation.stamp",
                                    idn.revocation_cache_seconds, idn.token_expiration)
    tokens = TokenProvider(KeyRepository(settings.key_repository, idn.max_active_keys), revocations,
                           idn.token_expiration)
    credentials = CredentialCipher(KeyRepository(settings.credential_key_repository, idn.max_active_keys))

    def load_catalog() -> list[dict[str, Any]]:
        with store.session() as session:
            return build_catalog(session)

    catalog = StampedCache(settings.data_dir / "catalog.stamp", idn.catalog_cache_seconds, load_catalog)
    return IdentityCore(settings=settings, store=store, hasher=PasswordHasher(idn.bcrypt_rounds),
                        tokens=tokens, revocations=revocations, credentials=credentials, catalog=catalog)
