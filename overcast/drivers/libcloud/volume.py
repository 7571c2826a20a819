"""The libcloud volume driver for EC2: EBS volumes and snapshots as Cinder's.

Creates are idempotent across crashes: ``CreateVolume`` carries EC2's ``ClientToken`` and, in the
same call, a tag with the Overcast key (``TagSpecification``); snapshots (EC2 has no client token
for them) carry the tag and are looked up by it before one is made. Lists follow every page.
Exports are nothing on EC2 (an EBS volume is attached by the compute driver's ``AttachVolume``):
:meth:`attach` answers how the instance reaches it.
"""

from __future__ import annotations

import builtins
import threading
from typing import Any, Iterable

from overcast.drivers.context import CallContext
from overcast.drivers.errors import InvalidRequest, NotFound, NotSupported
from overcast.drivers.libcloud.compute import TAG_KEY, TAG_PROJECT, client_token
from overcast.drivers.libcloud.emulators import is_emulator
from overcast.drivers.libcloud.errors import translated
from overcast.drivers.libcloud.providers import DriverPool, LibcloudSettings
from overcast.drivers.volume import (Capability, Connection, Pool, SnapshotInfo, VolumeDriver, VolumeInfo,
                                     VolumeRequest, VolumeState, Zone)

_VOLUME_STATES = {"creating": VolumeState.CREATING, "available": VolumeState.AVAILABLE,
                  "in-use": VolumeState.AVAILABLE, "error": VolumeState.ERROR}
_SNAPSHOT_STATES = {"pending": VolumeState.CREATING, "completed": VolumeState.AVAILABLE,
                    "error": VolumeState.ERROR}
_GONE = frozenset({"deleting", "deleted"})
#: EBS volume types (Cinder volume types of the same name choose one; anything else: gp3)
EBS_TYPES = ("standard", "gp2", "gp3", "io1", "io2", "st1", "sc1")


def _tags(key: str, project_id: str | None, name: str) -> dict[str, str]:
    return {"Name": name, TAG_KEY: client_token(key), **({TAG_PROJECT: project_id} if project_id else {})}


def _tag_params(resource: str, tags: dict[str, str]) -> dict[str, str]:
    params = {"TagSpecification.1.ResourceType": resource}
    for n, (k, v) in enumerate(tags.items(), start=1):
        params[f"TagSpecification.1.Tag.{n}.Key"] = k
        params[f"TagSpecification.1.Tag.{n}.Value"] = v
    return params


class LibcloudVolumeDriver(VolumeDriver):
    """EBS through libcloud's EC2 driver."""

    capabilities = frozenset({Capability.SNAPSHOT, Capability.FROM_SNAPSHOT, Capability.ATTACH})
    host = "ec2@ebs"

    def __init__(self, settings: LibcloudSettings, pool: DriverPool) -> None:
        if settings.provider != "ec2":
            raise NotSupported(f"provider {settings.provider!r} has no volume dialect yet")
        self.settings = settings
        self._pool = pool
        self._lock = threading.Lock()
        self._zones: builtins.list[str] = []

    def _call(self, what: str) -> Any:
        return translated(what, self.settings.secrets())

    # -- EC2 requests -------------------------------------------------------------------------
    def _describe(self, action: str, xpath: str, filters: dict[str, Any], paged: bool,
                  parse: str, extra: dict[str, str] | None = None) -> builtins.list[Any]:
        from libcloud.compute.drivers.ec2 import NAMESPACE
        from libcloud.utils.xml import findall, findtext

        driver = self._pool.get()
        params: dict[str, Any] = {"Action": action, **(extra or {}), **driver._build_filters(filters)}
        if paged:
            params["MaxResults"] = str(self.settings.page_size)
        out: builtins.list[Any] = []
        while True:
            elem = driver.connection.request(driver.path, params=params).object
            for item in findall(element=elem, xpath=xpath, namespace=NAMESPACE):
                out.append(getattr(driver, parse)(item))
            token = findtext(element=elem, xpath="nextToken", namespace=NAMESPACE)
            if not paged or not token:
                return out
            params["NextToken"] = token

    def _volumes(self, filters: dict[str, Any], paged: bool = False) -> builtins.list[Any]:
        found = self._describe("DescribeVolumes", "volumeSet/item", filters, paged, "_to_volume")
        return [v for v in found if str(v.extra.get("state")) not in _GONE]

    def _snapshots(self, filters: dict[str, Any]) -> builtins.list[Any]:
        return self._describe("DescribeSnapshots", "snapshotSet/item", filters, False, "_to_snapshot",
                              {"Owner.1": "self"})

    def _info(self, volume: Any) -> VolumeInfo:
        tags = volume.extra.get("tags") or {}
        state = _VOLUME_STATES.get(str(volume.extra.get("state")), VolumeState.CREATING)
        return VolumeInfo(backend_id=str(volume.id), name=str(tags.get("Name") or volume.name or volume.id),
                          size_gb=int(volume.size), state=state, availability_zone=volume.extra.get("zone"),
                          idempotency_key=tags.get(TAG_KEY), host=f"{self.host}#ebs",
                          extra={"provider_state": str(volume.extra.get("state")),
                                 "volume_type": str(volume.extra.get("volume_type") or ""),
                                 "snapshot_id": str(volume.extra.get("snapshot_id") or "")})

    def _snapshot_info(self, snapshot: Any) -> SnapshotInfo:
        tags = snapshot.extra.get("tags") or {}
        state = _SNAPSHOT_STATES.get(str(snapshot.extra.get("state")), VolumeState.CREATING)
        return SnapshotInfo(backend_id=str(snapshot.id), volume_id=str(snapshot.extra.get("volume_id") or ""),
                            name=str(tags.get("Name") or snapshot.name or snapshot.id), size_gb=int(snapshot.size),
                            state=state, idempotency_key=tags.get(TAG_KEY))

    def _zone(self, wanted: str | None) -> str:
        with self._lock:
            known = list(self._zones)
        if not known:
            known = [z.name for z in self.zones(CallContext())]
        if wanted and wanted in known:
            return wanted
        if wanted and wanted != "nova":
            raise InvalidRequest(f"Availability zone '{wanted}' is invalid.")
        return known[0]

    # -- the interface --------------------------------------------------------------------------
    def create(self, ctx: CallContext, request: VolumeRequest) -> str:
        if request.size_gb < 1:
            raise InvalidRequest("size_gb must be at least 1")
        if request.source_volume_id or request.image_id:
            raise NotSupported("EBS volumes are made blank or from a snapshot")
        with self._call("volume create"):
            driver = self._pool.get()
            if is_emulator(driver, "moto"):  # moto ignores ClientToken (emulators.py, difference 3)
                existing = self.find(ctx, request.idempotency_key)
                if existing is not None:
                    return existing.backend_id
            params = {"Action": "CreateVolume", "Size": str(request.size_gb),
                      "AvailabilityZone": self._zone(request.availability_zone),
                      "VolumeType": request.volume_type if request.volume_type in EBS_TYPES else "gp3",
                      "ClientToken": client_token(request.idempotency_key),
                      **_tag_params("volume", _tags(request.idempotency_key, ctx.project_id, request.name))}
            if request.snapshot_id:
                params["SnapshotId"] = request.snapshot_id
            elem = driver.connection.request(driver.path, params=params).object
            return str(driver._to_volume(elem, name=request.name).id)

    def delete(self, ctx: CallContext, backend_id: str) -> None:
        try:
            with self._call("volume delete"):
                driver = self._pool.get()
                driver.connection.request(driver.path, params={"Action": "DeleteVolume", "VolumeId": backend_id})
        except NotFound:
            return

    def get(self, ctx: CallContext, backend_id: str) -> VolumeInfo:
        found = self.get_many(ctx, [backend_id])
        if backend_id not in found:
            raise NotFound(f"No volume {backend_id}")
        return found[backend_id]

    def get_many(self, ctx: CallContext, backend_ids: Iterable[str]) -> dict[str, VolumeInfo]:
        ids = [i for i in dict.fromkeys(backend_ids) if i.startswith("vol-")]
        out: dict[str, VolumeInfo] = {}
        with self._call("volume get"):
            for start in range(0, len(ids), 200):
                for volume in self._volumes({"volume-id": ids[start:start + 200]}):
                    out[str(volume.id)] = self._info(volume)
        return out

    def list(self, ctx: CallContext) -> builtins.list[VolumeInfo]:
        with self._call("volume list"):
            return [self._info(v) for v in self._volumes({"tag-key": TAG_KEY}, paged=True)]

    def find(self, ctx: CallContext, idempotency_key: str) -> VolumeInfo | None:
        with self._call("volume find"):
            found = self._volumes({f"tag:{TAG_KEY}": client_token(idempotency_key)})
        return self._info(found[0]) if found else None

    def zones(self, ctx: CallContext) -> builtins.list[Zone]:
        with self._call("volume zones"):
            locations = self._pool.get().list_locations()
        zones = [Zone(name=str(loc.availability_zone.name), available=loc.availability_zone.zone_state == "available")
                 for loc in locations]
        with self._lock:
            self._zones = [z.name for z in zones]
        return zones

    def pools(self, ctx: CallContext) -> builtins.list[Pool]:
        return [Pool(name="ebs", volume_backend_name="ebs", vendor_name="Amazon", storage_protocol="ebs",
                     multiattach=False)]

    # -- snapshots --------------------------------------------------------------------------------
    def create_snapshot(self, ctx: CallContext, volume_backend_id: str, name: str, idempotency_key: str, *,
                        backend_name: str | None = None) -> str:
        with self._call("snapshot create"):
            existing = self._snapshots({f"tag:{TAG_KEY}": client_token(idempotency_key)})
            if existing:  # EC2 has no client token for snapshots: the tag, made in the same call, is it
                return str(existing[0].id)
            driver = self._pool.get()
            params = {"Action": "CreateSnapshot", "VolumeId": volume_backend_id, "Description": name,
                      **_tag_params("snapshot", _tags(idempotency_key, ctx.project_id, name))}
            elem = driver.connection.request(driver.path, params=params).object
            return str(driver._to_snapshot(elem, name=name).id)

    def delete_snapshot(self, ctx: CallContext, backend_id: str) -> None:
        try:
            with self._call("snapshot delete"):
                driver = self._pool.get()
                driver.connection.request(driver.path, params={"Action": "DeleteSnapshot",
                                                               "SnapshotId": backend_id})
        except NotFound:
            return

    def get_snapshot(self, ctx: CallContext, backend_id: str) -> SnapshotInfo:
        if not backend_id.startswith("snap-"):
            raise NotFound(f"No snapshot {backend_id}")
        with self._call("snapshot get"):
            found = self._snapshots({"snapshot-id": [backend_id]})
        if not found:
            raise NotFound(f"No snapshot {backend_id}")
        return self._snapshot_info(found[0])

    # -- exports ----------------------------------------------------------------------------------
    def attach(self, ctx: CallContext, backend_id: str, host: str, mode: str = "rw") -> Connection:
        """Nothing to export on EC2; the instance reaches the volume by its id once the compute
        driver attached it."""
        self.get(ctx, backend_id)
        return Connection(driver_volume_type="ebs", data={"volume_id": backend_id, "access_mode": mode})

    def detach(self, ctx: CallContext, backend_id: str, host: str) -> None:
        self.get(ctx, backend_id)
