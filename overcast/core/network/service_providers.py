"""Service providers (Neutron's ``service-type`` extension, ``/v2.0/service-providers``): which
backend serves each advanced service type of a region, read from the region's configured network
driver, never a fixed list.

Neutron lists the ``service_provider`` entries of its configuration (DevStack's OVN:
``L3_ROUTER_NAT:ovn``). Overcast's backend of a region is its cloud's driver: a driver that makes
routers (:attr:`~overcast.drivers.network.Capability.ROUTERS`) is the default ``L3_ROUTER_NAT``
provider, named as the driver is configured (``local``, ``noop``, ``openstack`` ...); a region
without a network driver, or one without routers, lists none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from overcast.core import policy as rules
from overcast.core.context import AuthContext
from overcast.drivers.network import Capability

if TYPE_CHECKING:
    from overcast.core.network import NetworkCore

#: Neutron's service type of routers (neutron_lib.plugins.constants.L3 is "L3_ROUTER_NAT")
L3_ROUTER_NAT = "L3_ROUTER_NAT"
#: the driver capability each service type needs
SERVICE_TYPES = {L3_ROUTER_NAT: Capability.ROUTERS}


@dataclass(frozen=True)
class ServiceProvider:
    service_type: str
    name: str
    default: bool


def providers(core: NetworkCore, ctx: AuthContext) -> list[ServiceProvider]:
    """The providers of the region ``core`` acts in, as ``ctx`` may read them
    (``get_service_provider``; none for a caller without a role)."""
    cloud = core.clouds.get(core.region)
    if cloud is None or cloud.network is None or not rules.allowed("get_service_provider", ctx,
                                                                     {"project_id": ctx.project_id}):
        return []
    stated = frozenset(getattr(cloud.network, "capabilities", ()))
    return [ServiceProvider(service_type, cloud.name, True) for service_type, needed in SERVICE_TYPES.items()
            if needed in stated]
