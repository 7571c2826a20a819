"""Metering label rules (``/v2.0/metering/metering-label-rules``): traffic to or from a remote
prefix (deprecated), or from a source and/or to a destination prefix
(``metering_source_and_destination_fields``), in one direction, counted by a label or
(``excluded``) left out of it. The admin's alone, as labels are
(:mod:`overcast.core.network.metering`); no two rules of one label, direction and ``excluded``
whose remote prefixes overlap (Neutron's MeteringLabelRuleOverlaps), checked under the label's lock so two
concurrent creates cannot both pass."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from overcast.core.context import AuthContext
from overcast.core.errors import Invalid, NotFound
from overcast.core.network import metering
from overcast.core.network.common import authorize
from overcast.core.network.errors import bad_attribute, conflict
from overcast.store.db import lock_row
from overcast.store.network import MeteringLabel, MeteringLabelRule

if TYPE_CHECKING:
    from overcast.core.network import NetworkCore

DIRECTIONS = ("ingress", "egress")


def not_found(rule_id: str) -> NotFound:
    return NotFound(f"Metering label rule {rule_id} does not exist", kind="MeteringLabelRuleNotFound")


def query(core: NetworkCore, session: Session, ctx: AuthContext) -> Select[tuple[MeteringLabelRule]]:
    """The rules of the region's labels ``ctx`` may list (every one for the admin, none otherwise)."""
    labels = metering.query(core, session, ctx).with_only_columns(MeteringLabel.id)
    return select(MeteringLabelRule).where(MeteringLabelRule.metering_label_id.in_(labels.scalar_subquery()))


def get(core: NetworkCore, session: Session, ctx: AuthContext, rule_id: str) -> MeteringLabelRule:
    """:raises NotFound: MeteringLabelRuleNotFound (also another region's, or a caller who may
    not read them)."""
    rule = session.get(MeteringLabelRule, rule_id) if rule_id else None
    if rule is None:
        raise not_found(rule_id)
    try:
        metering.get(core, session, ctx, rule.metering_label_id)
    except NotFound:
        raise not_found(rule_id) from None
    return rule


def prefix(value: str, attr: str = "remote_ip_prefix") -> str:
    """A remote IP prefix as Neutron's ``type:subnet`` validator takes it.

    :raises Invalid: not a CIDR, or one with host bits set (naming ``attr``).
    """
    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise bad_attribute(attr, f"'{value}' is not a valid IP subnet") from None
    if "/" not in value or str(network) != value:
        raise bad_attribute(attr, f"'{value}' isn't a recognized IP subnet cidr, '{network}' is recommended")
    return value


def address(value: str, attr: str) -> str:
    """A source or destination prefix as Neutron's metering plugin takes it (an address or an
    interface: ``ipaddress.ip_interface``, host bits allowed), kept as given.

    :raises Invalid: anything else (Neutron's ``Invalid``, naming ``attr``).
    """
    try:
        ipaddress.ip_interface(value)
    except ValueError as exc:
        raise Invalid(f"{attr}: {value} is invalid [{exc}].", kind="Invalid") from None
    return value


def prefixes(body: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    """``(remote, source, destination)`` of a rule to make, as Neutron's metering plugin checks
    them (``metering_source_and_destination_fields``): each valid when given; the deprecated
    ``remote_ip_prefix`` not with either of the others; at least one of the three.

    :raises Invalid: naming the field (or the three, when none is given).
    """
    remote = prefix(body["remote_ip_prefix"]) if body.get("remote_ip_prefix") else None
    source = address(body["source_ip_prefix"], "source_ip_prefix") if body.get("source_ip_prefix") else None
    destination = (address(body["destination_ip_prefix"], "destination_ip_prefix")
                   if body.get("destination_ip_prefix") else None)
    if remote and (source or destination):
        raise Invalid("Cannot use 'remote-ip-prefix' in conjunction with 'source-ip-prefix' or "
                      "'destination-ip-prefix'.", kind="Invalid")
    if not (remote or source or destination):
        raise Invalid("You must define at least one of the following parameters 'remote_ip_prefix', or "
                      "'source_ip_prefix' or 'destination_ip_prefix'.", kind="Invalid")
    return remote, source, destination


def create(core: NetworkCore, session: Session, ctx: AuthContext, body: dict[str, Any]) -> MeteringLabelRule:
    """:raises NotFound: MeteringLabelNotFound. :raises Forbidden: anyone but the admin.
    :raises Invalid: a direction other than ingress/egress, a bad prefix, none of the three or
    ``remote_ip_prefix`` with another.
    :raises Conflict: MeteringLabelRuleOverlaps (``remote_ip_prefix`` only, as Neutron checks)."""
    label = metering.get(core, session, ctx, body["metering_label_id"])
    authorize(ctx, "create_metering_label_rule", label.project_id)
    direction = body.get("direction", "ingress")
    if direction not in DIRECTIONS:
        raise bad_attribute("direction", f"'{direction}' is not in {list(DIRECTIONS)}")
    remote, source, destination = prefixes(body)
    excluded = bool(body.get("excluded", False))
    if lock_row(session, MeteringLabel, label.id) is None:  # deleted meanwhile
        raise metering.not_found(label.id)
    if remote is not None:
        others = session.scalars(select(MeteringLabelRule.remote_ip_prefix).where(
            MeteringLabelRule.metering_label_id == label.id, MeteringLabelRule.direction == direction,
            MeteringLabelRule.excluded.is_(excluded), MeteringLabelRule.remote_ip_prefix.is_not(None)))
        mine = ipaddress.ip_network(remote)
        if any(mine.overlaps(ipaddress.ip_network(other)) for other in others if other):  # type: ignore[arg-type]
            raise conflict("MeteringLabelRuleOverlaps",
                           f"Metering label rule with remote_ip_prefix {remote} overlaps another.")
    rule = MeteringLabelRule(metering_label_id=label.id, direction=direction, remote_ip_prefix=remote,
                             source_ip_prefix=source, destination_ip_prefix=destination, excluded=excluded)
    session.add(rule)
    session.flush()
    return rule


def delete(core: NetworkCore, session: Session, ctx: AuthContext, rule_id: str) -> None:
    """:raises NotFound: :raises Forbidden:"""
    rule = get(core, session, ctx, rule_id)
    label = session.get(MeteringLabel, rule.metering_label_id)
    authorize(ctx, "delete_metering_label_rule", label.project_id if label is not None else None)
    session.delete(rule)
    session.flush()
