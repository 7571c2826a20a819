"""The libcloud volume driver for ``provider = "openstack"``: the provider's Cinder volumes and
snapshots as the region's, through libcloud's OpenStack driver (its Cinder v3 connection, found in
the catalog with the same token as Nova's).

Volumes and snapshots carry metadata with the Overcast key and project (``overcast_key``,
``overcast_project``: the keys the passthrough driver uses, decision 0041). Cinder has no client
token: ``create`` looks the key up first (one ``GET /volumes/detail`` filtered by that metadata);
``list`` is every page of the volumes carrying it (the ``volumes_links`` marker). Attaching is the
provider's Nova's (the compute family's ``attach_volume``): an export only checks the volume exists.
"""

from __future__ import annotations

import builtins
import json
import time
from typing import Any, Callable, Iterable
from urllib.parse import quote

from overcast.drivers.context import CallContext
from overcast.drivers.errors import NotFound, Unavailable
from overcast.drivers.libcloud.errors import translated
from overcast.drivers.libcloud.paging import every_page
from overcast.drivers.libcloud.providers import DriverPool, LibcloudSettings
from overcast.drivers.openstack.upstream import KEY_META, PROJECT_META
from overcast.drivers.volume import (Capability, Connection, Pool, SnapshotInfo, VolumeDriver, VolumeInfo,
                                     VolumeRequest, VolumeState, Zone)

_STATES = {"creating": VolumeState.CREATING, "downloading": VolumeState.CREATING,
           "available": VolumeState.AVAILABLE, "in-use": VolumeState.AVAILABLE,
           "attaching": VolumeState.AVAILABLE, "detaching": VolumeState.AVAILABLE,
           "reserved": VolumeState.AVAILABLE, "extending": VolumeState.AVAILABLE,
           "error": VolumeState.ERROR, "error_deleting": VolumeState.ERROR, "error_extending": VolumeState.ERROR}
_GONE = frozenset({"deleting", "deleted"})


class LibcloudOpenStackVolumeDriver(VolumeDriver):
    """Cinder v3 through libcloud's OpenStack driver."""

    capabilities = frozenset({Capability.SNAPSHOT, Capability.FROM_SNAPSHOT, Capability.CLONE, Capability.ATTACH})
    host = "libcloud@openstack"

    def __init__(self, settings: LibcloudSettings, pool: DriverPool) -> None:
        self.settings = settings
        self._pool = pool

    def _call(self, what: str) -> Any:
        return translated(what, self.settings.secrets())

    def _cinder(self) -> Any:
        return self._pool.get().volumev3_connection

    def _pages(self, path: str, key: str, params: dict[str, Any]) -> builtins.list[dict[str, Any]]:
        return every_page(lambda page: self._cinder().request(path, params=page).object, key, params,
                          self.settings.page_size)

    def _ours(self, **metadata: str) -> builtins.list[dict[str, Any]]:
        params = {"metadata": json.dumps(metadata)} if metadata else {}
        return [v for v in self._pages("/volumes/detail", "volumes", params)
                if KEY_META in (v.get("metadata") or {}) and str(v.get("status") or "").lower() not in _GONE
                and all((v.get("metadata") or {}).get(k) == value for k, value in metadata.items())]

    def _info(self, volume: dict[str, Any]) -> VolumeInfo:
        status = str(volume.get("status") or "").lower()
        metadata = volume.get("metadata") or {}
        return VolumeInfo(backend_id=str(volume["id"]), name=str(volume.get("name") or ""),
                          size_gb=int(volume.get("size") or 0), state=_STATES.get(status, VolumeState.CREATING),
                          availability_zone=volume.get("availability_zone") or None,
                          idempotency_key=metadata.get(KEY_META), host=f"{self.host}#cinder",
                          fault="The provider's volume is in error" if status.startswith("error") else None,
                          extra={"provider": "openstack", "provider_state": status,
                                 "volume_type": str(volume.get("volume_type") or "")})

    def _volume(self, backend_id: str) -> dict[str, Any]:
        volume = self._cinder().request(f"/volumes/{quote(backend_id, safe='')}").object["volume"]
        if str(volume.get("status") or "").lower() in _GONE:
            raise NotFound(f"No volume {backend_id}")
        return dict(volume)

    # -- the interface --------------------------------------------------------------------------
    def create(self, ctx: CallContext, request: VolumeRequest) -> str:
        found = self.find(ctx, request.idempotency_key)
        if found is not None:
            return found.backend_id
        body: dict[str, Any] = {
            "name": request.name, "size": request.size_gb,
            "metadata": {**dict(request.metadata), KEY_META: request.idempotency_key,
                         PROJECT_META: ctx.project_id or ""},
        }
        if request.availability_zone:
            body["availability_zone"] = request.availability_zone
        if request.snapshot_id:
            body["snapshot_id"] = request.snapshot_id
        if request.source_volume_id:
            body["source_volid"] = request.source_volume_id
        with self._call("volume create"):
            # a missing source is NotFound (the provider may answer 400 for an id that is no uuid)
            if request.source_volume_id:
                self._volume(request.source_volume_id)
            if request.snapshot_id:
                self._cinder().request(f"/snapshots/{quote(request.snapshot_id, safe='')}")
            answer = self._cinder().request("/volumes", method="POST", data={"volume": body}).object
        return str(answer["volume"]["id"])

    def _settled(self, ctx: CallContext, state: Callable[[], VolumeState], what: str) -> bool:
        """Wait (bounded by the call's timeout) while the provider is still making it: Cinder refuses
        to delete a volume or snapshot that is creating, or one it is already deleting. False: it
        is gone or going already (a deleted one reads as NotFound)."""
        deadline = time.monotonic() + min(self.settings.timeout, ctx.seconds_left() or 1e9)
        while True:
            try:
                current = state()
            except NotFound:
                return False
            if current is not VolumeState.CREATING:
                return True
            if time.monotonic() > deadline:
                raise Unavailable(f"The provider is still making {what}", retry_after=5)
            time.sleep(0.1)

    def delete(self, ctx: CallContext, backend_id: str) -> None:
        """Gone or going already is done (Cinder answers 400 to a DELETE of a volume it is deleting)."""
        if not self._settled(ctx, lambda: self.get(ctx, backend_id).state, f"volume {backend_id}"):
            return
        try:
            with self._call("volume delete"):
                self._cinder().request(f"/volumes/{quote(backend_id, safe='')}", method="DELETE")
        except NotFound:
            return

    def get(self, ctx: CallContext, backend_id: str) -> VolumeInfo:
        with self._call("volume get"):
            return self._info(self._volume(backend_id))

    def get_many(self, ctx: CallContext, backend_ids: Iterable[str]) -> dict[str, VolumeInfo]:
        wanted = set(backend_ids)
        if not wanted:
            return {}
        with self._call("volume list"):
            return {str(v["id"]): self._info(v) for v in self._ours() if str(v["id"]) in wanted}

    def list(self, ctx: CallContext) -> builtins.list[VolumeInfo]:
        with self._call("volume list"):
            return [self._info(v) for v in self._ours()]

    def find(self, ctx: CallContext, idempotency_key: str) -> VolumeInfo | None:
        with self._call("volume find"):
            found = self._ours(**{KEY_META: idempotency_key})
        return self._info(found[0]) if found else None

    def zones(self, ctx: CallContext) -> builtins.list[Zone]:
        with self._call("volume zones"):
            answer = self._cinder().request("/os-availability-zone").object
        return [Zone(name=str(z["zoneName"]), available=bool((z.get("zoneState") or {}).get("available", True)))
                for z in answer.get("availabilityZoneInfo") or ()] or [Zone("nova")]

    def pools(self, ctx: CallContext) -> builtins.list[Pool]:
        return [Pool(name="cinder", volume_backend_name="cinder", vendor_name="OpenStack",
                     storage_protocol="openstack")]

    # -- snapshots --------------------------------------------------------------------------------
    def create_snapshot(self, ctx: CallContext, volume_backend_id: str, name: str, idempotency_key: str, *,
                        backend_name: str | None = None) -> str:
        with self._call("snapshot create"):
            for snap in self._pages("/snapshots/detail", "snapshots",
                                    {"metadata": json.dumps({KEY_META: idempotency_key})}):
                if (snap.get("metadata") or {}).get(KEY_META) == idempotency_key and \
                        str(snap.get("status") or "").lower() not in _GONE:
                    return str(snap["id"])
            answer = self._cinder().request("/snapshots", method="POST", data={"snapshot": {
                "volume_id": volume_backend_id, "name": name, "force": True,
                "metadata": {KEY_META: idempotency_key, PROJECT_META: ctx.project_id or ""}}}).object
        return str(answer["snapshot"]["id"])

    def delete_snapshot(self, ctx: CallContext, backend_id: str) -> None:
        if not self._settled(ctx, lambda: self.get_snapshot(ctx, backend_id).state, f"snapshot {backend_id}"):
            return
        try:
            with self._call("snapshot delete"):
                self._cinder().request(f"/snapshots/{quote(backend_id, safe='')}", method="DELETE")
        except NotFound:
            return

    def get_snapshot(self, ctx: CallContext, backend_id: str) -> SnapshotInfo:
        with self._call("snapshot get"):
            snap = self._cinder().request(f"/snapshots/{quote(backend_id, safe='')}").object["snapshot"]
        status = str(snap.get("status") or "").lower()
        if status in _GONE:
            raise NotFound(f"No snapshot {backend_id}")
        return SnapshotInfo(backend_id=str(snap["id"]), volume_id=str(snap.get("volume_id") or ""),
                            name=str(snap.get("name") or ""), size_gb=int(snap.get("size") or 0),
                            state=_STATES.get(status, VolumeState.CREATING),
                            idempotency_key=(snap.get("metadata") or {}).get(KEY_META),
                            fault="The provider's snapshot is in error" if status.startswith("error") else None)

    # -- exports ----------------------------------------------------------------------------------
    def attach(self, ctx: CallContext, backend_id: str, host: str, mode: str = "rw") -> Connection:
        """Nothing to export: the provider's Nova attaches the volume (the compute family)."""
        self.get(ctx, backend_id)
        return Connection(driver_volume_type="openstack", data={"volume_id": backend_id, "access_mode": mode})

    def detach(self, ctx: CallContext, backend_id: str, host: str) -> None:
        self.get(ctx, backend_id)
