"""The attachments API (3.27+): reserve, connect (with a connector), complete (3.44), delete.

The new-style flow Nova uses: ``POST /attachments`` reserves the volume (``reserved``), or with a
connector exports it at once (``attaching``, connection_info returned); ``PUT`` gives the
connector later; ``os-complete`` marks it attached (volume ``in-use``); ``DELETE`` detaches.
Exports are the driver's :meth:`~overcast.drivers.volume.VolumeDriver.attach`, called in the
request as Cinder's API calls its volume manager synchronously for connection info.
"""

from __future__ import annotations

import uuid
from typing import Any, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.core.context import AuthContext
from overcast.core.errors import Invalid, NotFound
from overcast.core.volume import backend_call, states
from overcast.core.volume.volumes import find_volume, get_volume, settle, swap_status, touch
from overcast.drivers.volume import Connection, VolumeDriver
from overcast.store.models import utcnow
from overcast.store.volume import Volume, VolumeAttachment


def get_attachment(session: Session, ctx: AuthContext, attachment_id: str, *, region: str) -> VolumeAttachment:
    """:raises NotFound: unknown, or on another region's or another project's volume."""
    attachment = session.get(VolumeAttachment, attachment_id)
    if attachment is not None:
        volume = session.scalar(select(Volume).where(Volume.id == attachment.volume_id))
        if volume is not None and volume.cloud == region and (ctx.is_admin or volume.project_id == ctx.project_id):
            return attachment
    raise NotFound(f"VolumeAttachment {attachment_id} could not be found.")


def list_attachments(session: Session, ctx: AuthContext, *, region: str, all_tenants: bool = False,
                     volume_id: str | None = None, instance_id: str | None = None) -> list[VolumeAttachment]:
    """The attachments of ``region``'s volumes the caller may see."""
    stmt = select(VolumeAttachment).join(Volume, Volume.id == VolumeAttachment.volume_id).where(Volume.cloud == region)
    if not (ctx.is_admin and all_tenants):
        stmt = stmt.where(Volume.project_id == ctx.project_id)
    if volume_id:
        stmt = stmt.where(VolumeAttachment.volume_id == volume_id)
    if instance_id:
        stmt = stmt.where(VolumeAttachment.instance_uuid == instance_id)
    return list(session.scalars(stmt.order_by(VolumeAttachment.created_at, VolumeAttachment.id)))


def _volume_of(session: Session, attachment: VolumeAttachment) -> Volume:
    """The volume of an attachment :func:`get_attachment` gave (so the caller may see both)."""
    volume = find_volume(session, attachment.volume_id)
    if volume is None:  # the attachment's row cascades with its volume: gone together
        raise NotFound(f"VolumeAttachment {attachment.id} could not be found.")
    return volume


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


def connector_host(attachment: VolumeAttachment, connector: Mapping[str, Any]) -> str:
    """The host a connector exports to (the server itself when the connector names none)."""
    return str(connector.get("host") or attachment.instance_uuid or "overcast")


def _connect(driver: VolumeDriver, volume: Volume, attachment: VolumeAttachment,
             connector: Mapping[str, Any]) -> None:
    if volume.backend_id is None:
        raise Invalid(f"Invalid volume: Volume {volume.id} has no backend volume yet.")
    mode = str(connector.get("mode") or attachment.attach_mode or "rw")
    with backend_call():
        conn = driver.attach(volume.backend_id, connector_host(attachment, connector), mode)
    record_connection(attachment, conn, connector)


def _swap_status(session: Session, volume: Volume, new: str) -> bool:
    """Move the volume from the status read to ``new`` (in-use stays in-use) unless another
    transaction changed it meanwhile; then the volume is re-read and False returned."""
    return swap_status(session, volume, volume.status, volume.status if volume.status == states.IN_USE else new)


def reserve(session: Session, ctx: AuthContext, volume_id: str, *, region: str, instance_uuid: str | None,
            mode: str = "rw") -> VolumeAttachment:
    """Reserve a volume for a server: a ``reserved`` attachment, the volume ``reserved``.

    The status moves by compare-and-swap (Cinder's conditional update), so of two requests
    reserving one volume at once only one wins.

    :raises NotFound: unknown volume. :raises Invalid: the volume cannot be attached now.
    """
    return _reserve(session, get_volume(session, ctx, volume_id, region=region), instance_uuid=instance_uuid,
                    mode=mode)


def _reserve(session: Session, volume: Volume, *, instance_uuid: str | None, mode: str) -> VolumeAttachment:
    """:func:`reserve` of a volume already read. :raises Invalid: it cannot be attached now."""
    allowed = (states.AVAILABLE, states.IN_USE) if volume.multiattach else (states.AVAILABLE,)
    # the same server again is allowed (Cinder lets an instance being moved reserve its volume twice)
    again = instance_uuid is not None and any(a.instance_uuid == instance_uuid for a in volume.attachments)
    if not again and (volume.status not in allowed or not _swap_status(session, volume, states.RESERVED)):
        expected = "available or in-use or downloading" if volume.multiattach else "available or downloading"
        raise Invalid(f"Invalid volume: Volume {volume.id} status must be {expected} to reserve, but the current "
                      f"status is {volume.status}.")
    attachment = VolumeAttachment(id=str(uuid.uuid4()), volume_id=volume.id, instance_uuid=instance_uuid,
                                  attach_mode=mode, attach_status=states.RESERVED, created_at=utcnow())
    volume.attachments.append(attachment)
    if volume.status != states.IN_USE:
        volume.status = states.RESERVED
    touch(volume)
    return attachment


def create(session: Session, driver: VolumeDriver, volume: Volume, *, instance_uuid: str | None,
           connector: Mapping[str, Any] | None, mode: str = "rw") -> VolumeAttachment:
    """Reserve a volume (read with :func:`~overcast.core.volume.volumes.get_volume`) for a server,
    and connect it when a connector is given.

    :raises Invalid: the volume cannot be attached now.
    """
    attachment = _reserve(session, volume, instance_uuid=instance_uuid, mode=mode)
    if connector:
        _connect(driver, volume, attachment, connector)
        volume.status = states.ATTACHING
    return attachment


def update(session: Session, ctx: AuthContext, driver: VolumeDriver, attachment: VolumeAttachment,
           connector: Mapping[str, Any]) -> VolumeAttachment:
    """Give the connector: export the volume and record its connection info."""
    volume = _volume_of(session, attachment)
    _connect(driver, volume, attachment, connector)
    if volume.status != states.IN_USE:
        volume.status = states.ATTACHING
    touch(volume)
    return attachment


def complete(session: Session, ctx: AuthContext, attachment: VolumeAttachment) -> None:
    """os-complete: the attachment is in use."""
    mark_attached(_volume_of(session, attachment), attachment)


def mark_attached(volume: Volume, attachment: VolumeAttachment) -> None:
    """One of the volume's attachments is in use: the volume is ``in-use``."""
    attachment.attach_status = states.ATTACHED
    attachment.attach_time = utcnow()
    settle(volume)


def delete(session: Session, ctx: AuthContext, driver: VolumeDriver, attachment: VolumeAttachment) -> None:
    """Detach: unexport (if it was exported) and drop the record; the volume settles."""
    volume = _volume_of(session, attachment)
    if attachment.connection_info and volume.backend_id:
        with backend_call():
            driver.detach(volume.backend_id, attachment.attached_host or "overcast")
    volume.attachments.remove(attachment)
    session.flush()
    settle(volume)
