"""The volume driver of a region of hypervisor hosts (``agent`` and ``libvirt`` share it;
decision 0072).

A volume's bytes live on **one host**: a raw file (``vol-<id>``) in that host's storage pool,
as Cinder's LVM driver keeps a volume on its own volume host. Each hypervisor host is one
Cinder pool (``<backend>#<host>``); the volume scheduler picks the pool (the most free disk, or
the one a volume type's ``pool_name`` extra spec names), and the backend id is
``<host>/<volume id>``. The volume id derives from the create's idempotency key, so a create
delivered twice finds the first volume.

The volume is exported to its own host only: attaching it to a server on another host is
refused (:meth:`HostsVolume.attach` raises ``InvalidRequest``, and the API refuses it first with
Nova's 400, ``core/compute/volumes.py``), as Nova refuses a volume and an instance that cannot
meet (``cross_az_attach``). Nothing moves a volume's bytes between hosts yet.

Offered: blank volumes, attach and detach (hot-plugged virtio disks), delete. Not yet: volumes
from images, snapshots or other volumes, extend, snapshots, backups.
"""

from __future__ import annotations

import builtins
import uuid as uuidlib
from typing import Any, Iterable

from overcast.drivers import errors
from overcast.drivers.context import CallContext
from overcast.drivers.hosts.transport import Hosts, split_backend_id
from overcast.drivers.volume import Capability, Connection, Pool, VolumeDriver, VolumeInfo, VolumeRequest, VolumeState

#: uuid5 namespace of volume ids (from idempotency keys)
VOLUME_NAMESPACE = uuidlib.UUID("0d9c1b53-6a0e-4d53-9b3f-9a2f8f6f1c72")


def volume_uuid(idempotency_key: str) -> str:
    return str(uuidlib.uuid5(VOLUME_NAMESPACE, idempotency_key))


def split_volume_id(backend_id: str) -> tuple[str, str]:
    """``(host, volume id)`` of a backend id. :raises NotFound: not an id this driver gives."""
    return split_backend_id(backend_id, "volume")


class HostsVolume(VolumeDriver):
    capabilities = frozenset({Capability.ATTACH})
    writes_overcast_images = False

    def __init__(self, hosts: Hosts, backend: str) -> None:
        self.hosts = hosts
        self.host = f"{backend}@hosts"

    def _info(self, host: str, vid: str, size_gb: int, key: str | None = None) -> VolumeInfo:
        zone = None
        state = self.hosts.directory.get(host)
        if state is not None:
            zone = state.zone
        return VolumeInfo(backend_id=f"{host}/{vid}", name="", size_gb=size_gb, state=VolumeState.AVAILABLE,
                          availability_zone=zone, idempotency_key=key, host=f"{self.host}#{host}",
                          extra={"hypervisor_host": host})

    # -- the hosts as Cinder's pools ----------------------------------------------------------------
    def pools(self, ctx: CallContext) -> builtins.list[Pool]:
        out = []
        for host in self.hosts.hosts():
            if not host.up:
                continue
            free = max(0.0, host.free()[2])
            out.append(Pool(name=host.name, volume_backend_name="hosts", storage_protocol="local",
                            total_capacity_gb=float(host.disk_gb), free_capacity_gb=float(free), multiattach=False,
                            extra={"pool_name": host.name, "hypervisor_host": host.name}))
        return out

    def zones(self, ctx: CallContext) -> builtins.list[Any]:
        from overcast.drivers.volume import Zone

        names = sorted({h.zone for h in self.hosts.hosts()}) or ["nova"]
        return [Zone(name) for name in names]

    # -- volumes --------------------------------------------------------------------------------------
    def create(self, ctx: CallContext, request: VolumeRequest) -> str:
        if request.snapshot_id or request.source_volume_id or request.image_id:
            raise errors.NotSupported("volumes of a region of hypervisor hosts are blank (no image, snapshot or "
                                      "source volume yet)")
        found = self.find(ctx, request.idempotency_key)
        if found is not None:
            return found.backend_id
        up = {h.name: h for h in self.hosts.up_hosts()
              if not request.availability_zone or h.zone == request.availability_zone}
        if request.pool and request.pool in up:
            host = request.pool
        elif up:
            host = max(up.values(), key=lambda h: h.free()[2]).name
        else:
            raise errors.BuildFailed("No valid backend was found. No host of the region is up")
        vid = volume_uuid(request.idempotency_key)
        self.hosts.call(host, "create_volume", {"id": vid, "size_gb": request.size_gb}, key=f"volume:{vid}")
        return f"{host}/{vid}"

    def delete(self, ctx: CallContext, backend_id: str) -> None:
        try:
            host, vid = split_volume_id(backend_id)
        except errors.NotFound:
            return
        if self.hosts.directory.get(host) is None:
            return                      # a host this region never had: nothing there
        self.hosts.require_up(host)
        self.hosts.call(host, "delete_volume", {"id": vid})

    def get(self, ctx: CallContext, backend_id: str) -> VolumeInfo:
        host, vid = split_volume_id(backend_id)
        if self.hosts.directory.get(host) is None:
            raise errors.NotFound(f"no volume {backend_id}: no host {host}")
        self.hosts.require_up(host)
        volumes = self.hosts.call(host, "volumes", {})
        if vid not in volumes:
            raise errors.NotFound(f"no volume {vid} on host {host}")
        return self._info(host, vid, int(volumes[vid]["size_gb"]))

    def get_many(self, ctx: CallContext, backend_ids: Iterable[str]) -> dict[str, VolumeInfo]:
        out: dict[str, VolumeInfo] = {}
        for host, vids in self.hosts.by_host(backend_ids).items():
            volumes = self.hosts.call(host, "volumes", {})
            for vid in vids:
                if vid in volumes:
                    info = self._info(host, vid, int(volumes[vid]["size_gb"]))
                    out[info.backend_id] = info
        return out

    def list(self, ctx: CallContext) -> builtins.list[VolumeInfo]:
        out: builtins.list[VolumeInfo] = []
        for host in self.hosts.up_hosts():
            for vid, vol in self.hosts.call(host.name, "volumes", {}).items():
                out.append(self._info(host.name, vid, int(vol["size_gb"])))
        return out

    def find(self, ctx: CallContext, idempotency_key: str) -> VolumeInfo | None:
        vid = volume_uuid(idempotency_key)
        for host in self.hosts.up_hosts():
            volumes = self.hosts.call(host.name, "volumes", {})
            if vid in volumes:
                return self._info(host.name, vid, int(volumes[vid]["size_gb"]), idempotency_key)
        return None

    # -- export ----------------------------------------------------------------------------------------
    def attach(self, ctx: CallContext, backend_id: str, host: str, mode: str = "rw") -> Connection:
        """The volume as its own host reaches it. :raises InvalidRequest: ``host`` is another host of
        the region (the bytes do not move between hosts). :raises NotFound:"""
        where, vid = split_volume_id(backend_id)
        if host != where and self.hosts.directory.get(host) is not None:
            raise errors.InvalidRequest(f"volume {vid} is on host {where} and cannot be attached on host {host}: "
                                        "a volume of this region attaches only to servers on its own host")
        return Connection("local", {"host": where, "volume": vid})

    def detach(self, ctx: CallContext, backend_id: str, host: str) -> None:
        split_volume_id(backend_id)
