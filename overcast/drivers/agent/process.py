"""``overcast agent``: runs on each hypervisor host, driven by Overcast over the message bus.

It registers the host (name, zone, vCPUs, memory, disk, hypervisor type and version, read from
libvirt), heartbeats with its usage and its guests, runs the commands Overcast sends (through
:class:`~overcast.drivers.hosts.hypervisor.Hypervisor` and
:class:`~overcast.drivers.hosts.hostnet.HostNetwork`), and reports on its own what changes under
it: a guest that stopped or died, a power state that moved.

On start it first makes the host match what it was told before (bridges, DHCP servers,
firewall), then answers commands; a command that was delivered but not acked when the agent died
comes again and is answered from :class:`~overcast.drivers.agent.bus.ResultCache` or found done
(a guest's UUID comes from the build's idempotency key), never done twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time
import uuid
from typing import Any

from overcast.drivers.agent.bus import Bus, CommandServer, ResultCache
from overcast.drivers.hosts.hostnet import Endpoint, HostNetwork
from overcast.drivers.hosts.hypervisor import Hypervisor
from overcast.drivers.hosts.service import HostService

log = logging.getLogger(__name__)

class Agent:
    """The agent process: a :class:`HostService` on the bus, with heartbeats and reports."""

    def __init__(self, *, region: str, host: str, bus_url: str, libvirt_uri: str, state_dir: str,
                 zone: str = "nova", heartbeat: float = 5.0, watch_interval: float = 1.0,
                 domain_type: str = "auto", tunnel: Endpoint | None = None, threads: int = 8,
                 ratios: dict[str, float] | None = None, reserved_memory_mb: int = 512) -> None:
        os.makedirs(state_dir, exist_ok=True)
        os.chmod(state_dir, 0o755)
        self.region = region
        self.host = host
        self.heartbeat = heartbeat
        self.watch_interval = watch_interval
        self.bus = Bus(bus_url, region)
        self.hv = Hypervisor(libvirt_uri, host, os.path.join(state_dir, "pool"), domain_type=domain_type)
        self.net = HostNetwork(host, os.path.join(state_dir, "net"), tunnel=tunnel)
        self.service = HostService(self.hv, self.net, zone=zone, ratios=ratios, reserved_memory_mb=reserved_memory_mb)
        self.server = CommandServer(self.bus, host, self.service.handle, threads=threads,
                                    cache=ResultCache(os.path.join(state_dir, "results.json")),
                                    ordered=HostService.ordered)
        self.instance = uuid.uuid4().hex
        self.started_at = dt.datetime.now(dt.timezone.utc).isoformat()
        self._stop = threading.Event()
        self._states: dict[str, str] = {}
        self._seq = 0

    def start(self) -> "Agent":
        self.net.sync()                 # the host as it was told to be, before any command
        self.server.start()
        self._send("register")
        threading.Thread(target=self._beat, name=f"agent-{self.host}-heartbeat", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.server.stop()
        self.bus.close()
        self.hv.close()

    def _send(self, kind: str, **extra: Any) -> None:
        self._seq += 1
        report = {"type": kind, "region": self.region, "host": self.host, "instance": self.instance,
                  "seq": self._seq, "time": time.time(), "interval": self.heartbeat,
                  "started_at": self.started_at, **extra}
        if kind in ("register", "heartbeat"):
            report.update(self.service.describe())
            now = {g["uuid"]: g["state"] for g in report["guests"]}
            if kind == "heartbeat":
                self._changes(now)      # a change the last look missed is reported, not lost
            self._states = now
        self.bus.publish_report(report)

    def _changes(self, now: dict[str, str]) -> None:
        previous, self._states = self._states, now
        for uid, state in now.items():
            if previous.get(uid) not in (None, state):
                self._send("guest", uuid=uid, state=state, previous=previous.get(uid))
        for uid in set(previous) - set(now):
            self._send("guest", uuid=uid, state="deleted", previous=previous[uid])

    def _watch(self) -> None:
        """Report guests whose state moved since the last look (a guest that died, a power state)."""
        self._changes({g.uuid: g.state for g in self.hv.list()})

    def _beat(self) -> None:
        next_beat = time.monotonic() + self.heartbeat
        while not self._stop.wait(min(self.watch_interval, max(0.0, next_beat - time.monotonic()))):
            try:
                if time.monotonic() >= next_beat:
                    self._send("heartbeat")
                    next_beat = time.monotonic() + self.heartbeat
                else:
                    self._watch()
            except Exception as exc:  # noqa: BLE001 - a lost broker or libvirt: keep beating
                log.warning("agent %s: %s", self.host, exc)

    def wait(self) -> None:
        while not self._stop.wait(1.0):
            pass
