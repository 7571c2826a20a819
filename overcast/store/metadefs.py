"""Glance's metadata definitions catalog (metadefs): namespaces and what they hold.

A namespace (``OS::Compute::Hypervisor``) groups property definitions, objects (named sets of
properties), tag definitions and associations with resource types (``OS::Glance::Image``). Its
children are named uniquely within it and go with it when it is deleted.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from overcast.store.models import Base, utcnow

#: the resource types every Glance database starts with (Glance's metadefs migration seeds them)
SEEDED_RESOURCE_TYPES = ("OS::Glance::Image", "OS::Cinder::Volume", "OS::Nova::Flavor", "OS::Nova::Aggregate",
                         "OS::Nova::Server")


class MetadefNamespace(Base):
    __tablename__ = "metadef_namespace"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    namespace: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(80))
    description: Mapped[str | None] = mapped_column(Text)
    #: public or private
    visibility: Mapped[str] = mapped_column(String(32), default="private")
    protected: Mapped[bool] = mapped_column(Boolean, default=False)
    owner: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    objects: Mapped[list["MetadefObject"]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="MetadefObject.id")
    properties: Mapped[list["MetadefProperty"]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="MetadefProperty.id")
    tags: Mapped[list["MetadefTag"]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="MetadefTag.id")
    associations: Mapped[list["MetadefAssociation"]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, lazy="selectin",
        order_by="MetadefAssociation.created_at")


class MetadefObject(Base):
    """A named group of property definitions (``required`` names the ones that must be set)."""

    __tablename__ = "metadef_object"
    __table_args__ = (UniqueConstraint("namespace_id", "name"),)
    kind = "object"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    namespace_id: Mapped[int] = mapped_column(Integer, ForeignKey("metadef_namespace.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(80))
    description: Mapped[str | None] = mapped_column(Text)
    required: Mapped[list[Any] | None] = mapped_column(JSON)
    #: property name -> definition (as the property schema describes one)
    properties: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class MetadefProperty(Base):
    """One property definition: its name and a JSON-schema-like definition (type, title, enum ...)."""

    __tablename__ = "metadef_property"
    __table_args__ = (UniqueConstraint("namespace_id", "name"),)
    kind = "property"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    namespace_id: Mapped[int] = mapped_column(Integer, ForeignKey("metadef_namespace.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(80))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class MetadefTag(Base):
    __tablename__ = "metadef_tag"
    __table_args__ = (UniqueConstraint("namespace_id", "name"),)
    kind = "tag"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    namespace_id: Mapped[int] = mapped_column(Integer, ForeignKey("metadef_namespace.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class MetadefResourceType(Base):
    """A kind of resource a namespace applies to; the seeded ones are protected."""

    __tablename__ = "metadef_resource_type"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    protected: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class MetadefAssociation(Base):
    """A namespace applies to a resource type, its properties named with ``prefix`` there."""

    __tablename__ = "metadef_namespace_resource_type"
    namespace_id: Mapped[int] = mapped_column(Integer, ForeignKey("metadef_namespace.id", ondelete="CASCADE"),
                                              primary_key=True)
    resource_type_id: Mapped[int] = mapped_column(Integer, ForeignKey("metadef_resource_type.id"),
                                                  primary_key=True)
    prefix: Mapped[str | None] = mapped_column(String(80))
    properties_target: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    resource_type: Mapped[MetadefResourceType] = relationship(lazy="joined")
