"""Remote consoles: ``POST /servers/{id}/remote-consoles`` (2.6+) and the legacy actions before it
(``os-getVNCConsole``, ``os-getSPICEConsole``, ``os-getRDPConsole``, ``os-getSerialConsole``).

A console URL must lead to a console proxy that reaches the guest, so only a driver that has one
gives it: a driver declaring :attr:`~overcast.drivers.compute.Capability.REMOTE_CONSOLE` answers
:meth:`~overcast.drivers.compute.ComputeDriver.remote_console` with its proxy's URL (a hypervisor
host with a real guest offering noVNC, say). For every other driver Overcast is a Nova whose
``[vnc]``, ``[spice]``, ``[serial_console]`` and ``[mks]`` consoles are disabled: after Nova's own
checks the request gets Nova's answer for a console type that is not available, never a URL that
leads nowhere.
"""

from __future__ import annotations

from typing import Any

from overcast.core.errors import Conflict, Invalid, NotFound
from overcast.drivers import errors as driver_errors
from overcast.drivers.compute import Capability, ComputeDriver, RemoteConsole
from overcast.drivers.context import CallContext
from overcast.ops.calls import call_backend
from overcast.store.compute import Server


def create(server: Server, console_type: str, driver: ComputeDriver, *, backends: Any,
           call: CallContext) -> RemoteConsole:
    """A console of ``console_type`` on ``server``, asked of its region's ``driver`` while the
    request waits (as Nova's API asks its compute host over RPC), with the region's timeout and
    breaker (:func:`overcast.ops.calls.call_backend`); call it outside a store transaction.

    :raises Conflict: the server is not on a host yet, or not running (Nova's ``InstanceNotReady``).
    :raises Invalid: "Unavailable console type <type>." (Nova's ``ConsoleTypeUnavailable``): the
        driver has no console of that type.
    :raises NotFound: the backend no longer has the server.
    :raises BackendUnavailable: the backend did not answer, or its breaker is open (503).
    """
    # a backend that does not say which host runs the server (an upstream Nova hides it from a
    # non-admin service account) has it ready once it is active there
    if not server.backend_id or (not server.host and server.vm_state != "active"):
        raise Conflict(f"Instance {server.id} is not ready")
    unavailable = Invalid(f"Unavailable console type {console_type}.")
    if Capability.REMOTE_CONSOLE not in driver.capabilities:
        raise unavailable
    try:
        backend_id = server.backend_id
        return call_backend(backends, server.cloud, "compute",
                            lambda: driver.remote_console(call, backend_id, console_type))
    except driver_errors.NotSupported:
        raise unavailable from None
    except driver_errors.NotFound:
        raise NotFound(f"Instance {server.id} could not be found.") from None
    except driver_errors.DriverError:
        raise Conflict(f"Instance {server.id} is not ready") from None
