"""Role assignments: grants of roles to users and groups on projects, domains and the system,
and the effective roles a user holds on a scope (groups, inheritance and implied roles applied)."""

from __future__ import annotations

from typing import Iterable

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from overcast.store.models import Assignment, GroupMembership, ImpliedRole, Project, Role

SYSTEM_TARGET = "system"


def group_ids_of(session: Session, user_id: str) -> list[str]:
    return list(session.scalars(select(GroupMembership.group_id).where(GroupMembership.user_id == user_id)))


def project_ancestors(session: Session, project: Project) -> list[str]:
    """Ids of the project's ancestors, nearest first."""
    found: list[str] = []
    parent_id = project.parent_id
    while parent_id and parent_id not in found:
        found.append(parent_id)
        parent_id = session.scalar(select(Project.parent_id).where(Project.id == parent_id))
    return found


def expand_implied(session: Session, role_ids: Iterable[str]) -> set[str]:
    """The given role ids plus every role they imply, transitively."""
    result = set(role_ids)
    frontier = set(result)
    while frontier:
        implied = set(session.scalars(select(ImpliedRole.implied_role_id)
                                      .where(ImpliedRole.prior_role_id.in_(frontier))))
        frontier = implied - result
        result |= implied
    return result


def direct_role_ids(session: Session, user_id: str, *, project: Project | None = None,
                    domain_id: str | None = None, system: bool = False) -> set[str]:
    """Role ids granted on the scope to the user or their groups, with inheritance, before implication."""
    actors = [user_id, *group_ids_of(session, user_id)]
    if project is not None:
        inherited_targets = [project.domain_id, *project_ancestors(session, project)]
        condition = or_(
            and_(Assignment.type.in_(("UserProject", "GroupProject")), Assignment.target_id == project.id,
                 Assignment.inherited.is_(False)),
            and_(Assignment.type.in_(("UserDomain", "GroupDomain", "UserProject", "GroupProject")),
                 Assignment.target_id.in_(inherited_targets), Assignment.inherited.is_(True)),
        )
    elif domain_id is not None:
        condition = and_(Assignment.type.in_(("UserDomain", "GroupDomain")), Assignment.target_id == domain_id,
                         Assignment.inherited.is_(False))
    elif system:
        condition = and_(Assignment.type.in_(("UserSystem", "GroupSystem")),
                         Assignment.target_id == SYSTEM_TARGET)
    else:
        return set()
    return set(session.scalars(select(Assignment.role_id).where(Assignment.actor_id.in_(actors), condition)))


def effective_roles(session: Session, user_id: str, *, project: Project | None = None,
                    domain_id: str | None = None, system: bool = False) -> list[Role]:
    """The roles the user holds on the scope, implied roles included, sorted by name."""
    ids = expand_implied(session, direct_role_ids(session, user_id, project=project, domain_id=domain_id,
                                                  system=system))
    if not ids:
        return []
    return list(session.scalars(select(Role).where(Role.id.in_(ids)).order_by(Role.name)))
