"""Nova's security-group proxy over Neutron's groups (``os-security-groups`` and
``os-security-group-rules`` below 2.36).

Nova speaks of ingress rules only, in its own form (``ip_protocol``, ``from_port``,
``to_port``, ``cidr`` or ``group_id``); it checks that form itself, translates it to a Neutron
rule and lets Neutron's own rules (:mod:`overcast.core.network.security_groups`) make, change
and remove groups and rules, so both APIs apply exactly the same rules. Neutron's refusals are
answered as Nova answers them (``nova.network.security_group_api``): a conflict on create is
Nova's 403 ``SecurityGroupLimitExceeded``, one on delete (a group in use, the default group)
its 400.
"""

from __future__ import annotations

import ipaddress
import uuid
from typing import Any, Iterable, Mapping
from urllib.parse import unquote

from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.core.context import AuthContext
from overcast.core.errors import Conflict, Forbidden, Invalid
from overcast.core.network import NetworkCore
from overcast.core.network import security_groups as group_rules
from overcast.store.network import SecurityGroup, SecurityGroupRule

#: what Nova shows as the cidr of a rule without a remote prefix
ANY_CIDR = "0.0.0.0/0"
#: the protocols Nova's API accepts in a rule
PROTOCOLS = ("tcp", "udp", "icmp")
MAX_LENGTH = 255


def validate_id(value: Any) -> str:
    """:raises Invalid: "Security group id should be uuid"."""
    try:
        uuid.UUID(value)
    except (AttributeError, TypeError, ValueError):  # not a string, or not a UUID
        raise Invalid("Security group id should be uuid") from None
    return value


def check_property(value: Any, name: str) -> str:
    """A group's ``name`` or ``description``: a string of at most 255 characters.

    :raises Invalid: oslo's check_string_length messages.
    """
    if not isinstance(value, str):
        raise Invalid(f"{name} is not a string or unicode")
    if len(value) > MAX_LENGTH:
        raise Invalid(f"{name} has {len(value)} characters, more than {MAX_LENGTH}.")
    return value


def parse_cidr(cidr: Any) -> str:
    """A rule's ``cidr`` (URL-quoted allowed); none means any IPv4 address.

    :raises Invalid: "<cidr> is not a valid IP network."
    """
    if not cidr:
        return ANY_CIDR
    text = unquote(cidr) if isinstance(cidr, str) else None
    try:
        if text is None or "/" not in text:
            raise ValueError(text)
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise Invalid(f"{cidr} is not a valid IP network.") from None
    return text


def new_ingress_rule(protocol: Any, from_port: Any, to_port: Any, *, cidr: str | None = None,
                     group_id: str | None = None) -> dict[str, Any] | None:
    """The rule a request asks for, in Nova's form; None when a ``cidr`` rule lacks its protocol
    or ports. A ``group_id`` rule without ports opens every port of its protocol.

    :raises Invalid: ports (ICMP type/code) that are not integers, a protocol other than tcp,
        udp or icmp, a TCP/UDP range that is reversed or outside 1-65535, an ICMP type or code
        outside -1..255.
    """
    values: dict[str, Any] = {}
    name = str(protocol).lower() if protocol else ""
    if group_id:
        values["group_id"] = group_id
        if from_port is None and to_port is None:
            if name == "icmp":
                from_port = to_port = -1
            elif name in ("tcp", "udp"):
                from_port, to_port = 1, 65535
    elif cidr:
        values["cidr"] = cidr
    if not (protocol and from_port is not None and to_port is not None):
        return None if cidr else values
    try:
        from_port, to_port = int(from_port), int(to_port)
    except (TypeError, ValueError):
        reason = ("Type and Code must be integers for ICMP protocol type" if name == "icmp"
                  else "To and From ports must be integers")
        raise Invalid(f"Invalid input received: {reason}") from None
    if name not in PROTOCOLS:
        raise Invalid(f"Invalid IP protocol {protocol}.")
    if name in ("tcp", "udp"):
        if from_port > to_port:
            raise Invalid(f"Invalid port range {from_port}:{to_port}. Former value cannot be greater than the later")
        if from_port < 1 or to_port > 65535:
            raise Invalid(f"Invalid port range {from_port}:{to_port}. Valid {name.upper()} ports should be "
                          "between 1-65535")
    elif not (-1 <= from_port <= 255 and -1 <= to_port <= 255):
        raise Invalid(f"Invalid port range {from_port}:{to_port}. For ICMP, the type:code must be valid")
    values.update(protocol=name, from_port=from_port, to_port=to_port)
    return values


def nova_rule(rule: SecurityGroupRule) -> dict[str, Any]:
    """A Neutron rule in Nova's form: a protocol without ports shows 1-65535 (TCP/UDP) or -1
    (any other), no remote prefix shows ``0.0.0.0/0``."""
    low, high = rule.port_range_min, rule.port_range_max
    if rule.protocol and low is None and high is None:
        low, high = (1, 65535) if rule.protocol.lower() in ("tcp", "udp") else (-1, -1)
    return {"id": rule.id, "parent_group_id": rule.security_group_id, "protocol": rule.protocol,
            "from_port": low, "to_port": high, "group_id": rule.remote_group_id,
            "cidr": rule.remote_ip_prefix or ANY_CIDR}


def ingress(group: SecurityGroup) -> list[SecurityGroupRule]:
    """The rules Nova shows of a group: its ingress rules."""
    return [r for r in group.rules if r.direction == "ingress"]


def visible_groups(session: Session, ctx: AuthContext, ids: Iterable[str | None]) -> dict[str, SecurityGroup]:
    """The groups among ``ids`` the caller can see (a rule naming another is not shown)."""
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    query = select(SecurityGroup).where(SecurityGroup.id.in_(wanted))
    if not ctx.is_admin:
        query = query.where(SecurityGroup.project_id == ctx.project_id)
    return {g.id: g for g in session.scalars(query)}


def list_groups(network: NetworkCore, session: Session, ctx: AuthContext, *, all_tenants: bool) -> list[SecurityGroup]:
    """The caller's project's groups (its ``default`` made on first use); every project's for an
    admin asking for ``all_tenants``."""
    groups = group_rules.listing(network, session, ctx)
    if ctx.is_admin and all_tenants:
        return groups
    return [g for g in groups if g.project_id == ctx.project_id]


def get_group(network: NetworkCore, session: Session, ctx: AuthContext, group_id: Any) -> SecurityGroup:
    """:raises Invalid: not a UUID. :raises NotFound: unknown, another region's or another project's group."""
    return group_rules.get(network, session, ctx, validate_id(group_id))


def create_group(network: NetworkCore, session: Session, ctx: AuthContext, name: Any,
                 description: Any) -> SecurityGroup:
    """:raises Invalid: a bad name or description. :raises Forbidden: over quota, named
    ``default``, or not allowed."""
    body = {"name": check_property(name, "name"), "description": check_property(description, "description")}
    try:
        return group_rules.create(network, session, ctx, body)
    except Conflict as exc:
        raise Forbidden(exc.message) from exc


def update_group(network: NetworkCore, session: Session, ctx: AuthContext, group: SecurityGroup, name: Any,
                 description: Any) -> SecurityGroup:
    """Rename and describe ``group`` (both are given, as Nova requires).

    :raises Invalid: a bad name or description; renaming the default group or naming one
        ``default``. :raises Forbidden: not allowed.
    """
    changes = {"name": check_property(name, "name"), "description": check_property(description, "description")}
    try:
        return group_rules.update(network, session, ctx, group.id, changes)
    except Conflict as exc:
        raise Invalid(exc.message) from exc


def delete_group(network: NetworkCore, session: Session, ctx: AuthContext, group_id: Any) -> None:
    """:raises Invalid: not a UUID; the group is in use or is the project's default.
    :raises NotFound: :raises Forbidden:"""
    group = get_group(network, session, ctx, group_id)
    try:
        group_rules.delete(network, session, ctx, group.id)
    except Conflict as exc:
        raise Invalid(exc.message) from exc


def _exists(group: SecurityGroup, wanted: Mapping[str, Any]) -> str | None:
    """The id of a rule of ``group`` Nova deems the same as ``wanted``."""
    keys = ("group_id", "cidr", "from_port", "to_port", "protocol")
    for rule in map(nova_rule, ingress(group)):
        if all(rule.get(k) == wanted.get(k) for k in keys):
            return rule["id"]
    return None


def create_rule(network: NetworkCore, session: Session, ctx: AuthContext,
                body: Mapping[str, Any]) -> SecurityGroupRule:
    """An ingress rule from Nova's ``security_group_rule`` body (``parent_group_id``,
    ``ip_protocol``, ``from_port``, ``to_port``, and ``cidr`` or ``group_id``).

    :raises Invalid: a bad group id, cidr, protocol or port range; not enough to make a rule; a
        rule Nova already sees in the group; what Neutron refused.
    :raises NotFound: the parent or the remote group.
    :raises Forbidden: over quota, a rule Neutron already has, or not allowed.
    """
    parent = get_group(network, session, ctx, body.get("parent_group_id"))
    if body.get("group_id") is not None:
        source = get_group(network, session, ctx, body["group_id"])
        rule = new_ingress_rule(body.get("ip_protocol"), body.get("from_port"), body.get("to_port"),
                                group_id=source.id)
    else:
        rule = new_ingress_rule(body.get("ip_protocol"), body.get("from_port"), body.get("to_port"),
                                cidr=parse_cidr(body.get("cidr")))
    if rule is None:
        raise Invalid("Not enough parameters to build a valid rule.")
    ethertype = "IPv4"  # a rule naming a group is IPv4 only, as Nova makes it
    if "cidr" in rule:
        interface = ipaddress.ip_interface(rule["cidr"])
        if not interface.ip.is_unspecified and interface.network.prefixlen == 0:
            raise Invalid(f"Bad prefix for network in cidr {rule['cidr']}")
        ethertype = f"IPv{interface.version}"
    if _exists(parent, rule):
        raise Invalid(f"This rule already exists in group {parent.id}")
    neutron = {"security_group_id": parent.id, "direction": "ingress", "ethertype": ethertype,
               "protocol": rule.get("protocol"), "remote_ip_prefix": rule.get("cidr"),
               "remote_group_id": rule.get("group_id")}
    if rule.get("from_port", -1) != -1:
        neutron["port_range_min"] = rule["from_port"]
    if rule.get("to_port", -1) != -1:
        neutron["port_range_max"] = rule["to_port"]
    try:
        return group_rules.create_rule(network, session, ctx, neutron)
    except Conflict as exc:
        raise Forbidden(exc.message) from exc


def delete_rule(network: NetworkCore, session: Session, ctx: AuthContext, rule_id: Any) -> None:
    """:raises Invalid: not a UUID. :raises NotFound: unknown or another project's rule.
    :raises Forbidden: not allowed."""
    group_rules.delete_rule(network, session, ctx, validate_id(rule_id))
