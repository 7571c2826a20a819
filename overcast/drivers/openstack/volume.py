"""The ``openstack`` driver's volume family: an upstream Cinder.

Volumes live in the service account's upstream project with metadata naming the Overcast project
(``overcast_project``) and the operation's idempotency key (``overcast_key``): :meth:`find` is one
list filtered on that metadata, :meth:`list` every page of the volumes carrying ``overcast_key``.
Attaching is the upstream Nova's business (the compute family's ``attach_volume``), so exporting a
volume to a "host" only checks the volume exists and answers a connection naming it.
"""

from __future__ import annotations

import builtins
import time
from typing import Any, Iterable

from overcast.drivers.context import CallContext
from overcast.drivers.headroom import Headroom
from overcast.drivers.errors import DriverError, InvalidRequest, NotFound, Unavailable
from overcast.drivers.openstack.upstream import KEY_META, PROJECT_META, Upstream, as_limit
from overcast.drivers.volume import (Capability, Connection, Pool, SnapshotInfo, VolumeDriver, VolumeInfo,
                                     VolumeRequest, VolumeState, Zone)

_STATES = {"creating": VolumeState.CREATING, "downloading": VolumeState.CREATING,
           "available": VolumeState.AVAILABLE, "in-use": VolumeState.AVAILABLE,
           "attaching": VolumeState.AVAILABLE, "detaching": VolumeState.AVAILABLE,
           "reserved": VolumeState.AVAILABLE, "extending": VolumeState.AVAILABLE,
           "maintenance": VolumeState.AVAILABLE, "backing-up": VolumeState.AVAILABLE,
           "restoring-backup": VolumeState.CREATING, "uploading": VolumeState.AVAILABLE,
           "retyping": VolumeState.AVAILABLE, "error": VolumeState.ERROR, "error_deleting": VolumeState.ERROR,
           "error_extending": VolumeState.ERROR, "error_restoring": VolumeState.ERROR,
           "deleting": VolumeState.DELETED, "deleted": VolumeState.DELETED}


class OpenStackVolumeDriver(VolumeDriver):
    """Volumes and snapshots of an upstream Cinder."""

    writes_overcast_images = False
    capabilities = frozenset({Capability.EXTEND, Capability.SNAPSHOT, Capability.CLONE, Capability.FROM_SNAPSHOT,
                              Capability.ATTACH})
    reports_headroom = True

    def __init__(self, upstream: Upstream, host: str = "upstream@openstack") -> None:
        self.upstream = upstream
        self.host = host

    @property
    def _cinder(self) -> Any:
        return self.upstream.conn.block_storage

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        return self.upstream.call(fn, *args, what=what, **kwargs)

    def headroom(self, ctx: CallContext) -> Headroom:
        """The service project's Cinder quotas and usage, from the upstream's ``GET /limits``."""
        absolute = self._call("limits", self._cinder.get_limits).absolute
        return Headroom(
            limits={"volumes": as_limit(absolute.max_total_volumes),
                    "gigabytes": as_limit(absolute.max_total_volume_gigabytes),
                    "snapshots": as_limit(absolute.max_total_snapshots)},
            used={"volumes": int(absolute.total_volumes_used or 0),
                  "gigabytes": int(absolute.total_gigabytes_used or 0),
                  "snapshots": int(absolute.total_snapshots_used or 0)})

    def _info(self, volume: Any) -> VolumeInfo:
        status = str(volume.status or "").lower()
        metadata = dict(volume.metadata or {})
        return VolumeInfo(backend_id=volume.id, name=volume.name or "", size_gb=int(volume.size or 0),
                          state=_STATES.get(status, VolumeState.CREATING),
                          availability_zone=volume.availability_zone or None,
                          idempotency_key=metadata.get(KEY_META), host=self.host,
                          fault="The upstream volume is in error" if status.startswith("error") else None,
                          extra={"upstream_status": status})

    def _volume(self, backend_id: str) -> Any:
        volume = self._call("volume show", self._cinder.get_volume, backend_id)
        # a delete the upstream accepted is done for Overcast (core drops the record once delete()
        # returns, and list() leaves "deleting" volumes out): Cinder deletes in the background
        if str(volume.status or "").lower() in ("deleted", "deleting"):
            raise NotFound(f"No volume {backend_id} upstream")
        return volume

    def create(self, ctx: CallContext, request: VolumeRequest) -> str:
        found = self.find(ctx, request.idempotency_key)
        if found is not None:
            return found.backend_id
        if request.image_id is not None and not request.image_backend_id:
            raise InvalidRequest("The upstream cloud cannot write Overcast's images onto a volume")
        args: dict[str, Any] = {
            "name": request.name, "size": request.size_gb,
            "metadata": {**request.metadata, KEY_META: request.idempotency_key,
                         PROJECT_META: ctx.project_id or ""},
        }
        if request.availability_zone:
            args["availability_zone"] = request.availability_zone
        if request.snapshot_id:
            self.get_snapshot(ctx, request.snapshot_id)  # NotFound, not the upstream's 400 for a bad id
            args["snapshot_id"] = request.snapshot_id
        if request.image_backend_id:  # an image the upstream holds (its own, or a snapshot made there)
            args["image_id"] = request.image_backend_id
        if request.source_volume_id:
            self._volume(request.source_volume_id)
            args["source_volid"] = request.source_volume_id
        volume = self._call("volume create", self._cinder.create_volume, **args)
        return str(volume.id)

    def delete(self, ctx: CallContext, backend_id: str) -> None:
        try:
            self._call("volume delete", self._cinder.delete_volume, backend_id)
        except NotFound:
            return
        except InvalidRequest:
            # Cinder refuses a second delete while the first runs ("status must be available or
            # error"): a delete the upstream already accepted is done (the contract's delete is idempotent)
            try:
                self._volume(backend_id)
            except NotFound:
                return
            raise

    def get(self, ctx: CallContext, backend_id: str) -> VolumeInfo:
        return self._info(self._volume(backend_id))

    def _ours(self, **metadata: str) -> builtins.list[Any]:
        filters = {"properties": repr(metadata)} if metadata else {}
        volumes = self._call("volume list", lambda: list(self._cinder.volumes(details=True, **self.upstream.paged(), **filters)))
        return [v for v in volumes if KEY_META in (v.metadata or {})
                and str(v.status or "").lower() not in ("deleted", "deleting")]

    def list(self, ctx: CallContext) -> builtins.list[VolumeInfo]:
        return [self._info(v) for v in self._ours()]

    def get_many(self, ctx: CallContext, backend_ids: Iterable[str]) -> dict[str, VolumeInfo]:
        wanted = set(backend_ids)
        if len(wanted) <= 1:
            return super().get_many(ctx, wanted)
        return {v.id: self._info(v) for v in self._ours() if v.id in wanted}

    def find(self, ctx: CallContext, idempotency_key: str) -> VolumeInfo | None:
        found = self._ours(**{KEY_META: idempotency_key})
        found = [v for v in found if (v.metadata or {}).get(KEY_META) == idempotency_key]
        return self._info(found[0]) if found else None

    def zones(self, ctx: CallContext) -> builtins.list[Zone]:
        zones = self._call("volume zone list", lambda: list(self._cinder.availability_zones()))
        return [Zone(name=z.name, available=bool((z.state or {}).get("available", True))) for z in zones] or [
            Zone("nova")]

    def pools(self, ctx: CallContext) -> builtins.list[Pool]:
        backend = self.host.partition("@")[2] or self.host
        return [Pool(name=backend, volume_backend_name=backend, vendor_name="OpenStack", storage_protocol="upstream")]

    def close(self) -> None:
        self.upstream.close()

    # -- optional -------------------------------------------------------------------------------
    def extend(self, ctx: CallContext, backend_id: str, new_size_gb: int) -> None:
        volume = self._volume(backend_id)
        if new_size_gb <= int(volume.size or 0):
            raise InvalidRequest(f"New size {new_size_gb} must be larger than {volume.size}")
        self._call("volume extend", self._cinder.extend_volume, backend_id, new_size_gb)
        # Cinder extends asynchronously; the contract's extend returns with the volume grown
        deadline = time.monotonic() + min(self.upstream.settings.timeout, ctx.seconds_left() or 1e9)
        while str((volume := self._volume(backend_id)).status or "").lower() == "extending":
            if time.monotonic() > deadline:
                raise Unavailable(f"The upstream is still extending volume {backend_id}", retry_after=5)
            time.sleep(0.1)
        if str(volume.status or "").lower().startswith("error"):
            raise DriverError(f"The upstream could not extend volume {backend_id}")

    def create_snapshot(self, ctx: CallContext, volume_backend_id: str, name: str, idempotency_key: str, *,
                        backend_name: str | None = None) -> str:
        self._volume(volume_backend_id)
        snaps = self._call("snapshot list",
                           lambda: list(self._cinder.snapshots(details=True, volume_id=volume_backend_id)))
        for snap in snaps:
            if (snap.metadata or {}).get(KEY_META) == idempotency_key:
                return str(snap.id)
        snap = self._call("snapshot create", self._cinder.create_snapshot, volume_id=volume_backend_id, name=name,
                          force=True, metadata={KEY_META: idempotency_key, PROJECT_META: ctx.project_id or ""})
        return str(snap.id)

    def delete_snapshot(self, ctx: CallContext, backend_id: str) -> None:
        # Cinder refuses to delete a snapshot still being made: wait (bounded) for it to settle
        deadline = time.monotonic() + min(self.upstream.settings.timeout, ctx.seconds_left() or 1e9)
        while True:
            try:
                state = self.get_snapshot(ctx, backend_id).state
            except NotFound:
                return
            if state is VolumeState.DELETED:
                return  # "deleting": a delete the upstream accepted (Cinder refuses a second one)
            if state is not VolumeState.CREATING:
                break
            if time.monotonic() > deadline:
                raise Unavailable(f"The upstream is still making snapshot {backend_id}", retry_after=5)
            time.sleep(0.1)
        try:
            self._call("snapshot delete", self._cinder.delete_snapshot, backend_id)
        except NotFound:
            return

    def get_snapshot(self, ctx: CallContext, backend_id: str) -> SnapshotInfo:
        snap = self._call("snapshot show", self._cinder.get_snapshot, backend_id)
        status = str(snap.status or "").lower()
        if status == "deleted":
            raise NotFound(f"No snapshot {backend_id} upstream")
        return SnapshotInfo(backend_id=snap.id, volume_id=snap.volume_id, name=snap.name or "",
                            size_gb=int(snap.size or 0), state=_STATES.get(status, VolumeState.CREATING),
                            idempotency_key=(snap.metadata or {}).get(KEY_META),
                            fault="The upstream snapshot is in error" if status.startswith("error") else None,
                            extra={"upstream_status": status})

    def attach(self, ctx: CallContext, backend_id: str, host: str, mode: str = "rw") -> Connection:
        self._volume(backend_id)
        return Connection(driver_volume_type="openstack", data={"volume_id": backend_id, "access_mode": mode})

    def detach(self, ctx: CallContext, backend_id: str, host: str) -> None:
        self._volume(backend_id)
