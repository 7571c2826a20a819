"""A per-process cache of something loaded from the store, shared-invalidated through a stamp file.

A node reloads when its copy is older than ``max_age`` seconds, or at once when any process on
this machine called :meth:`StampedCache.invalidate` (it touches the stamp file). Nodes on other
machines see the change within ``max_age``.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Callable, Generic, TypeVar

T = TypeVar("T")


class StampedCache(Generic[T]):
    def __init__(self, stamp_file: Path, max_age: float, load: Callable[[], T]):
        self.stamp_file = Path(stamp_file)
        self.max_age = max_age
        self._load = load
        self._lock = threading.Lock()
        self._value: T | None = None
        self._loaded_at = float("-inf")
        self._stamp: int | None = None

    def _current_stamp(self) -> int | None:
        try:
            return self.stamp_file.stat().st_mtime_ns
        except FileNotFoundError:
            return None

    def get(self) -> T:
        """The cached value, reloaded if stale."""
        stamp = self._current_stamp()
        if time.monotonic() - self._loaded_at < self.max_age and stamp == self._stamp:
            return self._value  # type: ignore[return-value]
        with self._lock:
            value = self._load()
            self._value, self._loaded_at, self._stamp = value, time.monotonic(), stamp
            return value

    def invalidate(self) -> None:
        """Make every process on this machine reload on its next :meth:`get`."""
        self.stamp_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.stamp_file, "a"):
            pass
        now = time.time_ns()
        os.utime(self.stamp_file, ns=(now, now))
        self._loaded_at = float("-inf")
