"""Keystone v3 JSON for the records several identity modules render."""

from __future__ import annotations

import datetime as dt
from typing import Any

from overcast.api.identity.common import Links
from overcast.store.models import ROOT_DOMAIN_ID, Domain, Group, Project, Role, User


def timestamp(value: dt.datetime | float | None) -> str | None:
    """Keystone's ISO 8601 form with microseconds and Z, e.g. ``2015-08-27T09:49:58.000000Z``."""
    if value is None:
        return None
    if isinstance(value, (int, float)):
        value = dt.datetime.fromtimestamp(value, dt.timezone.utc).replace(tzinfo=None)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def naive_timestamp(value: dt.datetime | None) -> str | None:
    """Keystone's form for records it serialises straight from the database (application
    credentials' ``expires_at``): ISO 8601 with microseconds and no zone, e.g.
    ``2015-08-27T09:49:58.000000`` (oslo's PERFECT_TIME_FORMAT)."""
    if value is None:
        return None
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f")


def domain_view(links: Links, domain: Domain) -> dict[str, Any]:
    # A domain's tags and options live in its extra (Keystone keeps them on the project acting as it).
    return {**domain.extra, "id": domain.id, "name": domain.name, "description": domain.description,
            "enabled": domain.enabled, "tags": list(domain.extra.get("tags", [])),
            "options": dict(domain.extra.get("options", {})),
            "links": links.self_link(f"/domains/{domain.id}")}


def domain_project_view(links: Links, domain: Domain) -> dict[str, Any]:
    """A domain seen through /v3/projects, as the project acting as that domain."""
    return {**domain_view(links, domain), "domain_id": None, "parent_id": None, "is_domain": True,
            "links": links.self_link(f"/projects/{domain.id}")}


def project_view(links: Links, project: Project) -> dict[str, Any]:
    return {**project.extra, "id": project.id, "name": project.name, "domain_id": project.domain_id,
            "description": project.description, "enabled": project.enabled,
            "parent_id": project.parent_id or project.domain_id, "is_domain": False,
            "tags": [t.name for t in project.tags], "options": dict(project.extra.get("options", {})),
            "links": links.self_link(f"/projects/{project.id}")}


def user_view(links: Links, user: User) -> dict[str, Any]:
    body = {**user.extra, "id": user.id, "name": user.name, "domain_id": user.domain_id,
            "enabled": user.enabled, "password_expires_at": timestamp(user.password_expires_at),
            "options": dict(user.options), "links": links.self_link(f"/users/{user.id}")}
    if user.default_project_id:
        body["default_project_id"] = user.default_project_id
    if user.description:
        body["description"] = user.description
    if user.email:
        body["email"] = user.email
    return body


def group_view(links: Links, group: Group) -> dict[str, Any]:
    return {**group.extra, "id": group.id, "name": group.name, "domain_id": group.domain_id,
            "description": group.description, "links": links.self_link(f"/groups/{group.id}")}


def role_view(links: Links, role: Role) -> dict[str, Any]:
    return {**role.extra, "id": role.id, "name": role.name,
            "domain_id": None if role.domain_id == ROOT_DOMAIN_ID else role.domain_id,
            "description": role.description or None, "options": dict(role.options),
            "links": links.self_link(f"/roles/{role.id}")}
