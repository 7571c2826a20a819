"""Role assignments: grants of roles to users and groups on projects, domains and the system,
and the effective roles a user holds on a scope (groups, inheritance and implied roles applied)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from overcast.core.errors import Forbidden, Invalid, NotFound
from overcast.store.models import (ROOT_DOMAIN_ID, Assignment, Domain, Group, GroupMembership, ImpliedRole,
                                   Project, Role, User)

if TYPE_CHECKING:
    from overcast.core.identity import IdentityCore

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
    if not result:
        return result
    rules: dict[str, set[str]] = {}
    for prior, implied in session.execute(select(ImpliedRole.prior_role_id, ImpliedRole.implied_role_id)):
        rules.setdefault(prior, set()).add(implied)
    frontier = set(result)
    while frontier:
        implied = set().union(*(rules.get(r, set()) for r in frontier))
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


# -- grants -------------------------------------------------------------------------------
ACTORS = ("user", "group")
TARGETS = ("project", "domain", "system")


def assignment_type(actor: str, target: str) -> str:
    """Keystone's assignment type, e.g. ``UserProject``, ``GroupSystem``."""
    return actor.capitalize() + target.capitalize()


def _actor(session: Session, actor: str, actor_id: str) -> User | Group:
    model = User if actor == "user" else Group
    row = session.get(model, actor_id)
    if row is None:
        raise NotFound(f"Could not find {actor}: {actor_id}.")
    return row


def _target(session: Session, target: str, target_id: str) -> Project | Domain | None:
    if target == "system":
        return None
    model = Project if target == "project" else Domain
    row = session.get(model, target_id)
    if row is None:
        raise NotFound(f"Could not find {target}: {target_id}.")
    return row


def _resolve(session: Session, actor: str, actor_id: str, target: str, target_id: str,
             role_id: str | None) -> Role | None:
    """Check the role, target and actor exist (Keystone's order). :raises NotFound:"""
    role = None
    if role_id is not None:
        role = session.get(Role, role_id)
        if role is None:
            raise NotFound(f"Could not find role: {role_id}.")
    _target(session, target, target_id)
    _actor(session, actor, actor_id)
    return role


def _grant_key(actor: str, actor_id: str, target: str, target_id: str, role_id: str,
               inherited: bool) -> tuple[str, str, str, str, bool]:
    return (assignment_type(actor, target), actor_id, SYSTEM_TARGET if target == "system" else target_id,
            role_id, inherited)


def create_grant(session: Session, actor: str, actor_id: str, target: str, target_id: str, role_id: str,
                 *, inherited: bool = False) -> None:
    """Grant a role (idempotent).

    Keystone checks a domain-specific role only against a project's domain; on a domain it may be
    granted anywhere (it never reaches a token either way), and never on the system.

    :raises NotFound: unknown role, target or actor.
    :raises Forbidden: a domain-specific role on a project of another domain.
    :raises Invalid: a domain-specific role on the system.
    """
    role = _resolve(session, actor, actor_id, target, target_id, role_id)
    assert role is not None
    if role.domain_id != ROOT_DOMAIN_ID:
        if target == "system":
            raise Invalid(f"Role {role_id} is a domain-specific role. Unable to use a domain-specific role in a "
                          "system assignment.")
        if target == "project" and session.get(Project, target_id).domain_id != role.domain_id:
            raise Forbidden(f"Project {target_id} must be in the same domain as the role {role_id} being assigned.")
    key = _grant_key(actor, actor_id, target, target_id, role_id, inherited)
    if session.get(Assignment, key) is None:
        session.add(Assignment(type=key[0], actor_id=key[1], target_id=key[2], role_id=key[3], inherited=key[4]))
        session.flush()


def check_grant(session: Session, actor: str, actor_id: str, target: str, target_id: str, role_id: str,
                *, inherited: bool = False) -> Assignment:
    """:raises NotFound: unknown role, target or actor, or no such grant."""
    _resolve(session, actor, actor_id, target, target_id, role_id)
    row = session.get(Assignment, _grant_key(actor, actor_id, target, target_id, role_id, inherited))
    if row is None:
        raise NotFound(f"Could not find role assignment with role: {role_id}, user or group: {actor_id}, "
                       f"project, domain, or system: {target_id}.")
    return row


def revocation_scopes(session: Session, rows: Iterable[Assignment]) -> set[tuple[str, str | None, str | None]]:
    """(user_id, project_id, domain_id) whose tokens a change to these grants makes stale.

    Group grants reach every member; inherited and system grants reach all the user's tokens.
    """
    found: set[tuple[str, str | None, str | None]] = set()
    for row in rows:
        users = ([row.actor_id] if row.type.startswith("User") else
                 list(session.scalars(select(GroupMembership.user_id)
                                      .where(GroupMembership.group_id == row.actor_id))))
        project_id = row.target_id if row.type.endswith("Project") and not row.inherited else None
        domain_id = row.target_id if row.type.endswith("Domain") and not row.inherited else None
        found |= {(u, project_id, domain_id) for u in users}
    return found


def affected_users(session: Session, rows: Iterable[Assignment]) -> set[str]:
    """Every user whose roles these grants give (members of granted groups included)."""
    return {user_id for user_id, _, _ in revocation_scopes(session, rows)}


def revoke_tokens(core: "IdentityCore", scopes: Iterable[tuple[str, str | None, str | None]]) -> None:
    core.revocations.revoke_all([{"user_id": user_id, "project_id": project_id, "domain_id": domain_id}
                                 for user_id, project_id, domain_id in scopes])


def delete_grant(core: "IdentityCore", actor: str, actor_id: str, target: str, target_id: str, role_id: str,
                 *, inherited: bool = False) -> None:
    """Remove a grant and revoke the tokens it made stale. :raises NotFound:"""
    with core.store.session() as session:
        row = check_grant(session, actor, actor_id, target, target_id, role_id, inherited=inherited)
        scopes = revocation_scopes(session, [row])
        session.delete(row)
    revoke_tokens(core, scopes)


def list_grants(session: Session, actor: str, actor_id: str, target: str, target_id: str,
                *, inherited: bool = False) -> list[Role]:
    """Roles granted directly to the actor on the target. :raises NotFound: unknown actor or target."""
    _resolve(session, actor, actor_id, target, target_id, None)
    type_, actor_id, target_id, _, _ = _grant_key(actor, actor_id, target, target_id, "", inherited)
    return list(session.scalars(select(Role).join(Assignment, Assignment.role_id == Role.id).where(
        Assignment.type == type_, Assignment.actor_id == actor_id, Assignment.target_id == target_id,
        Assignment.inherited.is_(inherited)).order_by(Role.name)))


# -- GET /v3/role_assignments ----------------------------------------------------------------
@dataclass(frozen=True)
class RoleAssignment:
    """One line of ``/v3/role_assignments``: exactly one actor and one scope.

    ``via_*`` say where an effective entry came from: a group membership, an inherited grant on
    a parent (project or domain), or the prior role that implied this one.
    """

    role_id: str
    user_id: str | None = None
    group_id: str | None = None
    project_id: str | None = None
    domain_id: str | None = None
    system: bool = False
    inherited: bool = False
    via_group_id: str | None = None
    via_project_id: str | None = None
    via_domain_id: str | None = None
    via_role_id: str | None = None


@dataclass
class AssignmentQuery:
    user_id: str | None = None
    group_id: str | None = None
    role_id: str | None = None
    project_id: str | None = None
    domain_id: str | None = None
    system: bool = False
    #: True: only grants inherited to projects; False: only direct ones; None: both
    inherited: bool | None = None
    effective: bool = False
    include_subtree: bool = False
    _children: dict[str, list[str]] = field(default_factory=dict)


def _children_map(session: Session) -> dict[str, list[str]]:
    children: dict[str, list[str]] = {}
    for project_id, parent_id in session.execute(select(Project.id, Project.parent_id)):
        if parent_id:
            children.setdefault(parent_id, []).append(project_id)
    return children


def _descendants(children: dict[str, list[str]], project_id: str) -> list[str]:
    found: list[str] = []
    frontier = list(children.get(project_id, []))
    while frontier:
        current = frontier.pop()
        if current not in found:
            found.append(current)
            frontier.extend(children.get(current, []))
    return found


def _entry(row: Assignment, **overrides: object) -> RoleAssignment:
    actor = {"user_id" if row.type.startswith("User") else "group_id": row.actor_id}
    if row.type.endswith("Project"):
        scope: dict[str, object] = {"project_id": row.target_id}
    elif row.type.endswith("Domain"):
        scope = {"domain_id": row.target_id}
    else:
        scope = {"system": True}
    values = {"role_id": row.role_id, **actor, **scope, "inherited": row.inherited}
    values.update(overrides)
    return RoleAssignment(**values)  # type: ignore[arg-type]


def _direct(session: Session, q: AssignmentQuery) -> list[RoleAssignment]:
    query = select(Assignment)
    if q.user_id:
        query = query.where(Assignment.type.like("User%"), Assignment.actor_id == q.user_id)
    if q.group_id:
        query = query.where(Assignment.type.like("Group%"), Assignment.actor_id == q.group_id)
    if q.role_id:
        query = query.where(Assignment.role_id == q.role_id)
    if q.project_id:
        targets = [q.project_id]
        if q.include_subtree:
            targets += _descendants(_children_map(session), q.project_id)
        query = query.where(Assignment.type.like("%Project"), Assignment.target_id.in_(targets))
    elif q.domain_id:
        query = query.where(Assignment.type.like("%Domain"), Assignment.target_id == q.domain_id)
    elif q.system:
        query = query.where(Assignment.type.like("%System"))
    if q.inherited is not None:
        query = query.where(Assignment.inherited.is_(q.inherited))
    return [_entry(row) for row in session.scalars(query)]


def _effective(session: Session, q: AssignmentQuery) -> list[RoleAssignment]:
    query = select(Assignment)
    if q.user_id:
        actors = [q.user_id, *group_ids_of(session, q.user_id)]
        query = query.where(Assignment.actor_id.in_(actors))
    rows = session.scalars(query).all()
    children = _children_map(session)
    members: dict[str, list[str]] = {}
    for group_id, user_id in session.execute(select(GroupMembership.group_id, GroupMembership.user_id)):
        members.setdefault(group_id, []).append(user_id)

    # 1. groups become their members; inherited grants land on the projects below them
    expanded: list[RoleAssignment] = []
    for row in rows:
        if row.type.startswith("Group"):
            users = [(u, row.actor_id) for u in members.get(row.actor_id, [])
                     if q.user_id is None or u == q.user_id]
        else:
            users = [(row.actor_id, None)]
        if not row.inherited:
            scopes = [_entry(row)]
        elif row.type.endswith("Domain"):
            scopes = [_entry(row, domain_id=None, project_id=p, inherited=False, via_domain_id=row.target_id)
                      for p in session.scalars(select(Project.id).where(Project.domain_id == row.target_id))]
        else:
            scopes = [_entry(row, project_id=p, inherited=False, via_project_id=row.target_id)
                      for p in _descendants(children, row.target_id)]
        for user_id, via_group in users:
            for scoped in scopes:
                expanded.append(RoleAssignment(**{**scoped.__dict__, "user_id": user_id, "group_id": None,
                                                  "via_group_id": via_group}))

    # 2. implied roles, transitively, each naming the prior role that implied it
    rules: dict[str, list[str]] = {}
    for prior, implied in session.execute(select(ImpliedRole.prior_role_id, ImpliedRole.implied_role_id)):
        rules.setdefault(prior, []).append(implied)
    result: list[RoleAssignment] = []
    for entry in expanded:
        result.append(entry)
        seen = {entry.role_id}
        frontier = [entry.role_id]
        while frontier:
            prior = frontier.pop(0)
            for implied in rules.get(prior, []):
                if implied not in seen:
                    seen.add(implied)
                    frontier.append(implied)
                    result.append(RoleAssignment(**{**entry.__dict__, "role_id": implied, "via_role_id": prior}))

    # 3. domain-specific roles never reach a token; then the filters
    global_roles = set(session.scalars(select(Role.id).where(Role.domain_id == ROOT_DOMAIN_ID)))
    projects = None
    if q.project_id:
        projects = {q.project_id, *(_descendants(children, q.project_id) if q.include_subtree else [])}

    def keep(e: RoleAssignment) -> bool:
        if e.role_id not in global_roles or (q.role_id and e.role_id != q.role_id):
            return False
        if projects is not None:
            return e.project_id in projects
        if q.domain_id:
            return e.domain_id == q.domain_id
        if q.system:
            return e.system
        if q.inherited is not None:
            return bool(e.via_project_id or e.via_domain_id) == q.inherited
        return True

    unique: dict[RoleAssignment, None] = {}
    for e in result:
        if keep(e):
            unique.setdefault(e)
    return list(unique)


def list_role_assignments(session: Session, q: AssignmentQuery) -> list[RoleAssignment]:
    """Keystone's ``list_role_assignments``: direct grants, or with ``effective`` what each user
    really holds (groups expanded to members, inheritance applied, implied roles added)."""
    return _effective(session, q) if q.effective else _direct(session, q)
