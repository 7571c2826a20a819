"""Volumes: create, list, show, update, delete, metadata and the os-* actions, with Cinder's rules
and messages.

The API hands in validated bodies; this module checks what a schema cannot (type, zone, source,
image, quota, status), records the volume and enqueues its ``volume.create`` operation in the
same transaction, so a volume is never recorded without the work that makes it.
"""

from __future__ import annotations

import collections
import functools
import uuid
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from sqlalchemy import bindparam, select
from sqlalchemy import update as update_rows  # this module has its own update()
from sqlalchemy.orm import Session

from overcast.core import inventory
from overcast.core.context import AuthContext
from overcast.core.errors import Conflict, Invalid, NotFound
from overcast.core.volume import metadata, quotas, states
from overcast.core.volume import types as vtypes
from overcast.core.volume.listing import Page, paginate
from overcast.ops.engine import enqueue
from overcast.drivers.headroom import Headroom
from overcast.store.compute import BlockDeviceMapping
from overcast.store.image import Image, ImageLocation
from overcast.store.models import utcnow
from overcast.store.volume import Snapshot, Volume, VolumeAttachment, VolumeGroup, VolumeType

CREATE = "volume.create"
DELETE = "volume.delete"
EXTEND = "volume.extend"

GIB = 1024 ** 3
SORT_KEYS = ("id", "name", "size", "status", "created_at", "updated_at", "availability_zone", "bootable",
             "volume_type", "project_id", "user_id")
DELETE_REFUSED = ("Invalid volume: Volume status must be available or error or error_restoring or error_extending "
                  "or error_managing and must not be migrating, attached, belong to a group, have snapshots, "
                  "awaiting a transfer, or be disassociated from snapshots after volume transfer.")


def not_found(volume_id: str) -> NotFound:
    return NotFound(f"Volume {volume_id} could not be found.")


def find_volume(session: Session, volume_id: str | None) -> Volume | None:
    """The volume with this id, whoever owns it (None when there is none)."""
    return session.scalar(select(Volume).where(Volume.id == volume_id)) if volume_id else None


def get_volume(session: Session, ctx: AuthContext, volume_id: str, *, region: str) -> Volume:
    """A volume of ``region`` the caller may see (its project's, or any for an admin).

    :raises NotFound: unknown, another region's or another project's volume.
    """
    volume = find_volume(session, volume_id)
    if volume is None or volume.cloud != region or (not ctx.is_admin and volume.project_id != ctx.project_id):
        raise not_found(volume_id)
    return volume


def touch(volume: Volume | Snapshot) -> None:
    volume.updated_at = utcnow()


def swap_status(session: Session, volume: Volume, expected: str, new: str) -> bool:
    """Move the volume from ``expected`` to ``new`` unless another transaction changed its status
    first (Cinder's conditional update); the volume is re-read either way."""
    moved = session.execute(update_rows(Volume).where(Volume.id == volume.id, Volume.status == expected)
                            .values(status=new).execution_options(synchronize_session=False)).rowcount
    session.refresh(volume)
    return moved == 1


def volume_type(session: Session, volume: Volume) -> VolumeType | None:
    return session.get(VolumeType, volume.volume_type_id) if volume.volume_type_id else None


# -- create ----------------------------------------------------------------------------------------


@dataclass
class VolumeSpec:
    size: int | None
    name: str | None = None
    description: str | None = None
    volume_type: str | None = None
    availability_zone: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    snapshot_id: str | None = None
    source_volid: str | None = None
    image_ref: str | None = None
    multiattach: bool = False


def _image(session: Session, ctx: AuthContext, ref: str, region: str) -> Image:
    """An active image of ``region`` the caller may use. :raises NotFound: :raises Invalid: not active."""
    image_id = ref.rstrip("/").rsplit("/", 1)[-1]
    image = session.get(Image, image_id)
    visible = image is not None and image.cloud in (None, region) and (
        ctx.is_admin or image.visibility in ("public", "community", "shared")
                                     or image.owner == ctx.project_id)
    if not visible:
        raise NotFound(f"Image {image_id} could not be found.")
    if image.status != "active":
        raise Invalid(f"Invalid input received: Image {image_id} is not active.")
    return image


def image_metadata(image: Image) -> dict[str, str]:
    """Cinder's volume_image_metadata: the image's core attributes and properties, as strings."""
    meta = {"image_id": image.id, "image_name": image.name or "", "checksum": image.checksum or "",
            "container_format": image.container_format or "", "disk_format": image.disk_format or "",
            "min_disk": str(image.min_disk or 0), "min_ram": str(image.min_ram or 0), "size": str(image.size or 0)}
    meta.update({k: str(v) for k, v in (image.properties or {}).items()})
    return meta


def check_image_fits(image: Image, size: int) -> None:
    """:raises Invalid: the image (or its min_disk) is larger than ``size`` GB (Cinder's messages)."""
    image_gb = -(-(image.virtual_size or image.size or 0) // GIB)
    if image_gb > size:
        raise Invalid(f"Invalid input received: Size of specified image {image_gb}GB is larger than volume "
                      f"size {size}GB.")
    if image.min_disk and image.min_disk > size:
        raise Invalid(f"Invalid input received: Volume size {size}GB cannot be smaller than the image "
                      f"minDisk size {image.min_disk}GB.")


def pick_zone(zone: str | None, zones: Iterable[str]) -> str:
    """The zone asked for, or the region's first. :raises Invalid: not one of ``zones``."""
    known = list(zones)
    zone = zone or (known[0] if known else "nova")
    if zone not in known:
        raise Invalid(f"Invalid input received: Availability zone '{zone}' is invalid.")
    return zone


def check_group_type(group: VolumeGroup, vtype: VolumeType) -> None:
    """:raises Invalid: the group does not take volumes of ``vtype`` (Cinder's message)."""
    if vtype.id not in (group.volume_type_ids or []):
        raise Invalid(f"Invalid input received: Invalid volume_type provided: {vtype.id} (requested type must be "
                      "supported by this group).")


def create(session: Session, ctx: AuthContext, spec: VolumeSpec, *, region: str, request_id: str | None,
           zones: Iterable[str] | None = None, group: VolumeGroup | None = None,
           headroom: Headroom | None = None, overcast_images: bool = True) -> Volume:
    """Record a volume (in ``group``, when given) and enqueue its creation. ``zones`` the volume may
    be in: by default the zones the region's driver last listed (:mod:`overcast.core.inventory`).
    ``headroom``: what the region's backend still allows (:mod:`overcast.core.headroom`); the
    volume must fit it as well as the project's own quotas. ``overcast_images``: the region's backend
    can write Overcast's images (False: only an image the backend holds, a location in the region).

    :raises Invalid: bad size, zone or source state, or a type the group does not take (Cinder's
        "Invalid input received: ..." texts).
    :raises NotFound: unknown type, snapshot, source volume or image.
    :raises quotas.OverLimit: over quota.
    """
    project_id = ctx.project_id
    if not project_id:
        raise Invalid("Invalid input received: volumes are created in a project; use a project-scoped token.")
    size = spec.size
    zone = spec.availability_zone
    vtype = vtypes.by_name_or_id(session, ctx, spec.volume_type) if spec.volume_type else None
    bootable = False
    snapshot = source = image = None
    if spec.snapshot_id:
        snapshot = session.scalar(select(Snapshot).where(Snapshot.id == spec.snapshot_id, Snapshot.cloud == region))
        if snapshot is None or (not ctx.is_admin and snapshot.project_id != project_id):
            raise NotFound(f"Snapshot {spec.snapshot_id} could not be found.")
        if snapshot.status != states.AVAILABLE:
            raise Invalid("Invalid snapshot: Originating snapshot status must be one of 'available' values")
        size = snapshot.size if size is None else size
        if size < snapshot.size:
            raise Invalid(f"Invalid input received: Volume size '{size}'GB cannot be smaller than the snapshot size "
                          f"{snapshot.size}GB. They must be >= original snapshot size.")
        origin = session.scalar(select(Volume).where(Volume.id == snapshot.volume_id))
        if origin is not None:
            zone, bootable = zone or origin.availability_zone, origin.bootable
            vtype = vtype or volume_type(session, origin)
    if spec.source_volid:
        source = get_volume(session, ctx, spec.source_volid, region=region)
        if source.status not in (states.AVAILABLE, states.IN_USE):
            raise Invalid("Invalid volume: Unable to create a volume from an originating source volume when its "
                          f"status is {source.status}.")
        size = source.size if size is None else size
        if size < source.size:
            raise Invalid(f"Invalid input received: Volume size '{size}'GB cannot be smaller than original volume "
                          f"size  {source.size}GB. They must be >= original volume size.")
        zone, bootable = zone or source.availability_zone, source.bootable
        vtype = vtype or volume_type(session, source)
    if spec.image_ref:
        image = _image(session, ctx, spec.image_ref, region)
        if not overcast_images and session.get(ImageLocation, (image.id, region)) is None:
            raise Invalid(f"Invalid image identifier or unable to access requested image: imageRef {image.id} is "
                          f"not held by the backend of region {region}.")
        bootable = True
        if size is not None:
            check_image_fits(image, size)
    if size is None:
        raise Invalid("Invalid input received: Size of the volume must be specified.")
    zone = pick_zone(zone, inventory.volume_zone_names(session, region) if zones is None else zones)
    vtype = vtype or vtypes.default(session)
    if group is not None:
        check_group_type(group, vtype)
    quotas.reserve(session, project_id, volumes=1, gigabytes=size, volume_size=size, volume_type=vtype,
                   region=region)
    if headroom is not None:
        quotas.check_headroom(headroom.limits, headroom.used, {"volumes": 1, "gigabytes": size})
    volume = Volume(
        id=str(uuid.uuid4()), cloud=region, project_id=project_id, user_id=ctx.user_id, name=spec.name,
        description=spec.description, size=size, status=states.CREATING, attach_status=states.DETACHED,
        availability_zone=zone, volume_type_id=vtype.id, bootable=bootable,
        multiattach=spec.multiattach or vtypes.multiattach(vtype),
        snapshot_id=snapshot.id if snapshot else None, source_volid=source.id if source else None,
        image_id=image.id if image else None, image_metadata=image_metadata(image) if image else None,
        metadata_={k: str(v) for k, v in spec.metadata.items()}, group_id=group.id if group else None,
        created_at=utcnow())
    session.add(volume)
    session.flush()
    enqueue(session, kind=CREATE, cloud=region, resource_type="volume", resource_id=volume.id,
            action="create", request_id=request_id, user_id=ctx.user_id, project_id=project_id,
            idempotency_key=volume.idempotency_key)
    return volume


# -- list --------------------------------------------------------------------------------------------


@dataclass
class ListQuery:
    all_tenants: bool = False
    project_id: str | None = None
    name: str | None = None
    status: str | None = None
    availability_zone: str | None = None
    bootable: bool | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    page: Page = field(default_factory=Page)


#: sort keys that name another attribute
_SORT_ALIASES = {"volume_type": "volume_type_id"}


def list_volumes(session: Session, ctx: AuthContext, query: ListQuery, *, region: str) -> tuple[list[Volume], bool]:
    """``region``'s volumes of the caller (every project's for an admin asking all_tenants),
    filtered, sorted, paged.

    :raises NotFound: the marker is not a volume in the result.
    """
    return page_of(matching(session, ctx, query, region=region), query.page)


def page_of(rows: list[Volume], page: Page) -> tuple[list[Volume], bool]:
    """Sort and page volumes :func:`matching` selected (for a caller that also counts them).

    :raises NotFound: the marker is not among them.
    """
    return paginate(rows, page, aliases=_SORT_ALIASES)


#: the list filters compared for equality, by their ListQuery field
_EQUAL_FILTERS = {"name": Volume.name, "status": Volume.status, "availability_zone": Volume.availability_zone}


def _where(ctx: AuthContext, query: ListQuery, region: str) -> tuple[tuple, dict[str, Any]]:
    """The list query's filter of the volumes of ``region`` (but its metadata) as a statement
    shape for :func:`_statement` and its parameters: the one filter of both the ORM and the row reads."""
    params: dict[str, Any] = {"region": region}
    if not (ctx.is_admin and query.all_tenants):
        params["project"] = ctx.project_id
    elif query.project_id:
        params["project"] = query.project_id
    for name in _EQUAL_FILTERS:
        if getattr(query, name) is not None:
            params[name] = getattr(query, name)
    return (tuple(params), query.bootable), params


@functools.cache
def _statement(columns: str, shape: tuple) -> Any:
    """The select of ``columns`` ("orm": :class:`Volume` objects; "summary", "detail": the list
    rows' columns) filtered as ``shape`` (:func:`_where`) says, with bound parameters: built once
    per shape, so SQLAlchemy's statement cache finds it without walking a new statement each request."""
    names, bootable = shape
    stmt = select(Volume) if columns == "orm" else select(
        *_SUMMARY_COLUMNS, *(_DETAIL_COLUMNS if columns == "detail" else ()))
    stmt = stmt.where(Volume.cloud == bindparam("region"))
    if "project" in names:
        stmt = stmt.where(Volume.project_id == bindparam("project"))
    for name, column in _EQUAL_FILTERS.items():
        if name in names:
            stmt = stmt.where(column == bindparam(name))
    if bootable is not None:
        stmt = stmt.where(Volume.bootable.is_(bootable))
    return stmt


def matching(session: Session, ctx: AuthContext, query: ListQuery, *, region: str) -> list[Volume]:
    """Every volume of ``region`` the list query selects, unsorted and unpaged (for counts and summaries)."""
    shape, params = _where(ctx, query, region)
    rows = list(session.scalars(_statement("orm", shape), params))
    if query.metadata:
        rows = [v for v in rows if metadata.matches(v, query.metadata)]
    return rows


_V = Volume.__table__.c  # table columns: a cached statement's result map then matches them by identity
_VA = VolumeAttachment.__table__.c
#: what every list row carries: the summary view's, the sort keys' and the metadata filter's columns
_SUMMARY_COLUMNS = (_V.id, _V.name, _V.project_id, _V.size, _V.status, _V.created_at, _V.updated_at,
                    _V.availability_zone, _V.bootable, _V.volume_type_id, _V.user_id,
                    _V["metadata"].label("metadata_"))
#: what a detail row carries besides: the detail view's columns (no ``backend_extra``, ``fault``...)
#: and whether the volume has an attachment the view shows, so that :func:`list_attachments` reads
#: only for the volumes that have one
_DETAIL_COLUMNS = tuple(_V[name] for name in (
    "cloud", "description", "snapshot_id", "source_volid", "admin_metadata", "multiattach", "image_metadata",
    "host", "group_id")) + (
    select(_VA.volume_id).where(_VA.volume_id == _V.id, _VA.attach_status == states.ATTACHED)
    .exists().label("has_attachments"),)


@functools.cache
def _record_type(names: tuple[str, ...]) -> Any:
    """The named tuple of a list's rows with these columns (one per column set)."""
    return collections.namedtuple("ListedVolume", names)


@dataclass(frozen=True)
class Listed:
    """A page of :func:`list_rows`: its rows, whether it is full, and how many volumes matched."""

    rows: list[Any]
    more: bool
    count: int


def list_rows(session: Session, ctx: AuthContext, query: ListQuery, *, region: str, detail: bool = True) -> Listed:
    """:func:`list_volumes` as rows rather than ORM objects (docs/decisions/0051-computed-list-path.md):
    named tuples with the attributes of :class:`Volume` the summary list shows, sorts and filters
    by, and with ``detail`` those of the detail view and ``has_attachments``.

    :raises NotFound: the marker is not a volume in the result.
    """
    shape, params = _where(ctx, query, region)
    result = session.connection().execute(_statement("detail" if detail else "summary", shape), params)
    record = _record_type(tuple(result.keys()))
    rows = [record._make(row) for row in result.all()]
    if query.metadata:
        rows = [v for v in rows if metadata.matches(v, query.metadata)]
    chosen, more = page_of(rows, query.page)
    return Listed(chosen, more, len(rows))


#: volume ids per IN (...) of :func:`list_attachments` (under every database's bound-parameter limit)
_CHUNK = 1000
#: built once: the statement cache then only expands the id list
_ATTACHED_OF = (select(_VA.volume_id, _VA.id, _VA.instance_uuid, _VA.attached_host, _VA.mountpoint,
                       _VA.attach_time)
                .where(_VA.volume_id.in_(bindparam("ids", expanding=True)), _VA.attach_status == states.ATTACHED)
                .order_by(_VA.created_at))


def list_attachments(session: Session, rows: list[Any]) -> dict[str, list[Any]]:
    """The attached attachments (rows with ``id``, ``instance_uuid``, ``attached_host``,
    ``mountpoint``, ``attach_time``) of the volumes of a detail list (:func:`list_rows` rows), by
    volume id in the order they were made: one query per thousand volumes, only for the volumes
    that have one (none: no query)."""
    ids = [r.id for r in rows if r.has_attachments]
    found: dict[str, list[Any]] = {}
    for start in range(0, len(ids), _CHUNK):
        for row in session.connection().execute(_ATTACHED_OF, {"ids": ids[start:start + _CHUNK]}).all():
            found.setdefault(row.volume_id, []).append(row)
    return found


# -- update and delete -----------------------------------------------------------------------------


def update(volume: Volume, changes: Mapping[str, Any]) -> Volume:
    for key in ("name", "description"):
        if key in changes:
            setattr(volume, key, changes[key])
    if "metadata" in changes:
        volume.metadata_ = {k: str(v) for k, v in changes["metadata"].items()}
    touch(volume)
    return volume


def check_removable(session: Session, volume: Volume, *, force: bool = False, cascade: bool = False,
                    with_group: bool = False) -> list[Snapshot]:
    """What Cinder checks before it deletes (or unmanages) a volume; returns the volume's snapshots.

    :raises Invalid: attached, in a group (unless ``with_group``), has snapshots (unless
        ``cascade``), or a status that forbids it (unless ``force``): Cinder's message.
    """
    snapshots = list(session.scalars(select(Snapshot).where(Snapshot.volume_id == volume.id)))
    if (volume.attach_status == states.ATTACHED or volume.attachments
            or (volume.group_id and not with_group)
            or (not force and volume.status not in states.DELETABLE)
            or (snapshots and not cascade)):
        raise Invalid(DELETE_REFUSED)
    return snapshots


def delete(session: Session, ctx: AuthContext, volume: Volume, *, force: bool = False, cascade: bool = False,
           request_id: str | None = None, with_group: bool = False) -> None:
    """Mark the volume deleting and enqueue its deletion.

    :raises Invalid: attached, in a group (unless its group is being deleted, ``with_group``), has
        snapshots (unless ``cascade``), or a status that forbids it (unless ``force``), with
        Cinder's message.
    """
    snapshots = check_removable(session, volume, force=force, cascade=cascade, with_group=with_group)
    if cascade and any(s.status not in (states.AVAILABLE, states.ERROR) for s in snapshots):
        raise Invalid("Invalid volume: Snapshot of volume not in a state that allows deletion.")
    from overcast.core.volume import snapshots as snapshot_rules  # imported here: snapshots imports this module

    for snapshot in snapshots:
        snapshot_rules.mark_deleting(session, ctx, snapshot, request_id=request_id)
    volume.status = states.DELETING
    touch(volume)
    enqueue(session, kind=DELETE, cloud=volume.cloud, resource_type="volume", resource_id=volume.id,
            action="delete", request_id=request_id, user_id=ctx.user_id, project_id=volume.project_id)


# -- actions -----------------------------------------------------------------------------------------


def extend(session: Session, ctx: AuthContext, volume: Volume, new_size: int, *, allow_in_use: bool,
           request_id: str | None) -> None:
    """Start growing a volume. :raises Invalid: wrong status or not larger. :raises quotas.OverLimit:"""
    allowed = (states.AVAILABLE, states.IN_USE) if allow_in_use else (states.AVAILABLE,)
    if volume.status not in allowed:
        expected = "available or in-use" if allow_in_use else "available"
        raise Invalid(f"Invalid volume: Volume {volume.id} status must be {expected} to extend, but current status "
                      f"is: {volume.status}.")
    if new_size <= volume.size:
        raise Invalid(f"Invalid input received: New size for extend must be greater than current size. "
                      f"(current: {volume.size}, extended: {new_size}).")
    quotas.reserve(session, volume.project_id, gigabytes=new_size - volume.size, volume_size=new_size,
                   volume_type=volume_type(session, volume), region=volume.cloud)
    previous = volume.status
    volume.status = states.EXTENDING
    touch(volume)
    enqueue(session, kind=EXTEND, cloud=volume.cloud, resource_type="volume", resource_id=volume.id,
            action="extend", params={"new_size": new_size, "previous_status": previous}, request_id=request_id,
            user_id=ctx.user_id, project_id=volume.project_id)


def extend_volume_completion(volume: Volume, *, error: bool) -> None:
    """os-extend_volume_completion (Cinder 3.71): Nova's answer to a ``volume-extended`` event for a
    volume whose backend waits for the hypervisor to finish an extend (Cinder keeps such a volume
    ``extending`` with ``extend_new_size`` in its admin metadata). No Overcast volume driver extends
    that way: every extend completes in the volume operation itself, so no volume ever waits and
    the action is refused as Cinder refuses it for a volume it is not waiting for (400).
    ``error`` (Nova's failure, a rollback in Cinder) has nothing to act on for the same reason.
    :raises Invalid: always: the volume is not waiting for a completion."""
    raise Invalid(f"Invalid volume: Volume {volume.id} is not waiting for an extend completion (status: "
                  f"{volume.status}).")


def reset_status(volume: Volume, status: Any, attach_status: Any) -> None:
    """os-reset_status (None leaves a field). :raises Invalid: an unknown status (anything but
    one of the status names)."""
    if status is not None:
        if not isinstance(status, str) or status not in states.VOLUME_STATUSES:
            raise Invalid("Invalid input received: Must specify a valid status")
        volume.status = status
    if attach_status is not None:
        if not isinstance(attach_status, str) or attach_status not in states.ATTACH_STATUSES:
            raise Invalid("Invalid input received: Must specify a valid attach status")
        volume.attach_status = attach_status
        if attach_status == states.DETACHED:
            volume.attachments.clear()
    touch(volume)


def _expect(volume: Volume, action: str, *allowed: str) -> None:
    if volume.status not in allowed:
        raise Invalid(f"Invalid volume: Volume status must be {' or '.join(allowed)} to {action}, but the status "
                      f"is {volume.status}.")


def reserve(volume: Volume) -> None:
    """os-reserve: available (or in-use for multiattach) -> attaching. :raises Invalid:"""
    _expect(volume, "reserve", *((states.AVAILABLE, states.IN_USE) if volume.multiattach else (states.AVAILABLE,)))
    volume.status = states.ATTACHING
    touch(volume)


def settle(volume: Volume) -> None:
    """The status that follows from the attachments: in-use with any attached, else available;
    while attached, the admin metadata shows the ``attached_mode`` (and ``readonly``, "False"
    unless set), as Cinder's attach records them."""
    attached = [a for a in volume.attachments if a.attach_status == states.ATTACHED]
    volume.status = states.IN_USE if attached else states.AVAILABLE
    volume.attach_status = states.ATTACHED if attached else states.DETACHED
    admin = {k: v for k, v in (volume.admin_metadata or {}).items() if k != "attached_mode"}
    if attached:
        admin = {"readonly": "False", **admin, "attached_mode": attached[0].attach_mode}
    volume.admin_metadata = admin or None
    touch(volume)


def is_readonly(volume: Volume) -> bool:
    """Whether os-update_readonly_flag made the volume read-only."""
    return (volume.admin_metadata or {}).get("readonly") == "True"


def set_readonly(volume: Volume, readonly: bool) -> None:
    """os-update_readonly_flag: recorded as Cinder's ``readonly`` admin metadata."""
    volume.admin_metadata = {**(volume.admin_metadata or {}), "readonly": str(readonly)}
    touch(volume)


def unreserve(volume: Volume) -> None:
    """os-unreserve: attaching -> back to what the attachments say."""
    if volume.status == states.ATTACHING:
        for attachment in [a for a in volume.attachments if a.attach_status != states.ATTACHED]:
            volume.attachments.remove(attachment)
        settle(volume)


def begin_detaching(volume: Volume) -> None:
    """:raises Invalid: not in-use and attached (Cinder's message)."""
    if volume.status != states.IN_USE or volume.attach_status != states.ATTACHED:
        raise Invalid("Invalid volume: Unable to detach volume. Volume status must be 'in-use' and attach_status "
                      "must be 'attached' to detach.")
    volume.status = states.DETACHING
    touch(volume)


def roll_detaching(volume: Volume) -> None:
    if volume.status == states.DETACHING:
        settle(volume)


def attach(volume: Volume, *, instance_uuid: str | None, host_name: str | None, mountpoint: str,
           mode: str = "rw") -> VolumeAttachment:
    """os-attach: record the attachment (as Nova does after initialize_connection).

    :raises Invalid: the volume is not being attached or is in use and not multiattach.
    """
    if volume.status not in (states.ATTACHING, states.AVAILABLE, states.RESERVED) and not (
            volume.multiattach and volume.status == states.IN_USE):
        raise Invalid(f"Invalid volume: Volume status must be available or attaching to attach, but the status is "
                      f"{volume.status}.")
    if mode == "rw" and is_readonly(volume):
        raise Invalid(f"Invalid volume: Volume {volume.id} is read-only and cannot be attached read-write.")
    attachment = next((a for a in volume.attachments if a.attach_status != states.ATTACHED
                       and a.instance_uuid in (None, instance_uuid)), None)
    if attachment is None:
        attachment = VolumeAttachment(id=str(uuid.uuid4()), volume_id=volume.id)
        volume.attachments.append(attachment)
    attachment.instance_uuid = instance_uuid
    attachment.attached_host = host_name
    attachment.mountpoint = mountpoint
    attachment.attach_mode = mode
    attachment.attach_status = states.ATTACHED
    attachment.attach_time = utcnow()
    settle(volume)
    return attachment


def force_detach(session: Session, volume: Volume, attachment_id: str | None) -> None:
    """os-force_detach (admin): drop an attachment whatever the volume's status, after a detach
    that failed half-way; the volume settles to what its other attachments say.

    :raises Invalid: as :func:`detach`.
    :raises Conflict: a server still maps the volume through that attachment (Cinder's
        ConflictNovaUsingAttachment: Nova must detach it).
    """
    chosen = [a for a in volume.attachments if a.id == attachment_id] if attachment_id else list(volume.attachments)
    mapped = session.scalar(select(BlockDeviceMapping.server_id).where(
        BlockDeviceMapping.attachment_id.in_([a.id for a in chosen])).limit(1)) if chosen else None
    if mapped is not None:
        raise Conflict(f"Detach volume from instance {mapped} using the Compute API")
    detach(volume, attachment_id)


def detach(volume: Volume, attachment_id: str | None = None) -> None:
    """os-detach: drop one attachment (the only one when none is named).

    :raises Invalid: several attachments and none named, or the named one is not this volume's.
    """
    attachments = list(volume.attachments)
    if attachment_id:
        chosen = [a for a in attachments if a.id == attachment_id]
        if not chosen:
            raise Invalid(f"Invalid volume: Unable to detach volume. Attachment {attachment_id} is not attached to "
                          f"volume {volume.id}.")
    elif len(attachments) > 1:
        raise Invalid("Invalid volume: Detach volume with multiple attachments requires an attachment id.")
    else:
        chosen = attachments
    for attachment in chosen:
        volume.attachments.remove(attachment)
    settle(volume)
