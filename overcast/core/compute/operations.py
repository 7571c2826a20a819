"""The compute operations: ``server.build``, ``server.delete`` and ``server.action`` handlers, and
the reconciler that keeps server records in step with each region's backend.

Handlers run in workers (never in a request). Each reads the server record, calls the region's
driver, polls :meth:`get` until the backend reaches the state the operation expects
(``poll_again``), then records the outcome. Failures come back through the ``on_failure`` hooks,
which run in the engine's transaction: a failed build puts the server in ERROR with a ``fault``
(the driver's one-line message, never a traceback); a failed action clears the task_state.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import asdict
from typing import Any, Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.core.compute import ComputeCore, migrations, networking, server_groups
from overcast.core.compute import states as S
from overcast.core.compute.servers import ACTION, BUILD, DELETE, mark_deleted
from overcast.core.compute.volume_operations import ServerVolumes
from overcast.core.errors import OvercastError
from overcast.core.image import stores as image_stores
from overcast.drivers import compute as dc
from overcast.drivers.errors import BuildFailed, Conflict, NotFound
from overcast.ops.engine import Job, done, poll_again
from overcast.ops.models import Operation
from overcast.store.compute import Server, ServerGroup
from overcast.store.image import Image
from overcast.store.network import Port
from overcast.store.models import utcnow

LOG = logging.getLogger(__name__)

POLL_SECONDS = 1.0
#: how often a build looks again whether the network backend has wired its ports
PORT_POLL_SECONDS = 0.1

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
    "resize": frozenset({D.RESIZED}), "confirmResize": frozenset({D.ACTIVE, D.STOPPED}),
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


def _driver_image(image: Image | None) -> dc.Image | None:
    if image is None:
        return None
    return dc.Image(id=image.id, name=image.name or "", min_disk_gb=image.min_disk or 0,
                    min_ram_mb=image.min_ram or 0, disk_format=image.disk_format or "qcow2",
                    container_format=image.container_format or "bare",
                    properties={k: str(v) for k, v in (image.properties or {}).items()})


def _record_info(server: Server, info: dc.ServerInfo) -> None:
    server.power_state = int(info.power_state)
    server.host = info.host or server.host
    server.availability_zone = info.availability_zone or server.availability_zone
    server.updated_at = utcnow()


def _activate(session: Session, image_id: str, written: dict[str, Any]) -> None:
    """A snapshot image whose data the store has written: active, with its size and checksums."""
    image = session.get(Image, image_id)
    if image is not None:
        image.status = "active"
        for name in ("size", "checksum", "os_hash_algo", "os_hash_value", "location"):
            if name in written:
                setattr(image, name, written[name])


def _error_message(session: Session, job: Job) -> str:
    op = session.get(Operation, job.id)
    session.refresh(op)
    return (op.error if op is not None and op.error else "Unknown error")


class ServerHandlers:
    def __init__(self, core: ComputeCore):
        self.core = core
        #: the volumes servers boot with and lose when they go
        self.volumes = ServerVolumes(core)
        #: where snapshots (``createImage``) go: the image service's store for new data
        self.image_data = image_stores.from_settings(core.settings)

    def driver(self, cloud: str) -> dc.ComputeDriver:
        return self.core.compute_driver(cloud)

    # -- build ----------------------------------------------------------------------------------
    def build(self, job: Job, ctx: Any) -> Any:
        driver = self.driver(job.cloud)
        if not job.checkpoint.get("backend_id") and not self.volumes.prepare(job, ctx):
            return poll_again(POLL_SECONDS)  # the volumes it boots with are still being made
        with ctx.session() as session:
            server = session.scalars(select(Server).where(Server.id == job.resource_id)).first()
            if server is None or server.deleted:
                return done({"skipped": "server deleted"})
            deleting = server.task_state == S.DELETING
            recorded = server.backend_id
            backend_id = recorded or job.checkpoint.get("backend_id")
            request = None if backend_id or deleting else self._build_request(session, server, job)
            # where the provider picks the addresses, the backend must have made the ports first
            unwired = (request is not None and self.core.network.at(job.cloud).provider_addresses
                       and not self._ports_ready(session, server, job))
        if deleting:
            return done({"skipped": "server is being deleted"})
        if unwired:
            return poll_again(PORT_POLL_SECONDS)
        if not backend_id:
            backend_id = driver.build(request)
            ctx.save_checkpoint({"backend_id": backend_id})
        if not recorded:  # also after a crash between the checkpoint and this write
            with ctx.session() as session:
                server = session.scalars(select(Server).where(Server.id == job.resource_id)).first()
                gone = server is None or server.deleted
                if not gone:
                    server.backend_id = backend_id
                if gone or server.task_state == S.DELETING:
                    if gone:  # its delete already ran: remove what this build made, leave no orphan
                        driver.delete(backend_id)
                    return done({"backend_id": backend_id, "skipped": "server deleted while building"})
                server.task_state = S.SPAWNING
        info = driver.get(backend_id)
        if info.state is dc.ServerState.BUILDING:
            with ctx.session() as session:
                server = session.scalars(select(Server).where(Server.id == job.resource_id)).first()
                if server is not None and not server.deleted:
                    server.progress = info.progress
                    server.task_state = server.task_state if server.task_state == S.DELETING else S.SPAWNING
            return poll_again(POLL_SECONDS)
        if info.state is dc.ServerState.ERROR:
            raise BuildFailed(info.fault or "The backend put the server in ERROR while building it.")
        with ctx.session() as session:
            server = session.scalars(select(Server).where(Server.id == job.resource_id)).first()
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

    def _build_request(self, session: Session, server: Server, job: Job) -> dc.BuildRequest:
        """The driver's request, after the server's ports are made (in this transaction).

        :raises BuildFailed: Neutron refused a port (Nova's "Failed to allocate the network(s)").
        """
        try:
            ports = networking.allocate(self.core.network, session, server)
        except OvercastError as exc:
            raise BuildFailed(f"Build of instance {server.id} aborted: Failed to allocate the network(s), "
                              f"not rescheduling. {exc.message}") from exc
        image = session.get(Image, server.image_id) if server.image_id else None
        key = None
        if server.key_name:
            key = dc.KeyPair(name=server.key_name, public_key=server.key_data or "")
        group = None
        if server.server_group_id:
            row = session.get(ServerGroup, server.server_group_id)
            if row is not None:
                group = dc.ServerGroup(id=row.id, name=row.name, policy=row.policy)
        user_data = base64.b64decode(server.user_data) if server.user_data else None
        return dc.BuildRequest(
            name=server.name, flavor=_driver_flavor(server.flavor), image=_driver_image(image),
            idempotency_key=server.idempotency_key, key_pair=key,
            security_groups=tuple(g.get("name", "") for g in server.security_groups or []),
            networks=networking.attachments(session, ports), config_drive=server.config_drive,
            user_data=user_data, server_group=group,
            availability_zone=server.requested_zone,
            metadata={m.key: m.value for m in server.metadata_items},
            admin_password=job.params.get("admin_password"),
            block_devices=self.volumes.block_devices(session, server))

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
        with ctx.session() as session:
            server = session.scalars(select(Server).where(Server.id == job.resource_id)).first()
            if server is None or server.deleted:
                return done()
            backend_id, key = server.backend_id, server.idempotency_key
        if backend_id is None:
            found = driver.find(key)  # a build may have made it before recording the id
            backend_id = found.backend_id if found is not None else None
        if backend_id is not None:
            driver.delete(backend_id)
            try:
                info = driver.get(backend_id)
                if info.state is not dc.ServerState.DELETED:
                    return poll_again(POLL_SECONDS)
            except NotFound:
                pass
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
        key = job.params["action"]
        with ctx.session() as session:
            server = session.scalars(select(Server).where(Server.id == job.resource_id)).first()
            if server is None or server.deleted or server.task_state == S.DELETING:
                return done({"skipped": "server deleted"})
            backend_id = server.backend_id
            migrations.running(session, server.id, key)
            image = session.get(Image, job.params["image_id"]) if key == "rebuild" else None
            rebuild_image = _driver_image(image)
        if backend_id is None:
            raise Conflict(f"Instance {job.resource_id} has no backend server")
        result: dict[str, Any] = {}
        if not job.checkpoint.get("called"):
            result = self._call(driver, backend_id, key, job, rebuild_image) or {}
            ctx.save_checkpoint({"called": True, **result})
        else:
            result = {k: v for k, v in job.checkpoint.items() if k != "called"}
        info = driver.get(backend_id)
        if info.state not in EXPECTED[key]:
            if info.state is dc.ServerState.ERROR:
                raise Conflict(info.fault or f"The backend put the server in ERROR during {key}")
            return poll_again(POLL_SECONDS)
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

    def _call(self, driver: dc.ComputeDriver, backend_id: str, key: str, job: Job,
              image: dc.Image | None) -> dict[str, Any] | None:
        p = job.params
        if key in ("reboot_soft", "reboot_hard"):
            driver.reboot(backend_id, hard=key == "reboot_hard")
        elif key == "resize":
            driver.resize(backend_id, _driver_flavor(p["flavor"]))
        elif key == "confirmResize":
            driver.confirm_resize(backend_id)
        elif key == "revertResize":
            driver.revert_resize(backend_id)
        elif key == "rebuild":
            driver.rebuild(backend_id, image, p.get("admin_password"))
        elif key in ("createImage", "createBackup"):
            return self._snapshot(driver, backend_id, p)
        elif key == "shelve":
            saved = self._snapshot(driver, backend_id, p) if p.get("image_id") else None
            driver.shelve(backend_id)
            return saved
        elif key == "changePassword":
            driver.change_password(backend_id, p["admin_password"])
        elif key == "rescue":
            driver.rescue(backend_id, None, p.get("admin_password"))
        elif key == "attach_interface":
            port = dc.NetworkAttachment(**{**p["port"], "fixed_ips": tuple(p["port"]["fixed_ips"])})
            driver.attach_port(backend_id, port)
        elif key == "detach_interface":
            try:
                driver.detach_port(backend_id, p["port_id"])
            except NotFound:
                pass  # never plugged (its attach failed) or already gone: the port is off either way
        else:
            getattr(driver, {"start": "start", "stop": "stop", "pause": "pause", "unpause": "unpause",
                             "suspend": "suspend", "resume": "resume", "unrescue": "unrescue",
                             "unshelve": "unshelve"}[key])(backend_id)
        return None

    def _snapshot(self, driver: dc.ComputeDriver, backend_id: str, p: dict[str, Any]) -> dict[str, Any]:
        """The server's disk into the image ``p["image_id"]``; what the store wrote."""
        return asdict(self.image_data.put(p["image_id"], [driver.snapshot(backend_id, p["image_name"])]))

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
                _activate(session, job.params["image_id"], result)
        elif key == "unshelve" and server.shelved_image_id:
            image = session.get(Image, server.shelved_image_id)
            if image is not None:
                session.delete(image)
                self.image_data.delete(image.id)
            server.shelved_image_id = None
        elif key == "rebuild":
            server.launched_at = utcnow()
        elif key == "createImage":
            _activate(session, job.params["image_id"], result)
        elif key == "createBackup":
            _activate(session, job.params["image_id"], result)
            self._rotate(session, server, job.params["backup_type"], int(job.params["rotation"]))

    def _rotate(self, session: Session, server: Server, backup_type: str, keep: int) -> None:
        """Delete the server's ``backup_type`` backups beyond the newest ``keep`` (Nova's rotation)."""
        backups = [i for i in session.scalars(select(Image).where(Image.owner == server.project_id,
                                                                  Image.status == "active"))
                   if (i.properties or {}).get("image_type") == "backup"
                   and i.properties.get("instance_uuid") == server.id and i.properties.get("backup_type") == backup_type]
        backups.sort(key=lambda i: (i.created_at, i.id), reverse=True)
        for image in backups[keep:]:
            session.delete(image)
            self.image_data.delete(image.id)

    def action_failed(self, job: Job, session: Session) -> None:
        server = session.scalars(select(Server).where(Server.id == job.resource_id)).first()
        key = job.params.get("action")
        if key in ("createImage", "createBackup", "shelve") and job.params.get("image_id"):
            image = session.get(Image, job.params["image_id"])
            if image is not None:
                session.delete(image)
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

    # -- reconciler -----------------------------------------------------------------------------
    def reconcile(self, cloud: str, ctx: Any) -> None:
        """Servers deleted behind our back go to ERROR with a fault; power states follow the backend."""
        driver = self.driver(cloud)
        backend = {s.backend_id: s for s in driver.list()}
        with ctx.session() as session:
            rows = session.scalars(select(Server).where(
                Server.cloud == cloud, Server.deleted.is_(False), Server.backend_id.is_not(None),
                Server.task_state.is_(None))).all()
            for server in rows:
                if ctx.abandoned.is_set():
                    return
                info = backend.get(server.backend_id)
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


def setup_for(core: ComputeCore) -> Callable[[Any], None]:
    """The ops setup for compute: ``OpsRuntime(store, settings, setups=[setup_for(core)])``."""
    handlers = ServerHandlers(core)

    def setup(runtime: Any) -> None:
        runtime.registry.register(BUILD, handlers.build, on_failure=handlers.build_failed,
                                  event="compute__do_build_and_run_instance", timeout=120)
        runtime.registry.register(DELETE, handlers.delete, on_failure=handlers.delete_failed,
                                  event="compute_terminate_instance", timeout=120)
        runtime.registry.register(ACTION, handlers.action, on_failure=handlers.action_failed, timeout=300)
        runtime.reconciler.register("compute.servers", handlers.reconcile)

    return setup
