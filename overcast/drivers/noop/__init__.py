"""The ``noop`` driver: accepts everything, instantly, and remembers ids in memory only."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from overcast.drivers.noop.driver import NoopComputeDriver
from overcast.drivers.noop.driver import create_driver as _create_compute
from overcast.drivers.noop.network import NoopNetworkDriver
from overcast.drivers.noop.volume import NoopVolumeDriver
from overcast.drivers.registry import CloudDriver

__all__ = ["NoopComputeDriver", "NoopNetworkDriver", "NoopVolumeDriver", "create_driver"]


def create_driver(options: Mapping[str, Any], data_dir: Path) -> CloudDriver:
    """Entry point ``noop``: the compute driver, with the noop volume driver in the volume slot."""
    bundle = _create_compute(options, data_dir)
    bundle.volume = NoopVolumeDriver()
    bundle.network = NoopNetworkDriver(host=str(options.get("host", "noop-host")))
    return bundle
