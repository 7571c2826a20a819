"""The ``libvirt`` driver: one hypervisor host driven directly through its libvirt (phase 2: no
agent, no bus). Overcast's workers run the same host code the agent runs
(:class:`~overcast.drivers.hosts.service.HostService`) over the connection.

```toml
[clouds.kvm]
driver = "libvirt"
uri = "qemu:///system"              # or qemu+ssh://root@host/system, qemu+tcp://host/system
# host = "kvm1"                     # the host's name in Overcast (default: the URI's host, else "localhost")
# state_dir = "/var/lib/overcast-libvirt/kvm1"   # on the host: images, disks, consoles, network state
# domain_type = "auto"              # kvm, qemu (TCG) or auto
# zone = "nova"
# tunnel_ip = ""                    # a VXLAN endpoint (only with several hosts sharing networks)
# clean_shutdown_timeout = 60       # a stop waits this long for the guest to power off, then pulls it
# spawn_timeout = 300
# reserved_memory_mb = 512          # kept back for the host (Nova's reserved_host_memory_mb)
```

With a remote URI, host networking (bridges, dnsmasq, nftables) runs over ``ssh`` as the URI's
user on the URI's host (key-based, non-interactive). Only ``qemu:///system`` is tested
(tests/hosts/test_libvirt_region.py). Decision: docs/decisions/0040-hypervisor-hosts.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit

from overcast.drivers.hosts.region import COMPUTE_DEFAULTS, hosts_driver, seconds
from overcast.drivers.registry import CloudDriver, DriverConfigError, check_options

DEFAULTS: dict[str, Any] = {"uri": None, "host": None, "state_dir": None, "domain_type": "auto", "zone": "nova",
                            "tunnel_ip": None, "tunnel_port": 4789, "reserved_memory_mb": 512, **COMPUTE_DEFAULTS}


def create_driver(options: Mapping[str, Any], data_dir: Path) -> CloudDriver:
    """Entry point ``libvirt``."""
    from overcast.drivers.hosts.hostnet import Endpoint, HostNetwork, LocalRunner, SshRunner
    from overcast.drivers.hosts.hypervisor import Hypervisor
    from overcast.drivers.hosts.service import HostService
    from overcast.drivers.hosts.transport import DirectHosts

    opts = check_options("libvirt", options, DEFAULTS)
    uri = opts["uri"]
    if not uri or "://" not in str(uri):
        raise DriverConfigError("libvirt: `uri` is required (qemu:///system, qemu+ssh://user@host/system, ...)")
    parts = urlsplit(str(uri))
    if opts["domain_type"] not in ("auto", "kvm", "qemu"):
        raise DriverConfigError("libvirt: domain_type must be auto, kvm or qemu")
    name = str(opts["host"] or parts.hostname or "localhost")
    runner = SshRunner(f"{parts.username}@{parts.hostname}" if parts.username else str(parts.hostname),
                       port=parts.port) if parts.hostname and "+ssh" in parts.scheme else LocalRunner()
    state_dir = str(opts["state_dir"] or f"/var/lib/overcast-libvirt/{name}")
    tunnel = Endpoint(name, str(opts["tunnel_ip"]), int(opts["tunnel_port"])) if opts["tunnel_ip"] else None
    clean_timeout = seconds("libvirt", "clean_shutdown_timeout", opts["clean_shutdown_timeout"])
    try:
        reserved = int(opts["reserved_memory_mb"])
    except (TypeError, ValueError):
        raise DriverConfigError("libvirt: reserved_memory_mb must be a whole number of MiB") from None
    hv = Hypervisor(str(uri), name, f"{state_dir}/pool", domain_type=str(opts["domain_type"]))
    net = HostNetwork(name, f"{state_dir}/net", runner=runner, tunnel=tunnel)
    service = HostService(hv, net, zone=str(opts["zone"]), reserved_memory_mb=reserved,
                          clean_shutdown_timeout=clean_timeout)
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    hosts = DirectHosts(service, lock_path=str(Path(data_dir) / f"libvirt-{name}.lock"))
    return hosts_driver("libvirt", hosts, opts, {"uri": str(uri), "host": name, "state_dir": state_dir})
