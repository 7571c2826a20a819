"""Which host runs a guest: Nova's filter scheduler, in small.

Hosts are known from their agents' heartbeats (:class:`HostDirectory`): what each offers (vCPUs,
memory, disk, read from libvirt), what its guests take, its allocation ratios, its zone and its
guests' server groups. :func:`schedule` filters them as Nova's default filters do —
ComputeFilter (up, and its service neither disabled nor forced down by an administrator: the
request's ``out_of_service``, read from Overcast's services), AvailabilityZoneFilter, RAM/Core/Disk with allocation ratios,
ServerGroupAffinityFilter and ServerGroupAntiAffinityFilter — and weighs what is left by free RAM
(spreading, Nova's RAMWeigher), with soft-(anti-)affinity as weighers. The chosen host checks
again when it gets the build (its own claim, under a lock); a host that refuses is skipped and
the next candidate tried, as Nova's retries do.

Claims the scheduler made that no heartbeat shows yet are kept (:meth:`HostDirectory.claim`) so
two builds scheduled between heartbeats do not both count the same free memory.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

NO_VALID_HOST = "No valid host was found. There are not enough hosts available."


class NoValidHost(Exception):
    """Nothing fits (the build fails with Nova's fault)."""

    def __init__(self, reason: str = "") -> None:
        super().__init__(NO_VALID_HOST + (f" {reason}" if reason else ""))
        self.reason = reason


@dataclass
class Claim:
    key: str
    vcpus: int
    memory_mb: int
    disk_gb: int
    group: str | None
    expires: float


@dataclass
class HostState:
    name: str
    zone: str = "nova"
    vcpus: int = 0
    memory_mb: int = 0
    disk_gb: int = 0
    reserved_memory_mb: int = 0
    ratios: dict[str, float] = field(default_factory=lambda: {"cpu": 16.0, "ram": 1.5, "disk": 1.0})
    used_vcpus: int = 0
    used_memory_mb: int = 0
    used_disk_gb: int = 0
    #: guest uuid -> server group id (None: in no group)
    groups: dict[str, str | None] = field(default_factory=dict)
    #: idempotency keys of the guests the host reported
    keys: set[str] = field(default_factory=set)
    guests: list[dict[str, Any]] = field(default_factory=list)
    last_seen: float = 0.0
    interval: float = 5.0
    up: bool = True
    disabled: bool = False
    hypervisor_type: str = "QEMU"
    hypervisor_version: int = 0
    domain_type: str = "qemu"
    cpu_model: str = ""
    endpoint: dict[str, Any] | None = None
    started_at: str = ""
    instance: str = ""
    claims: list[Claim] = field(default_factory=list)

    def free(self) -> tuple[float, float, float]:
        """(vCPUs, MiB, GiB) still allowed, counting pending claims."""
        cv = sum(c.vcpus for c in self.claims)
        cm = sum(c.memory_mb for c in self.claims)
        cd = sum(c.disk_gb for c in self.claims)
        return (self.vcpus * self.ratios.get("cpu", 16.0) - self.used_vcpus - cv,
                (self.memory_mb - self.reserved_memory_mb) * self.ratios.get("ram", 1.5) - self.used_memory_mb - cm,
                self.disk_gb * self.ratios.get("disk", 1.0) - self.used_disk_gb - cd)

    def group_members(self, group: str) -> int:
        return sum(1 for g in self.groups.values() if g == group) + sum(1 for c in self.claims if c.group == group)


@dataclass(frozen=True)
class Request:
    vcpus: int
    memory_mb: int
    disk_gb: int
    zone: str | None = None
    group: str | None = None
    policy: str | None = None        # affinity, anti-affinity, soft-affinity, soft-anti-affinity
    #: hosts that already refused this build
    exclude: frozenset[str] = frozenset()
    #: a host the request must go to (admin's ``host`` / zone ``az:host``)
    force_host: str | None = None
    #: hosts an administrator took out (service disabled or forced down): ComputeFilter refuses them
    out_of_service: frozenset[str] = frozenset()


def schedule(hosts: Iterable[HostState], request: Request) -> list[HostState]:
    """The hosts that can take the request, best first. :raises NoValidHost:"""
    candidates = []
    reasons: dict[str, int] = {}

    def refuse(why: str) -> None:
        reasons[why] = reasons.get(why, 0) + 1

    all_hosts = list(hosts)
    group_hosts = {h.name for h in all_hosts if request.group and h.group_members(request.group)}
    for host in all_hosts:
        if not host.up or host.disabled or host.name in request.out_of_service:
            refuse("ComputeFilter")
            continue
        if host.name in request.exclude:
            refuse("RetryFilter")
            continue
        if request.force_host and host.name != request.force_host:
            refuse("force_host")
            continue
        if request.zone and host.zone != request.zone:
            refuse("AvailabilityZoneFilter")
            continue
        cpu, ram, disk = host.free()
        if ram < request.memory_mb:
            refuse("RamFilter")
            continue
        if cpu < request.vcpus:
            refuse("CoreFilter")
            continue
        if disk < request.disk_gb:
            refuse("DiskFilter")
            continue
        if request.policy == "affinity" and group_hosts and host.name not in group_hosts:
            refuse("ServerGroupAffinityFilter")
            continue
        if request.policy == "anti-affinity" and host.name in group_hosts:
            refuse("ServerGroupAntiAffinityFilter")
            continue
        candidates.append(host)
    if not candidates:
        detail = ", ".join(f"{k} refused {v}" for k, v in sorted(reasons.items()))
        raise NoValidHost(f"({detail})" if detail else "(no hosts)")

    def weight(host: HostState) -> tuple[float, float, str]:
        soft = 0.0
        if request.group and request.policy in ("soft-affinity", "soft-anti-affinity"):
            members = host.group_members(request.group)
            soft = -members if request.policy == "soft-affinity" else members
        return (soft, -host.free()[1], host.name)

    return sorted(candidates, key=weight)


class HostDirectory:
    """What this process knows of a region's hosts, from their reports.

    A host is **down** when no heartbeat came for ``down_after`` seconds (default: three of its
    intervals, at least ``min_down_after``). ``clock`` is injectable for tests.
    """

    def __init__(self, *, down_after: float | None = None, min_down_after: float = 3.0,
                 claim_seconds: float = 120.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.down_after = down_after
        self.min_down_after = min_down_after
        self.claim_seconds = claim_seconds
        self.clock = clock
        self._hosts: dict[str, HostState] = {}
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        #: called with (host, report) for every guest event (a power state that moved)
        self.listeners: list[Callable[[str, dict[str, Any]], None]] = []

    def _limit(self, host: HostState) -> float:
        return self.down_after if self.down_after is not None else max(self.min_down_after, 3 * host.interval)

    def on_report(self, report: dict[str, Any]) -> None:
        kind = report.get("type")
        name = str(report.get("host"))
        with self._lock:
            host = self._hosts.get(name)
            if host is None:
                host = self._hosts[name] = HostState(name=name)
            host.last_seen = self.clock()
            host.interval = float(report.get("interval") or host.interval)
            if kind in ("register", "heartbeat"):
                info = report.get("info") or {}
                usage = report.get("usage") or {}
                host.zone = report.get("zone") or host.zone
                host.vcpus = int(info.get("vcpus", host.vcpus))
                host.memory_mb = int(info.get("memory_mb", host.memory_mb))
                host.disk_gb = int(info.get("disk_gb", host.disk_gb))
                host.hypervisor_type = str(info.get("hypervisor_type", host.hypervisor_type))
                host.hypervisor_version = int(info.get("hypervisor_version", host.hypervisor_version))
                host.domain_type = str(info.get("domain_type", host.domain_type))
                host.cpu_model = str(info.get("cpu_model", host.cpu_model))
                host.reserved_memory_mb = int(report.get("reserved_memory_mb", host.reserved_memory_mb))
                host.ratios = dict(report.get("ratios") or host.ratios)
                host.used_vcpus = int(usage.get("vcpus", 0))
                host.used_memory_mb = int(usage.get("memory_mb", 0))
                host.used_disk_gb = int(usage.get("disk_gb", 0))
                guests = list(report.get("guests") or [])
                host.guests = guests
                host.groups = {g["uuid"]: g.get("group") for g in guests}
                host.keys = {g["key"] for g in guests if g.get("key")}
                host.endpoint = report.get("endpoint")
                host.started_at = str(report.get("started_at", ""))
                host.instance = str(report.get("instance", ""))
                # claims the host now shows (or that expired) are no longer pending
                now = self.clock()
                host.claims = [c for c in host.claims if c.key not in host.keys and c.expires > now]
            self._changed.notify_all()
        if kind == "guest":
            for listener in list(self.listeners):
                listener(name, report)

    def hosts(self) -> list[HostState]:
        now = self.clock()
        with self._lock:
            for host in self._hosts.values():
                host.up = now - host.last_seen <= self._limit(host)
                host.claims = [c for c in host.claims if c.expires > now]
            return list(self._hosts.values())

    def get(self, name: str) -> HostState | None:
        for host in self.hosts():
            if host.name == name:
                return host
        return None

    def claim(self, host: str, key: str, vcpus: int, memory_mb: int, disk_gb: int, group: str | None) -> None:
        with self._lock:
            state = self._hosts.get(host)
            if state is not None and key not in state.keys:
                state.claims = [c for c in state.claims if c.key != key]
                state.claims.append(Claim(key, vcpus, memory_mb, disk_gb, group, self.clock() + self.claim_seconds))

    def release(self, host: str, key: str) -> None:
        with self._lock:
            state = self._hosts.get(host)
            if state is not None:
                state.claims = [c for c in state.claims if c.key != key]

    def set_disabled(self, host: str, disabled: bool) -> None:
        with self._lock:
            if host in self._hosts:
                self._hosts[host].disabled = disabled

    def wait_for(self, predicate: Callable[[list[HostState]], bool], timeout: float) -> bool:
        """Wait until ``predicate(hosts)`` holds (woken by every report)."""
        end = time.monotonic() + timeout
        while True:
            if predicate(self.hosts()):
                return True
            left = end - time.monotonic()
            if left <= 0:
                return False
            with self._lock:
                self._changed.wait(min(left, 0.5))

    def find_key(self, key: str) -> str | None:
        """The host that reported a guest made with this idempotency key."""
        with self._lock:
            for host in self._hosts.values():
                if key in host.keys:
                    return host.name
        return None
