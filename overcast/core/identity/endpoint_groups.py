"""OS-EP-FILTER: endpoint groups (saved filters over the catalog's endpoints) and the endpoints and
endpoint groups associated with projects."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.core.errors import Invalid, NotFound
from overcast.core.identity import catalog as core_catalog, fetch
from overcast.core.identity import projects as core_projects
from overcast.store.models import Endpoint, EndpointGroup, Project, ProjectEndpoint, ProjectEndpointGroup

#: The endpoint attributes a group may filter on, as Keystone allows.
FILTER_KEYS = ("service_id", "region_id", "interface")


def _check_filters(filters: dict[str, Any]) -> None:
    """:raises Invalid: a filter on anything but service_id, region_id or interface."""
    if any(key not in FILTER_KEYS for key in filters):
        raise Invalid(f"Expecting to find {' or '.join(FILTER_KEYS)} in endpoint_group. The server could not "
                      "comply with the request since it is either malformed or otherwise incorrect. The client "
                      "is assumed to be in error.")


def get(session: Session, endpoint_group_id: str) -> EndpointGroup:
    """:raises NotFound:"""
    return fetch(session, EndpointGroup, endpoint_group_id, "endpoint group")


def list_groups(session: Session, name: str | None = None) -> list[EndpointGroup]:
    query = select(EndpointGroup)
    if name is not None:
        query = query.where(EndpointGroup.name == name)
    return list(session.scalars(query.order_by(EndpointGroup.name, EndpointGroup.id)))


def create(session: Session, body: dict[str, Any]) -> EndpointGroup:
    """:raises Invalid: an unknown filter key."""
    _check_filters(body["filters"])
    group = EndpointGroup(name=body["name"], description=body.get("description") or "",
                          filters=dict(body["filters"]))
    session.add(group)
    session.flush()
    return group


def update(session: Session, endpoint_group_id: str, body: dict[str, Any]) -> EndpointGroup:
    """:raises NotFound: :raises Invalid: an unknown filter key."""
    group = get(session, endpoint_group_id)
    if "filters" in body:
        _check_filters(body["filters"])
        group.filters = dict(body["filters"])
    if "name" in body:
        group.name = body["name"]
    if "description" in body:
        group.description = body["description"] or ""
    session.flush()
    return group


def delete(session: Session, endpoint_group_id: str) -> None:
    """:raises NotFound:"""
    session.delete(get(session, endpoint_group_id))


def endpoints_of(session: Session, group: EndpointGroup) -> list[Endpoint]:
    """The endpoints matching every one of the group's filters."""
    query = select(Endpoint)
    for key, value in group.filters.items():
        query = query.where(getattr(Endpoint, key) == value)
    return list(session.scalars(query.order_by(Endpoint.service_id, Endpoint.region_id, Endpoint.interface)))


# -- endpoint groups <-> projects ---------------------------------------------------------
def add_group_to_project(session: Session, endpoint_group_id: str, project_id: str) -> None:
    """Idempotent. :raises NotFound: unknown group or project."""
    get(session, endpoint_group_id)
    core_projects.get(session, project_id)
    if session.get(ProjectEndpointGroup, (endpoint_group_id, project_id)) is None:
        session.add(ProjectEndpointGroup(endpoint_group_id=endpoint_group_id, project_id=project_id))
        session.flush()


def get_group_in_project(session: Session, endpoint_group_id: str, project_id: str) -> ProjectEndpointGroup:
    """:raises NotFound: unknown group or project, or not associated."""
    get(session, endpoint_group_id)
    core_projects.get(session, project_id)
    row = session.get(ProjectEndpointGroup, (endpoint_group_id, project_id))
    if row is None:
        raise NotFound(f"Could not find endpoint group project association: endpoint group {endpoint_group_id}, "
                       f"project {project_id}.")
    return row


def remove_group_from_project(session: Session, endpoint_group_id: str, project_id: str) -> None:
    """:raises NotFound:"""
    session.delete(get_group_in_project(session, endpoint_group_id, project_id))


def projects_of_group(session: Session, endpoint_group_id: str) -> list[Project]:
    """:raises NotFound: unknown group."""
    get(session, endpoint_group_id)
    return list(session.scalars(select(Project).join(
        ProjectEndpointGroup, ProjectEndpointGroup.project_id == Project.id).where(
        ProjectEndpointGroup.endpoint_group_id == endpoint_group_id).order_by(Project.name)))


def groups_of_project(session: Session, project_id: str) -> list[EndpointGroup]:
    """:raises NotFound: unknown project."""
    core_projects.get(session, project_id)
    return list(session.scalars(select(EndpointGroup).join(
        ProjectEndpointGroup, ProjectEndpointGroup.endpoint_group_id == EndpointGroup.id).where(
        ProjectEndpointGroup.project_id == project_id).order_by(EndpointGroup.name)))


# -- endpoints <-> projects ---------------------------------------------------------------
def add_endpoint_to_project(session: Session, project_id: str, endpoint_id: str) -> None:
    """Idempotent. :raises NotFound: unknown project or endpoint."""
    core_projects.get(session, project_id)
    core_catalog.get_endpoint(session, endpoint_id)
    if session.get(ProjectEndpoint, (endpoint_id, project_id)) is None:
        session.add(ProjectEndpoint(endpoint_id=endpoint_id, project_id=project_id))
        session.flush()


def check_endpoint_in_project(session: Session, project_id: str, endpoint_id: str) -> ProjectEndpoint:
    """:raises NotFound: unknown project or endpoint, or not associated."""
    core_projects.get(session, project_id)
    core_catalog.get_endpoint(session, endpoint_id)
    row = session.get(ProjectEndpoint, (endpoint_id, project_id))
    if row is None:
        raise NotFound(f"Could not find project endpoint association: endpoint {endpoint_id}, "
                       f"project {project_id}.")
    return row


def remove_endpoint_from_project(session: Session, project_id: str, endpoint_id: str) -> None:
    """:raises NotFound:"""
    session.delete(check_endpoint_in_project(session, project_id, endpoint_id))


def endpoints_of_project(session: Session, project_id: str) -> list[Endpoint]:
    """Endpoints associated directly and through the project's endpoint groups. :raises NotFound:"""
    core_projects.get(session, project_id)
    found: dict[str, Endpoint] = {}
    for endpoint in session.scalars(select(Endpoint).join(
            ProjectEndpoint, ProjectEndpoint.endpoint_id == Endpoint.id).where(
            ProjectEndpoint.project_id == project_id)):
        found[endpoint.id] = endpoint
    for group in groups_of_project(session, project_id):
        for endpoint in endpoints_of(session, group):
            found.setdefault(endpoint.id, endpoint)
    return sorted(found.values(), key=lambda e: (e.service_id, e.region_id or "", e.interface, e.id))


def projects_of_endpoint(session: Session, endpoint_id: str) -> list[Project]:
    """Projects the endpoint is associated with directly. :raises NotFound: unknown endpoint."""
    core_catalog.get_endpoint(session, endpoint_id)
    return list(session.scalars(select(Project).join(
        ProjectEndpoint, ProjectEndpoint.project_id == Project.id).where(
        ProjectEndpoint.endpoint_id == endpoint_id).order_by(Project.name)))
