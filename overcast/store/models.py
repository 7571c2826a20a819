"""SQLAlchemy models: the records Overcast keeps. Identity lives here until other services join."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Mapping

from sqlalchemy import (JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint)
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship


def new_id() -> str:
    return uuid.uuid4().hex


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


def put_row(session: Session, model: type[Base], key: Mapping[str, Any], **values: Any) -> Base:
    """The ``model`` row whose primary key is ``key``, updated with ``values``, or added with them."""
    row = session.get(model, tuple(key[column.key] for column in sa_inspect(model).primary_key))
    if row is None:
        row = model(**key, **values)
        session.add(row)
    else:
        for name, value in values.items():
            setattr(row, name, value)
    return row


#: Keystone's root of all domains, as in Keystone's own schema.
ROOT_DOMAIN_ID = "<<keystone.domain.root>>"
DEFAULT_DOMAIN_ID = "default"


class Domain(Base):
    __tablename__ = "domain"
    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Project(Base):
    __tablename__ = "project"
    __table_args__ = (UniqueConstraint("domain_id", "name"),)
    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(64))
    domain_id: Mapped[str] = mapped_column(String(64), ForeignKey("domain.id"), index=True)
    parent_id: Mapped[str | None] = mapped_column(String(64), ForeignKey("project.id"), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)
    tags: Mapped[list["ProjectTag"]] = relationship(cascade="all, delete-orphan", lazy="selectin",
                                                    order_by="ProjectTag.name")


class ProjectTag(Base):
    __tablename__ = "project_tag"
    project_id: Mapped[str] = mapped_column(String(64), ForeignKey("project.id", ondelete="CASCADE"),
                                            primary_key=True)
    name: Mapped[str] = mapped_column(String(255), primary_key=True)


class User(Base):
    __tablename__ = "user"
    __table_args__ = (UniqueConstraint("domain_id", "name"),)
    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255))
    domain_id: Mapped[str] = mapped_column(String(64), ForeignKey("domain.id"), index=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    default_project_id: Mapped[str | None] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text, default="")
    email: Mapped[str | None] = mapped_column(String(255))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    password_created_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    password_expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    failed_auth_count: Mapped[int] = mapped_column(Integer, default=0)
    failed_auth_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Group(Base):
    __tablename__ = "group"
    __table_args__ = (UniqueConstraint("domain_id", "name"),)
    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(64))
    domain_id: Mapped[str] = mapped_column(String(64), ForeignKey("domain.id"), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)


class GroupMembership(Base):
    __tablename__ = "group_membership"
    group_id: Mapped[str] = mapped_column(String(64), ForeignKey("group.id", ondelete="CASCADE"),
                                          primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), ForeignKey("user.id", ondelete="CASCADE"),
                                         primary_key=True, index=True)


class Role(Base):
    __tablename__ = "role"
    __table_args__ = (UniqueConstraint("name", "domain_id"),)
    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255))
    #: Domain-specific roles carry their domain; global roles carry ROOT_DOMAIN_ID.
    domain_id: Mapped[str] = mapped_column(String(64), default=ROOT_DOMAIN_ID)
    description: Mapped[str] = mapped_column(Text, default="")
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ImpliedRole(Base):
    __tablename__ = "implied_role"
    prior_role_id: Mapped[str] = mapped_column(String(64), ForeignKey("role.id", ondelete="CASCADE"),
                                               primary_key=True)
    implied_role_id: Mapped[str] = mapped_column(String(64), ForeignKey("role.id", ondelete="CASCADE"),
                                                 primary_key=True)


class Assignment(Base):
    """A role granted to an actor (user or group) on a target (project, domain or the system)."""

    __tablename__ = "assignment"
    #: UserProject, GroupProject, UserDomain, GroupDomain, UserSystem, GroupSystem
    type: Mapped[str] = mapped_column(String(16), primary_key=True)
    actor_id: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    #: project or domain id; "system" for system assignments
    target_id: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    role_id: Mapped[str] = mapped_column(String(64), ForeignKey("role.id", ondelete="CASCADE"),
                                         primary_key=True)
    inherited: Mapped[bool] = mapped_column(Boolean, primary_key=True, default=False)


class ApplicationCredential(Base):
    __tablename__ = "application_credential"
    __table_args__ = (UniqueConstraint("user_id", "name"),)
    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(String(64), ForeignKey("user.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    secret_hash: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    unrestricted: Mapped[bool] = mapped_column(Boolean, default=False)
    #: ids of the roles the credential delegates
    role_ids: Mapped[list[Any]] = mapped_column(default=list)
    access_rules: Mapped[list[Any]] = mapped_column(default=list)


class Credential(Base):
    __tablename__ = "credential"
    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(String(64), ForeignKey("user.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[str | None] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(255))
    #: Fernet-encrypted blob (credential key repository); never stored in the clear.
    encrypted_blob: Mapped[str] = mapped_column(Text)
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Region(Base):
    __tablename__ = "region"
    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    description: Mapped[str] = mapped_column(Text, default="")
    parent_region_id: Mapped[str | None] = mapped_column(String(255))
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Service(Base):
    __tablename__ = "service"
    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    type: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Endpoint(Base):
    __tablename__ = "endpoint"
    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    service_id: Mapped[str] = mapped_column(String(64), ForeignKey("service.id", ondelete="CASCADE"),
                                            index=True)
    region_id: Mapped[str | None] = mapped_column(String(255))
    interface: Mapped[str] = mapped_column(String(8))
    url: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Policy(Base):
    __tablename__ = "policy"
    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    type: Mapped[str] = mapped_column(String(255))
    blob: Mapped[str] = mapped_column(Text)
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)


class RevocationEvent(Base):
    """Tokens matching every non-null field and issued at or before ``issued_before`` are revoked."""

    __tablename__ = "revocation_event"
    __table_args__ = (Index("ix_revocation_event_revoked_at", "revoked_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str | None] = mapped_column(String(64))
    project_id: Mapped[str | None] = mapped_column(String(64))
    domain_id: Mapped[str | None] = mapped_column(String(64))
    audit_id: Mapped[str | None] = mapped_column(String(32))
    audit_chain_id: Mapped[str | None] = mapped_column(String(32))
    app_cred_id: Mapped[str | None] = mapped_column(String(64))
    trust_id: Mapped[str | None] = mapped_column(String(64))
    access_token_id: Mapped[str | None] = mapped_column(String(64))
    #: seconds since the epoch (float, so a token issued just after a revocation survives it)
    issued_before: Mapped[float] = mapped_column(Float)
    revoked_at: Mapped[float] = mapped_column(Float)



# -- identity extras (0003): endpoint groups and project-endpoint filters (OS-EP-FILTER),
#    domain-specific configuration ------------------------------------------------------
class EndpointGroup(Base):
    """A saved filter over the catalog's endpoints (``interface``, ``service_id``, ``region_id``)."""

    __tablename__ = "endpoint_group"
    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    filters: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ProjectEndpoint(Base):
    """An endpoint a project's catalog is filtered to (OS-EP-FILTER)."""

    __tablename__ = "project_endpoint"
    endpoint_id: Mapped[str] = mapped_column(String(64), ForeignKey("endpoint.id", ondelete="CASCADE"),
                                             primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), ForeignKey("project.id", ondelete="CASCADE"),
                                            primary_key=True, index=True)


class ProjectEndpointGroup(Base):
    """An endpoint group associated with a project (OS-EP-FILTER)."""

    __tablename__ = "project_endpoint_group"
    endpoint_group_id: Mapped[str] = mapped_column(String(64), ForeignKey("endpoint_group.id", ondelete="CASCADE"),
                                                   primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), ForeignKey("project.id", ondelete="CASCADE"),
                                            primary_key=True, index=True)


class DomainConfig(Base):
    """A domain's specific configuration: ``{group: {option: value}}`` for the ``identity`` and
    ``ldap`` groups; sensitive options (the LDAP password) live in ``sensitive`` and are never shown."""

    __tablename__ = "domain_config"
    domain_id: Mapped[str] = mapped_column(String(64), ForeignKey("domain.id", ondelete="CASCADE"),
                                           primary_key=True)
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    sensitive: Mapped[dict[str, Any]] = mapped_column(default=dict)


# -- identity delegation and compliance (0005): trusts (OS-TRUST), OAuth1 consumers (OS-OAUTH1),
# password history (security_compliance), application credential access rules


class Trust(Base):
    """A trustor's delegation of some of their roles on a project to a trustee (OS-TRUST)."""

    __tablename__ = "trust"
    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    trustor_user_id: Mapped[str] = mapped_column(String(64), index=True)
    trustee_user_id: Mapped[str] = mapped_column(String(64), index=True)
    project_id: Mapped[str | None] = mapped_column(String(64), index=True)
    impersonation: Mapped[bool] = mapped_column(Boolean, default=False)
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    #: tokens still to be issued with it (None: unlimited)
    remaining_uses: Mapped[int | None] = mapped_column(Integer)
    allow_redelegation: Mapped[bool] = mapped_column(Boolean, default=False)
    #: how many more times it may be redelegated (None when redelegation is not allowed)
    redelegation_count: Mapped[int | None] = mapped_column(Integer)
    redelegated_trust_id: Mapped[str | None] = mapped_column(String(64))
    #: ids of the delegated roles
    role_ids: Mapped[list[Any]] = mapped_column(default=list)
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class OAuth1Consumer(Base):
    """An OAuth 1.0a consumer (OS-OAUTH1). Its secret signs the consumer's requests (HMAC-SHA1), so it
    is kept encrypted with the credential keys, not hashed; null for a consumer made before 0017."""

    __tablename__ = "oauth1_consumer"
    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    description: Mapped[str | None] = mapped_column(Text)
    encrypted_secret: Mapped[str | None] = mapped_column(Text)
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)


class OAuth1RequestToken(Base):
    """A consumer's request for a user's roles on a project; authorized, it carries the user, the
    roles and the verifier the consumer trades for an access token (once: it is then deleted)."""

    __tablename__ = "oauth1_request_token"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    consumer_id: Mapped[str] = mapped_column(String(64), ForeignKey("oauth1_consumer.id", ondelete="CASCADE"),
                                             index=True)
    requested_project_id: Mapped[str] = mapped_column(String(64), ForeignKey("project.id", ondelete="CASCADE"))
    encrypted_secret: Mapped[str] = mapped_column(Text)
    authorizing_user_id: Mapped[str | None] = mapped_column(String(64), ForeignKey("user.id", ondelete="CASCADE"))
    role_ids: Mapped[list[Any] | None] = mapped_column(JSON)
    verifier: Mapped[str | None] = mapped_column(String(64))
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class OAuth1AccessToken(Base):
    """The delegation a consumer holds: it authenticates as the user, on the project, with the roles."""

    __tablename__ = "oauth1_access_token"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    consumer_id: Mapped[str] = mapped_column(String(64), ForeignKey("oauth1_consumer.id", ondelete="CASCADE"),
                                             index=True)
    authorizing_user_id: Mapped[str] = mapped_column(String(64), ForeignKey("user.id", ondelete="CASCADE"),
                                                     index=True)
    project_id: Mapped[str] = mapped_column(String(64), ForeignKey("project.id", ondelete="CASCADE"))
    role_ids: Mapped[list[Any]] = mapped_column(default=list)
    encrypted_secret: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class PasswordHistory(Base):
    """A user's earlier password hashes (security_compliance.unique_last_password_count)."""

    __tablename__ = "password_history"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(64), ForeignKey("user.id", ondelete="CASCADE"), index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class AccessRule(Base):
    """A user's application credential access rule: a service, a path template and a method."""

    __tablename__ = "access_rule"
    __table_args__ = (UniqueConstraint("user_id", "service", "path", "method"),)
    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(String(64), ForeignKey("user.id", ondelete="CASCADE"), index=True)
    service: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(128))
    method: Mapped[str] = mapped_column(String(16))
