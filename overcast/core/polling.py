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
            cached = state.known.get(backend_id)
            fresh = cached is not None and now - cached[0] <= self.window and (
                not_before is None or cached[0] >= not_before)
            if not fresh:
                ids = [i for i, asked in state.wanted.items() if now - asked <= self.keep]
        if not fresh:
            found = self._fetch(cloud, ctx, ids)
            self.fetches += 1
            fetched = self._clock()
            with state.lock:
                for i in ids:
                    state.known[i] = (fetched, found.get(i))
                stale = [i for i, asked in state.wanted.items() if fetched - asked > self.keep]
                for i in stale:
                    state.wanted.pop(i, None)
                    state.known.pop(i, None)
                cached = state.known[backend_id]
        info = cached[1] if cached is not None else None
        if info is None:
            raise NotFound(f"No {backend_id} on the backend of region {cloud}")
        return info

    def forget(self, cloud: str, backend_ids: Iterable[str]) -> None:
        """Stop polling these (their operations are over)."""
        state = self._cloud(cloud)
        with state.lock:
            for backend_id in backend_ids:
                state.wanted.pop(backend_id, None)
                state.known.pop(backend_id, None)
