"""The Cinder v3 API: each module binds the endpoints of one resource family."""

from __future__ import annotations

from overcast.api.routing import Registry
from overcast.api.volume import attachments, endpoints, quotas, snapshots, types, versions, volumes
from overcast.api.volume.common import MICROVERSIONS, Links
from overcast.api.volume.views import VolumeViews
from overcast.core.volume import VolumeCore

__all__ = ["MICROVERSIONS", "register"]


def register(registry: Registry, core: VolumeCore) -> None:
    endpoints.declare(registry)
    links = Links(core.settings.public_url)
    views = VolumeViews(links)
    versions.bind(registry, links)
    volumes.bind(registry, core, views)
    snapshots.bind(registry, core, views)
    types.bind(registry, core)
    quotas.bind(registry, core)
    attachments.bind(registry, core)
