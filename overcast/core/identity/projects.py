"""Projects: Keystone's hierarchy rules (parents in the same domain, leaves before branches),
tags, name uniqueness per domain, and what a deleted or disabled project takes with it.

Functions work in the caller's session and return the token revocations the change calls for;
the caller applies them with :meth:`~overcast.core.revocation.RevocationChecker.revoke_all` once the session has committed (a
revocation is its own write, and SQLite allows one writer at a time).
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from overcast.core.errors import Conflict, Forbidden, Invalid, NotFound
from overcast.core.identity import fetch, split_extra
from overcast.core.identity.assignments import group_ids_of
from overcast.core.identity.filters import TextFilter, select_matching
from overcast.core.revocation import Revocations
from overcast.store.models import (Assignment, ApplicationCredential, Domain, Project, ProjectTag,
                                   new_id)


MAX_TAGS = 80
PROJECT_FIELDS = ("name", "description", "domain_id", "enabled", "parent_id", "is_domain", "tags", "options")


def get(session: Session, project_id: str) -> Project:
    """:raises NotFound: no such project."""
    return fetch(session, Project, project_id, "project")


def find(session: Session, project_id: str) -> Project | None:
    return session.get(Project, project_id)


def _domain(session: Session, domain_id: str) -> Domain:
    """:raises NotFound:"""
    return fetch(session, Domain, domain_id, "domain")


def _duplicate(name: str) -> Conflict:
    return Conflict("Conflict occurred attempting to store project - it is not permitted to have two "
                    f"projects with the same name in the same domain : {name}.")


def _assert_unique(session: Session, domain_id: str, name: str, project_id: str | None = None) -> None:
    query = select(Project.id).where(Project.domain_id == domain_id, Project.name == name)
    if project_id is not None:
        query = query.where(Project.id != project_id)
    if session.scalar(query) is not None:
        raise _duplicate(name)


def ancestors(session: Session, project: Project) -> list[Project]:
    """The project's ancestors, nearest first."""
    found: list[Project] = []
    parent_id = project.parent_id
    while parent_id and all(p.id != parent_id for p in found):
        parent = session.get(Project, parent_id)
        if parent is None:
            break
        found.append(parent)
        parent_id = parent.parent_id
    return found


def subtree(session: Session, project_id: str) -> list[Project]:
    """Every descendant of the project, parents before their children."""
    result: list[Project] = []
    frontier = [project_id]
    seen = {project_id}
    while frontier:
        children = list(session.scalars(select(Project).where(Project.parent_id.in_(frontier))
                                        .order_by(Project.name)))
        children = [c for c in children if c.id not in seen]
        seen.update(c.id for c in children)
        result.extend(children)
        frontier = [c.id for c in children]
    return result


def _set_tags(project: Project, tags: list[str]) -> None:
    names = list(dict.fromkeys(t.strip() for t in tags))
    if len(names) > MAX_TAGS:
        raise Invalid(f"Invalid input for field 'tags': a project may have at most {MAX_TAGS} tags.")
    existing = {t.name: t for t in project.tags}
    project.tags = [existing.get(n) or ProjectTag(project_id=project.id, name=n) for n in names]


def create(session: Session, ref: dict[str, Any], *, default_domain_id: str) -> Project:
    """Create a regular project from a validated request ``ref``.

    :raises Invalid: unknown domain or parent, a parent in another domain or a disabled branch.
    :raises Conflict: the name is taken in the domain.
    """
    name = ref["name"].strip()
    parent: Project | None = None
    parent_id = ref.get("parent_id")
    domain_id = ref.get("domain_id")
    if parent_id and parent_id != domain_id:
        parent = session.get(Project, parent_id)
        if parent is None:
            if session.get(Domain, parent_id) is None:
                raise Invalid(f"Could not find project: {parent_id}.")
            domain_id = domain_id or parent_id
            if domain_id != parent_id:
                raise Invalid(f"Cannot create project, the parent ({parent_id}) is acting as a domain, but "
                              f"this project's domain id ({domain_id}) does not match the parent's id.")
        elif not domain_id:
            domain_id = parent.domain_id
    domain_id = domain_id or default_domain_id
    if session.get(Domain, domain_id) is None:
        raise Invalid(f"Could not find domain: {domain_id}.")
    if parent is not None:
        if parent.domain_id != domain_id:
            raise Invalid(f"Cannot create project, since it specifies its domain_id {domain_id}, but specifies "
                          f"a parent in a different domain ({parent.domain_id}).")
        for ref_project in [parent, *ancestors(session, parent)]:
            if not ref_project.enabled:
                raise Invalid(f"cannot create a project in a branch containing a disabled project: "
                              f"{ref_project.id}")
    _assert_unique(session, domain_id, name)
    extra = split_extra(ref, PROJECT_FIELDS)
    if ref.get("options"):
        extra["options"] = dict(ref["options"])
    project = Project(id=new_id(), name=name, domain_id=domain_id,
                      parent_id=parent.id if parent is not None else None,
                      description=ref.get("description") or "", enabled=ref.get("enabled", True), extra=extra)
    session.add(project)
    session.flush()
    _set_tags(project, ref.get("tags") or [])
    session.flush()
    return project


def update(session: Session, project: Project, ref: dict[str, Any]) -> Revocations:
    """Apply a validated PATCH ``ref``; returns the revocations it calls for.

    :raises Invalid: changing the domain or ``is_domain``.
    :raises Forbidden: changing the parent, disabling a project with enabled children, enabling
        one under a disabled parent.
    :raises Conflict: the new name is taken.
    """
    if "id" in ref and ref["id"] != project.id:
        raise Invalid("Cannot change ID")
    if "domain_id" in ref and ref["domain_id"] != project.domain_id:
        raise Invalid("Cannot change Domain ID")
    if "parent_id" in ref and ref["parent_id"] != (project.parent_id or project.domain_id):
        raise Forbidden("Update of `parent_id` is not allowed.")
    if ref.get("is_domain"):
        raise Invalid("Update of `is_domain` is not allowed.")
    revocations: Revocations = []
    if "enabled" in ref and ref["enabled"] != project.enabled:
        if ref["enabled"]:
            if any(not p.enabled for p in ancestors(session, project)):
                raise Forbidden(f"Cannot enable project {project.id} since it has disabled parents")
        else:
            if any(p.enabled for p in subtree(session, project.id)):
                raise Forbidden(f"Cannot disable project {project.id} since its subtree contains enabled "
                                "projects.")
            revocations.append({"project_id": project.id})
        project.enabled = ref["enabled"]
    if "name" in ref:
        name = ref["name"].strip()
        if name != project.name:
            _assert_unique(session, project.domain_id, name, project.id)
            project.name = name
    if "description" in ref:
        project.description = ref["description"] or ""
    if "tags" in ref:
        _set_tags(project, ref["tags"] or [])
    extra = dict(project.extra)
    extra.update(split_extra(ref, PROJECT_FIELDS))
    if "options" in ref:
        extra["options"] = {**extra.get("options", {}), **(ref["options"] or {})}
    project.extra = extra
    session.flush()
    return revocations


def _remove(session: Session, project_ids: list[str]) -> None:
    """Delete the projects (leaves first) and everything that refers to them."""
    session.execute(delete(Assignment).where(Assignment.type.in_(("UserProject", "GroupProject")),
                                             Assignment.target_id.in_(project_ids)))
    session.execute(delete(ApplicationCredential).where(ApplicationCredential.project_id.in_(project_ids)))
    session.execute(delete(ProjectTag).where(ProjectTag.project_id.in_(project_ids)))
    for project_id in project_ids:
        session.execute(delete(Project).where(Project.id == project_id))
    session.expire_all()


def delete_project(session: Session, project: Project, *, cascade: bool = False) -> Revocations:
    """Delete a project (with ``cascade``, its whole disabled subtree).

    :raises Forbidden: the project has children and no cascade, or the subtree has enabled projects.
    """
    below = subtree(session, project.id)
    if below and not cascade:
        raise Forbidden(f"Cannot delete the project {project.id} since it is not a leaf in the hierarchy. "
                        "Use the cascade option if you want to delete a whole subtree.")
    if any(p.enabled for p in below):
        raise Forbidden(f"Cannot delete project {project.id} since its subtree contains enabled projects.")
    doomed = [p.id for p in reversed(below)] + [project.id]
    _remove(session, doomed)
    return [{"project_id": pid} for pid in doomed]


def delete_in_domain(session: Session, domain_id: str) -> Revocations:
    """Delete every project of a domain, leaves first (for domain deletion)."""
    projects = list(session.scalars(select(Project).where(Project.domain_id == domain_id)))
    depth: dict[str, int] = {}

    def level(p: Project) -> int:
        if p.id not in depth:
            depth[p.id] = len(ancestors(session, p))
        return depth[p.id]

    doomed = [p.id for p in sorted(projects, key=level, reverse=True)]
    _remove(session, doomed)
    return [{"project_id": pid} for pid in doomed]


# -- tags -------------------------------------------------------------------------------------
def add_tag(session: Session, project: Project, tag: str) -> str:
    """:raises Invalid: the project already has the most tags allowed."""
    tag = tag.strip()
    names = [t.name for t in project.tags]
    if tag not in names:
        _set_tags(project, [*names, tag])
        session.flush()
    return tag


def check_tag(project: Project, tag: str) -> None:
    """:raises NotFound: the project has no such tag."""
    if tag not in {t.name for t in project.tags}:
        raise NotFound(f"Could not find project tag: {tag}.")


def remove_tag(session: Session, project: Project, tag: str) -> None:
    """:raises NotFound: the project has no such tag."""
    check_tag(project, tag)
    project.tags = [t for t in project.tags if t.name != tag]
    session.flush()


def replace_tags(session: Session, project: Project, tags: list[str]) -> list[str]:
    _set_tags(project, tags)
    session.flush()
    return [t.name for t in project.tags]


# -- listing ------------------------------------------------------------------------------------
def _tag_filter(projects: list[Project], filters: dict[str, list[str]]) -> list[Project]:
    def keep(project: Project) -> bool:
        names = {t.name for t in project.tags}
        if "tags" in filters and not set(filters["tags"]) <= names:
            return False
        if "tags-any" in filters and not set(filters["tags-any"]) & names:
            return False
        if "not-tags" in filters and set(filters["not-tags"]) <= names:
            return False
        if "not-tags-any" in filters and set(filters["not-tags-any"]) & names:
            return False
        return True
    return [p for p in projects if keep(p)]


def list_projects(session: Session, *, name: str | None = None, domain_id: str | None = None,
                  enabled: bool | None = None, parent_id: str | None = None,
                  tags: dict[str, list[str]] | None = None, ids: Iterable[str] | None = None,
                  matching: Sequence[TextFilter] = ()) -> list[Project]:
    """Projects matching every given filter, by name. ``parent_id`` may name a domain (its top level)."""
    query = select(Project).order_by(Project.name, Project.id)
    if ids is not None:
        query = query.where(Project.id.in_(list(ids)))
    if name is not None:
        query = query.where(Project.name == name)
    if domain_id is not None:
        query = query.where(Project.domain_id == domain_id)
    if enabled is not None:
        query = query.where(Project.enabled.is_(enabled))
    if parent_id is not None:
        if session.get(Domain, parent_id) is not None:
            query = query.where(Project.domain_id == parent_id, Project.parent_id.is_(None))
        else:
            query = query.where(Project.parent_id == parent_id)
    projects = select_matching(session, query, Project, matching)
    return _tag_filter(projects, tags) if tags else projects


def ids_for_user(session: Session, user_id: str) -> set[str]:
    """Ids of the projects where the user holds a role: directly, through a group, or inherited
    from a domain or a parent project."""
    actors = [user_id, *group_ids_of(session, user_id)]
    rows = session.execute(select(Assignment.type, Assignment.target_id, Assignment.inherited)
                           .where(Assignment.actor_id.in_(actors))).all()
    result: set[str] = set()
    for kind, target_id, inherited in rows:
        if kind in ("UserProject", "GroupProject"):
            if not inherited:
                result.add(target_id)
            else:
                result.update(p.id for p in subtree(session, target_id))
        elif kind in ("UserDomain", "GroupDomain") and inherited:
            result.update(session.scalars(select(Project.id).where(Project.domain_id == target_id)))
    return result
