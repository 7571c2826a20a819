"""The baseline: a bare Falcon app returning a fixed JSON body.

Served by the same WSGI server, with the same worker count, as ``overcast serve`` so that
Overcast's figures can be read as a ratio against it (machines are noisy; ratios travel).

    granian --interface wsgi --port 8000 benchmarks.bare_app:app
    gunicorn -w 1 benchmarks.bare_app:app

``/`` and any other path answer 200 with the same small body; with ``OVERCAST_BARE_BODY_FILE`` set,
with that file's bytes instead (the "same bytes" baseline of ``benchmarks/reads.py``).
"""

from __future__ import annotations

import os

import falcon

# Roughly the size of Keystone's /v3 version document, so bodies are comparable.
BODY = {
    "version": {
        "id": "v3.14",
        "status": "stable",
        "updated": "2020-04-07T00:00:00Z",
        "links": [{"rel": "self", "href": "http://127.0.0.1:8000/identity/v3/"}],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}],
    }
}


class Fixed:
    def on_get(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        resp.media = BODY

    on_head = on_get


class Bytes:
    """The same JSON bytes on every path (read once at start)."""

    def __init__(self, data: bytes):
        self.data = data

    def on_get(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        resp.data = self.data
        resp.content_type = falcon.MEDIA_JSON

    on_head = on_get


def create_app() -> falcon.App:
    app = falcon.App()
    path = os.environ.get("OVERCAST_BARE_BODY_FILE")
    fixed = Bytes(open(path, "rb").read()) if path else Fixed()
    app.add_route("/", fixed)
    app.add_sink(lambda req, resp, **_: fixed.on_get(req, resp), "/")
    return app


app = create_app()
