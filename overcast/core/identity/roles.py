"""Roles (global and domain-specific) and the inference rules between them, as Keystone keeps them.

Deleting a role removes its grants and inference rules and revokes the tokens of everyone who
held it, so a token never carries a role that no longer exists.
"""

from __future__ import annotations

from typing import Any, Sequence

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from overcast.core.errors import Conflict, Forbidden, Invalid, NotFound
from overcast.core.identity import IdentityCore, fetch
from overcast.core.identity.assignments import affected_users
from overcast.core.identity.filters import TextFilter, select_matching
from overcast.store.models import ROOT_DOMAIN_ID, Assignment, Domain, ImpliedRole, Role

#: Keystone's ``[assignment] prohibited_implied_role`` default: no rule may imply these.
PROHIBITED_IMPLIED = ("admin",)


def get_role(session: Session, role_id: str) -> Role:
    """:raises NotFound: no such role."""
    return fetch(session, Role, role_id, "role")


def _check_domain(session: Session, domain_id: str | None) -> str:
    if domain_id is None:
        return ROOT_DOMAIN_ID
    if session.get(Domain, domain_id) is None:
        raise NotFound(f"Could not find domain: {domain_id}.")
    return domain_id


def _check_unique(session: Session, name: str, domain_id: str, role_id: str | None = None) -> None:
    clash = session.scalar(select(Role.id).where(Role.name == name, Role.domain_id == domain_id,
                                                 *([Role.id != role_id] if role_id else [])))
    if clash is not None:
        raise Conflict(f"Conflict occurred attempting to store role - Duplicate entry found with name {name}.")


def list_roles(session: Session, *, name: str | None = None, domain_id: str | None = None,
               matching: Sequence[TextFilter] = ()) -> list[Role]:
    """Global roles, or with ``domain_id`` that domain's roles (Keystone lists them apart)."""
    query = select(Role).where(Role.domain_id == (domain_id or ROOT_DOMAIN_ID))
    if name is not None:
        query = query.where(Role.name == name)
    return select_matching(session, query.order_by(Role.name), Role, matching)


def create_role(session: Session, body: dict[str, Any]) -> Role:
    """:raises NotFound: unknown domain. :raises Conflict: the name is taken in that domain."""
    fields = dict(body)
    domain_id = _check_domain(session, fields.pop("domain_id", None))
    name = fields.pop("name")
    _check_unique(session, name, domain_id)
    role = Role(name=name, domain_id=domain_id, description=fields.pop("description", None) or "",
                options=fields.pop("options", None) or {})
    fields.pop("id", None)
    fields.pop("links", None)
    role.extra = fields
    session.add(role)
    session.flush()
    return role


def update_role(session: Session, role_id: str, body: dict[str, Any]) -> Role:
    """:raises NotFound: :raises Invalid: a domain change. :raises Conflict: a taken name."""
    role = get_role(session, role_id)
    fields = dict(body)
    if "domain_id" in fields and (fields.pop("domain_id") or ROOT_DOMAIN_ID) != role.domain_id:
        raise Invalid("Update of `domain_id` is not allowed.")
    if "id" in fields and fields.pop("id") != role.id:
        raise Invalid("Update of `id` is not allowed.")
    fields.pop("links", None)
    if "name" in fields:
        _check_unique(session, fields["name"], role.domain_id, role.id)
        role.name = fields.pop("name")
    if "description" in fields:
        role.description = fields.pop("description") or ""
    if "options" in fields:
        role.options = {**role.options, **(fields.pop("options") or {})}
    if fields:
        role.extra = {**role.extra, **fields}
    session.flush()
    return role


def delete_role(core: IdentityCore, role_id: str) -> None:
    """Delete a role, its grants and inference rules; revoke the tokens of those who held it.

    :raises NotFound: no such role.
    """
    with core.store.session() as session:
        role = get_role(session, role_id)
        holders = affected_users(session, session.scalars(select(Assignment).where(
            Assignment.role_id == role_id)).all())
        session.execute(delete(Assignment).where(Assignment.role_id == role_id))
        session.execute(delete(ImpliedRole).where(or_(ImpliedRole.prior_role_id == role_id,
                                                      ImpliedRole.implied_role_id == role_id)))
        session.delete(role)
    for user_id in sorted(holders):
        core.revocations.revoke(user_id=user_id)


# -- inference rules ----------------------------------------------------------------------
def _implies_transitively(session: Session, start: str, goal: str) -> bool:
    seen, frontier = {start}, {start}
    while frontier:
        nxt = set(session.scalars(select(ImpliedRole.implied_role_id)
                                  .where(ImpliedRole.prior_role_id.in_(frontier))))
        if goal in nxt:
            return True
        frontier = nxt - seen
        seen |= nxt
    return False


def get_implied(session: Session, prior_role_id: str, implied_role_id: str) -> tuple[Role, Role]:
    """:raises NotFound: either role is unknown, or the rule does not exist."""
    prior, implied = get_role(session, prior_role_id), get_role(session, implied_role_id)
    if session.get(ImpliedRole, (prior_role_id, implied_role_id)) is None:
        raise NotFound(f"{prior_role_id} does not imply {implied_role_id}.")
    return prior, implied


def create_implied(session: Session, prior_role_id: str, implied_role_id: str) -> tuple[Role, Role]:
    """Make ``prior`` imply ``implied``.

    :raises NotFound: an unknown role.
    :raises Forbidden: a prohibited implied role, a global role implying a domain-specific one,
        or a rule that would close a cycle.
    :raises Conflict: the rule exists.
    """
    prior, implied = get_role(session, prior_role_id), get_role(session, implied_role_id)
    if implied.name in PROHIBITED_IMPLIED and implied.domain_id == ROOT_DOMAIN_ID:
        raise Forbidden(f"{implied.id} cannot be an implied roles.")
    if prior.domain_id == ROOT_DOMAIN_ID and implied.domain_id != ROOT_DOMAIN_ID:
        raise Forbidden("Global role cannot imply a domain-specific role")
    if prior.id == implied.id or _implies_transitively(session, implied.id, prior.id):
        raise Forbidden(f"{implied.id} cannot be an implied roles: {prior.id} would imply itself.")
    if session.get(ImpliedRole, (prior.id, implied.id)) is not None:
        raise Conflict("Conflict occurred attempting to store implied_role - Duplicate entry.")
    session.add(ImpliedRole(prior_role_id=prior.id, implied_role_id=implied.id))
    session.flush()
    return prior, implied


def delete_implied(core: IdentityCore, prior_role_id: str, implied_role_id: str) -> None:
    """Remove a rule and revoke the tokens of those holding the prior role (they lose a role).

    :raises NotFound: unknown role or rule.
    """
    with core.store.session() as session:
        get_implied(session, prior_role_id, implied_role_id)
        session.execute(delete(ImpliedRole).where(ImpliedRole.prior_role_id == prior_role_id,
                                                  ImpliedRole.implied_role_id == implied_role_id))
        holders = affected_users(session, session.scalars(select(Assignment).where(
            Assignment.role_id == prior_role_id)).all())
    for user_id in sorted(holders):
        core.revocations.revoke(user_id=user_id)


def implied_by(session: Session, prior_role_id: str) -> list[Role]:
    """Roles the prior role implies directly. :raises NotFound: unknown prior role."""
    get_role(session, prior_role_id)
    return list(session.scalars(select(Role).join(ImpliedRole, ImpliedRole.implied_role_id == Role.id)
                                .where(ImpliedRole.prior_role_id == prior_role_id).order_by(Role.name)))


def inference_rules(session: Session) -> list[tuple[Role, list[Role]]]:
    """Every prior role with the roles it implies directly."""
    roles = {r.id: r for r in session.scalars(select(Role))}
    rules: dict[str, list[Role]] = {}
    for rule in session.scalars(select(ImpliedRole)):
        rules.setdefault(rule.prior_role_id, []).append(roles[rule.implied_role_id])
    return [(roles[prior], sorted(implied, key=lambda r: r.name))
            for prior, implied in sorted(rules.items(), key=lambda kv: roles[kv[0]].name)]
