"""The ``agent`` driver: a region of hypervisor hosts, each running ``overcast agent``, reached
over RabbitMQ (phase 1 of hypervisor hosts; decisions 0039 and 0040).

- :mod:`~overcast.drivers.agent.bus`: the RPC over RabbitMQ (kombu; decision 0039);
- :mod:`~overcast.drivers.agent.process`: the agent process (``overcast agent``);
- :mod:`~overcast.drivers.agent.transport`: the Overcast side, hosts known from their heartbeats.

```toml
[clouds.lab]
driver = "agent"
region = "lab"                      # the agents' --region (their exchanges on the broker); use the
                                    # section's name, so `overcast agent --config` finds `bus` here
bus = "env:OVERCAST_LAB_BUS"        # or file:/etc/overcast/lab-bus; the broker URL, by reference
# call_timeout = 60                 # seconds a command waits for its host's answer
# down_after = 15                   # seconds without a heartbeat before a host is down
#                                   # (default: three of the host's heartbeat intervals)
# clean_shutdown_timeout = 60       # a stop waits this long for the guest to power off, then pulls it
# spawn_timeout = 300
```

Each host runs ``overcast agent --region lab --host NAME --bus env:...``; the hosts are whatever
agents heartbeat on the region's exchanges. The broker URL is resolved at load and never logged
or shown (:func:`~overcast.drivers.agent.bus.redact` in ``info``); a URL with a password
belongs in the environment or a file (``env:``/``file:``, resolved with the config). Loading the
driver checks its options and starts listening for the hosts' reports in the background; it does
not wait for the broker (a broker that cannot be reached makes calls fail as ``Unavailable``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Mapping

from overcast.drivers.hosts.region import COMPUTE_DEFAULTS, hosts_driver, seconds
from overcast.drivers.registry import CloudDriver, DriverConfigError, check_options

DEFAULTS: dict[str, Any] = {"region": None, "bus": None, "call_timeout": 60.0, "down_after": None, **COMPUTE_DEFAULTS}
SCHEMES = ("amqp", "amqps", "pyamqp")


def bus_url(value: Any) -> str:
    """The broker URL from the ``bus`` option (``env:NAME`` or ``file:PATH``, as the config file
    resolves every region option, or the URL). :raises DriverConfigError: never quoting a password."""
    from overcast.config import ConfigError, resolve_reference
    from overcast.drivers.agent.bus import redact

    if not value or not isinstance(value, str):
        raise DriverConfigError("agent: `bus` is required: the broker URL by reference (env:NAME or file:PATH)")
    try:
        url = resolve_reference(value)
    except ConfigError as exc:
        raise DriverConfigError(f"agent: bus: {exc}") from None
    scheme, sep, _ = url.partition("://")
    if not sep or scheme not in SCHEMES:
        shown = redact(url) if sep else "not a URL"
        raise DriverConfigError(f"agent: bus must be an AMQP URL ({', '.join(s + '://' for s in SCHEMES)}), "
                                f"not {shown}")
    return url


def region_bus(clouds: Iterable[Any], region: str) -> str | None:
    """The ``bus`` option of the ``agent`` region whose agents run with ``--region region`` (its
    ``region`` option, or failing that its section's name), from the configured clouds
    (:class:`~overcast.config.CloudSettings`); None: no such region."""
    for cloud in clouds:
        if cloud.driver == "agent" and (cloud.options.get("region") or cloud.name) == region:
            bus = cloud.options.get("bus")
            return str(bus) if bus else None
    return None


def create_driver(options: Mapping[str, Any], data_dir: Path) -> CloudDriver:
    """Entry point ``agent``."""
    from overcast.drivers.agent.bus import redact
    from overcast.drivers.agent.transport import BusHosts

    opts = check_options("agent", options, DEFAULTS)
    url = bus_url(opts["bus"])
    region = opts["region"]
    if not region or not isinstance(region, str):
        raise DriverConfigError("agent: `region` is required: the name the hosts' agents run with (--region)")
    call_timeout = seconds("agent", "call_timeout", opts["call_timeout"])
    down_after = None if opts["down_after"] is None else seconds("agent", "down_after", opts["down_after"])
    for name in COMPUTE_DEFAULTS:
        seconds("agent", name, opts[name])         # all options checked before anything is started
    hosts = BusHosts(url, region, call_timeout=call_timeout, down_after=down_after)
    return hosts_driver("agent", hosts, opts, {"bus": redact(url), "region": region})
