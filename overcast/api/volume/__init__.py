"""The Cinder v3 API: each module binds the endpoints of one resource family."""

from __future__ import annotations

from overcast.api.routing import Registry
from overcast.api.volume import (attachments, backends, backups, encryption, endpoints, extensions, group_types, groups,
                                 manage, messages, qos, quotas, snapshots, transfers, types, versions, volumes)
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
    backups.bind(registry, core, views)
    manage.bind(registry, core, views)
    types.bind(registry, core)
    encryption.bind(registry, core)
    qos.bind(registry, core, links)
    group_types.bind(registry, core)
    groups.bind(registry, core)
    quotas.bind(registry, core)
    backends.bind(registry, core)
    extensions.bind(registry)
    attachments.bind(registry, core)
    transfers.bind(registry, core, links)
    messages.bind(registry, core, links)
