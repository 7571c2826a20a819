"""Neutron's named errors (neutron-lib's exception types and messages), as core errors.

The API renders each as ``{"NeutronError": {"type": <kind>, "message": ..., "detail": ""}}``.
"""

from __future__ import annotations

from overcast.core.errors import Conflict, Forbidden, Invalid, NotFound, OvercastError


def not_found(resource: str, item_id: str) -> NotFound:
    """``NetworkNotFound`` and its siblings, each with neutron-lib's message."""
    kind, message = _NOT_FOUND[resource]
    return NotFound(message % item_id, kind=kind)


_NOT_FOUND = {
    "network": ("NetworkNotFound", "Network %s could not be found."),
    "subnet": ("SubnetNotFound", "Subnet %s could not be found."),
    "port": ("PortNotFound", "Port %s could not be found."),
    "router": ("RouterNotFound", "Router %s could not be found."),
    "floatingip": ("FloatingIPNotFound", "Floating IP %s could not be found"),
    "security_group": ("SecurityGroupNotFound", "Security group %s does not exist"),
    "security_group_rule": ("SecurityGroupRuleNotFound", "Security group rule %s does not exist"),
    "subnetpool": ("SubnetPoolNotFound", "Subnet pool %s could not be found."),
    "address_scope": ("AddressScopeNotFound", "Address scope %s could not be found."),
    "qos_policy": ("QosPolicyNotFound", "QoS policy %s could not be found."),
}


def invalid_input(message: str) -> Invalid:
    return Invalid(f"Invalid input for operation: {message}.", kind="InvalidInput")


def bad_attribute(attr: str, reason: str) -> Invalid:
    """What Neutron's attribute validators answer (a plain HTTPBadRequest)."""
    return Invalid(f"Invalid input for {attr}. Reason: {reason}.", kind="HTTPBadRequest")


def bad_request(resource: str, message: str) -> Invalid:
    return Invalid(f"Bad {resource} request: {message}.", kind="BadRequest")


def policy(action: str) -> Forbidden:
    return Forbidden(f"({'rule:' + action}) is disallowed by policy", kind="PolicyNotAuthorized")


def conflict(kind: str, message: str) -> Conflict:
    return Conflict(message, kind=kind)


def error(cls: type[OvercastError], kind: str, message: str) -> OvercastError:
    return cls(message, kind=kind)
