"""User messages (Cinder's messages API, 3.3+): what went wrong with a project's volume or
snapshot when an operation failed in a worker, in words the user can act on.

A message names an action and a detail from Cinder's catalogue; its ``event_id`` is
``VOLUME_<resource type>_<action id>_<detail id>`` and its text ``<action>:<detail>``, as
Cinder renders them. Messages are kept :data:`TTL` (Cinder's ``message_ttl``): then they are no
longer shown, and the reconciler removes them (:func:`purge_expired`).
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Select, select
from sqlalchemy import delete as delete_rows
from sqlalchemy.orm import Session

from overcast.core.context import AuthContext
from overcast.core.errors import NotFound
from overcast.core.volume.listing import Page, paginate
from overcast.ops.engine import Job
from overcast.store.models import utcnow
from overcast.store.volume import VolumeMessage

TTL = dt.timedelta(seconds=2592000)
VOLUME = "VOLUME"
SNAPSHOT = "VOLUME_SNAPSHOT"
BACKUP = "VOLUME_BACKUP"
SORT_KEYS = ("id", "created_at", "event_id", "resource_type", "resource_uuid", "message_level", "request_id")

#: (id, text) of the actions and details messages speak of (Cinder's message_field)
SCHEDULE_ALLOCATE_VOLUME = ("001", "schedule allocate volume")
COPY_VOLUME_TO_IMAGE = ("003", "copy volume to image")
EXTEND_VOLUME = ("007", "extend volume")
CREATE_VOLUME_FROM_BACKEND = ("008", "create volume from backend storage")
SNAPSHOT_CREATE = ("009", "create snapshot")
SNAPSHOT_DELETE = ("010", "delete snapshot")
BACKUP_CREATE = ("013", "create backup")
BACKUP_DELETE = ("014", "delete backup")
BACKUP_RESTORE = ("015", "restore backup")
UNKNOWN_ERROR = ("001", "An unknown error occurred.")
NO_BACKEND_AVAILABLE = ("003", "Could not find any available weighted backend.")
FAILED_TO_UPLOAD_VOLUME = ("004", "Failed to upload volume to image at backend.")
DRIVER_FAILED_EXTEND = ("010", "Volume Driver failed to extend volume.")
DRIVER_FAILED_CREATE = ("012", "Driver failed to create the volume.")
SNAPSHOT_CREATE_ERROR = ("013", "Snapshot failed to create.")
SNAPSHOT_DELETE_ERROR = ("016", "Snapshot failed to delete.")
BACKUP_CREATE_DRIVER_ERROR = ("020", "Backup driver failed to create backup.")
BACKUP_DELETE_DRIVER_ERROR = ("025", "Backup driver failed to delete backup.")
BACKUP_RESTORE_ERROR = ("026", "Backup driver failed to restore backup.")


def record(session: Session, *, project_id: str, resource_type: str, resource_uuid: str,
           action: tuple[str, str], detail: tuple[str, str], request_id: str | None) -> VolumeMessage:
    """Add an error message about one resource (in the caller's transaction)."""
    now = utcnow()
    message = VolumeMessage(
        id=str(uuid.uuid4()), project_id=project_id, request_id=request_id, resource_type=resource_type,
        resource_uuid=resource_uuid, event_id=f"VOLUME_{resource_type}_{action[0]}_{detail[0]}",
        message_level="ERROR", user_message=f"{action[1]}:{detail[1]}", created_at=now, expires_at=now + TTL)
    session.add(message)
    return message


def tell(session: Session, job: Job, resource_type: str, action: tuple[str, str], detail: tuple[str, str]) -> None:
    """Leave the project of a failed operation a message about the operation's resource."""
    if job.project_id:
        record(session, project_id=job.project_id, resource_type=resource_type, resource_uuid=job.resource_id,
               action=action, detail=detail, request_id=job.request_id)


def _visible(ctx: AuthContext) -> Select:
    stmt = select(VolumeMessage).where(VolumeMessage.expires_at > utcnow())
    return stmt if ctx.is_admin else stmt.where(VolumeMessage.project_id == ctx.project_id)


def get(session: Session, ctx: AuthContext, message_id: str) -> VolumeMessage:
    """:raises NotFound: unknown, expired or another project's (admins see every project's)."""
    message = session.scalar(_visible(ctx).where(VolumeMessage.id == message_id))
    if message is None:
        raise NotFound(f"Message {message_id} could not be found.")
    return message


def list_messages(session: Session, ctx: AuthContext, page: Page, *, resource_uuid: str | None = None,
                  event_id: str | None = None) -> tuple[list[VolumeMessage], bool]:
    """The caller's messages, newest first unless sorted otherwise. :raises NotFound: bad marker."""
    stmt = _visible(ctx)
    if resource_uuid is not None:
        stmt = stmt.where(VolumeMessage.resource_uuid == resource_uuid)
    if event_id is not None:
        stmt = stmt.where(VolumeMessage.event_id == event_id)
    return paginate(list(session.scalars(stmt)), page)


def delete(session: Session, message: VolumeMessage) -> None:
    session.delete(message)


def purge_expired(session: Session) -> int:
    """Remove the messages past their time (Cinder's periodic cleanup); returns how many."""
    return session.execute(delete_rows(VolumeMessage).where(VolumeMessage.expires_at <= utcnow())).rowcount
