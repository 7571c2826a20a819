"""Placeholder: the domains endpoints are being written."""

from overcast.api.identity.common import Links
from overcast.api.routing import Registry
from overcast.core.identity import IdentityCore


def bind(registry: Registry, core: IdentityCore, links: Links) -> None:
    """Bind this family's resources to their endpoint names."""
