"""Block device mappings of a server create (``block_device_mapping_v2``): which device is the
root, the volumes a server boots with, and the device names they get.

Checked in the request with Nova's messages, as Nova's API checks them before it answers 202:
the boot sequence, sizes, that volumes, snapshots, images and volume types exist and fit. An
existing volume is reserved for the server at once (a Cinder attachment, so two servers cannot
take one volume). Volumes made from an image, a snapshot or nothing are made by the
``server.build`` operation (:mod:`overcast.core.compute.volume_operations`).

Only mappings with destination ``volume`` are recorded (``BlockDeviceMapping``); an image
mapping with destination ``local`` names the image of a local root disk, and blank local disks
(swap, ephemeral) are accepted and left to the flavor.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.core.context import AuthContext
from overcast.core.errors import Invalid, NotFound
from overcast.core.volume import attachments, snapshots, states
from overcast.core.volume import types as vtypes
from overcast.core.volume.volumes import GIB, check_image_fits, get_volume
from overcast.store.compute import BlockDeviceMapping, Server
from overcast.store.image import Image
from overcast.store.volume import Volume, VolumeAttachment

ROOT_DEVICE = "/dev/vda"
#: nova.block_device.match_device
DEVICE_PATTERN = r"(^/dev/x{0,1}[a-z]{0,1}d{0,1})([a-z]+)[0-9]*$"
BOOT_SEQUENCE = ("Block Device Mapping is Invalid: Boot sequence for the instance and image/block device "
                 "mapping combination is not valid.")
_TRUE = {"true", "1", "on", "yes", "y", "t"}
#: the largest volume size a mapping may ask for (GB; the records' integer)
MAX_SIZE = 2 ** 31 - 1


@dataclass(frozen=True)
class Requested:
    """One volume a new server is to have: an existing one, or one its build makes."""

    #: volume, image, snapshot or blank
    source_type: str
    uuid: str | None
    boot_index: int | None
    volume_size: int | None
    volume_type: str | None
    device_name: str | None
    delete_on_termination: bool
    tag: str | None

    @property
    def is_root(self) -> bool:
        return self.boot_index == 0


@dataclass(frozen=True)
class BootPlan:
    """What a create boots from: the root's image (if any), whether the root is a volume, the volumes."""

    image_ref: str | None
    volume_root: bool
    volumes: tuple[Requested, ...]

    @property
    def image_refs(self) -> tuple[str, ...]:
        """Every image the request names, the root's first (the caller checks they are usable)."""
        refs = [self.image_ref] if self.image_ref else []
        refs += [v.uuid for v in self.volumes if v.source_type == "image" and v.uuid]
        return tuple(dict.fromkeys(refs))


def invalid_bdm(details: str) -> Invalid:
    return Invalid(f"Block Device Mapping is Invalid: {details}")


def _int(value: Any) -> int | None:
    return None if value is None or value == "" else int(value)


def flag(value: Any) -> bool:
    """A boolean the schema let through (Nova's parameter_types.boolean)."""
    return value is True or str(value).strip().lower() in _TRUE


def parse(image_ref: str | None, bdms: Sequence[Mapping[str, Any]]) -> BootPlan:
    """The boot plan of a create (the schema checked the shapes).

    With ``imageRef`` and no mapping at boot index 0 the image is the root disk, as the mapping
    novaclient adds for ``--image`` says.

    :raises Invalid: no image and no mapping, a bad boot sequence or mapping (Nova's messages).
    """
    if not bdms:
        if not image_ref:
            raise Invalid("Missing imageRef attribute")
        return BootPlan(image_ref, False, ())
    root_image, volumes = None, []
    for raw in bdms:
        source, uuid = raw.get("source_type"), raw.get("uuid") or None
        destination = raw.get("destination_type") or "local"
        boot_index = _int(raw.get("boot_index"))
        if not source:
            raise invalid_bdm("Some required fields are missing")
        if source == "blank" and uuid:
            raise invalid_bdm("Invalid device UUID.")
        if source != "blank" and not uuid:
            raise invalid_bdm("Missing device UUID.")
        if destination == "local":
            if source == "image" and boot_index == 0:
                root_image = uuid
            elif source != "blank":
                raise invalid_bdm(f"Mapping {source} to local is not supported.")
            continue
        size = _int(raw.get("volume_size"))
        if size is not None and size > MAX_SIZE:
            raise Invalid(f"Invalid input for field/attribute volume_size. Value: {size}. {size} is greater than "
                          f"the maximum of {MAX_SIZE}")
        volumes.append(Requested(  # a negative boot index means "not bootable", as None does
            source_type=source, uuid=uuid, boot_index=boot_index if boot_index is None or boot_index >= 0 else None,
            volume_size=size,
            volume_type=raw.get("volume_type"), device_name=raw.get("device_name"),
            delete_on_termination=flag(raw.get("delete_on_termination", False)), tag=raw.get("tag")))
    indexes = sorted(i for i in (_int(b.get("boot_index")) for b in bdms) if i is not None and i >= 0)
    if image_ref and 0 not in indexes:
        indexes.insert(0, 0)
        root_image = root_image or image_ref
    if not indexes or indexes != list(range(len(indexes))):
        raise Invalid(BOOT_SEQUENCE)
    existing = [v.uuid for v in volumes if v.source_type == "volume"]
    if len(existing) != len(set(existing)):
        raise invalid_bdm("a volume can be mapped only once.")
    root_volume = next((v for v in volumes if v.is_root), None)
    if root_volume is not None:
        return BootPlan(root_volume.uuid if root_volume.source_type == "image" else None, True, tuple(volumes))
    if root_image is None:  # the boot device is a blank local disk
        raise Invalid(BOOT_SEQUENCE)
    return BootPlan(root_image, False, tuple(volumes))


# -- devices -----------------------------------------------------------------------------------------


def _letters(index: int) -> str:
    """0 -> a, 25 -> z, 26 -> aa (the suffixes of vda, vdb ... vdz, vdaa)."""
    text = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        text = chr(ord("a") + rest) + text
    return text


def next_device(used: Iterable[str]) -> str:
    """The first free /dev/vdX after the root's /dev/vda."""
    taken = set(used) | {ROOT_DEVICE}
    return next(name for name in (f"/dev/vd{_letters(i)}" for i in itertools.count(1)) if name not in taken)


def valid_device(device: str) -> str:
    """``vdb`` or ``/dev/vdb`` as ``/dev/vdb``. :raises Invalid: not a device path (Nova's message)."""
    path = device if device.startswith("/dev/") else "/dev/" + device
    if not re.match(DEVICE_PATTERN, path):
        raise Invalid(f"The supplied device path ({device}) is invalid.")
    return path


# -- checks and records ------------------------------------------------------------------------------


def _volume(session: Session, ctx: AuthContext, server: Server, wanted: Requested) -> Volume:
    """The existing volume of a mapping. :raises Invalid: unknown, or not bootable for the root."""
    try:
        volume = get_volume(session, ctx, wanted.uuid or "", region=server.cloud)  # this Nova's Cinder only
    except NotFound:
        raise invalid_bdm(f"failed to get volume {wanted.uuid}.") from None
    if wanted.is_root and not volume.bootable:
        raise Invalid(f"Block Device {volume.id} is not bootable.")
    return volume


def _snapshot_size(session: Session, ctx: AuthContext, wanted: Requested, region: str) -> int:
    """The size of a volume made from a snapshot.

    :raises Invalid: unknown or unusable snapshot, a smaller size, a root that is not bootable.
    """
    try:
        snapshot = snapshots.get_snapshot(session, ctx, wanted.uuid or "", region=region)
    except NotFound as exc:
        if wanted.is_root:  # Nova looks the root's snapshot up first, for its image metadata
            raise Invalid(exc.message) from None
        raise invalid_bdm(f"failed to get snapshot {wanted.uuid}.") from None
    if snapshot.status != states.AVAILABLE:
        raise Invalid("Invalid snapshot: Originating snapshot status must be one of 'available' values")
    size = wanted.volume_size or snapshot.size
    if size < snapshot.size:
        raise Invalid(f"Invalid input received: Volume size '{size}'GB cannot be smaller than the snapshot size "
                      f"{snapshot.size}GB. They must be >= original snapshot size.")
    if wanted.is_root:
        origin = session.scalar(select(Volume).where(Volume.id == snapshot.volume_id))
        if origin is not None and not origin.bootable:
            raise Invalid(f"Block Device {origin.id} is not bootable.")
    return size


def _new_volume_size(session: Session, ctx: AuthContext, wanted: Requested, images: Mapping[str, Image],
                     region: str) -> int:
    """The size of a volume the build makes. :raises Invalid: no size, or an image that does not fit."""
    if wanted.source_type == "snapshot":
        return _snapshot_size(session, ctx, wanted, region)
    if not wanted.volume_size:
        if wanted.source_type == "image":
            raise Invalid("Images with destination_type 'volume' need to have a non-zero size specified")
        raise Invalid("Blank volumes (source: 'blank', dest: 'volume') need to have non-zero size")
    if wanted.source_type == "image":
        image = images[wanted.uuid or ""]
        if image.min_disk and image.min_disk > wanted.volume_size:
            raise Invalid(f"Volume is smaller than the minimum size specified in image metadata. Volume size is "
                          f"{wanted.volume_size * GIB} bytes, minimum size is {image.min_disk * GIB} bytes.")
        check_image_fits(image, wanted.volume_size)
    return wanted.volume_size


def record(session: Session, ctx: AuthContext, server: Server, plan: BootPlan, images: Mapping[str, Image]) -> None:
    """Check the plan's volumes for ``server`` and record them; reserve the existing ones.

    ``images`` are the plan's images, already checked by the caller.

    :raises Invalid: a volume, snapshot or type that cannot be used, a size that does not fit, a
        volume that is not available (Nova's and Cinder's messages).
    """
    used: list[str] = []
    for wanted in sorted(plan.volumes, key=lambda v: not v.is_root):
        if wanted.volume_type:
            try:
                vtypes.by_name_or_id(session, ctx, wanted.volume_type)
            except NotFound:
                raise Invalid(f"Volume type {wanted.volume_type} could not be found.") from None
        named = valid_device(wanted.device_name) if wanted.device_name and not wanted.is_root else None
        if wanted.is_root:
            device = ROOT_DEVICE
        elif named and named not in used + [ROOT_DEVICE]:
            device = named
        else:
            device = next_device(used)
        used.append(device)
        mapping = BlockDeviceMapping(
            server_id=server.id, source_type=wanted.source_type, boot_index=wanted.boot_index,
            volume_type=wanted.volume_type, device_name=device, delete_on_termination=wanted.delete_on_termination,
            tag=wanted.tag)
        if wanted.source_type == "volume":
            volume = _volume(session, ctx, server, wanted)
            mapping.volume_id, mapping.volume_size = volume.id, volume.size
            mapping.attachment_id = reserve(session, ctx, volume.id, server, "Invalid volume: ").id
        else:
            mapping.source_id = wanted.uuid
            mapping.volume_size = _new_volume_size(session, ctx, wanted, images, server.cloud)
        server.volume_mappings.append(mapping)


def reserve(session: Session, ctx: AuthContext, volume_id: str, server: Server, prefix: str = "") -> VolumeAttachment:
    """Cinder's reservation of a volume (of the server's region) for a server, its refusal as Nova words it.

    :raises NotFound: unknown volume. :raises Invalid: Cinder refused (``prefix`` + "Invalid input
        received: " + Cinder's message, as Nova passes it on).
    """
    try:
        return attachments.reserve(session, ctx, volume_id, region=server.cloud, instance_uuid=server.id)
    except Invalid as exc:
        raise Invalid(f"{prefix}Invalid input received: {exc.message}") from None
