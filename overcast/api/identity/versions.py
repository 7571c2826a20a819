"""Version discovery: ``/identity`` (300, every version) and ``/identity/v3``, ``/identity/v2.0``."""

from __future__ import annotations

import falcon

from overcast.api.identity.common import Links
from overcast.api.routing import Registry
from overcast.core.identity import IdentityCore


def v3_document(links: Links) -> dict:
    return {
        "id": "v3.14",
        "status": "stable",
        "updated": "2020-04-07T00:00:00Z",
        "links": [{"rel": "self", "href": f"{links.base}/v3/"}],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}],
    }


def v2_document(links: Links) -> dict:
    return {
        "id": "v2.0",
        "status": "deprecated",
        "updated": "2016-08-04T00:00:00Z",
        "links": [
            {"rel": "self", "href": f"{links.base}/v2.0/"},
            {"rel": "describedby", "type": "text/html", "href": "https://docs.openstack.org/"},
        ],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.identity-v2.0+json"}],
    }


class Versions:
    public_methods = ("GET", "HEAD")

    def __init__(self, links: Links):
        self.links = links

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.status = falcon.HTTP_300
        resp.media = {"versions": {"values": [v3_document(self.links), v2_document(self.links)]}}

    on_head = on_get


class Version:
    public_methods = ("GET", "HEAD")

    def __init__(self, document: dict):
        self.document = document

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"version": self.document}

    on_head = on_get


def bind(registry: Registry, core: IdentityCore, links: Links) -> None:
    registry.bind("identity", "versions", Versions(links))
    registry.bind("identity", "v3_auth_index", Version(v3_document(links)))
    registry.bind("identity", "v2_auth_index", Version(v2_document(links)))
