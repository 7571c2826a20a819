"""Image data: ``/file`` (upload, download with Range), ``/stage``, ``/import``, ``/tasks``, ``/v2/info/*``.

Uploads are read from the request in chunks (``Content-Length`` bodies through Falcon's bounded
stream; chunked bodies straight from ``wsgi.input``, which the server terminates), and downloads
are streamed from the store: memory stays at a chunk whatever the image's size.
"""

from __future__ import annotations

import re
from typing import Any, Iterator

import falcon
from sqlalchemy import select

from overcast.api import faults
from overcast.api.image.views import task_view
from overcast.api.routing import Registry
from overcast.api.image.schemas import ADD_LOCATION
from overcast.api.validation import read_json, validate
from overcast.core.image import ImageCore, data, get, locations
from overcast.core.image.stores import CHUNK
from overcast.store.image import ImageTask

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def request_chunks(req: falcon.Request) -> Iterator[bytes]:
    """The request body in chunks of at most ``CHUNK`` bytes, never all of it at once."""
    if req.content_length is None and req.env.get("wsgi.input_terminated"):
        stream = req.stream  # chunked transfer encoding: the server marks the end of the body
    else:
        stream = req.bounded_stream
    while chunk := stream.read(CHUNK):
        yield chunk


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``Range: bytes=a-b`` / ``a-`` / ``-n`` as (offset, length); None for the whole image.

    :raises faults.Fault: 416 for a range that is malformed, multiple or outside the image.
    """
    if header is None:
        return None
    match = _RANGE.match(header.strip())
    if match is None or match.groups() == ("", ""):
        raise _unsatisfiable(size)
    first, last = match.groups()
    if first == "":
        start, end = max(size - int(last), 0), size - 1
    else:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        raise _unsatisfiable(size)
    return start, end - start + 1


def _unsatisfiable(size: int) -> faults.Fault:
    return faults.Fault(416, "Requested range not satisfiable", headers={"Content-Range": f"bytes */{size}"})


class File:
    streaming_methods = ("PUT",)

    def __init__(self, core: ImageCore):
        self.core = core

    def on_put(self, req: falcon.Request, resp: falcon.Response, image_id: str) -> None:
        data.upload(self.core, req.context.auth, image_id, request_chunks(req), region=req.context.region)
        resp.status = falcon.HTTP_204

    def on_get(self, req: falcon.Request, resp: falcon.Response, image_id: str) -> None:
        found = data.open_data(self.core, req.context.auth, image_id, region=req.context.region)
        if found is None:
            resp.status = falcon.HTTP_204
            return
        resp.content_type = "application/octet-stream"
        wanted = byte_range(req.get_header("Range"), found.size)
        if wanted is None:
            offset, length = 0, found.size
            if found.checksum:
                resp.set_header("Content-MD5", found.checksum)
        else:
            offset, length = wanted
            resp.status = falcon.HTTP_206
            resp.set_header("Content-Range", f"bytes {offset}-{offset + length - 1}/{found.size}")
        resp.content_length = length
        if req.method != "HEAD":
            resp.stream = found.read(offset, length)

    on_head = on_get


class Stage:
    streaming_methods = ("PUT",)

    def __init__(self, core: ImageCore):
        self.core = core

    def on_put(self, req: falcon.Request, resp: falcon.Response, image_id: str) -> None:
        data.stage(self.core, req.context.auth, image_id, request_chunks(req), region=req.context.region)
        resp.status = falcon.HTTP_204


class Import:
    def __init__(self, core: ImageCore):
        self.core = core

    def on_post(self, req: falcon.Request, resp: falcon.Response, image_id: str) -> None:
        body = read_json(req)
        if not isinstance(body, dict):
            raise faults.BadRequest("Request body must be a JSON object.")
        data.start_import(self.core, req.context.auth, image_id, body, req.context.request_id,
                          region=req.context.region)
        resp.status = falcon.HTTP_202


class Locations:
    """``/v2/images/{id}/locations`` (2.17): add a location to a queued image (202, a ``location_import``
    task reads it), or list an image's locations (services only)."""

    def __init__(self, core: ImageCore):
        self.core = core

    def on_get(self, req: falcon.Request, resp: falcon.Response, image_id: str) -> None:
        with self.core.store.session() as session:
            resp.media = locations.listed(session, req.context.auth, image_id, region=req.context.region)

    def on_post(self, req: falcon.Request, resp: falcon.Response, image_id: str) -> None:
        body = read_json(req)
        validate(body, ADD_LOCATION)
        data.start_location_import(self.core, req.context.auth, image_id, body["url"],
                                   body.get("validation_data") or {}, req.context.request_id,
                                   region=req.context.region)
        resp.status = falcon.HTTP_202


class Tasks:
    def __init__(self, core: ImageCore):
        self.core = core

    def on_get(self, req: falcon.Request, resp: falcon.Response, image_id: str) -> None:
        with self.core.store.session() as session:
            image = get(session, req.context.auth, image_id, region=req.context.region)
            found = session.scalars(select(ImageTask).where(ImageTask.image_id == image.id)
                                    .order_by(ImageTask.created_at.desc()))
            resp.media = {"tasks": [task_view(t) for t in found]}

    on_head = on_get


class Info:
    def __init__(self, document: dict[str, Any]):
        self.document = document

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.document

    on_head = on_get


def bind(registry: Registry, core: ImageCore) -> None:
    registry.bind("image", "v2_image_file", File(core))
    registry.bind("image", "v2_image_stage", Stage(core))
    registry.bind("image", "v2_image_import", Import(core))
    registry.bind("image", "v2_image_tasks", Tasks(core))
    registry.bind("image", "v2_image_locations", Locations(core))
    registry.bind("image", "v2_info_import", Info({"import-methods": {
        "description": "Import methods available.", "type": "array", "value": list(data.IMPORT_METHODS)}}))
    registry.bind("image", "v2_info_stores", Info({"stores": [
        {"id": core.data.id, "description": core.data.description, "default": True}]}))
