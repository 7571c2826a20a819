"""A server's volumes (os-volume_attachments): attach, detach and update, with Nova's rules and
messages.

Attach records intent in the request, as Nova's API does before it casts to the compute host:
the block device mapping with its device name, a Cinder attachment that reserves the volume
(``reserved``), and a ``server.attach_volume`` operation that exports the volume, attaches it
on the backend and completes the attachment (``in-use``). Detach marks the volume
``detaching`` and enqueues ``server.detach_volume``. The handlers are in
:mod:`overcast.core.compute.volume_operations`.
"""

from __future__ import annotations

import uuid
from typing import Any, Iterable, Mapping

from sqlalchemy.orm import Session

from overcast.core.compute import block_devices
from overcast.core.compute import states as S
from overcast.core.compute.actions import ActionRule, check
from overcast.core.context import AuthContext
from overcast.core.errors import Conflict, Invalid, NotFound
from overcast.core.volume import states as volume_states
from overcast.core.volume import volumes as volume_rules
from overcast.drivers.compute import Capability
from overcast.ops.engine import enqueue
from overcast.store.compute import BlockDeviceMapping, Server
from overcast.store.volume import Volume

ATTACH = "server.attach_volume"
DETACH = "server.detach_volume"
EXTEND = "server.extend_volume"

#: nova.compute.api attach_volume / detach_volume: check_instance_state
_STATES = (S.ACTIVE, S.PAUSED, S.STOPPED, S.RESIZED, S.SOFT_DELETED, S.SHELVED, S.SHELVED_OFFLOADED)
ATTACH_RULE = ActionRule("attach_volume", frozenset(_STATES), None, Capability.VOLUME_ATTACH, "compute_attach_volume")
DETACH_RULE = ActionRule("detach_volume", frozenset(_STATES), None, Capability.VOLUME_ATTACH, "compute_detach_volume")
#: what Nova's compute does on Cinder's ``volume-extended`` event (any state: the guest sees it later)
EXTEND_RULE = ActionRule("extend_volume", None, None, None, "compute_extend_volume")
_SHELVED = (S.SHELVED, S.SHELVED_OFFLOADED)


def _check_shelved(server: Server, rule: ActionRule, allow_shelved: bool) -> None:
    """Shelved servers take volumes from 2.20 (Nova checks this first). :raises Conflict:"""
    if server.vm_state in _SHELVED and not allow_shelved:
        raise Conflict(f"Cannot '{rule.name}' instance {server.id} while it is in vm_state {server.vm_state}")


def attached(server: Server, volume_id: str) -> BlockDeviceMapping:
    """The server's mapping of a volume. :raises NotFound: not attached (Nova's message)."""
    found = next((m for m in server.volume_mappings if m.volume_id == volume_id), None)
    if found is None:
        raise NotFound(f"Instance {server.id} is not attached to volume {volume_id}")
    return found


def _volume(session: Session, ctx: AuthContext, server: Server, volume_id: str) -> Volume:
    """:raises NotFound: unknown, another project's, or another region's volume (Nova's Cinder is its region's)."""
    return volume_rules.get_volume(session, ctx, volume_id, region=server.cloud)


def _check_same_host(server: Server, volume: Volume) -> None:
    """A volume whose bytes are on one hypervisor host (its driver says which: ``hypervisor_host``
    in its backend facts, decision 0072) attaches only to a server on that host; another is
    refused now, as Nova refuses a volume and an instance that cannot meet (``cross_az_attach``),
    rather than left to fail on the host. :raises Invalid:"""
    where = (volume.backend_extra or {}).get("hypervisor_host")
    if where and server.host and where != server.host:
        raise Invalid(f"Invalid volume: Instance {server.id} and volume {volume.id} are not on the same host. "
                      f"Instance is on {server.host}. Volume is on {where}.")


def attach(session: Session, ctx: AuthContext, server: Server, volume_id: str, *, device: str | None,
           tag: str | None, delete_on_termination: bool, capabilities: Iterable[Capability],
           allow_shelved: bool, allow_multiattach: bool, request_id: str | None) -> BlockDeviceMapping:
    """Reserve the volume for the server, record its mapping and enqueue ``server.attach_volume``.

    :raises Conflict: locked, a state that refuses it, a device already in use.
    :raises FeatureNotSupported: the region's compute driver cannot attach volumes.
    :raises Invalid: a bad device path, a volume already attached to the server, a multiattach
        volume before 2.60, a volume Cinder will not reserve (not available).
    :raises NotFound: unknown volume.
    """
    _check_shelved(server, ATTACH_RULE, allow_shelved)
    check(server, ctx, ATTACH_RULE, capabilities)
    used = [m.device_name for m in server.volume_mappings]
    path = block_devices.valid_device(device) if device else None
    if path is not None and path in used + [block_devices.ROOT_DEVICE]:
        raise Conflict(f"The supplied device path ({device}) is in use.")
    if any(m.volume_id == volume_id for m in server.volume_mappings):
        raise Invalid(f"Invalid volume: volume {volume_id} already attached")
    volume = _volume(session, ctx, server, volume_id)
    _check_same_host(server, volume)
    if volume.multiattach and not allow_multiattach:
        raise Invalid("Multiattach volumes are only supported starting with compute API version 2.60.")
    mapping = BlockDeviceMapping(
        id=str(uuid.uuid4()), server_id=server.id, volume_id=volume.id, source_type="volume",
        volume_size=volume.size, device_name=path or block_devices.next_device(used), boot_index=None,
        delete_on_termination=delete_on_termination, tag=tag)
    mapping.attachment_id = block_devices.reserve(session, ctx, volume.id, server).id
    server.volume_mappings.append(mapping)
    session.flush()
    enqueue(session, kind=ATTACH, cloud=server.cloud, resource_type="server", resource_id=server.id,
            params={"mapping_id": mapping.id}, action=ATTACH_RULE.name, request_id=request_id,
            user_id=ctx.user_id, project_id=server.project_id)
    return mapping


def detach(session: Session, ctx: AuthContext, server: Server, volume_id: str, *,
           capabilities: Iterable[Capability], allow_shelved: bool, request_id: str | None) -> None:
    """Mark the volume ``detaching`` and enqueue ``server.detach_volume``.

    :raises NotFound: unknown volume, or not attached to the server.
    :raises Invalid: the root volume; a volume not attached yet, or already detaching.
    :raises Conflict: locked or a state that refuses it. :raises FeatureNotSupported:
    """
    _check_shelved(server, DETACH_RULE, allow_shelved)
    volume = _volume(session, ctx, server, volume_id)
    mapping = attached(server, volume_id)
    if mapping.boot_index == 0:
        raise Invalid("Cannot detach a root device volume")
    check(server, ctx, DETACH_RULE, capabilities)
    if volume.status == volume_states.AVAILABLE:
        raise Invalid(f"Invalid volume: volume {volume.id} already detached")
    if volume.attach_status == volume_states.DETACHED:
        raise Invalid("Invalid volume: Volume must be attached in order to detach.")
    try:
        volume_rules.begin_detaching(volume)
    except Invalid as exc:
        raise Invalid(f"Invalid input received: {exc.message}") from None
    enqueue(session, kind=DETACH, cloud=server.cloud, resource_type="server", resource_id=server.id,
            params={"mapping_id": mapping.id}, action=DETACH_RULE.name, request_id=request_id,
            user_id=ctx.user_id, project_id=server.project_id)


def update(session: Session, ctx: AuthContext, server: Server, volume_id: str, body: Mapping[str, Any], *,
           swap_only: bool) -> None:
    """PUT os-volume_attachments/{volume_id}: from 2.85 ``delete_on_termination`` changes; a new
    ``volumeId`` asks for a swap, which Nova only does for Cinder's volume migration.

    :raises NotFound: no such mapping (2.85), or unknown volume (swap).
    :raises Invalid: a change to what cannot change (id, serverId, device, tag).
    :raises Conflict: a swap (no volume here is ever migrating).
    """
    if not swap_only:
        try:
            mapping = attached(server, volume_id)
        except NotFound:
            raise NotFound(f"No volume Block Device Mapping with id {volume_id}.") from None
        for key, current in (("id", volume_id), ("serverId", server.id), ("device", mapping.device_name),
                             ("tag", mapping.tag)):
            if key in body and body[key] != current:
                raise Invalid(f"The {key} property is not mutable")
        if "delete_on_termination" in body:
            mapping.delete_on_termination = block_devices.flag(body["delete_on_termination"])
        if body["volumeId"] == volume_id:
            return
    volume_rules.get_volume(session, ctx, volume_id, region=server.cloud)
    raise Conflict(f"volume {volume_id} is not migrating; this API should only be called by Cinder")
