"""Nova's deprecated image proxy ``/images`` (gone from 2.36): the image records as Nova shows them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import falcon

from overcast.api import faults
from overcast.api.compute.common import PROXY_MAX, Links, caller, enforce, served
from overcast.api.compute.flavors import limit_marker, next_links
from overcast.api.routing import Registry
from overcast.api.validation import read_json
from overcast.core import image as image_rules
from overcast.core.image import writes as image_writes
from overcast.core.compute import ComputeCore, quotas
from overcast.core.compute import servers as core_servers
from overcast.core.errors import Forbidden, NotFound
from overcast.store.image import Image

STATUS = {"active": "ACTIVE", "queued": "SAVING", "saving": "SAVING", "importing": "SAVING",
          "uploading": "SAVING", "deleted": "DELETED", "pending_delete": "DELETED", "killed": "ERROR"}
PROGRESS = {"queued": 25, "saving": 50, "uploading": 50, "importing": 50, "active": 100}
_META = {"type": "object", "patternProperties": {r"^[a-zA-Z0-9-_:. ]{1,255}$": {"type": "string", "maxLength": 255}},
         "additionalProperties": False}
METADATA_SCHEMA = {"type": "object", "required": ["metadata"], "additionalProperties": False,
                   "properties": {"metadata": _META}}
META_SCHEMA = {"type": "object", "required": ["meta"], "additionalProperties": False,
               "properties": {"meta": {**_META, "minProperties": 1}}}


def _iso(value: dt.datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else None


def _links(links: Links, image_id: str) -> list[dict[str, str]]:
    glance = links.base[: -len("/compute")] + "/image"
    return [*links.pair("images", image_id),
            {"rel": "alternate", "type": "application/vnd.openstack.image", "href": f"{glance}/images/{image_id}"}]


def image_summary(links: Links, image: Image) -> dict[str, Any]:
    return {"id": image.id, "name": image.name, "links": _links(links, image.id)}


def image_view(links: Links, image: Image) -> dict[str, Any]:
    props = {k: str(v) for k, v in (image.properties or {}).items()}
    view: dict[str, Any] = {
        "id": image.id, "name": image.name, "minRam": image.min_ram or 0, "minDisk": image.min_disk or 0,
        "metadata": props, "created": _iso(image.created_at), "updated": _iso(image.updated_at),
        "status": STATUS.get(image.status, "UNKNOWN"), "progress": PROGRESS.get(image.status, 0),
        "links": _links(links, image.id), "OS-EXT-IMG-SIZE:size": image.size or 0,
    }
    if "instance_uuid" in props:
        view["server"] = {"id": props["instance_uuid"], "links": links.pair("servers", props["instance_uuid"])}
    shown = core_servers.image_disk_config(image)
    if shown is not None:  # Nova shows it only for an image with the property
        view["OS-DCF:diskConfig"] = shown.value
    return view


class _Base:
    def __init__(self, core: ComputeCore, links: Links):
        self.core, self.links = core, links

    def _image(self, req: falcon.Request, session: Any, image_id: str) -> Image:
        try:
            return image_rules.get(session, caller(req), image_id, region=req.context.region)
        except NotFound:
            raise faults.NotFound("Image not found.") from None

    def _writable(self, req: falcon.Request, image: Image) -> None:
        """Glance's rule, as Nova's call to Glance with the caller's token meets it. :raises Forbidden:"""
        image_writes.require(caller(req), image, "modify_image", "change the metadata of")

    def _save(self, req: falcon.Request, session: Any, image: Image, props: dict[str, str]) -> dict[str, str]:
        self._writable(req, image)
        ctx = caller(req)
        limit = quotas.limits(session, ctx.project_id or "")["metadata_items"]
        if limit != quotas.UNLIMITED and len(props) > limit:
            raise Forbidden(quotas.exceeded_message(["metadata_items"], {"metadata_items": len(props)},
                                                    {"metadata_items": 0}, {"metadata_items": limit}))
        image.properties = dict(props)
        image.updated_at = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        session.flush()
        return {k: str(v) for k, v in props.items()}


class Images(_Base):
    detailed = False

    def on_get(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        served(req, last=PROXY_MAX)
        ctx = enforce(req, "compute:images:read")
        limit, marker = limit_marker(req)
        with self.core.store.session() as session:
            found, _next = image_rules.list_images(session, ctx, {}, region=req.context.region,
                                                   limit=image_rules.MAX_LIMIT * 100,
                                                   sort=(("created_at", "desc"),))
            found = [i for i in found if self._matches(req, i)]
            if marker is not None:
                ids = [i.id for i in found]
                if marker not in ids:
                    raise faults.BadRequest(f"marker [{marker}] not found")
                found = found[ids.index(marker) + 1:]
            found = found[:limit]
            render = image_view if self.detailed else image_summary
            body: dict[str, Any] = {"images": [render(self.links, i) for i in found]}
        links = next_links(req, self.links, "images/detail" if self.detailed else "images", found, limit,
                           lambda i: i.id)
        if links:
            body["images_links"] = links
        resp.media = body

    on_head = on_get

    @staticmethod
    def _matches(req: falcon.Request, image: Image) -> bool:
        props = image.properties or {}
        name, status = req.get_param("name"), req.get_param("status")
        if name is not None and image.name != name:
            return False
        if status is not None and STATUS.get(image.status, "UNKNOWN") != status.upper():
            return False
        for param, attr in (("minRam", "min_ram"), ("minDisk", "min_disk")):
            value = req.get_param(param)
            if value is not None:
                try:
                    if (getattr(image, attr) or 0) < int(value):
                        return False
                except ValueError:
                    raise faults.BadRequest(f"Invalid {param} filter [{value}]") from None
        server = req.get_param("server")
        if server is not None and not str(props.get("instance_uuid", "")).endswith(server.rsplit("/", 1)[-1]):
            return False
        kind = req.get_param("type")
        if kind is not None and props.get("image_type", "image") != kind:
            return False
        since = req.get_param("changes-since")
        if since is not None:
            try:
                when = dt.datetime.fromisoformat(since.replace("Z", "+00:00"))
            except ValueError:
                raise faults.BadRequest(f"Invalid changes-since value [{since}]") from None
            if when.tzinfo is not None:
                when = when.astimezone(dt.timezone.utc).replace(tzinfo=None)
            if image.updated_at < when:
                return False
        return True


class ImagesDetail(Images):
    detailed = True


class ImageItem(_Base):
    def on_get(self, req: falcon.Request, resp: falcon.Response, image_id: str, **_: str) -> None:
        served(req, last=PROXY_MAX)
        enforce(req, "compute:images:read")
        with self.core.store.session() as session:
            resp.media = {"image": image_view(self.links, self._image(req, session, image_id))}

    on_head = on_get

    def on_delete(self, req: falcon.Request, resp: falcon.Response, image_id: str, **_: str) -> None:
        served(req, last=PROXY_MAX)
        enforce(req, "compute:images:delete")
        with self.core.store.session() as session:
            self._image(req, session, image_id)
            image_rules.delete(session, caller(req), image_id, self.core.settings.data_dir / "images",
                               region=req.context.region, request_id=req.context.request_id)
        resp.status = falcon.HTTP_204


class ImageMetadata(_Base):
    def on_get(self, req: falcon.Request, resp: falcon.Response, image_id: str, **_: str) -> None:
        served(req, last=PROXY_MAX)
        enforce(req, "compute:images:read")
        with self.core.store.session() as session:
            image = self._image(req, session, image_id)
            resp.media = {"metadata": {k: str(v) for k, v in (image.properties or {}).items()}}

    on_head = on_get

    def on_post(self, req: falcon.Request, resp: falcon.Response, image_id: str, **_: str) -> None:
        served(req, last=PROXY_MAX)
        enforce(req, "compute:images:read")
        given = read_json(req, METADATA_SCHEMA)["metadata"]
        with self.core.store.session() as session:
            image = self._image(req, session, image_id)
            resp.media = {"metadata": self._save(req, session, image, {**(image.properties or {}), **given})}

    def on_put(self, req: falcon.Request, resp: falcon.Response, image_id: str, **_: str) -> None:
        served(req, last=PROXY_MAX)
        enforce(req, "compute:images:read")
        given = read_json(req, METADATA_SCHEMA)["metadata"]
        with self.core.store.session() as session:
            image = self._image(req, session, image_id)
            resp.media = {"metadata": self._save(req, session, image, dict(given))}


class ImageMetadataKey(_Base):
    def on_get(self, req: falcon.Request, resp: falcon.Response, image_id: str, key: str, **_: str) -> None:
        served(req, last=PROXY_MAX)
        enforce(req, "compute:images:read")
        with self.core.store.session() as session:
            props = self._image(req, session, image_id).properties or {}
        if key not in props:
            raise faults.NotFound("Invalid metadata key")
        resp.media = {"meta": {key: str(props[key])}}

    on_head = on_get

    def on_put(self, req: falcon.Request, resp: falcon.Response, image_id: str, key: str, **_: str) -> None:
        served(req, last=PROXY_MAX)
        enforce(req, "compute:images:read")
        meta = read_json(req, META_SCHEMA)["meta"]
        if len(meta) > 1:
            raise faults.BadRequest("Request body contains too many items")
        if key not in meta:
            raise faults.BadRequest("Request body and URI mismatch")
        with self.core.store.session() as session:
            image = self._image(req, session, image_id)
            self._save(req, session, image, {**(image.properties or {}), key: meta[key]})
        resp.media = {"meta": {key: meta[key]}}

    def on_delete(self, req: falcon.Request, resp: falcon.Response, image_id: str, key: str, **_: str) -> None:
        served(req, last=PROXY_MAX)
        enforce(req, "compute:images:read")
        with self.core.store.session() as session:
            image = self._image(req, session, image_id)
            props = dict(image.properties or {})
            if key not in props:
                raise faults.NotFound("Invalid metadata key")
            props.pop(key)
            self._save(req, session, image, props)
        resp.status = falcon.HTTP_204


def bind(registry: Registry, core: ComputeCore, links: Links) -> None:
    registry.bind("compute", "v2_images", Images(core, links))
    registry.bind("compute", "v2_images_detail", ImagesDetail(core, links))
    registry.bind("compute", "v2_image", ImageItem(core, links))
    registry.bind("compute", "v2_image_metadata", ImageMetadata(core, links))
    registry.bind("compute", "v2_image_metadata_key", ImageMetadataKey(core, links))
