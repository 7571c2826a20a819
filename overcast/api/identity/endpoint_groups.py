"""OS-EP-FILTER: ``/v3/OS-EP-FILTER/endpoint_groups[...]``, ``/v3/OS-EP-FILTER/projects/{id}/...`` and
``/v3/OS-EP-FILTER/endpoints/{id}/projects``. Admin only, as in Keystone."""

from __future__ import annotations

from typing import Any

import falcon

from overcast.api.identity.catalog import endpoint_view
from overcast.api.identity.common import Links, enforce
from overcast.api.identity.views import project_view
from overcast.api.routing import Registry
from overcast.api.validation import read_json
from overcast.core.identity import IdentityCore
from overcast.core.identity import endpoint_groups as core_groups
from overcast.store.models import EndpointGroup


_PROPERTIES = {
    "name": {"type": "string", "minLength": 1, "maxLength": 255},
    "description": {"type": ["string", "null"]},
    "filters": {"type": "object"},
}
CREATE_SCHEMA = {"type": "object", "required": ["endpoint_group"], "properties": {"endpoint_group": {
    "type": "object", "required": ["name", "filters"], "properties": _PROPERTIES}}}
UPDATE_SCHEMA = {"type": "object", "required": ["endpoint_group"], "properties": {"endpoint_group": {
    "type": "object", "minProperties": 1, "properties": _PROPERTIES}}}

_PREFIX = "/OS-EP-FILTER"


def endpoint_group_view(links: Links, group: EndpointGroup) -> dict[str, Any]:
    return {"id": group.id, "name": group.name, "description": group.description, "filters": dict(group.filters),
            "links": links.self_link(f"{_PREFIX}/endpoint_groups/{group.id}")}


class _Resource:
    def __init__(self, core: IdentityCore, links: Links):
        self.core, self.links = core, links


class EndpointGroups(_Resource):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        enforce(req, "identity:list_endpoint_groups")
        with self.core.store.session() as session:
            views = [endpoint_group_view(self.links, g)
                     for g in core_groups.list_groups(session, req.get_param("name"))]
        resp.media = {"endpoint_groups": views, "links": self.links.collection(req)}

    on_head = on_get

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        enforce(req, "identity:create_endpoint_group")
        body = read_json(req, CREATE_SCHEMA)["endpoint_group"]
        with self.core.store.session() as session:
            view = endpoint_group_view(self.links, core_groups.create(session, body))
        resp.status = falcon.HTTP_201
        resp.media = {"endpoint_group": view}


class EndpointGroupItem(_Resource):
    def on_get(self, req: falcon.Request, resp: falcon.Response, endpoint_group_id: str) -> None:
        enforce(req, "identity:get_endpoint_group")
        with self.core.store.session() as session:
            view = endpoint_group_view(self.links, core_groups.get(session, endpoint_group_id))
        resp.media = {"endpoint_group": view}

    on_head = on_get

    def on_patch(self, req: falcon.Request, resp: falcon.Response, endpoint_group_id: str) -> None:
        enforce(req, "identity:update_endpoint_group")
        body = read_json(req, UPDATE_SCHEMA)["endpoint_group"]
        with self.core.store.session() as session:
            view = endpoint_group_view(self.links, core_groups.update(session, endpoint_group_id, body))
        resp.media = {"endpoint_group": view}

    def on_delete(self, req: falcon.Request, resp: falcon.Response, endpoint_group_id: str) -> None:
        enforce(req, "identity:delete_endpoint_group")
        with self.core.store.session() as session:
            core_groups.delete(session, endpoint_group_id)
        resp.status = falcon.HTTP_204


class EndpointGroupProjects(_Resource):
    def on_get(self, req: falcon.Request, resp: falcon.Response, endpoint_group_id: str) -> None:
        enforce(req, "identity:list_projects_associated_with_endpoint_group")
        with self.core.store.session() as session:
            views = [project_view(self.links, p) for p in core_groups.projects_of_group(session, endpoint_group_id)]
        resp.media = {"projects": views, "links": self.links.collection(req)}

    on_head = on_get


class EndpointGroupEndpoints(_Resource):
    def on_get(self, req: falcon.Request, resp: falcon.Response, endpoint_group_id: str) -> None:
        enforce(req, "identity:list_endpoints_associated_with_endpoint_group")
        with self.core.store.session() as session:
            group = core_groups.get(session, endpoint_group_id)
            views = [endpoint_view(self.links, e) for e in core_groups.endpoints_of(session, group)]
        resp.media = {"endpoints": views, "links": self.links.collection(req)}

    on_head = on_get


class EndpointGroupProject(_Resource):
    def on_put(self, req: falcon.Request, resp: falcon.Response, endpoint_group_id: str, project_id: str) -> None:
        enforce(req, "identity:add_endpoint_group_to_project")
        with self.core.store.session() as session:
            core_groups.add_group_to_project(session, endpoint_group_id, project_id)
        resp.status = falcon.HTTP_204

    def on_get(self, req: falcon.Request, resp: falcon.Response, endpoint_group_id: str, project_id: str) -> None:
        enforce(req, "identity:get_endpoint_group_in_project")
        with self.core.store.session() as session:
            core_groups.get_group_in_project(session, endpoint_group_id, project_id)
        resp.media = {"project_endpoint_group": {
            "endpoint_group_id": endpoint_group_id, "project_id": project_id,
            "links": self.links.self_link(f"{_PREFIX}/endpoint_groups/{endpoint_group_id}/projects/{project_id}")}}

    on_head = on_get

    def on_delete(self, req: falcon.Request, resp: falcon.Response, endpoint_group_id: str,
                  project_id: str) -> None:
        enforce(req, "identity:remove_endpoint_group_from_project")
        with self.core.store.session() as session:
            core_groups.remove_group_from_project(session, endpoint_group_id, project_id)
        resp.status = falcon.HTTP_204


class ProjectEndpointGroups(_Resource):
    def on_get(self, req: falcon.Request, resp: falcon.Response, project_id: str) -> None:
        enforce(req, "identity:list_endpoint_groups_for_project")
        with self.core.store.session() as session:
            views = [endpoint_group_view(self.links, g) for g in core_groups.groups_of_project(session, project_id)]
        resp.media = {"endpoint_groups": views, "links": self.links.collection(req)}

    on_head = on_get


class ProjectEndpoints(_Resource):
    def on_get(self, req: falcon.Request, resp: falcon.Response, project_id: str) -> None:
        enforce(req, "identity:list_endpoints_for_project")
        with self.core.store.session() as session:
            views = [endpoint_view(self.links, e) for e in core_groups.endpoints_of_project(session, project_id)]
        resp.media = {"endpoints": views, "links": self.links.collection(req)}

    on_head = on_get


class ProjectEndpoint(_Resource):
    def on_put(self, req: falcon.Request, resp: falcon.Response, project_id: str, endpoint_id: str) -> None:
        enforce(req, "identity:add_endpoint_to_project")
        with self.core.store.session() as session:
            core_groups.add_endpoint_to_project(session, project_id, endpoint_id)
        resp.status = falcon.HTTP_204

    def on_get(self, req: falcon.Request, resp: falcon.Response, project_id: str, endpoint_id: str) -> None:
        enforce(req, "identity:check_endpoint_in_project")
        with self.core.store.session() as session:
            core_groups.check_endpoint_in_project(session, project_id, endpoint_id)
        resp.status = falcon.HTTP_204

    on_head = on_get

    def on_delete(self, req: falcon.Request, resp: falcon.Response, project_id: str, endpoint_id: str) -> None:
        enforce(req, "identity:remove_endpoint_from_project")
        with self.core.store.session() as session:
            core_groups.remove_endpoint_from_project(session, project_id, endpoint_id)
        resp.status = falcon.HTTP_204


class EndpointProjects(_Resource):
    def on_get(self, req: falcon.Request, resp: falcon.Response, endpoint_id: str) -> None:
        enforce(req, "identity:list_projects_for_endpoint")
        with self.core.store.session() as session:
            views = [project_view(self.links, p) for p in core_groups.projects_of_endpoint(session, endpoint_id)]
        resp.media = {"projects": views, "links": self.links.collection(req)}

    on_head = on_get


def bind(registry: Registry, core: IdentityCore, links: Links) -> None:
    for name, resource in (("v3_endpoint_groups", EndpointGroups), ("v3_endpoint_group", EndpointGroupItem),
                           ("v3_endpoint_group_projects", EndpointGroupProjects),
                           ("v3_endpoint_group_endpoints", EndpointGroupEndpoints),
                           ("v3_endpoint_group_project", EndpointGroupProject),
                           ("v3_project_endpoint_groups", ProjectEndpointGroups),
                           ("v3_project_endpoints", ProjectEndpoints),
                           ("v3_project_endpoint", ProjectEndpoint),
                           ("v3_endpoint_projects", EndpointProjects)):
        registry.bind("identity", name, resource(core, links))
