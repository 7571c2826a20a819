"""The ``local`` driver: Overcast's embedded cloud, a simulated hypervisor that persists.

State lives in its own SQLite file (``<data_dir>/local-cloud.db`` unless ``database`` says
otherwise), apart from Overcast's records: it is "the backend", so the reconciler has something
real to reconcile against, and it survives restarts like a real hypervisor would.

Options (a cloud's config section):

``build_delay`` (seconds, 0)
    A new server is BUILDING until this much time has passed, as :meth:`get` sees it.
``action_delay`` (seconds, 2)
    A reboot, rebuild, resize or resize revert takes this long: until then :meth:`get` reports
    the server unsettled (BUILDING: the driver contract has no state of its own for "rebooting"),
    so the operation that asked keeps polling and clients see REBOOT, HARD_REBOOT, REBUILD,
    RESIZE or REVERT_RESIZE for at least one poll (openstacksdk waits 2 s between polls, Tempest
    1 s). 0 makes them finish at once, for suites that want speed (the Tempest runner's config).
``hosts`` (1)
    How many hypervisor hosts to simulate (``overcast-local-1`` ...), or a list of host names.
``zones`` (``["nova"]``)
    Availability zones; hosts are dealt round-robin into them.
``fail_build_rate`` / ``unavailable_rate`` (0.0)
    Probability that a build fails / that any call raises Unavailable (chaos testing).
``database``
    Path of the SQLite file.

Fault injection per server, through the build request's metadata (as mimic did):

``overcast:fail_build = "true"``
    The build fails: at once with BuildFailed, or (with a build delay) the server goes to ERROR.
``overcast:build_seconds = N``
    Stay BUILDING for N seconds (overrides ``build_delay``).
``overcast:fail_delete = N``
    The first N deletes raise DeleteFailed.
``overcast:unavailable = N``
    The first N calls of each kind for this server (build, get, each action, delete) raise
    Unavailable: every step of the engine has to retry N times.
"""

from __future__ import annotations

import builtins
import datetime as dt
import hashlib
import json
import random
import sqlite3
import struct
import time
import uuid
from dataclasses import fields
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, TypeVar

from overcast.drivers.compute import (BuildRequest, Capability, ComputeDriver, CpuStats, Diagnostics, DiskStats,
                                      Flavor, Image, ImageRef, NetworkAttachment, NicStats, PowerState, ServerGroup,
                                      ServerInfo, ServerState, VolumeAttachment, Zone)
from overcast.drivers.context import CallContext
from overcast.drivers.errors import (BuildFailed, Conflict, DeleteFailed, InvalidRequest, NotFound,
                                     NotSuspended, Unavailable)
from overcast.drivers.local import console
from overcast.drivers.local.store import LocalStore
from overcast.drivers.local.backups import OPTIONS as BACKUP_OPTIONS
from overcast.drivers.registry import CloudDriver, DriverConfigError, check_options

T = TypeVar("T")

S = ServerState
NO_VALID_HOST = "No valid host was found. There are not enough hosts available."

FAIL_BUILD = "overcast:fail_build"
BUILD_SECONDS = "overcast:build_seconds"
FAIL_DELETE = "overcast:fail_delete"
UNAVAILABLE = "overcast:unavailable"

#: seconds an action keeps a server unsettled by default (see ``action_delay``)
ACTION_DELAY = 2.0

DEFAULTS: Mapping[str, Any] = {
    "build_delay": 0.0,
    "action_delay": ACTION_DELAY,
    "hosts": 1,
    "zones": ("nova",),
    "fail_build_rate": 0.0,
    "unavailable_rate": 0.0,
    "database": None,
    **BACKUP_OPTIONS,  # where backups are kept: overcast.drivers.local.backups
}

#: what a ServerInfo needs (not the console log, which can be long)
SETTLES_AT = "(SELECT settles_at FROM transition WHERE transition.server_id = server.id) AS settles_at"
LIST_COLUMNS = ("id, idempotency_key, name, state, prior_state, host, zone, flavor, networks, ready_at, fail_build,"
                f" fault, created_at, {SETTLES_AT}")

POLICIES = frozenset({"affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity"})

#: states from which each action may run (Nova's rules, by vm_state)
ALLOWED: Mapping[str, frozenset[ServerState]] = {
    "soft reboot": frozenset({S.ACTIVE}),
    "reboot": frozenset({S.ACTIVE, S.STOPPED, S.PAUSED, S.SUSPENDED, S.RESCUED, S.ERROR}),
    "start": frozenset({S.STOPPED}),
    "stop": frozenset({S.ACTIVE, S.RESCUED, S.ERROR}),
    "pause": frozenset({S.ACTIVE, S.RESCUED}),
    "unpause": frozenset({S.PAUSED}),
    "suspend": frozenset({S.ACTIVE}),
    "resize": frozenset({S.ACTIVE, S.STOPPED}),
    "confirm_resize": frozenset({S.RESIZED}),
    "revert_resize": frozenset({S.RESIZED}),
    "rebuild": frozenset({S.ACTIVE, S.STOPPED, S.ERROR}),
    "snapshot": frozenset({S.ACTIVE, S.STOPPED, S.PAUSED, S.SUSPENDED, S.SHELVED}),
    "rescue": frozenset({S.ACTIVE, S.STOPPED, S.ERROR}),
    "unrescue": frozenset({S.RESCUED}),
    "change_password": frozenset({S.ACTIVE}),
    "shelve": frozenset({S.ACTIVE, S.STOPPED, S.PAUSED, S.SUSPENDED}),
    "unshelve": frozenset({S.SHELVED}),
    "attach_volume": frozenset({S.ACTIVE, S.STOPPED, S.PAUSED, S.SUSPENDED, S.RESIZED, S.SHELVED}),
    "detach_volume": frozenset({S.ACTIVE, S.STOPPED, S.PAUSED, S.SUSPENDED, S.RESIZED, S.SHELVED}),
    "attach_port": frozenset({S.ACTIVE, S.STOPPED, S.PAUSED, S.SUSPENDED}),
    "detach_port": frozenset({S.ACTIVE, S.STOPPED, S.PAUSED, S.SUSPENDED}),
}

_POWER = {
    S.ACTIVE: PowerState.RUNNING, S.RESCUED: PowerState.RUNNING, S.STOPPED: PowerState.SHUTDOWN,
    S.SHELVED: PowerState.SHUTDOWN, S.PAUSED: PowerState.PAUSED, S.SUSPENDED: PowerState.SUSPENDED,
    S.BUILDING: PowerState.NOSTATE, S.ERROR: PowerState.NOSTATE, S.DELETED: PowerState.NOSTATE,
}


def asdict(record: Any) -> dict[str, Any]:
    """A record as JSON-ready values (shallow: our records hold only scalars, tuples and mappings)."""
    out: dict[str, Any] = {}
    for f in fields(record):
        value = getattr(record, f.name)
        out[f.name] = dict(value) if isinstance(value, Mapping) else list(value) if isinstance(value, tuple) else value
    return out


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _count(metadata: Mapping[str, str], key: str) -> int:
    raw = metadata.get(key)
    if raw is None:
        return 0
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise InvalidRequest(f"Metadata {key} must be a whole number, not {raw!r}") from None
    if value < 0:
        raise InvalidRequest(f"Metadata {key} must not be negative")
    return value


def _seconds(metadata: Mapping[str, str], key: str) -> float | None:
    raw = metadata.get(key)
    if raw is None:
        return None
    try:
        value = float(str(raw).strip())
    except ValueError:
        raise InvalidRequest(f"Metadata {key} must be a number of seconds, not {raw!r}") from None
    if value < 0:
        raise InvalidRequest(f"Metadata {key} must not be negative")
    return value


def _truthy(value: object) -> bool:
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


class LocalComputeDriver(ComputeDriver):
    """A simulated KVM cloud: hosts, zones, power states, console logs, persistent state."""

    #: no remote console: a console URL must lead to a proxy reaching a real guest, and there is none
    #: one host: no cold migration (nowhere to move)
    capabilities = frozenset(Capability) - {Capability.REMOTE_CONSOLE, Capability.MIGRATE}

    def __init__(self, path: Path, *, build_delay: float = 0.0, action_delay: float = 0.0,
                 hosts: Iterable[str] = ("overcast-local-1",), zones: Iterable[str] = ("nova",),
                 fail_build_rate: float = 0.0, unavailable_rate: float = 0.0,
                 clock: Callable[[], float] = time.time, rng: random.Random | None = None) -> None:
        self.build_delay = float(build_delay)
        self.action_delay = float(action_delay)
        self.hosts = tuple(hosts)
        self.zone_names = tuple(zones)
        if not self.hosts:
            raise DriverConfigError("local: at least one host is needed")
        if not self.zone_names:
            raise DriverConfigError("local: at least one zone is needed")
        #: host -> zone, hosts dealt round-robin into zones
        self.host_zone = {host: self.zone_names[i % len(self.zone_names)] for i, host in enumerate(self.hosts)}
        self.fail_build_rate = float(fail_build_rate)
        self.unavailable_rate = float(unavailable_rate)
        self._clock = clock
        self._rng = rng or random.Random()
        self.store = LocalStore(path)

    def close(self) -> None:
        self.store.close()

    # -- fault injection helpers ------------------------------------------------------------
    def _chaos(self) -> None:
        if self.unavailable_rate and self._rng.random() < self.unavailable_rate:
            raise Unavailable("local: injected transient failure (unavailable_rate)")

    @staticmethod
    def _consume_unavailable(conn: sqlite3.Connection, key: str | None, method: str, count: int) -> bool:
        """Inside a write transaction: True if this call must fail with Unavailable."""
        if key is None or count <= 0:
            return False
        conn.execute("INSERT OR IGNORE INTO unavailable (idempotency_key, method, remaining) VALUES (?, ?, ?)",
                     (key, method, count))
        cursor = conn.execute("UPDATE unavailable SET remaining = remaining - 1 "
                              "WHERE idempotency_key = ? AND method = ? AND remaining > 0", (key, method))
        return cursor.rowcount > 0

    def _unavailable(self, backend_id: str) -> Unavailable:
        return Unavailable(f"local: server {backend_id} is injected unavailable ({UNAVAILABLE})")

    # -- rows -> records ---------------------------------------------------------------------
    def _effective(self, row: sqlite3.Row, now: float, *, settled: bool = False) -> tuple[ServerState, str | None, int]:
        """The state a read sees at ``now``: BUILDING until a build or (unless ``settled``: the
        state an action ends in) an action's transition is over."""
        state = ServerState(row["state"])
        settles_at = row["settles_at"]
        if not settled and settles_at is not None and now < settles_at and state is not S.ERROR:
            return S.BUILDING, None, 50
        if state is S.BUILDING:
            if now >= row["ready_at"]:
                if row["fail_build"]:
                    return S.ERROR, row["fault"] or "Injected build failure", 0
                return S.ACTIVE, None, 100
            total = max(row["ready_at"] - row["created_at"], 1e-9)
            return S.BUILDING, None, min(99, int(100 * (now - row["created_at"]) / total))
        return state, row["fault"], 100 if state is not S.ERROR else 0

    def _info(self, row: sqlite3.Row, now: float) -> ServerInfo:
        state, fault, progress = self._effective(row, now)
        if state is S.RESIZED:
            power = PowerState.SHUTDOWN if row["prior_state"] == S.STOPPED.value else PowerState.RUNNING
        else:
            power = _POWER[state]
        return ServerInfo(
            backend_id=row["id"], name=row["name"], state=state, power_state=power, host=row["host"],
            availability_zone=row["zone"], idempotency_key=row["idempotency_key"], fault=fault,
            progress=progress, flavor_id=json.loads(row["flavor"])["id"],
            networks=tuple(NetworkAttachment(**{**n, "fixed_ips": tuple(n["fixed_ips"])})
                           for n in json.loads(row["networks"])))

    @staticmethod
    def _row(conn: sqlite3.Connection, backend_id: str) -> sqlite3.Row:
        row = conn.execute(f"SELECT *, {SETTLES_AT} FROM server WHERE id = ?", (backend_id,)).fetchone()
        if row is None:
            raise NotFound(f"No server {backend_id} in the local cloud")
        return row

    # -- lifecycle ---------------------------------------------------------------------------
    def build(self, ctx: CallContext, request: BuildRequest) -> str:
        self._chaos()
        metadata = request.metadata or {}
        unavailable = _count(metadata, UNAVAILABLE)
        fail_deletes = _count(metadata, FAIL_DELETE)
        build_seconds = _seconds(metadata, BUILD_SECONDS)
        fail_build = _truthy(metadata.get(FAIL_BUILD, "false"))
        self.validate_flavor(ctx, request.flavor)
        zone, forced_host = self._parse_zone(ctx, request.availability_zone)
        if request.server_group is not None and request.server_group.policy not in POLICIES:
            raise InvalidRequest(f"Unknown server group policy {request.server_group.policy!r}")
        if not fail_build and self.fail_build_rate and self._rng.random() < self.fail_build_rate:
            fail_build = True
        delay = self.build_delay if build_seconds is None else build_seconds
        now = self._clock()
        outcome: Exception | None = None
        backend_id = str(uuid.uuid4())
        with self.store.write() as conn:
            existing = conn.execute("SELECT id FROM server WHERE idempotency_key = ?",
                                    (request.idempotency_key,)).fetchone()
            if existing is not None:
                return existing["id"]
            if self._consume_unavailable(conn, request.idempotency_key, "build", unavailable):
                outcome = Unavailable(f"local: build of {request.name!r} injected unavailable ({UNAVAILABLE})")
            if outcome is None:
                host, outcome = self._schedule(conn, request, zone, forced_host)
            if outcome is None and fail_build and delay <= 0:
                outcome = BuildFailed(f"Injected build failure for {request.name!r} ({FAIL_BUILD})")
            if outcome is None:
                self._insert(conn, backend_id, request, host=host, zone=self.host_zone[host], now=now,
                             ready_at=now + delay, fail_build=fail_build, fail_deletes=fail_deletes,
                             unavailable=unavailable)
        if outcome is not None:
            raise outcome
        return backend_id

    def _parse_zone(self, ctx: CallContext, requested: str | None) -> tuple[str | None, str | None]:
        if not requested:
            return None, None
        name, _, host = requested.partition(":")
        zone = name or None
        if zone is not None:
            self.validate_zone(ctx, zone)
        if host:
            if host not in self.hosts:
                raise InvalidRequest(f"No such host {host!r} in the local cloud")
            if zone is not None and self.host_zone[host] != zone:
                raise InvalidRequest(f"Host {host!r} is not in availability zone {zone!r}")
        return zone, host or None

    def _schedule(self, conn: sqlite3.Connection, request: BuildRequest, zone: str | None,
                  forced_host: str | None) -> tuple[str, Exception | None]:
        """Pick a host: the candidates in the zone, filtered by the server group's policy, least loaded."""
        candidates = [forced_host] if forced_host else [h for h in self.hosts
                                                        if zone is None or self.host_zone[h] == zone]
        group = request.server_group
        if group is not None:
            conn.execute("INSERT OR IGNORE INTO server_group (id, name, policy) VALUES (?, ?, ?)",
                         (group.id, group.name, group.policy))
            policy = conn.execute("SELECT policy FROM server_group WHERE id = ?", (group.id,)).fetchone()["policy"]
            members: dict[str, int] = {}
            for row in conn.execute("SELECT host FROM server WHERE server_group = ? AND host IS NOT NULL",
                                    (group.id,)):
                members[row["host"]] = members.get(row["host"], 0) + 1
            if policy == "anti-affinity":
                candidates = [h for h in candidates if h not in members]
            elif policy == "affinity" and members:
                candidates = [h for h in candidates if h in members]
            elif policy == "soft-affinity" and members:
                preferred = [h for h in candidates if h in members]
                candidates = preferred or candidates
            elif policy == "soft-anti-affinity":
                fewest = min((members.get(h, 0) for h in candidates), default=0)
                candidates = [h for h in candidates if members.get(h, 0) == fewest]
        if not candidates:
            return "", BuildFailed(NO_VALID_HOST)
        return self._least_loaded(conn, candidates), None

    def _least_loaded(self, conn: sqlite3.Connection, candidates: builtins.list[str]) -> str:
        """The candidate host with the fewest servers (the first listed on a tie)."""
        if len(candidates) == 1:
            return candidates[0]
        load = {h: 0 for h in self.hosts}
        for row in conn.execute("SELECT host, COUNT(*) AS n FROM server GROUP BY host"):
            if row["host"] in load:
                load[row["host"]] = row["n"]
        return min(candidates, key=lambda h: (load[h], self.hosts.index(h)))

    def _insert(self, conn: sqlite3.Connection, backend_id: str, request: BuildRequest, *, host: str,
                zone: str, now: float, ready_at: float, fail_build: bool, fail_deletes: int,
                unavailable: int) -> None:
        networks = list(request.networks)
        flavor = request.flavor
        image = request.image
        log = console.boot_log(
            server_id=backend_id, boot=1, hostname=request.name, vcpus=flavor.vcpus, ram_mb=flavor.ram_mb,
            disk_gb=flavor.disk_gb, interfaces=self._interfaces(networks),
            image_name=image.name if image else None, now=_utcnow())
        conn.execute(
            "INSERT INTO server (id, idempotency_key, name, state, host, zone, flavor, image, metadata, networks,"
            " server_group, ready_at, fail_build, fault, fail_deletes_left, unavailable_n, console, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (backend_id, request.idempotency_key, request.name, S.BUILDING.value, host, zone,
             json.dumps(asdict(flavor)), json.dumps(asdict(image)) if image else None,
             json.dumps(dict(request.metadata)), json.dumps([asdict(n) for n in networks]),
             request.server_group.id if request.server_group else None, ready_at, int(fail_build),
             f"Injected build failure ({FAIL_BUILD})" if fail_build else None, fail_deletes, unavailable, log,
             now, now))
        conn.executemany("INSERT INTO volume_attachment (server_id, volume_id, device) VALUES (?, ?, ?)",
                         [(backend_id, d.volume_id, d.device) for d in request.block_devices])

    @staticmethod
    def _interfaces(networks: Iterable[NetworkAttachment]) -> list[tuple[str, str, str]]:
        return [(f"ens{3 + i}", n.fixed_ips[0] if n.fixed_ips else "-", n.mac_address)
                for i, n in enumerate(networks)]

    def delete(self, ctx: CallContext, backend_id: str) -> None:
        self._chaos()
        outcome: Exception | None = None
        with self.store.write() as conn:
            row = conn.execute("SELECT * FROM server WHERE id = ?", (backend_id,)).fetchone()
            if row is None:
                return
            if self._consume_unavailable(conn, row["idempotency_key"], "delete", row["unavailable_n"]):
                outcome = self._unavailable(backend_id)
            elif row["fail_deletes_left"] > 0:
                conn.execute("UPDATE server SET fail_deletes_left = fail_deletes_left - 1 WHERE id = ?",
                             (backend_id,))
                outcome = DeleteFailed(f"Injected delete failure for server {backend_id} ({FAIL_DELETE})")
            else:
                conn.execute("DELETE FROM volume_attachment WHERE server_id = ?", (backend_id,))
                conn.execute("DELETE FROM unavailable WHERE idempotency_key = ?", (row["idempotency_key"],))
                conn.execute("DELETE FROM transition WHERE server_id = ?", (backend_id,))
                conn.execute("DELETE FROM server WHERE id = ?", (backend_id,))
        if outcome is not None:
            raise outcome

    def get(self, ctx: CallContext, backend_id: str) -> ServerInfo:
        return self._info(*self._read(backend_id, "get"))

    def _read(self, backend_id: str, method: str) -> tuple[sqlite3.Row, float]:
        """One server's row for a read-only call (with that call's injected unavailability)."""
        self._chaos()
        with self.store.read() as conn:
            row = self._row(conn, backend_id)
        if row["unavailable_n"] > 0:
            with self.store.write() as conn:
                failed = self._consume_unavailable(conn, row["idempotency_key"], method, row["unavailable_n"])
            if failed:
                raise self._unavailable(backend_id)
        return row, self._clock()

    def get_many(self, ctx: CallContext, backend_ids: Iterable[str]) -> dict[str, ServerInfo]:
        """One query for every server asked; an injected unavailability of any of them fails the call."""
        self._chaos()
        wanted = list(dict.fromkeys(backend_ids))
        if not wanted:
            return {}
        with self.store.read() as conn:
            rows = [row for chunk in range(0, len(wanted), 500) for row in conn.execute(
                f"SELECT {LIST_COLUMNS}, unavailable_n FROM server WHERE id IN "
                f"({', '.join('?' * len(wanted[chunk:chunk + 500]))})", wanted[chunk:chunk + 500])]
        failing = [row for row in rows if row["unavailable_n"] > 0]
        if failing:
            with self.store.write() as conn:
                hit = [row["id"] for row in failing
                       if self._consume_unavailable(conn, row["idempotency_key"], "get", row["unavailable_n"])]
            if hit:
                raise self._unavailable(hit[0])
        now = self._clock()
        return {row["id"]: self._info(row, now) for row in rows}

    def list(self, ctx: CallContext) -> builtins.list[ServerInfo]:
        self._chaos()
        now = self._clock()
        with self.store.read() as conn:
            rows = conn.execute(f"SELECT {LIST_COLUMNS} FROM server ORDER BY created_at, id").fetchall()
        return [self._info(row, now) for row in rows]

    def find(self, ctx: CallContext, idempotency_key: str) -> ServerInfo | None:
        self._chaos()
        with self.store.read() as conn:
            row = conn.execute(f"SELECT {LIST_COLUMNS} FROM server WHERE idempotency_key = ?",
                               (idempotency_key,)).fetchone()
        return self._info(row, self._clock()) if row else None

    # -- what the backend offers -------------------------------------------------------------
    def zones(self, ctx: CallContext) -> builtins.list[Zone]:
        return [Zone(name, hosts=tuple(h for h in self.hosts if self.host_zone[h] == name))
                for name in self.zone_names]

    def validate_zone(self, ctx: CallContext, zone: str) -> None:
        if zone not in self.zone_names:
            raise InvalidRequest(f"The requested availability zone is not available: {zone}")

    def validate_flavor(self, ctx: CallContext, flavor: Flavor) -> None:
        if flavor.vcpus < 1 or flavor.ram_mb < 1 or flavor.disk_gb < 0:
            raise InvalidRequest(f"Flavor {flavor.name!r} has no usable size (vcpus {flavor.vcpus}, "
                                 f"ram {flavor.ram_mb} MB, disk {flavor.disk_gb} GB)")

    # -- actions -----------------------------------------------------------------------------
    def _act(self, backend_id: str, action: str,
             change: Callable[[sqlite3.Connection, sqlite3.Row, ServerState], T],
             conflict: type[Conflict] = Conflict) -> T:
        """Run ``change`` in one write transaction, if the server's state allows ``action``."""
        self._chaos()
        unavailable = False
        with self.store.write() as conn:
            row = self._row(conn, backend_id)
            if self._consume_unavailable(conn, row["idempotency_key"], action, row["unavailable_n"]):
                unavailable = True
            else:
                state, _, _ = self._effective(row, self._clock(), settled=True)
                allowed = ALLOWED.get(action)
                if allowed is not None and state not in allowed:
                    raise conflict(f"Cannot '{action}' instance {backend_id} while it is in state "
                                   f"{state.value}")
                result = change(conn, row, state)
        if unavailable:
            raise self._unavailable(backend_id)
        return result

    def _update(self, conn: sqlite3.Connection, backend_id: str, **values: Any) -> None:
        values["updated_at"] = self._clock()
        columns = ", ".join(f"{name} = ?" for name in values)
        conn.execute(f"UPDATE server SET {columns} WHERE id = ?", (*values.values(), backend_id))

    def _boot_text(self, row: sqlite3.Row, boots: int, image: Mapping[str, Any] | None = None) -> str:
        flavor = json.loads(row["flavor"])
        networks = [NetworkAttachment(**{**n, "fixed_ips": tuple(n["fixed_ips"])}) for n in json.loads(row["networks"])]
        image = image if image is not None else (json.loads(row["image"]) if row["image"] else None)
        return console.boot_log(server_id=row["id"], boot=boots, hostname=row["name"], vcpus=flavor["vcpus"],
                                ram_mb=flavor["ram_mb"], disk_gb=flavor["disk_gb"],
                                interfaces=self._interfaces(networks),
                                image_name=image["name"] if image else None, now=_utcnow())

    def _power_cycle(self, conn: sqlite3.Connection, row: sqlite3.Row, state: ServerState, *,
                     new_state: ServerState = S.ACTIVE, reboot: bool = True, extra: str = "",
                     boot_image: Mapping[str, Any] | None = None, **values: Any) -> None:
        """Shut down (if running) and boot again: the console log grows by both."""
        boots = row["boots"] + 1
        text = row["console"]
        if state in (S.ACTIVE, S.RESCUED, S.PAUSED, S.SUSPENDED):
            text += console.shutdown_log(row["name"], reboot=reboot)
        text += extra + self._boot_text(row, boots, boot_image)
        self._update(conn, row["id"], state=new_state.value, console=text, boots=boots, fault=None, **values)

    def _unsettle(self, conn: sqlite3.Connection, backend_id: str) -> None:
        """The server is in transition for ``action_delay`` seconds from now."""
        if self.action_delay > 0:
            conn.execute("INSERT OR REPLACE INTO transition (server_id, settles_at) VALUES (?, ?)",
                         (backend_id, self._clock() + self.action_delay))

    def reboot(self, ctx: CallContext, backend_id: str, hard: bool = False) -> None:
        def change(conn: sqlite3.Connection, row: sqlite3.Row, state: ServerState) -> None:
            self._power_cycle(conn, row, state)
            self._unsettle(conn, backend_id)
        self._act(backend_id, "reboot" if hard else "soft reboot", change)

    def start(self, ctx: CallContext, backend_id: str) -> None:
        self._act(backend_id, "start", lambda conn, row, state: self._power_cycle(conn, row, state))

    def stop(self, ctx: CallContext, backend_id: str) -> None:
        def change(conn: sqlite3.Connection, row: sqlite3.Row, state: ServerState) -> None:
            text = row["console"] + (console.shutdown_log(row["name"], reboot=False) if state is not S.ERROR else "")
            self._update(conn, backend_id, state=S.STOPPED.value, console=text, fault=None)
        self._act(backend_id, "stop", change)

    def _simple(self, backend_id: str, action: str, new_state: ServerState, note: str,
                conflict: type[Conflict] = Conflict, **values: Any) -> None:
        def change(conn: sqlite3.Connection, row: sqlite3.Row, state: ServerState) -> None:
            self._update(conn, backend_id, state=new_state.value, console=row["console"] + console.event_line(note),
                         **values)
        self._act(backend_id, action, change, conflict)

    def pause(self, ctx: CallContext, backend_id: str) -> None:
        self._simple(backend_id, "pause", S.PAUSED, "qemu: guest paused")

    def unpause(self, ctx: CallContext, backend_id: str) -> None:
        self._simple(backend_id, "unpause", S.ACTIVE, "qemu: guest resumed")

    def suspend(self, ctx: CallContext, backend_id: str) -> None:
        self._simple(backend_id, "suspend", S.SUSPENDED, "PM: suspend entry (s2idle); memory saved to disk")

    def resume(self, ctx: CallContext, backend_id: str) -> None:
        def change(conn: sqlite3.Connection, row: sqlite3.Row, state: ServerState) -> None:
            if state is not S.SUSPENDED:
                raise NotSuspended(f"Server {backend_id} is not suspended (state {state.value})")
            self._update(conn, backend_id, state=S.ACTIVE.value,
                         console=row["console"] + console.event_line("PM: suspend exit; memory restored"))
        self._act(backend_id, "resume", change)

    def resize(self, ctx: CallContext, backend_id: str, flavor: Flavor) -> None:
        self.validate_flavor(ctx, flavor)

        def change(conn: sqlite3.Connection, row: sqlite3.Row, state: ServerState) -> None:
            if json.loads(row["flavor"])["id"] == flavor.id:
                raise InvalidRequest("When resizing, instances must change flavor!")
            if state is S.ACTIVE:
                self._power_cycle(conn, row, state, new_state=S.RESIZED, reboot=True,
                                  prior_state=state.value, old_flavor=row["flavor"], flavor=json.dumps(asdict(flavor)))
            else:
                self._update(conn, backend_id, state=S.RESIZED.value, prior_state=state.value,
                             old_flavor=row["flavor"], flavor=json.dumps(asdict(flavor)))
            self._unsettle(conn, backend_id)
        self._act(backend_id, "resize", change)

    def confirm_resize(self, ctx: CallContext, backend_id: str) -> None:
        def change(conn: sqlite3.Connection, row: sqlite3.Row, state: ServerState) -> None:
            self._update(conn, backend_id, state=row["prior_state"] or S.ACTIVE.value, prior_state=None,
                         old_flavor=None)
        self._act(backend_id, "confirm_resize", change)

    def revert_resize(self, ctx: CallContext, backend_id: str) -> None:
        def change(conn: sqlite3.Connection, row: sqlite3.Row, state: ServerState) -> None:
            self._update(conn, backend_id, state=row["prior_state"] or S.ACTIVE.value, prior_state=None,
                         flavor=row["old_flavor"] or row["flavor"], old_flavor=None,
                         console=row["console"] + console.event_line("resize reverted to the previous flavor"))
            self._unsettle(conn, backend_id)
        self._act(backend_id, "revert_resize", change)

    def rebuild(self, ctx: CallContext, backend_id: str, image: Image, admin_password: str | None = None) -> None:
        def change(conn: sqlite3.Connection, row: sqlite3.Row, state: ServerState) -> None:
            image_json = json.dumps(asdict(image))
            if state is S.STOPPED:  # Nova leaves a stopped server stopped after a rebuild
                self._update(conn, backend_id, image=image_json, fault=None)
            else:
                self._power_cycle(conn, row, state, image=image_json, boot_image=asdict(image),
                                  extra=console.event_line(f"rebuilding from image {image.name}"))
            self._unsettle(conn, backend_id)
        self._act(backend_id, "rebuild", change)

    def snapshot(self, ctx: CallContext, backend_id: str, image_name: str) -> ImageRef:
        """The server's disk as an image of the local cloud (a file beside its database); a second
        call with the same ``ctx.idempotency_key`` returns the first image."""
        key = ctx.idempotency_key

        def change(conn: sqlite3.Connection, row: sqlite3.Row, state: ServerState) -> ImageRef:
            if key is not None:
                made = conn.execute("SELECT * FROM image WHERE idempotency_key = ?", (key,)).fetchone()
                if made is not None:
                    return self._image_ref(made)
            flavor = json.loads(row["flavor"])
            data = _fake_qcow2(virtual_size=max(flavor["disk_gb"], 1) << 30, note={
                "overcast": "local snapshot", "server": backend_id, "server_name": row["name"],
                "image_name": image_name, "taken_at": _utcnow().isoformat()})
            image_id = str(uuid.uuid4())
            self._image_file(image_id).write_bytes(data)
            conn.execute("INSERT INTO image (id, idempotency_key, server_id, name, size, disk_format, checksum,"
                         " created_at) VALUES (?, ?, ?, ?, ?, 'qcow2', ?, ?)",
                         (image_id, key, backend_id, image_name, len(data), hashlib.md5(data).hexdigest(),
                          self._clock()))
            return self._image_ref(conn.execute("SELECT * FROM image WHERE id = ?", (image_id,)).fetchone())
        return self._act(backend_id, "snapshot", change)

    def _image_file(self, image_id: str) -> Path:
        folder = self.store.path.parent / "local-images"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / image_id

    @staticmethod
    def _image_ref(row: sqlite3.Row) -> ImageRef:
        return ImageRef(backend_id=row["id"], size=row["size"], disk_format=row["disk_format"],
                        checksum=row["checksum"], extra={"server": row["server_id"]})

    def images(self, ctx: CallContext) -> builtins.list[Image]:
        """The images this cloud made from its servers."""
        self._chaos()
        with self.store.read() as conn:
            rows = conn.execute("SELECT * FROM image ORDER BY created_at, id").fetchall()
        return [Image(id=row["id"], name=row["name"], disk_format=row["disk_format"], backend_id=row["id"],
                      size=row["size"], extra={"server": row["server_id"]}) for row in rows]

    def image_data(self, ctx: CallContext, backend_image_id: str) -> bytes:
        """An image's bytes (local-only helper for tests: a real backend keeps them to itself).

        :raises NotFound:
        """
        path = self._image_file(backend_image_id)
        if not path.exists():
            raise NotFound(f"No image {backend_image_id} in the local cloud")
        return path.read_bytes()

    def delete_image(self, ctx: CallContext, backend_image_id: str) -> None:
        self._chaos()
        with self.store.write() as conn:
            conn.execute("DELETE FROM image WHERE id = ?", (backend_image_id,))
        self._image_file(backend_image_id).unlink(missing_ok=True)

    def console_output(self, ctx: CallContext, backend_id: str, length: int | None = None) -> str:
        row, now = self._read(backend_id, "console_output")
        info = self._info(row, now)
        text = row["console"]
        if info.state is S.BUILDING:
            text = "\n".join(text.splitlines()[:5]) + "\n"
        if length is not None:
            lines = text.splitlines(keepends=True)
            text = "".join(lines[-length:]) if length > 0 else ""
        return text

    def rescue(self, ctx: CallContext, backend_id: str, image: Image | None, admin_password: str | None) -> None:
        def change(conn: sqlite3.Connection, row: sqlite3.Row, state: ServerState) -> None:
            name = image.name if image else "the server's own image"
            self._power_cycle(conn, row, state, new_state=S.RESCUED,
                              extra=console.event_line(f"booting rescue image {name}"))
        self._act(backend_id, "rescue", change)

    def unrescue(self, ctx: CallContext, backend_id: str) -> None:
        self._act(backend_id, "unrescue", lambda conn, row, state: self._power_cycle(conn, row, state))

    def change_password(self, ctx: CallContext, backend_id: str, admin_password: str) -> None:
        self._simple(backend_id, "change_password", S.ACTIVE, "qemu-guest-agent: guest-set-user-password root")

    def shelve(self, ctx: CallContext, backend_id: str) -> None:
        def change(conn: sqlite3.Connection, row: sqlite3.Row, state: ServerState) -> None:
            text = row["console"]
            if state in (S.ACTIVE, S.PAUSED, S.SUSPENDED):
                text += console.shutdown_log(row["name"], reboot=False)
            self._update(conn, backend_id, state=S.SHELVED.value, console=text)
        self._act(backend_id, "shelve", change)

    def unshelve(self, ctx: CallContext, backend_id: str, availability_zone: str | None = None) -> None:
        """Boot again; a zone or host asked moves the server there (the least loaded host of the zone)."""
        zone, forced_host = self._parse_zone(ctx, availability_zone)

        def change(conn: sqlite3.Connection, row: sqlite3.Row, state: ServerState) -> None:
            placed: dict[str, Any] = {}
            if zone or forced_host:
                host = forced_host or self._least_loaded(conn, [h for h in self.hosts if self.host_zone[h] == zone])
                placed = {"host": host, "zone": self.host_zone[host]}
            self._power_cycle(conn, row, state, **placed)
        self._act(backend_id, "unshelve", change)

    def attach_volume(self, ctx: CallContext, backend_id: str, volume_id: str,
                      device: str | None = None) -> VolumeAttachment:
        def change(conn: sqlite3.Connection, row: sqlite3.Row, state: ServerState) -> VolumeAttachment:
            used = {r["volume_id"]: r["device"] for r in
                    conn.execute("SELECT volume_id, device FROM volume_attachment WHERE server_id = ?", (backend_id,))}
            if volume_id in used:  # a second call (a resumed operation): the attachment it made
                return VolumeAttachment(volume_id=volume_id, device=used[volume_id])
            chosen = device
            if chosen is not None and chosen in used.values():
                raise Conflict(f"Device {chosen} is already in use on server {backend_id}")
            if chosen is None:
                chosen = next(f"/dev/vd{letter}" for letter in "bcdefghijklmnopqrstuvwxyz"
                              if f"/dev/vd{letter}" not in used.values())
            conn.execute("INSERT INTO volume_attachment (server_id, volume_id, device) VALUES (?, ?, ?)",
                         (backend_id, volume_id, chosen))
            self._update(conn, backend_id, console=row["console"] + console.event_line(
                f"virtio_blk: [{chosen.rsplit('/', 1)[-1]}] attached volume {volume_id}"))
            return VolumeAttachment(volume_id=volume_id, device=chosen)
        return self._act(backend_id, "attach_volume", change)

    def detach_volume(self, ctx: CallContext, backend_id: str, volume_id: str) -> None:
        def change(conn: sqlite3.Connection, row: sqlite3.Row, state: ServerState) -> None:
            cursor = conn.execute("DELETE FROM volume_attachment WHERE server_id = ? AND volume_id = ?",
                                  (backend_id, volume_id))
            if cursor.rowcount == 0:
                raise NotFound(f"Volume {volume_id} is not attached to server {backend_id}")
        self._act(backend_id, "detach_volume", change)

    @staticmethod
    def _check_attached(conn: sqlite3.Connection, backend_id: str, volume_id: str) -> None:
        if conn.execute("SELECT 1 FROM volume_attachment WHERE server_id = ? AND volume_id = ?",
                        (backend_id, volume_id)).fetchone() is None:
            raise NotFound(f"Volume {volume_id} is not attached to server {backend_id}")

    def volume_snapshot_create(self, ctx: CallContext, backend_id: str, volume_id: str, snapshot_id: str,
                               new_file: str) -> None:
        """The overlay ``new_file`` goes on top of the volume's chain (the file below it is the snapshot)."""
        def change(conn: sqlite3.Connection, row: sqlite3.Row, state: ServerState) -> None:
            self._check_attached(conn, backend_id, volume_id)
            seq = conn.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM volume_snapshot_file WHERE volume_id = ?",
                               (volume_id,)).fetchone()[0]
            conn.execute("INSERT OR IGNORE INTO volume_snapshot_file (volume_id, snapshot_id, file, seq) "
                         "VALUES (?, ?, ?, ?)", (volume_id, snapshot_id, new_file, seq))
        self._act(backend_id, "volume_snapshot_create", change)

    def volume_snapshot_delete(self, ctx: CallContext, backend_id: str, volume_id: str, snapshot_id: str) -> None:
        """The snapshot's overlay is merged into the file below it: it leaves the chain."""
        def change(conn: sqlite3.Connection, row: sqlite3.Row, state: ServerState) -> None:
            self._check_attached(conn, backend_id, volume_id)
            conn.execute("DELETE FROM volume_snapshot_file WHERE volume_id = ? AND snapshot_id = ?",
                         (volume_id, snapshot_id))
        self._act(backend_id, "volume_snapshot_delete", change)

    def volume_chain(self, volume_id: str) -> builtins.list[tuple[str, str]]:
        """(snapshot id, overlay file) of a volume's assisted snapshots, oldest first; the last
        file is the one the guest writes to (local-only helper for tests)."""
        with self.store.read() as conn:
            return [(r["snapshot_id"], r["file"]) for r in conn.execute(
                "SELECT snapshot_id, file FROM volume_snapshot_file WHERE volume_id = ? ORDER BY seq", (volume_id,))]

    def volume_attachments(self, ctx: CallContext, backend_id: str) -> builtins.list[VolumeAttachment]:
        """The volumes attached to a server (local-only helper for tests and diagnostics)."""
        with self.store.read() as conn:
            self._row(conn, backend_id)
            return [VolumeAttachment(r["volume_id"], r["device"]) for r in conn.execute(
                "SELECT volume_id, device FROM volume_attachment WHERE server_id = ? ORDER BY device", (backend_id,))]

    def attach_port(self, ctx: CallContext, backend_id: str, port: NetworkAttachment) -> None:
        def change(conn: sqlite3.Connection, row: sqlite3.Row, state: ServerState) -> None:
            networks = json.loads(row["networks"])
            if any(n["port_id"] == port.port_id for n in networks):
                raise Conflict(f"Port {port.port_id} is already attached to server {backend_id}")
            networks.append(asdict(port))
            device = f"ens{2 + len(networks)}"
            self._update(conn, backend_id, networks=json.dumps(networks), console=row["console"] + console.event_line(
                f"virtio_net: {device} link up, {', '.join(port.fixed_ips) or 'no address'} ({port.mac_address})"))
        self._act(backend_id, "attach_port", change)

    def detach_port(self, ctx: CallContext, backend_id: str, port_id: str) -> None:
        def change(conn: sqlite3.Connection, row: sqlite3.Row, state: ServerState) -> None:
            networks = json.loads(row["networks"])
            kept = [n for n in networks if n["port_id"] != port_id]
            if len(kept) == len(networks):
                raise NotFound(f"Port {port_id} is not attached to server {backend_id}")
            self._update(conn, backend_id, networks=json.dumps(kept))
        self._act(backend_id, "detach_port", change)

    def create_server_group(self, ctx: CallContext, group: ServerGroup) -> None:
        if group.policy not in POLICIES:
            raise InvalidRequest(f"Unknown server group policy {group.policy!r}; "
                                 f"one of {', '.join(sorted(POLICIES))}")
        self._chaos()
        with self.store.write() as conn:
            conn.execute("INSERT OR REPLACE INTO server_group (id, name, policy) VALUES (?, ?, ?)",
                         (group.id, group.name, group.policy))

    def delete_server_group(self, ctx: CallContext, group_id: str) -> None:
        self._chaos()
        with self.store.write() as conn:
            conn.execute("DELETE FROM server_group WHERE id = ?", (group_id,))

    def diagnostics(self, ctx: CallContext, backend_id: str) -> Diagnostics:
        """Counters that grow with the server's uptime while it runs, as a QEMU guest's would: one
        CPU per vCPU, the root disk ``vda`` and the attached volumes, one NIC per port."""
        row, now = self._read(backend_id, "diagnostics")
        info = self._info(row, now)
        flavor = json.loads(row["flavor"])
        running = info.power_state is PowerState.RUNNING
        uptime = max(0, int(now - row["ready_at"])) if info.state is not S.BUILDING else 0
        attached = self.volume_attachments(ctx, backend_id)
        devices = dict.fromkeys(["vda", *(v.device.rpartition("/")[2] for v in attached)])
        return Diagnostics(
            power_state=info.power_state, hypervisor="qemu", hypervisor_os="linux", uptime_s=uptime,
            memory_max_mb=flavor["ram_mb"], memory_used_mb=flavor["ram_mb"] if running else 0,
            cpus=tuple(CpuStats(time_ns=uptime * 10_000_000 * (i + 1) if running else 0)
                       for i in range(flavor["vcpus"])),
            disks=tuple(DiskStats(device=device, read_bytes=(4096 * 1100 + uptime * 512) // (i + 1),
                                  read_requests=(1100 + uptime // 8) // (i + 1),
                                  write_bytes=(4096 * 60 + uptime * 256) // (i + 1),
                                  write_requests=(60 + uptime // 16) // (i + 1), errors=-1)
                        for i, device in enumerate(devices)),
            nics=tuple(NicStats(port_id=n.port_id, mac_address=n.mac_address, rx_octets=2048 * (i + 1) + uptime * 64,
                                rx_errors=0, rx_drop=0, rx_packets=2 * (i + 1) + uptime,
                                tx_octets=1024 * (i + 1) + uptime * 32, tx_errors=0, tx_drop=0,
                                tx_packets=i + 1 + uptime // 2)
                       for i, n in enumerate(info.networks)))


def _fake_qcow2(virtual_size: int, note: Mapping[str, Any]) -> bytes:
    """A qcow2 v3 header (magic, version, cluster bits, virtual size) followed by a JSON note: enough
    for ``qemu-img info``-style sniffing and for Glance to store, not a bootable disk."""
    header = struct.pack(">4sIQIIQIIQQIIQQQII", b"QFI\xfb", 3, 0, 0, 16, virtual_size, 0, 1, 0x30000, 0x10000,
                         1, 0, 0, 0, 0, 4, 104)
    body = json.dumps(note, sort_keys=True).encode()
    return header + b"\0" * (512 - len(header)) + body


def _hosts(value: Any) -> tuple[str, ...]:
    if isinstance(value, (list, tuple)):
        hosts = tuple(str(h) for h in value)
    else:
        text = str(value).strip()
        if text.isdigit():
            count = int(text)
            if count < 1:
                raise DriverConfigError("local: hosts must be at least 1")
            hosts = tuple(f"overcast-local-{i}" for i in range(1, count + 1))
        else:
            hosts = tuple(h.strip() for h in text.split(",") if h.strip())
    if not hosts or len(set(hosts)) != len(hosts):
        raise DriverConfigError(f"local: hosts must be a count or a list of distinct names, not {value!r}")
    return hosts


def _zones(value: Any) -> tuple[str, ...]:
    zones = tuple(str(z) for z in value) if isinstance(value, (list, tuple)) else tuple(
        z.strip() for z in str(value).split(",") if z.strip())
    if not zones:
        raise DriverConfigError("local: zones must name at least one availability zone")
    return zones


def _number(name: str, value: Any, low: float, high: float | None = None) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise DriverConfigError(f"local: {name} must be a number, not {value!r}") from None
    if number < low or (high is not None and number > high):
        raise DriverConfigError(f"local: {name} must be between {low} and {high if high is not None else 'any'}")
    return number


def create_driver(options: Mapping[str, Any], data_dir: Path) -> CloudDriver:
    """Entry point ``local``."""
    opts = check_options("local", options, DEFAULTS)
    path = Path(opts["database"]) if opts["database"] else Path(data_dir) / "local-cloud.db"
    compute = LocalComputeDriver(
        path, build_delay=_number("build_delay", opts["build_delay"], 0.0),
        action_delay=_number("action_delay", opts["action_delay"], 0.0), hosts=_hosts(opts["hosts"]),
        zones=_zones(opts["zones"]),
        fail_build_rate=_number("fail_build_rate", opts["fail_build_rate"], 0.0, 1.0),
        unavailable_rate=_number("unavailable_rate", opts["unavailable_rate"], 0.0, 1.0))
    return CloudDriver(name="local", compute=compute, info={"persistent": True, "database": str(path)})
