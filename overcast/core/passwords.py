"""Password and secret hashing with bcrypt; unknown users cost the same as wrong passwords."""

from __future__ import annotations

import base64
import hashlib
import threading

import bcrypt

# bcrypt reads at most 72 bytes; longer secrets are pre-hashed so no byte is ignored.
_MAX = 72


def _prepare(secret: str) -> bytes:
    raw = secret.encode()
    if len(raw) > _MAX:
        raw = base64.b64encode(hashlib.sha256(raw).digest())
    return raw


class PasswordHasher:
    def __init__(self, rounds: int = 12):
        self.rounds = rounds
        # A hash to check against when the user does not exist, so both paths take as long.
        # Made in the background: at cost 12 it would add a second to every start.
        self._decoy_hash: str | None = None
        self._decoy_ready = threading.Event()
        threading.Thread(target=self._make_decoy, name="decoy-hash", daemon=True).start()

    def _make_decoy(self) -> None:
        self._decoy_hash = bcrypt.hashpw(b"overcast-decoy", bcrypt.gensalt(self.rounds)).decode()
        self._decoy_ready.set()

    @property
    def _decoy(self) -> str:
        self._decoy_ready.wait()
        return self._decoy_hash  # type: ignore[return-value]

    def hash(self, secret: str) -> str:
        return bcrypt.hashpw(_prepare(secret), bcrypt.gensalt(self.rounds)).decode()

    def verify(self, secret: str, hashed: str | None) -> bool:
        """True when ``secret`` matches; with no hash, spends the same time and answers False."""
        try:
            ok = bcrypt.checkpw(_prepare(secret), (hashed or self._decoy).encode())
        except ValueError:
            bcrypt.checkpw(_prepare(secret), self._decoy.encode())
            return False
        return ok and hashed is not None
