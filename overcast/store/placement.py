"""Placement's records: resource providers per region with their inventories, traits and
aggregates; custom resource classes and traits; and the allocations clients write themselves.

A compute host's provider is made from its ``compute_service`` row (same UUID, as Nova's compute
node and its provider share one); a server's allocation is not stored but computed from the
server record (``core/placement``), so it follows the server without a second write.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from overcast.store.models import Base, utcnow


class ResourceProvider(Base):
    __tablename__ = "placement_provider"
    __table_args__ = (UniqueConstraint("cloud", "name"),)
    #: a plain sequence, for a stable order
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    #: the region the provider belongs to
    cloud: Mapped[str] = mapped_column(String(255), index=True)
    name: Mapped[str] = mapped_column(String(200))
    generation: Mapped[int] = mapped_column(Integer, default=0)
    parent_uuid: Mapped[str | None] = mapped_column(String(36), index=True)
    root_uuid: Mapped[str] = mapped_column(String(36), index=True)
    #: the compute host it stands for (its nova-compute service), none for one an admin made
    host: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    inventories: Mapped[list["Inventory"]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, lazy="selectin", order_by="Inventory.resource_class")
    traits: Mapped[list["ProviderTrait"]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, lazy="selectin", order_by="ProviderTrait.trait")
    aggregates: Mapped[list["ProviderAggregate"]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, lazy="selectin", order_by="ProviderAggregate.aggregate")


class Inventory(Base):
    __tablename__ = "placement_inventory"
    provider_id: Mapped[int] = mapped_column(Integer, ForeignKey("placement_provider.id", ondelete="CASCADE"),
                                             primary_key=True)
    resource_class: Mapped[str] = mapped_column(String(255), primary_key=True)
    total: Mapped[int] = mapped_column(Integer)
    reserved: Mapped[int] = mapped_column(Integer, default=0)
    min_unit: Mapped[int] = mapped_column(Integer, default=1)
    max_unit: Mapped[int] = mapped_column(Integer)
    step_size: Mapped[int] = mapped_column(Integer, default=1)
    allocation_ratio: Mapped[float] = mapped_column(Float, default=1.0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ProviderTrait(Base):
    __tablename__ = "placement_provider_trait"
    provider_id: Mapped[int] = mapped_column(Integer, ForeignKey("placement_provider.id", ondelete="CASCADE"),
                                             primary_key=True)
    trait: Mapped[str] = mapped_column(String(255), primary_key=True, index=True)


class ProviderAggregate(Base):
    __tablename__ = "placement_provider_aggregate"
    provider_id: Mapped[int] = mapped_column(Integer, ForeignKey("placement_provider.id", ondelete="CASCADE"),
                                             primary_key=True)
    aggregate: Mapped[str] = mapped_column(String(36), primary_key=True, index=True)


class CustomResourceClass(Base):
    """A ``CUSTOM_*`` resource class; the standard ones come from ``os-resource-classes``."""

    __tablename__ = "placement_resource_class"
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class CustomTrait(Base):
    """A ``CUSTOM_*`` trait; the standard ones come from ``os-traits``."""

    __tablename__ = "placement_trait"
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Consumer(Base):
    """Who holds stored allocations: a consumer a client named (never one of Overcast's servers)."""

    __tablename__ = "placement_consumer"
    uuid: Mapped[str] = mapped_column(String(36), primary_key=True)
    cloud: Mapped[str] = mapped_column(String(255), index=True)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    user_id: Mapped[str] = mapped_column(String(255))
    consumer_type: Mapped[str | None] = mapped_column(String(255))
    generation: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    allocations: Mapped[list["Allocation"]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, lazy="selectin")


class Allocation(Base):
    __tablename__ = "placement_allocation"
    consumer_uuid: Mapped[str] = mapped_column(String(36), ForeignKey("placement_consumer.uuid", ondelete="CASCADE"),
                                               primary_key=True)
    provider_id: Mapped[int] = mapped_column(Integer, ForeignKey("placement_provider.id"), primary_key=True,
                                             index=True)
    resource_class: Mapped[str] = mapped_column(String(255), primary_key=True)
    used: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    provider: Mapped[ResourceProvider] = relationship(lazy="joined")
