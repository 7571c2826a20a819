"""The volume driver interface: typed records in and out, capabilities, the exception model.

A driver is plain synchronous Python, called from a worker (never from a request thread) with a
timeout, retries for :class:`~overcast.drivers.errors.Unavailable` and a per-cloud circuit
breaker, as compute drivers are. Drivers never build OpenStack JSON.

Asynchronous backends return from :meth:`VolumeDriver.create` as soon as the backend accepted the
call; the engine polls :meth:`VolumeDriver.get` until the volume is ``AVAILABLE`` or ``ERROR``.
Attachment bookkeeping (which server uses a volume, read-only, bootable) is Overcast's record;
the driver only exports and unexports the volume (:meth:`VolumeDriver.attach`/``detach``).
Uploading a volume to an image (Cinder's ``os-volume_upload_image``) only needs the driver to
stream the volume's bytes (:meth:`VolumeDriver.read`); Overcast writes them to the image store.

A driver describes its storage as Cinder's volume services report it to the scheduler: one or
more :class:`Pool` records (:meth:`VolumeDriver.pools`). Overcast's scheduler matches a volume
type's extra specs against them before a create and passes the chosen pool in the request.
"""

from __future__ import annotations

import builtins
import abc
import enum
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Mapping

from overcast.drivers.errors import NotSupported


class VolumeState(str, enum.Enum):
    """What the backend says a volume or snapshot is doing."""

    CREATING = "creating"
    AVAILABLE = "available"
    ERROR = "error"
    DELETED = "deleted"


class Capability(str, enum.Enum):
    """Optional operations; a driver lists the ones it supports in ``capabilities``."""

    EXTEND = "extend"
    SNAPSHOT = "snapshot"
    CLONE = "clone"                 # create from another volume
    FROM_SNAPSHOT = "from_snapshot"
    FROM_IMAGE = "from_image"
    ATTACH = "attach"               # export to a host (iSCSI target, cloud attach ...)
    UPLOAD = "upload"               # read the volume's bytes (upload to an image)


#: Which methods each capability brings (the conformance kit checks the two agree).
CAPABILITY_METHODS: Mapping[Capability, tuple[str, ...]] = {
    Capability.EXTEND: ("extend",),
    Capability.SNAPSHOT: ("create_snapshot", "delete_snapshot", "get_snapshot"),
    Capability.ATTACH: ("attach", "detach"),
    Capability.UPLOAD: ("read",),
}

#: Capabilities carried by ``create`` arguments rather than by methods of their own.
CREATE_CAPABILITIES = {Capability.CLONE: "source_volume_id", Capability.FROM_SNAPSHOT: "snapshot_id",
                       Capability.FROM_IMAGE: "image_id"}


@dataclass(frozen=True)
class VolumeRequest:
    """Everything a driver needs to create one volume (at most one source)."""

    name: str
    size_gb: int
    idempotency_key: str
    volume_type: str | None = None
    availability_zone: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    #: backend id of the snapshot to copy
    snapshot_id: str | None = None
    #: backend id of the volume to clone
    source_volume_id: str | None = None
    #: the image to write onto the volume; ``image_data`` streams its bytes when Overcast has them
    image_id: str | None = None
    image_data: Iterable[bytes] | None = field(default=None, compare=False, repr=False)
    #: the pool the scheduler chose (a name from :meth:`VolumeDriver.pools`)
    pool: str | None = None


@dataclass(frozen=True)
class VolumeInfo:
    """What the backend reports about one volume."""

    backend_id: str
    name: str
    size_gb: int
    state: VolumeState
    availability_zone: str | None = None
    idempotency_key: str | None = None
    #: ``host@backend#pool`` as Cinder names it
    host: str | None = None
    fault: str | None = None
    #: bytes written from an image (0 for a blank volume)
    image_bytes: int = 0


@dataclass(frozen=True)
class SnapshotInfo:
    backend_id: str
    volume_id: str
    name: str
    size_gb: int
    state: VolumeState
    idempotency_key: str | None = None
    fault: str | None = None


@dataclass(frozen=True)
class Connection:
    """How a host reaches an attached volume (Cinder's ``connection_info``)."""

    driver_volume_type: str
    data: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Zone:
    name: str
    available: bool = True


@dataclass(frozen=True)
class Pool:
    """One pool of the backend and what it offers, as a Cinder volume service reports it.

    Capacities are GB, or Cinder's ``"infinite"``/``"unknown"`` when the backend does not say.
    ``extra`` holds further capabilities a volume type's extra specs may ask for.
    """

    name: str
    volume_backend_name: str
    vendor_name: str = "Overcast"
    storage_protocol: str = "iSCSI"
    driver_version: str = "1.0.0"
    total_capacity_gb: float | str = "infinite"
    free_capacity_gb: float | str = "infinite"
    allocated_capacity_gb: float = 0
    reserved_percentage: int = 0
    qos_support: bool = False
    thin_provisioning_support: bool = True
    multiattach: bool = True
    extra: Mapping[str, Any] = field(default_factory=dict)

    def capabilities(self) -> dict[str, Any]:
        """The pool as Cinder's scheduler stats name its capabilities."""
        return {"volume_backend_name": self.volume_backend_name, "vendor_name": self.vendor_name,
                "storage_protocol": self.storage_protocol, "driver_version": self.driver_version,
                "total_capacity_gb": self.total_capacity_gb, "free_capacity_gb": self.free_capacity_gb,
                "allocated_capacity_gb": self.allocated_capacity_gb,
                "reserved_percentage": self.reserved_percentage, "QoS_support": self.qos_support,
                "thin_provisioning_support": self.thin_provisioning_support, "multiattach": self.multiattach,
                **self.extra}


class VolumeDriver(abc.ABC):
    """One cloud's block storage backend.

    Every method may raise :class:`~overcast.drivers.errors.Unavailable` (retryable) or
    :class:`~overcast.drivers.errors.DriverError`; the others it raises are named per method.
    Optional methods raise :class:`~overcast.drivers.errors.NotSupported` unless the driver lists
    their capability.
    """

    capabilities: frozenset[Capability] = frozenset()
    #: the backend as Cinder names a volume service's host: ``host@backend``
    host: str = "overcast@default"

    @abc.abstractmethod
    def create(self, request: VolumeRequest) -> str:
        """Start creating a volume; returns its backend id.

        Idempotent on ``request.idempotency_key``: a second call with the same key returns the
        first volume's id.

        :raises InvalidRequest: size, type, zone or source the backend refuses.
        :raises NotFound: the source snapshot or volume does not exist.
        :raises NotSupported: a source kind the driver lacks (see ``CREATE_CAPABILITIES``).
        :raises BuildFailed: the backend could not create it.
        :raises QuotaExceeded: the provider's capacity or quota refused it.
        """

    @abc.abstractmethod
    def delete(self, backend_id: str) -> None:
        """Delete a volume; deleting one that is already gone succeeds.

        :raises Conflict: it still has snapshots or is attached on the backend.
        :raises DeleteFailed: the backend could not delete it.
        """

    @abc.abstractmethod
    def get(self, backend_id: str) -> VolumeInfo:
        """The backend's view of one volume. :raises NotFound: no such volume."""

    @abc.abstractmethod
    def list(self) -> list[VolumeInfo]:
        """Every volume the backend has for this cloud (for the reconciler)."""

    def find(self, idempotency_key: str) -> VolumeInfo | None:
        """The volume created with this key, if any (default: scan :meth:`list`)."""
        return next((v for v in self.list() if v.idempotency_key == idempotency_key), None)

    def zones(self) -> builtins.list[Zone]:
        """Availability zones (default: one, ``nova``, as Cinder's default storage_availability_zone)."""
        return [Zone("nova")]

    def pools(self) -> builtins.list[Pool]:
        """The backend's pools; answered from the driver's configuration and own bookkeeping, like
        :meth:`zones`, never by a slow provider call (the scheduler and the admin API read it).

        Default: one pool named after the backend part of :attr:`host`.
        """
        backend = self.host.partition("@")[2] or self.host
        return [Pool(name=backend, volume_backend_name=backend)]

    def close(self) -> None:
        """Release connections and files (default: nothing)."""

    # -- optional -----------------------------------------------------------------------------
    def _unsupported(self, what: str) -> NotSupported:
        return NotSupported(f"{type(self).__name__} does not support {what}")

    def extend(self, backend_id: str, new_size_gb: int) -> None:
        """Grow a volume. :raises NotFound: :raises InvalidRequest: not larger than now."""
        raise self._unsupported("extend")

    def create_snapshot(self, volume_backend_id: str, name: str, idempotency_key: str) -> str:
        """Snapshot a volume; returns the snapshot's backend id (idempotent on the key).

        :raises NotFound: no such volume.
        """
        raise self._unsupported("create_snapshot")

    def delete_snapshot(self, backend_id: str) -> None:
        """Delete a snapshot; one already gone succeeds. :raises DeleteFailed:"""
        raise self._unsupported("delete_snapshot")

    def get_snapshot(self, backend_id: str) -> SnapshotInfo:
        """:raises NotFound: no such snapshot."""
        raise self._unsupported("get_snapshot")

    def attach(self, backend_id: str, host: str, mode: str = "rw") -> Connection:
        """Export the volume to ``host``; returns how to reach it.

        :raises NotFound: :raises Conflict: attached elsewhere and not multiattach.
        """
        raise self._unsupported("attach")

    def detach(self, backend_id: str, host: str) -> None:
        """Stop exporting the volume to ``host``; detaching what is not attached succeeds.

        :raises NotFound: no such volume.
        """
        raise self._unsupported("detach")

    def read(self, backend_id: str) -> Iterator[bytes]:
        """The volume's data from its first byte, as an iterator of byte chunks that holds one
        chunk at a time (a volume is never read whole into memory). A thin backend may stop at
        the last byte written rather than at ``size_gb`` (the local driver does).

        :raises NotFound: no such volume (raised by this call, before any chunk).
        The iterator raises ``DriverError`` (``Unavailable`` when retrying may help) if reading
        fails half-way.
        """
        raise self._unsupported("read")
