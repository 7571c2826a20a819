"""The Glance v2 API at ``/image``: version discovery and the image read side."""

from __future__ import annotations

from overcast.api.image import endpoints, images, versions
from overcast.api.routing import Registry
from overcast.core.image import ImageCore

__all__ = ["register"]


def register(registry: Registry, core: ImageCore) -> None:
    endpoints.declare(registry)
    base = core.settings.public_url.rstrip("/") + "/image"
    versions.bind(registry, base)
    images.bind(registry, core)
