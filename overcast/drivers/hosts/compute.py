"""The compute driver of a region of hypervisor hosts (``agent`` and ``libvirt`` share it).

A server is a libvirt guest on one host; its backend id is ``<host>/<guest uuid>``, and the
guest UUID is derived from the build's idempotency key, so a retried or redelivered build finds
the guest the first one made (:meth:`HostsCompute.find` is one lookup per host at most).

A build schedules (:mod:`overcast.drivers.hosts.scheduler`), claims, sends the images the host
lacks (kernel, ramdisk and root disk: Glance's ``kernel_id``/``ramdisk_id`` properties give a
direct kernel boot, as Nova's libvirt driver does), then asks the host to spawn; a host that
refuses (its own claim failed) is skipped and the next one tried, as Nova's retries do. Nothing
fits: the build fails with Nova's "No valid host was found".

Volumes are the region's local volumes (files, :class:`~overcast.drivers.local.volume.LocalVolumeDriver`),
hot-attached as virtio disks: every host must see the volume directory (one host, or shared
storage such as NFS, as Cinder's NFS driver needs). Snapshots are flattened copies of the
guest's disk kept on its host (``ImageRef.backend_id`` = ``<host>/snap-<key>``).
"""

from __future__ import annotations

import base64
import builtins
import logging
import uuid as uuidlib
from typing import Any, Callable, Iterable, Iterator

from overcast.drivers import errors
from overcast.drivers.compute import (Capability, ComputeDriver, Flavor, Image, ImageRef, PowerState,
                                      ServerGroup, ServerInfo, ServerState, VolumeAttachment, Zone)
from overcast.drivers.context import CallContext
from overcast.drivers.hosts.hypervisor import DEFAULT_CMDLINE, GuestInfo, GuestSpec, guest_uuid
from overcast.drivers.hosts.scheduler import NoValidHost, Request, schedule
from overcast.drivers.hosts.transport import Hosts

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
GROUP_POLICIES = ("affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity")


def split_id(backend_id: str) -> tuple[str, str]:
    host, sep, uid = backend_id.partition("/")
    if not sep or not host or not uid:
        raise errors.NotFound(f"no server {backend_id}")
    return host, uid


def image_data(image: Image) -> Callable[[], Iterable[bytes]] | None:
    """How to read an Overcast image's bytes (the core gives the driver a reader)."""
    return getattr(image, "data", None)


class HostsCompute(ComputeDriver):
    capabilities = frozenset({Capability.REBOOT, Capability.START_STOP, Capability.PAUSE, Capability.SUSPEND,
                              Capability.RESIZE, Capability.SNAPSHOT, Capability.CONSOLE_OUTPUT,
                              Capability.VOLUME_ATTACH, Capability.SERVER_GROUPS})
    boots_overcast_images = True

    def __init__(self, hosts: Hosts, *, volumes: Any = None, spawn_timeout: float = 300.0,
                 clean_shutdown_timeout: float = 60.0) -> None:
        self.hosts = hosts
        self.volumes = volumes
        self.spawn_timeout = spawn_timeout
        self.clean_shutdown_timeout = clean_shutdown_timeout

    def close(self) -> None:
        self.hosts.close()
        if self.volumes is not None:
            self.volumes.close()

    # -- helpers --------------------------------------------------------------------------------
    def _info(self, host: str, guest: GuestInfo | dict[str, Any]) -> ServerInfo:
        g = GuestInfo.from_dict(guest) if isinstance(guest, dict) else guest
        state, power = STATES.get(g.state, (ServerState.ERROR, PowerState.NOSTATE))
        if g.meta.get("resize_from") and state in (ServerState.ACTIVE, ServerState.STOPPED):
            state = ServerState.RESIZED
        zone = None
        host_state = self.hosts.directory.get(host)
        if host_state is not None:
            zone = host_state.zone
        return ServerInfo(backend_id=f"{host}/{g.uuid}", name=g.name, state=state, power_state=power, host=host,
                          availability_zone=zone, idempotency_key=g.meta.get("idempotency_key"),
                          fault="the guest crashed" if g.state == "crashed" else None,
                          flavor_id=g.meta.get("flavor_id"),
                          extra={"domain_uuid": g.uuid, "guest_state": g.state})

    def _call(self, backend_id: str, method: str, args: dict[str, Any] | None = None, **kw: Any) -> Any:
        host, uid = split_id(backend_id)
        self.hosts.require_up(host)
        return self.hosts.call(host, method, {"uuid": uid, **(args or {})}, **kw)

    def _send_image(self, host: str, key: str, data: Callable[[], Iterable[bytes]]) -> None:
        upload = uuidlib.uuid4().hex[:12]
        offset = 0
        pending: bytes | None = None
        for chunk in _rechunk(data()):
            if pending is not None:
                self.hosts.call(host, "upload_chunk", {"key": key, "upload": upload, "offset": offset,
                                                       "data": base64.b64encode(pending).decode()})
                offset += len(pending)
            pending = chunk
        self.hosts.call(host, "upload_chunk", {"key": key, "upload": upload, "offset": offset,
                                               "data": base64.b64encode(pending or b"").decode(), "last": True},
                        timeout=max(60.0, self.spawn_timeout / 2))

    def _images_for(self, image: Image) -> tuple[dict[str, Callable[[], Iterable[bytes]]], dict[str, Any]]:
        """The images a guest needs on its host (key -> reader) and the spec's image fields."""
        needed: dict[str, Callable[[], Iterable[bytes]]] = {}
        fields: dict[str, Any] = {"cmdline": image.properties.get("os_command_line") or DEFAULT_CMDLINE}
        for prop, attr, field in (("kernel_id", "kernel", "kernel"), ("ramdisk_id", "ramdisk", "initrd")):
            ref = image.properties.get(prop)
            if not ref:
                continue
            part = getattr(image, attr, None)
            reader = image_data(part) if part is not None else None
            if reader is None:
                raise errors.InvalidRequest(f"image {image.id}: its {prop} {ref} has no data to boot from")
            needed[ref] = reader
            fields[field] = ref
        reader = image_data(image)
        if reader is not None and image.disk_format in ("qcow2", "raw") and (image.size or 0) > 0:
            needed[image.id] = reader
            fields.update(root=image.id, root_format=image.disk_format)
        if "kernel" not in fields and "root" not in fields:
            raise errors.InvalidRequest(f"image {image.id} has nothing to boot: no disk data and no kernel_id")
        return needed, fields

    # -- lifecycle ----------------------------------------------------------------------------
    def build(self, ctx: CallContext, request: Any) -> str:
        key = request.idempotency_key
        found = self.find(ctx, key)
        if found is not None:
            return found.backend_id
        if request.image is None:
            raise errors.InvalidRequest("servers on hypervisor hosts boot from an image (boot from volume is not "
                                        "supported on this region)")
        flavor: Flavor = request.flavor
        images, fields = self._images_for(request.image)
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
                candidates = schedule(self.hosts.hosts(), Request(
                    vcpus=flavor.vcpus, memory_mb=flavor.ram_mb, disk_gb=flavor.disk_gb, zone=zone,
                    group=group.id if group else None, policy=group.policy if group else None,
                    exclude=frozenset(tried), force_host=force))
            except NoValidHost as exc:
                raise errors.BuildFailed(str(exc) + (f" Last refusal: {last_refusal}" if last_refusal else "")) from None
            host = candidates[0].name
            tried.add(host)
            self.hosts.directory.claim(host, key, flavor.vcpus, flavor.ram_mb, flavor.disk_gb,
                                       group.id if group else None)
            try:
                missing = self.hosts.call(host, "missing_images", {"keys": list(images)})
                for image_key in missing:
                    self._send_image(host, image_key, images[image_key])
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

    def delete(self, ctx: CallContext, backend_id: str) -> None:
        host, uid = split_id(backend_id)
        if self.hosts.directory.get(host) is None:
            return                      # a host this region never had: nothing there
        self.hosts.require_up(host)
        self.hosts.call(host, "destroy", {"uuid": uid}, timeout=max(60.0, self.clean_shutdown_timeout))
        self.hosts.directory.release(host, "")

    def get(self, ctx: CallContext, backend_id: str) -> ServerInfo:
        host, uid = split_id(backend_id)
        if self.hosts.directory.get(host) is None:
            raise errors.NotFound(f"no server {backend_id}: no host {host}")
        self.hosts.require_up(host)
        return self._info(host, self.hosts.call(host, "get", {"uuid": uid}))

    def get_many(self, ctx: CallContext, backend_ids: Iterable[str]) -> dict[str, ServerInfo]:
        by_host: dict[str, list[str]] = {}
        for backend_id in backend_ids:
            try:
                host, uid = split_id(backend_id)
            except errors.NotFound:
                continue
            by_host.setdefault(host, []).append(uid)
        out: dict[str, ServerInfo] = {}
        for host, uids in by_host.items():
            if self.hosts.directory.get(host) is None:
                continue
            self.hosts.require_up(host)
            for guest in self.hosts.call(host, "get_many", {"uuids": uids}):
                info = self._info(host, guest)
                out[info.backend_id] = info
        return out

    def list(self, ctx: CallContext) -> builtins.list[ServerInfo]:
        out = []
        for host in self.hosts.hosts():
            if not host.up:
                raise errors.Unavailable(f"host {host.name} is down; the listing would be incomplete",
                                         retry_after=host.interval)
            out.extend(self._info(host.name, g) for g in self.hosts.call(host.name, "list"))
        return out

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
            return [Zone("nova")]
        return [Zone(name, available=any(h.up for h in hosts), hosts=tuple(sorted(h.name for h in hosts)))
                for name, hosts in sorted(zones.items())]

    def validate_zone(self, ctx: CallContext, zone: str) -> None:
        name = zone.partition(":")[0] if ":" in zone else zone
        if name and name not in {z.name for z in self.zones(ctx)}:
            raise errors.InvalidRequest(f"The requested availability zone is not available: {zone}")

    def images(self, ctx: CallContext) -> builtins.list[Image]:
        out = []
        for host in self.hosts.up_hosts():
            for name in self.hosts.call(host.name, "snapshots"):
                out.append(Image(id=f"{host.name}/{name}", name=name, disk_format="qcow2",
                                 backend_id=f"{host.name}/{name}", extra={"host": host.name}))
        return out

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
        self._call(backend_id, "resume", timeout=300)

    def resize(self, ctx: CallContext, backend_id: str, flavor: Flavor) -> None:
        try:
            self._call(backend_id, "resize", {"vcpus": flavor.vcpus, "memory_mb": flavor.ram_mb,
                                              "disk_gb": flavor.disk_gb, "flavor_id": flavor.id}, timeout=300)
        except errors.QuotaExceeded as exc:
            raise errors.InvalidRequest(f"No valid host was found. {exc}") from None

    def confirm_resize(self, ctx: CallContext, backend_id: str) -> None:
        self._call(backend_id, "confirm_resize")

    def revert_resize(self, ctx: CallContext, backend_id: str) -> None:
        self._call(backend_id, "revert_resize", timeout=300)

    def console_output(self, ctx: CallContext, backend_id: str, length: int | None = None) -> str:
        return str(self._call(backend_id, "console", {"length": length}))

    def snapshot(self, ctx: CallContext, backend_id: str, image_name: str) -> ImageRef:
        host, _uid = split_id(backend_id)
        key = ctx.idempotency_key or uuidlib.uuid4().hex
        made = self._call(backend_id, "snapshot", {"key": key}, timeout=600)
        return ImageRef(backend_id=f"{host}/{made['name']}", size=made.get("size"), disk_format="qcow2",
                        extra={"host": host})

    def delete_image(self, ctx: CallContext, backend_image_id: str) -> None:
        host, name = split_id(backend_image_id)
        if self.hosts.directory.get(host) is None:
            return
        self.hosts.require_up(host)
        self.hosts.call(host, "delete_snapshot", {"name": name})

    def _volume_path(self, ctx: CallContext, volume_id: str, host: str) -> str:
        if self.volumes is None:
            raise errors.NotSupported("this region has no volumes")
        conn = self.volumes.attach(ctx, volume_id, host)
        path = (conn.data or {}).get("device_path")
        if not path:
            raise errors.InvalidRequest(f"volume {volume_id} has no path a host can open")
        return str(path)

    def attach_volume(self, ctx: CallContext, backend_id: str, volume_id: str,
                      device: str | None = None) -> VolumeAttachment:
        host, uid = split_id(backend_id)
        self.hosts.require_up(host)
        guest = GuestInfo.from_dict(self.hosts.call(host, "get", {"uuid": uid}))
        for disk in guest.volumes:
            if disk.volume_id == volume_id:
                return VolumeAttachment(volume_id, f"/dev/{disk.device}")
        used = {d.device for d in guest.volumes} | ({"vda"} if guest.meta.get("disk_gb") is not None else set())
        wanted = (device or "").removeprefix("/dev/") or next(
            f"vd{c}" for c in "bcdefghijklmnopqrstuvwxyz" if f"vd{c}" not in used)
        path = self._volume_path(ctx, volume_id, host)
        self.hosts.call(host, "attach_volume", {"uuid": uid, "disk": {"volume_id": volume_id, "path": path,
                                                                       "device": wanted, "format": "raw"}})
        return VolumeAttachment(volume_id, f"/dev/{wanted}")

    def detach_volume(self, ctx: CallContext, backend_id: str, volume_id: str) -> None:
        host, uid = split_id(backend_id)
        self._call(backend_id, "detach_volume", {"volume_id": volume_id}, timeout=180)
        if self.volumes is not None:
            try:
                self.volumes.detach(ctx, volume_id, host)
            except errors.NotFound:
                pass

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
