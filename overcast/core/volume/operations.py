"""The block storage operations: ``volume.create``, ``volume.delete``, ``volume.extend``,
``volume.retype``, ``snapshot.create`` and ``snapshot.delete`` handlers (``volume.upload_image``'s
are in :mod:`~overcast.core.volume.uploads`, the ``backup.*`` ones in
:mod:`~overcast.core.volume.backups`), the group ones that wait
for their members (``group.create``/``group.delete``, ``group_snapshot.create``/``.delete``), and
the reconciler.

Handlers run in workers. Each reads its record, calls the region's volume driver with the
operation's call context, polls until the backend reaches the state it expects (``poll_again``;
every operation's polls together, :class:`~overcast.core.polling.BatchPoller`) and records the
outcome. Each is safe to resume after its worker died between a driver call and its record: a
create finds its volume by its idempotency key (and records the backend id a checkpoint kept), a
snapshot by its key, an extend compares the backend's size first, deletes of what is gone succeed. A create first
asks the scheduler for a pool that satisfies the volume type (on an enabled volume service).
Failures come back through the ``on_failure`` hooks, in the engine's transaction: a failed create
puts the volume in ``error`` with the driver's one-line message, a failed delete in
``error_deleting``, a failed extend in ``error_extending``, as Cinder's volume manager does, and
the project gets a user message saying what failed; a failed retype leaves the volume as it was.
"""

from __future__ import annotations

import functools
import time
from typing import Any, Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.core.compute import external_events
from overcast.core.errors import NotFound
from overcast.core.image import ImageCore
from overcast.core.polling import BatchPoller, interval, max_age
from overcast.core.volume import (VolumeCore, backups, exports, group_snapshots, groups, manage, messages, retype,
                                  scheduler, services, snapshots, states, types, uploads, volumes)
from overcast.core.volume.volumes import find_volume
from overcast.drivers import volume as dv
from overcast.drivers.context import CallContext
from overcast.drivers.errors import BuildFailed, DeleteFailed
from overcast.drivers.errors import NotFound as BackendNotFound
from overcast.ops.engine import Job, done, poll_again
from overcast.ops.models import Operation
from overcast.store.image import ImageLocation
from overcast.store.models import utcnow
from overcast.store.volume import GroupSnapshot, Snapshot, Volume, VolumeGroup, VolumeType

#: the longest wait between two polls of a volume or snapshot being made (the first comes 0.1 s after
#: the call, each wait doubling up to this: :func:`~overcast.core.polling.interval`)
POLL_SECONDS = 0.5


def _failure(session: Session, job: Job) -> tuple[str, str | None]:
    """The failed operation's one-line error and its kind (the exception's class name)."""
    op = session.get(Operation, job.id)
    session.refresh(op)
    return (op.error or "Unknown error"), op.error_kind


def _error_message(session: Session, job: Job) -> str:
    return _failure(session, job)[0]


def _tell_servers_extended(session: Session, job: Job, volume: Volume) -> None:
    """Send Nova ``volume-extended`` for each server the volume is attached to, as Cinder does
    after growing an in-use volume; like Cinder, a server Nova no longer knows is let be."""
    servers = sorted({a.instance_uuid for a in volume.attachments
                      if a.instance_uuid and a.attach_status == states.ATTACHED})
    if not servers:
        return
    try:
        external_events.deliver(session, [{"server_uuid": s, "name": "volume-extended", "tag": volume.id}
                                          for s in servers], region=volume.cloud, request_id=job.request_id,
                                user_id=job.user_id)
    except NotFound:
        pass


def _snapshot(session: Session, snapshot_id: str) -> Snapshot | None:
    return session.scalar(select(Snapshot).where(Snapshot.id == snapshot_id))


class VolumeHandlers:
    def __init__(self, core: VolumeCore):
        self.core = core
        self.images = ImageCore(settings=core.settings, store=core.store)
        #: every volume operation's polls, asked of each region's backend together
        self.poller: BatchPoller[dv.VolumeInfo] = BatchPoller(
            lambda cloud, call, ids: self.driver(cloud).get_many(call, ids), window=POLL_SECONDS * 0.9,
            keep=POLL_SECONDS * 10)

    def driver(self, cloud: str) -> dv.VolumeDriver:
        return self.core.volume_driver(cloud)

    # -- volumes ------------------------------------------------------------------------------
    def create(self, job: Job, ctx: Any) -> Any:
        driver = self.driver(job.cloud)
        call = job.call_context()
        with ctx.session() as session:
            volume = find_volume(session, job.resource_id)
            if volume is None or volume.status == states.DELETING:
                return done({"skipped": "volume deleted"})
            recorded = volume.backend_id
            backend_id = recorded or job.checkpoint.get("backend_id")
            request = None if backend_id else self._request(session, volume, driver, call)
        called = None
        if not backend_id:
            backend_id = driver.create(call, request)
            called = time.monotonic()
            ctx.save_checkpoint({"backend_id": backend_id})
        if not recorded:  # also on a retry after a crash between the checkpoint and this write (16.3)
            with ctx.session() as session:
                volume = find_volume(session, job.resource_id)
                if volume is None:  # its delete already ran: remove what this create made
                    driver.delete(call, backend_id)
                    return done({"backend_id": backend_id, "skipped": "volume deleted while creating"})
                volume.backend_id = backend_id
        info = self.poller.get(job.cloud, call, backend_id, not_before=called,
                               max_age=None if called is not None else max_age(job.polls, POLL_SECONDS))
        if info.state is dv.VolumeState.CREATING:  # polled 0.1 s after the call, then less often
            return poll_again(interval(job.polls, POLL_SECONDS))
        self.poller.forget(job.cloud, [backend_id])
        if info.state is dv.VolumeState.ERROR:
            raise BuildFailed(info.fault or "The backend put the volume in error while creating it.")
        with ctx.session() as session:
            volume = find_volume(session, job.resource_id)
            if volume is not None and volume.status == states.CREATING:
                volume.status = backups.RESTORING_BACKUP if backups.restoring(session, volume) else states.AVAILABLE
                volume.host = info.host
                if info.extra:
                    volume.backend_extra = dict(info.extra)
                volume.updated_at = utcnow()
        return done({"backend_id": backend_id})

    def _request(self, session: Session, volume: Volume, driver: dv.VolumeDriver,
                 call: CallContext) -> dv.VolumeRequest:
        """What the driver is asked to create, in the pool the scheduler chose.

        :raises scheduler.NoValidBackend: the volume service is disabled, or no pool fits the type.
        """
        vtype = volumes.volume_type(session, volume)
        if not services.accepts_volumes(session, volume.cloud, driver.host):
            raise scheduler.NoValidBackend(f"No valid backend was found. The volume service {driver.host} is "
                                           "disabled.")
        pool = scheduler.choose(driver.pools(call), vtype.extra_specs if vtype else {}, volume.size)
        snapshot = _snapshot(session, volume.snapshot_id) if volume.snapshot_id else None
        source = find_volume(session, volume.source_volid) if volume.source_volid else None
        data = None
        location = session.get(ImageLocation, (volume.image_id, volume.cloud)) if volume.image_id else None
        if volume.image_id and self.images.data.exists(volume.image_id):
            data = self.images.data.get(volume.image_id)
        return dv.VolumeRequest(
            name=volume.name or "", size_gb=volume.size, idempotency_key=volume.idempotency_key,
            volume_type=vtype.name if vtype else None, availability_zone=volume.availability_zone,
            metadata=dict(volume.metadata_ or {}), snapshot_id=snapshot.backend_id if snapshot else None,
            source_volume_id=source.backend_id if source else None, image_id=volume.image_id, image_data=data,
            image_backend_id=location.backend_id if location is not None else None, pool=pool.name,
            backend_name=manage.volume_backend_name(volume.id))

    def create_failed(self, job: Job, session: Session) -> None:
        volume = find_volume(session, job.resource_id)
        if volume is not None and volume.status == states.CREATING:
            volume.status = states.ERROR
            volume.fault, kind = _failure(session, job)
            volume.updated_at = utcnow()
            if kind == scheduler.NoValidBackend.__name__:
                messages.tell(session, job, messages.VOLUME, messages.SCHEDULE_ALLOCATE_VOLUME, messages.NO_BACKEND_AVAILABLE)
            else:
                messages.tell(session, job, messages.VOLUME, messages.CREATE_VOLUME_FROM_BACKEND,
                      messages.DRIVER_FAILED_CREATE)

    def delete(self, job: Job, ctx: Any) -> Any:
        driver = self.driver(job.cloud)
        call = job.call_context()
        with ctx.session() as session:
            volume = find_volume(session, job.resource_id)
            if volume is None:
                return done()
            backend_id, key = volume.backend_id, volume.idempotency_key
            waiting = session.scalar(select(Snapshot.id).where(Snapshot.volume_id == volume.id).limit(1))
        if waiting is not None:  # a cascade delete: the snapshots go first
            return poll_again(POLL_SECONDS)
        if backend_id is None:
            found = driver.find(call, key)  # a create may have made it before recording the id
            backend_id = found.backend_id if found is not None else None
        if backend_id is not None:
            driver.delete(call, backend_id)
        with ctx.session() as session:
            volume = find_volume(session, job.resource_id)
            if volume is not None:
                session.delete(volume)
        return done()

    def delete_failed(self, job: Job, session: Session) -> None:
        volume = find_volume(session, job.resource_id)
        if volume is not None:
            volume.status = states.ERROR_DELETING
            volume.fault = _error_message(session, job)
            volume.updated_at = utcnow()

    def extend(self, job: Job, ctx: Any) -> Any:
        driver = self.driver(job.cloud)
        call = job.call_context()
        new_size = int(job.params["new_size"])
        with ctx.session() as session:
            volume = find_volume(session, job.resource_id)
            if volume is None:
                return done({"skipped": "volume deleted"})
            backend_id = volume.backend_id
        if backend_id is None:
            raise BuildFailed(f"Volume {job.resource_id} has no backend volume")
        if driver.get(call, backend_id).size_gb < new_size:  # a resumed attempt finds it grown already
            driver.extend(call, backend_id, new_size)
        with ctx.session() as session:
            volume = find_volume(session, job.resource_id)
            if volume is not None:
                volume.size = new_size
                if volume.status == states.EXTENDING:
                    volume.status = job.params.get("previous_status") or states.AVAILABLE
                volume.updated_at = utcnow()
                if volume.status == states.IN_USE:
                    _tell_servers_extended(session, job, volume)
        return done({"size": new_size})

    def extend_failed(self, job: Job, session: Session) -> None:
        volume = find_volume(session, job.resource_id)
        if volume is not None and volume.status == states.EXTENDING:
            volume.status = states.ERROR_EXTENDING
            volume.fault = _error_message(session, job)
            volume.updated_at = utcnow()
            messages.tell(session, job, messages.VOLUME, messages.EXTEND_VOLUME, messages.DRIVER_FAILED_EXTEND)

    def retype(self, job: Job, ctx: Any) -> Any:
        """Change the type in place when the volume's pool also satisfies the new type.

        :raises scheduler.NoValidBackend: it does not (Overcast migrates no volume to another pool).
        """
        driver = self.driver(job.cloud)
        call = job.call_context()
        with ctx.session() as session:
            volume = find_volume(session, job.resource_id)
            new_type = session.get(VolumeType, job.params["new_type_id"])
            if volume is None or volume.status != states.RETYPING or new_type is None:
                return done({"skipped": "volume or type gone, or no longer retyping"})
            pool_name = (volume.host or "").partition("#")[2]
            specs = dict(new_type.extra_specs or {})
        pool = next((p for p in driver.pools(call) if p.name == pool_name), None)
        if pool is None or not scheduler.passes(pool, specs, 0):
            reason = ("migration to another backend is not supported" if job.params.get("migration_policy")
                      == "on-demand" else "migration_policy is never")
            raise scheduler.NoValidBackend(f"No valid backend was found. The volume's pool does not satisfy the "
                                           f"new type and {reason}.")
        with ctx.session() as session:
            volume = find_volume(session, job.resource_id)
            if volume is not None and volume.status == states.RETYPING:
                volume.volume_type_id = job.params["new_type_id"]
                if (new_type := session.get(VolumeType, job.params["new_type_id"])) is not None:
                    volume.multiattach = types.multiattach(new_type)  # Cinder's retype: the new type decides
                volume.status = job.params["previous_status"]
                volume.updated_at = utcnow()
        return done({"volume_type_id": job.params["new_type_id"]})

    def retype_failed(self, job: Job, session: Session) -> None:
        volume = find_volume(session, job.resource_id)
        if volume is not None and volume.status == states.RETYPING:
            volume.status = job.params["previous_status"]
            volume.updated_at = utcnow()

    # -- snapshots ----------------------------------------------------------------------------
    def snapshot_create(self, job: Job, ctx: Any) -> Any:
        driver = self.driver(job.cloud)
        call = job.call_context()
        with ctx.session() as session:
            snapshot = _snapshot(session, job.resource_id)
            if snapshot is None or snapshot.status == states.DELETING:
                return done({"skipped": "snapshot deleted"})
            volume = find_volume(session, snapshot.volume_id)
            volume_backend = volume.backend_id if volume is not None else None
            name, key = snapshot.name or "", snapshot.idempotency_key
        if volume_backend is None:
            raise BuildFailed(f"Volume of snapshot {job.resource_id} has no backend volume")
        backend_id = driver.create_snapshot(call, volume_backend, name, key,  # idempotent on the key
                                            backend_name=manage.snapshot_backend_name(job.resource_id))
        info = driver.get_snapshot(call, backend_id)
        if info.state is dv.VolumeState.CREATING:
            return poll_again(interval(job.polls, POLL_SECONDS))
        if info.state is dv.VolumeState.ERROR:
            raise BuildFailed(info.fault or "The backend put the snapshot in error while creating it.")
        with ctx.session() as session:
            snapshot = _snapshot(session, job.resource_id)
            if snapshot is None:
                driver.delete_snapshot(call, backend_id)
                return done({"skipped": "snapshot deleted while creating"})
            snapshot.backend_id = backend_id
            if info.extra:
                snapshot.backend_extra = dict(info.extra)
            if snapshot.status == states.CREATING:
                snapshot.status = states.AVAILABLE
                snapshot.progress = "100%"
            snapshot.updated_at = utcnow()
        return done({"backend_id": backend_id})

    def snapshot_create_failed(self, job: Job, session: Session) -> None:
        snapshot = _snapshot(session, job.resource_id)
        if snapshot is not None and snapshot.status == states.CREATING:
            snapshot.status = states.ERROR
            snapshot.updated_at = utcnow()
            messages.tell(session, job, messages.SNAPSHOT, messages.SNAPSHOT_CREATE, messages.SNAPSHOT_CREATE_ERROR)

    def snapshot_delete(self, job: Job, ctx: Any) -> Any:
        driver = self.driver(job.cloud)
        with ctx.session() as session:
            snapshot = _snapshot(session, job.resource_id)
            if snapshot is None:
                return done()
            backend_id = snapshot.backend_id
        if backend_id is not None:
            driver.delete_snapshot(job.call_context(), backend_id)
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
            messages.tell(session, job, messages.SNAPSHOT, messages.SNAPSHOT_DELETE, messages.SNAPSHOT_DELETE_ERROR)

    # -- groups and group snapshots: they wait for their members ----------------------------------
    @staticmethod
    def _members_made(job: Job, ctx: Any, model: type, statuses: Callable[[Session, Any], list[str]]) -> Any:
        """``available`` once no member is creating (``error`` if one failed)."""
        with ctx.session() as session:
            record = session.get(model, job.resource_id)
            if record is None or record.status != states.CREATING:
                return done({"skipped": "gone, or no longer creating"})
            found = statuses(session, record)
            if states.CREATING in found:
                return poll_again(POLL_SECONDS)
            record.status = states.ERROR if states.ERROR in found else states.AVAILABLE
            record.updated_at = utcnow()
            return done({"status": record.status})

    @staticmethod
    def _members_gone(job: Job, ctx: Any, model: type, statuses: Callable[[Session, Any], list[str]]) -> Any:
        """Remove the record once its members are deleted.

        :raises DeleteFailed: a member could not be deleted.
        """
        with ctx.session() as session:
            record = session.get(model, job.resource_id)
            if record is None:
                return done()
            found = statuses(session, record)
            if states.ERROR_DELETING in found:
                raise DeleteFailed(f"A member of {job.resource_type} {job.resource_id} could not be deleted.")
            if found:
                return poll_again(POLL_SECONDS)
            session.delete(record)
        return done()

    @staticmethod
    def mark(job: Job, session: Session, *, model: type, status: str) -> None:
        """A failure hook: the group or group snapshot goes to ``status``."""
        record = session.get(model, job.resource_id)
        if record is not None:
            record.status = status
            record.updated_at = utcnow()

    @staticmethod
    def _volume_statuses(session: Session, group: VolumeGroup) -> list[str]:
        return [v.status for v in groups.volumes_of(session, group)]

    @staticmethod
    def _snapshot_statuses(session: Session, group_snapshot: GroupSnapshot) -> list[str]:
        return [s.status for s in group_snapshots.snapshots_of(session, group_snapshot)]

    def group_create(self, job: Job, ctx: Any) -> Any:
        return self._members_made(job, ctx, VolumeGroup, self._volume_statuses)

    def group_delete(self, job: Job, ctx: Any) -> Any:
        return self._members_gone(job, ctx, VolumeGroup, self._volume_statuses)

    def group_snapshot_create(self, job: Job, ctx: Any) -> Any:
        return self._members_made(job, ctx, GroupSnapshot, self._snapshot_statuses)

    def group_snapshot_delete(self, job: Job, ctx: Any) -> Any:
        return self._members_gone(job, ctx, GroupSnapshot, self._snapshot_statuses)

    # -- reconciler ---------------------------------------------------------------------------
    @staticmethod
    def purge_messages(cloud: str, ctx: Any) -> None:
        """User messages past their time go (they are not per cloud; running once per cloud is harmless)."""
        with ctx.session() as session:
            messages.purge_expired(session)

    def reconcile(self, cloud: str, ctx: Any) -> None:
        """Volumes gone from the backend behind our back go to ``error``; one missing from
        :meth:`list` is confirmed gone by its own ``get`` first (a listing may lag or be cut short).
        A cloud without block storage has nothing to reconcile (not an error to log every round)."""
        if cloud in self.core.clouds and self.core.clouds[cloud].volume is None:
            return
        driver = self.driver(cloud)
        call = CallContext()
        backend = {v.backend_id for v in driver.list(call)}
        with ctx.session() as session:
            rows = session.scalars(select(Volume).where(
                Volume.cloud == cloud, Volume.backend_id.is_not(None),
                Volume.status.in_((states.AVAILABLE, states.IN_USE)))).all()
            for volume in rows:
                if ctx.abandoned.is_set():
                    return
                if volume.backend_id not in backend and not self._exists(driver, call, volume.backend_id):
                    volume.status = states.ERROR
                    volume.fault = "The volume no longer exists on the backend."
                    volume.updated_at = utcnow()


    @staticmethod
    def _exists(driver: dv.VolumeDriver, call: CallContext, backend_id: str) -> bool:
        try:
            driver.get(call, backend_id)
        except BackendNotFound:
            return False
        return True


def setup_for(core: VolumeCore) -> Callable[[Any], None]:
    """The ops setup for block storage: ``OpsRuntime(..., setups=[..., setup_for(core)])``."""
    handlers = VolumeHandlers(core)

    def setup(runtime: Any) -> None:
        register = functools.partial(runtime.registry.register, family="volume")
        # accepted creates wait for an open breaker (as server builds do: docs/decisions/0043)
        register(volumes.CREATE, handlers.create, on_failure=handlers.create_failed,
                 event="volume_create_volume", timeout=600, when_open="defer")
        register(volumes.DELETE, handlers.delete, on_failure=handlers.delete_failed,
                 event="volume_delete_volume", timeout=300, when_open="defer")
        register(volumes.EXTEND, handlers.extend, on_failure=handlers.extend_failed,
                 event="volume_extend_volume", timeout=300)
        register(retype.RETYPE, handlers.retype, on_failure=handlers.retype_failed,
                 event="volume_retype_volume", timeout=300)
        register(snapshots.CREATE, handlers.snapshot_create, on_failure=handlers.snapshot_create_failed,
                 event="volume_create_snapshot", timeout=600)
        register(snapshots.DELETE, handlers.snapshot_delete, on_failure=handlers.snapshot_delete_failed,
                 event="volume_delete_snapshot", timeout=300, when_open="defer")
        for kind, handler, model, failed in (
                (groups.CREATE, handlers.group_create, VolumeGroup, states.ERROR),
                (groups.DELETE, handlers.group_delete, VolumeGroup, states.ERROR_DELETING),
                (group_snapshots.CREATE, handlers.group_snapshot_create, GroupSnapshot, states.ERROR),
                (group_snapshots.DELETE, handlers.group_snapshot_delete, GroupSnapshot, states.ERROR_DELETING)):
            register(kind, handler, on_failure=functools.partial(handlers.mark, model=model, status=failed),
                     event=kind.replace(".", "_"), timeout=60)
        exports.setup(runtime, handlers.driver)
        backups.BackupHandlers(handlers.driver).register(runtime)
        manage.ManageHandlers(handlers.driver).register(runtime)
        upload = uploads.Uploads(core, handlers.images)
        register(uploads.UPLOAD, upload.run, on_failure=upload.failed, event="volume_copy_volume_to_image",
                 timeout=3600)
        runtime.reconciler.register("volume.volumes", handlers.reconcile)
        runtime.reconciler.register("volume.messages", handlers.purge_messages)

    return setup
