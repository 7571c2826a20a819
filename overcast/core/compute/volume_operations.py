"""The worker's half of a server's volumes: the ``server.attach_volume``,
``server.detach_volume`` and ``server.extend_volume`` handlers, the volumes a ``server.build`` boots with, and what a
``server.delete`` does to the server's volumes.

Nova's compute manager, over Overcast's records: a volume is exported by the region's volume
driver (Cinder's ``attachment_update`` with a connector), attached by the compute driver, and its
Cinder attachment completed (``in-use``); detaching runs the other way and the volume is
``available`` again. Driver calls run outside store transactions; each step is recorded as it
is done, so a retried operation resumes where it stopped.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.core.compute import ComputeCore, assisted_snapshots, volumes
from overcast.core.compute import states as S
from overcast.core.compute.block_devices import reserve
from overcast.core.compute.networking import acting_for
from overcast.core.errors import Invalid, OvercastError
from overcast.core.volume import build_volume
from overcast.core.volume import states as volume_states
from overcast.core.volume import volumes as volume_rules
from overcast.core.volume.attachments import mark_attached
from overcast.core.volume.exports import record_connection
from overcast.core.volume.volumes import find_volume
from overcast.drivers import compute as dc
from overcast.drivers.errors import BuildFailed, Conflict, DriverError, NotFound
from overcast.drivers.volume import VolumeDriver
from overcast.ops.engine import Job, done
from overcast.store.compute import BlockDeviceMapping, Server
from overcast.store.models import utcnow
from overcast.store.volume import Volume, VolumeAttachment

LOG = logging.getLogger(__name__)


def _server(session: Session, server_id: str) -> Server | None:
    """The server if it is live and not being deleted."""
    server = session.scalars(select(Server).where(Server.id == server_id)).first()
    if server is None or server.deleted or server.task_state == S.DELETING:
        return None
    return server


def _attachment(volume: Volume, attachment_id: str | None) -> VolumeAttachment | None:
    return next((a for a in volume.attachments if a.id == attachment_id), None)


class _Attached:
    """One mapping of a live server with its volume and Cinder attachment, as read in one transaction."""

    def __init__(self, server: Server, mapping: BlockDeviceMapping, volume: Volume, attachment: VolumeAttachment):
        self.server_backend = server.backend_id
        self.volume_id, self.volume_backend, self.cloud = volume.id, volume.backend_id, volume.cloud
        self.attachment_id, self.device = attachment.id, mapping.device_name
        self.host = attachment.attached_host or server.host or server.id
        self.exported = attachment.connection_info is not None


class ServerVolumes:
    """Handlers and build/delete steps for the volumes of the servers of every region."""

    def __init__(self, core: ComputeCore):
        self.core = core
        self.volume_core = build_volume(core)

    def volume_driver(self, cloud: str) -> VolumeDriver:
        """:raises NotImplementedYet: the region offers no block storage."""
        return self.volume_core.volume_driver(cloud)

    def _export(self, job: Job, ctx: Any, found: _Attached) -> None:
        """Export the volume to the server's host and record the connection (the volume is attaching)."""
        conn = self.volume_driver(found.cloud).attach(job.call_context(), found.volume_backend or "", found.host, "rw")
        with ctx.session() as session:
            volume = find_volume(session, found.volume_id)
            attachment = _attachment(volume, found.attachment_id) if volume is not None else None
            if attachment is not None:
                record_connection(attachment, conn, {"host": found.host, "mountpoint": found.device})
                if volume.status != volume_states.IN_USE:
                    volume.status = volume_states.ATTACHING
                volume.updated_at = utcnow()

    # -- build ------------------------------------------------------------------------------------
    def prepare(self, job: Job, ctx: Any) -> bool:
        """Make, reserve and export the volumes a new server boots with; True once all are in use.

        Volumes to be made from an image, a snapshot or nothing are created here (Cinder's
        ``volume.create`` operations); the build polls until they are available.

        :raises BuildFailed: the region's compute driver cannot attach volumes, or a volume could
            not be made or reserved (Nova's "Build of instance ... aborted" messages).
        """
        with ctx.session() as session:
            server = _server(session, job.resource_id)
            if server is None or not server.volume_mappings:
                return True
            if dc.Capability.VOLUME_ATTACH not in self.core.compute_driver(server.cloud).capabilities:
                raise BuildFailed(f"Build of instance {server.id} aborted: the compute driver of region "
                                  f"{server.cloud} cannot attach volumes.")
            server.task_state = S.BLOCK_DEVICE_MAPPING
            waiting = False
            for mapping in server.volume_mappings:
                volume = self._volume_of(session, server, mapping, job)
                if volume.status == volume_states.CREATING:
                    waiting = True
                elif mapping.attachment_id is None:
                    if volume.status != volume_states.AVAILABLE:
                        seconds = int((utcnow() - volume.created_at).total_seconds())
                        raise BuildFailed(f"Build of instance {server.id} aborted: Volume {volume.id} did not finish "
                                          f"being created even after we waited {seconds} seconds or {job.polls + 1} "
                                          f"attempts. And its status is {volume.status}.")
                    mapping.attachment_id = self._reserve(session, server, volume)
            if waiting:
                return False
            pending = [_Attached(server, m, v, a) for m, v, a in self._mapped(session, server)
                       if a.attach_status != volume_states.ATTACHED]
        for found in pending:
            if not found.exported:
                self._export(job, ctx, found)
        with ctx.session() as session:
            for found in pending:
                volume = find_volume(session, found.volume_id)
                attachment = _attachment(volume, found.attachment_id) if volume is not None else None
                if attachment is None:
                    raise BuildFailed(f"Build of instance {job.resource_id} aborted: Volume {found.volume_id} was "
                                      "detached or deleted while the server was being built.")
                mark_attached(volume, attachment)
        return True

    def _volume_of(self, session: Session, server: Server, mapping: BlockDeviceMapping, job: Job) -> Volume:
        """The mapping's volume, made now for image, snapshot and blank sources. :raises BuildFailed:"""
        if mapping.volume_id is None:
            spec = volume_rules.VolumeSpec(
                size=mapping.volume_size, name=f"{server.id}-blank-vol" if mapping.source_type == "blank" else "",
                volume_type=mapping.volume_type,
                image_ref=mapping.source_id if mapping.source_type == "image" else None,
                snapshot_id=mapping.source_id if mapping.source_type == "snapshot" else None)
            try:
                self.volume_driver(server.cloud)
                made = volume_rules.create(session, acting_for(server), spec, region=server.cloud,
                                           request_id=job.request_id)
            except OvercastError as exc:
                raise BuildFailed(f"Build of instance {server.id} aborted: {exc.message}") from None
            mapping.volume_id = made.id
            return made
        volume = find_volume(session, mapping.volume_id)
        if volume is None:
            raise BuildFailed(f"Build of instance {server.id} aborted: Volume {mapping.volume_id} could not be found.")
        return volume

    @staticmethod
    def _reserve(session: Session, server: Server, volume: Volume) -> str:
        """Cinder's reservation of a volume the build made. :raises BuildFailed: Cinder refused."""
        try:
            return reserve(session, acting_for(server), volume.id, server).id
        except OvercastError as exc:
            raise BuildFailed(f"Build of instance {server.id} aborted: {exc.message}") from None

    @staticmethod
    def _mapped(session: Session, server: Server) -> list[tuple[BlockDeviceMapping, Volume, VolumeAttachment]]:
        """The server's mappings whose volume and attachment exist."""
        out = []
        for mapping in server.volume_mappings:
            volume = find_volume(session, mapping.volume_id)
            attachment = _attachment(volume, mapping.attachment_id) if volume is not None else None
            if attachment is not None:
                out.append((mapping, volume, attachment))
        return out

    def block_devices(self, session: Session, server: Server) -> tuple[dc.BlockDevice, ...]:
        """The exported volumes the compute driver builds the server with (root first)."""
        return tuple(dc.BlockDevice(volume_id=volume.backend_id or "", device=mapping.device_name,
                                    boot_index=mapping.boot_index, connection=dict(attachment.connection_info or {}))
                     for mapping, volume, attachment in sorted(self._mapped(session, server),
                                                               key=lambda t: t[0].boot_index != 0))

    # -- delete -----------------------------------------------------------------------------------
    def release(self, job: Job, ctx: Any) -> None:
        """Detach every volume of a server being deleted; delete those marked delete_on_termination.

        A volume Cinder will not delete (it has snapshots) stays, detached, as Nova leaves it.
        """
        with ctx.session() as session:
            server = session.scalars(select(Server).where(Server.id == job.resource_id)).first()
            if server is None or not server.volume_mappings:
                return
            exports = [(v.cloud, v.backend_id, a.attached_host or server.id)
                       for _, v, a in self._mapped(session, server) if a.connection_info and v.backend_id]
        for cloud, backend_id, host in exports:
            try:
                self.volume_driver(cloud).detach(job.call_context(), backend_id, host)
            except NotFound:
                pass
        with ctx.session() as session:
            server = session.scalars(select(Server).where(Server.id == job.resource_id)).first()
            for mapping in list(server.volume_mappings if server is not None else []):
                volume = find_volume(session, mapping.volume_id)
                if volume is not None:
                    self._detach_record(volume, mapping.attachment_id)
                    if mapping.delete_on_termination:
                        session.flush()
                        try:
                            volume_rules.delete(session, acting_for(server), volume, force=True,
                                                request_id=job.request_id)
                        except Invalid as exc:
                            LOG.info("volume %s of deleted server %s stays: %s", volume.id, server.id, exc.message)
                server.volume_mappings.remove(mapping)

    @staticmethod
    def _detach_record(volume: Volume, attachment_id: str | None) -> None:
        """Drop the volume's attachment (if it still has it); the volume settles."""
        if _attachment(volume, attachment_id) is not None:
            volume_rules.detach(volume, attachment_id)

    # -- attach and detach ------------------------------------------------------------------------
    def _found(self, ctx: Any, job: Job) -> _Attached | None:
        with ctx.session() as session:
            mapping = session.scalar(select(BlockDeviceMapping).where(BlockDeviceMapping.id == job.params["mapping_id"]))
            server = _server(session, job.resource_id) if mapping is not None else None
            volume = find_volume(session, mapping.volume_id) if server is not None else None
            attachment = _attachment(volume, mapping.attachment_id) if volume is not None else None
            return _Attached(server, mapping, volume, attachment) if attachment is not None else None

    def attach(self, job: Job, ctx: Any) -> Any:
        """Export, attach on the backend, complete: the volume is in-use."""
        found = self._found(ctx, job)
        if found is None:
            return done({"skipped": "the server, volume or mapping is gone"})
        if found.server_backend is None:
            raise Conflict(f"Instance {job.resource_id} has no backend server")
        if not found.exported:
            self._export(job, ctx, found)
        call = job.call_context()
        if not job.checkpoint.get("attached"):
            retried = job.checkpoint.get("attaching", False)
            ctx.save_checkpoint({"attaching": True})
            try:
                self.core.compute_driver(job.cloud).attach_volume(call, found.server_backend,
                                                                  found.volume_backend or "", found.device)
            except Conflict:
                if not retried:  # on a retry, the first attempt may have attached it already
                    raise
            except DriverError as exc:
                if not exc.retryable:
                    self.volume_driver(found.cloud).detach(call, found.volume_backend or "", found.host)
                raise
            ctx.save_checkpoint({"attaching": True, "attached": True})
        with ctx.session() as session:
            volume = find_volume(session, found.volume_id)
            attachment = _attachment(volume, found.attachment_id) if volume is not None else None
            if attachment is not None:
                mark_attached(volume, attachment)
        return done({"device": found.device})

    def attach_failed(self, job: Job, session: Session) -> None:
        """The attach failed: the volume is available again and the mapping is gone, as in Nova."""
        mapping = session.scalar(select(BlockDeviceMapping).where(BlockDeviceMapping.id == job.params["mapping_id"]))
        if mapping is None:
            return
        volume = find_volume(session, mapping.volume_id)
        if volume is not None:
            self._detach_record(volume, mapping.attachment_id)
        session.delete(mapping)

    def detach(self, job: Job, ctx: Any) -> Any:
        """Detach on the backend, unexport, drop the attachment: the volume is available."""
        found = self._found(ctx, job)
        if found is None:
            return done({"skipped": "the server, volume or mapping is gone"})
        call = job.call_context()
        if found.server_backend is not None and not job.checkpoint.get("detached"):
            try:
                self.core.compute_driver(job.cloud).detach_volume(call, found.server_backend,
                                                                  found.volume_backend or "")
            except NotFound:  # not attached on the backend (any more)
                pass
            ctx.save_checkpoint({"detached": True})
        if found.exported and found.volume_backend:
            self.volume_driver(found.cloud).detach(call, found.volume_backend, found.host)
        with ctx.session() as session:
            mapping = session.scalar(select(BlockDeviceMapping).where(BlockDeviceMapping.id == job.params["mapping_id"]))
            volume = find_volume(session, found.volume_id)
            if volume is not None:
                self._detach_record(volume, found.attachment_id)
            if mapping is not None:
                session.delete(mapping)
        return done()

    def extended(self, job: Job, ctx: Any) -> Any:
        """Cinder grew a volume the server has attached (``volume-extended``). Nova's compute tells
        the guest; a driver's backend volume has grown already, so what is left is the record.

        :raises Conflict: the volume is no longer attached to the server (the action fails).
        """
        volume_id = job.params["volume_id"]
        with ctx.session() as session:
            server = _server(session, job.resource_id)
            mapped = server is not None and session.scalar(select(BlockDeviceMapping.id).where(
                BlockDeviceMapping.server_id == server.id, BlockDeviceMapping.volume_id == volume_id))
        if not mapped:
            raise Conflict(f"Volume {volume_id} is not attached to instance {job.resource_id}")
        return done({"volume_id": volume_id})

    def detach_failed(self, job: Job, session: Session) -> None:
        """The detach failed: the volume is in-use again."""
        mapping = session.scalar(select(BlockDeviceMapping).where(BlockDeviceMapping.id == job.params["mapping_id"]))
        volume = find_volume(session, mapping.volume_id) if mapping is not None else None
        if volume is not None:
            volume_rules.roll_detaching(volume)


def setup_for(core: ComputeCore) -> Callable[[Any], None]:
    """The ops setup for server volumes: ``OpsRuntime(..., setups=[..., setup_for(core)])``."""
    handlers = ServerVolumes(core)

    def setup(runtime: Any) -> None:
        runtime.registry.register(volumes.ATTACH, handlers.attach, on_failure=handlers.attach_failed,
                                  event=volumes.ATTACH_RULE.event, timeout=120, family="compute")
        runtime.registry.register(volumes.DETACH, handlers.detach, on_failure=handlers.detach_failed,
                                  event=volumes.DETACH_RULE.event, timeout=120, family="compute")
        runtime.registry.register(volumes.EXTEND, handlers.extended, event=volumes.EXTEND_RULE.event, timeout=60,
                                  family="compute")
        assisted_snapshots.register(runtime, core)

    return setup
