"""Domains: unique names, disable-before-delete, and deletion of everything a domain owns
(projects, users, groups, domain-specific roles and grants on the domain).

Keystone keeps a domain's tags and options on the project acting as the domain; Overcast keeps
them in the domain's ``extra`` under the keys ``tags`` and ``options``.
"""

from __future__ import annotations

from typing import Any, Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from overcast.core.errors import Conflict, Forbidden, Invalid
from overcast.core.identity import fetch, groups, projects, users
from overcast.core.identity import split_extra
from overcast.core.identity.filters import TextFilter, select_matching
from overcast.core.identity.projects import MAX_TAGS
from overcast.core.revocation import Revocations
from overcast.store.models import Assignment, Domain, Project, Role, User, new_id

DOMAIN_FIELDS = ("name", "description", "enabled", "tags", "options", "explicit_domain_id")


def get(session: Session, domain_id: str) -> Domain:
    """:raises NotFound: no such domain."""
    return fetch(session, Domain, domain_id, "domain")


def _duplicate(name: str) -> Conflict:
    return Conflict("Conflict occurred attempting to store project - it is not permitted to have two "
                    f"projects acting as domains with the same name: {name}.")


def _assert_unique(session: Session, name: str, domain_id: str | None = None) -> None:
    query = select(Domain.id).where(Domain.name == name)
    if domain_id is not None:
        query = query.where(Domain.id != domain_id)
    if session.scalar(query) is not None:
        raise _duplicate(name)


def _tags(tags: list[str]) -> list[str]:
    names = list(dict.fromkeys(t.strip() for t in tags))
    if len(names) > MAX_TAGS:
        raise Invalid(f"Invalid input for field 'tags': a domain may have at most {MAX_TAGS} tags.")
    return names


def create(session: Session, ref: dict[str, Any]) -> Domain:
    """:raises Conflict: the name or the explicit id is taken."""
    name = ref["name"].strip()
    _assert_unique(session, name)
    domain_id = ref.get("explicit_domain_id") or new_id()
    if session.get(Domain, domain_id) is not None or session.get(Project, domain_id) is not None:
        raise Conflict(f"Conflict occurred attempting to store project - Duplicate entry found with ID "
                       f"{domain_id}.")
    extra = split_extra(ref, DOMAIN_FIELDS)
    extra["tags"] = _tags(ref.get("tags") or [])
    extra["options"] = dict(ref.get("options") or {})
    domain = Domain(id=domain_id, name=name, description=ref.get("description") or "",
                    enabled=ref.get("enabled", True), extra=extra)
    session.add(domain)
    session.flush()
    return domain


def update(session: Session, domain: Domain, ref: dict[str, Any]) -> Revocations:
    """Apply a validated PATCH; disabling a domain revokes every token of its users and projects.

    :raises Conflict: the new name is taken.
    """
    if "id" in ref and ref["id"] != domain.id:
        raise Invalid("Cannot change ID")
    revocations: Revocations = []
    if "name" in ref:
        name = ref["name"].strip()
        if name != domain.name:
            _assert_unique(session, name, domain.id)
            domain.name = name
    if "description" in ref:
        domain.description = ref["description"] or ""
    if "enabled" in ref:
        if domain.enabled and not ref["enabled"]:
            revocations.append({"domain_id": domain.id})
            revocations += [{"user_id": uid} for uid in
                            session.scalars(select(User.id).where(User.domain_id == domain.id))]
            revocations += [{"project_id": pid} for pid in
                            session.scalars(select(Project.id).where(Project.domain_id == domain.id))]
        domain.enabled = ref["enabled"]
    extra = dict(domain.extra)
    extra.update(split_extra(ref, DOMAIN_FIELDS))
    if "tags" in ref:
        extra["tags"] = _tags(ref["tags"] or [])
    if "options" in ref:
        extra["options"] = {**extra.get("options", {}), **(ref["options"] or {})}
    domain.extra = extra
    session.flush()
    return revocations


def delete_domain(session: Session, domain: Domain) -> Revocations:
    """Delete a disabled domain and everything it owns.

    :raises Forbidden: the domain is enabled.
    """
    if domain.enabled:
        raise Forbidden("Cannot delete a domain that is enabled, please disable it first.")
    revocations: Revocations = [{"domain_id": domain.id}]
    revocations += projects.delete_in_domain(session, domain.id)
    revocations += users.delete_in_domain(session, domain.id)
    revocations += groups.delete_in_domain(session, domain.id)
    session.execute(delete(Assignment).where(Assignment.type.in_(("UserDomain", "GroupDomain")),
                                             Assignment.target_id == domain.id))
    role_ids = list(session.scalars(select(Role.id).where(Role.domain_id == domain.id)))
    if role_ids:
        session.execute(delete(Assignment).where(Assignment.role_id.in_(role_ids)))
        session.execute(delete(Role).where(Role.id.in_(role_ids)))
    session.execute(delete(Domain).where(Domain.id == domain.id))
    session.expire_all()
    return revocations


def list_domains(session: Session, *, name: str | None = None, enabled: bool | None = None,
                 matching: Sequence[TextFilter] = ()) -> list[Domain]:
    query = select(Domain).order_by(Domain.name, Domain.id)
    if name is not None:
        query = query.where(Domain.name == name)
    if enabled is not None:
        query = query.where(Domain.enabled.is_(enabled))
    return select_matching(session, query, Domain, matching)
