"""Glance's version documents: ``/image`` (300 Multiple Choices) and ``/image/versions`` (200)."""

from __future__ import annotations

from typing import Any

import falcon

from overcast.api import urls
from overcast.api.routing import Registry

#: Glance's v2 minor versions, newest first (2.17, the add/get location API, is Glance 2024.2's CURRENT).
CURRENT = "2.17"
VERSIONS = ("2.17", "2.16", "2.15", "2.14", "2.13", "2.12", "2.11", "2.10", "2.9", "2.8", "2.7", "2.6", "2.5", "2.4",
            "2.3", "2.2", "2.1", "2.0")


def documents(base: str) -> dict[str, Any]:
    return {"versions": [{"id": f"v{v}", "status": "CURRENT" if v == CURRENT else "SUPPORTED",
                          "links": [{"rel": "self", "href": f"{base}/v2/"}]} for v in VERSIONS]}


class Versions:
    public_methods = ("GET", "HEAD")
    #: Glance answers ``GET /`` with its versions; other paths with a trailing slash find no route
    accepts_trailing_slash = True

    def __init__(self, public_url: str, status: str):
        self.public_url, self.status = public_url.rstrip("/"), status

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.status = self.status
        resp.media = documents(f"{self.public_url}{urls.region_prefix()}/image")

    on_head = on_get


def bind(registry: Registry, public_url: str) -> None:
    registry.bind("image", "versions", Versions(public_url, falcon.HTTP_300))
    registry.bind("image", "versions_list", Versions(public_url, falcon.HTTP_200))
