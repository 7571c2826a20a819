"""``/`` (the version document), ``/resource_classes`` (1.2) and ``/traits`` (1.6)."""

from __future__ import annotations

from typing import Any

import falcon

from overcast.api import faults
from overcast.api.placement import schemas
from overcast.api.placement.common import (MICROVERSIONS, Base, allowed_params, at_least, cache_headers, enforce,
                                           newest, one, since)
from overcast.api.validation import read_json
from overcast.core.placement import catalog as rules


class Root(Base):
    """Placement's version document; no token needed."""

    public_methods = ("GET", "HEAD")

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"versions": [{"id": "v1.0", "max_version": str(MICROVERSIONS.maximum),
                                    "min_version": str(MICROVERSIONS.minimum), "status": "CURRENT",
                                    "links": [{"rel": "self", "href": ""}]}]}

    on_head = on_get


def class_view(prefix: str, item: rules.Named) -> dict[str, Any]:
    return {"name": item.name, "links": [{"rel": "self", "href": f"{prefix}/resource_classes/{item.name}"}]}


class ResourceClasses(Base):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        since(req, "1.2")
        enforce(req, "resource_classes:list")
        with self.store.session() as session:
            found = rules.list_classes(session)
        resp.media = {"resource_classes": [class_view(self.prefix(req), c) for c in found]}
        cache_headers(req, resp, newest(c.updated_at or c.created_at for c in found))

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        since(req, "1.2")
        enforce(req, "resource_classes:create")
        name = read_json(req, schemas.POST_RESOURCE_CLASS)["name"]
        with self.store.session() as session:
            rules.create_class(session, name)
        resp.status = falcon.HTTP_201
        resp.set_header("Location", self.location(req, f"{self.prefix(req)}/resource_classes/{name}"))


class ResourceClass(Base):
    def on_get(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        since(req, "1.2")
        enforce(req, "resource_classes:show")
        with self.store.session() as session:
            found = rules.get_class(session, name)
        resp.media = class_view(self.prefix(req), found)
        cache_headers(req, resp, found.updated_at or found.created_at)

    def on_put(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        """1.7+: make the custom class if it is missing (201), else 204. 1.2-1.6: rename a custom class."""
        since(req, "1.2")
        enforce(req, "resource_classes:update")
        if at_least(req, "1.7"):
            with self.store.session() as session:
                _, made = rules.ensure_class(session, name)
            if made:
                resp.status = falcon.HTTP_201
                resp.set_header("Location", self.location(req, f"{self.prefix(req)}/resource_classes/{name}"))
            else:
                resp.status = falcon.HTTP_204
            return
        new_name = read_json(req, schemas.PUT_RESOURCE_CLASS)["name"]
        with self.store.session() as session:
            renamed = rules.rename_class(session, name, new_name)
        resp.media = class_view(self.prefix(req), renamed)

    def on_delete(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        since(req, "1.2")
        enforce(req, "resource_classes:delete")
        with self.store.session() as session:
            rules.delete_class(session, name)
        resp.status = falcon.HTTP_204


class Traits(Base):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        since(req, "1.6")
        enforce(req, "traits:list")
        allowed_params(req, {"name", "associated"})
        names, prefix = None, None
        text = one(req, "name")
        if text is not None:
            if text.startswith("in:"):
                names = [n for n in text[3:].split(",") if n]
            elif text.startswith("startswith:"):
                prefix = text[len("startswith:"):]
            else:
                raise faults.BadRequest(f"Badly formatted name parameter. Expected name query string parameter in "
                                        f"form: ?name=[in|startswith]:[name1,name2|prefix]. Got: \"{text}\"")
        associated = one(req, "associated")
        flag = None
        if associated is not None:
            if associated.lower() not in ("true", "false"):
                raise faults.BadRequest("Invalid query string parameters: 'associated' must be true or false")
            flag = associated.lower() == "true"
        with self.store.session() as session:
            found = rules.list_traits(session, names=names, prefix=prefix, associated=flag)
        resp.media = {"traits": found}
        cache_headers(req, resp, None)


class Trait(Base):
    def on_get(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        since(req, "1.6")
        enforce(req, "traits:show")
        with self.store.session() as session:
            if not rules.trait_exists(session, name):
                raise faults.NotFound(f"The trait {name} does not exist.")
        resp.status = falcon.HTTP_204
        cache_headers(req, resp, None)

    def on_put(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        since(req, "1.6")
        enforce(req, "traits:update")
        with self.store.session() as session:
            made = rules.put_trait(session, name)
        resp.status = falcon.HTTP_201 if made else falcon.HTTP_204
        resp.set_header("Location", self.location(req, f"{self.prefix(req)}/traits/{name}"))
        cache_headers(req, resp, None)

    def on_delete(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        since(req, "1.6")
        enforce(req, "traits:delete")
        with self.store.session() as session:
            rules.delete_trait(session, name)
        resp.status = falcon.HTTP_204
