"""Creates refused at once while a region's backend is known to be down.

The operations engine's circuit breaker per (region, family) opens after repeated failures of a
backend. While it is open, a request that would make something new there (a server, a volume)
answers 503 with ``Retry-After`` at once, as the network family does for its creates, instead of
taking the request and leaving the resource building until the backend returns. Reads are served
from Overcast's records and are unaffected; updates and deletes are recorded and wait for the
backend (the engine defers them while the breaker is open).
"""

from __future__ import annotations

from typing import Any

from overcast.core.errors import ServiceUnavailable


def refuse_while_down(backends: Any, region: str, family: str, what: str) -> None:
    """:raises ServiceUnavailable: the (region, family) breaker is open (503, ``Retry-After``)."""
    if backends is None:
        return
    wait = backends.breakers(region, family).retry_in()
    if wait > 0:
        raise ServiceUnavailable(f"The {what} backend of region {region} is unavailable; retry in {wait:.0f}s.",
                                 retry_after=wait)
