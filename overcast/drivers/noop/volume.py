"""The noop volume driver: every call succeeds at once and state lives in this object, or in
the data directory's ``noop-cloud.db`` that every process shares (``overcast.drivers.noop.shared``).

Volumes are AVAILABLE when :meth:`create` returns; nothing is validated beyond the contract
(``NotFound`` for an unknown id or source). Volumes hold no data: :meth:`read` yields nothing, so
a volume uploads as an empty image. The baseline for the conformance kit and benchmarks.
"""

from __future__ import annotations

import builtins
import uuid
from dataclasses import replace
from typing import Iterable, Iterator, MutableMapping

from overcast.drivers.context import CallContext
from overcast.drivers.errors import InvalidRequest, NotFound
from overcast.drivers.noop import shared
from overcast.drivers.volume import (BackupInfo, Capability, Connection, SnapshotInfo, VolumeDriver, VolumeInfo,
                                     VolumeRequest, VolumeState)


class NoopVolumeDriver(VolumeDriver):
    """Accepts everything; every capability but manage (it keeps nothing to adopt), none of them doing anything."""

    capabilities = frozenset(Capability) - {Capability.MANAGE}
    host = "noop-host@noop"
    backup_service = "overcast.backup.noop"

    def __init__(self, state: shared.State | None = None) -> None:
        #: in this object, or shared by the processes of a data directory (overcast.drivers.noop.shared)
        self._state = state if state is not None else shared.Memory()
        self._lock = self._state.lock()
        self._read = self._state.reader()
        self._volumes: MutableMapping[str, VolumeInfo] = self._state.table("volume")
        self._snapshots: MutableMapping[str, SnapshotInfo] = self._state.table("snapshot")
        self._by_key: MutableMapping[str, str] = self._state.table("volume_key")
        self._backups: MutableMapping[str, str] = self._state.table("backup")  # backend id -> idempotency key

    def create(self, ctx: CallContext, request: VolumeRequest) -> str:
        if request.size_gb < 1:
            raise InvalidRequest(f"noop: volume size must be at least 1 GB, not {request.size_gb}")
        with self._lock:
            existing = self._by_key.get(request.idempotency_key)
            if existing is not None:
                return existing
            if request.snapshot_id and request.snapshot_id not in self._snapshots:
                raise NotFound(f"noop: no snapshot {request.snapshot_id}")
            if request.source_volume_id and request.source_volume_id not in self._volumes:
                raise NotFound(f"noop: no volume {request.source_volume_id}")
            backend_id = str(uuid.uuid4())
            self._volumes[backend_id] = VolumeInfo(
                backend_id=backend_id, name=request.name, size_gb=request.size_gb, state=VolumeState.AVAILABLE,
                availability_zone=request.availability_zone or "nova", idempotency_key=request.idempotency_key,
                host=f"{self.host}#noop")
            self._by_key[request.idempotency_key] = backend_id
            return backend_id

    def delete(self, ctx: CallContext, backend_id: str) -> None:
        with self._lock:
            info = self._volumes.pop(backend_id, None)
            if info is not None and info.idempotency_key:
                self._by_key.pop(info.idempotency_key, None)

    def get(self, ctx: CallContext, backend_id: str) -> VolumeInfo:
        with self._read:
            return self._get(backend_id)

    def _get(self, backend_id: str) -> VolumeInfo:
        try:
            return self._volumes[backend_id]
        except KeyError:
            raise NotFound(f"noop: no volume {backend_id}") from None

    def list(self, ctx: CallContext) -> builtins.list[VolumeInfo]:
        with self._read:
            return list(self._volumes.values())

    def find(self, ctx: CallContext, idempotency_key: str) -> VolumeInfo | None:
        with self._read:
            backend_id = self._by_key.get(idempotency_key)
            return self._volumes.get(backend_id) if backend_id else None

    def extend(self, ctx: CallContext, backend_id: str, new_size_gb: int) -> None:
        with self._lock:
            info = self._get(backend_id)
            if new_size_gb <= info.size_gb:
                raise InvalidRequest(f"noop: new size {new_size_gb} is not larger than {info.size_gb}")
            self._volumes[backend_id] = replace(info, size_gb=new_size_gb)

    def create_snapshot(self, ctx: CallContext, volume_backend_id: str, name: str, idempotency_key: str, *,
                        backend_name: str | None = None) -> str:
        with self._lock:
            existing = self._by_key.get(idempotency_key)
            if existing is not None:
                return existing
            volume = self._get(volume_backend_id)
            snapshot_id = str(uuid.uuid4())
            self._snapshots[snapshot_id] = SnapshotInfo(
                backend_id=snapshot_id, volume_id=volume_backend_id, name=name, size_gb=volume.size_gb,
                state=VolumeState.AVAILABLE, idempotency_key=idempotency_key)
            self._by_key[idempotency_key] = snapshot_id
            return snapshot_id

    def delete_snapshot(self, ctx: CallContext, backend_id: str) -> None:
        with self._lock:
            info = self._snapshots.pop(backend_id, None)
            if info is not None and info.idempotency_key:
                self._by_key.pop(info.idempotency_key, None)

    def get_snapshot(self, ctx: CallContext, backend_id: str) -> SnapshotInfo:
        with self._lock:
            try:
                return self._snapshots[backend_id]
            except KeyError:
                raise NotFound(f"noop: no snapshot {backend_id}") from None

    def attach(self, ctx: CallContext, backend_id: str, host: str, mode: str = "rw") -> Connection:
        self.get(ctx, backend_id)
        return Connection("noop", {"volume_id": backend_id, "access_mode": mode})

    def detach(self, ctx: CallContext, backend_id: str, host: str) -> None:
        self.get(ctx, backend_id)

    def read(self, ctx: CallContext, backend_id: str) -> Iterator[bytes]:
        """No bytes (noop volumes hold no data). :raises NotFound:"""
        self.get(ctx, backend_id)
        return iter(())

    def create_backup(self, ctx: CallContext, volume_backend_id: str, idempotency_key: str, *,
                      snapshot_backend_id: str | None = None, parent_backend_id: str | None = None,
                      container: str | None = None) -> BackupInfo:
        """A backup of nothing (noop volumes hold no data). :raises NotFound:"""
        with self._lock:
            self._get(volume_backend_id)
            for source in (snapshot_backend_id, parent_backend_id):
                if source is not None and source not in self._snapshots and source not in self._backups:
                    raise NotFound(f"noop: no snapshot or backup {source}")
            backend_id = self._by_key.get(idempotency_key) or str(uuid.uuid4())
            self._by_key[idempotency_key] = backend_id
            self._backups[backend_id] = idempotency_key
            return BackupInfo(backend_id=backend_id, container=container)

    def delete_backup(self, ctx: CallContext, backend_id: str) -> None:
        with self._lock:
            key = self._backups.pop(backend_id, None)
            if key is not None:
                self._by_key.pop(key, None)

    def reimage(self, ctx: CallContext, backend_id: str, image_id: str, image_data: Iterable[bytes] | None = None,
                image_backend_id: str | None = None) -> None:
        """Nothing is stored: the volume must exist and something must be given to write."""
        with self._lock:
            self._get(backend_id)
        if image_data is None and image_backend_id is None:
            raise InvalidRequest(f"noop: nothing to write for image {image_id}")

    def restore_backup(self, ctx: CallContext, backend_id: str, volume_backend_id: str) -> None:
        with self._lock:
            self._get(volume_backend_id)
            if backend_id not in self._backups:
                raise NotFound(f"noop: no backup {backend_id}")
