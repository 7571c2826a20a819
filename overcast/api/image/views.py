"""Image records as Glance v2 renders them (``self``, ``file`` and ``schema`` links, properties on top)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from overcast.store.image import Image

#: Glance's base attributes; additional properties may not shadow them.
BASE = ("id", "name", "status", "visibility", "protected", "os_hidden", "checksum", "os_hash_algo",
        "os_hash_value", "owner", "size", "virtual_size", "min_ram", "min_disk", "disk_format",
        "container_format", "created_at", "updated_at", "tags", "self", "file", "schema", "locations",
        "direct_url")


def isotime(value: dt.datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else None


def image_view(image: Image) -> dict[str, Any]:
    view: dict[str, Any] = {k: v for k, v in (image.properties or {}).items() if k not in BASE}
    view.update({
        "id": image.id, "name": image.name, "status": image.status, "visibility": image.visibility,
        "protected": image.protected, "os_hidden": image.os_hidden, "checksum": image.checksum,
        "os_hash_algo": image.os_hash_algo, "os_hash_value": image.os_hash_value, "owner": image.owner,
        "size": image.size, "virtual_size": image.virtual_size, "min_ram": image.min_ram or 0,
        "min_disk": image.min_disk or 0, "disk_format": image.disk_format,
        "container_format": image.container_format, "created_at": isotime(image.created_at),
        "updated_at": isotime(image.updated_at), "tags": [t.value for t in image.tags],
        "self": f"/v2/images/{image.id}", "file": f"/v2/images/{image.id}/file", "schema": "/v2/schemas/image",
    })
    return view
