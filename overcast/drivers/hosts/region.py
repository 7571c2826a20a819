"""What the ``agent`` and ``libvirt`` region drivers share at load: their option checks and the
compute and network drivers built over a :class:`~overcast.drivers.hosts.transport.Hosts`.

Nothing here connects: the factories check their options first, then build the transport.
"""

from __future__ import annotations

from typing import Any, Mapping

from overcast.drivers.registry import CloudDriver, DriverConfigError

#: options both region drivers take, with their defaults
COMPUTE_DEFAULTS: dict[str, Any] = {"clean_shutdown_timeout": 60.0, "spawn_timeout": 300.0}


def seconds(driver: str, name: str, value: Any) -> float:
    """A positive number of seconds. :raises DriverConfigError: naming the option."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise DriverConfigError(f"{driver}: {name} must be a number of seconds, not {value!r}") from None
    if number <= 0:
        raise DriverConfigError(f"{driver}: {name} must be positive")
    return number


def hosts_driver(name: str, hosts: Any, opts: Mapping[str, Any], info: Mapping[str, Any]) -> CloudDriver:
    """The region's compute and network drivers over ``hosts`` (options already checked)."""
    from overcast.drivers.hosts.compute import HostsCompute
    from overcast.drivers.hosts.network import HostsNetwork

    compute = HostsCompute(hosts, spawn_timeout=seconds(name, "spawn_timeout", opts["spawn_timeout"]),
                           clean_shutdown_timeout=seconds(name, "clean_shutdown_timeout",
                                                          opts["clean_shutdown_timeout"]))
    from overcast.drivers.hosts.volume import HostsVolume

    return CloudDriver(name=name, compute=compute, network=HostsNetwork(hosts), volume=HostsVolume(hosts, name),
                       info=dict(info))
