"""Provider drivers: one small typed interface per resource family, found by entry points.

- :mod:`overcast.drivers.compute`: the compute interface, its records and capabilities
- :mod:`overcast.drivers.errors`: the exception model every driver raises
- :mod:`overcast.drivers.registry`: ``load_driver(name, options, data_dir) -> CloudDriver``
- built in: ``noop`` (accepts everything) and ``local`` (the embedded cloud)
"""

from overcast.drivers.registry import (CloudDriver, DriverConfigError, DriverLoadError, UnknownDriver,
                                       known_drivers, load_driver, register_driver)

__all__ = ["CloudDriver", "DriverConfigError", "DriverLoadError", "UnknownDriver", "known_drivers",
           "load_driver", "register_driver"]
