"""The ``agent`` driver: a region of hypervisor hosts, each running ``overcast agent``, reached
over RabbitMQ (phase 1 of CloudStack's and Nova's way of adding hypervisors).

```toml
[clouds.lab]
driver = "agent"
bus = "env:OVERCAST_LAB_BUS"        # amqp://user:password@broker:5672/vhost, by reference
region = "lab"                      # the agents' --region (needed for the first region; others
                                    # default to their section's name)
# call_timeout = 60                 # seconds a command may take (a spawn: spawn_timeout)
# spawn_timeout = 300
# down_after = 15                   # a host without a heartbeat this long is down (default: 3 beats)
# volume_dir = "/srv/overcast/volumes"   # volumes as files; every host must see this directory
# clean_shutdown_timeout = 60       # a stop waits this long for the guest to power off, then pulls it
```
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from overcast.drivers.registry import CloudDriver, DriverConfigError, check_options

DEFAULTS: dict[str, Any] = {"bus": None, "region": None, "call_timeout": 60.0, "spawn_timeout": 300.0, "down_after": None,
                            "volume_dir": None, "clean_shutdown_timeout": 60.0}


def _seconds(name: str, value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise DriverConfigError(f"agent: {name} must be a number of seconds, not {value!r}") from None
    if number <= 0:
        raise DriverConfigError(f"agent: {name} must be positive")
    return number


def create_driver(options: Mapping[str, Any], data_dir: Path) -> CloudDriver:
    """Entry point ``agent``."""
    from overcast.drivers.agent.bus import redact
    from overcast.drivers.agent.transport import BusHosts
    from overcast.drivers.hosts.compute import HostsCompute
    from overcast.drivers.hosts.network import HostsNetwork
    from overcast.drivers.local.volume import LocalVolumeDriver

    opts = check_options("agent", options, DEFAULTS)
    if not opts["bus"]:
        raise DriverConfigError("agent: `bus` is required (the broker URL, e.g. \"env:OVERCAST_BUS_URL\")")
    down_after = _seconds("down_after", opts["down_after"]) if opts["down_after"] is not None else None
    hosts = BusHosts(str(opts["bus"]), region_of(data_dir, options), call_timeout=_seconds(
        "call_timeout", opts["call_timeout"]), down_after=down_after)
    volume_dir = Path(opts["volume_dir"]) if opts["volume_dir"] else Path(data_dir) / "volumes"
    volume_dir.mkdir(parents=True, exist_ok=True)
    volumes = LocalVolumeDriver(volume_dir / "volumes.db", zones=("nova",))
    compute = HostsCompute(hosts, volumes=volumes, spawn_timeout=_seconds("spawn_timeout", opts["spawn_timeout"]),
                           clean_shutdown_timeout=_seconds("clean_shutdown_timeout", opts["clean_shutdown_timeout"]))
    return CloudDriver(name="agent", compute=compute, volume=volumes, network=HostsNetwork(hosts),
                       info={"bus": redact(str(opts["bus"])), "volume_dir": str(volume_dir)})


def region_of(data_dir: Path, options: Mapping[str, Any]) -> str:
    """The region name the agents use on the bus (their ``--region``): the ``region`` option, else
    the name of the directory Overcast gives a region that is not the first
    (``<data_dir>/clouds/<region>``).

    :raises DriverConfigError: neither (the first region must name itself)."""
    explicit = options.get("region")
    if explicit:
        return str(explicit)
    path = Path(data_dir)
    if path.parent.name == "clouds":
        return path.name
    raise DriverConfigError("agent: set `region` to this cloud's section name (the agents' --region)")
