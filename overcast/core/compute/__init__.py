"""Nova's rules, framework-free: servers and their lifecycle, flavors, key pairs, quotas, groups."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from overcast.config import Settings
from overcast.core.errors import NotFound
from overcast.core.headroom import BackendQuotas
from overcast.core.identity import IdentityCore
from overcast.core.network import NetworkCore, build_network
from overcast.drivers.compute import ComputeDriver
from overcast.drivers.registry import CloudDriver
from overcast.ops.calls import Backends, guard_cloud
from overcast.store.db import Store


@dataclass
class ComputeCore:
    """What the compute modules need: settings, the store, identity, and each region's drivers."""

    settings: Settings
    store: Store
    identity: IdentityCore
    #: region name -> that cloud's drivers
    clouds: Mapping[str, CloudDriver]
    #: Neutron's core: servers' ports live there
    network: NetworkCore
    #: each cloud's limits and breakers, shared with this process's workers (overcast.ops.calls)
    backends: Backends | None = None
    #: each region's backend quotas, read when a create is accepted (decision 0046)
    backend_quotas: BackendQuotas = field(default_factory=BackendQuotas)

    @property
    def default_region(self) -> str:
        return self.settings.regions[0]

    def close(self) -> None:
        """Release every driver's resources (connections, files)."""
        for cloud in self.clouds.values():
            cloud.close()

    def compute_driver(self, region: str) -> ComputeDriver:
        """:raises NotFound: no such region."""
        try:
            return self.clouds[region].compute
        except KeyError:
            raise NotFound(f"Region {region} is not configured.") from None


def driver_data_dir(settings: Settings, region: str) -> Path:
    """Where a region's driver keeps its own files: the data directory for the first region (where
    a single-region Overcast always kept them), ``<data_dir>/clouds/<region>`` for the others, so
    two regions of one driver (two local clouds) never share a backend."""
    if region == settings.regions[0]:
        return settings.data_dir
    return settings.data_dir / "clouds" / region


def build_compute(settings: Settings, identity: IdentityCore) -> ComputeCore:
    """The compute core: every configured cloud's drivers, loaded by name.

    :raises overcast.drivers.registry.DriverLoadError: an unknown driver or bad options.
    """
    from overcast.drivers.registry import load_driver

    from overcast.core.compute import networking

    backends = Backends.from_settings(settings)
    clouds = {cloud.name: guard_cloud(load_driver(cloud.driver, cloud.options, driver_data_dir(settings, cloud.name)),
                                      backends, cloud.name)
              for cloud in settings.clouds}
    from overcast.core import faults

    if faults.enabled(settings):  # faults on demand: every driver call goes through the fault rules first
        clouds = faults.wrap(clouds, faults.FaultBook(settings, identity.store))
    network = build_network(settings, identity.store, clouds)
    network.device_listeners.append(networking.refresh_network_info)
    return ComputeCore(settings=settings, store=identity.store, identity=identity, clouds=clouds, network=network,
                       backends=backends, backend_quotas=BackendQuotas(settings.ops.headroom_seconds))
