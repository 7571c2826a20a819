"""Cinder's manage and unmanage of volumes and snapshots (decision 0065), and the manageable lists.

Managing adopts what the region's backend already holds: the request records a volume (or
snapshot) ``creating`` of size 0 and enqueues its ``volume.manage`` (``snapshot.manage``)
operation, as Cinder's API records it and casts to its volume service. A worker asks the driver
which volume the reference names (:meth:`~overcast.drivers.volume.VolumeDriver.resolve_volume`),
takes the gigabytes quota for its size, then adopts it under Cinder's name for the new id
(``volume-<id>``, ``_snapshot-<id>``): the record becomes ``available``. A reference that names
nothing, a volume Overcast already manages, or a quota it does not fit puts the record in
``error_managing`` (a snapshot in ``error``), as Cinder's volume manager does after its 202.

Unmanaging makes the record ``unmanaging`` with Cinder's delete checks and enqueues
``volume.unmanage``: the driver forgets the volume (the backend keeps it and its data) and the record
goes, with it the quota usage counted from it. The manageable lists ask the driver in a worker
(``volume.manageable``) while the request waits, as an export does (:func:`exports.wait`), and
mark what Overcast already manages from its own records.

A region whose driver does not declare :attr:`Capability.MANAGE` answers 501, nothing recorded.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.core import inventory
from overcast.core.context import AuthContext
from overcast.core.errors import Invalid, NotFound, NotImplementedYet
from overcast.core.volume import UNSUPPORTED, exports, quotas, states
from overcast.core.volume import snapshots as snapshot_rules
from overcast.core.volume import types as vtypes
from overcast.core.volume import volumes as volume_rules
from overcast.drivers.errors import InvalidRequest
from overcast.drivers.errors import NotFound as BackendNotFound
from overcast.drivers.volume import Capability, Manageable, VolumeDriver
from overcast.ops.engine import Job, done, enqueue
from overcast.ops.models import Operation
from overcast.store.db import Store
from overcast.store.models import utcnow
from overcast.store.volume import Snapshot, Volume

MANAGE = "volume.manage"
UNMANAGE = "volume.unmanage"
SNAPSHOT_MANAGE = "snapshot.manage"
SNAPSHOT_UNMANAGE = "snapshot.unmanage"
MANAGEABLE = "volume.manageable"
ERROR_MANAGING = "error_managing"
UNMANAGING = "unmanaging"


def volume_backend_name(volume_id: str) -> str:
    """Cinder's default ``volume_name_template``: what the backend calls the volume."""
    return f"volume-{volume_id}"


def snapshot_backend_name(snapshot_id: str) -> str:
    """Cinder's default ``snapshot_name_template``."""
    return f"_snapshot-{snapshot_id}"


def require(capabilities: frozenset[Capability]) -> None:
    """:raises NotImplementedYet: the region's driver cannot manage (Cinder's 501)."""
    if Capability.MANAGE not in capabilities:
        raise NotImplementedYet(UNSUPPORTED)


def check_host(host: str, driver_host: str) -> None:
    """:raises NotFound: ``host`` (``host@backend`` or ``host@backend#pool``) is not the region's
    volume service (Cinder's "Host '...' not found")."""
    if host.partition("#")[0] != driver_host:
        raise NotFound(f"Host '{host}' not found.")


# -- volumes ----------------------------------------------------------------------------------------


@dataclass
class ManageSpec:
    host: str
    ref: Mapping[str, Any]
    name: str | None = None
    description: str | None = None
    volume_type: str | None = None
    availability_zone: str | None = None
    bootable: bool = False
    metadata: Mapping[str, str] = field(default_factory=dict)


def manage_volume(session: Session, ctx: AuthContext, spec: ManageSpec, *, region: str, driver: VolumeDriver,
                  request_id: str | None) -> Volume:
    """Record the volume to adopt (``creating``, size 0) in the caller's project and enqueue its adoption.

    :raises NotImplementedYet: the driver cannot manage. :raises NotFound: not the region's host,
        unknown type. :raises Invalid: bad zone, no project. :raises quotas.OverLimit: no volume left.
    """
    require(driver.capabilities)
    check_host(spec.host, driver.host)
    if not ctx.project_id:
        raise Invalid("Invalid input received: volumes are managed into a project; use a project-scoped token.")
    vtype = vtypes.by_name_or_id(session, ctx, spec.volume_type) if spec.volume_type else vtypes.default(session)
    zone = volume_rules.pick_zone(spec.availability_zone, inventory.volume_zone_names(session, region))
    quotas.reserve(session, ctx.project_id, volumes=1, volume_type=vtype, region=region)
    volume = Volume(id=str(uuid.uuid4()), cloud=region, project_id=ctx.project_id, user_id=ctx.user_id,
                    name=spec.name, description=spec.description, size=0, status=states.CREATING,
                    attach_status=states.DETACHED, availability_zone=zone, volume_type_id=vtype.id,
                    bootable=spec.bootable, multiattach=vtypes.multiattach(vtype), host=spec.host,
                    metadata_={k: str(v) for k, v in spec.metadata.items()}, created_at=utcnow())
    session.add(volume)
    session.flush()
    enqueue(session, kind=MANAGE, cloud=region, resource_type="volume", resource_id=volume.id, action="manage",
            params={"ref": dict(spec.ref)}, request_id=request_id, user_id=ctx.user_id, project_id=ctx.project_id)
    return volume


def unmanage_volume(session: Session, ctx: AuthContext, volume: Volume, *, capabilities: frozenset[Capability],
                    request_id: str | None) -> None:
    """os-unmanage: Cinder's delete checks, then ``unmanaging`` and the operation that forgets it.

    :raises NotImplementedYet: the driver cannot manage. :raises Invalid: encrypted, attached, has
        snapshots, in a group, or a status that forbids it (Cinder's messages).
    """
    require(capabilities)
    vtype = volume_rules.volume_type(session, volume)
    if vtype is not None and vtype.encryption is not None:
        raise Invalid("Invalid volume: Unmanaging encrypted volumes is not supported.")
    volume_rules.check_removable(session, volume)
    volume.status = UNMANAGING
    volume_rules.touch(volume)
    enqueue(session, kind=UNMANAGE, cloud=volume.cloud, resource_type="volume", resource_id=volume.id,
            action="unmanage", request_id=request_id, user_id=ctx.user_id, project_id=volume.project_id)


# -- snapshots ----------------------------------------------------------------------------------------


@dataclass
class SnapshotManageSpec:
    volume_id: str
    ref: Mapping[str, Any]
    name: str | None = None
    description: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)


def manage_snapshot(session: Session, ctx: AuthContext, spec: SnapshotManageSpec, *, region: str,
                    capabilities: frozenset[Capability], request_id: str | None) -> Snapshot:
    """Record the snapshot to adopt (``creating``, size 0) of a volume the caller sees, and enqueue it.

    :raises NotImplementedYet: :raises NotFound: no such volume. :raises quotas.OverLimit:
    """
    require(capabilities)
    volume = volume_rules.get_volume(session, ctx, spec.volume_id, region=region)
    quotas.reserve(session, volume.project_id, snapshots=1, volume_type=volume_rules.volume_type(session, volume),
                   region=region)
    snapshot = Snapshot(id=str(uuid.uuid4()), cloud=region, project_id=volume.project_id, user_id=ctx.user_id,
                        volume_id=volume.id, name=spec.name, description=spec.description, size=0,
                        status=states.CREATING, metadata_={k: str(v) for k, v in spec.metadata.items()},
                        created_at=utcnow())
    session.add(snapshot)
    session.flush()
    enqueue(session, kind=SNAPSHOT_MANAGE, cloud=region, resource_type="snapshot", resource_id=snapshot.id,
            action="manage", params={"ref": dict(spec.ref)}, request_id=request_id, user_id=ctx.user_id,
            project_id=volume.project_id)
    return snapshot


def unmanage_snapshot(session: Session, ctx: AuthContext, snapshot: Snapshot, *,
                      capabilities: frozenset[Capability], request_id: str | None) -> None:
    """os-unmanage of a snapshot. :raises NotImplementedYet: :raises Invalid: as a delete (Cinder's message)."""
    require(capabilities)
    snapshot_rules.check_removable(snapshot)
    snapshot.status = UNMANAGING
    snapshot.updated_at = utcnow()
    enqueue(session, kind=SNAPSHOT_UNMANAGE, cloud=snapshot.cloud, resource_type="snapshot",
            resource_id=snapshot.id, action="unmanage", request_id=request_id, user_id=ctx.user_id,
            project_id=snapshot.project_id)


# -- manageable lists -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One row of a manageable list: the backend's object and whether Overcast manages it."""

    reference: Mapping[str, str]
    size: int
    safe_to_manage: bool
    reason_not_safe: str | None
    cinder_id: str | None
    extra_info: Mapping[str, Any] | None
    source_reference: Mapping[str, str] | None = None


#: what a manageable list sorts by (Cinder's ManageResource.VALID_SORT_KEYS)
MANAGEABLE_SORT_KEYS = ("reference", "size")


def _sort_value(entry: Entry, key: str) -> Any:
    """A reference (a mapping) sorts by its smallest value, as Cinder's paginate_entries_list."""
    value = entry.reference if key == "reference" else entry.size
    return sorted(value.values())[0] if isinstance(value, Mapping) and value else value


def page_manageable(entries: list[Entry], *, sort: tuple[tuple[str, str], ...], marker: Mapping[str, Any] | None,
                    limit: int, offset: int) -> list[Entry]:
    """Cinder's paging of a manageable list (``paginate_entries_list``): sorted by ``sort`` (keys of
    :data:`MANAGEABLE_SORT_KEYS`), from after the entry whose reference is ``marker``, ``offset``
    entries skipped, at most ``limit``. :raises Invalid: the marker names no entry."""
    def compare(left: Entry, right: Entry) -> int:
        for key, direction in sort:
            a, b = _sort_value(left, key), _sort_value(right, key)
            if a == b:
                continue
            return (-1 if a < b else 1) if direction == "asc" else (-1 if a > b else 1)
        return 0

    ordered = sorted(entries, key=functools.cmp_to_key(compare))
    start = 0
    if marker is not None:
        found = [i for i, entry in enumerate(ordered) if dict(entry.reference) == dict(marker)]
        if not found:
            raise Invalid(f"Invalid input received: marker not found: {dict(marker)}")
        start = found[0] + 1
    return ordered[start + offset:start + limit + offset]


def request_manageable(session: Session, ctx: AuthContext, *, host: str, region: str, driver: VolumeDriver,
                       snapshots: bool, request_id: str | None) -> str:
    """Enqueue the listing of the backend's volumes (or snapshots); returns the operation id for
    :func:`manageable`. :raises NotImplementedYet: :raises NotFound: not the region's host."""
    require(driver.capabilities)
    check_host(host, driver.host)
    op = enqueue(session, kind=MANAGEABLE, cloud=region, resource_type="volume_service", resource_id=driver.host,
                 action="list_manageable", params={"snapshots": snapshots}, request_id=request_id,
                 user_id=ctx.user_id, project_id=ctx.project_id)
    return op.id


def manageable(store: Store, operation_id: str, *, region: str, snapshots: bool) -> list[Entry]:
    """The listing's rows once its operation finished, marked from Overcast's records (what it
    manages is not safe to manage: Cinder's "already managed").

    :raises ServiceUnavailable: the backend did not answer in time (as :func:`exports.wait`).
    """
    found = exports.wait(store, operation_id, what="list the backend's volumes")["entries"]
    model = Snapshot if snapshots else Volume
    with store.session() as session:
        managed = dict(session.execute(select(model.backend_id, model.id).where(
            model.cloud == region, model.backend_id.in_([e["backend_id"] for e in found]))).all())
    rows = []
    for e in found:
        cinder_id = managed.get(e["backend_id"])
        reason = "already managed" if cinder_id else e["reason_not_safe"]
        rows.append(Entry(reference=e["reference"], size=e["size"], safe_to_manage=reason is None,
                          reason_not_safe=reason, cinder_id=cinder_id, extra_info=e["extra"] or None,
                          source_reference=e["source_reference"]))
    return rows


# -- the operations ------------------------------------------------------------------------------------


def _invalid_reference(ref: Mapping[str, Any], reason: str) -> InvalidRequest:
    """Cinder's ManageExistingInvalidReference, naming the reference."""
    return InvalidRequest(f"Manage existing volume failed due to invalid backend reference {dict(ref)}: {reason}")


def _error(session: Session, job: Job) -> str:
    op = session.get(Operation, job.id)
    session.refresh(op)
    return op.error or "Unknown error"


def _entry(m: Manageable) -> dict[str, Any]:
    return {"backend_id": m.backend_id, "reference": dict(m.reference), "size": m.size_gb,
            "reason_not_safe": m.reason_not_safe, "extra": dict(m.extra),
            "source_reference": dict(m.source_reference) if m.source_reference is not None else None}


class ManageHandlers:
    """The workers' side: resolve and adopt, forget, list (each safe to run again after a crash)."""

    def __init__(self, driver: Callable[[str], VolumeDriver]):
        self.driver = driver

    def register(self, runtime: Any) -> None:
        register = runtime.registry.register
        register(MANAGE, self.manage, on_failure=self.manage_failed, event="volume_manage_existing", timeout=300,
                 family="volume")
        register(UNMANAGE, self.unmanage, on_failure=functools.partial(self.unmanage_failed, model=Volume),
                 event="volume_unmanage", timeout=300, family="volume")
        register(SNAPSHOT_MANAGE, self.manage_snapshot, on_failure=self.manage_snapshot_failed,
                 event="snapshot_manage_existing", timeout=300, family="volume")
        register(SNAPSHOT_UNMANAGE, self.unmanage_snapshot,
                 on_failure=functools.partial(self.unmanage_failed, model=Snapshot), event="snapshot_unmanage",
                 timeout=300, family="volume")
        register(MANAGEABLE, self.list_manageable, event="volume_list_manageable", timeout=120, family="volume")

    def _resolve(self, job: Job, ctx: Any, model: type, resolve: Callable[[Mapping[str, Any]], Any]) -> Any:
        """The backend object the job's reference names, claimed by the record (its ``backend_id``
        and ``size``, after the gigabytes quota): None when the record is gone or no longer
        being made. :raises InvalidRequest: names nothing, or one Overcast manages already."""
        ref = job.params["ref"]
        try:
            info = resolve(ref)
        except InvalidRequest as exc:
            raise _invalid_reference(ref, str(exc)) from None
        with ctx.session() as session:
            record = session.scalar(select(model).where(model.id == job.resource_id))
            if record is None or record.status != states.CREATING:
                return None
            volume = record if model is Volume else volume_rules.find_volume(session, record.volume_id)
            owner = session.scalar(select(model.id).where(model.cloud == job.cloud, model.backend_id == info.backend_id,
                                                          model.id != record.id).limit(1))
            if owner is not None:
                problem = f"it is managed already, as {owner}"
            elif model is Snapshot and (volume is None or volume.backend_id != info.volume_id):
                problem = f"it is not a snapshot of volume {record.volume_id}"
            else:
                problem = None
                quotas.reserve(session, record.project_id, gigabytes=info.size_gb, volume_size=info.size_gb,
                               volume_type=volume_rules.volume_type(session, volume), region=job.cloud)
                record.size, record.backend_id = info.size_gb, info.backend_id
        if problem is not None:
            raise _invalid_reference(ref, problem)
        return info

    def _adopt(self, job: Job, ctx: Any, model: type, resolve: Callable[[Mapping[str, Any]], Any],
               adopt: Callable[[str, str, str], Any], backend_name: str, finish: Callable[[Any, Any], None]) -> Any:
        """Resolve (unless an earlier attempt claimed the object), adopt, and make the record available."""
        with ctx.session() as session:
            record = session.scalar(select(model).where(model.id == job.resource_id))
            if record is None or record.status != states.CREATING:
                return done({"skipped": "no longer being managed"})
            backend_id, key = record.backend_id, record.idempotency_key  # backend_id: claimed by an earlier attempt
        if backend_id is None:
            info = self._resolve(job, ctx, model, resolve)
            if info is None:
                return done({"skipped": "no longer being managed"})
            backend_id = info.backend_id
        adopted = adopt(backend_id, backend_name, key)
        with ctx.session() as session:
            record = session.scalar(select(model).where(model.id == job.resource_id))
            if record is not None and record.status == states.CREATING:
                record.status = states.AVAILABLE
                finish(record, adopted)
                if adopted.extra:
                    record.backend_extra = dict(adopted.extra)
                record.updated_at = utcnow()
        return done({"backend_id": backend_id})

    def manage(self, job: Job, ctx: Any) -> Any:
        driver, call = self.driver(job.cloud), job.call_context()

        def finish(volume: Volume, adopted: Any) -> None:
            volume.host = adopted.host or volume.host

        return self._adopt(job, ctx, Volume, lambda ref: driver.resolve_volume(call, ref),
                           lambda *args: driver.manage_volume(call, *args), volume_backend_name(job.resource_id),
                           finish)

    @staticmethod
    def _fail(session: Session, job: Job, model: type, status: str) -> None:
        record = session.scalar(select(model).where(model.id == job.resource_id))
        if record is not None and record.status == states.CREATING:
            record.status = status
            record.backend_id = None  # never adopted: deleting the record leaves the backend's object be
            if model is Volume:
                record.fault = _error(session, job)
            record.updated_at = utcnow()

    def manage_failed(self, job: Job, session: Session) -> None:
        self._fail(session, job, Volume, ERROR_MANAGING)

    def manage_snapshot(self, job: Job, ctx: Any) -> Any:
        driver, call = self.driver(job.cloud), job.call_context()

        def finish(snapshot: Snapshot, adopted: Any) -> None:
            snapshot.progress = "100%"

        return self._adopt(job, ctx, Snapshot, lambda ref: driver.resolve_snapshot(call, ref),
                           lambda *args: driver.manage_snapshot(call, *args), snapshot_backend_name(job.resource_id),
                           finish)

    def manage_snapshot_failed(self, job: Job, session: Session) -> None:
        self._fail(session, job, Snapshot, states.ERROR)

    def _forget(self, job: Job, ctx: Any, model: type, forget: Callable[[str], None]) -> Any:
        with ctx.session() as session:
            record = session.scalar(select(model).where(model.id == job.resource_id))
            if record is None:
                return done()
            backend_id = record.backend_id
        if backend_id is not None:
            try:
                forget(backend_id)
            except BackendNotFound:  # gone from the backend already: nothing to keep
                pass
        with ctx.session() as session:
            record = session.scalar(select(model).where(model.id == job.resource_id))
            if record is not None:
                session.delete(record)
        return done({"backend_id": backend_id})

    @staticmethod
    def unmanage_failed(job: Job, session: Session, *, model: type) -> None:
        """The backend would not forget it: the record stays, in ``error`` (unmanaging it again may work)."""
        record = session.scalar(select(model).where(model.id == job.resource_id))
        if record is not None and record.status == UNMANAGING:
            record.status = states.ERROR
            record.updated_at = utcnow()

    def unmanage(self, job: Job, ctx: Any) -> Any:
        driver, call = self.driver(job.cloud), job.call_context()
        return self._forget(job, ctx, Volume, lambda backend_id: driver.unmanage_volume(call, backend_id))

    def unmanage_snapshot(self, job: Job, ctx: Any) -> Any:
        driver, call = self.driver(job.cloud), job.call_context()
        return self._forget(job, ctx, Snapshot, lambda backend_id: driver.unmanage_snapshot(call, backend_id))

    def list_manageable(self, job: Job, ctx: Any) -> Any:
        driver, call = self.driver(job.cloud), job.call_context()
        found = driver.manageable_snapshots(call) if job.params.get("snapshots") else driver.manageable_volumes(call)
        return done({"entries": [_entry(m) for m in found]})
