"""Password and secret hashing with bcrypt; unknown users cost the same as wrong passwords."""

from __future__ import annotations

import base64
import hashlib

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
        self._decoy = bcrypt.hashpw(b"overcast-decoy", bcrypt.gensalt(rounds)).decode()

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
