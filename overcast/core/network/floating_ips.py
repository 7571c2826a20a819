"""Floating IPs: an address allocated on an external network (held by a port there), mapped to a
port's fixed IP through a router that connects that port's subnet to the external network."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from overcast.core.context import AuthContext
from overcast.core.errors import Invalid, NotFound
from overcast.core.network import NetworkCore, quotas
from overcast.core.network import ports as port_rules
from overcast.core.network.common import authorize, fetch, owned, owner, touch, update_fields
from overcast.core.network.errors import bad_request, conflict, error
from overcast.core.network.routers import router_for
from overcast.store.network import FloatingIp, Network, Port, Subnet


def query(core: NetworkCore, session: Session, ctx: AuthContext) -> Select[tuple[FloatingIp]]:
    """The floating IPs of the region ``ctx`` may list, in no order."""
    return owned(ctx, FloatingIp, core.region)


def get(core: NetworkCore, session: Session, ctx: AuthContext, fip_id: str) -> FloatingIp:
    """:raises NotFound: FloatingIPNotFound."""
    return fetch(session, ctx, FloatingIp, "floatingip", fip_id, core.region)


def _associate(core: NetworkCore, session: Session, ctx: AuthContext, fip: FloatingIp, port_id: str | None,
               fixed_ip: str | None) -> None:
    """Map ``fip`` to the port's fixed IP (or unmap it for ``None``).

    :raises NotFound: the port; ExternalGatewayForFloatingIPNotFound (no router connects them).
    :raises Invalid: the port lacks that fixed IP or has none.
    :raises Conflict: FloatingIPPortAlreadyAssociated.
    """
    if port_id is None:
        fip.port_id = fip.fixed_ip_address = fip.router_id = None
        fip.status = "DOWN"
        return
    port = port_rules.get(core, session, ctx, port_id)
    if port.project_id != fip.project_id and not ctx.is_admin:
        raise error(NotFound, "PortNotFound", f"Port {port_id} could not be found.")
    v4 = [a for a in port.fixed_ips if ":" not in a.ip_address]
    if fixed_ip is not None:
        allocation = next((a for a in port.fixed_ips if a.ip_address == fixed_ip), None)
        if allocation is None:
            raise bad_request("floatingip", f"Port {port.id} does not have fixed ip {fixed_ip}")
    elif not v4:
        raise bad_request("floatingip", f"Port {port.id} does not have any IPv4 address")
    else:
        allocation = v4[0]
    router = router_for(session, fip.floating_network_id, allocation.subnet_id)
    if router is None:
        raise error(NotFound, "ExternalGatewayForFloatingIPNotFound",
                    f"External network {fip.floating_network_id} is not reachable from subnet "
                    f"{allocation.subnet_id}.  Therefore, cannot associate Port {port.id} with a Floating IP.")
    other = session.scalar(select(FloatingIp).where(FloatingIp.port_id == port.id,
                                                    FloatingIp.fixed_ip_address == allocation.ip_address,
                                                    FloatingIp.floating_network_id == fip.floating_network_id,
                                                    FloatingIp.id != fip.id))
    if other is not None:
        raise conflict("FloatingIPPortAlreadyAssociated",
                       f"Cannot associate floating IP {fip.floating_ip_address} ({fip.id}) with port {port.id} "
                       f"using fixed IP {allocation.ip_address}, as that fixed IP already has a floating IP on "
                       f"external network {fip.floating_network_id}.")
    if (fip.port_id, fip.fixed_ip_address) != (port.id, allocation.ip_address):
        fip.status = "DOWN" if core.driver is not None else "ACTIVE"  # ACTIVE once the backend maps it
    fip.port_id, fip.fixed_ip_address, fip.router_id = port.id, allocation.ip_address, router.id


def create(core: NetworkCore, session: Session, ctx: AuthContext, body: dict[str, Any]) -> FloatingIp:
    """:raises NotFound: the network or port. :raises Invalid: not an external network, a bad
    address. :raises Forbidden: :raises Conflict: OverQuota, address taken or pool exhausted."""
    network = fetch(session, ctx, Network, "network", body["floating_network_id"], core.region)
    if not network.external:
        raise bad_request("floatingip", f"Network {network.id} is not a valid external network")
    project_id = owner(ctx, body, "create_floatingip")
    quotas.check(core, session, project_id, "floatingip")
    fip = FloatingIp(cloud=core.region, project_id=project_id, floating_network_id=network.id,
                     description=body.get("description", ""), tags=[], status="DOWN", floating_ip_address="",
                     floating_port_id="", extra={})
    session.add(fip)
    request: dict[str, Any] = {}
    if body.get("subnet_id") or body.get("floating_ip_address"):
        request = {k: body[k] for k in ("subnet_id",) if body.get(k)}
        if body.get("floating_ip_address"):
            request["ip_address"] = body["floating_ip_address"]
    session.flush()
    port = port_rules.make(core, session, ctx, network, "", {
        "device_id": fip.id, "device_owner": port_rules.FLOATING_IP, "fixed_ips": [request] if request else None})
    v4 = [a.ip_address for a in port.fixed_ips if ":" not in a.ip_address]
    if core.provider_addresses:  # the provider picks it; recorded once the backend has made it
        v4 = [""] if session.scalar(select(Subnet.id).where(Subnet.network_id == network.id,
                                                            Subnet.ip_version == 4).limit(1)) else []
    if not v4:
        raise bad_request("floatingip", f"Network {network.id} has no IPv4 subnet for floating IPs")
    fip.floating_ip_address, fip.floating_port_id = v4[0], port.id
    if body.get("port_id"):
        _associate(core, session, ctx, fip, body["port_id"], body.get("fixed_ip_address"))
    session.flush()
    core.realise(session, fip, action="create")
    _devices_changed(core, session, fip.port_id)
    return fip


#: how long a floating IP create waits for a provider that picks addresses to make it
ADDRESS_WAIT_SECONDS = 10.0


def settle(core: NetworkCore, session: Session, created: list[FloatingIp],
           timeout: float = ADDRESS_WAIT_SECONDS) -> None:
    """Where the provider picks the addresses (an upstream OpenStack), commit the floating IPs
    just created and wait, at most ``timeout`` seconds, for the backend to make them, so that the
    create answers with the address as Neutron's does (a client passes it on: ``openstack server
    add floating ip SERVER ADDRESS`` finds the floating IP by it). One that is not made in time is
    answered with the address still empty, shown once the backend has made it."""
    if not core.provider_addresses:
        return
    from overcast.ops.engine import wait_for

    queued = session.info.get("network_sync", {})
    operations = [queued.pop(key).id for key in [("floating_ip", fip.id) for fip in created] if key in queued]
    if not operations:
        return
    core.store.commit_now()  # the worker must see the records and operations before we wait
    deadline = time.monotonic() + timeout
    for operation_id in operations:
        try:
            wait_for(core.store, operation_id, max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            return


def update(core: NetworkCore, session: Session, ctx: AuthContext, fip_id: str, changes: dict[str, Any]) -> FloatingIp:
    """Associate, reassociate or disassociate; change the description.

    :raises NotFound: :raises Forbidden: :raises Invalid: :raises Conflict: see :func:`_associate`.
    """
    fip = get(core, session, ctx, fip_id)
    authorize(ctx, "update_floatingip", fip.project_id)
    before = fip.port_id
    update_fields(fip, changes, ("description",))
    if "port_id" in changes:
        _associate(core, session, ctx, fip, changes["port_id"], changes.get("fixed_ip_address"))
    elif changes.get("fixed_ip_address") is not None:
        raise Invalid("Bad floatingip request: fixed_ip_address cannot be given without port_id.",
                      kind="BadRequest")
    touch(fip)
    session.flush()
    core.realise(session, fip)
    if fip.port_id != before:
        _devices_changed(core, session, before, fip.port_id)
    return fip


def delete(core: NetworkCore, session: Session, ctx: AuthContext, fip_id: str) -> None:
    """:raises NotFound: :raises Forbidden:"""
    fip = get(core, session, ctx, fip_id)
    authorize(ctx, "delete_floatingip", fip.project_id)
    remove(core, session, fip)


def remove(core: NetworkCore, session: Session, fip: FloatingIp) -> None:
    """Delete the floating IP, its address on the external network, and tell its port's device."""
    port = session.get(Port, fip.floating_port_id)
    associated = fip.port_id
    core.unrealise(session, fip)
    session.delete(fip)
    if port is not None:
        port_rules.release(core, session, port)
    session.flush()
    _devices_changed(core, session, associated)


def _devices_changed(core: NetworkCore, session: Session, *port_ids: str | None) -> None:
    """A floating IP moved on or off these ports: tell their devices' owners."""
    ids = [p for p in port_ids if p]
    if ids:
        core.devices_changed(session, session.scalars(select(Port.device_id).where(Port.id.in_(ids))))
