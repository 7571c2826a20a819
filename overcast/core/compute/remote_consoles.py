"""Remote consoles (``POST /servers/{id}/remote-consoles``, 2.6+).

A console URL must lead to a console proxy that reaches the guest. No compute driver offers one
(:class:`~overcast.drivers.compute.Capability` has no graphical, serial or MKS console, only the
console log), so Overcast is a Nova whose ``[vnc]``, ``[spice]``, ``[serial_console]`` and
``[mks]`` consoles are all disabled: after Nova's own checks every request gets its answer for a
console type that is not available, never a URL that leads nowhere.
"""

from __future__ import annotations

from typing import NoReturn

from overcast.core.errors import Conflict, Invalid
from overcast.store.compute import Server


def create(server: Server, console_type: str) -> NoReturn:
    """Ask for a console of ``console_type`` on ``server``.

    :raises Conflict: the server is not on a host yet (Nova's ``InstanceNotReady``).
    :raises Invalid: "Unavailable console type <type>." (Nova's ``ConsoleTypeUnavailable``),
        which every server on a host gets.
    """
    if not server.host:
        raise Conflict(f"Instance {server.id} is not ready")
    raise Invalid(f"Unavailable console type {console_type}.")
