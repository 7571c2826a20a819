"""One backend read for many polling operations.

Every build, action and delete polls its server (or volume) until the backend reaches the state it
expects; a thousand builds polling once a second each would be a thousand provider calls a second.
A :class:`BatchPoller` (one per process and resource kind) coalesces them: the first poll of a
round asks the driver's ``get_many`` for every id polled lately, and the polls that follow within
``window`` seconds are answered from that answer. A handler that has just changed a resource
passes ``not_before`` (the time of its call), so it never reads an answer from before its call.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Generic, Iterable, Mapping, TypeVar

from overcast.drivers.context import CallContext
from overcast.drivers.errors import NotFound

Info = TypeVar("Info")

#: ``(cloud, ctx, backend ids) -> {backend id: info}`` (a driver's ``get_many``)
Fetch = Callable[[str, CallContext, list[str]], Mapping[str, Info]]


@dataclass
class _Cloud(Generic[Info]):
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: backend id -> when a poll last asked for it (monotonic)
    wanted: dict[str, float] = field(default_factory=dict)
    #: backend id -> (when fetched, info or None for "the backend does not know it")
    known: dict[str, tuple[float, Info | None]] = field(default_factory=dict)
    #: the fetch under way (its ids, when it started, set when done): another poll waits for it
    inflight: tuple[frozenset[str], float, threading.Event] | None = None


class BatchPoller(Generic[Info]):
    def __init__(self, fetch: Fetch, *, window: float = 0.5, keep: float = 5.0,
                 clock: Callable[[], float] = time.monotonic):
        self._fetch = fetch
        self.window = window
        #: an id is fetched along with the others while it was polled within the last ``keep`` seconds
        self.keep = keep
        self._clock = clock
        self._clouds: dict[str, _Cloud[Info]] = {}
        self._lock = threading.Lock()
        #: driver calls made (for tests and metrics)
        self.fetches = 0

    def _cloud(self, cloud: str) -> _Cloud[Info]:
        with self._lock:
            return self._clouds.setdefault(cloud, _Cloud())

    def get(self, cloud: str, ctx: CallContext, backend_id: str, *, not_before: float | None = None) -> Info:
        """The backend's view of ``backend_id``, fetched at most ``window`` seconds ago (and not
        before ``not_before``, a :func:`time.monotonic` time).

        :raises NotFound: the backend does not know it. Whatever ``get_many`` raises (``Unavailable``).
        """
        state = self._cloud(cloud)
        now = self._clock()
        with state.lock:
            state.wanted[backend_id] = now
            cached = self._fresh(state, backend_id, now, not_before)
            joined = None
            if cached is None and state.inflight is not None:
                ids_in_flight, started, event = state.inflight
                if backend_id in ids_in_flight and (not_before is None or started >= not_before):
                    joined = event  # a fetch that covers it is under way: wait for its answer
            if cached is None and joined is None:
                ids = frozenset(i for i, asked in state.wanted.items() if now - asked <= self.keep)
                mine = threading.Event()
                state.inflight = (ids, now, mine)
        if joined is not None:
            joined.wait()
            with state.lock:
                cached = state.known.get(backend_id)
        elif cached is None:
            try:
                found = self._fetch(cloud, ctx, sorted(ids))
                self.fetches += 1
                fetched = self._clock()
                with state.lock:
                    for i in ids:
                        state.known[i] = (fetched, found.get(i))
                    stale = [i for i, asked in state.wanted.items() if fetched - asked > self.keep]
                    for i in stale:
                        state.wanted.pop(i, None)
                        state.known.pop(i, None)
                    cached = state.known.get(backend_id)
            finally:
                with state.lock:
                    if state.inflight is not None and state.inflight[2] is mine:
                        state.inflight = None
                mine.set()
        info = cached[1] if cached is not None else None
        if info is None:
            raise NotFound(f"No {backend_id} on the backend of region {cloud}")
        return info

    def _fresh(self, state: _Cloud[Info], backend_id: str, now: float,
               not_before: float | None) -> tuple[float, Info | None] | None:
        cached = state.known.get(backend_id)
        if cached is None or now - cached[0] > self.window or (not_before is not None and cached[0] < not_before):
            return None
        return cached

    def forget(self, cloud: str, backend_ids: Iterable[str]) -> None:
        """Stop polling these (their operations are over)."""
        state = self._cloud(cloud)
        with state.lock:
            for backend_id in backend_ids:
                state.wanted.pop(backend_id, None)
                state.known.pop(backend_id, None)
