"""Address scopes (Neutron's ``address-scope``): a name for an address space of one IP version;
the subnet pools in one never overlap, and a network's ``ipv4_address_scope`` /
``ipv6_address_scope`` is the scope of the pools its subnets of that version were cut from."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from overcast.core.context import AuthContext
from overcast.core.errors import Invalid, NotFound
from overcast.core.network.common import (admin_only, authorize, lookup, own_or_shared, owner,
                                          sees_own_or_shared, touch, update_fields)
from overcast.core.network import errors, rbac
from overcast.core.network.errors import conflict
from overcast.store.network import AddressScope, Subnet, SubnetPool

if TYPE_CHECKING:
    from overcast.core.network import NetworkCore

#: network ids per query when reading their address scopes
BATCH = 500


def not_found(scope_id: str) -> NotFound:
    return errors.not_found("address_scope", scope_id)


def query(core: NetworkCore, session: Session, ctx: AuthContext) -> Select[tuple[AddressScope]]:
    """The scopes of the region ``ctx`` may list (its project's and shared ones), in no order."""
    return own_or_shared(ctx, AddressScope, core.region)


def get(core: NetworkCore, session: Session, ctx: AuthContext, scope_id: str) -> AddressScope:
    """:raises NotFound: AddressScopeNotFound (also another project's unshared scope)."""
    scope = lookup(session, AddressScope, scope_id, core.region)
    if scope is None or not sees_own_or_shared(ctx, scope, session):
        raise not_found(scope_id)
    return scope


def create(core: NetworkCore, session: Session, ctx: AuthContext, body: dict[str, Any]) -> AddressScope:
    """:raises Forbidden: a reader; a non-admin making a shared scope."""
    project_id = owner(ctx, body, "create_address_scope")
    admin_only(ctx, "create_address_scope:shared", body.get("shared") or None)
    scope = AddressScope(cloud=core.region, project_id=project_id, name=body.get("name", ""),
                         description=body.get("description", ""), ip_version=body["ip_version"],
                         shared=bool(body.get("shared")), tags=[], extra={})
    session.add(scope)
    session.flush()
    rbac.follow_flags(core, session, scope)
    return scope


def update(core: NetworkCore, session: Session, ctx: AuthContext, scope_id: str,
           changes: dict[str, Any]) -> AddressScope:
    """:raises NotFound: :raises Forbidden: :raises Invalid: AddressScopeUpdateError, unsharing
    a shared scope."""
    scope = get(core, session, ctx, scope_id)
    authorize(ctx, "update_address_scope", scope.project_id)
    if "shared" in changes and changes["shared"] != scope.shared:
        admin_only(ctx, "update_address_scope:shared", changes["shared"])
        if not changes["shared"]:
            raise Invalid(f"Unable to update address scope {scope.id} : Shared address scope can't be unshared.",
                          kind="AddressScopeUpdateError")
    update_fields(scope, changes, ("name", "description", "shared"))
    touch(scope)
    session.flush()
    rbac.follow_flags(core, session, scope)
    return scope


def delete(core: NetworkCore, session: Session, ctx: AuthContext, scope_id: str) -> None:
    """:raises NotFound: :raises Forbidden: :raises Conflict: AddressScopeInUse, pools are in it."""
    scope = get(core, session, ctx, scope_id)
    authorize(ctx, "delete_address_scope", scope.project_id)
    if session.scalar(select(SubnetPool.id).where(SubnetPool.address_scope_id == scope.id).limit(1)) is not None:
        raise conflict("AddressScopeInUse", f"Unable to complete operation on address scope {scope.id}. There are "
                                            "one or more subnet pools in use on the address scope.")
    rbac.forget(session, scope)
    session.delete(scope)
    session.flush()


def check_pool(core: NetworkCore, session: Session, ctx: AuthContext, pool: SubnetPool) -> None:
    """The pool's address scope, if it has one: visible to the caller (the owner's or shared), of
    the pool's version, and no other pool in it overlapping the pool's prefixes.

    :raises Invalid: IllegalSubnetPoolAssociationToAddressScope,
        IllegalSubnetPoolIpVersionAssociationToAddressScope.
    :raises Conflict: AddressScopePrefixConflict.
    """
    if not pool.address_scope_id:
        return
    scope = lookup(session, AddressScope, pool.address_scope_id, core.region)
    if scope is None or not sees_own_or_shared(ctx, scope, session):
        raise Invalid(f"Illegal subnetpool association: subnetpool {pool.id} cannot be associated with address "
                      f"scope {pool.address_scope_id}.", kind="IllegalSubnetPoolAssociationToAddressScope")
    if scope.ip_version != pool.ip_version:
        raise Invalid(f"Illegal subnetpool association: subnetpool {pool.id} cannot associate with address scope "
                      f"{scope.id} because subnetpool ip_version is not {scope.ip_version}.",
                      kind="IllegalSubnetPoolIpVersionAssociationToAddressScope")
    mine = [ipaddress.ip_network(p) for p in pool.prefixes]
    others = session.scalars(select(SubnetPool.prefixes).where(SubnetPool.address_scope_id == scope.id,
                                                               SubnetPool.id != pool.id))
    for prefixes in others:
        if any(ipaddress.ip_network(p).overlaps(m) for p in prefixes for m in mine):  # type: ignore[arg-type]
            raise conflict("AddressScopePrefixConflict", "Failed to associate address scope: subnetpools within an "
                                                         "address scope must have unique prefixes.")


def of_networks(session: Session, network_ids: Iterable[str]) -> dict[tuple[str, int], str]:
    """(network id, IP version) -> the address scope of the pools its subnets of that version were
    cut from, for the networks that have one, in one query."""
    ids = sorted(set(network_ids))
    found: dict[tuple[str, int], str] = {}
    for start in range(0, len(ids), BATCH):
        rows = session.execute(select(Subnet.network_id, SubnetPool.ip_version, SubnetPool.address_scope_id)
                               .join(SubnetPool, SubnetPool.id == Subnet.subnetpool_id)
                               .where(Subnet.network_id.in_(ids[start:start + BATCH]),
                                      SubnetPool.address_scope_id.is_not(None)))
        found.update(((network_id, version), scope_id) for network_id, version, scope_id in rows)
    return found
