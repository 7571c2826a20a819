"""The ``noop`` driver: accepts everything, instantly, and remembers ids in the data directory
(``noop-cloud.db``, shared by its processes), or in memory when made directly."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from overcast.drivers.noop import shared
from overcast.drivers.noop.driver import NoopComputeDriver
from overcast.drivers.noop.driver import create_driver as _create_compute
from overcast.drivers.noop.network import NoopNetworkDriver
from overcast.drivers.noop.volume import NoopVolumeDriver
from overcast.drivers.registry import CloudDriver

__all__ = ["NoopComputeDriver", "NoopNetworkDriver", "NoopVolumeDriver", "create_driver"]


def create_driver(options: Mapping[str, Any], data_dir: Path) -> CloudDriver:
    """Entry point ``noop``: the compute driver, with the noop volume driver in the volume slot."""
    state = shared.for_data_dir(data_dir)  # one file for the three
    bundle = _create_compute(options, data_dir, state)
    bundle.volume = NoopVolumeDriver(state=state)
    bundle.network = NoopNetworkDriver(host=str(options.get("host", "noop-host")), state=state)
    return bundle
