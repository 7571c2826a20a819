"""Circuit breakers for driver calls, one per (cloud, driver family).

Our own, not pybreaker (see docs/decisions/0007-operations-engine.md): the engine needs to ask
"may I call this cloud now?" *before* it claims work for it, to count only retryable failures
(``Unavailable`` and our own timeouts; a ``BuildFailed`` means the cloud answered), to count a
timeout the engine detects itself after abandoning a hung call, and a clock tests can move.

States: closed (calls flow; ``threshold`` retryable failures in a row open it), open (no calls
until ``reset_seconds`` have passed, or the backend's own ``Retry-After`` when that is longer),
half-open (one trial call; success closes, failure reopens).
"""

from __future__ import annotations

import threading
import time
from typing import Callable, Mapping

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half-open"


class CircuitBreaker:
    def __init__(self, name: str, threshold: int = 5, reset_seconds: float = 30.0,
                 clock: Callable[[], float] = time.monotonic):
        self.name = name
        self.threshold = max(1, threshold)
        self.reset_seconds = reset_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._state = CLOSED
        self._failures = 0
        self._opened_at = 0.0
        #: how long the current opening lasts: reset_seconds, or a longer Retry-After
        self._open_for = reset_seconds
        self._trial_started = 0.0
        self._trial_in_flight = False

    @property
    def state(self) -> str:
        with self._lock:
            self._tick()
            return self._state

    @property
    def failures(self) -> int:
        return self._failures

    def _tick(self) -> None:
        if self._state == OPEN and self._clock() - self._opened_at >= self._open_for:
            self._state = HALF_OPEN
            self._trial_in_flight = False
        if (self._state == HALF_OPEN and self._trial_in_flight
                and self._clock() - self._trial_started >= self.reset_seconds * 4 + 60):
            # The trial's worker vanished without reporting; let another one try.
            self._trial_in_flight = False

    def allow(self) -> bool:
        """May a driver call for this cloud go ahead now? In half-open, only one caller gets True."""
        with self._lock:
            self._tick()
            if self._state == CLOSED:
                return True
            if self._state == HALF_OPEN and not self._trial_in_flight:
                self._trial_in_flight = True
                self._trial_started = self._clock()
                return True
            return False

    def retry_in(self) -> float:
        """Seconds until the breaker lets a trial call through (0 when closed)."""
        with self._lock:
            self._tick()
            if self._state == OPEN:
                return max(0.0, self._open_for - (self._clock() - self._opened_at))
            if self._state == HALF_OPEN and self._trial_in_flight:
                return min(self.reset_seconds, 1.0)
            return 0.0

    def record_success(self) -> None:
        """The cloud answered (successfully, or with a non-retryable error)."""
        with self._lock:
            self._failures = 0
            self._state = CLOSED
            self._trial_in_flight = False

    def record_failure(self, retry_after: float | None = None) -> None:
        """A retryable failure (Unavailable, timeout). ``retry_after``: what the backend asked for;
        when it opens the breaker and is longer than ``reset_seconds``, the breaker stays open that long."""
        with self._lock:
            self._tick()
            self._failures += 1
            if self._state == HALF_OPEN or self._failures >= self.threshold:
                self._state = OPEN
                self._opened_at = self._clock()
                self._open_for = max(self.reset_seconds, float(retry_after or 0.0))
                self._trial_in_flight = False

    def release(self) -> None:
        """A call allowed by :meth:`allow` was not made after all; let the next caller try."""
        with self._lock:
            self._trial_in_flight = False

    def __repr__(self) -> str:
        return f"CircuitBreaker({self.name!r}, state={self.state}, failures={self._failures})"


class Breakers:
    """One breaker per (cloud, family), made on first use; ``family=None`` is the cloud's shared
    breaker (handlers that state no family). State is per process (see the decision doc).

    ``per_cloud`` maps a cloud to its own ``(threshold, reset_seconds)`` (``[clouds.NAME.ops]``).
    """

    def __init__(self, threshold: int = 5, reset_seconds: float = 30.0,
                 clock: Callable[[], float] = time.monotonic, *,
                 per_cloud: Mapping[str, tuple[int, float]] | None = None):
        self.threshold = threshold
        self.reset_seconds = reset_seconds
        self.per_cloud = dict(per_cloud or {})
        self._clock = clock
        self._lock = threading.Lock()
        self._by_key: dict[tuple[str, str | None], CircuitBreaker] = {}

    @staticmethod
    def key_name(cloud: str, family: str | None) -> str:
        return cloud if family is None else f"{cloud}/{family}"

    def __call__(self, cloud: str, family: str | None = None) -> CircuitBreaker:
        key = (cloud, family)
        with self._lock:
            breaker = self._by_key.get(key)
            if breaker is None:
                threshold, reset = self.per_cloud.get(cloud, (self.threshold, self.reset_seconds))
                breaker = self._by_key[key] = CircuitBreaker(self.key_name(cloud, family), threshold, reset,
                                                             self._clock)
            return breaker

    def of_cloud(self, cloud: str) -> list[CircuitBreaker]:
        """Every breaker made so far for ``cloud`` (any family)."""
        with self._lock:
            return [b for (c, _), b in self._by_key.items() if c == cloud]

    def states(self) -> dict[str, str]:
        """``{"cloud" or "cloud/family": state}`` of every breaker made so far."""
        with self._lock:
            items = list(self._by_key.values())
        return {breaker.name: breaker.state for breaker in items}
