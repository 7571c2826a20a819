"""Images: list (filters, ``in:``, paging, sorting), create, show, JSON Patch, delete; tags; actions."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import falcon

from overcast.api import faults
from overcast.api.image.schemas import IMAGE_REQUEST
from overcast.api.fragments import Fragments, json_list
from overcast.api.image.views import image_list_views, image_view
from overcast.api.routing import Registry
from overcast.api.validation import read_json, validate
from overcast.core import image as rules
from overcast.core.image import ImageCore, writes
from overcast.core.image.data import IMPORT_METHODS, discard
from overcast.core.image.locations import Locations
from overcast.core.image.web import ImportFilter
from overcast.store.image import Image

_RESERVED = {"limit", "marker", "sort_key", "sort_dir", "sort"}


def limit_param(req: falcon.Request) -> int | None:
    """The ``limit`` query parameter (None when absent). :raises faults.BadRequest: not a whole number >= 0."""
    raw = req.get_param("limit")
    if raw is None:
        return None
    try:
        limit = int(raw)
    except ValueError:
        raise faults.BadRequest("limit param must be an integer") from None
    if limit < 0:
        raise faults.BadRequest("limit param must be positive")
    return limit


def page_links(req: falcon.Request, path: str, schema: str, next_marker: str | None) -> dict[str, str]:
    """A Glance list's ``first``, ``schema`` and, when there is a next page, ``next``: ``path`` with the
    request's query minus its marker, and with ``next_marker`` as the marker."""
    params = {k: v for k, v in req.params.items() if k != "marker"}
    query = urlencode(params, doseq=True)
    links = {"first": path + (f"?{query}" if query else ""), "schema": schema}
    if next_marker is not None:
        links["next"] = f"{path}?" + urlencode({**params, "marker": next_marker}, doseq=True)
    return links


def _sort(req: falcon.Request) -> list[tuple[str, str]]:
    sort = req.get_param("sort")
    keys = req.get_param_as_list("sort_key") or []
    dirs = req.get_param_as_list("sort_dir") or []
    if sort is not None:
        if keys or dirs:
            raise faults.BadRequest("The 'sort' parameter cannot be combined with 'sort_key' or 'sort_dir'.")
        pairs = []
        for part in sort.split(","):
            key, _, direction = part.strip().partition(":")
            pairs.append((key.strip(), (direction or "desc").strip()))
        return pairs
    if not keys:
        keys = ["created_at"]
    if len(dirs) > 1 and len(dirs) != len(keys):
        raise faults.BadRequest("Number of sort dirs does not match the number of sort keys")
    if not dirs:
        dirs = ["desc"]
    if len(dirs) == 1:
        dirs = dirs * len(keys)
    return list(zip(keys, dirs))


def _filters(req: falcon.Request) -> dict[str, str]:
    found: dict[str, str] = {}
    for key, value in req.params.items():
        if key in _RESERVED:
            continue
        if isinstance(value, list):
            if key != "tag":
                raise faults.BadRequest(f"Parameter {key} may be given only once.")
            value = "\x00".join(value)
        found[key] = value
    return found


def shows_locations(core: ImageCore) -> bool:
    """Glance's ``show_multiple_locations`` (``[image] show_multiple_locations``)."""
    return core.settings.image.show_multiple_locations


def location_rules(core: ImageCore) -> Locations | None:
    """The rules of ``/locations`` changes when locations are shown (None: such changes are refused)."""
    if not shows_locations(core):
        return None
    def drop(image: Image) -> None:  # the store's copy goes once the change commits
        store, image_id = core.store_for(image), image.id
        core.store.after_commit(lambda: store.delete(image_id))

    return Locations(lambda: ImportFilter(core.settings.image), drop)


def _one_property(value: dict[str, Any]) -> None:
    validate(value, IMAGE_REQUEST)


class Images:
    def __init__(self, core: ImageCore):
        self.core = core
        #: rendered images of lists (docs/decisions/0061-rendered-views-per-record.md)
        self.fragments = Fragments()

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        ctx = req.context.auth
        with self.core.store.session() as session:
            page, tags, next_marker = rules.list_image_rows(session, ctx, _filters(req), region=req.context.region,
                                                            limit=limit_param(req), marker=req.get_param("marker"),
                                                            sort=_sort(req))
            rendered = image_list_views(page, tags, self.fragments, shows_locations(self.core))
        resp.data = json_list("images", rendered, page_links(req, "/v2/images", "/v2/schemas/images", next_marker))
        resp.content_type = falcon.MEDIA_JSON

    on_head = on_get

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = read_json(req)
        if not isinstance(body, dict):
            raise faults.BadRequest("Request body must be a JSON object.")
        writes.refuse_read_only(body)
        validate(body, IMAGE_REQUEST)
        with self.core.store.session() as session:
            image = writes.create(session, req.context.auth, body)
            resp.media = image_view(image, shows_locations(self.core))
        resp.status = falcon.HTTP_201
        resp.location = f"/v2/images/{resp.media['id']}"
        resp.set_header("OpenStack-image-import-methods", ",".join(IMPORT_METHODS))


class ImageItem:
    def __init__(self, core: ImageCore):
        self.core = core

    def on_get(self, req: falcon.Request, resp: falcon.Response, image_id: str) -> None:
        with self.core.store.session() as session:
            resp.media = image_view(rules.get(session, req.context.auth, image_id, region=req.context.region),
                                    shows_locations(self.core))

    on_head = on_get

    def on_patch(self, req: falcon.Request, resp: falcon.Response, image_id: str) -> None:
        content_type = (req.content_type or "").split(";")[0].strip()
        draft = writes.PATCH_TYPES.get(content_type)
        if draft is None:
            raise faults.Fault(415, f"Unsupported Content-Type {content_type or 'None'}; use one of "
                               + ", ".join(writes.PATCH_TYPES))
        changes = writes.parse_patch(read_json(req), draft)
        with self.core.store.session() as session:
            image = writes.apply_patch(session, req.context.auth, image_id, changes, _one_property,
                                       region=req.context.region, locations=location_rules(self.core))
            resp.media = image_view(image, shows_locations(self.core))

    def on_delete(self, req: falcon.Request, resp: falcon.Response, image_id: str) -> None:
        with self.core.store.session() as session:
            image = rules.delete(session, req.context.auth, image_id, region=req.context.region,
                                 request_id=req.context.request_id)
        discard(self.core, image)
        resp.status = falcon.HTTP_204


class Tag:
    def __init__(self, core: ImageCore):
        self.core = core

    def on_put(self, req: falcon.Request, resp: falcon.Response, image_id: str, tag: str) -> None:
        with self.core.store.session() as session:
            writes.add_tag(session, req.context.auth, image_id, tag, region=req.context.region)
        resp.status = falcon.HTTP_204

    def on_delete(self, req: falcon.Request, resp: falcon.Response, image_id: str, tag: str) -> None:
        with self.core.store.session() as session:
            writes.delete_tag(session, req.context.auth, image_id, tag, region=req.context.region)
        resp.status = falcon.HTTP_204


class Action:
    """``POST /actions/deactivate`` and ``/actions/reactivate``."""

    def __init__(self, core: ImageCore, action: Any):
        self.core, self.action = core, action

    def on_post(self, req: falcon.Request, resp: falcon.Response, image_id: str) -> None:
        with self.core.store.session() as session:
            self.action(session, req.context.auth, image_id, region=req.context.region)
        resp.status = falcon.HTTP_204


def bind(registry: Registry, core: ImageCore) -> None:
    registry.bind("image", "v2_images", Images(core))
    registry.bind("image", "v2_image", ImageItem(core))
    registry.bind("image", "v2_image_tag", Tag(core))
    registry.bind("image", "v2_image_deactivate", Action(core, writes.deactivate))
    registry.bind("image", "v2_image_reactivate", Action(core, writes.reactivate))
