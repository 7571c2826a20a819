"""The compute operations: ``server.build``, ``server.delete``, ``server.action``,
``image.delete_backend`` and ``server_group.delete_backend`` handlers, and the reconciler that
keeps server records in step with each region's backend.

Handlers run in workers (never in a request). Each reads the server record, calls the region's
driver with the operation's :class:`~overcast.drivers.context.CallContext`, polls the backend
until it reaches the state the operation expects (``poll_again``; the polls of every operation of
a process go to the backend together, :class:`~overcast.core.polling.BatchPoller`), then records
the outcome. Failures come back through the ``on_failure`` hooks, which run in the engine's
transaction: a failed build puts the server in ERROR with a ``fault`` (the driver's one-line
message, never a traceback); a failed action clears the task_state.

Safe to resume: a worker may die between a driver call and its record. A build finds the server
it made by its idempotency key; an action checkpoints the server's state before it calls and, on
a resumed attempt, asks the backend first: a server already in the state the action leads to (and
no longer in the one it started from) is not asked again; actions with no state of their own to
show (reboot, rebuild, a password) are repeated, which is harmless; snapshots are idempotent on
the operation's key.
"""

from __future__ import annotations

import base64
import logging
import time
from typing import Any, Callable, Iterable, Mapping

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from overcast.core import inventory
from overcast.core.compute import ComputeCore, migrations, networking, server_groups
from overcast.core.compute import states as S
from overcast.core.compute.servers import ACTION, BUILD, DELETE, mark_deleted
from overcast.core.compute.volume_operations import ServerVolumes
from overcast.core.errors import OvercastError
from overcast.core.image import BACKEND_DELETE, OWNED, ImageCore, delete_backend_images, project_sees
from overcast.core.image.data import image_bytes
from overcast.core.volume import reimage as volume_reimage
from overcast.core.polling import FIRST_POLL, BatchPoller, ReadyTimes, interval, max_age
from overcast.drivers import compute as dc
from overcast.drivers.context import CallContext
from overcast.drivers.errors import BuildFailed, Conflict, InvalidRequest, NotFound, Unavailable
from overcast.ops.engine import Job, done, poll_again
from overcast.ops.models import Operation
from overcast.store.compute import ComputeService, Server, ServerGroup
from overcast.store.image import Image, ImageLocation
from overcast.store.network import Port
from overcast.store.models import utcnow

LOG = logging.getLogger(__name__)

#: the longest wait between two polls of a server (the first comes 0.1 s after the call, and each
#: wait doubles up to this: :func:`~overcast.core.polling.interval`)
POLL_SECONDS = 1.0
#: how often a build looks again whether the network backend has wired its ports
PORT_POLL_SECONDS = 0.1
#: how often a build asks the backend during its first polls, made in its own run (:meth:`ServerHandlers._settle`)
SETTLE_STEP = 0.05
#: the longest a build waits for its backend in its own run (its first poll is timed to the backend's
#: build time when that is at most half of this)
SETTLE_MAX = 0.5
_pause = time.sleep
#: a server delete is asked for again when the backend still has it this many polls after the call
DELETE_REASK_POLLS = 15
#: backend ids per query when the reconciler looks for the backend's servers Overcast does not know
_STRAY_CHUNK = 500

#: driver state -> vm_state
VM_STATE = {
    dc.ServerState.ACTIVE: S.ACTIVE, dc.ServerState.STOPPED: S.STOPPED, dc.ServerState.PAUSED: S.PAUSED,
    dc.ServerState.SUSPENDED: S.SUSPENDED, dc.ServerState.RESCUED: S.RESCUED,
    dc.ServerState.RESIZED: S.RESIZED, dc.ServerState.SHELVED: S.SHELVED_OFFLOADED,
    dc.ServerState.ERROR: S.ERROR, dc.ServerState.BUILDING: S.BUILDING,
}

D = dc.ServerState
#: the backend states that end each action (poll until one is reached)
EXPECTED: dict[str, frozenset[dc.ServerState]] = {
    "reboot_soft": frozenset({D.ACTIVE}), "reboot_hard": frozenset({D.ACTIVE}),
    "start": frozenset({D.ACTIVE}), "stop": frozenset({D.STOPPED}),
    "pause": frozenset({D.PAUSED}), "unpause": frozenset({D.ACTIVE}),
    "suspend": frozenset({D.SUSPENDED}), "resume": frozenset({D.ACTIVE}),
    "resize": frozenset({D.RESIZED}), "migrate": frozenset({D.RESIZED}), "confirmResize": frozenset({D.ACTIVE, D.STOPPED}),
    "revertResize": frozenset({D.ACTIVE, D.STOPPED}), "rebuild": frozenset({D.ACTIVE, D.STOPPED}),
    "createImage": frozenset({D.ACTIVE, D.STOPPED, D.PAUSED, D.SUSPENDED, D.SHELVED}),
    "createBackup": frozenset({D.ACTIVE, D.STOPPED, D.PAUSED, D.SUSPENDED}),
    "changePassword": frozenset({D.ACTIVE}), "rescue": frozenset({D.RESCUED}),
    "unrescue": frozenset({D.ACTIVE}), "shelve": frozenset({D.SHELVED}), "unshelve": frozenset({D.ACTIVE}),
    "attach_interface": frozenset({D.ACTIVE, D.STOPPED, D.PAUSED}),
    "detach_interface": frozenset({D.ACTIVE, D.STOPPED, D.PAUSED}),
}


def _driver_flavor(record: dict[str, Any]) -> dc.Flavor:
    return dc.Flavor(id=str(record["id"]), name=record.get("name", ""), vcpus=int(record["vcpus"]),
                     ram_mb=int(record["ram"]), disk_gb=int(record["disk"]),
                     ephemeral_gb=int(record.get("ephemeral") or 0), swap_mb=int(record.get("swap") or 0),
                     extra_specs=dict(record.get("extra_specs") or {}))


def _driver_image(session: Session, image: Image | None, cloud: str) -> dc.Image | None:
    """The image as the region's driver gets it, with its backend id there if the backend holds it."""
    if image is None:
        return None
    location = session.get(ImageLocation, (image.id, cloud))
    return dc.Image(id=image.id, name=image.name or "", min_disk_gb=image.min_disk or 0,
                    min_ram_mb=image.min_ram or 0, disk_format=image.disk_format or "qcow2",
                    container_format=image.container_format or "bare",
                    properties={k: str(v) for k, v in (image.properties or {}).items()},
                    backend_id=location.backend_id if location is not None else None, size=image.size)


def _record_info(server: Server, info: dc.ServerInfo) -> None:
    server.power_state = int(info.power_state)
    server.host = info.host or server.host
    server.availability_zone = info.availability_zone or server.availability_zone
    if info.extra:
        server.backend_extra = dict(info.extra)
    server.updated_at = utcnow()


def _activate(session: Session, image_id: str, made: Mapping[str, Any], cloud: str) -> None:
    """A snapshot image the region's backend made (``made``: :func:`_image_ref`): active, with its
    size and checksum, and its backend id as the image's location in that region."""
    image = session.get(Image, image_id)
    if image is None:
        return
    image.status = "active"
    image.cloud = cloud
    image.size = made.get("size")
    image.checksum = made.get("checksum")
    if made.get("os_hash_value"):
        image.os_hash_algo, image.os_hash_value = "sha512", made["os_hash_value"]
    image.disk_format = made.get("disk_format") or image.disk_format
    image.container_format = made.get("container_format") or image.container_format
    if session.get(ImageLocation, (image.id, cloud)) is None:
        session.add(ImageLocation(image_id=image.id, cloud=cloud, backend_id=made["backend_id"],
                                  extra={**dict(made.get("extra") or {}), OWNED: True}))


#: Glance's statuses of an image its backend is still making
SAVING = frozenset({"queued", "saving", "uploading", "importing"})
#: the actions whose ``image_id`` parameter is the image the driver boots (rebuild's, rescue's given one)
_WITH_IMAGE = frozenset({"rebuild", "rescue"})


def _image_ref(ref: dc.ImageRef) -> dict[str, Any]:
    return {"backend_id": ref.backend_id, "size": ref.size, "disk_format": ref.disk_format,
            "container_format": ref.container_format, "checksum": ref.checksum,
            "os_hash_value": ref.os_hash_value, "extra": dict(ref.extra), "status": ref.status}


def _error_message(session: Session, job: Job) -> str:
    op = session.get(Operation, job.id)
    session.refresh(op)
    return (op.error if op is not None and op.error else "Unknown error")


def _out_of_service(session: Session, cloud: str) -> frozenset[str]:
    """The region's hosts whose ``nova-compute`` an administrator disabled or forced down: Nova's
    ComputeFilter places nothing new there (os-services' ``disable`` and 2.11's ``force-down``)."""
    return frozenset(session.scalars(select(ComputeService.host).where(
        ComputeService.cloud == cloud, ComputeService.binary == "nova-compute",
        or_(ComputeService.disabled.is_(True), ComputeService.forced_down.is_(True)))))


def _polls_since_call(job: Job) -> int:
    """How many times the operation has polled since its backend call (the checkpoint's
    ``polled_from``; waits before the call, for ports or volumes, do not count)."""
    return max(0, job.polls - int(job.checkpoint.get("polled_from") or 0))


def _checkpoint_of(session: Session, job: Job) -> dict[str, Any]:
    """The operation's checkpoint as last saved (a failure hook's job holds the one it was claimed with)."""
    op = session.get(Operation, job.id)
    return dict(op.checkpoint or {}) if op is not None else {}


class ServerHandlers:
    def __init__(self, core: ComputeCore):
        self.core = core
        #: the volumes servers boot with and lose when they go
        self.volumes = ServerVolumes(core)
        #: where the drivers that boot Overcast's images read them (BuildRequest.read_image)
        self.images = ImageCore(settings=core.settings, store=core.store)
        #: every server operation's polls, asked of each region's backend together
        self.poller: BatchPoller[dc.ServerInfo] = BatchPoller(
            lambda cloud, call, ids: self.driver(cloud).get_many(call, ids), window=POLL_SECONDS * 0.9,
            keep=POLL_SECONDS * 5)
        #: (region, backend id) of the backend servers Overcast does not know, already logged
        self.strays: set[tuple[str, str]] = set()
        #: how long each region's backend takes to build a server (when a build's first poll is made)
        self.ready = ReadyTimes()

    def driver(self, cloud: str) -> dc.ComputeDriver:
        return self.core.compute_driver(cloud)

    def _get(self, job: Job, call: CallContext, backend_id: str, not_before: float | None = None) -> dc.ServerInfo:
        """The server as the backend has it now (batched with the other operations' polls; an
        answer younger than the wait this poll followed, or from after the call just made)."""
        since = None if not_before is not None else _polls_since_call(job)
        return self.poller.get(job.cloud, call, backend_id, not_before=not_before,
                               max_age=max_age(since, POLL_SECONDS) if since is not None else None)

    @staticmethod
    def _again(job: Job, called: float | None = None, checkpoint: Mapping[str, Any] | None = None) -> Any:
        """Poll the backend again on the schedule of :func:`overcast.core.polling.interval`, counted
        from the call (``called``: a call was made in this run). A wait is never cut short: the next
        poll then accepts no answer older than 0.9 of it, and gets a fresh one."""
        return poll_again(interval(0 if called is not None else _polls_since_call(job), POLL_SECONDS), checkpoint)

    def _settle(self, job: Job, call: CallContext, backend_id: str, called: float) -> tuple[dc.ServerInfo, float]:
        """The first polls of a build, in its own run (decision 0047): instead of handing the
        operation back to the engine for each (a write, a wake-up, a claim and a new run: on a
        quick backend most of the create's time), the build asks the backend every
        :data:`SETTLE_STEP` seconds for a short while. The first poll is timed to the backend's own
        build time as this process has seen it (:class:`~overcast.core.polling.ReadyTimes`), not
        made right after the call, when the backend cannot have finished; a backend not known yet,
        or one too slow to wait for in a run, is asked at once and then for
        :data:`~overcast.core.polling.FIRST_POLL` seconds, as before. The backend id is
        checkpointed before, so a crash during the wait resumes as before.

        Returns the last answer (BUILDING: the schedule goes on from its second wait) and how long
        after the call the backend was last seen still building (0: not seen so).
        """
        expected = self.ready.expected(job.cloud, BUILD)
        first = expected if expected is not None and expected <= SETTLE_MAX / 2 else 0.0
        until = called + min(SETTLE_MAX, max(FIRST_POLL, 2 * first))
        at, answered, unfinished = called + first, called, 0.0
        while True:
            wait = at - time.monotonic()
            if wait > 0:
                _pause(wait)
            asked = time.monotonic()
            # an answer fetched after the last one (maybe for another build's poll too)
            info = self.poller.get(job.cloud, call, backend_id, not_before=answered)
            answered = time.monotonic()
            if info.state is not dc.ServerState.BUILDING:
                if info.state is not dc.ServerState.ERROR:
                    self.ready.observe(job.cloud, BUILD, unfinished, asked - called)
                return info, unfinished
            unfinished = asked - called
            at = max(at + SETTLE_STEP, answered + SETTLE_STEP / 2)  # a slow answer does not bring on the next at once
            if at > until + 1e-6:
                return info, unfinished

    def _learn(self, job: Job, info: dc.ServerInfo, asked: float) -> None:
        """A build's poll in a later run found it done: how long the backend took (the poll
        before this one, a wait earlier, still found it building)."""
        called_at = job.checkpoint.get("called_at")
        since = _polls_since_call(job)
        if info.state in (dc.ServerState.BUILDING, dc.ServerState.ERROR) or not called_at or since < 1:
            return
        finished = asked - float(called_at)
        self.ready.observe(job.cloud, BUILD, finished - interval(since - 1, POLL_SECONDS), finished)

    # -- build ----------------------------------------------------------------------------------
    def build(self, job: Job, ctx: Any) -> Any:
        return self._build(job, ctx, volumes_ready=bool(job.checkpoint.get("backend_id")))

    def _build(self, job: Job, ctx: Any, volumes_ready: bool) -> Any:
        driver = self.driver(job.cloud)
        call = job.call_context()
        with ctx.session() as session:
            server = session.scalars(select(Server).where(Server.id == job.resource_id)).first()
            if server is None or server.deleted:
                return done({"skipped": "server deleted"})
            boots_from_volumes = not volumes_ready and bool(server.volume_mappings)
            deleting = server.task_state == S.DELETING
            recorded = server.backend_id
            backend_id = recorded or job.checkpoint.get("backend_id")
            # no earlier run reached the build call if none saved "calling" (each does before it calls)
            request = None if backend_id or deleting or boots_from_volumes else self._build_request(
                session, server, job, first_attempt=not job.checkpoint.get("calling"))
            # where the provider picks the addresses, the backend must have made the ports first
            unwired = (request is not None and self.core.network.at(job.cloud).provider_addresses
                       and not self._ports_ready(session, server, job))
            if request is not None and not unwired:
                # a run after this one looks for what it made (saved with this read: one transaction)
                ctx.save_checkpoint({"calling": True}, session=session)
        if boots_from_volumes:
            if not self.volumes.prepare(job, ctx):
                return self._again(job)  # the volumes it boots with are still being made
            return self._build(job, ctx, volumes_ready=True)
        if deleting:
            return done({"skipped": "server is being deleted"})
        if unwired:
            return poll_again(PORT_POLL_SECONDS)
        called = None
        if not backend_id:
            assert request is not None
            backend_id = driver.build(call, request)
            called = time.monotonic()
            # the in-run polls below count as the first of the schedule (see _settle)
            ctx.save_checkpoint({"backend_id": backend_id, "polled_from": job.polls - 1, "called_at": time.time()})
            info, _ = self._settle(job, call, backend_id, called)
        else:
            asked = time.time()
            info = self._get(job, call, backend_id)
            self._learn(job, info, asked)
        done_now = info.state not in (dc.ServerState.BUILDING, dc.ServerState.ERROR)
        if not recorded and not done_now:  # also after a crash between the checkpoint and this write
            with ctx.session() as session:
                server = session.scalars(select(Server).where(Server.id == job.resource_id)).first()
                skipped = self._adopt(server, backend_id, driver, call)
                if skipped is not None:
                    return skipped
                if info.state is dc.ServerState.BUILDING:
                    server.progress = info.progress
        if info.state is dc.ServerState.BUILDING:
            if called is not None:  # the backend id, task state and progress were written just above;
                # the schedule's first wait was spent in _settle
                return poll_again(interval(1, POLL_SECONDS), {"progress": info.progress})
            if job.checkpoint.get("progress") != info.progress:
                # a write only when there is news (a new progress)
                with ctx.session() as session:
                    server = session.scalars(select(Server).where(Server.id == job.resource_id)).first()
                    if server is not None and not server.deleted:
                        server.progress = info.progress
                        if server.task_state != S.DELETING:
                            server.task_state = S.SPAWNING
                return self._again(job, called, {"progress": info.progress})
            return self._again(job, called)
        if info.state is dc.ServerState.ERROR:
            raise BuildFailed(info.fault or "The backend put the server in ERROR while building it.")
        # polled no more from now: a build that starts before this one's write commits (the client
        # saw ACTIVE and asked for the next) must not find this id still wanted, and batch it
        self.poller.forget(job.cloud, [backend_id])
        with ctx.session() as session:
            server = session.scalars(select(Server).where(Server.id == job.resource_id)).first()
            if not recorded:  # the backend id is written with the outcome (one write, not two)
                skipped = self._adopt(server, backend_id, driver, call)
                if skipped is not None:
                    return skipped
            if server is None or server.deleted:
                return done({"backend_id": backend_id})
            if not self._ports_ready(session, server, job):  # ACTIVE once its ports are wired, as Nova
                return poll_again(PORT_POLL_SECONDS)
            _record_info(server, info)
            server.vm_state = VM_STATE.get(info.state, S.ACTIVE)
            if server.task_state != S.DELETING:
                server.task_state = None
            server.progress = 0
            server.launched_at = utcnow()
        return done({"backend_id": backend_id})

    @staticmethod
    def _adopt(server: Server | None, backend_id: str, driver: dc.ComputeDriver, call: CallContext) -> Any:
        """Record the backend id on the server (in the caller's transaction), spawning; or, for a
        server deleted meanwhile, the build's outcome (``done``)."""
        gone = server is None or server.deleted
        if server is not None and not gone:
            server.backend_id = backend_id
        if server is None or gone or server.task_state == S.DELETING:
            if gone:  # its delete already ran: remove what this build made, leave no orphan
                driver.delete(call, backend_id)
            return done({"backend_id": backend_id, "skipped": "server deleted while building"})
        server.task_state = S.SPAWNING
        return None

    def _ports_ready(self, session: Session, server: Server, job: Job) -> bool:
        """Whether the network backend has wired the server's ports (Nova's vif-plugged events).

        :raises BuildFailed: a port it refused, or not within Nova's ``vif_plugging_timeout``.
        """
        try:
            ready = networking.ports_ready(self.core.network, session, server)
        except OvercastError as exc:
            raise BuildFailed(f"Build of instance {server.id} aborted: Failed to allocate the network(s), "
                              f"not rescheduling. {exc.message}") from exc
        if not ready and (utcnow() - job.created_at).total_seconds() > networking.VIF_PLUGGING_TIMEOUT:
            raise BuildFailed(f"Build of instance {server.id} aborted: Timeout waiting for vif plugging "
                              "callback for instance with vm_state building.")
        return ready

    def _build_request(self, session: Session, server: Server, job: Job,
                       first_attempt: bool = False) -> dc.BuildRequest:
        """The driver's request, after the server's ports are made (in this transaction).

        :raises BuildFailed: Neutron refused a port (Nova's "Failed to allocate the network(s)").
        """
        try:
            ports = networking.allocate(self.core.network, session, server)
        except OvercastError as exc:
            raise BuildFailed(f"Build of instance {server.id} aborted: Failed to allocate the network(s), "
                              f"not rescheduling. {exc.message}") from exc
        image = _driver_image(session, session.get(Image, server.image_id) if server.image_id else None,
                              server.cloud)
        if image is not None and image.backend_id is None and not self.driver(server.cloud).boots_overcast_images:
            raise BuildFailed(f"Build of instance {server.id} aborted: image {image.id} is not held by the "
                              f"backend of region {server.cloud}.")
        key = None
        if server.key_name:
            key = dc.KeyPair(name=server.key_name, public_key=server.key_data or "")
        group = None
        if server.server_group_id:
            row = session.get(ServerGroup, server.server_group_id)
            if row is not None:
                group = dc.ServerGroup(id=row.id, name=row.name, policy=row.policy, rules=dict(row.rules or {}))
        user_data = base64.b64decode(server.user_data) if server.user_data else None
        return dc.BuildRequest(
            name=server.name, flavor=_driver_flavor(server.flavor), image=image,
            idempotency_key=server.idempotency_key, project_id=server.project_id, key_pair=key,
            security_groups=tuple(g.get("name", "") for g in server.security_groups or []),
            networks=networking.attachments(session, ports), config_drive=server.config_drive,
            user_data=user_data, server_group=group,
            availability_zone=server.requested_zone,
            metadata={m.key: m.value for m in server.metadata_items},
            admin_password=job.params.get("admin_password"),
            block_devices=self.volumes.block_devices(session, server),
            first_attempt=first_attempt, read_image=self._image_reader(server),
            excluded_hosts=_out_of_service(session, server.cloud))

    def _image_reader(self, server: Server) -> Callable[[str], Iterable[bytes]]:
        """How the driver reads an image's bytes from Overcast's store: the server's image, or one
        its project may use in the server's region (a ``kernel_id`` or ``ramdisk_id`` it names)."""
        project_id, boot_image, cloud = server.project_id, server.image_id, server.cloud

        def read(image_id: str) -> Iterable[bytes]:
            with self.core.store.session() as session:
                image = session.get(Image, image_id)
                usable = image is not None and image.status == "active" and image.cloud in (None, cloud) and (
                    image_id == boot_image or project_sees(session, project_id, image))
                if not usable or image is None:
                    raise InvalidRequest(f"Image {image_id} could not be found.")
                chunks = image_bytes(self.images, image)  # the store's copy, or its http location (0074)
            return chunks()
        return read

    def build_failed(self, job: Job, session: Session) -> None:
        server = session.scalars(select(Server).where(Server.id == job.resource_id)).first()
        if server is None or server.deleted:
            return
        networking.release(self.core.network, session, server)  # Nova deallocates a failed build's network
        now = utcnow()
        server.vm_state = S.ERROR
        if server.task_state != S.DELETING:
            server.task_state = None
        server.power_state = 0
        server.fault = {"code": 500, "message": _error_message(session, job),
                        "created": now.strftime("%Y-%m-%dT%H:%M:%SZ")}
        server.updated_at = now

    # -- delete ---------------------------------------------------------------------------------
    def delete(self, job: Job, ctx: Any) -> Any:
        driver = self.driver(job.cloud)
        call = job.call_context()
        with ctx.session() as session:
            server = session.scalars(select(Server).where(Server.id == job.resource_id)).first()
            if server is None or server.deleted:
                return done()
            backend_id, key = server.backend_id, server.idempotency_key
        if backend_id is None:
            found = driver.find(call, key)  # a build may have made it before recording the id
            backend_id = found.backend_id if found is not None else None
        if backend_id is not None:
            called = None
            # the delete is asked for once (checkpointed, so not again after a restart either), and
            # again only when the backend still has the server DELETE_REASK_POLLS polls later
            asked = job.checkpoint.get("delete_called")
            if not asked or _polls_since_call(job) >= DELETE_REASK_POLLS:
                driver.delete(call, backend_id)
                called = time.monotonic()
                ctx.save_checkpoint({"delete_called": True, "polled_from": job.polls})
            try:
                info = self._get(job, call, backend_id, called)
                if info.state is not dc.ServerState.DELETED:
                    return self._again(job, called)
            except NotFound:
                pass
            self.poller.forget(job.cloud, [backend_id])
        self.volumes.release(job, ctx)
        with ctx.session() as session:
            server = session.scalars(select(Server).where(Server.id == job.resource_id)).first()
            if server is not None and not server.deleted:
                networking.release(self.core.network, session, server)
                mark_deleted(server)
                server_groups.remove_member(session, server.id)
        return done()

    def delete_failed(self, job: Job, session: Session) -> None:
        server = session.scalars(select(Server).where(Server.id == job.resource_id)).first()
        if server is None or server.deleted:
            return
        now = utcnow()
        server.vm_state = S.ERROR
        server.task_state = None
        server.fault = {"code": 500, "message": _error_message(session, job),
                        "created": now.strftime("%Y-%m-%dT%H:%M:%SZ")}
        server.updated_at = now

    # -- actions --------------------------------------------------------------------------------
    def action(self, job: Job, ctx: Any) -> Any:
        driver = self.driver(job.cloud)
        call = job.call_context()
        key = job.params["action"]
        with ctx.session() as session:
            server = session.scalars(select(Server).where(Server.id == job.resource_id)).first()
            if server is None or server.deleted or server.task_state == S.DELETING:
                return done({"skipped": "server deleted"})
            backend_id, vm_state = server.backend_id, server.vm_state
            migrations.running(session, server.id, key)
            image = session.get(Image, job.params["image_id"]) if key in _WITH_IMAGE and job.params.get(
                "image_id") else None
            if key == "rescue" and job.params.get("image_id") and image is None:  # Nova's compute fails alike
                raise Conflict(f"Image {job.params['image_id']} could not be found.")
            rebuild_image = _driver_image(session, image, job.cloud)
            host = server.host
            marked = (_out_of_service(session, job.cloud) if key in ("resize", "migrate") and driver.names_hosts
                      else frozenset())
            refused = key == "resize" and not job.checkpoint.get("called") and host in marked
        if refused:
            # Nova schedules a resize: ComputeFilter drops a host whose nova-compute is disabled
            # or forced down, and a driver that resizes only where the server is has no other
            # candidate (decision 0072)
            raise InvalidRequest(f"No valid host was found. There are not enough hosts available. "
                                 f"(ComputeFilter refused {host}: its nova-compute service is disabled "
                                 f"or forced down)")
        if backend_id is None:
            raise Conflict(f"Instance {job.resource_id} has no backend server")
        checkpoint = job.checkpoint
        result: dict[str, Any] = {"image": checkpoint["image"]} if checkpoint.get("image") else {}
        called = None
        if not checkpoint.get("called"):
            landed = self._already_done(job, call, backend_id, key) if checkpoint.get("calling") else False
            if landed is None:
                return self._again(job)
            if not landed:
                ctx.save_checkpoint({"calling": True, "from": checkpoint.get("from", vm_state)})
                if key == "migrate":
                    driver.migrate(call, backend_id, job.params.get("host"), marked)
                else:
                    result.update(self._call(driver, call, backend_id, key, job, rebuild_image, ctx))
                called = time.monotonic()
            ctx.save_checkpoint({"called": True, "polled_from": job.polls, **result})
        if result.get("image") and not self._image_saved(driver, call, job, ctx, result):
            return self._again(job, called)
        if result.pop("shelve_after_image", None) or checkpoint.get("shelve_after_image"):
            # the snapshot is whole: the backend, busy saving it until then, may shelve once it settles
            if self._get(job, call, backend_id, called).state is dc.ServerState.BUILDING:
                return self._again(job, called)
            driver.shelve(call, backend_id)
            called = time.monotonic()
            ctx.save_checkpoint({"shelve_after_image": False, "polled_from": job.polls})
        info = self._get(job, call, backend_id, called)
        if info.state not in EXPECTED[key]:
            if info.state is dc.ServerState.ERROR:
                raise Conflict(info.fault or f"The backend put the server in ERROR during {key}")
            return self._again(job, called)
        self.poller.forget(job.cloud, [backend_id])
        with ctx.session() as session:
            server = session.scalars(select(Server).where(Server.id == job.resource_id)).first()
            if server is None or server.deleted:
                return done(result)
            _record_info(server, info)
            server.vm_state = VM_STATE.get(info.state, server.vm_state)
            if server.task_state != S.DELETING:
                server.task_state = None
            self._after(session, server, key, job, result)
        return done(result)

    def _already_done(self, job: Job, call: CallContext, backend_id: str, key: str) -> bool | None:
        """A resumed attempt of an action whose call may have reached the backend before its worker
        died: True when the backend shows it did (the server left the state the action started
        from for one the action leads to; for an interface, the port is plugged or unplugged);
        None while the backend shows the server in transition (BUILDING: an action on a settled
        server started it, so the answer comes once it settles)."""
        info = self.driver(job.cloud).get(call, backend_id)
        if info.state is dc.ServerState.BUILDING and key not in ("attach_interface", "detach_interface"):
            return None
        if key == "attach_interface":
            return any(n.port_id == job.params["port"]["port_id"] for n in info.networks)
        if key == "detach_interface":
            # a backend that shows no ports at all (the passthrough reports none) cannot tell: the
            # detach is asked again, and a port no longer plugged is NotFound, taken as unplugged
            return bool(info.networks) and all(n.port_id != job.params["port_id"] for n in info.networks)
        started = job.checkpoint.get("from")
        return info.state in EXPECTED[key] and VM_STATE.get(info.state) != started

    def _call(self, driver: dc.ComputeDriver, call: CallContext, backend_id: str, key: str, job: Job,
              image: dc.Image | None, ctx: Any) -> dict[str, Any]:
        """Ask the backend for the action; returns what the record needs of it (a snapshot's image)."""
        p = job.params
        made: dict[str, Any] = {}
        if key in ("reboot_soft", "reboot_hard"):
            driver.reboot(call, backend_id, hard=key == "reboot_hard")
        elif key == "resize":
            driver.resize(call, backend_id, _driver_flavor(p["flavor"]))
        elif key == "confirmResize":
            driver.confirm_resize(call, backend_id)
        elif key == "revertResize":
            driver.revert_resize(call, backend_id)
        elif key == "rebuild":
            if image is None:  # deleted since the API took the rebuild: Nova's compute fails alike
                raise Conflict(f"Image {p.get('image_id')} could not be found.")
            if p.get("root_volume_id"):  # 2.93: the root volume is reimaged first (Cinder's os-reimage)
                volume_reimage.reimage(self.volumes.volume_core, call, p["root_volume_id"], p["image_id"])
            driver.rebuild(call, backend_id, image, p.get("admin_password"))
        elif key in ("createImage", "createBackup"):
            made = self._snapshot(driver, call, backend_id, job, ctx)
        elif key == "shelve":
            if p.get("image_id"):
                made = self._snapshot(driver, call, backend_id, job, ctx)
            if made and made["image"].get("status", "active") != "active":
                made["shelve_after_image"] = True  # a backend saving the image asynchronously is busy
            else:
                driver.shelve(call, backend_id)
        elif key == "changePassword":
            driver.change_password(call, backend_id, p["admin_password"])
        elif key == "rescue":
            driver.rescue(call, backend_id, image, p.get("admin_password"))
        elif key == "attach_interface":
            port = dc.NetworkAttachment(**{**p["port"], "fixed_ips": tuple(p["port"]["fixed_ips"])})
            driver.attach_port(call, backend_id, port)
        elif key == "detach_interface":
            try:
                driver.detach_port(call, backend_id, p["port_id"])
            except NotFound:
                pass  # never plugged (its attach failed) or already gone: the port is off either way
        elif key == "unshelve":
            driver.unshelve(call, backend_id, p.get("availability_zone"))
        else:
            getattr(driver, {"start": "start", "stop": "stop", "pause": "pause", "unpause": "unpause",
                             "suspend": "suspend", "resume": "resume", "unrescue": "unrescue"}[key])(call, backend_id)
        return made

    @staticmethod
    def _snapshot(driver: dc.ComputeDriver, call: CallContext, backend_id: str, job: Job, ctx: Any) -> dict[str, Any]:
        """The backend snapshots the server (idempotent on the operation's key); the reference to
        the image it made is checkpointed at once, so a resumed attempt records the same image."""
        if job.checkpoint.get("image"):
            return {"image": job.checkpoint["image"]}
        made = _image_ref(driver.snapshot(call, backend_id, job.params["image_name"]))
        ctx.save_checkpoint({"image": made})
        return {"image": made}

    def _image_saved(self, driver: dc.ComputeDriver, call: CallContext, job: Job, ctx: Any,
                     result: dict[str, Any]) -> bool:
        """True once the snapshot's image is whole on the backend. One the backend still saves
        (``queued``/``saving``: an upstream Glance) is asked for again on each poll; meanwhile the
        Overcast image shows ``saving``, and its location in the region is recorded at once, so
        neither the inventory takes the backend's image for one of the region's own nor an image
        deleted meanwhile leaves its backend copy behind (the location's BACKEND_DELETE removes it)."""
        made = result["image"]
        if made.get("status", "active") == "active":
            return True
        now = _image_ref(driver.get_image(call, made["backend_id"]))
        if now["status"] not in SAVING and now["status"] != "active":
            raise Conflict(f"The backend's image went {now['status']} while it was being saved")
        with ctx.session() as session:
            image = session.get(Image, job.params["image_id"])
            if image is None:  # deleted meanwhile: its backend copy is not to be kept
                driver.delete_image(call, made["backend_id"])
                result["image"] = {**now, "status": "active"}  # nothing left to wait for
                ctx.save_checkpoint({"image": result["image"]})
                return True
            if session.get(ImageLocation, (image.id, job.cloud)) is None:
                session.add(ImageLocation(image_id=image.id, cloud=job.cloud, backend_id=made["backend_id"],
                                          extra={**dict(made.get("extra") or {}), OWNED: True}))
            image.status = "saving"
        if now["status"] != "active":
            return False
        result["image"] = now
        ctx.save_checkpoint({"image": now})
        return True

    def _after(self, session: Session, server: Server, key: str, job: Job, result: dict[str, Any]) -> None:
        migrations.finished(session, server, key)
        if key == "resize" and server.new_flavor:
            server.flavor, server.new_flavor = server.new_flavor, server.flavor
            server.flavor_id = str(server.flavor["id"])
        elif key == "revertResize" and server.new_flavor:
            server.flavor, server.new_flavor = server.new_flavor, None
            server.flavor_id = str(server.flavor["id"])
        elif key == "confirmResize":
            server.new_flavor = None
        elif key == "shelve":
            server.host = None
            if job.params.get("image_id"):
                _activate(session, job.params["image_id"], result["image"], job.cloud)
        elif key == "unshelve" and server.shelved_image_id:
            image = session.get(Image, server.shelved_image_id)
            if image is not None:
                delete_backend_images(session, [image], request_id=job.request_id, user_id=job.user_id)
            server.shelved_image_id = None
        elif key == "rebuild":
            server.launched_at = utcnow()
        elif key == "createImage":
            _activate(session, job.params["image_id"], result["image"], job.cloud)
        elif key == "createBackup":
            _activate(session, job.params["image_id"], result["image"], job.cloud)
            self._rotate(session, server, job, job.params["backup_type"], int(job.params["rotation"]))

    @staticmethod
    def _rotate(session: Session, server: Server, job: Job, backup_type: str, keep: int) -> None:
        """Delete the server's ``backup_type`` backups beyond the newest ``keep`` (Nova's rotation)."""
        backups = [i for i in session.scalars(select(Image).where(Image.owner == server.project_id,
                                                                  Image.status == "active"))
                   if (i.properties or {}).get("image_type") == "backup"
                   and i.properties.get("instance_uuid") == server.id and i.properties.get("backup_type") == backup_type]
        backups.sort(key=lambda i: (i.created_at, i.id), reverse=True)
        delete_backend_images(session, backups[keep:], request_id=job.request_id, user_id=job.user_id)

    def action_failed(self, job: Job, session: Session) -> None:
        server = session.scalars(select(Server).where(Server.id == job.resource_id)).first()
        key = str(job.params.get("action") or "")
        if key in ("createImage", "createBackup", "shelve") and job.params.get("image_id"):
            image = session.get(Image, job.params["image_id"])
            made = (_checkpoint_of(session, job).get("image") or {}).get("backend_id")
            if image is not None:
                if made and session.get(ImageLocation, (image.id, job.cloud)) is None:  # made, never recorded
                    session.add(ImageLocation(image_id=image.id, cloud=job.cloud, backend_id=made,
                                              extra={OWNED: True}))
                    session.flush()
                delete_backend_images(session, [image], request_id=job.request_id, user_id=job.user_id)
            if server is not None and server.shelved_image_id == job.params["image_id"]:
                server.shelved_image_id = None
        if server is None or server.deleted:
            return
        migrations.failed(session, server.id, key)
        if key == "attach_interface":  # Nova takes the port off again when the plug fails
            port = session.get(Port, job.params["port"]["port_id"])
            if port is not None and port.device_id == server.id:
                networking.unplug(self.core.network, session, server, port)
        if server.task_state != S.DELETING:
            server.task_state = None
        if key == "resize":
            server.new_flavor = None
        server.updated_at = utcnow()

    # -- images the backend made ----------------------------------------------------------------
    def delete_backend_image(self, job: Job, ctx: Any) -> Any:
        """Delete an image of the region's backend whose Overcast image is gone (already gone is fine)."""
        self.driver(job.cloud).delete_image(job.call_context(), job.params["backend_id"])
        return done()

    def delete_backend_group(self, job: Job, ctx: Any) -> Any:
        """Delete the region backend's copy of a deleted server group (an unknown group is fine:
        the contract's ``delete_server_group`` succeeds for it)."""
        self.driver(job.cloud).delete_server_group(job.call_context(), job.params["group_id"])
        return done()

    # -- reconciler -----------------------------------------------------------------------------
    def refresh_inventory(self, cloud: str, ctx: Any) -> None:
        """What the region's backend offers (zones, flavors, images, pools), asked now and recorded."""
        driver = self.core.clouds.get(cloud)
        if driver is not None:
            inventory.refresh(ctx.session, cloud, driver, abandoned=ctx.abandoned)

    def reconcile(self, cloud: str, ctx: Any) -> None:
        """Servers deleted behind our back go to ERROR with a fault; power states follow the backend.

        A server missing from :meth:`list` is asked for with :meth:`get` before it is declared
        lost: a listing may be eventually consistent (EC2) or cut short, and only ``NotFound`` from
        the server's own ``get`` says it is gone (``Unavailable``, its host down: it is left as it
        is, as Nova leaves the instances of a compute that stopped reporting). A server on a host
        the listing names as unreached (:class:`~overcast.drivers.compute.ServerListing`) is left
        as it is without asking. A backend server that no Overcast server has (by
        backend id or build key) is logged once and left alone, as nova-compute does with a guest
        it does not know.
        """
        driver = self.driver(cloud)
        call = CallContext()
        listing = driver.list(call)
        unreached = dc.unreached_hosts(listing)    # hosts the listing could not ask: no news of them
        backend = {s.backend_id: s for s in listing}
        with ctx.session() as session:
            rows = session.scalars(select(Server).where(
                Server.cloud == cloud, Server.deleted.is_(False), Server.backend_id.is_not(None),
                Server.task_state.is_(None))).all()
            for server in rows:
                if ctx.abandoned.is_set():
                    return
                info = backend.get(server.backend_id)
                if info is None and server.host and server.host in unreached:
                    continue                # its host was not asked (down): left as it is
                if info is None:
                    try:
                        info = driver.get(call, server.backend_id)
                    except NotFound:
                        info = None
                    except Unavailable:     # its host cannot be asked now (down): left as it is
                        continue
                if info is None or info.state is dc.ServerState.DELETED:
                    if server.vm_state != S.ERROR:
                        now = utcnow()
                        server.vm_state = S.ERROR
                        server.power_state = 0
                        server.fault = {"code": 404, "message": "The server no longer exists on the backend.",
                                        "created": now.strftime("%Y-%m-%dT%H:%M:%SZ")}
                        server.updated_at = now
                    continue
                if info.state is dc.ServerState.BUILDING:
                    continue
                vm_state = VM_STATE.get(info.state)
                if vm_state and vm_state != server.vm_state or int(info.power_state) != server.power_state:
                    server.vm_state = vm_state or server.vm_state
                    server.power_state = int(info.power_state)
                    server.updated_at = utcnow()
            self.log_strays(session, cloud, backend)

    def log_strays(self, session: Session, cloud: str, backend: Mapping[str, dc.ServerInfo]) -> None:
        """Log (once each) the backend's servers that no Overcast server has; they are left alone.

        A server Overcast has deleted counts as known: the backend may list it a while after (a
        delete still running there, an EC2 instance shown ``terminated``, a listing taken before
        the delete finished), and it is not a stranger. So does a backend server in state DELETED.
        """
        candidates = {b: info for b, info in backend.items()
                      if (cloud, b) not in self.strays and info.state is not dc.ServerState.DELETED}
        if not candidates:
            return
        ids: set[str] = set()
        known_keys: set[str] = set()
        names = sorted(candidates)
        for start in range(0, len(names), _STRAY_CHUNK):  # under every database's bound-parameter limit
            chunk = names[start:start + _STRAY_CHUNK]
            keys = [k for k in (candidates[b].idempotency_key for b in chunk) if k]
            for backend_id, key in session.execute(select(Server.backend_id, Server.idempotency_key).where(
                    Server.cloud == cloud, or_(Server.backend_id.in_(chunk), Server.idempotency_key.in_(keys)))):
                if backend_id:
                    ids.add(backend_id)
                if key:
                    known_keys.add(key)
        strays = sorted(b for b, info in candidates.items() if b not in ids and info.idempotency_key not in known_keys)
        for backend_id in strays:
            self.strays.add((cloud, backend_id))
            info = backend[backend_id]
            LOG.warning("region %s: server %s (%s, on host %s) is on the backend but not in Overcast; left alone",
                        cloud, backend_id, info.name, info.host or "-")


def setup_for(core: ComputeCore) -> Callable[[Any], None]:
    """The ops setup for compute: ``OpsRuntime(store, settings, setups=[setup_for(core)])``."""
    handlers = ServerHandlers(core)

    def setup(runtime: Any) -> None:
        # a build was accepted (the API refuses creates while the breaker it sees is open): while
        # the breaker of the worker that runs it is open (breakers are per process; or the cloud
        # failed again just after it came back) it waits for the breaker's trial instead of
        # failing the server to ERROR; each call it makes still counts against its attempts
        runtime.registry.register(BUILD, handlers.build, on_failure=handlers.build_failed,
                                  event="compute__do_build_and_run_instance", timeout=120, when_open="defer",
                                  family="compute")
        runtime.registry.register(DELETE, handlers.delete, on_failure=handlers.delete_failed,
                                  event="compute_terminate_instance", timeout=120, when_open="defer",
                                  family="compute")
        runtime.registry.register(ACTION, handlers.action, on_failure=handlers.action_failed, timeout=300,
                                  family="compute")
        runtime.registry.register(BACKEND_DELETE, handlers.delete_backend_image, event="image_delete_backend",
                                  timeout=120, when_open="defer", family="compute")
        runtime.registry.register(server_groups.BACKEND_DELETE, handlers.delete_backend_group, timeout=120,
                                  when_open="defer", family="compute")
        runtime.reconciler.register("compute.servers", handlers.reconcile)
        runtime.reconciler.register("inventory", handlers.refresh_inventory)

    return setup
