"""The ``local`` driver: the embedded default cloud, a simulated hypervisor that persists."""

from overcast.drivers.local.driver import LocalComputeDriver, create_driver

__all__ = ["LocalComputeDriver", "create_driver"]
