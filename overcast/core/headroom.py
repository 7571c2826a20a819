"""A backend's own quotas, consulted when a create is accepted (decision 0046).

Overcast's per-project quotas are checked first, as before. Then, in a region whose driver
declares ``reports_headroom``, the new resources must also fit what the backend itself still
allows (an upstream OpenStack's quotas for the service account's project): otherwise the request
gets the service's own quota fault (Nova's 403, Cinder's 413) and nothing is recorded, instead of
a 202 and a resource that later turns ERROR when the backend refuses it.

The backend is asked through :func:`overcast.ops.calls.call_backend` (the cloud's timeout and
breaker: an unreachable backend answers 503) and its answer is kept :attr:`BackendQuotas.ttl`
seconds per (region, family); what this process accepted since the read is added to the kept
usage (:meth:`BackendQuotas.taken`), so a burst of creates does not all pass on one stale read.
A driver that declares nothing (local, noop, libcloud) costs no call and no check.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable, Mapping

from overcast.drivers import errors as driver_errors
from overcast.drivers.context import CallContext
from overcast.drivers.headroom import Headroom
from overcast.ops.calls import call_backend

LOG = logging.getLogger(__name__)

#: seconds a backend's headroom is reused before it is asked again
TTL = 5.0


class BackendQuotas:
    """Per process: each (region, family)'s last headroom read, kept ``ttl`` seconds."""

    def __init__(self, ttl: float = TTL, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._kept: dict[tuple[str, str], tuple[float, Headroom]] = {}

    def read(self, backends: Any, region: str, family: str, driver: Any, *, project_id: str | None,
             user_id: str | None, request_id: str | None) -> Headroom | None:
        """The backend's headroom, or None when its driver reports none (or cannot say).

        :raises overcast.ops.calls.BackendUnavailable: the backend did not answer (503).
        """
        if driver is None or not getattr(driver, "reports_headroom", False):
            return None
        key = (region, family)
        with self._lock:
            kept = self._kept.get(key)
            if kept is not None and self._clock() - kept[0] < self.ttl:
                return kept[1]
        call = CallContext(project_id=project_id, user_id=user_id, request_id=request_id)
        try:
            if backends is None:  # no operations runtime (a bare core in a unit test)
                headroom = driver.headroom(call)
            else:
                headroom = call_backend(backends, region, family, lambda: driver.headroom(call))
        except driver_errors.DriverError as exc:
            if exc.retryable:
                raise
            # the backend answered but would not say (a policy forbidding its limits): its own
            # refusal, if any, will surface on the resource as before
            LOG.warning("region %s did not tell its %s quotas: %s", region, family, exc)
            return None
        with self._lock:
            self._kept[key] = (self._clock(), headroom)
        return headroom

    def taken(self, region: str, family: str, deltas: Mapping[str, int]) -> None:
        """Count ``deltas`` (just accepted) into the kept headroom of ``region``'s ``family``."""
        with self._lock:
            kept = self._kept.get((region, family))
            if kept is not None:
                self._kept[(region, family)] = (kept[0], kept[1].plus(deltas))

    def forget(self) -> None:
        with self._lock:
            self._kept.clear()
