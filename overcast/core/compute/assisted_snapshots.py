"""Assisted volume snapshots (``os-assisted-volume-snapshots``): Cinder's file-based volume drivers
(NFS, GlusterFS) ask Nova to snapshot a volume a server has attached, through the hypervisor, as
qcow2 overlay files. Nova's rules over Overcast's records: the volume's one block device mapping
finds the server, which must have a host and no task; the work is the region's compute driver's
(:attr:`~overcast.drivers.compute.Capability.VOLUME_SNAPSHOT`), done by an operation, as Nova
casts it to the compute host. Nova records no instance action for these.

When its part is done, Nova's compute tells Cinder (os-update_snapshot_status, progress ``90%``: "Nova
is done with its part"): ``creating`` after a create, ``deleting`` after a delete, ``error`` or
``error_deleting`` when the hypervisor failed. Overcast does the same to the Cinder snapshot of that id
in the region, so the snapshot's status and progress follow the work as Cinder shows them; an id Cinder
does not know (Tempest's random one) or a status Cinder's map refuses is only logged, as Nova does.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.core.compute.actions import FeatureNotSupported
from overcast.core.context import AuthContext
from overcast.core.errors import Invalid
from overcast.core.volume import snapshots as volume_snapshots
from overcast.core.volume import states as volume_states
from overcast.core.volume.volumes import find_volume
from overcast.drivers.compute import Capability
from overcast.drivers.errors import Conflict, DriverError, NotFound
from overcast.ops.engine import Job, done, enqueue
from overcast.store.compute import BlockDeviceMapping, Server
from overcast.store.volume import Snapshot as VolumeSnapshot

LOG = logging.getLogger(__name__)

CREATE = "server.volume_snapshot_create"
DELETE = "server.volume_snapshot_delete"
#: what Nova's compute reports to Cinder as the progress of a snapshot whose hypervisor part is done
NOVA_DONE = "90%"
#: operation kind -> (the status reported when the hypervisor's part succeeded, when it failed)
REPORTS = {CREATE: (volume_states.CREATING, volume_states.ERROR),
           DELETE: (volume_states.DELETING, volume_states.ERROR_DELETING)}


@dataclass(frozen=True)
class Snapshot:
    """What Nova answers: the id the caller gave (``create_info.id``, None without one) and the volume."""

    id: str | None
    volume_id: str


def _server_of(session: Session, volume_id: str, *, region: str, method: str,
               capabilities: Iterable[Capability]) -> Server:
    """The live server of ``region`` that has the volume, when it may take the snapshot call.

    :raises Invalid: no mapping (Nova's VolumeBDMNotFound), more than one (VolumeBDMIsMultiAttach),
        a server without a host (InstanceNotReady) or with a task (InstanceInvalidState): all 400 here.
    :raises FeatureNotSupported: the region's driver has no assisted volume snapshots.
    """
    servers = session.scalars(select(Server).join(BlockDeviceMapping, BlockDeviceMapping.server_id == Server.id).where(
        BlockDeviceMapping.volume_id == volume_id, Server.cloud == region, Server.deleted.is_(False))).all()
    if not servers:
        raise Invalid(f"No volume Block Device Mapping with id {volume_id}.")
    if len(servers) > 1:
        raise Invalid(f"Block Device Mapping {volume_id} is a multi-attach volume and is not valid for this "
                      "operation.")
    [server] = servers
    if not server.host or not server.backend_id:
        raise Invalid(f"Instance {server.id} is not ready")
    if server.task_state is not None:
        raise Invalid(f"Instance {server.id} in task_state {server.task_state}. Cannot {method} while the "
                      "instance is in this state.")
    if Capability.VOLUME_SNAPSHOT not in set(capabilities):
        raise FeatureNotSupported(f"The compute backend of region {region} cannot snapshot attached volumes.")
    return server


def create(session: Session, ctx: AuthContext, volume_id: str, *, snapshot_id: str, new_file: str,
           snapshot_ref: str | None, region: str, capabilities: Iterable[Capability],
           request_id: str | None) -> Snapshot:
    """Enqueue the snapshot of an attached volume (``create_info``: ``snapshot_id``, ``new_file``,
    the optional ``id`` answered as ``snapshot_ref``). :raises Invalid, FeatureNotSupported: see
    :func:`_server_of`."""
    server = _server_of(session, volume_id, region=region, method="volume_snapshot_create",
                        capabilities=capabilities)
    enqueue(session, kind=CREATE, cloud=region, resource_type="server", resource_id=server.id,
            params={"volume_id": volume_id, "snapshot_id": snapshot_id, "new_file": new_file},
            request_id=request_id, user_id=ctx.user_id, project_id=server.project_id)
    return Snapshot(snapshot_ref, volume_id)


def delete(session: Session, ctx: AuthContext, volume_id: str, snapshot_id: str, *, region: str,
           capabilities: Iterable[Capability], request_id: str | None) -> None:
    """Enqueue the merge of snapshot ``snapshot_id`` out of the volume's chain.
    :raises Invalid, FeatureNotSupported: see :func:`_server_of`."""
    server = _server_of(session, volume_id, region=region, method="volume_snapshot_delete",
                        capabilities=capabilities)
    enqueue(session, kind=DELETE, cloud=region, resource_type="server", resource_id=server.id,
            params={"volume_id": volume_id, "snapshot_id": snapshot_id}, request_id=request_id,
            user_id=ctx.user_id, project_id=server.project_id)


class Handlers:
    """The worker's half: the compute driver takes or merges the snapshot on the backend."""

    def __init__(self, core: Any):
        self.core = core

    def _backend_ids(self, ctx: Any, job: Job) -> tuple[str, str] | None:
        """(server backend id, volume backend id), None when the server or its volume is gone."""
        with ctx.session() as session:
            server = session.scalars(select(Server).where(Server.id == job.resource_id)).first()
            volume = find_volume(session, job.params["volume_id"])
            if server is None or server.deleted or not server.backend_id or volume is None:
                return None
            return server.backend_id, volume.backend_id or volume.id

    def _run(self, job: Job, ctx: Any, call: Callable[..., None], *args: str) -> Any:
        found = self._backend_ids(ctx, job)
        if found is None:
            return done({"skipped": "the server or the volume is gone"})
        succeeded, failed = REPORTS[job.kind]
        try:
            call(job.call_context(), found[0], found[1], *args)
        except NotFound as exc:  # detached meanwhile: Nova's compute fails the same way
            self._report(job, ctx, failed)
            raise Conflict(str(exc)) from None
        except DriverError as exc:
            if not exc.retryable:  # a retryable failure is run again: its outcome is reported then
                self._report(job, ctx, failed)
            raise
        self._report(job, ctx, succeeded)
        return done({"volume_id": job.params["volume_id"], "snapshot_id": job.params["snapshot_id"]})

    @staticmethod
    def _report(job: Job, ctx: Any, status: str) -> None:
        """Nova's os-update_snapshot_status call to Cinder: ``status`` with progress :data:`NOVA_DONE`
        on the region's snapshot of that id; an unknown id or a refused status is logged, not raised."""
        snapshot_id = job.params["snapshot_id"]
        with ctx.session() as session:
            snapshot = session.scalars(select(VolumeSnapshot).where(
                VolumeSnapshot.id == snapshot_id, VolumeSnapshot.cloud == job.cloud)).first()
            if snapshot is None:
                LOG.info("assisted snapshot %s: Cinder has no such snapshot; status %s not reported",
                         snapshot_id, status)
                return
            try:
                volume_snapshots.update_status(snapshot, status, NOVA_DONE)
            except Invalid as exc:
                LOG.warning("assisted snapshot %s: Cinder refused status %s: %s", snapshot_id, status, exc)

    def create(self, job: Job, ctx: Any) -> Any:
        driver = self.core.compute_driver(job.cloud)
        return self._run(job, ctx, driver.volume_snapshot_create, job.params["snapshot_id"], job.params["new_file"])

    def delete(self, job: Job, ctx: Any) -> Any:
        driver = self.core.compute_driver(job.cloud)
        return self._run(job, ctx, driver.volume_snapshot_delete, job.params["snapshot_id"])


def register(runtime: Any, core: Any) -> None:
    """Register the two handlers (called by the server volumes' ops setup)."""
    handlers = Handlers(core)
    runtime.registry.register(CREATE, handlers.create, timeout=120, family="compute")
    runtime.registry.register(DELETE, handlers.delete, timeout=120, family="compute")
