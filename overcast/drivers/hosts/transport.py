"""Where a hypervisor driver's commands go: to agents over the bus, or straight to libvirt.

Both drivers (``agent`` and ``libvirt``) share one compute and one network implementation
(:mod:`overcast.drivers.libvirt.compute`, :mod:`overcast.drivers.libvirt.network`); they differ
only in this transport:

- :class:`DirectHosts` (``libvirt``, phase 2): one host, whose :class:`HostService` runs in the
  worker itself over its libvirt connection (``qemu:///system``, ``qemu+ssh://``, ``qemu+tcp://``);
- ``BusHosts`` (``agent``, phase 1, :mod:`overcast.drivers.agent.transport`): many hosts, reached
  over RabbitMQ, known from their heartbeats.
"""

from __future__ import annotations

import abc
import threading
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


class DirectHosts(Hosts):
    """One host driven in-process through its libvirt connection (no agent, no bus)."""

    def __init__(self, service: Any, *, refresh_seconds: float = 2.0) -> None:
        self.service = service
        self.name = service.hv.host
        self.directory = HostDirectory(down_after=refresh_seconds * 5 + 30)
        self.refresh_seconds = refresh_seconds
        self._refreshed = 0.0
        self._lock = threading.Lock()
        self._down_since: float | None = None

    def _refresh(self, force: bool = False) -> None:
        with self._lock:
            if not force and time.monotonic() - self._refreshed < self.refresh_seconds:
                return
            self._refreshed = time.monotonic()
        try:
            report = {"type": "heartbeat", "interval": self.refresh_seconds, **self.service.describe()}
        except errors.Unavailable:
            return    # libvirt unreachable: the host ages into "down"
        self.directory.on_report(report)

    def hosts(self) -> list[HostState]:
        self._refresh()
        return self.directory.hosts()

    def call(self, host: str, method: str, args: dict[str, Any] | None = None, *, timeout: float | None = None,
             key: str | None = None) -> Any:
        if host != self.name:
            raise errors.NotFound(f"no host {host} behind this libvirt connection (it is {self.name})")
        result = self.service.handle(method, dict(args or {}))
        if method in ("spawn", "destroy", "resize", "revert_resize"):
            self._refresh(force=True)
        return result

    def broadcast(self, method: str, args: dict[str, Any], *, key: str | None = None) -> None:
        self.service.handle(method, dict(args))

    def close(self) -> None:
        self.service.hv.close()
