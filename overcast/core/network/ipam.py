"""IP address management with the stdlib ``ipaddress`` module: CIDRs, gateways, allocation pools,
and picking free addresses from them (IPv4 and IPv6).

Allocations are rows keyed by (subnet, address), so the database refuses a double allocation
even between two processes. An address is picked at random among the :data:`WINDOW` lowest free
ones of the pools (Neutron's own IPAM picks randomly within a window too), so concurrent
allocations rarely clash; the one that does is retried with the clashing address left out, as
long as the pools have room (``docs/decisions/0024-concurrent-ip-allocation.md`` has the numbers
against a per-subnet lock). Pools larger than :data:`SCAN_LIMIT` addresses try random addresses
first, so allocation stays fast in a nearly empty /16.
"""

from __future__ import annotations

import ipaddress
import random
from typing import Any, Iterable, Iterator, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.core.errors import Conflict, Invalid
from overcast.core.network.errors import bad_attribute, conflict, invalid_input
from overcast.store.network import IpAllocation, Subnet

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: Pools up to this size are scanned lowest-first; larger ones are sampled.
SCAN_LIMIT = 4096
RANDOM_TRIES = 16
#: how many of the lowest free addresses an allocation picks among
WINDOW = 32
_rng = random.SystemRandom()


def parse_cidr(cidr: str, ip_version: int, attr: str = "cidr") -> IPNetwork:
    """The subnet ``cidr`` names, checked against ``ip_version``.

    :raises Invalid: not a CIDR, host bits set, or the wrong IP version (Neutron's messages).
    """
    try:
        iface = ipaddress.ip_interface(cidr)
    except (ValueError, TypeError):
        raise bad_attribute(attr, f"'{cidr}' is not a valid IP subnet") from None
    net = iface.network
    if "/" not in str(cidr) or iface.ip != net.network_address:
        raise bad_attribute(attr, f"'{cidr}' isn't a recognized IP subnet cidr, '{net}' is recommended")
    if net.version != ip_version:
        raise invalid_input(f"{attr} '{cidr}' does not match the ip_version '{ip_version}'")
    return net


def parse_ip(value: Any, attr: str) -> IPAddress:
    """:raises Invalid: not an IP address."""
    try:
        return ipaddress.ip_address(value)
    except (ValueError, TypeError):
        raise bad_attribute(attr, f"'{value}' is not a valid IP address") from None


#: IPv6 address modes where a port's address is derived from its MAC (SLAAC), not handed out
AUTOMATIC_MODES = ("slaac", "dhcpv6-stateless")


def is_automatic(subnet: Subnet) -> bool:
    return subnet.ip_version == 6 and subnet.ipv6_address_mode in AUTOMATIC_MODES


def eui64(cidr: str, mac: str) -> str:
    """The SLAAC address of ``mac`` on the /64 ``cidr`` (RFC 4291 modified EUI-64: the MAC split by
    ``ff:fe``, its universal/local bit flipped)."""
    octets = bytes(int(part, 16) for part in mac.split(":"))
    iid = bytes([octets[0] ^ 0x02]) + octets[1:3] + b"\xff\xfe" + octets[3:6]
    net = ipaddress.IPv6Network(cidr)
    return str(ipaddress.IPv6Address(int(net.network_address) | int.from_bytes(iid, "big")))


def default_gateway(net: IPNetwork) -> IPAddress | None:
    """The first host address (None for a network too small to have one)."""
    return net.network_address + 1 if net.num_addresses > 2 or net.version == 6 and net.num_addresses > 1 else None


def _usable(net: IPNetwork) -> tuple[IPAddress, IPAddress] | None:
    """First and last assignable addresses: IPv4 leaves out network and broadcast, IPv6 the
    subnet-router anycast (first) address."""
    if net.version == 4:
        if net.prefixlen >= 31:
            return net.network_address, net.broadcast_address
        return net.network_address + 1, net.broadcast_address - 1
    if net.num_addresses < 2:
        return None
    return net.network_address + 1, net.broadcast_address


def default_pools(net: IPNetwork, gateway: IPAddress | None) -> list[dict[str, str]]:
    """Every assignable address except the gateway, as Neutron computes it by default."""
    usable = _usable(net)
    if usable is None:
        return []
    first, last = usable
    ranges = [(first, last)]
    if gateway is not None and first <= gateway <= last:
        ranges = [(first, gateway - 1), (gateway + 1, last)]
        ranges = [(a, b) for a, b in ranges if a <= b] if first != last else []
    return [{"start": str(a), "end": str(b)} for a, b in ranges]


def _pool_text(pool: dict[str, str]) -> str:
    return f"{pool['start']}-{pool['end']}"


def validate_pools(net: IPNetwork, pools: Sequence[dict[str, str]], gateway: IPAddress | None) -> list[dict[str, str]]:
    """Check given pools: valid ranges of this version, inside the CIDR, apart from each other and
    from the gateway. Returns them normalised.

    :raises Invalid: InvalidAllocationPool, OutOfBoundsAllocationPool.
    :raises Conflict: OverlappingAllocationPools, GatewayConflictWithAllocationPools.
    """
    ranges: list[tuple[IPAddress, IPAddress, dict[str, str]]] = []
    usable = _usable(net)
    for pool in pools:
        try:
            start, end = ipaddress.ip_address(pool["start"]), ipaddress.ip_address(pool["end"])
        except (ValueError, KeyError, TypeError):
            raise Invalid(f"The allocation pool {_pool_text(pool)} is not valid.", kind="InvalidAllocationPool") \
                from None
        if start.version != net.version or end.version != net.version or start > end:
            raise Invalid(f"The allocation pool {_pool_text(pool)} is not valid.", kind="InvalidAllocationPool")
        if usable is None or start < usable[0] or end > usable[1]:
            raise Invalid(f"The allocation pool {_pool_text(pool)} spans beyond the subnet cidr {net}.",
                          kind="OutOfBoundsAllocationPool")
        ranges.append((start, end, {"start": str(start), "end": str(end)}))
    ranges.sort(key=lambda r: r[0])
    for (_, a_end, a), (b_start, _, b) in zip(ranges, ranges[1:]):
        if b_start <= a_end:
            raise conflict("OverlappingAllocationPools", f"Found overlapping allocation pools: {_pool_text(a)} "
                           f"{_pool_text(b)} for subnet {net}.")
    if gateway is not None:
        for start, end, pool in ranges:
            if start <= gateway <= end:
                raise conflict("GatewayConflictWithAllocationPools",
                               f"Gateway ip {gateway} conflicts with allocation pool {_pool_text(pool)}.")
    return [pool for _, _, pool in ranges]


def pool_ranges(subnet: Subnet) -> list[tuple[int, int]]:
    return [(int(ipaddress.ip_address(p["start"])), int(ipaddress.ip_address(p["end"])))
            for p in subnet.allocation_pools]


def in_pools(subnet: Subnet, address: IPAddress) -> bool:
    value = int(address)
    return any(start <= value <= end for start, end in pool_ranges(subnet))


def is_allocated(session: Session, subnet_id: str, address: str) -> bool:
    return session.scalar(select(IpAllocation.port_id).where(IpAllocation.subnet_id == subnet_id,
                                                             IpAllocation.ip_address == address)) is not None


def _sampled(ranges: list[tuple[int, int]], size: int) -> Iterator[int]:
    """Random addresses of a large pool."""
    for _ in range(RANDOM_TRIES):
        offset = _rng.randrange(size)
        for start, end in ranges:
            if offset <= end - start:
                yield start + offset
                break
            offset -= end - start + 1


def pick(session: Session, subnet: Subnet, exclude: Iterable[str] = frozenset()) -> str | None:
    """A free address from the subnet's pools (not in ``exclude``), or None when they are exhausted.

    One of the :data:`WINDOW` lowest free addresses, at random (a pool larger than
    :data:`SCAN_LIMIT` tries random addresses first): concurrent allocations on one subnet
    rarely pick the same one, and the one that does retries (see ``ports.add_addresses``).
    """
    cls = ipaddress.IPv4Address if subnet.ip_version == 4 else ipaddress.IPv6Address
    avoid = {int(ipaddress.ip_address(a)) for a in exclude}
    ranges = pool_ranges(subnet)
    size = sum(end - start + 1 for start, end in ranges)
    if size > SCAN_LIMIT:
        for value in _sampled(ranges, size):
            if value not in avoid and not is_allocated(session, subnet.id, str(cls(value))):
                return str(cls(value))
    taken = {int(ipaddress.ip_address(a)) for a in session.scalars(
        select(IpAllocation.ip_address).where(IpAllocation.subnet_id == subnet.id))} | avoid
    free: list[int] = []
    for start, end in ranges:
        value = start
        while value <= end and len(free) < WINDOW:
            if value not in taken:
                free.append(value)
            value += 1
    return str(cls(_rng.choice(free))) if free else None


def allocate(session: Session, subnet: Subnet, requested: str | None = None,
             exclude: set[str] = frozenset()) -> str:
    """Pick (or check) an address on ``subnet`` apart from ``exclude`` (picked for the same port);
    the caller records the allocation.

    :raises Invalid: InvalidIpForSubnet, a requested address outside the subnet.
    :raises Conflict: IpAddressAlreadyAllocated, IpAddressGenerationFailure (pools exhausted).
    """
    if requested is not None:
        address = parse_ip(requested, "ip_address")
        net = ipaddress.ip_network(subnet.cidr)
        if address.version != net.version or address not in net or (
                net.version == 4 and net.prefixlen < 31 and address in (net.network_address, net.broadcast_address)):
            raise Invalid(f"IP address {requested} is not a valid IP for the specified subnet.",
                          kind="InvalidIpForSubnet")
        text = str(address)
        if text in exclude or is_allocated(session, subnet.id, text):
            raise already_allocated(text, subnet.id)
        return text
    address_text = pick(session, subnet, exclude)
    if address_text is None:
        raise exhausted(subnet.network_id)
    return address_text


def already_allocated(address: str, subnet_id: str) -> Conflict:
    return conflict("IpAddressAlreadyAllocated", f"IP address {address} already allocated in subnet {subnet_id}")


def exhausted(network_id: str) -> Conflict:
    return conflict("IpAddressGenerationFailure", f"No more IP addresses available on network {network_id}.")


def subnet_for(subnets: Iterable[Subnet], address: IPAddress) -> Subnet | None:
    """The subnet among ``subnets`` whose CIDR holds ``address``."""
    for subnet in subnets:
        net = ipaddress.ip_network(subnet.cidr)
        if address.version == net.version and address in net:
            return subnet
    return None
