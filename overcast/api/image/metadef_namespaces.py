"""Metadefs namespaces, resource types and associations; the ``/v2/schemas/metadefs/*`` documents.

``/v2/metadefs/namespaces[/{namespace}]``, ``/v2/metadefs/resource_types`` and
``/v2/metadefs/namespaces/{namespace}/resource_types[/{resource_type}]``.
"""

from __future__ import annotations

from typing import Any

import falcon

from overcast.api.image import metadef_schemas as schemas
from overcast.api.image.images import limit_param, page_links
from overcast.api.image.metadef_views import association_view, namespace_href, namespace_view, resource_type_view
from overcast.api.image.schemas import Schema
from overcast.api.routing import Registry
from overcast.api.validation import read_json
from overcast.core.image import ImageCore
from overcast.core.image.metadefs import namespaces, resource_types


class Namespaces:
    def __init__(self, core: ImageCore):
        self.core = core

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        wanted = req.get_param("resource_types")
        with self.core.store.session() as session:
            page, next_marker = namespaces.list_namespaces(
                session, req.context.auth, visibility=req.get_param("visibility"),
                resource_types=wanted.split(",") if wanted else (), limit=limit_param(req),
                marker=req.get_param("marker"), sort_key=req.get_param("sort_key") or "created_at",
                sort_dir=req.get_param("sort_dir") or "desc")
            body: dict[str, Any] = {"namespaces": [namespace_view(n) for n in page]}
        body.update(page_links(req, "/v2/metadefs/namespaces", "/v2/schemas/metadefs/namespaces", next_marker))
        resp.media = body

    on_head = on_get

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = schemas.check(read_json(req), schemas.NAMESPACE_REQUEST, schemas.READ_ONLY)
        for obj in body.get("objects") or []:
            for definition in (obj.get("properties") or {}).values():
                schemas.check(definition, schemas.PROPERTY_IN_OBJECT)
        with self.core.store.session() as session:
            namespace = namespaces.create(session, req.context.auth, body)
            resp.media = namespace_view(namespace, detail=True)
        resp.status = falcon.HTTP_201
        resp.location = namespace_href(resp.media["namespace"])


class Namespace:
    def __init__(self, core: ImageCore):
        self.core = core

    def on_get(self, req: falcon.Request, resp: falcon.Response, namespace: str) -> None:
        with self.core.store.session() as session:
            found = namespaces.show(session, req.context.auth, namespace)
            resp.media = namespace_view(found, detail=True, resource_type=req.get_param("resource_type"))

    on_head = on_get

    def on_put(self, req: falcon.Request, resp: falcon.Response, namespace: str) -> None:
        body = schemas.check(read_json(req), schemas.NAMESPACE_REQUEST, schemas.READ_ONLY)
        with self.core.store.session() as session:
            resp.media = namespace_view(namespaces.update(session, req.context.auth, namespace, body))

    def on_delete(self, req: falcon.Request, resp: falcon.Response, namespace: str) -> None:
        with self.core.store.session() as session:
            namespaces.delete(session, req.context.auth, namespace)
        resp.status = falcon.HTTP_204


class ResourceTypes:
    def __init__(self, core: ImageCore):
        self.core = core

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        with self.core.store.session() as session:
            found = resource_types.list_resource_types(session, req.context.auth)
            resp.media = {"resource_types": [resource_type_view(t) for t in found]}

    on_head = on_get


class Associations:
    def __init__(self, core: ImageCore):
        self.core = core

    def on_get(self, req: falcon.Request, resp: falcon.Response, namespace: str) -> None:
        with self.core.store.session() as session:
            found = resource_types.list_associations(session, req.context.auth, namespace)
            resp.media = {"resource_type_associations": [association_view(a) for a in found]}

    on_head = on_get

    def on_post(self, req: falcon.Request, resp: falcon.Response, namespace: str) -> None:
        body = schemas.check(read_json(req), schemas.ASSOCIATION_REQUEST)
        with self.core.store.session() as session:
            association = resource_types.add_association(session, req.context.auth, namespace, body)
            resp.media = association_view(association)
        resp.status = falcon.HTTP_201


class Association:
    def __init__(self, core: ImageCore):
        self.core = core

    def on_delete(self, req: falcon.Request, resp: falcon.Response, namespace: str, resource_type: str) -> None:
        with self.core.store.session() as session:
            resource_types.remove_association(session, req.context.auth, namespace, resource_type)
        resp.status = falcon.HTTP_204


def bind(registry: Registry, core: ImageCore) -> None:
    registry.bind("image", "v2_metadefs_namespaces", Namespaces(core))
    registry.bind("image", "v2_metadefs_namespace", Namespace(core))
    registry.bind("image", "v2_metadefs_resource_types", ResourceTypes(core))
    registry.bind("image", "v2_metadefs_associations", Associations(core))
    registry.bind("image", "v2_metadefs_association", Association(core))
    for name, build in schemas.DOCUMENTS.items():
        registry.bind("image", name, Schema(build()))
