"""Security groups and rules: a ``default`` group per project made on first use with Neutron's
four rules, rule validation (protocols, port ranges, ICMP type/code, ethertype against the
remote prefix, remote group), duplicates refused, groups in use kept."""

from __future__ import annotations

import dataclasses
import ipaddress
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from overcast.core.context import AuthContext
from overcast.core.errors import Invalid
from overcast.core.network import NetworkCore, quotas, rbac
from overcast.core.network.common import (SHARED, authorize, fetch, lookup, own_or_granted, owned, owner,
                                          shared_with, touch, update_fields, visible)
from overcast.core.network.errors import bad_attribute, conflict, not_found
from overcast.core.network.listing import ordered
from overcast.store.network import DefaultSecurityGroup, Port, RbacPolicy, SecurityGroup, SecurityGroupRule

DEFAULT_NAME = "default"
#: neutron-lib's protocol names and their IANA numbers
PROTOCOLS: dict[str, int] = {
    "ah": 51, "dccp": 33, "egp": 8, "esp": 50, "gre": 47, "hopopt": 0, "icmp": 1, "icmpv6": 58, "igmp": 2,
    "ipip": 4, "ipv6-encap": 41, "ipv6-frag": 44, "ipv6-icmp": 58, "ipv6-nonxt": 59, "ipv6-opts": 60,
    "ipv6-route": 43, "ospf": 89, "pgm": 113, "rsvp": 46, "sctp": 132, "tcp": 6, "udp": 17, "udplite": 136,
    "vrrp": 112,
}
_PORT_PROTOCOLS = {6, 17, 33, 132, 136}
_ICMP_PROTOCOLS = {1, 58}


def ensure_default(core: NetworkCore, session: Session, project_id: str | None) -> SecurityGroup | None:
    """The project's ``default`` group in the region, made now if it has none (Neutron does it on
    first use)."""
    if not project_id:
        return None
    key = (project_id, core.region)
    link = session.get(DefaultSecurityGroup, key)
    if link is not None:
        return session.get(SecurityGroup, link.security_group_id)
    # a request that read the region's network backend headroom (a create) checks the group and
    # its four rules against it first: an upstream that could not hold them would otherwise leave
    # the group unrealised and every port using it unbound (decision 0069)
    core.check_headroom("security_group")
    core.check_headroom("security_group_rule", 4)
    group = SecurityGroup(cloud=core.region, project_id=project_id, name=DEFAULT_NAME,
                          description="Default security group", tags=[], rules=[], extra={})
    try:
        with session.begin_nested():  # a concurrent first use may make it first: then that one is it
            session.add(group)
            session.flush()
            session.add(DefaultSecurityGroup(project_id=project_id, cloud=core.region, security_group_id=group.id))
            session.flush()
    except IntegrityError:
        link = session.get(DefaultSecurityGroup, key, populate_existing=True)
        return session.get(SecurityGroup, link.security_group_id) if link is not None else None
    for ethertype in ("IPv4", "IPv6"):
        group.rules.append(SecurityGroupRule(cloud=core.region, project_id=project_id, direction="egress",
                                             ethertype=ethertype))
        group.rules.append(SecurityGroupRule(cloud=core.region, project_id=project_id, direction="ingress",
                                             ethertype=ethertype, remote_group_id=group.id))
    session.flush()
    core.realise(session, group, action="create")
    return group


def query(core: NetworkCore, session: Session, ctx: AuthContext) -> Select[tuple[SecurityGroup]]:
    """The groups of the region ``ctx`` may list, in no order (its project's default group is made first)."""
    ensure_default(core, session, ctx.project_id)
    return own_or_granted(ctx, SecurityGroup, core.region)


def listing(core: NetworkCore, session: Session, ctx: AuthContext) -> list[SecurityGroup]:
    """The groups ``ctx`` may list, oldest first."""
    return list(session.scalars(ordered(query(core, session, ctx))))


def shared_ids(session: Session, ctx: AuthContext, groups: list[SecurityGroup]) -> set[str]:
    """The ids of ``groups`` an RBAC policy shares with the caller's project (or with every
    project): what Neutron's ``shared`` of a security group says to the caller
    (``security-groups-shared-filtering``); a project's own group is not shared with it unless a
    ``*`` entry shares it with everyone. One query for all of them."""
    if not groups:
        return set()
    found: set[str] = set()
    for region in {g.cloud for g in groups}:
        ids = [g.id for g in groups if g.cloud == region]
        found.update(session.scalars(shared_with(ctx, SecurityGroup, region).where(RbacPolicy.object_id.in_(ids))))
    return found


def get(core: NetworkCore, session: Session, ctx: AuthContext, group_id: str) -> SecurityGroup:
    """:raises NotFound: SecurityGroupNotFound."""
    return fetch(session, ctx, SecurityGroup, "security_group", group_id, core.region)


def _is_default(session: Session, group: SecurityGroup) -> bool:
    link = session.get(DefaultSecurityGroup, (group.project_id, group.cloud))
    return link is not None and link.security_group_id == group.id


def create(core: NetworkCore, session: Session, ctx: AuthContext, body: dict[str, Any]) -> SecurityGroup:
    """Create a group with Neutron's two egress rules.

    :raises Forbidden: :raises Conflict: SecurityGroupDefaultAlreadyExists, OverQuota."""
    project_id = owner(ctx, body, "create_security_group")
    ensure_default(core, session, project_id)
    if body.get("name") == DEFAULT_NAME:
        raise conflict("SecurityGroupDefaultAlreadyExists", "Default security group already exists.")
    quotas.check(core, session, project_id, "security_group")
    group = SecurityGroup(cloud=core.region, project_id=project_id, name=body.get("name", ""),
                          description=body.get("description", ""), stateful=body.get("stateful", True), tags=[],
                          rules=[], extra={})
    session.add(group)
    session.flush()
    for ethertype in ("IPv4", "IPv6"):
        group.rules.append(SecurityGroupRule(cloud=core.region, project_id=project_id, direction="egress",
                                             ethertype=ethertype))
    session.flush()
    core.realise(session, group, action="create")
    return group


def update(core: NetworkCore, session: Session, ctx: AuthContext, group_id: str, changes: dict[str, Any]) -> SecurityGroup:
    """:raises NotFound: :raises Forbidden: :raises Conflict: renaming the default group."""
    group = get(core, session, ctx, group_id)
    authorize(ctx, "update_security_group", group.project_id)
    if "name" in changes and changes["name"] != group.name and (
            _is_default(session, group) or changes["name"] == DEFAULT_NAME):
        raise conflict("SecurityGroupCannotUpdateDefault", "Updating default security group not allowed.")
    update_fields(group, changes, ("name", "description", "stateful"))
    touch(group)
    session.flush()
    core.realise(session, group)
    return group


def delete(core: NetworkCore, session: Session, ctx: AuthContext, group_id: str) -> None:
    """:raises NotFound: :raises Forbidden: :raises Conflict: the default group (for non-admins),
    or one ports still use (SecurityGroupInUse)."""
    group = get(core, session, ctx, group_id)
    authorize(ctx, "delete_security_group", group.project_id)
    if _is_default(session, group) and not ctx.is_admin:
        raise conflict("SecurityGroupCannotRemoveDefault", "Insufficient rights for removing default security group.")
    for groups in session.scalars(select(Port.security_group_ids).where(Port.cloud == core.region)):
        if group.id in (groups or []):
            raise conflict("SecurityGroupInUse", f"Security Group {group.id} in use.")
    core.unrealise(session, group)
    rbac.forget(session, group)
    session.delete(group)
    session.flush()


# -- rules -----------------------------------------------------------------------------------------
def rule_query(core: NetworkCore, session: Session, ctx: AuthContext) -> Select[tuple[SecurityGroupRule]]:
    """The rules ``ctx`` may list, in no order (its project's default group is made first)."""
    ensure_default(core, session, ctx.project_id)
    return owned(ctx, SecurityGroupRule, core.region)


def get_rule(core: NetworkCore, session: Session, ctx: AuthContext, rule_id: str) -> SecurityGroupRule:
    """:raises NotFound: SecurityGroupRuleNotFound."""
    rule = lookup(session, SecurityGroupRule, rule_id, core.region)
    if rule is None or not (ctx.is_admin or rule.project_id == ctx.project_id):
        raise not_found("security_group_rule", rule_id)
    return rule


def protocol_number(protocol: str | None) -> int | None:
    """The IANA number of a protocol name or number string (None for any).

    :raises Invalid: SecurityGroupRuleInvalidProtocol.
    """
    if protocol is None or protocol in ("any", ""):
        return None
    if protocol.lower() in PROTOCOLS:
        return PROTOCOLS[protocol.lower()]
    if protocol.isdigit() and 0 <= int(protocol) <= 255:
        return int(protocol)
    raise Invalid(f"Security group rule protocol {protocol} not supported. Only protocol values "
                  f"{[None, *sorted(PROTOCOLS)]} and integer representations [0 to 255] are supported.",
                  kind="SecurityGroupRuleInvalidProtocol")


def _check_ports(number: int | None, low: int | None, high: int | None) -> None:
    """:raises Invalid: Neutron's port range and ICMP type/code errors."""
    if low is None and high is None:
        return
    if number is None:
        raise Invalid("Must also specify protocol if port range is given.",
                      kind="SecurityGroupProtocolRequiredWithPorts")
    if number in _ICMP_PROTOCOLS:
        for field, attr, value in (("type", "port_range_min", low), ("code", "port_range_max", high)):
            if value is not None and not 0 <= value <= 255:
                raise Invalid(f"Invalid value for ICMP {field} ({attr}) {value}. It must be 0 to 255.",
                              kind="SecurityGroupInvalidIcmpValue")
        if low is None and high is not None:
            raise Invalid(f"ICMP code (port-range-max) {high} is provided but ICMP type (port-range-min) "
                          "is missing.", kind="SecurityGroupMissingIcmpType")
        return
    if number in _PORT_PROTOCOLS:
        for value in (low, high):
            if value is not None and not 1 <= value <= 65535:
                raise Invalid(f"Invalid value for port {value}", kind="SecurityGroupInvalidPortValue")
        if low is None or high is None or low > high:
            raise Invalid("For TCP/UDP protocols, port_range_min must be <= port_range_max",
                          kind="SecurityGroupInvalidPortRange")
        return
    raise Invalid(f"Invalid protocol {number} for port range, only supported for TCP, UDP, UDPLITE, SCTP and DCCP.",
                  kind="SecurityGroupInvalidProtocolForPortRange")


def _remote_prefix(body: dict[str, Any]) -> str | None:
    """:raises Invalid: a bad prefix, one with a remote group, or one of the other ethertype."""
    prefix = body.get("remote_ip_prefix")
    if prefix is None:
        return None
    if body.get("remote_group_id"):
        raise Invalid("Only remote_ip_prefix or remote_group_id may be provided.",
                      kind="SecurityGroupRemoteGroupAndRemoteIpPrefix")
    try:
        net = ipaddress.ip_network(prefix, strict=False)
    except ValueError:
        raise bad_attribute("remote_ip_prefix", f"'{prefix}' is not a valid IP subnet") from None
    if f"IPv{net.version}" != body.get("ethertype", "IPv4"):
        raise Invalid(f"Conflicting value ethertype {body.get('ethertype', 'IPv4')} for CIDR {prefix}",
                      kind="SecurityGroupRuleParameterConflict")
    return prefix


def _key(rule: SecurityGroupRule | dict[str, Any]) -> tuple[Any, ...]:
    get = rule.get if isinstance(rule, dict) else lambda k: getattr(rule, k)
    prefix = get("remote_ip_prefix")
    if prefix:
        prefix = str(ipaddress.ip_network(prefix, strict=False))
        if prefix in ("0.0.0.0/0", "::/0"):
            prefix = None
    return (get("direction"), get("ethertype"), protocol_number(get("protocol")), get("port_range_min"),
            get("port_range_max"), prefix, get("remote_group_id"))


def create_rule(core: NetworkCore, session: Session, ctx: AuthContext, body: dict[str, Any]) -> SecurityGroupRule:
    """:raises NotFound: the group or the remote group. :raises Forbidden:
    :raises Invalid: protocol, ports, ICMP values, prefix. :raises Conflict: SecurityGroupRuleExists, OverQuota."""
    group = get(core, session, ctx, body["security_group_id"])
    authorize(ctx, "create_security_group_rule", group.project_id)
    if body.get("protocol") is not None:
        body = {**body, "protocol": str(body["protocol"])}
    number = protocol_number(body.get("protocol"))
    _check_ports(number, body.get("port_range_min"), body.get("port_range_max"))
    prefix = _remote_prefix(body)
    if body.get("remote_group_id"):
        get(core, session, ctx, body["remote_group_id"])
    wanted = {**body, "ethertype": body.get("ethertype", "IPv4"), "remote_ip_prefix": prefix}
    for existing in group.rules:
        if _key(existing) == _key(wanted):
            raise conflict("SecurityGroupRuleExists", f"Security group rule already exists. Rule id is {existing.id}.")
    quotas.check(core, session, group.project_id, "security_group_rule")
    rule = SecurityGroupRule(cloud=core.region, project_id=group.project_id, security_group_id=group.id, direction=body["direction"],
                             ethertype=wanted["ethertype"], protocol=body.get("protocol"),
                             port_range_min=body.get("port_range_min"), port_range_max=body.get("port_range_max"),
                             remote_ip_prefix=prefix, remote_group_id=body.get("remote_group_id"),
                             description=body.get("description", ""))
    group.rules.append(rule)
    touch(group)
    session.flush()
    core.realise(session, group)
    return rule


def delete_rule(core: NetworkCore, session: Session, ctx: AuthContext, rule_id: str) -> None:
    """:raises NotFound: :raises Forbidden:"""
    rule = get_rule(core, session, ctx, rule_id)
    authorize(ctx, "delete_security_group_rule", rule.project_id)
    group = session.get(SecurityGroup, rule.security_group_id)
    group.rules.remove(rule)
    touch(group)
    session.flush()
    core.realise(session, group)


def resolve(core: NetworkCore, session: Session, ctx: AuthContext, project_id: str,
            given: list[str] | None) -> list[str]:
    """The groups a port gets: the ones named (by id or name), else the project's default.

    :raises NotFound: SecurityGroupNotFound.
    """
    if given is None:
        default = ensure_default(core, session, project_id)
        return [default.id] if default is not None else []
    ids = []
    for ref in given:
        group = lookup(session, SecurityGroup, ref, core.region)
        if group is None:
            group = session.scalar(select(SecurityGroup).where(SecurityGroup.name == ref, SecurityGroup.cloud == core.region,
                                                               SecurityGroup.project_id == project_id))
        if group is None:  # a group an RBAC policy shares with the project, by name (as Nova looks them up)
            group = session.scalar(ordered(select(SecurityGroup).where(
                SecurityGroup.name == ref, SecurityGroup.cloud == core.region,
                SecurityGroup.id.in_(shared_with(_project_ctx(ctx, project_id), SecurityGroup, core.region,
                                                 SHARED)))).limit(1))
        if group is None or not (group.project_id == project_id or visible(ctx, group, session)):
            raise not_found("security_group", ref)
        ids.append(group.id)
    return ids


def _project_ctx(ctx: AuthContext, project_id: str) -> AuthContext:
    """``ctx`` as seen from ``project_id`` (the port's or server's project, which an admin may
    name): whose RBAC grants count."""
    return ctx if ctx.project_id == project_id else dataclasses.replace(ctx, project_id=project_id)

