"""Where commands for a region's hypervisor hosts go, and what is known of those hosts.

``BusHosts`` (phase 1, :mod:`overcast.drivers.agent.transport`) reaches many hosts over RabbitMQ
and knows them from their heartbeats; a direct-connect transport (phase 2: the host's
:class:`~overcast.drivers.hosts.service.HostService` run in the worker over its libvirt URI) is
meant to implement the same interface.
"""

from __future__ import annotations

import abc
import time
from typing import Any

from overcast.drivers import errors
from overcast.drivers.hosts.scheduler import HostDirectory, HostState


class Hosts(abc.ABC):
    """The hosts of one region and how to reach them."""

    directory: HostDirectory

    @abc.abstractmethod
    def call(self, host: str, method: str, args: dict[str, Any] | None = None, *, timeout: float | None = None,
             key: str | None = None) -> Any:
        """Run a command on ``host``. :raises Unavailable: the host cannot be reached in time."""

    @abc.abstractmethod
    def broadcast(self, method: str, args: dict[str, Any], *, key: str | None = None) -> None:
        """Tell every host (one that is down hears it when it is back)."""

    def hosts(self) -> list[HostState]:
        return self.directory.hosts()

    def up_hosts(self) -> list[HostState]:
        return [h for h in self.hosts() if h.up]

    def require_up(self, host: str) -> HostState:
        state = self.directory.get(host)
        if state is None:
            raise errors.NotFound(f"no host {host} in this region")
        if not state.up:
            raise errors.Unavailable(f"host {host} is down (no heartbeat for {time.monotonic() - state.last_seen:.0f}s)",
                                     retry_after=max(1.0, state.interval))
        return state

    def close(self) -> None:
        """Release connections (default: nothing)."""
