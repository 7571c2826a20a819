"""The block storage operations: ``volume.create``, ``volume.delete``, ``volume.extend``,
``snapshot.create`` and ``snapshot.delete`` handlers, and the reconciler.

Handlers run in workers. Each reads its record, calls the region's volume driver, polls until
the backend reaches the state it expects (``poll_again``) and records the outcome. Failures come
back through the ``on_failure`` hooks, in the engine's transaction: a failed create puts the volume
in ``error`` with the driver's one-line message, a failed delete in ``error_deleting``, a failed
extend in ``error_extending``, as Cinder's volume manager does.
"""

from __future__ import annotations

from typing import Any, Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.core.image import ImageCore
from overcast.core.volume import VolumeCore, snapshots, states, volumes
from overcast.drivers import volume as dv
from overcast.drivers.errors import BuildFailed
from overcast.ops.engine import Job, done, poll_again
from overcast.ops.models import Operation
from overcast.store.models import utcnow
from overcast.store.volume import Snapshot, Volume, VolumeType

POLL_SECONDS = 0.5


def _error_message(session: Session, job: Job) -> str:
    op = session.get(Operation, job.id)
    session.refresh(op)
    return op.error if op is not None and op.error else "Unknown error"


def _volume(session: Session, volume_id: str) -> Volume | None:
    return session.scalar(select(Volume).where(Volume.id == volume_id))


def _snapshot(session: Session, snapshot_id: str) -> Snapshot | None:
    return session.scalar(select(Snapshot).where(Snapshot.id == snapshot_id))


class VolumeHandlers:
    def __init__(self, core: VolumeCore):
        self.core = core
        self.images = ImageCore(settings=core.settings, store=core.store)

    def driver(self, cloud: str) -> dv.VolumeDriver:
        return self.core.volume_driver(cloud)

    # -- volumes ------------------------------------------------------------------------------
    def create(self, job: Job, ctx: Any) -> Any:
        driver = self.driver(job.cloud)
        with ctx.session() as session:
            volume = _volume(session, job.resource_id)
            if volume is None or volume.status == states.DELETING:
                return done({"skipped": "volume deleted"})
            backend_id = volume.backend_id or job.checkpoint.get("backend_id")
            request = None if backend_id else self._request(session, volume)
        if not backend_id:
            backend_id = driver.create(request)
            ctx.save_checkpoint({"backend_id": backend_id})
            with ctx.session() as session:
                volume = _volume(session, job.resource_id)
                if volume is None:  # its delete already ran: remove what this create made
                    driver.delete(backend_id)
                    return done({"backend_id": backend_id, "skipped": "volume deleted while creating"})
                volume.backend_id = backend_id
        info = driver.get(backend_id)
        if info.state is dv.VolumeState.CREATING:
            return poll_again(POLL_SECONDS)
        if info.state is dv.VolumeState.ERROR:
            raise BuildFailed(info.fault or "The backend put the volume in error while creating it.")
        with ctx.session() as session:
            volume = _volume(session, job.resource_id)
            if volume is not None and volume.status == states.CREATING:
                volume.status = states.AVAILABLE
                volume.host = info.host
                volume.updated_at = utcnow()
        return done({"backend_id": backend_id})

    def _request(self, session: Session, volume: Volume) -> dv.VolumeRequest:
        vtype = session.get(VolumeType, volume.volume_type_id) if volume.volume_type_id else None
        snapshot = _snapshot(session, volume.snapshot_id) if volume.snapshot_id else None
        source = _volume(session, volume.source_volid) if volume.source_volid else None
        data = None
        if volume.image_id and self.images.data.exists(volume.image_id):
            data = self.images.data.get(volume.image_id)
        return dv.VolumeRequest(
            name=volume.name or "", size_gb=volume.size, idempotency_key=volume.idempotency_key,
            volume_type=vtype.name if vtype else None, availability_zone=volume.availability_zone,
            metadata=dict(volume.metadata_ or {}), snapshot_id=snapshot.backend_id if snapshot else None,
            source_volume_id=source.backend_id if source else None, image_id=volume.image_id, image_data=data)

    def create_failed(self, job: Job, session: Session) -> None:
        volume = _volume(session, job.resource_id)
        if volume is not None and volume.status == states.CREATING:
            volume.status = states.ERROR
            volume.fault = _error_message(session, job)
            volume.updated_at = utcnow()

    def delete(self, job: Job, ctx: Any) -> Any:
        driver = self.driver(job.cloud)
        with ctx.session() as session:
            volume = _volume(session, job.resource_id)
            if volume is None:
                return done()
            backend_id, key = volume.backend_id, volume.idempotency_key
            waiting = session.scalar(select(Snapshot.id).where(Snapshot.volume_id == volume.id).limit(1))
        if waiting is not None:  # a cascade delete: the snapshots go first
            return poll_again(POLL_SECONDS)
        if backend_id is None:
            found = driver.find(key)  # a create may have made it before recording the id
            backend_id = found.backend_id if found is not None else None
        if backend_id is not None:
            driver.delete(backend_id)
        with ctx.session() as session:
            volume = _volume(session, job.resource_id)
            if volume is not None:
                session.delete(volume)
        return done()

    def delete_failed(self, job: Job, session: Session) -> None:
        volume = _volume(session, job.resource_id)
        if volume is not None:
            volume.status = states.ERROR_DELETING
            volume.fault = _error_message(session, job)
            volume.updated_at = utcnow()

    def extend(self, job: Job, ctx: Any) -> Any:
        driver = self.driver(job.cloud)
        new_size = int(job.params["new_size"])
        with ctx.session() as session:
            volume = _volume(session, job.resource_id)
            if volume is None:
                return done({"skipped": "volume deleted"})
            backend_id = volume.backend_id
        if backend_id is None:
            raise BuildFailed(f"Volume {job.resource_id} has no backend volume")
        if driver.get(backend_id).size_gb < new_size:
            driver.extend(backend_id, new_size)
        with ctx.session() as session:
            volume = _volume(session, job.resource_id)
            if volume is not None:
                volume.size = new_size
                if volume.status == states.EXTENDING:
                    volume.status = job.params.get("previous_status") or states.AVAILABLE
                volume.updated_at = utcnow()
        return done({"size": new_size})

    def extend_failed(self, job: Job, session: Session) -> None:
        volume = _volume(session, job.resource_id)
        if volume is not None and volume.status == states.EXTENDING:
            volume.status = states.ERROR_EXTENDING
            volume.fault = _error_message(session, job)
            volume.updated_at = utcnow()

    # -- snapshots ----------------------------------------------------------------------------
    def snapshot_create(self, job: Job, ctx: Any) -> Any:
        driver = self.driver(job.cloud)
        with ctx.session() as session:
            snapshot = _snapshot(session, job.resource_id)
            if snapshot is None or snapshot.status == states.DELETING:
                return done({"skipped": "snapshot deleted"})
            volume = _volume(session, snapshot.volume_id)
            volume_backend = volume.backend_id if volume is not None else None
            name, key = snapshot.name or "", snapshot.idempotency_key
        if volume_backend is None:
            raise BuildFailed(f"Volume of snapshot {job.resource_id} has no backend volume")
        backend_id = driver.create_snapshot(volume_backend, name, key)
        info = driver.get_snapshot(backend_id)
        if info.state is dv.VolumeState.CREATING:
            return poll_again(POLL_SECONDS)
        if info.state is dv.VolumeState.ERROR:
            raise BuildFailed(info.fault or "The backend put the snapshot in error while creating it.")
        with ctx.session() as session:
            snapshot = _snapshot(session, job.resource_id)
            if snapshot is None:
                driver.delete_snapshot(backend_id)
                return done({"skipped": "snapshot deleted while creating"})
            snapshot.backend_id = backend_id
            if snapshot.status == states.CREATING:
                snapshot.status = states.AVAILABLE
            snapshot.updated_at = utcnow()
        return done({"backend_id": backend_id})

    def snapshot_create_failed(self, job: Job, session: Session) -> None:
        snapshot = _snapshot(session, job.resource_id)
        if snapshot is not None and snapshot.status == states.CREATING:
            snapshot.status = states.ERROR
            snapshot.updated_at = utcnow()

    def snapshot_delete(self, job: Job, ctx: Any) -> Any:
        driver = self.driver(job.cloud)
        with ctx.session() as session:
            snapshot = _snapshot(session, job.resource_id)
            if snapshot is None:
                return done()
            backend_id = snapshot.backend_id
        if backend_id is not None:
            driver.delete_snapshot(backend_id)
        with ctx.session() as session:
            snapshot = _snapshot(session, job.resource_id)
            if snapshot is not None:
                session.delete(snapshot)
        return done()

    def snapshot_delete_failed(self, job: Job, session: Session) -> None:
        snapshot = _snapshot(session, job.resource_id)
        if snapshot is not None:
            snapshot.status = states.ERROR_DELETING
            snapshot.updated_at = utcnow()

    # -- reconciler ---------------------------------------------------------------------------
    def reconcile(self, cloud: str, ctx: Any) -> None:
        """Volumes gone from the backend behind our back go to ``error``."""
        backend = {v.backend_id for v in self.driver(cloud).list()}
        with ctx.session() as session:
            rows = session.scalars(select(Volume).where(
                Volume.cloud == cloud, Volume.backend_id.is_not(None),
                Volume.status.in_((states.AVAILABLE, states.IN_USE)))).all()
            for volume in rows:
                if ctx.abandoned.is_set():
                    return
                if volume.backend_id not in backend:
                    volume.status = states.ERROR
                    volume.fault = "The volume no longer exists on the backend."
                    volume.updated_at = utcnow()


def setup_for(core: VolumeCore) -> Callable[[Any], None]:
    """The ops setup for block storage: ``OpsRuntime(..., setups=[..., setup_for(core)])``."""
    handlers = VolumeHandlers(core)

    def setup(runtime: Any) -> None:
        register = runtime.registry.register
        register(volumes.CREATE, handlers.create, on_failure=handlers.create_failed,
                 event="volume_create_volume", timeout=600)
        register(volumes.DELETE, handlers.delete, on_failure=handlers.delete_failed,
                 event="volume_delete_volume", timeout=300, when_open="defer")
        register(volumes.EXTEND, handlers.extend, on_failure=handlers.extend_failed,
                 event="volume_extend_volume", timeout=300)
        register(snapshots.CREATE, handlers.snapshot_create, on_failure=handlers.snapshot_create_failed,
                 event="volume_create_snapshot", timeout=600)
        register(snapshots.DELETE, handlers.snapshot_delete, on_failure=handlers.snapshot_delete_failed,
                 event="volume_delete_snapshot", timeout=300, when_open="defer")
        runtime.reconciler.register("volume.volumes", handlers.reconcile)

    return setup
