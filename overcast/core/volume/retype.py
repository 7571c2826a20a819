"""os-retype: give a volume another volume type.

The request checks what it can (status, migration policy, the type, encryption, the new type's
quota), puts the volume in ``retyping`` and enqueues ``volume.retype``. The worker asks the
scheduler whether the pool the volume is on also satisfies the new type: then the type changes
in place and the volume goes back to its status. Overcast cannot move a volume to another pool
or backend, so when the pool does not fit the retype fails, with or without
``migration_policy=on-demand``, and the volume keeps its type and status (as Cinder's scheduler
leaves a volume whose retype found no valid backend).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from overcast.core.context import AuthContext
from overcast.core.errors import Invalid
from overcast.core.volume import encryption, quotas, states
from overcast.core.volume import types as vtypes
from overcast.core.volume.volumes import touch, volume_type
from overcast.ops.engine import enqueue
from overcast.store.volume import Volume, VolumeType

RETYPE = "volume.retype"
POLICIES = ("never", "on-demand")


def retype(session: Session, ctx: AuthContext, volume: Volume, new_type: str, *, migration_policy: str | None,
           request_id: str | None) -> None:
    """Start retyping ``volume`` to the type named or identified by ``new_type``.

    :raises Invalid: the volume is not available or in-use or is in a group, an unknown policy or
        type, the same type, a change of multiattach while in use, a multiattach type with
        encryption, or a change of encryption (Cinder's messages).
    :raises quotas.OverLimit: the volume does not fit the new type's quota.
    """
    if volume.status not in (states.AVAILABLE, states.IN_USE):
        raise Invalid(f"Invalid volume: Unable to update type due to incorrect status: {volume.status} on volume: "
                      f"{volume.id}. Volume status must be available or in-use.")
    if volume.group_id:
        raise Invalid("Invalid volume: Volume must not be part of a group.")
    if migration_policy and migration_policy not in POLICIES:
        raise Invalid(f"Invalid input received: migration_policy must be 'on-demand' or 'never', passed: "
                      f"{migration_policy}")
    target = vtypes.lookup(session, VolumeType, new_type)
    if target is None:
        raise Invalid(f"Invalid input received: Invalid volume_type passed: {new_type}.")
    if target.id == volume.volume_type_id:
        raise Invalid(f"Invalid input received: New volume_type same as original: {new_type}.")
    to_multiattach = vtypes.multiattach(target)
    if bool(volume.multiattach) != to_multiattach and volume.status != states.AVAILABLE:
        # Cinder: the hypervisor attached the volume as it was; multiattach cannot change under it
        raise Invalid("Invalid input received: Invalid volume_type passed, retypes affecting multiattach are only "
                      "allowed on available volumes, the specified volume however currently has a status of: "
                      f"{volume.status}.")
    if to_multiattach and target.encryption is not None:
        raise Invalid("Invalid input received: Retype requested both encryption and multi-attach, which is not "
                      "supported.")
    if not encryption.same(volume_type(session, volume), target):
        raise Invalid("Invalid input received: Retype cannot change encryption requirements.")
    quotas.reserve(session, volume.project_id, volumes=1, gigabytes=volume.size, volume_type=target,
                   region=volume.cloud, type_only=True)
    previous = volume.status
    volume.status = states.RETYPING
    touch(volume)
    enqueue(session, kind=RETYPE, cloud=volume.cloud, resource_type="volume", resource_id=volume.id,
            action="retype", params={"new_type_id": target.id, "previous_status": previous,
                                     "migration_policy": migration_policy or "never"},
            request_id=request_id, user_id=ctx.user_id, project_id=volume.project_id)
