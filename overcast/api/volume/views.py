"""Records -> Cinder JSON, per microversion (checked against tempest.lib.api_schema.response.volume).

Fields by microversion: 3.13 ``group_id``; 3.21 ``provider_id`` (admin); 3.41 snapshot
``user_id``; 3.48 ``shared_targets`` and ``service_uuid``; 3.61 ``cluster_name`` (admin); 3.63
``volume_type_id``; 3.65 ``consumes_quota`` (volumes and snapshots). Admins also see the host,
migration attributes and ``migration_status``, as Cinder's policy defaults allow.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from dataclasses import dataclass
from typing import Any, Iterable

import falcon

from overcast.api.fragments import Fragments, frozen
from overcast.api.microversions import reached
from overcast.api.volume.common import Links, at_least, caller, version
from overcast.core.volume import states
from overcast.core.volume.types import Catalog
from overcast.store.volume import Snapshot, Volume, VolumeAttachment, VolumeBackup, VolumeType

#: a stable id for the cinder-volume service of a cloud (3.48 service_uuid)
_SERVICE_NS = uuid.UUID("6f1c0a51-5c38-4c8a-9a36-0c1f7e6f1a10")


#: the microversions that change what a volume view shows
_THRESHOLDS = ("3.13", "3.21", "3.48", "3.61", "3.63", "3.65")


def timestamp(value: dt.datetime | None) -> str | None:
    """``2026-12-06T10:00:00.000000``, the zone left out (isoformat is C code, strftime is not)."""
    if not value:
        return None
    if value.tzinfo is not None:
        value = value.replace(tzinfo=None)
    return value.isoformat(timespec="microseconds")


@functools.lru_cache(maxsize=64)
def service_uuid(cloud: str) -> str:
    return str(uuid.uuid5(_SERVICE_NS, cloud))


@dataclass(frozen=True)
class VolumeShape:
    """What a request's volume views depend on besides each volume (:meth:`VolumeViews.shape`)."""

    #: the thresholds of :data:`_THRESHOLDS` the request's microversion reaches
    flags: frozenset[str]
    #: the admin-only fields shown (an admin's show or list)
    admin: bool
    #: the show/list extensions' fields shown (not in create and update answers)
    extended: bool
    #: the block storage URL of the request's region, for the links
    base: str


class VolumeViews:
    def __init__(self, links: Links, fragments: Fragments | None = None):
        self.links = links
        #: rendered detail views of list rows (docs/decisions/0061-rendered-views-per-record.md)
        self.fragments = fragments if fragments is not None else Fragments()

    # -- volumes ------------------------------------------------------------------------------
    def summary(self, volume: Volume) -> dict[str, Any]:
        return {"id": volume.id, "name": volume.name,
                "links": self.links.pair(volume.project_id, "volumes", volume.id)}

    @staticmethod
    def attachment_summary(volume: Volume, attachment: VolumeAttachment) -> dict[str, Any]:
        return {"server_id": attachment.instance_uuid, "attachment_id": attachment.id,
                "attached_at": timestamp(attachment.attach_time), "host_name": attachment.attached_host,
                "volume_id": volume.id, "device": attachment.mountpoint, "id": volume.id}

    def shape(self, req: falcon.Request, *, extended: bool = True) -> VolumeShape:
        """What a volume view of this request depends on besides the volume, worked out once per
        request (docs/decisions/0051-computed-list-path.md)."""
        return VolumeShape(flags=reached(version(req), _THRESHOLDS), admin=caller(req).is_admin and extended,
                           extended=extended, base=self.links.base)

    def volume(self, req: falcon.Request, volume: Volume, types: Catalog, *,
               extended: bool = True) -> dict[str, Any]:
        """Cinder's detail view; ``extended`` adds what its show/list extensions add (tenant, host,
        migration, image metadata), which create and update responses do not carry."""
        attached = [a for a in volume.attachments if a.attach_status == states.ATTACHED]
        return self.detail_in(self.shape(req, extended=extended), volume, attached, types)

    def detail_in(self, shape: VolumeShape, volume: Any, attached: Iterable[Any],
                  types: Catalog) -> dict[str, Any]:
        """The detail view of ``volume`` (a :class:`Volume` or a list row with its attributes) with
        its ``attached`` attachments, in ``shape``."""
        flags, admin, vid, project, type_id = shape.flags, shape.admin, volume.id, volume.project_id, \
            volume.volume_type_id
        body: dict[str, Any] = {
            "id": vid, "name": volume.name,
            "links": self.links.pair_at(shape.base, project, "volumes", vid),
            "status": volume.status,
            "size": volume.size,
            "availability_zone": volume.availability_zone,
            "created_at": timestamp(volume.created_at),
            "updated_at": timestamp(volume.updated_at),
            "attachments": [self.attachment_summary(volume, a) for a in attached],
            "description": volume.description,
            "volume_type": types.names.get(type_id or ""),
            "snapshot_id": volume.snapshot_id,
            "source_volid": volume.source_volid,
            "metadata": {**(volume.metadata_ or {}), **(volume.admin_metadata or {})},
            "user_id": volume.user_id,
            "bootable": "true" if volume.bootable else "false",
            "encrypted": type_id in types.encrypted,
            "replication_status": None,
            "consistencygroup_id": None,
            "multiattach": volume.multiattach,
        }
        if shape.extended:
            body["os-vol-tenant-attr:tenant_id"] = project
            if volume.image_metadata:
                body["volume_image_metadata"] = dict(volume.image_metadata)
        if admin:
            body.update({"migration_status": None, "os-vol-host-attr:host": volume.host,
                         "os-vol-mig-status-attr:migstat": None, "os-vol-mig-status-attr:name_id": None})
        if "3.13" in flags:
            body["group_id"] = volume.group_id
        if "3.21" in flags and admin:
            body["provider_id"] = None
        if "3.48" in flags:
            body["shared_targets"] = False
            body["service_uuid"] = service_uuid(volume.cloud)
        if "3.61" in flags and admin:
            body["cluster_name"] = None
        if "3.63" in flags:
            body["volume_type_id"] = type_id
        if "3.65" in flags:
            body["consumes_quota"] = True
        return body

    def volume_list(self, req: falcon.Request, volumes: list[Any], types: Catalog, *,
                    detail: bool, more: bool, attachments: dict[str, list[Any]] | None = None) -> dict[str, Any]:
        """A list of volumes (:func:`overcast.core.volume.volumes.list_rows` rows); for a detail
        list, ``attachments`` are their attached attachments by volume id (absent: none), and
        ``volumes`` their rendered views (JSON bytes, kept per shape, row, attachments and type:
        docs/decisions/0061-rendered-views-per-record.md)."""
        if detail:
            shape, attached = self.shape(req), attachments or {}
            shown = [self.fragments.render(
                (shape, frozen(v), tuple(attached.get(v.id, ())), types.names.get(v.volume_type_id or ""),
                 v.volume_type_id in types.encrypted),
                lambda v=v: self.detail_in(shape, v, attached.get(v.id, ()), types)) for v in volumes]
        else:
            shown = [self.summary(v) for v in volumes]
        body: dict[str, Any] = {"volumes": shown}
        if more and volumes:
            body["volumes_links"] = self.links.next_page(req, "volumes/detail" if detail else "volumes",
                                                         volumes[-1].id)
        return body

    # -- snapshots ----------------------------------------------------------------------------
    def snapshot(self, req: falcon.Request, snapshot: Snapshot, *, detail: bool = True) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": snapshot.id, "name": snapshot.name, "description": snapshot.description,
            "status": snapshot.status, "size": snapshot.size, "volume_id": snapshot.volume_id,
            "metadata": dict(snapshot.metadata_ or {}), "created_at": timestamp(snapshot.created_at),
            "updated_at": timestamp(snapshot.updated_at),
        }
        if detail:
            body["os-extended-snapshot-attributes:progress"] = snapshot.progress
            body["os-extended-snapshot-attributes:project_id"] = snapshot.project_id
        if at_least(req, "3.14"):
            body["group_snapshot_id"] = snapshot.group_snapshot_id
        if at_least(req, "3.41"):
            body["user_id"] = snapshot.user_id
        if at_least(req, "3.65"):
            body["consumes_quota"] = True
        return body

    def snapshot_list(self, req: falcon.Request, snapshots: Iterable[Snapshot], *, detail: bool,
                      more: bool) -> dict[str, Any]:
        items = list(snapshots)
        body: dict[str, Any] = {"snapshots": [self.snapshot(req, s, detail=detail) for s in items]}
        if more and items:
            body["snapshots_links"] = self.links.next_page(req, "snapshots/detail" if detail else "snapshots",
                                                           items[-1].id)
        return body

    # -- backups ------------------------------------------------------------------------------
    def backup_summary(self, req: falcon.Request, backup: VolumeBackup) -> dict[str, Any]:
        """What create, update and the plain list show: id, name, links (3.43: metadata)."""
        body: dict[str, Any] = {"id": backup.id, "name": backup.name,
                                "links": self.links.pair(backup.project_id, "backups", backup.id)}
        if at_least(req, "3.43"):
            body["metadata"] = dict(backup.metadata_ or {})
        return body

    def backup(self, req: falcon.Request, backup: VolumeBackup, *, dependents: bool,
               project_attribute: bool) -> dict[str, Any]:
        """Cinder's detail view; ``project_attribute``: the caller may see the owner (3.18)."""
        body = self.backup_summary(req, backup)
        body.update({
            "status": backup.status, "size": backup.size, "object_count": backup.object_count,
            "availability_zone": backup.availability_zone, "container": backup.container,
            "description": backup.description, "fail_reason": backup.fail_reason, "volume_id": backup.volume_id,
            "snapshot_id": backup.snapshot_id, "is_incremental": backup.parent_id is not None,
            "has_dependent_backups": dependents, "created_at": timestamp(backup.created_at),
            "updated_at": timestamp(backup.updated_at), "data_timestamp": timestamp(backup.data_timestamp),
        })
        if project_attribute and at_least(req, "3.18"):
            body["os-backup-project-attr:project_id"] = backup.project_id
        if at_least(req, "3.56"):
            body["user_id"] = backup.user_id
        return body

    # -- types and attachments ----------------------------------------------------------------
    @staticmethod
    def volume_type(req: falcon.Request, vtype: VolumeType, *, access: bool = True,
                    qos: bool = False) -> dict[str, Any]:
        """``access``: the os-volume-type-access attribute (not in Cinder's update response);
        ``qos``: an admin's ``qos_specs_id`` (in shows and lists, not in create and update responses)."""
        body: dict[str, Any] = {"id": vtype.id, "name": vtype.name, "description": vtype.description,
                                "is_public": vtype.is_public}
        if access:
            body["os-volume-type-access:is_public"] = vtype.is_public
        if caller(req).is_admin:
            body["extra_specs"] = dict(vtype.extra_specs or {})
            if qos:
                body["qos_specs_id"] = vtype.qos.qos_specs_id if vtype.qos else None
        return body

    @staticmethod
    def attachment(attachment: VolumeAttachment, *, detail: bool = True) -> dict[str, Any]:
        body: dict[str, Any] = {"id": attachment.id, "status": attachment.attach_status,
                                "instance": attachment.instance_uuid, "volume_id": attachment.volume_id}
        if detail:
            body.update({"attached_at": timestamp(attachment.attach_time), "detached_at": None,
                         "attach_mode": attachment.attach_mode,
                         "connection_info": dict(attachment.connection_info or {})})
        return body
