"""The ``noop`` driver: accepts everything, instantly, and remembers ids in memory only."""

from overcast.drivers.noop.driver import NoopComputeDriver, create_driver

__all__ = ["NoopComputeDriver", "create_driver"]
