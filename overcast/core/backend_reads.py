"""Reads a request needs from a backend itself (a server's console output, its diagnostics): run
with the region's timeout and circuit breaker, so a slow or dead provider answers the client 503
with ``Retry-After`` at once instead of holding a request thread.

The breakers are the process's own (the operations engine's, :func:`overcast.app.build_operations`
shares them with the core), so a region the workers found down is refused here too, and a read
that times out counts against it. No operation row is written: nothing on the backend changes.
"""

from __future__ import annotations

import contextvars
import threading
from typing import Any, Callable, TypeVar

from overcast.core.errors import ServiceUnavailable
from overcast.drivers.errors import DriverError

T = TypeVar("T")

#: seconds a read may take before the client gets 503 (Nova's RPC call timeout is 60 s; a console
#: is a small read)
READ_TIMEOUT = 30.0


def read_backend(breakers: Any, cloud: str, fn: Callable[[], T], timeout: float = READ_TIMEOUT) -> T:
    """``fn()`` (one driver read) with ``cloud``'s breaker and ``timeout``.

    :raises ServiceUnavailable: the breaker is open, the read timed out, or the driver raised a
        retryable error (``Unavailable``), with ``retry_after``. Any other ``DriverError`` is
        raised unchanged (the backend answered) for the caller to map.
    """
    breaker = breakers(cloud)
    if not breaker.allow():
        wait = breaker.retry_in()
        raise ServiceUnavailable(f"The backend of region {cloud} is unavailable; retry in {wait:.0f}s.",
                                 retry_after=max(1.0, wait))
    box: dict[str, Any] = {}
    finished = threading.Event()
    context = contextvars.copy_context()

    def run() -> None:
        try:
            box["result"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed back to the request's thread
            box["error"] = exc
        finally:
            finished.set()

    threading.Thread(target=context.run, args=(run,), name=f"backend-read-{cloud}", daemon=True).start()
    if not finished.wait(timeout):
        breaker.record_failure()
        raise ServiceUnavailable(f"The backend of region {cloud} did not answer within {timeout:g}s.",
                                 retry_after=max(1.0, breaker.retry_in() or 1.0))
    error = box.get("error")
    if error is None:
        breaker.record_success()
        return box["result"]
    if isinstance(error, DriverError) and error.retryable:
        breaker.record_failure()
        after = getattr(error, "retry_after", None) or breaker.retry_in() or 1.0
        raise ServiceUnavailable(f"The backend of region {cloud} is unavailable: {error}",
                                 retry_after=max(1.0, after)) from None
    if isinstance(error, DriverError):
        breaker.record_success()
    else:
        breaker.release()
    raise error
