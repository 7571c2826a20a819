"""Image, member and task records as Glance v2 renders them (links, properties on top, ISO times)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from overcast.api.fragments import Fragments, frozen
from overcast.core.image.locations import shown
from overcast.store.image import Image, ImageMember, ImageTask

#: Glance's base attributes; additional properties may not shadow them.
BASE = ("id", "name", "status", "visibility", "protected", "os_hidden", "checksum", "os_hash_algo",
        "os_hash_value", "owner", "size", "virtual_size", "min_ram", "min_disk", "disk_format",
        "container_format", "created_at", "updated_at", "tags", "self", "file", "schema", "locations",
        "direct_url", "stores")
#: the store id ``stores`` shows, by the data location's scheme (as ``/v2/info/stores`` lists them)
STORE_IDS = {"file": "file", "s3": "s3"}


def isotime(value: dt.datetime | None) -> str | None:
    """``2026-12-07T04:15:00Z`` (stored times are naive UTC; isoformat is C code, strftime is not)."""
    if value is None:
        return None
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value.tzinfo else value.isoformat(timespec="seconds") + "Z"


def image_view(image: Image, locations: bool = False) -> dict[str, Any]:
    """``image`` as Glance shows it; with its ``locations`` when they are shown (show_multiple_locations)."""
    return _view(image, [t.value for t in image.tags], locations)


def image_list_views(rows: list[Any], tags: dict[str, list[str]], fragments: Fragments,
                     locations: bool = False) -> list[bytes]:
    """The images of a list (``core.image.list_image_rows``' rows and tags), each as its show renders
    it, as JSON kept per (row, tags) (docs/decisions/0061-rendered-views-per-record.md)."""
    return [fragments.render((frozen(row), tuple(tags.get(row.id, ())), locations),
                             lambda row=row: _view(row, tags.get(row.id, []), locations)) for row in rows]


def _view(image: Any, tags: list[str], locations: bool = False) -> dict[str, Any]:
    """``image`` (an :class:`Image` or a list row with its attributes) with ``tags``."""
    view: dict[str, Any] = {k: v for k, v in (image.properties or {}).items() if k not in BASE}
    view.update({
        "id": image.id, "name": image.name, "status": image.status, "visibility": image.visibility,
        "protected": image.protected, "os_hidden": image.os_hidden, "checksum": image.checksum,
        "os_hash_algo": image.os_hash_algo, "os_hash_value": image.os_hash_value, "owner": image.owner,
        "size": image.size, "virtual_size": image.virtual_size, "min_ram": image.min_ram or 0,
        "min_disk": image.min_disk or 0, "disk_format": image.disk_format,
        "container_format": image.container_format, "created_at": isotime(image.created_at),
        "updated_at": isotime(image.updated_at), "tags": tags,
        "self": f"/v2/images/{image.id}", "file": f"/v2/images/{image.id}/file", "schema": "/v2/schemas/image",
    })
    if locations:
        view["locations"] = shown(image)
    store = STORE_IDS.get((image.location or "").partition("://")[0])
    if store is not None and image.status in ("active", "deactivated"):
        view["stores"] = store
    return view


def member_view(member: ImageMember) -> dict[str, Any]:
    return {"member_id": member.member, "image_id": member.image_id, "status": member.status,
            "created_at": isotime(member.created_at), "updated_at": isotime(member.updated_at),
            "schema": "/v2/schemas/member"}


def task_view(task: ImageTask) -> dict[str, Any]:
    return {"id": task.id, "type": task.type, "status": task.status, "owner": task.owner, "input": task.input,
            "result": task.result, "message": task.message, "image_id": task.image_id,
            "request_id": task.request_id, "user_id": task.user_id, "created_at": isotime(task.created_at),
            "updated_at": isotime(task.updated_at), "expires_at": isotime(task.expires_at)}


def tasks_api_task_view(task: ImageTask, stub: bool = False) -> dict[str, Any]:
    """A task as ``/v2/tasks`` shows it, with its links and the optional attributes only when set; a
    ``stub`` (a task in a list) has no input, result or message."""
    full = task_view(task)
    keys = ("id", "type", "status", "owner", "created_at", "updated_at")
    if not stub:
        keys += ("input", "result", "message")
    optional = ("expires_at",) if stub else ("image_id", "request_id", "user_id", "expires_at")
    view = {k: full[k] for k in keys}
    view.update({k: full[k] for k in optional if full[k] is not None})
    return {**view, "self": f"/v2/tasks/{task.id}", "schema": "/v2/schemas/task"}
