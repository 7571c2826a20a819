"""Cinder's version documents: ``/volume`` (300 Multiple Choices) and ``/volume/v3``."""

from __future__ import annotations

from typing import Any

import falcon

from overcast.api.routing import Registry
from overcast.api.volume.common import MICROVERSIONS, Links


def _document(links: Links) -> dict[str, Any]:
    return {
        "id": "v3.0",
        "status": "CURRENT",
        "version": str(MICROVERSIONS.maximum),
        "min_version": str(MICROVERSIONS.minimum),
        "updated": "2023-08-31T00:00:00Z",
        "links": [{"rel": "describedby", "type": "text/html", "href": "https://docs.openstack.org/"},
                  {"rel": "self", "href": f"{links.base}/v3/"}],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.volume+json;version=3"}],
    }


class Versions:
    public_methods = ("GET", "HEAD")
    #: Cinder answers ``/volume/`` and ``/volume/v3/`` (every other path ending in a slash is 404)
    accepts_trailing_slash = True

    def __init__(self, links: Links, status: int):
        self.links, self.status = links, status

    def on_get(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        resp.status = self.status
        resp.media = {"versions": [_document(self.links)]}

    on_head = on_get


def bind(registry: Registry, links: Links) -> None:
    registry.bind("volume", "index", Versions(links, 300))
    registry.bind("volume", "v3_index", Versions(links, 200))
