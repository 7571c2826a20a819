"""Image records, in Glance v2's shape (the data itself lives in an image store)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from overcast.store.models import Base, utcnow


class Image(Base):
    __tablename__ = "image"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=lambda: str(uuid.uuid4()))
    name: Mapped[str | None] = mapped_column(String(255), index=True)
    status: Mapped[str] = mapped_column(String(30), default="queued", index=True)
    visibility: Mapped[str] = mapped_column(String(20), default="shared", index=True)
    owner: Mapped[str | None] = mapped_column(String(64), index=True)
    protected: Mapped[bool] = mapped_column(Boolean, default=False)
    os_hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    disk_format: Mapped[str | None] = mapped_column(String(20))
    container_format: Mapped[str | None] = mapped_column(String(20))
    size: Mapped[int | None] = mapped_column(BigInteger)
    virtual_size: Mapped[int | None] = mapped_column(BigInteger)
    checksum: Mapped[str | None] = mapped_column(String(32))
    os_hash_algo: Mapped[str | None] = mapped_column(String(64))
    os_hash_value: Mapped[str | None] = mapped_column(String(128))
    min_disk: Mapped[int] = mapped_column(Integer, default=0)
    min_ram: Mapped[int] = mapped_column(Integer, default=0)
    #: where the data is, for the image store that holds it
    location: Mapped[str | None] = mapped_column(String(1024))
    #: Glance's ``locations`` (``[{"url", "metadata"}]``, in order) once a client set them (PATCH
    #: ``/locations``, docs/decisions/0074); None: only ``location`` (the store's), if any
    locations: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    #: None: an image of Overcast's own (its data in Overcast's store, or none yet), shown in every
    #: region; a region's name: an image only that region's backend holds (a snapshot it made, or
    #: one of its own images), shown only there (0025)
    cloud: Mapped[str | None] = mapped_column(String(255), index=True)
    #: additional properties (Glance's free-form image attributes)
    properties: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    tags: Mapped[list["ImageTag"]] = relationship(cascade="all, delete-orphan", lazy="selectin",
                                                  order_by="ImageTag.value")


class ImageLocation(Base):
    """An image as one region's backend holds it: the backend's image id (an AMI, an upstream
    Glance id, a local snapshot) and what the backend knows about it beyond that."""

    __tablename__ = "image_location"
    image_id: Mapped[str] = mapped_column(String(36), ForeignKey("image.id", ondelete="CASCADE"), primary_key=True)
    cloud: Mapped[str] = mapped_column(String(255), primary_key=True)
    backend_id: Mapped[str] = mapped_column(String(255))
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ImageTag(Base):
    __tablename__ = "image_tag"
    image_id: Mapped[str] = mapped_column(String(36), ForeignKey("image.id", ondelete="CASCADE"), primary_key=True)
    value: Mapped[str] = mapped_column(String(255), primary_key=True)


class ImageMember(Base):
    __tablename__ = "image_member"
    image_id: Mapped[str] = mapped_column(String(36), ForeignKey("image.id", ondelete="CASCADE"), primary_key=True)
    member: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class ImageTask(Base):
    """A Glance task: an image import (``api_image_import``, shown at ``/v2/images/{id}/tasks``) or
    the legacy ``import`` of ``POST /v2/tasks``, which has no image until it made one (``result``)."""

    __tablename__ = "image_task"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=lambda: str(uuid.uuid4()))
    image_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("image.id", ondelete="CASCADE"),
                                                 index=True)
    type: Mapped[str] = mapped_column(String(30), default="api_image_import")
    #: pending, processing, success, failure
    status: Mapped[str] = mapped_column(String(30), default="pending")
    owner: Mapped[str | None] = mapped_column(String(64))
    user_id: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(64))
    #: the task's input (``{"import_req": {...}}`` for an image import) and what came of it
    input: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    message: Mapped[str] = mapped_column(String(1024), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
