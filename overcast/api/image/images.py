"""``GET /v2/images`` (filters, ``in:``, paging, sorting) and ``GET /v2/images/{id}``."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import falcon

from overcast.api import faults
from overcast.api.image.views import image_view
from overcast.api.routing import Registry
from overcast.core import image as rules
from overcast.core.image import ImageCore

_RESERVED = {"limit", "marker", "sort_key", "sort_dir", "sort"}


def _params(req: falcon.Request) -> dict[str, Any]:
    return {k: v for k, v in req.params.items()}


def _limit(req: falcon.Request) -> int | None:
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


class Images:
    def __init__(self, core: ImageCore):
        self.core = core

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        ctx = req.context.auth
        with self.core.store.session() as session:
            page, next_marker = rules.list_images(session, ctx, _filters(req), limit=_limit(req),
                                                  marker=req.get_param("marker"), sort=_sort(req))
            body: dict[str, Any] = {"images": [image_view(i) for i in page]}
        params = _params(req)
        params.pop("marker", None)
        query = urlencode(params, doseq=True)
        body["first"] = "/v2/images" + (f"?{query}" if query else "")
        body["schema"] = "/v2/schemas/images"
        if next_marker is not None:
            params["marker"] = next_marker
            body["next"] = "/v2/images?" + urlencode(params, doseq=True)
        resp.media = body

    on_head = on_get


class ImageItem:
    def __init__(self, core: ImageCore):
        self.core = core

    def on_get(self, req: falcon.Request, resp: falcon.Response, image_id: str) -> None:
        with self.core.store.session() as session:
            resp.media = image_view(rules.get(session, req.context.auth, image_id))

    on_head = on_get


def bind(registry: Registry, core: ImageCore) -> None:
    registry.bind("image", "v2_images", Images(core))
    registry.bind("image", "v2_image", ImageItem(core))
