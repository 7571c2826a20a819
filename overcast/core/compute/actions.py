"""Server actions: which states each is allowed from, the task_state it sets at once, and the
operation that finishes it (vm_state moves when the driver has done it).

Nova's rules (nova.compute.api ``check_instance_state``): an action from another vm_state or
while a task is running is a 409 ``Cannot 'reboot' instance <id> while it is in vm_state stopped``.
A driver lacking the capability is answered as Nova answers a virt driver raising
NotImplementedError: 501 ``The requested functionality is not supported.`` (nova.api.openstack.
common.raise_feature_not_supported); the server's state is left untouched.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.core.compute import migrations, networking
from overcast.core.compute import zones as zone_rules
from overcast.core.compute import states as S
from overcast.core.compute.servers import (ACTION, DiskConfig, _quota, auto_disk_config, canonical_ipv6,
                                           check_flavor_usable, check_image_usable, check_lock, check_metadata,
                                           find_flavor, find_image, flavor_record, generate_password,
                                           image_properties)
from overcast.core.context import AuthContext
from overcast.core.errors import Conflict, Forbidden, Invalid, NotFound, OvercastError
from overcast.drivers.compute import Capability, ComputeDriver
from overcast.ops.engine import enqueue
from overcast.store.compute import BlockDeviceMapping, ComputeService, Server, ServerMetadata
from overcast.store.image import Image
from overcast.core.volume.volumes import find_volume
from overcast.store.models import utcnow

ANY = None
#: params that leave the operation once it has finished (the admin password of rebuild, rescue,
#: changePassword and create: never at rest longer than it takes to use it)
SECRET_PARAMS = ("admin_password",)


class FeatureNotSupported(OvercastError):
    """The region's driver lacks the capability (Nova: HTTPNotImplemented)."""

    status = 501

    def __init__(self, message: str = "The requested functionality is not supported."):
        super().__init__(message)


@dataclass(frozen=True)
class ActionRule:
    """What a server action needs (states, a driver capability) and does (task state, event). Who
    may call it is policy's business (:class:`overcast.core.policy.Rule`)."""

    #: Nova's instance-action name (also what the 409 message says)
    name: str
    vm_states: frozenset[str] | None
    task_state: str | None
    capability: Capability | None
    #: Nova's event name for os-instance-actions
    event: str
    task_states: frozenset[str | None] = frozenset({None})


def _r(name: str, vm: Iterable[str] | None, task: str | None, cap: Capability | None, event: str,
       tasks: Iterable[str | None] = (None,)) -> ActionRule:
    return ActionRule(name, frozenset(vm) if vm is not None else None, task, cap, event, frozenset(tasks))


C = Capability
RULES: Mapping[str, ActionRule] = {
    "reboot_soft": _r("reboot", [S.ACTIVE], S.REBOOTING, C.REBOOT, "compute_reboot_instance"),
    "reboot_hard": _r("reboot", [S.ACTIVE, S.STOPPED, S.PAUSED, S.SUSPENDED, S.ERROR], S.REBOOTING_HARD,
                      C.REBOOT, "compute_reboot_instance", (None, S.REBOOTING, S.REBOOTING_HARD)),
    "start": _r("start", [S.STOPPED], S.POWERING_ON, C.START_STOP, "compute_start_instance"),
    "stop": _r("stop", [S.ACTIVE, S.RESCUED, S.ERROR], S.POWERING_OFF, C.START_STOP, "compute_stop_instance"),
    "pause": _r("pause", [S.ACTIVE], S.PAUSING, C.PAUSE, "compute_pause_instance"),
    "unpause": _r("unpause", [S.PAUSED], S.UNPAUSING, C.PAUSE, "compute_unpause_instance"),
    "suspend": _r("suspend", [S.ACTIVE], S.SUSPENDING, C.SUSPEND, "compute_suspend_instance"),
    "resume": _r("resume", [S.SUSPENDED], S.RESUMING, C.SUSPEND, "compute_resume_instance"),
    "resize": _r("resize", [S.ACTIVE, S.STOPPED], S.RESIZE_PREP, C.RESIZE, "compute_prep_resize"),
    "confirmResize": _r("confirmResize", [S.RESIZED], S.RESIZE_CONFIRMING, C.RESIZE, "compute_confirm_resize"),
    "revertResize": _r("revertResize", [S.RESIZED], S.RESIZE_REVERTING, C.RESIZE, "compute_revert_resize"),
    "rebuild": _r("rebuild", [S.ACTIVE, S.STOPPED, S.ERROR], S.REBUILDING, C.REBUILD, "compute_rebuild_instance"),
    "createImage": _r("createImage", [S.ACTIVE, S.STOPPED, S.PAUSED, S.SUSPENDED], S.IMAGE_SNAPSHOT, C.SNAPSHOT,
                      "compute_snapshot_instance"),
    "createBackup": _r("createBackup", [S.ACTIVE, S.STOPPED, S.PAUSED, S.SUSPENDED], S.IMAGE_BACKUP, C.SNAPSHOT,
                       "compute_backup_instance"),
    "changePassword": _r("changePassword", [S.ACTIVE], S.UPDATING_PASSWORD, C.CHANGE_PASSWORD,
                         "compute_set_admin_password"),
    "rescue": _r("rescue", [S.ACTIVE, S.STOPPED, S.ERROR], S.RESCUING, C.RESCUE, "compute_rescue_instance"),
    "unrescue": _r("unrescue", [S.RESCUED], S.UNRESCUING, C.RESCUE, "compute_unrescue_instance"),
    "shelve": _r("shelve", [S.ACTIVE, S.STOPPED, S.PAUSED, S.SUSPENDED], S.SHELVING, C.SHELVE,
                 "compute_shelve_instance"),
    "unshelve": _r("unshelve", [S.SHELVED, S.SHELVED_OFFLOADED], S.UNSHELVING, C.SHELVE,
                   "compute_unshelve_instance"),
    "attach_interface": _r("attach_interface", [S.ACTIVE, S.PAUSED, S.STOPPED], None, C.PORT_ATTACH,
                           "compute_attach_interface"),
    "detach_interface": _r("detach_interface", [S.ACTIVE, S.PAUSED, S.STOPPED], None, C.PORT_ATTACH,
                           "compute_detach_interface"),
    "os-getConsoleOutput": _r("getConsoleOutput", ANY, None, C.CONSOLE_OUTPUT, "", tasks=()),
    "migrate": _r("migrate", [S.ACTIVE, S.STOPPED], S.RESIZE_PREP, C.MIGRATE, "compute_prep_resize"),
    "restore": _r("restore", [S.SOFT_DELETED], None, None, "compute_restore_instance"),
    "evacuate": _r("evacuate", [S.ACTIVE, S.STOPPED, S.ERROR], S.REBUILDING, None, "compute_rebuild_instance"),
}

#: instance-action names -> Nova event names (for the os-instance-actions view)
EVENTS = {rule.name: rule.event for rule in RULES.values()}
EVENTS.update({"create": "compute__do_build_and_run_instance", "delete": "compute_terminate_instance"})


def check_state(server: Server, rule: ActionRule) -> None:
    """:raises Conflict: Nova's message naming the vm_state or task_state that refuses it."""
    if rule.vm_states is not None and server.vm_state not in rule.vm_states:
        raise Conflict(f"Cannot '{rule.name}' instance {server.id} while it is in vm_state {server.vm_state}")
    if rule.task_states and server.task_state not in rule.task_states:
        raise Conflict(f"Cannot '{rule.name}' instance {server.id} while it is in task_state {server.task_state}")


def check_capability(capabilities: Iterable[Capability], rule: ActionRule) -> None:
    if rule.capability is not None and rule.capability not in set(capabilities):
        raise FeatureNotSupported()


def check(server: Server, ctx: AuthContext, rule: ActionRule, capabilities: Iterable[Capability]) -> ActionRule:
    """``rule``, once lock, capability and state allow it (in Nova's order).

    :raises Conflict: locked or wrong state. :raises FeatureNotSupported: the driver lacks it.
    """
    check_lock(server, ctx)
    check_capability(capabilities, rule)
    check_state(server, rule)
    return rule


def allowed(server: Server, ctx: AuthContext, key: str, capabilities: Iterable[Capability]) -> ActionRule:
    """The rule for action ``key``, once lock, capability and state allow it (see :func:`check`)."""
    return check(server, ctx, RULES[key], capabilities)


def begin(session: Session, ctx: AuthContext, server: Server, key: str, *, capabilities: Iterable[Capability],
          request_id: str | None, params: Mapping[str, Any] | None = None) -> None:
    """Check lock, state and capability; set the task_state; enqueue the ``server.action``.

    :raises Conflict: locked or wrong state. :raises FeatureNotSupported: the driver lacks it.
    """
    record(session, ctx, server, allowed(server, ctx, key, capabilities), key, request_id=request_id, params=params)


def volume_backed(session: Session, server: Server) -> bool:
    """Nova's is_volume_backed_instance: no image, or a volume at boot index 0."""
    if not server.image_id:
        return True
    return session.scalar(select(BlockDeviceMapping.id).where(
        BlockDeviceMapping.server_id == server.id, BlockDeviceMapping.boot_index == 0,
        BlockDeviceMapping.volume_id.is_not(None))) is not None


def root_volume_id(session: Session, server: Server) -> str | None:
    """The volume at boot index 0 of a volume-backed server."""
    return session.scalar(select(BlockDeviceMapping.volume_id).where(
        BlockDeviceMapping.server_id == server.id, BlockDeviceMapping.boot_index == 0,
        BlockDeviceMapping.volume_id.is_not(None)))


def root_volume_image(session: Session, server: Server) -> str | None:
    """The image a volume-backed server's root volume was made from (Nova reads it from the
    volume's ``volume_image_metadata``), None if it has none."""
    volume_id = root_volume_id(session, server)
    volume = find_volume(session, volume_id)
    if volume is None:
        return None
    return (volume.image_metadata or {}).get("image_id") or volume.image_id


def rescue(session: Session, ctx: AuthContext, server: Server, *, admin_password: str, rescue_image: str | None,
           allow_volume_backed: bool, capabilities: Iterable[Capability], request_id: str | None) -> None:
    """Rescue ``server`` (from the ``rescue_image`` given, else its own image). A volume-backed server
    is rescued only where Nova's stable device rescue allows it (``allow_volume_backed``: 2.87 on).

    :raises Conflict: locked or wrong state (checked first, as Nova's decorator does).
    :raises Invalid: a volume-backed server without ``allow_volume_backed`` (Nova's InstanceNotRescuable).
    """
    rule = allowed(server, ctx, "rescue", capabilities)
    if not allow_volume_backed and volume_backed(session, server):
        raise Invalid(f"Instance {server.id} cannot be rescued: Cannot rescue a volume-backed instance")
    params = {"admin_password": admin_password}
    if rescue_image:
        params["image_id"] = rescue_image
    record(session, ctx, server, rule, "rescue", request_id=request_id, params=params)


def record(session: Session, ctx: AuthContext, server: Server, rule: ActionRule, key: str, *, request_id: str | None,
           params: Mapping[str, Any] | None = None) -> None:
    """Set the rule's task_state, move a resize's migration record on and enqueue the
    ``server.action`` that finishes action ``key``."""
    server.task_state = rule.task_state
    server.updated_at = utcnow()
    migrations.requested(session, ctx, server, key, params or {})
    enqueue(session, kind=ACTION, cloud=server.cloud, resource_type="server", resource_id=server.id,
            params={"action": key, **dict(params or {})}, action=rule.name, request_id=request_id,
            user_id=ctx.user_id, project_id=server.project_id, secret_params=SECRET_PARAMS)


def migrate(session: Session, ctx: AuthContext, server: Server, host: str | None, *,
            capabilities: Iterable[Capability], request_id: str | None) -> None:
    """Cold migration (decision 0072): the server's driver moves it to ``host`` (2.56) or a host
    its scheduler picks; VERIFY_RESIZE until confirmed or reverted, as Nova's. A region whose
    driver cannot move servers answers Nova's 501 after the lock and state checks.

    :raises Conflict: locked or wrong state. :raises FeatureNotSupported: the driver cannot.
    :raises NotFound: an unknown target host. :raises Invalid: the target is the server's own host.
    """
    check_lock(server, ctx)
    check_state(server, RULES["migrate"])
    check_capability(capabilities, RULES["migrate"])
    if host is not None:
        known = session.scalar(select(ComputeService.host).where(
            ComputeService.cloud == server.cloud, ComputeService.binary == "nova-compute",
            ComputeService.host == host))
        if known is None:
            raise NotFound(f"Compute host {host} could not be found.")
        if host == server.host:
            raise Invalid("Cannot migrate to the host where the server exists.")   # Nova's CannotMigrateToSameHost
    record(session, ctx, server, RULES["migrate"], "migrate", request_id=request_id, params={"host": host})


def evacuate(session: Session, server: Server, host: str | None) -> None:
    """Evacuation (rebuild elsewhere of a server whose host is down): no driver can rebuild a
    server on another host, so after Nova's checks this is Nova's answer for a virt driver without
    it, as for :func:`migrate` (decision 0060: 2.95's "stopped at the destination" changes nothing
    a client can see).

    :raises NotFound: an unknown target host. :raises Conflict: wrong state. :raises Invalid: the
        server's host is up (Nova's ComputeServiceInUse). :raises FeatureNotSupported: past those checks.
    """
    services = {s.host: s for s in session.scalars(select(ComputeService).where(
        ComputeService.cloud == server.cloud, ComputeService.binary == "nova-compute"))}
    if host and host not in services:
        raise NotFound(f"Compute host {host} not found.")
    if host and host == server.host:
        raise Invalid("The target host can't be the same one.")
    check_state(server, RULES["evacuate"])
    source = services.get(server.host or "")
    if source is not None and not source.forced_down:
        raise Invalid(f"Compute service of {server.host} is still in use.")
    raise FeatureNotSupported()


def restore(server: Server, ctx: AuthContext) -> None:
    """Restore a soft-deleted server. Overcast deletes at once (Nova's ``reclaim_instance_interval``
    0), so no server is ever SOFT_DELETED and this is always refused. :raises Conflict:"""
    check_lock(server, ctx)
    check_state(server, RULES["restore"])


def reboot(session: Session, ctx: AuthContext, server: Server, hard: bool, **kw: Any) -> None:
    begin(session, ctx, server, "reboot_hard" if hard else "reboot_soft", params={"hard": hard}, **kw)


def resize(session: Session, ctx: AuthContext, server: Server, flavor_ref: str, *,
           capabilities: Iterable[Capability], request_id: str | None, driver: ComputeDriver,
           disk_config: DiskConfig | None = None) -> None:
    """``disk_config`` (None: unchanged) is the server's from the request on, as in Nova (a revert
    keeps it).

    :raises Invalid: unknown flavor, the same flavor, one the region cannot run, or AUTO with an
        image that disables it.
    :raises Forbidden: over quota."""
    rule = allowed(server, ctx, "resize", capabilities)
    flavor = find_flavor(session, flavor_ref, ctx)
    if flavor.id == server.flavor_id:
        raise Invalid("When resizing, instances must change flavor!")
    check_flavor_usable(session, ctx, flavor, region=server.cloud, driver=driver)
    if disk_config is not None:
        booted = session.get(Image, server.image_id) if server.image_id else None
        server.auto_disk_config = bool(auto_disk_config(booted, disk_config))
    old = server.flavor or {}
    deltas = {"cores": flavor.vcpus - int(old.get("vcpus", 0)), "ram": flavor.ram - int(old.get("ram", 0))}
    deltas = {k: v for k, v in deltas.items() if v > 0}
    if deltas:
        _quota(session, ctx, server.project_id, deltas, region=server.cloud)
    server.new_flavor = flavor_record(flavor)
    record(session, ctx, server, rule, "resize", params={"flavor": flavor_record(flavor)},
           request_id=request_id)


def rebuild(session: Session, ctx: AuthContext, server: Server, body: Mapping[str, Any], *,
            capabilities: Iterable[Capability], request_id: str | None, driver: ComputeDriver,
            disk_config: DiskConfig | None = None, reimage_volume: bool | None = None) -> str:
    """Rebuild with a new image (and optionally name, metadata, description, disk config: None
    keeps the server's, as Nova does). Returns the password.

    A volume-backed server: without ``reimage_volume`` (Nova before 2.93) only with the image of
    its root volume, and the volume is left alone; with it (2.93: None means the region's volume
    driver cannot reimage) the operation has the root volume reimaged with the image first.

    :raises Invalid: an image the region cannot boot, AUTO with an image that disables it, another
        image for a volume-backed server before 2.93.
    :raises FeatureNotSupported: 2.93 on a region whose volume driver cannot reimage."""
    rule = allowed(server, ctx, "rebuild", capabilities)
    image = find_image(session, body["imageRef"], ctx, region=server.cloud)
    from_volume = volume_backed(session, server)
    root_volume = root_volume_id(session, server) if from_volume else None
    if from_volume and reimage_volume is False and image.id != root_volume_image(session, server):
        raise Invalid(f"Image {image.id} is unacceptable: Unable to rebuild with a different image for a "
                      "volume-backed server.")
    if from_volume and reimage_volume is None:
        raise FeatureNotSupported()
    check_image_usable(session, image, region=server.cloud, driver=driver)
    auto_disk = auto_disk_config(image, disk_config) if disk_config is not None else None
    password = body.get("adminPass") or generate_password()
    if "name" in body:
        server.name = body["name"]
    if "description" in body:
        server.description = body["description"]
    if "metadata" in body:
        check_metadata(body["metadata"])
        _quota(session, ctx, server.project_id, {"metadata_items": len(body["metadata"])}, region=server.cloud)
        server.metadata_items = [ServerMetadata(key=k, value=str(v)) for k, v in body["metadata"].items()]
    if "accessIPv4" in body:
        server.access_ipv4 = body["accessIPv4"] or ""
    if "accessIPv6" in body:
        server.access_ipv6 = canonical_ipv6(body["accessIPv6"])
    if "hostname" in body:  # 2.90 (a short name), 2.94 (an FQDN)
        server.hostname = body["hostname"]
    if not from_volume:  # a volume-backed server keeps showing no image, as in Nova
        server.image_id = image.id
        server.image_properties = image_properties(image)
    if auto_disk is not None:
        server.auto_disk_config = auto_disk
    params = {"image_id": image.id, "admin_password": password}
    if from_volume and reimage_volume and root_volume:
        params["root_volume_id"] = root_volume
    record(session, ctx, server, rule, "rebuild", params=params, request_id=request_id)
    return password


def _snapshot_image(session: Session, ctx: AuthContext, server: Server, name: str, image_type: str,
                    extra: Mapping[str, str]) -> Image:
    """A queued, private image of the server (``image_type`` snapshot or backup), owned by its
    project; the operation records the image the region's backend made (its data stays there, so
    the image is the region's: ``cloud``). As in Nova, the caller's ``extra`` properties (the
    request's metadata) win over the ones Nova sets itself."""
    props = {"base_image_ref": server.image_id or "", "image_type": image_type, "instance_uuid": server.id,
             "user_id": ctx.user_id}
    props.update({str(k): str(v) for k, v in extra.items()})
    image = Image(id=str(uuid.uuid4()), name=name, status="queued", visibility="private", cloud=server.cloud,
                  owner=server.project_id, disk_format="qcow2", container_format="bare",
                  min_disk=int((server.flavor or {}).get("disk") or 0), properties=props)
    session.add(image)
    return image


def create_image(session: Session, ctx: AuthContext, server: Server, name: str, metadata: Mapping[str, str], *,
                 capabilities: Iterable[Capability], request_id: str | None) -> Image:
    """``createImage``: a snapshot image. :raises Conflict, FeatureNotSupported: see :func:`allowed`."""
    rule = allowed(server, ctx, "createImage", capabilities)
    image = _snapshot_image(session, ctx, server, name, "snapshot", metadata)
    record(session, ctx, server, rule, "createImage", params={"image_id": image.id, "image_name": name},
           request_id=request_id)
    return image


def create_backup(session: Session, ctx: AuthContext, server: Server, name: str, backup_type: str, rotation: int,
                  metadata: Mapping[str, str], *, capabilities: Iterable[Capability],
                  request_id: str | None) -> Image:
    """``createBackup``: a snapshot image of type ``backup``; once it is made, only the newest
    ``rotation`` backups of that type of the server are kept (Nova's rotation).

    :raises Conflict, FeatureNotSupported: see :func:`allowed`.
    """
    rule = allowed(server, ctx, "createBackup", capabilities)
    image = _snapshot_image(session, ctx, server, name, "backup", {**metadata, "backup_type": backup_type})
    record(session, ctx, server, rule, "createBackup", request_id=request_id,
           params={"image_id": image.id, "image_name": name, "backup_type": backup_type, "rotation": rotation})
    return image


def shelve(session: Session, ctx: AuthContext, server: Server, *, capabilities: Iterable[Capability],
           request_id: str | None) -> None:
    """``shelve``: an image-backed server is saved to the image ``<name>-shelved`` first (the
    operation snapshots, then shelves; unshelve deletes the image), as Nova does.

    :raises Conflict, FeatureNotSupported: see :func:`allowed`.
    """
    rule = allowed(server, ctx, "shelve", capabilities)
    params: dict[str, Any] = {}
    if server.image_id:
        image = _snapshot_image(session, ctx, server, f"{server.name}-shelved", "snapshot", {})
        server.shelved_image_id = image.id
        params = {"image_id": image.id, "image_name": image.name}
    record(session, ctx, server, rule, "shelve", params=params, request_id=request_id)


class _Kept:
    """The type of :data:`ZONE_KEPT`."""


#: unshelve's ``zone`` when the request names none: the server stays pinned as it is
ZONE_KEPT = _Kept()


def unshelve(session: Session, ctx: AuthContext, server: Server, *, zone: str | None | _Kept = ZONE_KEPT,
             host: str | None = None, capabilities: Iterable[Capability], request_id: str | None) -> None:
    """``unshelve``, into ``zone`` (2.77; None unpins the server, 2.91) or onto ``host`` (2.91), as
    Nova's compute API checks them: the new zone becomes the server's pinned zone
    (``requested_zone``); a host without a zone must lie in the zone the server is pinned to.

    :raises Conflict: locked or wrong state; a zone or host for a server not SHELVED_OFFLOADED;
        a host outside the zone. :raises Invalid: an unknown or unavailable zone, an unknown host.
    :raises FeatureNotSupported: see :func:`allowed`.
    """
    rule = allowed(server, ctx, "unshelve", capabilities)
    zone_given = not isinstance(zone, _Kept)
    if not (zone_given or host):
        record(session, ctx, server, rule, "unshelve", request_id=request_id)
        return
    if server.vm_state != S.SHELVED_OFFLOADED:
        raise Conflict(f'Specifying an availability zone or a host when unshelving server "{server.id}" with '
                       f'status "{server.vm_state}" is not supported. The server status must be SHELVED_OFFLOADED.')
    zones = {z.name: z for z in zone_rules.list_zones(session, region=server.cloud)}
    if host and not any(host in z.hosts for z in zones.values()):
        raise Invalid(f"Compute host {host} could not be found.")
    if zone_given and zone and (zone not in zones or not zones[zone].available):
        raise Invalid("The requested availability zone is not available")
    pinned = zone if zone_given else (server.requested_zone or "").partition(":")[0] or None
    if host and pinned and host not in zones.get(pinned, zone_rules.ZoneInfo(pinned, False)).hosts:
        raise Conflict(f'Host "{host}" is not in the availability zone "{pinned}".')
    if zone_given:
        server.requested_zone = zone
    placement = f"{pinned or ''}:{host}" if host else pinned
    record(session, ctx, server, rule, "unshelve", request_id=request_id,
           params={"availability_zone": placement} if placement else None)


def lock(server: Server, ctx: AuthContext, reason: str | None) -> None:
    server.locked = True
    server.locked_by = "admin" if ctx.is_admin and ctx.project_id != server.project_id else "owner"
    server.locked_reason = reason
    server.updated_at = utcnow()


def unlock(server: Server, ctx: AuthContext) -> None:
    """:raises Forbidden: an owner unlocking what an admin locked (Nova's unlock_override)."""
    if server.locked and server.locked_by == "admin" and not ctx.is_admin:
        raise Forbidden("Policy doesn't allow os_compute_api:os-lock-server:unlock:unlock_override to be "
                        "performed.")
    server.locked = False
    server.locked_by = None
    server.locked_reason = None
    server.updated_at = utcnow()


def inject_network_info(session: Session, ctx: AuthContext, server: Server) -> None:
    """``injectNetworkInfo`` (admin): Nova refreshes the server's network info cache from Neutron
    and hands it to the virt driver, which for QEMU (libvirt) does nothing with it; so this
    rewrites the server's addresses (and security groups) from its ports, at once. :raises Conflict: locked."""
    check_lock(server, ctx)
    networking.refresh_network_info(session, {server.id})


def reset_state(server: Server, state: str) -> None:
    """os-resetState (admin): ``active`` or ``error``; the task is cleared."""
    server.vm_state = S.ACTIVE if state == "active" else S.ERROR
    server.task_state = None
    server.updated_at = utcnow()


def console_output(server: Server, ctx: AuthContext, capabilities: Iterable[Capability]) -> None:
    """Checks before the (synchronous, as in Nova) console read. :raises Conflict: not running yet."""
    check_capability(capabilities, RULES["os-getConsoleOutput"])
    if not server.backend_id:
        raise Conflict(f"Instance {server.id} has not been launched yet.")
