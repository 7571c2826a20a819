"""Neutron's quotas: defaults (neutron.conf [quotas]), per-project limits, usage counted from the
records (never stored, so it cannot drift), enforced on create with 409 ``OverQuota``. Limits and
usage are the region's: each region is a Neutron of its own."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from overcast.core.errors import Invalid
from overcast.core.network.errors import conflict
from overcast.store.models import put_row
from overcast.store.network import (FloatingIp, Network, NetworkQuota, Port, RbacPolicy, Router, SecurityGroup,
                                    SecurityGroupRule, Subnet, SubnetPool, Trunk)

if TYPE_CHECKING:
    from overcast.core.network import NetworkCore

#: Neutron's default limits; -1 is unlimited.
DEFAULTS: dict[str, int] = {
    "network": 100,
    "subnet": 100,
    "port": 500,
    "router": 10,
    "floatingip": 50,
    "security_group": 10,
    "security_group_rule": 100,
    "subnetpool": -1,
    "rbac_policy": 10,
    "trunk": -1,
}

_MODELS = {
    "network": Network, "subnet": Subnet, "port": Port, "router": Router, "floatingip": FloatingIp,
    "security_group": SecurityGroup, "security_group_rule": SecurityGroupRule,
    "subnetpool": SubnetPool, "rbac_policy": RbacPolicy, "trunk": Trunk,
}


def limits(core: NetworkCore, session: Session, project_id: str) -> dict[str, int]:
    """The limits in force in the region: defaults overridden by the project's own."""
    result = dict(DEFAULTS)
    result.update({row.resource: row.hard_limit for row in session.scalars(
        select(NetworkQuota).where(NetworkQuota.project_id == project_id, NetworkQuota.cloud == core.region))
        if row.resource in DEFAULTS})
    return result


def _used(core: NetworkCore, session: Session, project_id: str, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model).where(
        model.project_id == project_id, model.cloud == core.region)) or 0


def usage(core: NetworkCore, session: Session, project_id: str) -> dict[str, int]:
    return {name: _used(core, session, project_id, model) for name, model in _MODELS.items()}


def projects_with_limits(core: NetworkCore, session: Session) -> list[str]:
    return sorted(set(session.scalars(select(NetworkQuota.project_id).where(NetworkQuota.cloud == core.region))))


def update(core: NetworkCore, session: Session, project_id: str, changes: dict[str, int],
           check_limit: bool = False) -> dict[str, int]:
    """Set limits. :raises Invalid: an unknown resource, a limit below -1, or (with
    ``check_limit``, the quota-check-limit extension) one below what is already used."""
    used = usage(core, session, project_id) if check_limit else {}
    for resource, value in changes.items():
        if resource not in DEFAULTS:
            raise Invalid(f"Unrecognized attribute(s) '{resource}'", kind="HTTPBadRequest")
        if not isinstance(value, int) or isinstance(value, bool) or value < -1:
            raise Invalid(f"Invalid input for {resource}. Reason: '{value}' is not an integer or is below -1.",
                          kind="HTTPBadRequest")
        if check_limit and 0 <= value < used.get(resource, 0):
            raise Invalid(f"Quota limit {value} for {resource} must be greater than or equal to already used "
                          f"and reserved {used[resource]}.", kind="InvalidQuotaValue")
        put_row(session, NetworkQuota, {"project_id": project_id, "cloud": core.region, "resource": resource},
                hard_limit=value)
    session.flush()
    return limits(core, session, project_id)


def reset(core: NetworkCore, session: Session, project_id: str) -> None:
    session.execute(delete(NetworkQuota).where(NetworkQuota.project_id == project_id,
                                               NetworkQuota.cloud == core.region))


def check(core: NetworkCore, session: Session, project_id: str, resource: str, count: int = 1) -> None:
    """:raises Conflict: OverQuota, creating ``count`` more would pass the project's limit in the region,
    or (after it) what the region's backend itself still allows (:meth:`NetworkCore.check_headroom`)."""
    if project_id:
        _check_own(core, session, project_id, resource, count)
    core.check_headroom(resource, count)


def _check_own(core: NetworkCore, session: Session, project_id: str, resource: str, count: int) -> None:
    limit = limits(core, session, project_id)[resource]
    if limit < 0:
        return
    used = _used(core, session, project_id, _MODELS[resource])
    if used + count > limit:
        raise conflict("OverQuota", f"Quota exceeded for resources: ['{resource}'].")
