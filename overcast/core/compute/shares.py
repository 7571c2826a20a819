"""Shares attached to a server (Nova 2.97, ``/servers/{id}/shares``): a Manila share given to a
stopped server through virtiofs.

Overcast serves no shared file system service (no ``shared-file-system`` in its catalog), so no
share exists that a server could be given: a server's share list is empty, a share named to attach,
show or detach is not found. The server's state is checked first, as Nova checks it before it asks
Manila (docs/decisions/0066-cinder-3-71-and-nova-2-97-to-2-100.md).
"""

from __future__ import annotations

from overcast.core.compute import states
from overcast.core.errors import Conflict, NotFound
from overcast.store.compute import Server


def _check_state(server: Server, action: str, allowed: tuple[str, ...]) -> None:
    if server.vm_state not in allowed:
        raise Conflict(f"Cannot '{action}' instance {server.id} while it is in vm_state {server.vm_state}")


def attach(server: Server, share_id: str) -> None:
    """:raises Conflict: the server is not stopped. :raises NotFound: always after it: no share exists."""
    _check_state(server, "create share", (states.STOPPED,))
    raise NotFound(f"Share {share_id} could not be found.")


def detach(server: Server, share_id: str) -> None:
    """:raises Conflict: the server is neither stopped nor in error. :raises NotFound: the share is not attached."""
    _check_state(server, "delete share", (states.STOPPED, states.ERROR))
    raise NotFound(f"Share {share_id} could not be found.")


def show(server: Server, share_id: str) -> None:
    """:raises NotFound: the share is not attached to the server (none ever is)."""
    raise NotFound(f"Share {share_id} could not be found.")


def listed(server: Server) -> list[dict[str, str]]:
    """The server's share attachments: none."""
    return []
