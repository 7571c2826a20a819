"""The agent driver's transport: commands over the bus, hosts known from their heartbeats."""

from __future__ import annotations

import time
from typing import Any

from overcast.drivers.agent.bus import Bus, ReportListener
from overcast.drivers.hosts.scheduler import HostDirectory
from overcast.drivers.hosts.transport import Hosts


class BusHosts(Hosts):
    """A region's agents on a broker; ``call_timeout`` bounds a command (the engine's own timeout
    is longer: a build waits for a whole guest to be defined and started)."""

    #: how long after it starts listening this process waits for hosts it has not heard from
    #: before a build fails with "No valid host" (without ``down_after``: three default intervals)
    WARM_UP = 15.0

    def __init__(self, url: str, region: str, *, call_timeout: float = 60.0, down_after: float | None = None) -> None:
        self.bus = Bus(url, region)
        self.started = time.monotonic()
        self.warm_up = max(down_after, 3.0) if down_after is not None else self.WARM_UP
        self.call_timeout = call_timeout
        self.directory = HostDirectory(down_after=down_after)
        self.listener = ReportListener(self.bus, self.directory.on_report).start()

    def call(self, host: str, method: str, args: dict[str, Any] | None = None, *, timeout: float | None = None,
             key: str | None = None) -> Any:
        return self.bus.call(host, method, args, timeout=timeout or self.call_timeout, idempotency_key=key)

    def broadcast(self, method: str, args: dict[str, Any], *, key: str | None = None) -> None:
        self.bus.cast(None, method, args, idempotency_key=key)

    def warm_up_left(self) -> float:
        return max(0.0, self.started + self.warm_up - time.monotonic())

    def close(self) -> None:
        self.listener.stop()
        self.bus.close()
