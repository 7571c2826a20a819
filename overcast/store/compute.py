"""Compute records: flavors, key pairs, servers and their metadata, tags and groups, quotas,
aggregates and compute services. Nova's shapes, so views render them without guessing."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint, false)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from overcast.store.models import Base, utcnow


def new_uuid() -> str:
    return str(uuid.uuid4())


class Flavor(Base):
    __tablename__ = "flavor"
    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    vcpus: Mapped[int] = mapped_column(Integer)
    ram: Mapped[int] = mapped_column(Integer)
    disk: Mapped[int] = mapped_column(Integer)
    ephemeral: Mapped[int] = mapped_column(Integer, default=0)
    swap: Mapped[int] = mapped_column(Integer, default=0)
    rxtx_factor: Mapped[float] = mapped_column(Float, default=1.0)
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    extra_specs: Mapped[list["FlavorExtraSpec"]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    projects: Mapped[list["FlavorAccess"]] = relationship(cascade="all, delete-orphan", lazy="selectin")


class FlavorExtraSpec(Base):
    __tablename__ = "flavor_extra_spec"
    flavor_id: Mapped[str] = mapped_column(String(255), ForeignKey("flavor.id", ondelete="CASCADE"),
                                           primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class FlavorAccess(Base):
    __tablename__ = "flavor_access"
    flavor_id: Mapped[str] = mapped_column(String(255), ForeignKey("flavor.id", ondelete="CASCADE"),
                                           primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255), primary_key=True)


class KeyPair(Base):
    """A user's key pair in one region (Nova keeps them per region: each region's Nova has its own)."""

    __tablename__ = "key_pair"
    __table_args__ = (UniqueConstraint("user_id", "cloud", "name", name="uq_key_pair_user_id_cloud_name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    #: the region ("" for a row made before regions were kept: the first region claims it at start)
    cloud: Mapped[str] = mapped_column(String(255), server_default="", default="")
    name: Mapped[str] = mapped_column(String(255))
    public_key: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(8), default="ssh")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Server(Base):
    __tablename__ = "server"
    __table_args__ = (Index("ix_server_project_created", "project_id", "created_at"),
                      Index("ix_server_cloud_backend", "cloud", "backend_id"))
    #: a plain sequence, for Nova's instance names (instance-0000002a) and stable sorting
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    cloud: Mapped[str] = mapped_column(String(255))
    project_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255), index=True)
    hostname: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str | None] = mapped_column(Text)
    flavor_id: Mapped[str] = mapped_column(String(255))
    #: the flavor as it was at boot (Nova embeds it from 2.47)
    flavor: Mapped[dict[str, Any]] = mapped_column(JSON)
    image_id: Mapped[str | None] = mapped_column(String(36))
    key_name: Mapped[str | None] = mapped_column(String(255))
    key_data: Mapped[str | None] = mapped_column(Text)
    vm_state: Mapped[str] = mapped_column(String(32), default="building")
    task_state: Mapped[str | None] = mapped_column(String(32), default="scheduling")
    power_state: Mapped[int] = mapped_column(Integer, default=0)
    backend_id: Mapped[str | None] = mapped_column(String(255))
    #: what the backend knows about the server beyond the driver interface (ServerInfo.extra)
    backend_extra: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    idempotency_key: Mapped[str] = mapped_column(String(64), default=new_uuid)
    host: Mapped[str | None] = mapped_column(String(255))
    availability_zone: Mapped[str | None] = mapped_column(String(255))
    requested_zone: Mapped[str | None] = mapped_column(String(255))
    config_drive: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Nova's auto_disk_config: the backend grows the root partition to the flavor's disk
    #: (``OS-DCF:diskConfig`` AUTO) or leaves the image's partitions as they are (MANUAL)
    auto_disk_config: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    user_data: Mapped[str | None] = mapped_column(Text)
    access_ipv4: Mapped[str] = mapped_column(String(64), default="")
    access_ipv6: Mapped[str] = mapped_column(String(64), default="")
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    locked_by: Mapped[str | None] = mapped_column(String(16))
    locked_reason: Mapped[str | None] = mapped_column(Text)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    security_groups: Mapped[list[Any]] = mapped_column(JSON, default=list)
    #: the server's NICs as asked for (create and os-interface): [{"network_id", "port_id", "fixed_ip", "tag",
    #: "vif": the port made or bound for it}] (core/compute/networking)
    requested_networks: Mapped[Any] = mapped_column(JSON, default=list)
    #: {network name: [{"addr", "version", "OS-EXT-IPS:type", "OS-EXT-IPS-MAC:mac_addr"}]}
    addresses: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    block_devices: Mapped[list[Any]] = mapped_column(JSON, default=list)
    #: {"code", "message", "details", "created"} once a build or action failed
    fault: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: the flavor a resize is moving to, until confirmed or reverted
    new_flavor: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    reservation_id: Mapped[str] = mapped_column(String(32), default="")
    launch_index: Mapped[int] = mapped_column(Integer, default=0)
    server_group_id: Mapped[str | None] = mapped_column(String(36))
    #: the image's properties as they were at boot or the last rebuild, as strings (Nova's ``image_*``
    #: system metadata; shown under ``image.properties`` from 2.98); None: no image, or made before
    image_properties: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: the scheduler hints the create asked with (Nova's request spec; shown from 2.100)
    scheduler_hints: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: the snapshot a shelve saved the server to, deleted again by unshelve (Nova's shelved_image_id)
    shelved_image_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow, index=True)
    launched_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    terminated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    metadata_items: Mapped[list["ServerMetadata"]] = relationship(cascade="all, delete-orphan",
                                                                  lazy="selectin", order_by="ServerMetadata.key")
    tags: Mapped[list["ServerTag"]] = relationship(cascade="all, delete-orphan", lazy="selectin",
                                                   order_by="ServerTag.tag")
    #: the server's volumes (Nova's volume block device mappings), in the order they were added
    volume_mappings: Mapped[list["BlockDeviceMapping"]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="BlockDeviceMapping.seq")


class ServerMetadata(Base):
    __tablename__ = "server_metadata"
    server_id: Mapped[str] = mapped_column(String(36), ForeignKey("server.id", ondelete="CASCADE"),
                                           primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class ServerTag(Base):
    __tablename__ = "server_tag"
    server_id: Mapped[str] = mapped_column(String(36), ForeignKey("server.id", ondelete="CASCADE"),
                                           primary_key=True)
    tag: Mapped[str] = mapped_column(String(60), primary_key=True, index=True)


class BlockDeviceMapping(Base):
    """One volume of a server, as Nova records it (a block device mapping with destination
    ``volume``): where it shows in the guest and what happens to it when the server goes. The
    volume's own attachment record (Cinder's ``volume_attachment``) is ``attachment_id``."""

    __tablename__ = "block_device_mapping"
    __table_args__ = (UniqueConstraint("server_id", "volume_id"), UniqueConstraint("server_id", "device_name"))
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: Nova's bdm_uuid
    id: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    server_id: Mapped[str] = mapped_column(String(36), ForeignKey("server.id", ondelete="CASCADE"), index=True)
    #: none until the build operation has made the volume (image, snapshot and blank sources)
    volume_id: Mapped[str | None] = mapped_column(String(36), index=True)
    attachment_id: Mapped[str | None] = mapped_column(String(36))
    #: volume, image, snapshot or blank
    source_type: Mapped[str] = mapped_column(String(16))
    #: the image or snapshot a new volume is made from
    source_id: Mapped[str | None] = mapped_column(String(36))
    volume_size: Mapped[int | None] = mapped_column(Integer)
    volume_type: Mapped[str | None] = mapped_column(String(255))
    device_name: Mapped[str] = mapped_column(String(255))
    boot_index: Mapped[int | None] = mapped_column(Integer)
    delete_on_termination: Mapped[bool] = mapped_column(Boolean, default=False)
    tag: Mapped[str | None] = mapped_column(String(60))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Migration(Base):
    """A move of a server, as Nova records one for every resize (``os-migrations``): where from
    and to, the flavors, and how far it got (pre-migrating ... finished, then confirmed or
    reverted; error). The flavors are Nova's ``instance_type`` ids, here the flavor ids."""

    __tablename__ = "migration"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    server_id: Mapped[str] = mapped_column(String(36), ForeignKey("server.id", ondelete="CASCADE"), index=True)
    #: who asked for it (Nova's migration user_id/project_id, shown from 2.80)
    user_id: Mapped[str] = mapped_column(String(64))
    project_id: Mapped[str] = mapped_column(String(64))
    #: resize, migration, live-migration or evacuation
    migration_type: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(32), index=True)
    source_compute: Mapped[str | None] = mapped_column(String(255))
    source_node: Mapped[str | None] = mapped_column(String(255))
    dest_compute: Mapped[str | None] = mapped_column(String(255))
    dest_node: Mapped[str | None] = mapped_column(String(255))
    dest_host: Mapped[str | None] = mapped_column(String(255))
    old_flavor_id: Mapped[str] = mapped_column(String(255))
    new_flavor_id: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class ServerGroup(Base):
    __tablename__ = "server_group"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    cloud: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[str] = mapped_column(String(64))
    policy: Mapped[str] = mapped_column(String(32))
    rules: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ServerGroupMember(Base):
    __tablename__ = "server_group_member"
    group_id: Mapped[str] = mapped_column(String(36), ForeignKey("server_group.id", ondelete="CASCADE"),
                                          primary_key=True)
    server_id: Mapped[str] = mapped_column(String(36), primary_key=True, index=True)


class QuotaLimit(Base):
    """A project's (or a project user's) limit for one resource, overriding the default."""

    __tablename__ = "quota_limit"
    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), primary_key=True, default="")
    resource: Mapped[str] = mapped_column(String(64), primary_key=True)
    hard_limit: Mapped[int] = mapped_column(Integer)


class QuotaClass(Base):
    """A quota class's limit for one resource (os-quota-class-sets); the ``default`` class
    overrides Nova's configured defaults for every project."""

    __tablename__ = "quota_class"
    class_name: Mapped[str] = mapped_column(String(255), primary_key=True)
    resource: Mapped[str] = mapped_column(String(64), primary_key=True)
    hard_limit: Mapped[int] = mapped_column(Integer)


class Aggregate(Base):
    __tablename__ = "aggregate"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    availability_zone: Mapped[str | None] = mapped_column(String(255))
    hosts: Mapped[list[Any]] = mapped_column(JSON, default=list)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class ComputeService(Base):
    """os-services: one nova-compute per cloud backend host, enabled or disabled by an admin."""

    __tablename__ = "compute_service"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    cloud: Mapped[str] = mapped_column(String(255))
    host: Mapped[str] = mapped_column(String(255))
    binary: Mapped[str] = mapped_column(String(64), default="nova-compute")
    zone: Mapped[str] = mapped_column(String(255), default="nova")
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    forced_down: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class CloudInventory(Base):
    """What a region's backend offers, as its drivers last answered (``zones()``, ``pools()``,
    ``flavors()``, ``images()``): refreshed by a reconciler task, read by requests, so no request
    waits for a provider to list its zones (0025)."""

    __tablename__ = "cloud_inventory"
    cloud: Mapped[str] = mapped_column(String(255), primary_key=True)
    #: ``compute.zones``, ``compute.flavors``, ``volume.zones``, ``volume.pools`` ...
    kind: Mapped[str] = mapped_column(String(64), primary_key=True)
    items: Mapped[list[Any]] = mapped_column(JSON, default=list)
    refreshed_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
