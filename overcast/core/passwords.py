"""Password and secret hashing with bcrypt; unknown users cost the same as wrong passwords.

A returning user's login is answered from a per-process cache of *verified* passwords
(docs/decisions/0033-login-cache.md): the key of an entry is
``HMAC-SHA256(process secret, stored bcrypt hash + NUL + offered password)``. Only a password
that bcrypt accepted against that very stored hash is ever entered, so

- a wrong password never matches an entry and costs one full bcrypt check, exactly as before;
- a password change (a new stored hash), reset or deletion makes the old entries unreachable;
- the cache holds neither passwords nor anything a password could be recovered from without the
  process secret, which lives only in this process's memory and is never written anywhere.

Disabling a user, locking them out or expiring their password are checked by the caller on
every login after :meth:`PasswordHasher.verify`, against the records, so they take effect at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import threading
import time
from collections import OrderedDict

import bcrypt

# bcrypt reads at most 72 bytes; longer secrets are pre-hashed so no byte is ignored.
_MAX = 72


def _prepare(secret: str) -> bytes:
    raw = secret.encode()
    if len(raw) > _MAX:
        raw = base64.b64encode(hashlib.sha256(raw).digest())
    return raw


class VerifiedCache:
    """Keyed digests of (stored hash, password) pairs bcrypt accepted, bounded and expiring.

    :param size: most entries kept (least recently used dropped first); 0 turns the cache off.
    :param ttl: seconds an entry is trusted after bcrypt accepted it.
    """

    def __init__(self, size: int = 10_000, ttl: float = 3600.0, clock=time.monotonic):  # noqa: ANN001
        self.size = size
        self.ttl = ttl
        self._clock = clock
        self._key = os.urandom(32)
        self._lock = threading.Lock()
        self._entries: OrderedDict[bytes, float] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def _digest(self, hashed: str, secret: bytes) -> bytes:
        return hmac.new(self._key, hashed.encode() + b"\0" + secret, hashlib.sha256).digest()

    def seen(self, hashed: str, secret: bytes) -> bool:
        if not self.size:
            return False
        digest = self._digest(hashed, secret)
        now = self._clock()
        with self._lock:
            added = self._entries.get(digest)
            if added is not None and now - added < self.ttl:
                self._entries.move_to_end(digest)
                self.hits += 1
                return True
            if added is not None:
                del self._entries[digest]
            self.misses += 1
            return False

    def remember(self, hashed: str, secret: bytes) -> None:
        if not self.size:
            return
        digest = self._digest(hashed, secret)
        with self._lock:
            self._entries[digest] = self._clock()
            self._entries.move_to_end(digest)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


class PasswordHasher:
    """bcrypt at ``rounds``; :meth:`verify` remembers what it accepted (see the module's notes).

    :param cache_size: verified pairs remembered per process (0: always run bcrypt).
    :param cache_ttl: seconds a remembered pair is trusted.
    """

    def __init__(self, rounds: int = 12, *, cache_size: int = 10_000, cache_ttl: float = 3600.0):
        self.rounds = rounds
        self.verified = VerifiedCache(cache_size, cache_ttl)
        # For a user that does not exist bcrypt hashes the offered secret with a salt of the same
        # cost: the same work as checking a real hash, without a decoy made in the background.
        self._salt = bcrypt.gensalt(rounds)

    def hash(self, secret: str) -> str:
        return bcrypt.hashpw(_prepare(secret), bcrypt.gensalt(self.rounds)).decode()

    def _spend(self, prepared: bytes) -> None:
        bcrypt.hashpw(prepared, self._salt)

    def verify(self, secret: str, hashed: str | None, *, remember: bool = True) -> bool:
        """True when ``secret`` matches ``hashed``; with no hash (or a malformed one) spends the same
        time and answers False. ``remember=False`` neither reads nor fills the verified cache (for
        checks that must run bcrypt, e.g. password history)."""
        prepared = _prepare(secret)
        if not hashed:
            self._spend(prepared)
            return False
        if remember and self.verified.seen(hashed, prepared):
            return True
        try:
            ok = bcrypt.checkpw(prepared, hashed.encode())
        except ValueError:
            self._spend(prepared)
            return False
        if ok and remember:
            self.verified.remember(hashed, prepared)
        return ok
