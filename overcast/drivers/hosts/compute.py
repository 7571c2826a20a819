"""The compute driver of a region of hypervisor hosts (``agent`` and ``libvirt`` share it).

A server is a libvirt guest on one host; its backend id is ``<host>/<guest uuid>``, and the
guest UUID is derived from the build's idempotency key, so a retried or redelivered build finds
the guest the first one made (:meth:`HostsCompute.find` is one lookup per host at most).

A build schedules (:mod:`overcast.drivers.hosts.scheduler`), claims, sends the images the host
lacks (kernel, ramdisk and root disk: Glance's ``kernel_id``/``ramdisk_id`` properties give a
direct kernel boot, as Nova's libvirt driver does), then asks the host to spawn; a host that
refuses (its own claim failed) is skipped and the next one tried, as Nova's retries do. Nothing
fits: the build fails with Nova's "No valid host was found".

Images come from Overcast's image store (``BuildRequest.read_image``) and are sent to the host
once (cached there per image id). A resize stays on the server's host (Nova with
``allow_resize_to_same_host``; no guest moves between hosts yet): one that does not fit there
fails with Nova's "No valid host was found". Volumes (:mod:`overcast.drivers.hosts.volume`) live
on one host and attach to the servers of that host only (decision 0072); snapshots are not
offered yet (the host side has them; their driver path is untested).
"""

from __future__ import annotations

import base64
import builtins
import dataclasses
import logging
import uuid as uuidlib
from typing import Any, Iterable, Iterator

from overcast.drivers import errors
from overcast.drivers.compute import (BuildRequest, Capability, ComputeDriver, Flavor, PowerState, ServerGroup,
                                      ServerInfo, ServerListing, ServerState, VolumeAttachment, Zone)
from overcast.drivers.context import CallContext
from overcast.drivers.hosts.hypervisor import DEFAULT_CMDLINE, GuestInfo, GuestSpec, guest_uuid
from overcast.drivers.hosts.scheduler import NO_VALID_HOST, NoValidHost, Request, schedule
from overcast.drivers.hosts.transport import Hosts, split_backend_id
from overcast.drivers.hosts.volume import split_volume_id

log = logging.getLogger(__name__)

CHUNK = 1 << 20
#: guest state -> (server state, power state)
STATES = {
    "running": (ServerState.ACTIVE, PowerState.RUNNING), "blocked": (ServerState.ACTIVE, PowerState.RUNNING),
    "paused": (ServerState.PAUSED, PowerState.PAUSED), "shutoff": (ServerState.STOPPED, PowerState.SHUTDOWN),
    "shutdown": (ServerState.STOPPED, PowerState.SHUTDOWN), "suspended": (ServerState.SUSPENDED, PowerState.SUSPENDED),
    "pmsuspended": (ServerState.SUSPENDED, PowerState.SUSPENDED), "crashed": (ServerState.ERROR, PowerState.CRASHED),
    "nostate": (ServerState.BUILDING, PowerState.NOSTATE),
}
#: Glance disk formats a guest's root disk is made from (an overlay on the image): the host's format
ROOT_FORMATS = {"qcow2": "qcow2", "raw": "raw", "ami": "raw"}
GROUP_POLICIES = ("affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity")


def split_id(backend_id: str) -> tuple[str, str]:
    """``(host, guest uuid)`` of a server's backend id. :raises NotFound: not an id this driver gives."""
    return split_backend_id(backend_id, "server")


class HostsCompute(ComputeDriver):
    capabilities = frozenset({Capability.REBOOT, Capability.START_STOP, Capability.PAUSE, Capability.SUSPEND,
                              Capability.CONSOLE_OUTPUT, Capability.SERVER_GROUPS, Capability.RESIZE,
                              Capability.VOLUME_ATTACH, Capability.MIGRATE})
    boots_overcast_images = True
    boots_from_volume = False
    names_hosts = True

    def __init__(self, hosts: Hosts, *, spawn_timeout: float = 300.0, clean_shutdown_timeout: float = 60.0) -> None:
        self.hosts = hosts
        #: guest uuid -> the host it moved to (a cache: :meth:`_locate` finds it anyway)
        self._moved: dict[str, str] = {}
        self.spawn_timeout = spawn_timeout
        self.clean_shutdown_timeout = clean_shutdown_timeout

    def close(self) -> None:
        self.hosts.close()

    # -- helpers --------------------------------------------------------------------------------
    def _info(self, host: str, guest: GuestInfo | dict[str, Any]) -> ServerInfo:
        g = GuestInfo.from_dict(guest) if isinstance(guest, dict) else guest
        state, power = STATES.get(g.state, (ServerState.ERROR, PowerState.NOSTATE))
        if (g.meta.get("resize_from") or g.meta.get("migrated_from")) and state in (ServerState.ACTIVE,
                                                                                    ServerState.STOPPED):
            state = ServerState.RESIZED
        zone = None
        host_state = self.hosts.directory.get(host)
        if host_state is not None:
            zone = host_state.zone
        return ServerInfo(backend_id=str(g.meta.get("backend_id") or f"{host}/{g.uuid}"), name=g.name, state=state, power_state=power, host=host,
                          availability_zone=zone, idempotency_key=g.meta.get("idempotency_key"),
                          fault="the guest crashed" if g.state == "crashed" else None,
                          flavor_id=g.meta.get("flavor_id"),
                          extra={"domain_uuid": g.uuid, "guest_state": g.state})

    def _locate(self, backend_id: str) -> tuple[str, str]:
        """``(host, guest uuid)`` where the server's guest is now. Its backend id names the host it
        was built on and stays the same when the guest moves (cold migration): a guest the id's
        host no longer has is looked for on the hosts whose heartbeat reported it, then on every
        other host that is up. :raises NotFound: on no host."""
        host, uid = split_id(backend_id)
        seen = self._moved.get(uid)
        heard = [h.name for h in self.hosts.hosts() if h.up and any(g.get("uuid") == uid for g in h.guests)]
        order = list(dict.fromkeys([*([seen] if seen else []), *heard, host,
                                    *(h.name for h in self.hosts.up_hosts())]))
        for name in order:
            if self.hosts.directory.get(name) is None:
                continue
            if name == host and len(order) == 1:
                return host, uid
            state = self.hosts.directory.get(name)
            if state is None or not state.up:
                if name == host:
                    self.hosts.require_up(host)     # Unavailable: its own host is down
                continue
            try:
                self.hosts.call(name, "get", {"uuid": uid}, timeout=max(10.0, 5 * state.interval))
            except errors.NotFound:
                continue
            if name != host:
                self._moved[uid] = name
            return name, uid
        raise errors.NotFound(f"no server {backend_id} on any host of the region")

    def _call(self, backend_id: str, method: str, args: dict[str, Any] | None = None, **kw: Any) -> Any:
        host, uid = split_id(backend_id)
        if uid in self._moved or not self._on(host, uid):
            host, uid = self._locate(backend_id)
        self.hosts.require_up(host)
        return self.hosts.call(host, method, {"uuid": uid, **(args or {})}, **kw)

    def _on(self, host: str, uid: str) -> bool:
        """Whether ``host``'s last heartbeat reported guest ``uid`` (or no heartbeat says otherwise)."""
        state = self.hosts.directory.get(host)
        if state is None or not state.up:
            return True                 # let the call say what is wrong
        if any(g.get("uuid") == uid for g in state.guests):
            return True
        return not any(any(g.get("uuid") == uid for g in h.guests) for h in self.hosts.hosts() if h.name != host)

    def _send_image(self, host: str, key: str, fmt: str, data: Iterable[bytes], name: str | None = None) -> None:
        """Send an image's bytes to ``host`` in chunks (the host keeps it as a base, once)."""
        upload = uuidlib.uuid4().hex[:12]
        offset = 0
        pending: bytes | None = None
        for chunk in _rechunk(data):
            if pending is not None:
                self.hosts.call(host, "upload_chunk", {"key": key, "upload": upload, "offset": offset,
                                                       "data": base64.b64encode(pending).decode()})
                offset += len(pending)
            pending = chunk
        last = {"key": key, "upload": upload, "offset": offset, "format": fmt,
                "data": base64.b64encode(pending or b"").decode(), "last": True}
        if name:
            last["name"] = name
        self.hosts.call(host, "upload_chunk", last, timeout=max(60.0, self.spawn_timeout / 2))

    @staticmethod
    def _images_for(request: BuildRequest) -> tuple[dict[str, str], dict[str, Any]]:
        """The images a guest needs on its host (Overcast image id -> the host's format for it) and
        the spec's image fields: a root disk from a ``raw``/``qcow2``/``ami`` image with data, a
        direct kernel boot from its ``kernel_id`` and ``ramdisk_id`` (as Nova's libvirt driver)."""
        image = request.image
        assert image is not None
        needed: dict[str, str] = {}
        fields: dict[str, Any] = {"cmdline": image.properties.get("os_command_line") or DEFAULT_CMDLINE}
        for prop, field in (("kernel_id", "kernel"), ("ramdisk_id", "initrd")):
            ref = image.properties.get(prop)
            if ref:
                needed[ref] = "raw"
                fields[field] = ref
        if fields.get("initrd") and not fields.get("kernel"):
            raise errors.InvalidRequest(f"image {image.id} has a ramdisk_id but no kernel_id")
        if image.disk_format in ROOT_FORMATS and (image.size or 0) > 0:
            fmt = ROOT_FORMATS[image.disk_format]
            needed[image.id] = fmt
            fields.update(root=image.id, root_format=fmt)
        if "kernel" not in fields and "root" not in fields:
            raise errors.InvalidRequest(f"image {image.id} has nothing to boot: its disk format is "
                                        f"{image.disk_format} and it names no kernel_id")
        return needed, fields

    # -- lifecycle ----------------------------------------------------------------------------
    def build(self, ctx: CallContext, request: BuildRequest) -> str:
        key = request.idempotency_key
        found = self.find(ctx, key)
        if found is not None:
            return found.backend_id
        if request.image is None:
            raise errors.InvalidRequest("servers on hypervisor hosts boot from an image (boot from volume is not "
                                        "supported on this region)")
        if request.block_devices:
            raise errors.InvalidRequest("servers on hypervisor hosts are built without volumes: attach them once "
                                        "the server is ACTIVE (a volume attaches on its own host only)")
        flavor: Flavor = request.flavor
        images, fields = self._images_for(request)
        group = request.server_group
        zone = request.availability_zone or None
        force = None
        if zone and ":" in zone:            # Nova's "zone:host" (admins)
            zone, _, force = zone.partition(":")
            zone = zone or None
        uid = guest_uuid(key)
        meta = {"idempotency_key": key, "project_id": request.project_id or ctx.project_id,
                "flavor_id": flavor.id, "image_id": request.image.id,
                "group_id": group.id if group else None, "group_policy": group.policy if group else None}
        spec = GuestSpec(uuid=uid, name=request.name, vcpus=flavor.vcpus, memory_mb=flavor.ram_mb,
                         disk_gb=flavor.disk_gb, meta=meta, **fields)
        ports = [{"port_id": n.port_id, "network_id": n.network_id, "mac": n.mac_address,
                  "ips": list(n.fixed_ips)} for n in request.networks]
        tried: set[str] = set()
        last_refusal = ""
        while True:
            try:
                candidates = self._schedule(Request(
                    vcpus=flavor.vcpus, memory_mb=flavor.ram_mb, disk_gb=flavor.disk_gb, zone=zone,
                    group=group.id if group else None, policy=group.policy if group else None,
                    exclude=frozenset(tried), force_host=force, out_of_service=request.excluded_hosts))
            except NoValidHost as exc:
                raise errors.BuildFailed(str(exc) + (f" Last refusal: {last_refusal}" if last_refusal else "")) from None
            host = candidates[0].name
            tried.add(host)
            self.hosts.directory.claim(host, key, flavor.vcpus, flavor.ram_mb, flavor.disk_gb,
                                       group.id if group else None)
            try:
                missing = self.hosts.call(host, "missing_images", {"keys": list(images)})
                if missing and request.read_image is None:
                    raise errors.InvalidRequest("this region boots Overcast's images, and no image store was given")
                for image_key in missing:
                    assert request.read_image is not None
                    self._send_image(host, image_key, images[image_key], request.read_image(image_key))
                self.hosts.call(host, "spawn", {"spec": spec.to_dict(), "ports": ports},
                                timeout=self.spawn_timeout, key=f"spawn:{key}")
                return f"{host}/{uid}"
            except errors.QuotaExceeded as exc:   # the host's own claim failed: try the next one
                self.hosts.directory.release(host, key)
                last_refusal = str(exc)
                continue
            except errors.Unavailable:
                # the spawn may still happen (the command waits in the host's queue): keep the
                # claim, and let the engine retry; find() then sees the guest
                raise

    def _schedule(self, request: Request) -> builtins.list[Any]:
        """:func:`schedule`, but a process that has just started (a restart resuming builds) first
        waits for the hosts it has not heard from yet, up to its warm-up: "no valid host" then
        means none, not "no heartbeat received yet"."""
        try:
            return schedule(self.hosts.hosts(), request)
        except NoValidHost:
            left = self.hosts.warm_up_left()
            if left <= 0:
                raise

        def fits(hosts: builtins.list[Any]) -> bool:
            try:
                return bool(schedule(hosts, request))
            except NoValidHost:
                return False
        self.hosts.directory.wait_for(fits, left)
        return schedule(self.hosts.hosts(), request)

    def delete(self, ctx: CallContext, backend_id: str) -> None:
        try:
            host, uid = split_id(backend_id)
        except errors.NotFound:
            return                      # not an id this region gave: nothing to delete
        if self.hosts.directory.get(host) is None:
            return                      # a host this region never had: nothing there
        try:
            host, uid = self._locate(backend_id)
        except errors.NotFound:
            return                      # on no host: nothing to delete
        self.hosts.require_up(host)
        self.hosts.call(host, "destroy", {"uuid": uid}, timeout=max(60.0, self.clean_shutdown_timeout))
        self.hosts.directory.release(host, "")
        self._moved.pop(uid, None)

    def get(self, ctx: CallContext, backend_id: str) -> ServerInfo:
        host, uid = split_id(backend_id)
        if self.hosts.directory.get(host) is None:
            raise errors.NotFound(f"no server {backend_id}: no host {host}")
        if not self._on(host, uid) or uid in self._moved:
            host, uid = self._locate(backend_id)
        self.hosts.require_up(host)
        try:
            return self._info(host, self.hosts.call(host, "get", {"uuid": uid}))
        except errors.NotFound:
            host, uid = self._locate(backend_id)     # moved since the last heartbeat
            return self._info(host, self.hosts.call(host, "get", {"uuid": uid}))

    def get_many(self, ctx: CallContext, backend_ids: Iterable[str]) -> dict[str, ServerInfo]:
        out: dict[str, ServerInfo] = {}
        for host, uids in self.hosts.by_host(backend_ids).items():
            for guest in self.hosts.call(host, "get_many", {"uuids": uids}):
                info = self._info(host, guest)
                out[info.backend_id] = info
            for uid in uids:                # moved to another host (cold migration)
                if f"{host}/{uid}" not in out:
                    try:
                        info = self.get(ctx, f"{host}/{uid}")
                    except errors.NotFound:
                        continue
                    out[info.backend_id] = info
        return out

    def list(self, ctx: CallContext) -> builtins.list[ServerInfo]:
        """The guests of the hosts that answered, as a :class:`ServerListing` whose ``unreached``
        names the others: a host that is down is not asked, and one that is up is given a few of
        its heartbeat intervals to answer (one that just died must not hold the reconciler's round
        for the whole ``call_timeout``); one that does not answer in time is unreached too. The
        reconciler leaves the servers of unreached hosts as they are, as Nova leaves the instances
        of a compute that stopped reporting."""
        out: builtins.list[ServerInfo] = []
        unreached: builtins.list[str] = []
        for host in self.hosts.hosts():
            if not host.up:
                unreached.append(host.name)
                continue
            try:
                guests = self.hosts.call(host.name, "list", timeout=max(10.0, 5 * host.interval))
            except errors.Unavailable as exc:
                log.warning("host %s did not answer the listing: %s", host.name, exc)
                unreached.append(host.name)
                continue
            out.extend(self._info(host.name, g) for g in guests)
        return ServerListing(out, unreached=unreached)

    def find(self, ctx: CallContext, idempotency_key: str) -> ServerInfo | None:
        uid = guest_uuid(idempotency_key)
        known = self.hosts.directory.find_key(idempotency_key)
        candidates = [known] if known else [h.name for h in self.hosts.hosts() if h.up]
        for host in candidates:
            try:
                return self._info(host, self.hosts.call(host, "get", {"uuid": uid}))
            except errors.NotFound:
                continue
        return None

    # -- what the backend offers ------------------------------------------------------------
    def zones(self, ctx: CallContext) -> builtins.list[Zone]:
        zones: dict[str, list[Any]] = {}
        for host in self.hosts.hosts():
            zones.setdefault(host.zone, []).append(host)
        if not zones:
            return []                   # no host has reported yet: no zone, no compute service
        return [Zone(name, available=any(h.up for h in hosts), hosts=tuple(sorted(h.name for h in hosts)),
                     down_hosts=tuple(sorted(h.name for h in hosts if not h.up)))
                for name, hosts in sorted(zones.items())]

    def validate_zone(self, ctx: CallContext, zone: str) -> None:
        """From the hosts already known (never a call to a host: a request waits)."""
        name = zone.partition(":")[0] if ":" in zone else zone
        known = {h.zone for h in self.hosts.directory.hosts()} or {"nova"}
        if name and name not in known:
            raise errors.InvalidRequest(f"The requested availability zone is not available: {zone}")

    # -- actions --------------------------------------------------------------------------------
    def reboot(self, ctx: CallContext, backend_id: str, hard: bool = False) -> None:
        self._call(backend_id, "reboot", {"hard": hard, "clean_timeout": self.clean_shutdown_timeout},
                   timeout=self.clean_shutdown_timeout + 60)

    def start(self, ctx: CallContext, backend_id: str) -> None:
        self._call(backend_id, "power_on")

    def stop(self, ctx: CallContext, backend_id: str) -> None:
        self._call(backend_id, "power_off", {"clean_timeout": self.clean_shutdown_timeout},
                   timeout=self.clean_shutdown_timeout + 60)

    def pause(self, ctx: CallContext, backend_id: str) -> None:
        self._call(backend_id, "pause")

    def unpause(self, ctx: CallContext, backend_id: str) -> None:
        self._call(backend_id, "unpause")

    def suspend(self, ctx: CallContext, backend_id: str) -> None:
        self._call(backend_id, "suspend", timeout=300)

    def resume(self, ctx: CallContext, backend_id: str) -> None:
        # the host resumes a running guest as a no-op (a command delivered again); the contract
        # asks for NotSuspended when the server is not suspended
        state = self.get(ctx, backend_id).state
        if state is not ServerState.SUSPENDED:
            raise errors.NotSuspended(f"server {backend_id} is {state.value}, not suspended")
        self._call(backend_id, "resume", timeout=300)

    def resize(self, ctx: CallContext, backend_id: str, flavor: Flavor) -> None:
        """On the server's own host (its guest stopped, redefined, its disk grown, started again if
        it ran), if the new flavor fits there with the guest's old size given back, as Nova's
        filters count it. :raises InvalidRequest: Nova's "No valid host was found" (it does not fit,
        or the host refused it under its own claim)."""
        host, uid = self._locate(backend_id)
        state = self.hosts.require_up(host)
        old = next((g for g in state.guests if g.get("uuid") == uid), None)
        cpu, ram, disk = state.free()
        if old is not None:
            cpu, ram, disk = (cpu + int(old.get("vcpus") or 0), ram + int(old.get("memory_mb") or 0),
                              disk + int(old.get("disk_gb") or 0))
        short = [name for name, want, have in (("RamFilter", flavor.ram_mb, ram), ("CoreFilter", flavor.vcpus, cpu),
                                               ("DiskFilter", flavor.disk_gb, disk)) if want > have]
        if short:
            raise errors.InvalidRequest(f"{NO_VALID_HOST} ({', '.join(short)} refused {host})")
        try:
            self._call(backend_id, "resize", {"vcpus": flavor.vcpus, "memory_mb": flavor.ram_mb,
                                              "disk_gb": flavor.disk_gb, "flavor_id": flavor.id},
                       timeout=self.clean_shutdown_timeout + 120)
        except errors.QuotaExceeded as exc:     # the host's own claim: the same answer
            raise errors.InvalidRequest(f"{NO_VALID_HOST} ({exc})") from None

    def confirm_resize(self, ctx: CallContext, backend_id: str) -> None:
        """A resize: the old size forgotten. A move: the old host's disk, console and ports removed."""
        host, uid = self._locate(backend_id)
        guest = GuestInfo.from_dict(self.hosts.call(host, "get", {"uuid": uid}))
        moved = guest.meta.get("migrated_from")
        if moved:
            self.hosts.require_up(moved["host"])
            self.hosts.call(moved["host"], "moved_away", {"uuid": uid, "ports": [n.port_id for n in guest.nics]},
                            timeout=120)
        self.hosts.call(host, "confirm_resize", {"uuid": uid})

    def revert_resize(self, ctx: CallContext, backend_id: str) -> None:
        """A resize: the old size back. A move: the guest removed from the new host and defined on
        the old one again as it was (its disk never left)."""
        host, uid = self._locate(backend_id)
        guest = GuestInfo.from_dict(self.hosts.call(host, "get", {"uuid": uid}))
        moved = guest.meta.get("migrated_from")
        if not moved:
            self.hosts.call(host, "revert_resize", {"uuid": uid}, timeout=self.clean_shutdown_timeout + 120)
            return
        self.hosts.require_up(moved["host"])
        self.hosts.call(host, "destroy", {"uuid": uid}, timeout=max(60.0, self.clean_shutdown_timeout))
        self.hosts.call(moved["host"], "move_back", {"uuid": uid, "saved": moved["saved"],
                                                     "running": moved.get("running", True)}, timeout=120)
        self._moved[uid] = moved["host"]

    def migrate(self, ctx: CallContext, backend_id: str, host: str | None = None,
                excluded_hosts: frozenset[str] = frozenset()) -> None:
        """Cold migration (decision 0072): to ``host`` or the host the scheduler picks, never the
        one it is on. The guest is stopped, its root disk flattened and copied through the bus
        (with the kernel and ramdisk the new host lacks), defined on the new host with its ports
        plugged there, started again if it ran; the old host keeps its definition and disk until
        :meth:`confirm_resize` (:meth:`revert_resize` takes it back). The server is RESIZED.

        :raises InvalidRequest: Nova's "No valid host was found" (nothing fits, the host is the
            server's own, down, disabled or forced down)."""
        src, uid = self._locate(backend_id)
        self.hosts.require_up(src)
        guest = GuestInfo.from_dict(self.hosts.call(src, "get", {"uuid": uid}))
        if guest.meta.get("migrated_from"):
            return                      # moved already (a resumed attempt)
        if host == src:
            raise errors.InvalidRequest(f"{NO_VALID_HOST} (the server is on {src} already)")
        if guest.volumes:
            raise errors.InvalidRequest(f"server {uid} has volumes attached on host {src}, and a volume of this "
                                        "region stays on its host: detach them before the server moves")
        group = guest.meta.get("group_id")
        source = self.hosts.directory.get(src)
        # the server's group as Nova counts it for a move: its other members (not the server itself)
        hosts = [dataclasses.replace(h, groups={g: v for g, v in h.groups.items() if g != uid})
                 for h in self.hosts.hosts()]
        try:
            target = schedule(hosts, Request(
                vcpus=guest.vcpus, memory_mb=guest.memory_mb, disk_gb=guest.disk_gb,
                zone=source.zone if source is not None else None, group=group,
                policy=guest.meta.get("group_policy"), exclude=frozenset({src}), force_host=host,
                out_of_service=excluded_hosts))[0].name
        except NoValidHost as exc:
            raise errors.InvalidRequest(str(exc)) from None
        key = str(guest.meta.get("idempotency_key") or uid)
        self.hosts.directory.claim(target, key, guest.vcpus, guest.memory_mb, guest.disk_gb, group)
        out = self.hosts.call(src, "move_out", {"uuid": uid}, timeout=self.clean_shutdown_timeout + 300)
        try:
            spec = dict(out["spec"])
            wanted = {k: "raw" for k in (spec.get("kernel"), spec.get("initrd")) if k}
            for image_key in self.hosts.call(target, "missing_images", {"keys": list(wanted)}):
                self._copy(src, f"base-{image_key}", target, image_key, "raw")
            if out.get("disk"):
                self._copy(src, out["disk"], target, f"disk-{uid}", "qcow2", name=f"disk-{uid}")
            spec["meta"] = dict(spec.get("meta") or {}, backend_id=backend_id,
                                migrated_from={"host": src, "saved": out["saved"], "running": out["running"]})
            ports = [p for p in out["ports"] if p.get("network_id")]
            # a command key of its own per move: the same server may move to this host again later
            self.hosts.call(target, "spawn", {"spec": spec, "ports": ports, "start": out["running"]},
                            timeout=self.spawn_timeout, key=f"move:{key}:{uuidlib.uuid4().hex}")
        except errors.DriverError as exc:
            # the guest goes back where it was, as it was; what reached the new host is removed
            self.hosts.directory.release(target, key)
            try:
                self.hosts.call(target, "destroy", {"uuid": uid}, timeout=max(60.0, self.clean_shutdown_timeout))
            except errors.DriverError:
                log.warning("the failed move of %s left its copy on %s", uid, target)
            self.hosts.call(src, "move_back", {"uuid": uid, "saved": out["saved"], "running": out["running"]},
                            timeout=120)
            if isinstance(exc, errors.QuotaExceeded):   # the new host's own claim refused it
                raise errors.InvalidRequest(f"{NO_VALID_HOST} ({exc})") from None
            raise
        self._moved[uid] = target

    def _copy(self, src: str, volume: str, dst: str, key: str, fmt: str, name: str | None = None) -> None:
        """Copy pool volume ``volume`` of host ``src`` to host ``dst`` (as image ``key``, or as
        ``name``) through the bus, in chunks."""
        size = int(self.hosts.call(src, "disk_size", {"name": volume}))

        def chunks() -> Iterator[bytes]:
            offset = 0
            while offset < size:
                data = base64.b64decode(self.hosts.call(src, "read_range", {"name": volume, "offset": offset,
                                                                             "length": min(CHUNK, size - offset)}))
                if not data:
                    break
                offset += len(data)
                yield data
        self._send_image(dst, key, fmt, chunks(), name=name)

    def attach_volume(self, ctx: CallContext, backend_id: str, volume_id: str,
                      device: str | None = None) -> VolumeAttachment:
        """One of the region's volumes (:mod:`overcast.drivers.hosts.volume`), hot-plugged as a
        virtio disk. :raises InvalidRequest: the volume is on another host than the server's."""
        host, uid = split_id(backend_id)
        where, vid = split_volume_id(volume_id)
        if where != host:
            raise errors.InvalidRequest(f"volume {vid} is on host {where}, server {uid} on host {host}: a volume "
                                        "of this region attaches only to servers on its own host")
        guest = GuestInfo.from_dict(self._call(backend_id, "get"))
        for disk in guest.volumes:
            if disk.volume_id == vid:       # attached already: its attachment
                return VolumeAttachment(volume_id=volume_id, device=f"/dev/{disk.device}")
        taken = {d.device for d in guest.volumes} | {"vda"}
        dev = device.removeprefix("/dev/") if device else next(
            f"vd{c}" for c in "bcdefghijklmnopqrstuvwxyz" if f"vd{c}" not in taken)
        self._call(backend_id, "attach_volume", {"volume": vid, "device": dev})
        return VolumeAttachment(volume_id=volume_id, device=f"/dev/{dev}")

    def detach_volume(self, ctx: CallContext, backend_id: str, volume_id: str) -> None:
        _where, vid = split_volume_id(volume_id)
        self._call(backend_id, "detach_volume", {"volume_id": vid, "timeout": 90}, timeout=120)

    def console_output(self, ctx: CallContext, backend_id: str, length: int | None = None) -> str:
        return str(self._call(backend_id, "console", {"length": length}))

    def create_server_group(self, ctx: CallContext, group: ServerGroup) -> None:
        if group.policy not in GROUP_POLICIES:
            raise errors.InvalidRequest(f"unsupported server group policy {group.policy}")

    def delete_server_group(self, ctx: CallContext, group_id: str) -> None:
        return None


def _rechunk(chunks: Iterable[bytes], size: int = CHUNK) -> Iterator[bytes]:
    buf = bytearray()
    for chunk in chunks:
        buf += chunk
        while len(buf) >= size:
            yield bytes(buf[:size])
            del buf[:size]
    if buf:
        yield bytes(buf)
