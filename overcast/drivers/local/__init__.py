"""The ``local`` driver: the embedded default cloud, a simulated hypervisor that persists."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from overcast.drivers.local.backups import backup_store
from overcast.drivers.local.driver import LocalComputeDriver
from overcast.drivers.local.driver import create_driver as _create_compute
from overcast.drivers.local.network import LocalNetworkDriver
from overcast.drivers.local.volume import LocalVolumeDriver
from overcast.drivers.registry import CloudDriver

__all__ = ["LocalComputeDriver", "LocalNetworkDriver", "LocalVolumeDriver", "create_driver"]


def create_driver(options: Mapping[str, Any], data_dir: Path) -> CloudDriver:
    """Entry point ``local``: the compute driver, with volumes kept in the same local cloud file (and
    backups beside it, or in the S3 bucket the ``backup_*`` options name).

    :raises DriverConfigError: a wrong option, named."""
    bundle = _create_compute(options, data_dir)
    assert isinstance(bundle.compute, LocalComputeDriver)
    database = Path(bundle.info["database"])
    try:
        backups = backup_store(options, database.parent / "local-backups")
    except Exception:
        bundle.compute.close()
        raise
    bundle.volume = LocalVolumeDriver(database, zones=("nova",), backups=backups)
    bundle.network = LocalNetworkDriver(Path(data_dir) / "local-network.db", host=bundle.compute.hosts[0])
    return bundle
