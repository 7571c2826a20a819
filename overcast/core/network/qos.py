"""QoS policies and their rules (Neutron's ``qos``, ``qos-default``, ``qos-bw-limit-direction``,
``qos-bw-minimum-ingress``, ``qos-rule-type-details``), and the policy of networks and ports.

A policy belongs to a project; it is seen by its project, by admins, and by every project when
``shared``. Only admins create, change and delete policies and rules (Neutron's defaults). A
project has at most one default policy (``is_default``); a network made without a policy gets it.
A policy has at most one rule per type and direction. A port's own policy beats its network's
(:func:`effective_policy_id`). A policy a network or port uses cannot be deleted.

Which rule types a region takes is its network driver's declaration
(:attr:`~overcast.drivers.network.NetworkDriver.qos_rule_types`). The backend only records
policies: no driver applies a limit or a mark to traffic (docs/decisions/0053-qos-and-rbac.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from overcast.core.context import AuthContext
from overcast.core.errors import Conflict, Invalid, NotFound
from overcast.core.network import NetworkCore, rbac
from overcast.core.network.common import authorize, in_region, lookup, owner, shared_with, touch, update_fields, \
    visible
from overcast.core.network import errors
from overcast.core.network.errors import bad_attribute, conflict
from overcast.store.network import Network, Port, QosPolicy, QosRule

#: the largest integer Neutron's QoS rules take (its database's INTEGER)
MAX_INT = 2147483647
#: neutron-lib's valid DSCP marks
DSCP_MARKS = (0, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34, 36, 38, 40, 46, 48, 56)
DIRECTIONS = ("egress", "ingress")


@dataclass(frozen=True)
class Parameter:
    """One parameter of a rule type: an integer range (``values`` None) or a choice."""

    name: str
    default: Any = None
    required: bool = False
    start: int = 0
    end: int = MAX_INT
    values: tuple[Any, ...] | None = None


@dataclass(frozen=True)
class RuleType:
    name: str
    #: the URL collection and body member
    collection: str
    member: str
    parameters: tuple[Parameter, ...]

    @property
    def directed(self) -> bool:
        return any(p.name == "direction" for p in self.parameters)


_DIRECTION = Parameter("direction", default="egress", values=DIRECTIONS)
RULE_TYPES: dict[str, RuleType] = {t.name: t for t in (
    RuleType("bandwidth_limit", "bandwidth_limit_rules", "bandwidth_limit_rule",
             (Parameter("max_kbps", required=True), Parameter("max_burst_kbps", default=0), _DIRECTION)),
    RuleType("dscp_marking", "dscp_marking_rules", "dscp_marking_rule",
             (Parameter("dscp_mark", required=True, values=DSCP_MARKS),)),
    RuleType("minimum_bandwidth", "minimum_bandwidth_rules", "minimum_bandwidth_rule",
             (Parameter("min_kbps", required=True), _DIRECTION)),
)}


def supported(core: NetworkCore) -> list[RuleType]:
    """The rule types the region's network driver takes, in Neutron's order."""
    declared = getattr(core.driver, "qos_rule_types", frozenset())
    return [t for name, t in RULE_TYPES.items() if name in declared]


def rule_types(core: NetworkCore, ctx: AuthContext) -> list[RuleType]:
    """:raises Forbidden: not an admin (Neutron's ``get_rule_type``)."""
    authorize(ctx, "get_rule_type", None)
    return supported(core)


def rule_type(core: NetworkCore, ctx: AuthContext, name: str) -> RuleType:
    """:raises Forbidden: :raises NotFound: a type the region does not take."""
    for found in rule_types(core, ctx):
        if found.name == name:
            return found
    raise NotFound(f"Rule type {name} could not be found.", kind="QosRuleTypeNotFound")


def backend_name(core: NetworkCore) -> str:
    """What the rule type details call the region's QoS driver: its cloud driver's name."""
    cloud = core.clouds.get(core.region)
    return cloud.name if cloud is not None else ""


# -- policies --------------------------------------------------------------------------------
def _not_found(policy_id: str) -> NotFound:
    return errors.not_found("qos_policy", policy_id)


def _visible(ctx: AuthContext, policy: QosPolicy, session: Session) -> bool:
    return policy.shared or visible(ctx, policy, session)


def query(core: NetworkCore, session: Session, ctx: AuthContext) -> Select[tuple[QosPolicy]]:
    """The policies of the region ``ctx`` may list: its project's and shared ones (all for admins)."""
    policies = in_region(QosPolicy, core.region)
    if ctx.is_admin:
        return policies
    return policies.where(or_(QosPolicy.project_id == ctx.project_id, QosPolicy.shared.is_(True),
                              QosPolicy.id.in_(shared_with(ctx, QosPolicy, core.region))))


def get(core: NetworkCore, session: Session, ctx: AuthContext, policy_id: str) -> QosPolicy:
    """:raises NotFound: QosPolicyNotFound (none, another region's, or not visible)."""
    policy = lookup(session, QosPolicy, policy_id, core.region)
    if policy is None or not _visible(ctx, policy, session):
        raise _not_found(policy_id)
    return policy


def _set_default(core: NetworkCore, session: Session, policy: QosPolicy, wanted: bool | None) -> None:
    """:raises Conflict: QoSPolicyDefaultAlreadyExists, the project has another default."""
    if wanted is None:
        return
    if wanted:
        other = default_policy(core, session, policy.project_id)
        if other is not None and other.id != policy.id:
            raise conflict("QoSPolicyDefaultAlreadyExists",
                           f"A default QoS policy exists for project {policy.project_id}.")
    policy.is_default = bool(wanted)


def default_policy(core: NetworkCore, session: Session, project_id: str) -> QosPolicy | None:
    """The project's default policy in the region, None without one."""
    return session.scalar(in_region(QosPolicy, core.region).where(
        QosPolicy.project_id == project_id, QosPolicy.is_default.is_(True)).limit(1))


def create(core: NetworkCore, session: Session, ctx: AuthContext, body: dict[str, Any]) -> QosPolicy:
    """:raises Forbidden: not an admin. :raises Conflict: QoSPolicyDefaultAlreadyExists (Neutron
    has no quota on QoS policies)."""
    project_id = owner(ctx, body, "create_policy")
    policy = QosPolicy(cloud=core.region, project_id=project_id, name=body.get("name", ""),
                       description=body.get("description", ""), shared=bool(body.get("shared", False)),
                       is_default=False, tags=[], extra={}, revision_number=0)
    session.add(policy)
    _set_default(core, session, policy, body.get("is_default"))
    session.flush()
    rbac.follow_flags(core, session, policy)
    return policy


def update(core: NetworkCore, session: Session, ctx: AuthContext, policy_id: str,
           changes: dict[str, Any]) -> QosPolicy:
    """:raises NotFound: :raises Forbidden: :raises Conflict: QoSPolicyDefaultAlreadyExists."""
    policy = get(core, session, ctx, policy_id)
    authorize(ctx, "update_policy", policy.project_id)
    update_fields(policy, changes, ("name", "description", "shared"))
    _set_default(core, session, policy, changes.get("is_default"))
    touch(policy)
    session.flush()
    rbac.follow_flags(core, session, policy)
    return policy


def delete(core: NetworkCore, session: Session, ctx: AuthContext, policy_id: str) -> None:
    """:raises NotFound: :raises Forbidden: :raises Conflict: QosPolicyInUse (a network or port uses it)."""
    policy = get(core, session, ctx, policy_id)
    authorize(ctx, "delete_policy", policy.project_id)
    for model, object_type in ((Network, "network"), (Port, "port")):
        user = session.scalar(select(model.id).where(model.qos_policy_id == policy.id).limit(1))
        if user is not None:
            raise conflict("QosPolicyInUse", f"QoS Policy {policy.id} is used by {object_type} {user}.")
    rbac.forget(session, policy)
    session.delete(policy)
    session.flush()


# -- a network's or port's policy --------------------------------------------------------------
def policy_for(core: NetworkCore, session: Session, ctx: AuthContext, policy_id: str | None) -> str | None:
    """The policy a network or port is given (None: none), checked to be one the caller sees.

    :raises NotFound: QosPolicyNotFound.
    """
    if policy_id is None:
        return None
    return get(core, session, ctx, policy_id).id


def for_new_network(core: NetworkCore, session: Session, ctx: AuthContext, project_id: str,
                    body: dict[str, Any]) -> str | None:
    """A new network's policy: the one asked for (even ``null``), else the project's default.

    :raises NotFound: QosPolicyNotFound.
    """
    if "qos_policy_id" in body:
        return policy_for(core, session, ctx, body["qos_policy_id"])
    found = default_policy(core, session, project_id)
    return found.id if found is not None else None


def effective_policy_id(port: Port, network: Network | None) -> str | None:
    """The policy in force on a port: its own, else its network's."""
    if port.qos_policy_id:
        return port.qos_policy_id
    return network.qos_policy_id if network is not None else None


# -- rules -----------------------------------------------------------------------------------
def rule_type_of(collection: str) -> RuleType:
    """:raises NotFound: no rule type has this URL collection."""
    for found in RULE_TYPES.values():
        if found.collection == collection:
            return found
    raise NotFound(f"The resource could not be found: {collection}.", kind="HTTPNotFound")


def _rule_not_found(rule_id: str, policy_id: str) -> NotFound:
    return NotFound(f"QoS rule {rule_id} for policy {policy_id} could not be found.", kind="QosRuleNotFound")


def _checked(kind: RuleType, values: dict[str, Any], fill: bool) -> dict[str, Any]:
    """``values`` checked against ``kind``'s parameters (with ``fill``, the defaults added).

    :raises Invalid: a required one missing, a value out of range or not among the valid ones,
        as Neutron's attribute validators answer.
    """
    result: dict[str, Any] = {}
    for param in kind.parameters:
        if param.name not in values:
            if param.required and fill:
                raise Invalid(f"Failed to parse request. Required attribute '{param.name}' not specified",
                              kind="HTTPBadRequest")
            if fill:
                result[param.name] = param.default
            continue
        value = values[param.name]
        if param.values is not None:
            if value not in param.values:
                raise bad_attribute(param.name, f"{value} is not in valid_values")
        elif value is None or value < param.start:
            raise bad_attribute(param.name, f"'{value}' is too small - must be at least '{param.start}'")
        elif value > param.end:
            raise bad_attribute(param.name, f"'{value}' is too large - must be no larger than '{param.end}'")
        result[param.name] = value
    return result


def _conflicts(policy: QosPolicy, kind: RuleType, rule: QosRule, ignore: str | None) -> None:
    """:raises Conflict: QoSRulesConflict (one rule per type and direction), or
    QoSRuleParameterConflict (a minimum above the maximum of the same direction, or the reverse)."""
    for other in policy.rules:
        if other.id == ignore:
            continue
        if other.type == kind.name and other.direction == rule.direction:
            raise conflict("QoSRulesConflict", f"Rule {kind.name} conflicts with rule {other.id} which already "
                                               f"exists in QoS Policy {policy.id}.")
        if other.direction != rule.direction:
            continue
        if (kind.name, other.type) == ("minimum_bandwidth", "bandwidth_limit") and rule.min_kbps > other.max_kbps:
            raise _parameter_conflict(rule.min_kbps, policy, other.type, other.max_kbps)
        if (kind.name, other.type) == ("bandwidth_limit", "minimum_bandwidth") and rule.max_kbps < other.min_kbps:
            raise _parameter_conflict(rule.max_kbps, policy, other.type, other.min_kbps)


def _parameter_conflict(value: int, policy: QosPolicy, existing: str, limit: int) -> Conflict:
    return conflict("QoSRuleParameterConflict",
                    f"Unable to add the rule with value {value} to the policy {policy.id} as the existing rule of "
                    f"type {existing} restricts the bandwidth to {limit}.")


def _writable(core: NetworkCore, session: Session, ctx: AuthContext, policy_id: str, kind: RuleType,
              verb: str) -> QosPolicy:
    """The policy a rule is written to, with the caller allowed to.

    :raises NotFound: :raises Forbidden: :raises Invalid: a rule type the region does not take.
    """
    policy = get(core, session, ctx, policy_id)
    authorize(ctx, f"{verb}_policy_{kind.member}", policy.project_id)
    if kind not in supported(core):
        raise Invalid(f"Rule type {kind.name} is not supported by the network backend of region {core.region}.",
                      kind="QosRuleNotSupported")
    return policy


def rules(core: NetworkCore, session: Session, ctx: AuthContext, policy_id: str, kind: RuleType) -> list[QosRule]:
    """A policy's rules of one type (whoever sees the policy sees its rules). :raises NotFound:"""
    policy = get(core, session, ctx, policy_id)
    return [r for r in policy.rules if r.type == kind.name]


def get_rule(core: NetworkCore, session: Session, ctx: AuthContext, policy_id: str, kind: RuleType,
             rule_id: str) -> QosRule:
    """:raises NotFound: QosPolicyNotFound, QosRuleNotFound. :raises Forbidden:"""
    for rule in rules(core, session, ctx, policy_id, kind):
        if rule.id == rule_id:
            return rule
    raise _rule_not_found(rule_id, policy_id)


def create_rule(core: NetworkCore, session: Session, ctx: AuthContext, policy_id: str, kind: RuleType,
                body: dict[str, Any]) -> QosRule:
    """:raises NotFound: :raises Forbidden: :raises Invalid: :raises Conflict: QoSRulesConflict,
    QoSRuleParameterConflict."""
    policy = _writable(core, session, ctx, policy_id, kind, "create")
    values = _checked(kind, body, fill=True)
    rule = QosRule(qos_policy_id=policy.id, type=kind.name, direction=values.pop("direction", ""), **values)
    _conflicts(policy, kind, rule, None)
    policy.rules.append(rule)
    touch(policy)
    session.flush()
    return rule


def update_rule(core: NetworkCore, session: Session, ctx: AuthContext, policy_id: str, kind: RuleType,
                rule_id: str, changes: dict[str, Any]) -> QosRule:
    """:raises NotFound: :raises Forbidden: :raises Invalid: :raises Conflict:"""
    policy = _writable(core, session, ctx, policy_id, kind, "update")
    rule = next((r for r in policy.rules if r.type == kind.name and r.id == rule_id), None)
    if rule is None:
        raise _rule_not_found(rule_id, policy_id)
    values = _checked(kind, changes, fill=False)
    update_fields(rule, values, tuple(values))
    _conflicts(policy, kind, rule, rule.id)
    touch(policy)
    session.flush()
    return rule


def delete_rule(core: NetworkCore, session: Session, ctx: AuthContext, policy_id: str, kind: RuleType,
                rule_id: str) -> None:
    """:raises NotFound: :raises Forbidden:"""
    policy = get(core, session, ctx, policy_id)
    authorize(ctx, f"delete_policy_{kind.member}", policy.project_id)
    rule = next((r for r in policy.rules if r.type == kind.name and r.id == rule_id), None)
    if rule is None:
        raise _rule_not_found(rule_id, policy_id)
    policy.rules.remove(rule)
    touch(policy)
    session.flush()

