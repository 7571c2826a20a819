"""The attachments API (3.27+): reserve, connect (with a connector), complete (3.44), delete.

The new-style flow Nova uses: ``POST /attachments`` reserves the volume (``reserved``), or with a
connector exports it at once (``attaching``, connection_info returned); ``PUT`` gives the
connector later; ``os-complete`` marks it attached (volume ``in-use``); ``DELETE`` detaches.
Exports are the driver's :meth:`~overcast.drivers.volume.VolumeDriver.attach`, run by a
``volume.export`` operation the request waits for, as Cinder's API waits for its volume manager
(:mod:`overcast.core.volume.exports`); unexports run after the request.
"""

from __future__ import annotations

import uuid
from typing import Any, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.core.context import AuthContext
from overcast.core.errors import Invalid, NotFound
from overcast.core.volume import exports, states
from overcast.core.volume.volumes import find_volume, get_volume, settle, swap_status, touch
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


def create(session: Session, ctx: AuthContext, volume: Volume, *, instance_uuid: str | None,
           connector: Mapping[str, Any] | None, mode: str = "rw",
           request_id: str | None = None) -> tuple[VolumeAttachment, str | None]:
    """Reserve a volume (read with :func:`~overcast.core.volume.volumes.get_volume`) for a server;
    with a connector, also enqueue its export. Returns the attachment and the export operation's
    id (for :func:`overcast.core.volume.exports.wait`, after this transaction commits), or None.

    :raises Invalid: the volume cannot be attached now, or has no backend volume yet.
    """
    attachment = _reserve(session, volume, instance_uuid=instance_uuid, mode=mode)
    op_id = None
    if connector:
        session.flush()
        op_id = exports.request_for(session, volume, attachment, connector, request_id=request_id,
                                    user_id=ctx.user_id)
    return attachment, op_id


def update(session: Session, ctx: AuthContext, attachment: VolumeAttachment, connector: Mapping[str, Any], *,
           request_id: str | None = None) -> str:
    """Give the connector: enqueue the volume's export to it; returns the operation's id (the
    connection info is recorded on the attachment when it is done).

    :raises Invalid: the volume has no backend volume yet.
    """
    return exports.request_for(session, _volume_of(session, attachment), attachment, connector,
                               request_id=request_id, user_id=ctx.user_id)


def complete(session: Session, ctx: AuthContext, attachment: VolumeAttachment) -> None:
    """os-complete: the attachment is in use."""
    mark_attached(_volume_of(session, attachment), attachment)


def mark_attached(volume: Volume, attachment: VolumeAttachment) -> None:
    """One of the volume's attachments is in use: the volume is ``in-use``."""
    attachment.attach_status = states.ATTACHED
    attachment.attach_time = utcnow()
    settle(volume)


def delete(session: Session, ctx: AuthContext, attachment: VolumeAttachment, *, request_id: str | None = None) -> None:
    """Detach: drop the record (the volume settles) and, if it was exported, enqueue its unexport."""
    volume = _volume_of(session, attachment)
    if attachment.connection_info:
        exports.unexport(session, volume, attachment.attached_host or "overcast", request_id=request_id,
                         user_id=ctx.user_id)
    volume.attachments.remove(attachment)
    session.flush()
    settle(volume)
