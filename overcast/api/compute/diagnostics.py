"""``GET /servers/{id}/diagnostics`` (admin): the driver's typed measurements, rendered as Nova
renders them.

Before 2.48 Nova answers whatever its virt driver's ``get_diagnostics`` returns; Overcast's hosts
are QEMU hypervisors (``os-hypervisors``), which Nova runs with its libvirt driver, so that is
libvirt's flat form (``cpu0_time``, ``vda_read``, ``tap<port>_rx``, ``memory`` in KiB...). From
2.48 it is Nova's standard form, with ``libvirt`` as the driver.
"""

from __future__ import annotations

from typing import Any

import falcon

from overcast.api import faults
from overcast.api.compute.common import at_least, caller, enforce
from overcast.api.compute.server_views import ServerViews
from overcast.api.compute.servers import ServerResource, target
from overcast.api.routing import Registry
from overcast.core.compute import ComputeCore
from overcast.core.compute import servers as core_servers
from overcast.core.compute.actions import FeatureNotSupported
from overcast.core.errors import Conflict
from overcast.drivers.compute import Capability, Diagnostics, PowerState
from overcast.ops.calls import call_backend
from overcast.drivers.context import CallContext
from overcast.drivers.errors import DriverError

#: Nova's diagnostics ``state`` for each power state (nova.compute.power_state.STATE_MAP)
STATES = {PowerState.NOSTATE: "pending", PowerState.RUNNING: "running", PowerState.PAUSED: "paused",
          PowerState.SHUTDOWN: "shutdown", PowerState.CRASHED: "crashed", PowerState.SUSPENDED: "suspended"}

#: the Nova virt driver of a QEMU hypervisor
DRIVER = "libvirt"

_NIC_FIELDS = ("rx_octets", "rx_errors", "rx_drop", "rx_packets", "rx_rate", "tx_octets", "tx_errors", "tx_drop",
               "tx_packets", "tx_rate")
#: libvirt's interfaceStats names -> NicStats fields
_LIBVIRT_NIC = {"rx": "rx_octets", "rx_packets": "rx_packets", "rx_errors": "rx_errors", "rx_drop": "rx_drop",
                "tx": "tx_octets", "tx_packets": "tx_packets", "tx_errors": "tx_errors", "tx_drop": "tx_drop"}
#: libvirt's blockStats names -> DiskStats fields
_LIBVIRT_DISK = {"read_req": "read_requests", "read": "read_bytes", "write_req": "write_requests",
                 "write": "write_bytes", "errors": "errors"}


def standard(diag: Diagnostics, config_drive: bool) -> dict[str, Any]:
    """Nova's 2.48 form."""
    return {
        "state": STATES[diag.power_state], "driver": DRIVER, "hypervisor": diag.hypervisor,
        "hypervisor_os": diag.hypervisor_os, "uptime": diag.uptime_s, "config_drive": config_drive,
        "num_cpus": len(diag.cpus), "num_nics": len(diag.nics), "num_disks": len(diag.disks),
        "memory_details": {"maximum": diag.memory_max_mb, "used": diag.memory_used_mb},
        "cpu_details": [{"id": i, "time": c.time_ns, "utilisation": c.utilisation} for i, c in enumerate(diag.cpus)],
        "nic_details": [{"mac_address": n.mac_address, **{f: getattr(n, f) for f in _NIC_FIELDS}} for n in diag.nics],
        "disk_details": [{"read_bytes": d.read_bytes, "read_requests": d.read_requests, "write_bytes": d.write_bytes,
                          "write_requests": d.write_requests, "errors_count": d.errors} for d in diag.disks],
    }


def libvirt(diag: Diagnostics) -> dict[str, Any]:
    """libvirt's flat form (before 2.48): what libvirt does not know is left out, not null."""
    out: dict[str, Any] = {f"cpu{i}_time": c.time_ns for i, c in enumerate(diag.cpus)}
    for disk in diag.disks:
        out.update({f"{disk.device}_{name}": getattr(disk, field) for name, field in _LIBVIRT_DISK.items()})
    for nic in diag.nics:
        out.update({f"tap{nic.port_id[:11]}_{name}": getattr(nic, field) for name, field in _LIBVIRT_NIC.items()})
    if diag.memory_max_mb is not None:
        out["memory"] = diag.memory_max_mb * 1024
    if diag.memory_used_mb is not None:
        out["memory-actual"] = diag.memory_used_mb * 1024
    return {key: value for key, value in out.items() if value is not None}


class ServerDiagnostics(ServerResource):
    def on_get(self, req: falcon.Request, resp: falcon.Response, server_id: str, **_: str) -> None:
        with self.core.store.session() as session:
            server = core_servers.get_server(session, caller(req), server_id, region=req.context.region)
            enforce(req, "os_compute_api:os-server-diagnostics", target(server))
            driver = self.core.compute_driver(server.cloud)
            if Capability.DIAGNOSTICS not in driver.capabilities:
                raise FeatureNotSupported()
            if not server.backend_id:
                raise Conflict(f"Cannot 'get_diagnostics' instance {server.id} while it is in vm_state "
                               f"{server.vm_state}")
            backend_id, config_drive, cloud = server.backend_id, server.config_drive, server.cloud
            call = CallContext(project_id=server.project_id, user_id=caller(req).user_id,
                               request_id=req.context.request_id)
        try:
            diag = call_backend(self.core.backends, cloud, "compute", lambda: driver.diagnostics(call, backend_id))
        except DriverError as exc:
            raise faults.Conflict(f"Unable to get diagnostics for instance {server_id}: {exc}") from None
        resp.media = standard(diag, config_drive) if at_least(req, "2.48") else libvirt(diag)

    on_head = on_get


def bind(registry: Registry, core: ComputeCore, views: ServerViews) -> None:
    registry.bind("compute", "v2_server_diagnostics", ServerDiagnostics(core, views))
