"""A Fernet key repository with staged, primary and secondary keys, as Keystone keeps one.

Files are named by integer: ``0`` is the staged key (the next primary, already accepted for
decryption so nodes can be rotated one at a time), the highest number is the primary (used to
encrypt), the rest are secondaries (decrypt only). Every node shares the directory's contents.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from cryptography.fernet import Fernet, MultiFernet


class KeyRepositoryError(RuntimeError):
    """The repository is missing, empty or unreadable."""


class KeyRepository:
    def __init__(self, path: Path, max_active_keys: int = 3):
        if max_active_keys < 1:
            raise KeyRepositoryError("max_active_keys must be at least 1")
        self.path = Path(path)
        self.max_active_keys = max_active_keys
        self._lock = threading.Lock()
        self._loaded_stamp: tuple[int, ...] | None = None
        self._fernet: MultiFernet | None = None

    # -- set-up and rotation -------------------------------------------------------------
    def _key_ids(self) -> list[int]:
        try:
            return sorted(int(p.name) for p in self.path.iterdir() if p.name.isdigit())
        except FileNotFoundError:
            return []

    def _write_key(self, key_id: int) -> None:
        tmp = self.path / f".{key_id}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(Fernet.generate_key())
        os.replace(tmp, self.path / str(key_id))

    def setup(self) -> bool:
        """Create the repository with a staged and a primary key if it has none. Returns True if made."""
        self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
        if self._key_ids():
            return False
        self._write_key(0)
        self.rotate()
        return True

    def rotate(self) -> int:
        """Promote the staged key to primary, stage a new key, drop the oldest secondaries.

        Returns the new primary's number. :raises KeyRepositoryError: if there is no staged key.
        """
        with self._lock:
            ids = self._key_ids()
            if 0 not in ids:
                raise KeyRepositoryError(f"no staged key (0) in {self.path}; run setup first")
            new_primary = max(ids) + 1
            os.replace(self.path / "0", self.path / str(new_primary))
            self._write_key(0)
            # Keep the staged key, the primary and max_active_keys - 2 secondaries.
            keep_secondaries = max(self.max_active_keys - 2, 0)
            secondaries = sorted(i for i in self._key_ids() if i not in (0, new_primary))
            for old in secondaries[: max(len(secondaries) - keep_secondaries, 0)]:
                (self.path / str(old)).unlink()
            self._loaded_stamp = None
            return new_primary

    # -- use -----------------------------------------------------------------------------
    def _stamp(self) -> tuple[int, ...]:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            raise KeyRepositoryError(f"key repository {self.path} does not exist") from None
        return (st.st_mtime_ns, st.st_ino)

    def fernet(self) -> MultiFernet:
        """The keys for use: primary first, then staged and secondaries. Reloaded after a rotation.

        :raises KeyRepositoryError: if the repository is missing or empty.
        """
        stamp = self._stamp()
        if self._fernet is not None and stamp == self._loaded_stamp:
            return self._fernet
        with self._lock:
            ids = self._key_ids()
            if not ids:
                raise KeyRepositoryError(f"key repository {self.path} holds no keys")
            ordered = sorted(ids, reverse=True)  # primary (highest) first, staged (0) last
            keys = [Fernet((self.path / str(i)).read_bytes().strip()) for i in ordered]
            self._fernet = MultiFernet(keys)
            self._loaded_stamp = stamp
            return self._fernet
