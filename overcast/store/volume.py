"""Block storage records: volumes, their attachments, snapshots, volume types (and their
encryption and QoS specs), generic volume groups (group types, groups, group snapshots), quotas and quota
classes, transfers, user messages and the volume services' state.
Cinder's shapes, so views render them without guessing. Metadata is a JSON column (Cinder's
keys are bounded, and filters on it are rare and per project)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from overcast.store.models import Base, utcnow


def new_uuid() -> str:
    return str(uuid.uuid4())


class VolumeType(Base):
    __tablename__ = "volume_type"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    extra_specs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    projects: Mapped[list["VolumeTypeAccess"]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    encryption: Mapped["VolumeTypeEncryption | None"] = relationship(cascade="all, delete-orphan", lazy="selectin")
    qos: Mapped["VolumeTypeQos | None"] = relationship(cascade="all, delete-orphan", lazy="selectin")


class VolumeTypeAccess(Base):
    __tablename__ = "volume_type_access"
    volume_type_id: Mapped[str] = mapped_column(String(36), ForeignKey("volume_type.id", ondelete="CASCADE"),
                                                primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)


class Volume(Base):
    __tablename__ = "volume"
    __table_args__ = (Index("ix_volume_project_created", "project_id", "created_at"),
                      Index("ix_volume_cloud_backend", "cloud", "backend_id"))
    #: a plain sequence for stable sorting and markers
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    cloud: Mapped[str] = mapped_column(String(255))
    project_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(255), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    size: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(32), default="creating", index=True)
    attach_status: Mapped[str] = mapped_column(String(32), default="detached")
    availability_zone: Mapped[str] = mapped_column(String(255), default="nova")
    volume_type_id: Mapped[str | None] = mapped_column(String(36))
    bootable: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Cinder's visible admin metadata: ``readonly`` ("True"/"False", once set or attached) and
    #: ``attached_mode`` (while attached); shown among the volume's ``metadata``
    admin_metadata: Mapped[dict[str, str] | None] = mapped_column(JSON)
    multiattach: Mapped[bool] = mapped_column(Boolean, default=False)
    snapshot_id: Mapped[str | None] = mapped_column(String(36))
    source_volid: Mapped[str | None] = mapped_column(String(36))
    image_id: Mapped[str | None] = mapped_column(String(36))
    #: Glance properties copied at create (Cinder's volume_image_metadata)
    image_metadata: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    host: Mapped[str | None] = mapped_column(String(255))
    #: the generic volume group it belongs to (3.13)
    group_id: Mapped[str | None] = mapped_column(String(36), index=True)
    backend_id: Mapped[str | None] = mapped_column(String(255))
    #: what the backend knows about the volume beyond the driver interface (VolumeInfo.extra)
    backend_extra: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    idempotency_key: Mapped[str] = mapped_column(String(64), default=new_uuid)
    fault: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    attachments: Mapped[list["VolumeAttachment"]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="VolumeAttachment.created_at")


class VolumeAttachment(Base):
    """One attachment of a volume to a server (Cinder's volume_attachment)."""

    __tablename__ = "volume_attachment"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    volume_id: Mapped[str] = mapped_column(String(36), ForeignKey("volume.id", ondelete="CASCADE"), index=True)
    instance_uuid: Mapped[str | None] = mapped_column(String(36), index=True)
    attached_host: Mapped[str | None] = mapped_column(String(255))
    mountpoint: Mapped[str | None] = mapped_column(String(255))
    #: reserved, attaching, attached, detaching
    attach_status: Mapped[str] = mapped_column(String(32), default="reserved")
    attach_mode: Mapped[str] = mapped_column(String(8), default="rw")
    connector: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    connection_info: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    attach_time: Mapped[dt.datetime | None] = mapped_column(DateTime)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Snapshot(Base):
    __tablename__ = "volume_snapshot"
    __table_args__ = (Index("ix_volume_snapshot_project_created", "project_id", "created_at"),)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    cloud: Mapped[str] = mapped_column(String(255))
    project_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(64))
    volume_id: Mapped[str] = mapped_column(String(36), index=True)
    name: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    size: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(32), default="creating")
    #: Cinder's os-extended-snapshot-attributes:progress ("0%" .. "100%")
    progress: Mapped[str] = mapped_column(String(16), default="0%", server_default="0%")
    #: the group snapshot it was taken in (3.14)
    group_snapshot_id: Mapped[str | None] = mapped_column(String(36), index=True)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    backend_id: Mapped[str | None] = mapped_column(String(255))
    #: what the backend knows about the snapshot beyond the driver interface (SnapshotInfo.extra)
    backend_extra: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    idempotency_key: Mapped[str] = mapped_column(String(64), default=new_uuid)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class VolumeTypeEncryption(Base):
    """How volumes of a type are encrypted (Cinder's encryption table, one per type)."""

    __tablename__ = "volume_type_encryption"
    volume_type_id: Mapped[str] = mapped_column(String(36), ForeignKey("volume_type.id", ondelete="CASCADE"),
                                                primary_key=True)
    encryption_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    provider: Mapped[str] = mapped_column(String(255))
    cipher: Mapped[str | None] = mapped_column(String(255))
    key_size: Mapped[int | None] = mapped_column(Integer)
    control_location: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class QosSpecs(Base):
    """A QoS specification (Cinder's quality_of_service_specs): who enforces it and its key-value specs."""

    __tablename__ = "volume_qos_specs"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    #: front-end (the hypervisor), back-end (the storage) or both
    consumer: Mapped[str] = mapped_column(String(16))
    specs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class VolumeTypeQos(Base):
    """The QoS specs a volume type is associated with, at most one (Cinder's volume_types.qos_specs_id);
    the row goes with the type or the specs."""

    __tablename__ = "volume_type_qos"
    volume_type_id: Mapped[str] = mapped_column(String(36), ForeignKey("volume_type.id", ondelete="CASCADE"),
                                                primary_key=True)
    qos_specs_id: Mapped[str] = mapped_column(String(36), ForeignKey("volume_qos_specs.id", ondelete="CASCADE"),
                                              index=True)


class GroupType(Base):
    """What kind of group a generic volume group is (3.11); ``group_specs`` as Cinder keeps them."""

    __tablename__ = "volume_group_type"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    group_specs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class VolumeGroup(Base):
    """A generic volume group (3.13): volumes of the listed types, snapshotted together."""

    __tablename__ = "volume_group"
    __table_args__ = (Index("ix_volume_group_project_created", "project_id", "created_at"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    cloud: Mapped[str] = mapped_column(String(255))
    project_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(32))
    availability_zone: Mapped[str] = mapped_column(String(255))
    group_type_id: Mapped[str] = mapped_column(String(36), index=True)
    volume_type_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: where a group made from a source came from (3.14)
    group_snapshot_id: Mapped[str | None] = mapped_column(String(36))
    source_group_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class GroupSnapshot(Base):
    """A snapshot of every volume of a group, taken together (3.14)."""

    __tablename__ = "volume_group_snapshot"
    __table_args__ = (Index("ix_volume_group_snapshot_project_created", "project_id", "created_at"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    project_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(64))
    group_id: Mapped[str] = mapped_column(String(36), index=True)
    group_type_id: Mapped[str] = mapped_column(String(36))
    name: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class VolumeQuota(Base):
    """A project's limit for one block storage resource, overriding the default."""

    __tablename__ = "volume_quota"
    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    resource: Mapped[str] = mapped_column(String(64), primary_key=True)
    hard_limit: Mapped[int] = mapped_column(BigInteger)


class VolumeQuotaClass(Base):
    """A quota class's limit for one block storage resource; class ``default`` overrides the defaults."""

    __tablename__ = "volume_quota_class"
    class_name: Mapped[str] = mapped_column(String(255), primary_key=True)
    resource: Mapped[str] = mapped_column(String(300), primary_key=True)
    hard_limit: Mapped[int] = mapped_column(BigInteger)


class VolumeTransfer(Base):
    """A volume offered to another project; the auth key is kept only as a salted hash."""

    __tablename__ = "volume_transfer"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    volume_id: Mapped[str] = mapped_column(String(36), ForeignKey("volume.id", ondelete="CASCADE"), unique=True)
    source_project_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str | None] = mapped_column(String(255))
    salt: Mapped[str] = mapped_column(String(64))
    crypt_hash: Mapped[str] = mapped_column(String(255))
    no_snapshots: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class VolumeMessage(Base):
    """A user message: what went wrong with one of a project's resources (Cinder's messages API)."""

    __tablename__ = "volume_message"
    __table_args__ = (Index("ix_volume_message_project_created", "project_id", "created_at"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    project_id: Mapped[str] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(255))
    resource_type: Mapped[str] = mapped_column(String(64))
    resource_uuid: Mapped[str | None] = mapped_column(String(36), index=True)
    event_id: Mapped[str] = mapped_column(String(64))
    message_level: Mapped[str] = mapped_column(String(16))
    user_message: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)


class VolumeService(Base):
    """What an admin set on a volume service (enabled or not, why, frozen); services without a row
    are enabled. The services themselves follow from the configured regions: a service is one
    region's (two regions of one driver name their hosts alike, as two OpenStack regions may)."""

    __tablename__ = "volume_service"
    #: the region ("" for a row made before regions were kept: the first region claims it at start)
    cloud: Mapped[str] = mapped_column(String(255), primary_key=True, server_default="")
    host: Mapped[str] = mapped_column(String(255), primary_key=True)
    binary: Mapped[str] = mapped_column(String(64), primary_key=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled_reason: Mapped[str | None] = mapped_column(String(255))
    frozen: Mapped[bool] = mapped_column(Boolean, default=False)
    modified_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class VolumeBackup(Base):
    """A backup of a volume (or of one of its snapshots) in the region's backup store (Cinder's backups)."""

    __tablename__ = "volume_backup"
    __table_args__ = (Index("ix_volume_backup_project_created", "project_id", "created_at"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    cloud: Mapped[str] = mapped_column(String(255))
    project_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(64))
    volume_id: Mapped[str] = mapped_column(String(36), index=True)
    snapshot_id: Mapped[str | None] = mapped_column(String(36))
    #: the backup an incremental one follows (the volume's newest available backup when it was made)
    parent_id: Mapped[str | None] = mapped_column(String(36), index=True)
    name: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    container: Mapped[str | None] = mapped_column(String(255))
    availability_zone: Mapped[str | None] = mapped_column(String(255))
    #: GB, the volume's size when it was backed up
    size: Mapped[int] = mapped_column(Integer)
    object_count: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(32), default="creating")
    fail_reason: Mapped[str | None] = mapped_column(Text)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    #: what a restore gives the volume besides its data: metadata, bootable, image metadata (Cinder
    #: keeps them with the backup's data)
    volume_info: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: the volume a restore is writing (Cinder's restore_volume_id)
    restore_volume_id: Mapped[str | None] = mapped_column(String(36), index=True)
    backend_id: Mapped[str | None] = mapped_column(String(255))
    idempotency_key: Mapped[str] = mapped_column(String(64), default=new_uuid)
    #: when the data was read (the snapshot's creation for a backup of a snapshot)
    data_timestamp: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
