"""Nova's rules, framework-free: servers and their lifecycle, flavors, key pairs, quotas, groups."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from overcast.config import Settings
from overcast.core.errors import NotFound
from overcast.core.identity import IdentityCore
from overcast.drivers.compute import ComputeDriver
from overcast.drivers.registry import CloudDriver
from overcast.store.db import Store


@dataclass
class ComputeCore:
    """What the compute modules need: settings, the store, identity, and each region's drivers."""

    settings: Settings
    store: Store
    identity: IdentityCore
    #: region name -> that cloud's drivers
    clouds: Mapping[str, CloudDriver]

    @property
    def default_region(self) -> str:
        return self.settings.regions[0]

    def compute_driver(self, region: str) -> ComputeDriver:
        """:raises NotFound: no such region."""
        try:
            return self.clouds[region].compute
        except KeyError:
            raise NotFound(f"Region {region} is not configured.") from None
