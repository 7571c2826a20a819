"""Exporting a volume to a host (Cinder's initialize_connection / attachment update with a
connector) and unexporting it, through the operations engine.

A request that must answer with the connection info (``os-initialize_connection``, an attachment
created or updated with a connector) records its intent and an ``volume.export`` operation in its
transaction, then waits for that operation (:func:`wait`) with the region's timeout; a worker asks
the driver (with the cloud's timeout, retries and breaker) and records the connection on the
attachment. Cinder's API makes the same call synchronously (an RPC ``call`` to its volume service);
here it is durable: a worker that dies resumes it, and ``attach`` exporting twice to one host is
the same export. If the backend is unavailable (or the breaker open, or the wait runs out) the
request answers 503 with ``Retry-After`` and the attachment stays ``reserved``.

Unexporting (``os-terminate_connection``, an attachment deleted) needs no answer: the records
change at once and ``volume.unexport`` runs after commit, waiting while the breaker is open.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from sqlalchemy.orm import Session

from overcast.core.errors import Conflict, Invalid, NotFound, ServiceUnavailable
from overcast.core.volume import BackendError, states
from overcast.core.volume.volumes import find_volume, touch
from overcast.drivers.errors import NotFound as DriverNotFound
from overcast.drivers.volume import Connection
from overcast.ops.engine import Job, done, enqueue, wait_for
from overcast.ops.models import FAILED
from overcast.store.db import Store
from overcast.store.volume import Volume, VolumeAttachment

EXPORT = "volume.export"
UNEXPORT = "volume.unexport"
#: how long a request waits for its export (the handler's own timeout is longer; a wait that runs
#: out answers 503 and the export finishes on its own)
WAIT_SECONDS = 30.0

#: an operation's error kind -> the fault the waiting request answers
_RETRYABLE = {"Unavailable", "CloudUnavailable", "OperationTimeout", "RateLimited", "DeadlineExceeded"}


def connector_host(attachment: VolumeAttachment, connector: Mapping[str, Any]) -> str:
    """The host a connector exports to (the server itself when the connector names none)."""
    return str(connector.get("host") or attachment.instance_uuid or "overcast")


def record_connection(attachment: VolumeAttachment, conn: Connection, connector: Mapping[str, Any]) -> None:
    """Record an export (the driver's ``attach`` answer for ``connector``): the attachment is attaching."""
    attachment.connector = dict(connector)
    attachment.attached_host = connector_host(attachment, connector)
    attachment.attach_mode = str(connector.get("mode") or attachment.attach_mode or "rw")
    attachment.connection_info = {"driver_volume_type": conn.driver_volume_type, **dict(conn.data),
                                  "attachment_id": attachment.id}
    attachment.attach_status = states.ATTACHING
    if connector.get("mountpoint"):
        attachment.mountpoint = str(connector["mountpoint"])


def request(session: Session, volume: Volume, *, host: str, mode: str, attachment: VolumeAttachment | None,
            connector: Mapping[str, Any] | None = None, request_id: str | None, user_id: str | None) -> str:
    """Record an export of ``volume`` to ``host`` (for ``attachment``, when there is one) and
    enqueue it; returns the operation's id for :func:`wait`.

    :raises Invalid: the volume has no backend volume yet.
    """
    if volume.backend_id is None:
        raise Invalid(f"Invalid volume: Volume {volume.id} has no backend volume yet.")
    op = enqueue(session, kind=EXPORT, cloud=volume.cloud, resource_type="volume", resource_id=volume.id,
                 action="initialize_connection", request_id=request_id, user_id=user_id,
                 project_id=volume.project_id,
                 params={"host": host, "mode": mode, "attachment_id": attachment.id if attachment else None,
                         "connector": dict(connector or {})})
    return op.id


def request_for(session: Session, volume: Volume, attachment: VolumeAttachment, connector: Mapping[str, Any], *,
                request_id: str | None, user_id: str | None) -> str:
    """:func:`request` for an attachment given a connector (its host and mode)."""
    mode = str(connector.get("mode") or attachment.attach_mode or "rw")
    return request(session, volume, host=connector_host(attachment, connector), mode=mode, attachment=attachment,
                   connector=connector, request_id=request_id, user_id=user_id)


def unexport(session: Session, volume: Volume, host: str, *, request_id: str | None, user_id: str | None) -> None:
    """Enqueue the unexport of ``volume`` from ``host`` (after this transaction commits)."""
    if volume.backend_id is None:
        return
    enqueue(session, kind=UNEXPORT, cloud=volume.cloud, resource_type="volume", resource_id=volume.id,
            action="terminate_connection", request_id=request_id, user_id=user_id, project_id=volume.project_id,
            params={"host": host, "backend_id": volume.backend_id})


def wait(store: Store, operation_id: str, timeout: float = WAIT_SECONDS, *,
         what: str = "export the volume") -> dict[str, Any]:
    """The export's result (``{"driver_volume_type", "data"}``) once its operation finished (or
    that of another operation a request waits for, as ``what`` the backend did not do in time).

    :raises ServiceUnavailable: the backend is unavailable, its breaker open, or the export did not
        finish in time (503 with ``Retry-After``). :raises NotFound: the backend has no such volume.
    :raises Conflict: the backend refused it in the volume's state. :raises Invalid: it refused the
        arguments. :raises BackendError: any other failure of the backend (Cinder's 500).
    """
    store.commit_now()  # inside a request, the worker must see the operation before we wait for it
    try:
        op = wait_for(store, operation_id, timeout)
    except TimeoutError:
        raise ServiceUnavailable(f"The volume backend did not {what} in time; try again.",
                                 retry_after=5) from None
    if op.state != FAILED:
        return dict(op.result or {})
    kind, message = op.error_kind or "", op.error or "unknown error"
    if kind in _RETRYABLE:
        raise ServiceUnavailable(f"The volume backend is unavailable: {message}", retry_after=5)
    if kind == "NotFound":
        raise NotFound(message)
    if kind in ("Conflict", "NotSuspended"):
        raise Conflict(message)
    if kind in ("InvalidRequest", "QuotaExceeded"):
        raise Invalid(f"Invalid input received: {message}")
    raise BackendError(f"Bad or unexpected response from the storage volume backend API: {message}")


def connection_view(result: Mapping[str, Any], mode: str) -> dict[str, Any]:
    """os-initialize_connection's ``connection_info``."""
    return {"driver_volume_type": result.get("driver_volume_type"),
            "data": {**dict(result.get("data") or {}), "access_mode": mode}}


class ExportHandlers:
    def __init__(self, driver: Callable[[str], Any]):
        self.driver = driver

    def export(self, job: Job, ctx: Any) -> Any:
        """Export the volume; record the connection on the attachment (the volume is attaching)."""
        p = job.params
        with ctx.session() as session:
            volume = find_volume(session, job.resource_id)
            if volume is None or volume.backend_id is None:
                raise DriverNotFound(f"Volume {job.resource_id} could not be found.")
            backend_id = volume.backend_id
        conn: Connection = self.driver(job.cloud).attach(job.call_context(), backend_id, p["host"], p["mode"])
        with ctx.session() as session:
            volume = find_volume(session, job.resource_id)
            attachment = next((a for a in volume.attachments if a.id == p.get("attachment_id")), None) \
                if volume is not None else None
            if attachment is not None:
                record_connection(attachment, conn, {**p["connector"], "host": p["host"], "mode": p["mode"]})
                if volume.status != states.IN_USE:
                    volume.status = states.ATTACHING
                touch(volume)
        return done({"driver_volume_type": conn.driver_volume_type, "data": dict(conn.data)})

    def unexport(self, job: Job, ctx: Any) -> Any:
        """Unexport the volume from the host (one already unexported, or gone, is fine)."""
        try:
            self.driver(job.cloud).detach(job.call_context(), job.params["backend_id"], job.params["host"])
        except DriverNotFound:
            pass
        return done()


def setup(runtime: Any, driver: Callable[[str], Any]) -> None:
    """Register the export handlers (called by the volume operations' setup)."""
    handlers = ExportHandlers(driver)
    runtime.registry.register(EXPORT, handlers.export, event="volume_initialize_connection", timeout=120,
                              family="volume")
    runtime.registry.register(UNEXPORT, handlers.unexport, event="volume_terminate_connection", timeout=120,
                              when_open="defer", family="volume")

