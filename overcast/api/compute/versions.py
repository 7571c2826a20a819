"""Nova's version documents at ``/compute``, ``/compute/v2`` and ``/compute/v2.1``."""

from __future__ import annotations

from typing import Any

import falcon

from overcast.api.compute.common import MICROVERSIONS, Links
from overcast.api.routing import Registry


def _document(links: Links, version_id: str) -> dict[str, Any]:
    current = version_id == "v2.1"
    path = "v2.1" if current else "v2"
    return {
        "id": version_id,
        "status": "CURRENT" if current else "SUPPORTED",
        "version": str(MICROVERSIONS.maximum) if current else "",
        "min_version": str(MICROVERSIONS.minimum) if current else "",
        "updated": "2013-07-23T11:33:21Z" if current else "2011-01-21T11:33:21Z",
        "links": [{"rel": "self", "href": f"{links.base}/{path}/"}],
    }


class Versions:
    public_methods = ("GET", "HEAD")
    accepts_trailing_slash = True

    def __init__(self, links: Links):
        self.links = links

    def on_get(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        resp.media = {"versions": [_document(self.links, "v2.0"), _document(self.links, "v2.1")]}

    on_head = on_get


class Version:
    public_methods = ("GET", "HEAD")
    accepts_trailing_slash = True

    def __init__(self, links: Links, version_id: str):
        self.links, self.version_id = links, version_id

    def on_get(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        doc = _document(self.links, self.version_id)
        doc["links"].append({"rel": "describedby", "type": "text/html", "href": "http://docs.openstack.org/"})
        doc["media-types"] = [{"base": "application/json",
                               "type": f"application/vnd.openstack.compute+json;version={self.version_id[1:]}"}]
        resp.media = {"version": doc}

    on_head = on_get


def bind(registry: Registry, links: Links) -> None:
    registry.bind("compute", "index", Versions(links))
    registry.bind("compute", "v2_index", Version(links, "v2.0"))
    registry.bind("compute", "v21_index", Version(links, "v2.1"))
