"""The Nova v2.1 API: each module binds the endpoints of one resource family."""

from __future__ import annotations

from overcast.api.compute import endpoints, versions
from overcast.api.compute.common import MICROVERSIONS, Links
from overcast.api.routing import Registry
from overcast.core.compute import ComputeCore

__all__ = ["MICROVERSIONS", "register"]


def register(registry: Registry, core: ComputeCore) -> None:
    endpoints.declare(registry)
    links = Links(core.settings.public_url)
    versions.bind(registry, links)
