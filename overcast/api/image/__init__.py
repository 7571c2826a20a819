"""The Glance v2 API at ``/image``: versions, schemas, images, tags, members, data and import, tasks and
the metadata definitions catalog."""

from __future__ import annotations

from overcast.api.image import (data, endpoints, images, members, metadef_contents, metadef_namespaces, schemas,
                                tasks, versions)
from overcast.api.routing import Registry
from overcast.core.image import ImageCore

__all__ = ["register"]


def register(registry: Registry, core: ImageCore) -> None:
    endpoints.declare(registry)
    versions.bind(registry, core.settings.public_url)
    images.bind(registry, core)
    members.bind(registry, core)
    data.bind(registry, core)
    schemas.bind(registry)
    tasks.bind(registry, core)
    metadef_namespaces.bind(registry, core)
    metadef_contents.bind(registry, core)
