"""The CDN API (Poppy v1.0 at ``/cdn/v1.0``): each module binds the endpoints of one resource family."""

from __future__ import annotations

from overcast.api.cdn import admin, certificates, endpoints, flavors, home, services
from overcast.api.cdn.common import Links
from overcast.api.cdn.views import CdnViews
from overcast.api.routing import Registry
from overcast.core.cdn import CdnCore

__all__ = ["register"]


def register(registry: Registry, cdn: CdnCore) -> None:
    endpoints.declare(registry)
    links = Links(cdn.settings.public_url)
    views = CdnViews(cdn, links)
    home.bind(registry, cdn, links)
    services.bind(registry, cdn, views, links)
    flavors.bind(registry, cdn, views, links)
    certificates.bind(registry, cdn, views)
    admin.bind(registry, cdn, views)
