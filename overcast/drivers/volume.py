"""The volume driver interface: typed records in and out, capabilities, the exception model.

A driver is plain synchronous Python, called from a worker (never from a request thread) with a
timeout, retries for :class:`~overcast.drivers.errors.Unavailable` and a circuit breaker per cloud
and family, as compute drivers are. Drivers never build OpenStack JSON. Every method takes a
:class:`~overcast.drivers.context.CallContext` first (project, user, request id, idempotency key,
deadline), as compute drivers' do.

Asynchronous backends return from :meth:`VolumeDriver.create` as soon as the backend accepted the
call; the engine polls :meth:`VolumeDriver.get_many` until the volume is ``AVAILABLE`` or ``ERROR``.
:meth:`VolumeDriver.find` is one lookup; :meth:`VolumeDriver.list` returns every page, and the
reconciler confirms with :meth:`VolumeDriver.get` before it declares a volume lost. Exporting a
volume to a host (:meth:`VolumeDriver.attach`) and unexporting it run in the engine too; a request
that must answer with the connection info waits for that operation.
Attachment bookkeeping (which server uses a volume, read-only, bootable) is Overcast's record;
the driver only exports and unexports the volume (:meth:`VolumeDriver.attach`/``detach``).
Uploading a volume to an image (Cinder's ``os-volume_upload_image``) only needs the driver to
stream the volume's bytes (:meth:`VolumeDriver.read`); Overcast writes them to the image store.

A driver describes its storage as Cinder's volume services report it to the scheduler: one or
more :class:`Pool` records (:meth:`VolumeDriver.pools`). Overcast's scheduler matches a volume
type's extra specs against them before a create and passes the chosen pool in the request.
"""

from __future__ import annotations

import abc
import builtins
import enum
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Mapping

from overcast.drivers.batch import get_each
from overcast.drivers.context import CallContext
from overcast.drivers.errors import NotSupported
from overcast.drivers.headroom import Headroom


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
    BACKUP = "backup"               # copy a volume's data to a backup store and back (Cinder backups)
    MANAGE = "manage"               # adopt the backend's volumes and snapshots, and forget them (manage/unmanage)
    REIMAGE = "reimage"             # write an image over an existing volume (Cinder's os-reimage, 3.68)


#: Which methods each capability brings (the conformance kit checks the two agree).
CAPABILITY_METHODS: Mapping[Capability, tuple[str, ...]] = {
    Capability.EXTEND: ("extend",),
    Capability.SNAPSHOT: ("create_snapshot", "delete_snapshot", "get_snapshot"),
    Capability.ATTACH: ("attach", "detach"),
    Capability.UPLOAD: ("read",),
    Capability.BACKUP: ("create_backup", "delete_backup", "restore_backup"),
    Capability.MANAGE: ("unmanage_volume", "manageable_volumes", "resolve_volume", "manage_volume",
                        "unmanage_snapshot", "manageable_snapshots", "resolve_snapshot", "manage_snapshot"),
    Capability.REIMAGE: ("reimage",),
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
    #: the image's id on the backend, when the backend holds it (its location in the region)
    image_backend_id: str | None = None
    #: the pool the scheduler chose (a name from :meth:`VolumeDriver.pools`)
    pool: str | None = None
    #: the name the backend gives the volume, as Cinder's ``volume_name_template`` makes it
    #: (``volume-<Overcast id>``): what a manage reference's ``source-name`` names
    backend_name: str | None = None


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
    #: what the backend knows beyond the interface (kept on the volume record as ``backend_extra``)
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SnapshotInfo:
    backend_id: str
    volume_id: str
    name: str
    size_gb: int
    state: VolumeState
    idempotency_key: str | None = None
    fault: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BackupInfo:
    """A backup the backend has made (:meth:`VolumeDriver.create_backup`)."""

    backend_id: str
    #: bytes of volume data the backup holds (a thin volume's written bytes)
    size_bytes: int = 0
    #: how many objects the backup store keeps for it (Cinder's ``object_count``)
    object_count: int = 0
    #: where it is kept (Cinder's ``container``)
    container: str | None = None


@dataclass(frozen=True)
class Manageable:
    """One volume or snapshot the backend has, as Cinder's manageable lists show it
    (:meth:`VolumeDriver.manageable_volumes`, :meth:`VolumeDriver.manageable_snapshots`).

    Whether Overcast already manages it is Overcast's record, not the backend's: the core decides
    ``safe_to_manage`` from its own records and from ``reason_not_safe`` here (the backend's reason,
    such as "volume in use").
    """

    backend_id: str
    #: what a manage request's ``ref`` names it by: ``{"source-name": ...}`` (``source-id`` also works)
    reference: Mapping[str, str]
    size_gb: int
    reason_not_safe: str | None = None
    #: a snapshot's volume, as that volume's reference
    source_reference: Mapping[str, str] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


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
    #: Whether :meth:`headroom` tells the backend's own quotas (``volumes``, ``gigabytes``,
    #: ``snapshots``); the core then reads it before it accepts a create (:mod:`overcast.drivers.headroom`).
    reports_headroom: bool = False
    #: Whether the backend can write an image Overcast stores onto a volume (``image_data``); when
    #: False, a volume is made from an image only when the backend holds it (``image_backend_id``:
    #: one of the region's own images, or a snapshot the backend made), else Cinder's 400.
    writes_overcast_images: bool = True
    #: With :attr:`Capability.BACKUP`: the backup store as Cinder's ``export_record`` names its
    #: backup driver (``backup_service``); an exported record imports only where the name matches.
    backup_service: str | None = None
    #: With :attr:`Capability.BACKUP`: where the backup data is kept, in words for ``overcast coverage``
    #: (never a credential)
    backup_location: str | None = None

    @abc.abstractmethod
    def create(self, ctx: CallContext, request: VolumeRequest) -> str:
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
    def delete(self, ctx: CallContext, backend_id: str) -> None:
        """Delete a volume; deleting one that is already gone succeeds.

        :raises Conflict: it still has snapshots or is attached on the backend.
        :raises DeleteFailed: the backend could not delete it.
        """

    @abc.abstractmethod
    def get(self, ctx: CallContext, backend_id: str) -> VolumeInfo:
        """The backend's view of one volume. :raises NotFound: no such volume."""

    def get_many(self, ctx: CallContext, backend_ids: Iterable[str]) -> dict[str, VolumeInfo]:
        """Several volumes at once, by backend id; unknown ids are left out. Default: :meth:`get` each."""
        return get_each(self.get, ctx, backend_ids)

    @abc.abstractmethod
    def list(self, ctx: CallContext) -> builtins.list[VolumeInfo]:
        """Every volume the backend has for this cloud, every page of it (for the reconciler)."""

    @abc.abstractmethod
    def find(self, ctx: CallContext, idempotency_key: str) -> VolumeInfo | None:
        """The volume created with this key, if any, in one lookup (never a scan of every volume)."""

    def zones(self, ctx: CallContext) -> builtins.list[Zone]:
        """Availability zones (default: one, ``nova``, as Cinder's default storage_availability_zone)."""
        return [Zone("nova")]

    def pools(self, ctx: CallContext) -> builtins.list[Pool]:
        """The backend's pools, as a Cinder volume service reports them to the scheduler (asked
        by the inventory task and by the scheduler in a worker, never while a request waits).

        Default: one pool named after the backend part of :attr:`host`.
        """
        backend = self.host.partition("@")[2] or self.host
        return [Pool(name=backend, volume_backend_name=backend)]

    def close(self) -> None:
        """Release connections and files (default: nothing)."""

    def headroom(self, ctx: CallContext) -> Headroom:
        """The backend's own block storage quotas and usage (only with :attr:`reports_headroom`),
        asked while a create request waits, with the cloud's timeout and breaker.

        :raises NotSupported: the driver does not report headroom (the default).
        """
        raise self._unsupported("reporting the backend's quotas")

    # -- optional -----------------------------------------------------------------------------
    def _unsupported(self, what: str) -> NotSupported:
        return NotSupported(f"{type(self).__name__} does not support {what}")

    def extend(self, ctx: CallContext, backend_id: str, new_size_gb: int) -> None:
        """Grow a volume. :raises NotFound: :raises InvalidRequest: not larger than now."""
        raise self._unsupported("extend")

    def reimage(self, ctx: CallContext, backend_id: str, image_id: str, image_data: Iterable[bytes] | None = None,
                image_backend_id: str | None = None) -> None:
        """Write image ``image_id`` over the volume's bytes (its size is kept), from ``image_data``
        when Overcast has them or from the backend's own copy ``image_backend_id``; writing it again
        gives the same volume (a resumed operation calls it twice).

        :raises NotFound: no such volume. :raises InvalidRequest: neither bytes nor a backend copy to write.
        """
        raise self._unsupported("reimage")

    def create_snapshot(self, ctx: CallContext, volume_backend_id: str, name: str, idempotency_key: str, *,
                        backend_name: str | None = None) -> str:
        """Snapshot a volume; returns the snapshot's backend id (idempotent on the key).
        ``backend_name``: the name the backend gives it (Cinder's ``snapshot_name_template``,
        ``_snapshot-<Overcast id>``), what a manage reference's ``source-name`` names.

        :raises NotFound: no such volume.
        """
        raise self._unsupported("create_snapshot")

    def delete_snapshot(self, ctx: CallContext, backend_id: str) -> None:
        """Delete a snapshot; one already gone succeeds. :raises DeleteFailed:"""
        raise self._unsupported("delete_snapshot")

    def get_snapshot(self, ctx: CallContext, backend_id: str) -> SnapshotInfo:
        """:raises NotFound: no such snapshot."""
        raise self._unsupported("get_snapshot")

    def attach(self, ctx: CallContext, backend_id: str, host: str, mode: str = "rw") -> Connection:
        """Export the volume to ``host``; returns how to reach it. Exporting it again to the same
        host returns the same connection (a resumed operation calls it twice).

        :raises NotFound: :raises Conflict: attached elsewhere and not multiattach.
        """
        raise self._unsupported("attach")

    def detach(self, ctx: CallContext, backend_id: str, host: str) -> None:
        """Stop exporting the volume to ``host``; detaching what is not attached succeeds.

        :raises NotFound: no such volume.
        """
        raise self._unsupported("detach")

    def read(self, ctx: CallContext, backend_id: str) -> Iterator[bytes]:
        """The volume's data from its first byte, as an iterator of byte chunks that holds one
        chunk at a time (a volume is never read whole into memory). A thin backend may stop at
        the last byte written rather than at ``size_gb`` (the local driver does).

        :raises NotFound: no such volume (raised by this call, before any chunk).
        The iterator raises ``DriverError`` (``Unavailable`` when retrying may help) if reading
        fails half-way.
        """
        raise self._unsupported("read")

    def create_backup(self, ctx: CallContext, volume_backend_id: str, idempotency_key: str, *,
                      snapshot_backend_id: str | None = None, parent_backend_id: str | None = None,
                      container: str | None = None) -> BackupInfo:
        """Copy the volume's data (the snapshot's, when ``snapshot_backend_id``) to the backup store
        and return once the copy is complete. ``parent_backend_id``: the backup an incremental one
        follows. Idempotent on the key: a second call returns the first call's backup (and finishes
        its copy if that call stopped half-way).

        :raises NotFound: no such volume, snapshot or parent backup.
        """
        raise self._unsupported("create_backup")

    def delete_backup(self, ctx: CallContext, backend_id: str) -> None:
        """Delete a backup's data; one already gone succeeds. :raises DeleteFailed:"""
        raise self._unsupported("delete_backup")

    def restore_backup(self, ctx: CallContext, backend_id: str, volume_backend_id: str) -> None:
        """Write the backup's data over the volume (whole: doing it twice gives the same volume).

        :raises NotFound: no such backup or volume. :raises InvalidRequest: the volume is too small.
        """
        raise self._unsupported("restore_backup")

    # -- manage and unmanage (Capability.MANAGE, decision 0065) ----------------------------------
    def unmanage_volume(self, ctx: CallContext, backend_id: str) -> None:
        """Overcast forgets the volume; the backend keeps it, its data and its name (Cinder's
        ``unmanage``). Forgetting one already forgotten succeeds. :raises NotFound: no such volume."""
        raise self._unsupported("unmanaging volumes")

    def manageable_volumes(self, ctx: CallContext) -> builtins.list[Manageable]:
        """Every volume the backend has, as a manage request could name it (Cinder's
        ``get_manageable_volumes``)."""
        raise self._unsupported("listing manageable volumes")

    def resolve_volume(self, ctx: CallContext, reference: Mapping[str, Any]) -> VolumeInfo:
        """The volume a manage reference names: ``{"source-name": <backend name>}`` or
        ``{"source-id": <backend id>}``.

        :raises InvalidRequest: the reference has neither key, or names no volume (Cinder's
            ManageExistingInvalidReference).
        """
        raise self._unsupported("managing volumes")

    def manage_volume(self, ctx: CallContext, backend_id: str, backend_name: str, idempotency_key: str) -> VolumeInfo:
        """Adopt a volume: the backend renames it ``backend_name`` (Cinder's ``manage_existing``
        renames it after the new id) and finds it by ``idempotency_key`` from then on. Doing it
        twice is the same adoption. :raises NotFound: no such volume."""
        raise self._unsupported("managing volumes")

    def unmanage_snapshot(self, ctx: CallContext, backend_id: str) -> None:
        """As :meth:`unmanage_volume`, for a snapshot. :raises NotFound: no such snapshot."""
        raise self._unsupported("unmanaging snapshots")

    def manageable_snapshots(self, ctx: CallContext) -> builtins.list[Manageable]:
        """Every snapshot the backend has, with its volume's reference (``source_reference``)."""
        raise self._unsupported("listing manageable snapshots")

    def resolve_snapshot(self, ctx: CallContext, reference: Mapping[str, Any]) -> SnapshotInfo:
        """The snapshot a manage reference names (``source-name`` or ``source-id``).

        :raises InvalidRequest: the reference has neither key, or names no snapshot.
        """
        raise self._unsupported("managing snapshots")

    def manage_snapshot(self, ctx: CallContext, backend_id: str, backend_name: str,
                        idempotency_key: str) -> SnapshotInfo:
        """Adopt a snapshot under ``backend_name`` and ``idempotency_key`` (as :meth:`manage_volume`).

        :raises NotFound: no such snapshot.
        """
        raise self._unsupported("managing snapshots")
