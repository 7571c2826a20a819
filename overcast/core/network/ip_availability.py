"""Network IP availability (Neutron's ``network-ip-availability`` extension): per network and per
subnet, how many addresses its allocation pools hold (``total_ips``) and how many are allocated
(``used_ips``), for the admin.

One query reads every network of the region with its subnets (an outer join: a network without
subnets is listed with none) and, per subnet, the count of its allocation rows (a correlated
subquery), so the answer costs what the number of subnets costs, never the number of ports.
``total_ips`` is the sum of the sizes of the subnet's allocation pools, as Neutron sums them (the
whole CIDR when it has none): an IPv6 /64 with its default pools holds 2**64 - 2 addresses, a
number Python and JSON carry whole. ``used_ips`` counts every allocation on the subnet, the
gateway's router port and DHCP ports included, as Neutron counts them.

Filters are Neutron's: ``network_id``, ``network_name``, ``tenant_id``/``project_id`` and
``ip_version`` (each any of its values; others are ignored, as Neutron ignores them). With an
``ip_version`` filter only the subnets of that version count, and a network without one is not
listed.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from overcast.core.context import AuthContext
from overcast.core.errors import NotFound
from overcast.core.network import NetworkCore
from overcast.core.network.errors import not_found
from overcast.core.policy import allowed
from overcast.store.network import IpAllocation, Network, Subnet

#: the policy rule (admin only, as Neutron's default)
RULE = "get_network_ip_availability"
#: filter name -> the column it matches
FILTERS = {"network_id": Network.id, "network_name": Network.name, "tenant_id": Network.project_id,
           "project_id": Network.project_id, "ip_version": Subnet.ip_version}


@dataclass(frozen=True)
class SubnetAvailability:
    subnet_id: str
    subnet_name: str
    cidr: str
    ip_version: int
    total_ips: int
    used_ips: int


@dataclass
class NetworkAvailability:
    network_id: str
    network_name: str
    project_id: str
    subnets: list[SubnetAvailability] = field(default_factory=list)

    @property
    def total_ips(self) -> int:
        return sum(s.total_ips for s in self.subnets)

    @property
    def used_ips(self) -> int:
        return sum(s.used_ips for s in self.subnets)


def pool_size(cidr: str, pools: Sequence[Mapping[str, str]]) -> int:
    """How many addresses ``pools`` hold (the whole CIDR without pools, as Neutron counts)."""
    if not pools:
        return ipaddress.ip_network(cidr).num_addresses
    return sum(int(ipaddress.ip_address(p["end"])) - int(ipaddress.ip_address(p["start"])) + 1 for p in pools)


def _matching(name: str, values: Sequence[str]) -> Any:
    """The condition of one filter; an ``ip_version`` that is not a number matches nothing."""
    if name == "ip_version":
        numbers = [int(v) for v in values if v.strip().isdigit()]
        return FILTERS[name].in_(numbers)
    return FILTERS[name].in_(list(values))


def availabilities(core: NetworkCore, session: Session, ctx: AuthContext,
                   filters: Mapping[str, Sequence[str]]) -> list[NetworkAvailability]:
    """The availability of every network of the region matching ``filters``, oldest network
    first; none for a caller the policy refuses (Neutron leaves out what the caller may not see)."""
    if not allowed(RULE, ctx, {}):
        return []
    used = (select(func.count()).select_from(IpAllocation).where(IpAllocation.subnet_id == Subnet.id)
            .correlate(Subnet).scalar_subquery())
    query = (select(Network.id, Network.name, Network.project_id, Subnet.id, Subnet.name, Subnet.cidr,
                    Subnet.ip_version, Subnet.allocation_pools, used)
             .select_from(Network)
             .outerjoin(Subnet, and_(Subnet.network_id == Network.id, Subnet.cloud == Network.cloud))
             .where(Network.cloud == core.region,
                    *(_matching(name, values) for name, values in filters.items() if name in FILTERS and values))
             .order_by(Network.created_at, Network.id, Subnet.created_at, Subnet.id))
    found: dict[str, NetworkAvailability] = {}
    for net_id, net_name, project_id, subnet_id, subnet_name, cidr, version, pools, count in session.execute(query):
        network = found.setdefault(net_id, NetworkAvailability(net_id, net_name, project_id))
        if subnet_id is not None:
            network.subnets.append(SubnetAvailability(subnet_id, subnet_name, cidr, version,
                                                      pool_size(cidr, pools or []), count or 0))
    return list(found.values())


def availability(core: NetworkCore, session: Session, ctx: AuthContext, network_id: str) -> NetworkAvailability:
    """One network's availability.

    :raises NotFound: NetworkNotFound (no such network in the region); for a caller the policy
        refuses, Neutron's "The resource could not be found." (it does not tell them it exists).
    """
    if not allowed(RULE, ctx, {}):
        raise NotFound("The resource could not be found.", kind="HTTPNotFound")
    found = availabilities(core, session, ctx, {"network_id": [network_id]})
    if not found:
        raise not_found("network", network_id)
    return found[0]
