"""Cinder's rules, framework-free: volumes and their lifecycle, snapshots, backups, types, attachments, quotas,
transfers, groups, the scheduler, the volume services and user messages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from overcast.config import Settings
from overcast.core.errors import NotFound, NotImplementedYet, OvercastError
from overcast.core.identity import IdentityCore
from overcast.drivers.registry import CloudDriver
from overcast.drivers.volume import VolumeDriver
from overcast.store.db import Store


@dataclass
class VolumeCore:
    """What the volume modules need: settings, the store, identity, and each region's drivers."""

    settings: Settings
    store: Store
    identity: IdentityCore
    #: region name -> that cloud's drivers (shared with the compute core)
    clouds: Mapping[str, CloudDriver]
    #: the compute core, whose per-cloud limits and breakers (``backends``) volumes share
    compute: Any = None

    @property
    def backends(self) -> Any:
        """Each cloud's limits and breakers (the compute core's), None without an operations runtime."""
        return getattr(self.compute, "backends", None)

    @property
    def backend_quotas(self) -> Any:
        """Each region's backend quotas (the compute core's), None without a compute core."""
        return getattr(self.compute, "backend_quotas", None)

    @property
    def default_region(self) -> str:
        return self.settings.regions[0]

    def volume_driver(self, region: str) -> VolumeDriver:
        """:raises NotFound: no such region. :raises NotImplementedYet: the cloud has no block storage."""
        try:
            driver = self.clouds[region].volume
        except KeyError:
            raise NotFound(f"Region {region} is not configured.") from None
        if driver is None:
            raise NotImplementedYet(f"Cloud {region} does not offer block storage.")
        return driver


#: Cinder's answer to an action the backend's driver does not offer (501)
UNSUPPORTED = "The requested functionality is not supported."


class BackendError(OvercastError):
    """The backend failed a call made in the request (Cinder's VolumeBackendAPIException, 500)."""

    status = 500


def build_volume(compute: "object") -> VolumeCore:
    """The volume core over a compute core's settings, store, identity and drivers."""
    return VolumeCore(settings=compute.settings, store=compute.store,  # type: ignore[attr-defined]
                      identity=compute.identity, clouds=compute.clouds,  # type: ignore[attr-defined]
                      compute=compute)
