"""What a metadefs namespace holds: ``/v2/metadefs/namespaces/{namespace}/objects``, ``/properties``
and ``/tags`` (each with ``/{name}``); ``DELETE`` on a collection empties it.
"""

from __future__ import annotations

from typing import Any

import falcon

from overcast.api.image import metadef_schemas as schemas
from overcast.api.image.images import limit_param
from overcast.api.image.metadef_views import object_view, properties_view, property_view, tag_view
from overcast.api.routing import Registry
from overcast.api.validation import read_json
from overcast.core.image import ImageCore
from overcast.core.image.metadefs import contents

_TRUE = ("true", "1", "yes", "on", "t", "y")


class Emptying:
    """``DELETE`` on a collection: everything of that kind in the namespace goes."""

    kind = ""

    def __init__(self, core: ImageCore):
        self.core = core

    def on_delete(self, req: falcon.Request, resp: falcon.Response, namespace: str) -> None:
        with self.core.store.session() as session:
            contents.delete_all(session, req.context.auth, namespace, self.kind)
        resp.status = falcon.HTTP_204


def _object_body(req: falcon.Request) -> dict[str, Any]:
    body = schemas.check(read_json(req), schemas.OBJECT_REQUEST, schemas.READ_ONLY)
    for definition in (body.get("properties") or {}).values():
        schemas.check(definition, schemas.PROPERTY_IN_OBJECT)
    return body


class Objects(Emptying):
    kind = "objects"

    def on_get(self, req: falcon.Request, resp: falcon.Response, namespace: str) -> None:
        with self.core.store.session() as session:
            found = contents.list_objects(session, req.context.auth, namespace)
            resp.media = {"objects": [object_view(namespace, o) for o in found],
                          "schema": "/v2/schemas/metadefs/objects"}

    on_head = on_get

    def on_post(self, req: falcon.Request, resp: falcon.Response, namespace: str) -> None:
        body = _object_body(req)
        with self.core.store.session() as session:
            resp.media = object_view(namespace, contents.add_object(session, req.context.auth, namespace, body))
        resp.status = falcon.HTTP_201


class Object:
    def __init__(self, core: ImageCore):
        self.core = core

    def on_get(self, req: falcon.Request, resp: falcon.Response, namespace: str, object_name: str) -> None:
        with self.core.store.session() as session:
            resp.media = object_view(namespace, contents.get_object(session, req.context.auth, namespace,
                                                                    object_name))

    on_head = on_get

    def on_put(self, req: falcon.Request, resp: falcon.Response, namespace: str, object_name: str) -> None:
        body = _object_body(req)
        with self.core.store.session() as session:
            obj = contents.update_object(session, req.context.auth, namespace, object_name, body)
            resp.media = object_view(namespace, obj)

    def on_delete(self, req: falcon.Request, resp: falcon.Response, namespace: str, object_name: str) -> None:
        with self.core.store.session() as session:
            contents.delete_object(session, req.context.auth, namespace, object_name)
        resp.status = falcon.HTTP_204


class Properties(Emptying):
    kind = "properties"

    def on_get(self, req: falcon.Request, resp: falcon.Response, namespace: str) -> None:
        with self.core.store.session() as session:
            found = contents.list_properties(session, req.context.auth, namespace)
            resp.media = {"properties": properties_view(found)}

    on_head = on_get

    def on_post(self, req: falcon.Request, resp: falcon.Response, namespace: str) -> None:
        body = schemas.check(read_json(req), schemas.PROPERTY_REQUEST)
        with self.core.store.session() as session:
            resp.media = property_view(contents.add_property(session, req.context.auth, namespace, body))
        resp.status = falcon.HTTP_201


class Property:
    def __init__(self, core: ImageCore):
        self.core = core

    def on_get(self, req: falcon.Request, resp: falcon.Response, namespace: str, property_name: str) -> None:
        with self.core.store.session() as session:
            found = contents.get_property(session, req.context.auth, namespace, property_name,
                                          req.get_param("resource_type"))
            resp.media = property_view(found)

    on_head = on_get

    def on_put(self, req: falcon.Request, resp: falcon.Response, namespace: str, property_name: str) -> None:
        body = schemas.check(read_json(req), schemas.PROPERTY_REQUEST)
        with self.core.store.session() as session:
            prop = contents.update_property(session, req.context.auth, namespace, property_name, body)
            resp.media = property_view(prop)

    def on_delete(self, req: falcon.Request, resp: falcon.Response, namespace: str, property_name: str) -> None:
        with self.core.store.session() as session:
            contents.delete_property(session, req.context.auth, namespace, property_name)
        resp.status = falcon.HTTP_204


class Tags(Emptying):
    kind = "tags"

    def on_get(self, req: falcon.Request, resp: falcon.Response, namespace: str) -> None:
        with self.core.store.session() as session:
            found = contents.list_tags(session, req.context.auth, namespace, limit=limit_param(req),
                                       marker=req.get_param("marker"),
                                       sort_key=req.get_param("sort_key") or "created_at",
                                       sort_dir=req.get_param("sort_dir") or "desc")
            resp.media = {"tags": [{"name": t.name} for t in found]}

    on_head = on_get

    def on_post(self, req: falcon.Request, resp: falcon.Response, namespace: str) -> None:
        """Create tags; they replace the namespace's unless ``X-Openstack-Append`` is true."""
        body = schemas.check(read_json(req), schemas.TAGS_REQUEST)
        append = (req.get_header("X-Openstack-Append") or "").strip().lower() in _TRUE
        with self.core.store.session() as session:
            made = contents.add_tags(session, req.context.auth, namespace, [t["name"] for t in body["tags"]],
                                     append)
            resp.media = {"tags": [{"name": t.name} for t in made]}
        resp.status = falcon.HTTP_201


class Tag:
    def __init__(self, core: ImageCore):
        self.core = core

    def on_get(self, req: falcon.Request, resp: falcon.Response, namespace: str, tag_name: str) -> None:
        with self.core.store.session() as session:
            resp.media = tag_view(contents.get_tag(session, req.context.auth, namespace, tag_name))

    on_head = on_get

    def on_post(self, req: falcon.Request, resp: falcon.Response, namespace: str, tag_name: str) -> None:
        schemas.check({"name": tag_name}, schemas.TAG_REQUEST)
        with self.core.store.session() as session:
            resp.media = tag_view(contents.add_tag(session, req.context.auth, namespace, tag_name))
        resp.status = falcon.HTTP_201

    def on_put(self, req: falcon.Request, resp: falcon.Response, namespace: str, tag_name: str) -> None:
        body = schemas.check(read_json(req), schemas.TAG_REQUEST)
        with self.core.store.session() as session:
            resp.media = tag_view(contents.rename_tag(session, req.context.auth, namespace, tag_name, body["name"]))

    def on_delete(self, req: falcon.Request, resp: falcon.Response, namespace: str, tag_name: str) -> None:
        with self.core.store.session() as session:
            contents.delete_tag(session, req.context.auth, namespace, tag_name)
        resp.status = falcon.HTTP_204


def bind(registry: Registry, core: ImageCore) -> None:
    registry.bind("image", "v2_metadefs_objects", Objects(core))
    registry.bind("image", "v2_metadefs_object", Object(core))
    registry.bind("image", "v2_metadefs_properties", Properties(core))
    registry.bind("image", "v2_metadefs_property", Property(core))
    registry.bind("image", "v2_metadefs_tags", Tags(core))
    registry.bind("image", "v2_metadefs_tag", Tag(core))
