"""``GET /``: what this URL serves. JSON for clients (services, their URLs per region and API
versions), a small HTML page when a browser asks. Public, like every service's version document."""

from __future__ import annotations

import html
from typing import Any

import falcon

from overcast import __version__
from overcast.config import Settings
from overcast.core.identity.catalog import SERVED, service_url


def _versions() -> dict[str, list[dict[str, Any]]]:
    """API versions per service type, from the constants each one's version document uses."""
    from overcast.api.compute.common import MICROVERSIONS as COMPUTE
    from overcast.api.image.versions import CURRENT as IMAGE
    from overcast.api.placement.common import MICROVERSIONS as PLACEMENT
    from overcast.api.volume.common import MICROVERSIONS as VOLUME

    return {
        "identity": [{"id": "v3.14", "path": "/v3"}, {"id": "v2.0", "path": "/v2.0"}],
        "compute": [{"id": "v2.1", "min_version": str(COMPUTE.minimum), "version": str(COMPUTE.maximum),
                     "path": ""}],
        "image": [{"id": f"v{IMAGE}", "path": "/v2"}],
        "volumev3": [{"id": "v3.0", "min_version": str(VOLUME.minimum), "version": str(VOLUME.maximum),
                      "path": ""}],
        "network": [{"id": "v2.0", "path": "/v2.0"}],
        "placement": [{"id": "v1.0", "min_version": str(PLACEMENT.minimum), "version": str(PLACEMENT.maximum),
                       "path": ""}],
    }


def document(settings: Settings) -> dict[str, Any]:
    versions = _versions()
    services = []
    for service_type, name, path in SERVED:
        if service_type not in versions:  # the block-storage alias of volumev3
            continue
        # without the project id a catalog URL may end in (the version's root)
        regions = {region: service_url(settings, service_type, path, region).replace("/$(project_id)s", "")
                   for region in settings.regions}
        base = regions[settings.regions[0]]
        services.append({
            "type": service_type, "name": name, "url": base,
            "regions": regions,
            "versions": [{k: v for k, v in {**version, "url": base + version["path"]}.items() if k != "path"}
                         for version in versions[service_type]],
        })
    return {"overcast": {"version": __version__, "regions": settings.regions,
                         "auth_url": settings.public_url + "/identity", "services": services}}


def _version_label(version: dict[str, Any]) -> str:
    if "version" not in version:
        return version["id"]
    return f"{version['id']} ({version['min_version']}-{version['version']})"


def _html(doc: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(s['type'])}</td><td>{html.escape(s['name'])}</td>"
        f"<td><a href=\"{html.escape(s['url'])}\">{html.escape(s['url'])}</a></td>"
        f"<td>{html.escape(', '.join(_version_label(v) for v in s['versions']))}</td></tr>"
        for s in doc["overcast"]["services"])
    body = doc["overcast"]
    return ("<!doctype html><html><head><meta charset=\"utf-8\"><title>Overcast</title></head><body>"
            f"<h1>Overcast {html.escape(body['version'])}</h1>"
            f"<p>OpenStack APIs for regions {html.escape(', '.join(body['regions']))}. "
            f"Point clients at <code>{html.escape(body['auth_url'])}</code> "
            "(a ready <code>clouds.yaml</code> is in the data directory).</p>"
            "<table border=\"1\" cellpadding=\"4\"><tr><th>type</th><th>name</th><th>URL</th><th>versions</th></tr>"
            f"{rows}</table></body></html>")


class Root:
    public_methods = ("GET", "HEAD")

    def __init__(self, settings: Settings):
        self.document = document(settings)
        self.page = _html(self.document)

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        if req.client_prefers(("application/json", "text/html")) == "text/html":
            resp.content_type = falcon.MEDIA_HTML
            resp.text = self.page
            return
        resp.media = self.document

    on_head = on_get
