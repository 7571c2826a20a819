"""CDN records (Poppy's data model): services and the document each was asked to be, their state on
every provider of their flavor, the domains they claim, flavors, SSL certificates and per-project
limits.

A service's ``document`` holds what the user asked for (domains, origins, caching, restrictions,
log delivery) in Poppy's JSON shape, so a JSON Patch applies to it directly; ``status`` is derived
from the provider rows and stored so the admin API can list services by status with an index.
Domains are claimed in their own table whose primary key is the domain: two projects racing for one
domain both insert, and the database lets exactly one commit.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from overcast.store.models import Base, utcnow


def new_uuid() -> str:
    return str(uuid.uuid4())


class CdnFlavor(Base):
    __tablename__ = "cdn_flavor"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: [{"provider": name, "links": [{"href": ..., "rel": "provider_url"}]}, ...] in deployment order
    providers: Mapped[list[Any]] = mapped_column(JSON, default=list)
    #: made from the configuration (refreshed at every start) rather than through the API
    managed: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    @property
    def provider_names(self) -> list[str]:
        return [p["provider"] for p in self.providers or ()]


class CdnService(Base):
    __tablename__ = "cdn_service"
    __table_args__ = (UniqueConstraint("project_id", "name", name="uq_cdn_service_project_name"),
                      Index("ix_cdn_service_project_id", "project_id", "id"),
                      Index("ix_cdn_service_status", "status"))
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    project_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(256))
    flavor_id: Mapped[str] = mapped_column(String(64), ForeignKey("cdn_flavor.id"), index=True)
    #: domains, origins, caching, restrictions, log_delivery as the user gave them (Poppy's shape)
    document: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: derived from the provider rows (create_in_progress, deployed, update_in_progress,
    #: delete_in_progress, failed)
    status: Mapped[str] = mapped_column(String(32), default="create_in_progress")
    #: ``enabled`` or ``disabled`` (by an operator: the provider keeps it but refuses its traffic)
    operator_status: Mapped[str] = mapped_column(String(16), default="enabled")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    providers: Mapped[list["CdnProviderDetail"]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="CdnProviderDetail.position")
    domains: Mapped[list["CdnDomain"]] = relationship(cascade="all, delete-orphan", lazy="raise")


class CdnProviderDetail(Base):
    """The service on one provider of its flavor."""

    __tablename__ = "cdn_provider_detail"
    service_id: Mapped[str] = mapped_column(String(36), ForeignKey("cdn_service.id", ondelete="CASCADE"),
                                            primary_key=True)
    provider: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: the provider's order in the flavor
    position: Mapped[int] = mapped_column(Integer, default=0)
    provider_service_id: Mapped[str | None] = mapped_column(String(255))
    #: deploy_in_progress, deployed, update_in_progress, delete_in_progress, failed
    status: Mapped[str] = mapped_column(String(32), default="deploy_in_progress")
    #: [{"domain": ..., "provider_url": ...}, ...]
    access_urls: Mapped[list[Any]] = mapped_column(JSON, default=list)
    #: domain -> certificate status
    certificates: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: the provider's message of the last failure (shown in the service's ``errors``)
    error_message: Mapped[str | None] = mapped_column(Text)
    error_class: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class CdnDomain(Base):
    """A domain claimed by a service; unique across all projects."""

    __tablename__ = "cdn_domain"
    domain: Mapped[str] = mapped_column(String(253), primary_key=True)
    service_id: Mapped[str] = mapped_column(String(36), ForeignKey("cdn_service.id", ondelete="CASCADE"),
                                            index=True)
    project_id: Mapped[str] = mapped_column(String(64))


class CdnProject(Base):
    """Per-project bookkeeping: the service limit an admin set (None: the configured default) and
    how many services the project holds, counted with the claim so two racing creates cannot both
    pass the limit."""

    __tablename__ = "cdn_project"
    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    service_limit: Mapped[int | None] = mapped_column(Integer)
    services: Mapped[int] = mapped_column(Integer, default=0)


class CdnCertificate(Base):
    __tablename__ = "cdn_certificate"
    domain_name: Mapped[str] = mapped_column(String(253), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    flavor_id: Mapped[str] = mapped_column(String(64), ForeignKey("cdn_flavor.id"))
    cert_type: Mapped[str] = mapped_column(String(16))
    #: create_in_progress, deployed, failed, cancelled; delete_in_progress while it is removed
    status: Mapped[str] = mapped_column(String(32), default="create_in_progress", index=True)
    #: provider -> {"status": ..., "message": ..., "details": {...}}
    cert_details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
