"""Server groups: affinity policies, membership and the server_groups / members quotas."""

from __future__ import annotations

from typing import Any, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.core.compute import quotas
from overcast.core.errors import Forbidden, Invalid, NotFound
from overcast.drivers.compute import Capability, ComputeDriver
from overcast.drivers.headroom import Headroom
from overcast.ops.engine import enqueue
from overcast.store.compute import Server, ServerGroup, ServerGroupMember

#: the operation deleting a backend's copy of a deleted group (decision 0076)
BACKEND_DELETE = "server_group.delete_backend"

POLICIES = ("affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity")
#: The policies before 2.15 added the soft ones.
LEGACY_POLICIES = ("affinity", "anti-affinity")


def find(session: Session, group_id: str, project_id: str | None = None, *, region: str) -> ServerGroup:
    """The group of ``region``; with ``project_id``, only if it belongs to that project. :raises NotFound:"""
    group = session.get(ServerGroup, group_id)
    if group is None or group.cloud != region or (project_id is not None and group.project_id != project_id):
        raise NotFound(f"Instance group {group_id} could not be found.")
    return group


def members(session: Session, group_id: str) -> list[str]:
    """The ids of the group's live servers."""
    return list(session.scalars(
        select(ServerGroupMember.server_id)
        .join(Server, Server.id == ServerGroupMember.server_id)
        .where(ServerGroupMember.group_id == group_id, Server.deleted.is_(False))
        .order_by(Server.seq)))


def members_by_group(session: Session, group_ids: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {g: [] for g in group_ids}
    if not group_ids:
        return found
    rows = session.execute(
        select(ServerGroupMember.group_id, ServerGroupMember.server_id)
        .join(Server, Server.id == ServerGroupMember.server_id)
        .where(ServerGroupMember.group_id.in_(group_ids), Server.deleted.is_(False))
        .order_by(Server.seq))
    for group_id, server_id in rows:
        found[group_id].append(server_id)
    return found


def list_groups(session: Session, project_id: str | None, *, region: str, limit: int | None = None,
                offset: int = 0) -> list[ServerGroup]:
    """``region``'s groups of ``project_id`` (every project's when None), oldest first."""
    query = select(ServerGroup).where(ServerGroup.cloud == region).order_by(ServerGroup.created_at, ServerGroup.id)
    if project_id is not None:
        query = query.where(ServerGroup.project_id == project_id)
    if offset:
        query = query.offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def validate_rules(policy: str, rules: Mapping[str, Any] | None) -> dict[str, Any]:
    """Nova 2.64's rules: only ``max_server_per_host``, only for anti-affinity. :raises Invalid:"""
    rules = dict(rules or {})
    if policy not in POLICIES:
        raise Invalid(f"Invalid input for field/attribute policy. Value: {policy}.")
    if rules and policy != "anti-affinity":
        raise Invalid("Only anti-affinity policy supports rules.")
    unknown = set(rules) - {"max_server_per_host"}
    if unknown:
        raise Invalid(f"Invalid input for field/attribute rules. Unknown rule {', '.join(sorted(unknown))}.")
    if "max_server_per_host" in rules:
        value = rules["max_server_per_host"]
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise Invalid("Invalid input for field/attribute max_server_per_host. "
                          f"Value: {rules['max_server_per_host']}. It must be a positive integer.")
        rules["max_server_per_host"] = value
    return rules


def create(session: Session, *, name: str, policy: str, project_id: str, user_id: str, cloud: str,
           rules: Mapping[str, Any] | None = None, headroom: Headroom | None = None) -> ServerGroup:
    """A new group, within the project's server_groups quota and, when the region's backend keeps
    groups of its own and reports its headroom (``headroom``: an upstream Nova, whose service
    project holds every Overcast group of the region), within the backend's (decision 0076).

    :raises Invalid: unknown policy or bad rules.
    :raises Forbidden: over the server_groups quota (the project's or the backend's).
    """
    checked = validate_rules(policy, rules)
    quotas.lock_project(session, project_id)
    try:
        quotas.check(session, project_id, user_id, {"server_groups": 1}, region=cloud)
    except Forbidden:
        raise Forbidden("Quota exceeded, too many server groups.") from None
    if headroom is not None and headroom.over({"server_groups": 1}):
        raise Forbidden("Quota exceeded, too many server groups.")
    group = ServerGroup(name=name, policy=policy, rules=checked, project_id=project_id, user_id=user_id,
                        cloud=cloud)
    session.add(group)
    session.flush()
    return group


def delete(session: Session, group_id: str, project_id: str | None = None, *, region: str,
           driver: ComputeDriver | None = None, request_id: str | None = None, user_id: str | None = None) -> None:
    """Delete the group's record; when the region's ``driver`` keeps groups of its own
    (``SERVER_GROUPS``: an upstream Nova's group, made at the first build into it, decision 0069),
    its copy goes by a :data:`BACKEND_DELETE` operation enqueued in this transaction (the engine's
    timeout, retries and breaker, as every other backend write; decision 0076).

    :raises NotFound:"""
    group = find(session, group_id, project_id, region=region)
    for member in session.scalars(select(ServerGroupMember).where(ServerGroupMember.group_id == group.id)):
        session.delete(member)
    if driver is not None and Capability.SERVER_GROUPS in driver.capabilities:
        enqueue(session, kind=BACKEND_DELETE, cloud=region, resource_type="server_group", resource_id=group.id,
                params={"group_id": group.id}, action="delete", request_id=request_id, user_id=user_id,
                project_id=group.project_id)
    session.delete(group)


def add_member(session: Session, group_id: str, server_id: str, project_id: str, *, region: str) -> ServerGroup:
    """Put a server in a group (at boot, Nova's ``group`` scheduler hint).

    :raises NotFound: no such group in the project and region.
    :raises Invalid: the server is already in a group.
    :raises Forbidden: over the project's server_group_members quota.
    """
    group = find(session, group_id, project_id, region=region)
    quotas.lock_project(session, project_id)
    existing = session.scalar(select(ServerGroupMember).where(ServerGroupMember.server_id == server_id))
    if existing is not None:
        if existing.group_id == group.id:
            return group
        raise Invalid(f"Server {server_id} is already a member of server group {existing.group_id}.")
    limit = quotas.limits(session, project_id)["server_group_members"]
    used = quotas.group_members(session, group.id)
    if limit != quotas.UNLIMITED and used + 1 > limit:
        raise Forbidden("Quota exceeded, too many servers in group")
    session.add(ServerGroupMember(group_id=group.id, server_id=server_id))
    session.flush()
    return group


def remove_member(session: Session, server_id: str) -> None:
    """Take a server out of whatever group it is in (on delete); no group is fine."""
    for member in session.scalars(select(ServerGroupMember).where(ServerGroupMember.server_id == server_id)):
        session.delete(member)
