"""Subnet pools (Neutron's ``subnet_allocation`` and ``default-subnetpools``): prefixes that
subnets are cut from, by prefix length or by a CIDR inside them.

A pool's prefixes are compacted (overlapping and adjacent ones merged) and may only grow; the
prefix lengths obey min <= default <= max <= the version's bits. An allocation locks the pool's
row (``SELECT ... FOR UPDATE`` on PostgreSQL, the database's write lock on SQLite) before it reads
the pool's subnets, so two concurrent allocations from one pool never overlap: the second waits
for the first to commit and sees its subnet. The free space is searched best fit, as Neutron's
allocator does: the smallest free block that holds the requested length, the lowest such block
first, and its first sub-block (``docs/decisions/0052-subnet-pools.md``).
"""

from __future__ import annotations

import ipaddress
from typing import Any, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from overcast.core.context import AuthContext
from overcast.core.errors import Conflict, Invalid, NotFound
from overcast.core.network import NetworkCore, address_scopes, quotas, rbac
from overcast.core.network.common import (admin_only, authorize, in_region, lookup, own_or_shared, owner,
                                          sees_own_or_shared, touch, update_fields)
from overcast.core.network import errors
from overcast.core.network.errors import bad_attribute, bad_request, conflict, invalid_input
from overcast.store.db import lock_row
from overcast.store.network import Subnet, SubnetPool

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: per IP version: the widest prefix a pool's lengths may name, the default minimum length, and
#: the quota unit (a pool's default_quota counts /32 addresses for IPv4, /64 networks for IPv6)
BITS = {4: 32, 6: 128}
DEFAULT_MIN = {4: 8, 6: 64}
QUOTA_UNIT = {4: 32, 6: 64}


def not_found(pool_id: str) -> NotFound:
    return errors.not_found("subnetpool", pool_id)


def query(core: NetworkCore, session: Session, ctx: AuthContext) -> Select[tuple[SubnetPool]]:
    """The pools of the region ``ctx`` may list (its project's and shared ones), in no order."""
    return own_or_shared(ctx, SubnetPool, core.region)


def get(core: NetworkCore, session: Session, ctx: AuthContext, pool_id: str) -> SubnetPool:
    """:raises NotFound: SubnetPoolNotFound (also another project's unshared pool)."""
    pool = lookup(session, SubnetPool, pool_id, core.region)
    if pool is None or not sees_own_or_shared(ctx, pool, session):
        raise not_found(pool_id)
    return pool


# -- prefixes and bounds -------------------------------------------------------------------------
def parse_prefixes(values: Iterable[str]) -> tuple[int, list[IPNetwork]]:
    """(ip_version, the prefixes compacted in address order).

    :raises Invalid: none at all (EmptySubnetPoolPrefixList), one that is not a CIDR, or both
        versions mixed (PrefixVersionMismatch).
    """
    nets: list[IPNetwork] = []
    for value in values:
        try:
            nets.append(ipaddress.ip_network(value, strict=False))
        except (ValueError, TypeError):
            raise bad_attribute("prefixes", f"'{value}' is not a valid IP subnet") from None
    if not nets:
        raise Invalid("Empty subnet pool prefix list.", kind="EmptySubnetPoolPrefixList")
    versions = {n.version for n in nets}
    if len(versions) > 1:
        raise Invalid("Cannot mix IPv4 and IPv6 prefixes in a subnet pool.", kind="PrefixVersionMismatch")
    return nets[0].version, list(ipaddress.collapse_addresses(nets))  # type: ignore[arg-type]


def _bounds_error(kind: str, value: int, base_kind: str, base: int) -> Invalid:
    return Invalid(f"Illegal prefix bounds: {kind}={value}, {base_kind}={base}.", kind="IllegalSubnetPoolPrefixBounds")


def _bounds(ip_version: int, min_len: int, max_len: int, default_len: int) -> None:
    """:raises Invalid: IllegalSubnetPoolPrefixBounds, in the order Neutron checks them."""
    if min_len > max_len:
        raise _bounds_error("min_prefixlen", min_len, "max_prefixlen", max_len)
    if max_len > BITS[ip_version]:
        raise _bounds_error("max_prefixlen", max_len, "ip_version_max", BITS[ip_version])
    if default_len < min_len:
        raise _bounds_error("default_prefixlen", default_len, "min_prefixlen", min_len)
    if default_len > max_len:
        raise _bounds_error("default_prefixlen", default_len, "max_prefixlen", max_len)


def _no_other_default(core: NetworkCore, session: Session, ip_version: int, pool_id: str | None) -> None:
    """:raises Invalid: InvalidInput, a default pool of this version exists already in the region."""
    found = session.scalar(in_region(SubnetPool, core.region).where(
        SubnetPool.is_default.is_(True), SubnetPool.ip_version == ip_version, SubnetPool.id != (pool_id or "")))
    if found is not None:
        raise invalid_input("A default subnetpool for this IP family has already been set. Only one default may "
                            "exist per IP family")


# -- CRUD -------------------------------------------------------------------------------------------
def create(core: NetworkCore, session: Session, ctx: AuthContext, body: dict[str, Any]) -> SubnetPool:
    """:raises Forbidden: a reader; a non-admin setting shared or is_default.
    :raises Invalid: prefixes, bounds, a second default, the address scope.
    :raises Conflict: AddressScopePrefixConflict, OverQuota."""
    project_id = owner(ctx, body, "create_subnetpool")
    admin_only(ctx, "create_subnetpool:shared", body.get("shared") or None)
    admin_only(ctx, "create_subnetpool:is_default", body.get("is_default") or None)
    ip_version, prefixes = parse_prefixes(body["prefixes"])
    min_len = body.get("min_prefixlen", DEFAULT_MIN[ip_version])
    max_len = body.get("max_prefixlen", BITS[ip_version])
    default_len = body.get("default_prefixlen", min_len)
    _bounds(ip_version, min_len, max_len, default_len)
    if body.get("is_default"):
        _no_other_default(core, session, ip_version, None)
    pool = SubnetPool(cloud=core.region, project_id=project_id, name=body.get("name", ""),
                      description=body.get("description", ""), ip_version=ip_version,
                      prefixes=[str(p) for p in prefixes], default_prefixlen=default_len, min_prefixlen=min_len,
                      max_prefixlen=max_len, default_quota=body.get("default_quota"),
                      shared=bool(body.get("shared")), is_default=bool(body.get("is_default")),
                      address_scope_id=body.get("address_scope_id"), tags=[], extra={})
    session.add(pool)
    session.flush()  # the id, which the address scope's faults name
    address_scopes.check_pool(core, session, ctx, pool)
    quotas.check(core, session, project_id, "subnetpool")
    rbac.follow_flags(core, session, pool)
    return pool


def update(core: NetworkCore, session: Session, ctx: AuthContext, pool_id: str, changes: dict[str, Any]) -> SubnetPool:
    """:raises NotFound: :raises Forbidden: :raises Invalid: prefixes that do not hold the old
    ones (IllegalSubnetPoolPrefixUpdate), bounds, a second default, the address scope.
    :raises Conflict: AddressScopePrefixConflict."""
    pool = _locked(session, get(core, session, ctx, pool_id))
    authorize(ctx, "update_subnetpool", pool.project_id)
    if changes.get("is_default") != pool.is_default:
        admin_only(ctx, "update_subnetpool:is_default", changes.get("is_default"))
    if "prefixes" in changes:
        ip_version, prefixes = parse_prefixes(changes["prefixes"])
        if ip_version != pool.ip_version:
            raise Invalid("Cannot mix IPv4 and IPv6 prefixes in a subnet pool.", kind="PrefixVersionMismatch")
        old = [ipaddress.ip_network(p) for p in pool.prefixes]
        if not all(any(o.subnet_of(n) for n in prefixes) for o in old):  # type: ignore[arg-type]
            raise Invalid("Illegal update to prefixes: Existing prefixes must be a subset of the new prefixes.",
                          kind="IllegalSubnetPoolPrefixUpdate")
        pool.prefixes = [str(p) for p in prefixes]
    bounds = {k: changes.get(k, getattr(pool, k)) for k in ("min_prefixlen", "max_prefixlen", "default_prefixlen")}
    _bounds(pool.ip_version, bounds["min_prefixlen"], bounds["max_prefixlen"], bounds["default_prefixlen"])
    if changes.get("is_default") and not pool.is_default:
        _no_other_default(core, session, pool.ip_version, pool.id)
    update_fields(pool, changes, ("name", "description", "default_quota", "is_default", "address_scope_id",
                                  "min_prefixlen", "max_prefixlen", "default_prefixlen"))
    address_scopes.check_pool(core, session, ctx, pool)
    touch(pool)
    session.flush()
    return pool


def delete(core: NetworkCore, session: Session, ctx: AuthContext, pool_id: str) -> None:
    """:raises NotFound: :raises Forbidden: :raises Invalid: SubnetPoolDeleteError, subnets were
    cut from it (Neutron answers 400)."""
    pool = _locked(session, get(core, session, ctx, pool_id))
    authorize(ctx, "delete_subnetpool", pool.project_id)
    if session.scalar(select(Subnet.id).where(Subnet.subnetpool_id == pool.id).limit(1)) is not None:
        raise Invalid("Unable to delete subnet pool: Subnet pool has existing allocations.",
                      kind="SubnetPoolDeleteError")
    rbac.forget(session, pool)
    session.delete(pool)
    session.flush()


def _locked(session: Session, pool: SubnetPool) -> SubnetPool:
    """The pool re-read under its lock, held to the end of the transaction: a concurrent
    allocation, update or delete of the same pool waits for this one to commit."""
    locked = lock_row(session, SubnetPool, pool.id)
    if locked is None:  # deleted meanwhile
        raise not_found(pool.id)
    return locked


# -- allocation -------------------------------------------------------------------------------------
def default_pool(core: NetworkCore, session: Session, ip_version: int) -> SubnetPool | None:
    return session.scalar(in_region(SubnetPool, core.region).where(SubnetPool.is_default.is_(True),
                                                                   SubnetPool.ip_version == ip_version))


def pool_for(core: NetworkCore, session: Session, ctx: AuthContext, body: dict[str, Any]) -> SubnetPool | None:
    """The pool a subnet request names (``subnetpool_id``, or the default of its version with
    ``use_default_subnetpool``), None for none.

    :raises Invalid: both given, no default pool of the version (BadRequest).
    :raises NotFound: SubnetPoolNotFound.
    """
    pool_id, use_default = body.get("subnetpool_id"), body.get("use_default_subnetpool")
    if pool_id and use_default:
        raise bad_request("subnets", "subnetpool_id and use_default_subnetpool cannot both be specified")
    if pool_id:
        return get(core, session, ctx, pool_id)
    if not use_default:
        return None
    ip_version = ipaddress.ip_network(body["cidr"], strict=False).version if body.get("cidr") else body["ip_version"]
    pool = default_pool(core, session, ip_version)
    if pool is None:
        raise bad_request("subnets", f"No default subnetpool found for IPv{ip_version}")
    return pool


def _free(pool: SubnetPool, taken: Iterable[str]) -> list[IPNetwork]:
    """The pool's free blocks (its prefixes less the subnets cut from it), in address order."""
    free: list[IPNetwork] = [ipaddress.ip_network(p) for p in pool.prefixes]
    for cidr in taken:
        used = ipaddress.ip_network(cidr)
        rest: list[IPNetwork] = []
        for block in free:
            if used.subnet_of(block):  # type: ignore[arg-type]
                rest.extend(block.address_exclude(used))  # type: ignore[arg-type]
            elif not block.subnet_of(used):  # type: ignore[arg-type]
                rest.append(block)
        free = rest
    return sorted(ipaddress.collapse_addresses(free))  # type: ignore[arg-type]


def _check_quota(session: Session, pool: SubnetPool, project_id: str, prefixlen: int) -> None:
    """:raises Conflict: SubnetPoolQuotaExceeded, the project's subnets from the pool would pass
    its default_quota (in /32 addresses for IPv4, /64 networks for IPv6)."""
    if not pool.default_quota:
        return
    unit = QUOTA_UNIT[pool.ip_version]
    used = sum(2 ** max(0, unit - ipaddress.ip_network(c).prefixlen) for c in session.scalars(
        select(Subnet.cidr).where(Subnet.subnetpool_id == pool.id, Subnet.project_id == project_id)))
    if used + 2 ** max(0, unit - prefixlen) > pool.default_quota:
        raise conflict("SubnetPoolQuotaExceeded", "Per-tenant subnet pool prefix quota exceeded.")


def allocate(session: Session, pool: SubnetPool, project_id: str, cidr: IPNetwork | None,
             prefixlen: int | None) -> tuple[SubnetPool, IPNetwork]:
    """Cut a subnet from ``pool``: ``cidr`` if it is free within the pool, else the first free
    block of ``prefixlen`` (the pool's default length for None), best fit. Takes the pool's lock
    (held to the end of the transaction); the caller records the subnet with ``subnetpool_id``.

    :raises Invalid: a length outside the pool's bounds (Min/MaxPrefixSubnetAllocationError), a
        CIDR of the other version.
    :raises Conflict: SubnetAllocationError (no room, or the CIDR is not free in the pool; Neutron
        answers 500 here), SubnetPoolQuotaExceeded.
    :raises NotFound: the pool was deleted meanwhile.
    """
    pool = _locked(session, pool)
    length = cidr.prefixlen if cidr is not None else prefixlen if prefixlen is not None else pool.default_prefixlen
    if cidr is not None and cidr.version != pool.ip_version:
        raise bad_request("subnets", f"Cannot allocate IPv{cidr.version} subnet from IPv{pool.ip_version} "
                                     "subnet pool")
    if length > pool.max_prefixlen:
        raise Invalid(f"Unable to allocate subnet with prefix length {length}, maximum allowed prefix is "
                      f"{pool.max_prefixlen}.", kind="MaxPrefixSubnetAllocationError")
    if length < pool.min_prefixlen:
        raise Invalid(f"Unable to allocate subnet with prefix length {length}, minimum allowed prefix is "
                      f"{pool.min_prefixlen}.", kind="MinPrefixSubnetAllocationError")
    _check_quota(session, pool, project_id, length)
    free = _free(pool, session.scalars(select(Subnet.cidr).where(Subnet.subnetpool_id == pool.id)))
    if cidr is not None:
        if any(cidr.subnet_of(block) for block in free):  # type: ignore[arg-type]
            return pool, cidr
        raise _allocation_error("Cannot allocate requested subnet from the available set of prefixes")
    for block in sorted((b for b in free if b.prefixlen <= length), key=lambda b: -b.prefixlen):
        return pool, next(block.subnets(new_prefix=length))
    raise _allocation_error(f"Insufficient prefix space to allocate subnet size /{length}")


def _allocation_error(reason: str) -> Conflict:
    return conflict("SubnetAllocationError", f"Failed to allocate subnet: {reason}.")
