"""Where commands for a region's hypervisor hosts go, and what is known of those hosts.

``BusHosts`` (phase 1, :mod:`overcast.drivers.agent.transport`) reaches many hosts over RabbitMQ
and knows them from their heartbeats; :class:`DirectHosts` (phase 2, the ``libvirt`` driver) runs
the host's :class:`~overcast.drivers.hosts.service.HostService` in Overcast's worker over its
libvirt URI. The compute and network drivers (:mod:`overcast.drivers.hosts.compute`,
:mod:`overcast.drivers.hosts.network`) see only this interface.
"""

from __future__ import annotations

import abc
import contextlib
import fcntl
import threading
import time
from typing import Any, Iterable, Iterator

from overcast.drivers import errors
from overcast.drivers.hosts.scheduler import HostDirectory, HostState


def split_backend_id(backend_id: str, what: str) -> tuple[str, str]:
    """``(host, id on that host)`` of a hosts driver's backend id (``host/id``: a server's or a
    volume's). :raises NotFound: not an id these drivers give (named as ``what``)."""
    host, sep, local = backend_id.partition("/")
    if not sep or not host or not local:
        raise errors.NotFound(f"no {what} {backend_id}")
    return host, local


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

    def by_host(self, backend_ids: Iterable[str]) -> dict[str, list[str]]:
        """Backend ids ``<host>/<id>`` grouped by host (host -> ids on it), leaving out ids of
        another form and of hosts this region never had. :raises Unavailable: a host is down."""
        out: dict[str, list[str]] = {}
        for backend_id in backend_ids:
            host, sep, rest = backend_id.partition("/")
            if sep and host and rest and self.directory.get(host) is not None:
                out.setdefault(host, []).append(rest)
        for host in out:
            self.require_up(host)
        return out

    def warm_up_left(self) -> float:
        """Seconds this process may still be hearing from hosts for the first time (just started:
        a host not known yet may only not have reported). Default: none."""
        return 0.0

    def close(self) -> None:
        """Release connections (default: nothing)."""


class DirectHosts(Hosts):
    """One host driven in-process through its libvirt connection (no agent, no bus).

    What the scheduler knows of the host is read from libvirt (``describe``) at most every
    ``refresh_seconds``, and at once after a guest is made or removed; a host whose libvirt cannot
    be reached stops being refreshed and ages into ``down``.

    Every Overcast process drives the host with its own :class:`HostService`. The commands that
    change the host's network model or its guests (network-model commands, ``spawn``,
    ``destroy``) therefore run one at a time across the processes, under a lock file
    (``lock_path``, an ``flock``), each after reading the model again: an agent runs them one at
    a time in the order they come, and the host's own claim (does the guest fit) sees every guest.
    """

    #: commands that change what the host has, run one at a time (besides the network-model ones)
    SERIAL = frozenset({"spawn", "destroy"})
    #: commands that read the network model (re-read first, under the lock)
    READS_MODEL = frozenset({"network_objects"})

    def __init__(self, service: Any, *, lock_path: str | None = None, refresh_seconds: float = 2.0) -> None:
        self.service = service
        self.name = service.hv.host
        self.directory = HostDirectory(down_after=refresh_seconds * 5 + 30)
        self.refresh_seconds = refresh_seconds
        self.lock_path = lock_path
        self._refreshed = 0.0
        self._lock = threading.Lock()
        self._serial = threading.Lock()

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

    def require_up(self, host: str) -> HostState:
        self._refresh()
        return super().require_up(host)

    @contextlib.contextmanager
    def _one_at_a_time(self) -> Iterator[None]:
        with self._serial:
            if self.lock_path is None:
                self.service.net.reload()
                yield
                return
            with open(self.lock_path, "a") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                try:
                    self.service.net.reload()
                    yield
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)

    def call(self, host: str, method: str, args: dict[str, Any] | None = None, *, timeout: float | None = None,
             key: str | None = None) -> Any:
        if host != self.name:
            raise errors.NotFound(f"no host {host} behind this libvirt connection (it is {self.name})")
        if not (self.service.ordered(method) or method in self.SERIAL or method in self.READS_MODEL):
            return self.service.handle(method, dict(args or {}))
        with self._one_at_a_time():
            result = self.service.handle(method, dict(args or {}))
        if method in self.SERIAL:
            self._refresh(force=True)
        return result

    def broadcast(self, method: str, args: dict[str, Any], *, key: str | None = None) -> None:
        self.call(self.name, method, args, key=key)

    def close(self) -> None:
        self.service.hv.close()
