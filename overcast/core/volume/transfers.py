"""Volume transfers: a project offers an available volume to whoever holds the transfer's id and
auth key; the project that accepts it becomes its owner.

Creating a transfer puts the volume in ``awaiting-transfer`` (so it cannot be used, changed or
deleted meanwhile) and returns the auth key once; only a salted HMAC of it is kept, as Cinder
keeps it. Deleting the transfer puts the volume back to ``available``. Accepting it checks the
key and the receiving project's quota, then moves the volume (and its snapshots, unless the
transfer was made with ``no_snapshots``, 3.55) to the receiving project and user; the transfer
record goes away, as an accepted transfer is deleted in Cinder.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from typing import Any

from sqlalchemy import delete as delete_rows
from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.core.context import AuthContext
from overcast.core.errors import Invalid, NotFound
from overcast.core.volume import quotas, states
from overcast.core.volume.volumes import find_volume, swap_status, touch, volume_type
from overcast.store.models import utcnow
from overcast.store.volume import Snapshot, Volume, VolumeTransfer

SALT_LENGTH = 8
KEY_LENGTH = 16


def _crypt_hash(salt: str, auth_key: str) -> str:
    return hmac.new(salt.encode(), auth_key.encode(), hashlib.sha1).hexdigest()


def _not_found(transfer_id: str) -> NotFound:
    return NotFound(f"Transfer {transfer_id} could not be found.")


def _in_region(region: str) -> Any:
    """Transfers of ``region``'s volumes (a transfer is its volume's region's)."""
    return VolumeTransfer.volume_id.in_(select(Volume.id).where(Volume.cloud == region))


def _find(session: Session, transfer_id: str, region: str) -> VolumeTransfer | None:
    return session.scalar(select(VolumeTransfer).where(VolumeTransfer.id == transfer_id, _in_region(region)))


def get(session: Session, ctx: AuthContext, transfer_id: str, *, region: str) -> VolumeTransfer:
    """A transfer of a volume of ``region`` and the caller's project (any, for an admin). :raises NotFound:"""
    transfer = _find(session, transfer_id, region)
    if transfer is None or not (ctx.is_admin or transfer.source_project_id == ctx.project_id):
        raise _not_found(transfer_id)
    return transfer


def list_transfers(session: Session, ctx: AuthContext, *, region: str,
                   all_tenants: bool = False) -> list[VolumeTransfer]:
    """The caller's project's transfers of ``region``'s volumes (every project's for an admin asking
    all_tenants), oldest first."""
    stmt = select(VolumeTransfer).where(_in_region(region)).order_by(VolumeTransfer.created_at, VolumeTransfer.id)
    if not (ctx.is_admin and all_tenants):
        stmt = stmt.where(VolumeTransfer.source_project_id == ctx.project_id)
    return list(session.scalars(stmt))


def create(session: Session, ctx: AuthContext, volume: Volume, *, name: str | None,
           no_snapshots: bool = False) -> tuple[VolumeTransfer, str]:
    """Offer ``volume``; returns the transfer and its auth key (shown this once).

    :raises Invalid: the volume is not available, or a snapshot that would go with it is not.
    """
    if not swap_status(session, volume, states.AVAILABLE, states.AWAITING_TRANSFER):
        raise Invalid("Invalid volume: status must be available")
    if not no_snapshots:
        for snapshot in session.scalars(select(Snapshot).where(Snapshot.volume_id == volume.id)):
            if snapshot.status != states.AVAILABLE:
                raise Invalid(f"Invalid snapshot: Snapshot {snapshot.id} is not available; the volume cannot be "
                              "transferred with it.")
    salt, auth_key = secrets.token_hex(SALT_LENGTH)[:SALT_LENGTH], secrets.token_hex(KEY_LENGTH)[:KEY_LENGTH]
    transfer = VolumeTransfer(id=str(uuid.uuid4()), volume_id=volume.id, source_project_id=volume.project_id,
                              name=name, salt=salt, crypt_hash=_crypt_hash(salt, auth_key),
                              no_snapshots=no_snapshots, created_at=utcnow())
    session.add(transfer)
    touch(volume)
    session.flush()
    return transfer, auth_key


def _take(session: Session, transfer: VolumeTransfer) -> Volume:
    """Remove the transfer record, once: of two requests ending one transfer, the second finds it
    gone. Returns the volume. :raises NotFound: it is gone already."""
    gone = session.execute(delete_rows(VolumeTransfer).where(VolumeTransfer.id == transfer.id)
                           .execution_options(synchronize_session=False)).rowcount
    if gone != 1:
        raise _not_found(transfer.id)
    return find_volume(session, transfer.volume_id)


def delete(session: Session, transfer: VolumeTransfer) -> None:
    """Withdraw the offer: the volume is available again. :raises NotFound: it is gone already."""
    volume = _take(session, transfer)
    swap_status(session, volume, states.AWAITING_TRANSFER, states.AVAILABLE)
    touch(volume)


def accept(session: Session, ctx: AuthContext, transfer_id: str, auth_key: str, *, region: str) -> VolumeTransfer:
    """Take the volume into the caller's project; returns the (now deleted) transfer.

    :raises NotFound: no such transfer (or another request took it). :raises Invalid: a wrong auth
        key, or the volume is no longer awaiting the transfer. :raises quotas.OverLimit: it does
        not fit the caller's quota.
    """
    transfer = _find(session, transfer_id, region)
    if transfer is None:
        raise _not_found(transfer_id)
    if not hmac.compare_digest(_crypt_hash(transfer.salt, auth_key), transfer.crypt_hash):
        raise Invalid(f"Invalid auth key: Attempt to transfer {transfer_id} with invalid auth key.")
    volume = _take(session, transfer)
    if volume.status != states.AWAITING_TRANSFER:
        raise Invalid(f"Invalid volume: Volume {volume.id} status must be awaiting-transfer to accept a "
                      f"transfer, but the current status is {volume.status}.")
    snapshots = [] if transfer.no_snapshots else list(
        session.scalars(select(Snapshot).where(Snapshot.volume_id == volume.id)))
    quotas.reserve(session, ctx.project_id, volumes=1, snapshots=len(snapshots),
                   gigabytes=volume.size + sum(s.size for s in snapshots), volume_type=volume_type(session, volume),
                   region=volume.cloud)
    for record in (volume, *snapshots):
        record.project_id, record.user_id = ctx.project_id, ctx.user_id
        touch(record)
    volume.status = states.AVAILABLE
    return transfer
