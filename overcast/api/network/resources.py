"""Each Neutron resource's request attributes, bound to the generic collection and item
responders: networks, subnets, ports, routers, floating IPs, security groups and rules."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import selectinload
from sqlalchemy.sql import Select

from overcast.api import faults
from overcast.api.network import views
from overcast.api.network.common import BOOL, INTEGER, NAME, STANDARD_READ_ONLY, UUID, Kind
from overcast.core.network import floating_ips, networks, ports, routers, security_groups, subnets
from overcast.store.network import FloatingIp, Network, Port, Router, SecurityGroup, SecurityGroupRule, Subnet

_OWNER = {"tenant_id": UUID, "project_id": UUID}
_DESCRIPTION = {"description": {"type": "string", "maxLength": 255}}
_IP = {"type": "string", "minLength": 1, "maxLength": 64}
_NULLABLE_IP = {"type": ["string", "null"], "maxLength": 64}
_ROUTES = {"type": ["array", "null"], "items": {
    "type": "object", "required": ["destination", "nexthop"], "additionalProperties": False,
    "properties": {"destination": _IP, "nexthop": _IP}}}
_FIXED_IPS = {"type": ["array", "null"], "items": {
    "type": "object", "additionalProperties": False, "properties": {"subnet_id": UUID, "ip_address": _IP}}}
_PAIRS = {"type": ["array", "null"], "items": {
    "type": "object", "required": ["ip_address"], "additionalProperties": False,
    "properties": {"ip_address": _IP, "mac_address": {"type": "string", "maxLength": 32}}}}
_PROVIDER = {"provider:network_type": {"type": "string", "maxLength": 32},
             "provider:physical_network": {"type": ["string", "null"], "maxLength": 64},
             "provider:segmentation_id": {"type": ["integer", "null"], "minimum": 0}}

NETWORK_UPDATE: dict[str, Any] = {"name": NAME, "admin_state_up": BOOL, "shared": BOOL, "router:external": BOOL,
                                  "is_default": BOOL,
                                  "mtu": {"type": "integer", "minimum": 68, "maximum": 65535},
                                  "port_security_enabled": BOOL, **_DESCRIPTION}
NETWORK_CREATE = {**NETWORK_UPDATE, **_OWNER, **_PROVIDER}
_QOS_POLICY = {"qos_policy_id": {"type": ["string", "null"], "maxLength": 64}}

SUBNET_UPDATE: dict[str, Any] = {
    "name": NAME, "gateway_ip": _NULLABLE_IP, "enable_dhcp": BOOL,
    "allocation_pools": {"type": "array", "items": {"type": "object", "required": ["start", "end"],
                                                    "properties": {"start": _IP, "end": _IP}}},
    "dns_nameservers": {"type": ["array", "null"], "items": {"type": "string"}}, "host_routes": _ROUTES,
    **_DESCRIPTION}
SUBNET_CREATE = {**SUBNET_UPDATE, **_OWNER, "network_id": UUID, "ip_version": {"type": "integer", "enum": [4, 6]},
                 "cidr": {"type": ["string", "null"]}, "subnetpool_id": {"type": ["string", "null"], "maxLength": 64},
                 "prefixlen": INTEGER, "use_default_subnetpool": BOOL,
                 "ipv6_ra_mode": {"type": ["string", "null"], "enum": [None, *subnets.IPV6_MODES]},
                 "ipv6_address_mode": {"type": ["string", "null"], "enum": [None, *subnets.IPV6_MODES]}}

_DHCP_OPTIONS = {"type": ["array", "null"], "items": {
    "type": "object", "required": ["opt_name"], "additionalProperties": False,
    "properties": {"opt_name": {"type": "string", "minLength": 1, "maxLength": 64},
                   "opt_value": {"type": ["string", "null"], "maxLength": 255},
                   "ip_version": {"type": ["integer", "string"], "enum": [4, 6, "4", "6"]}}}}
PORT_UPDATE: dict[str, Any] = {
    "name": NAME, "admin_state_up": BOOL, "device_id": {"type": "string", "maxLength": 255},
    "device_owner": {"type": "string", "maxLength": 255}, "fixed_ips": _FIXED_IPS,
    "security_groups": {"type": ["array", "null"], "items": UUID}, "allowed_address_pairs": _PAIRS,
    "port_security_enabled": BOOL, "mac_address": {"type": "string", "maxLength": 32},
    "binding:host_id": {"type": ["string", "null"], "maxLength": 255},
    "binding:profile": {"type": ["object", "null"]}, "extra_dhcp_opts": _DHCP_OPTIONS, **_DESCRIPTION}
NETWORK_UPDATE.update(_QOS_POLICY)
NETWORK_CREATE.update(_QOS_POLICY)
PORT_UPDATE.update(_QOS_POLICY)
PORT_CREATE = {**PORT_UPDATE, **_OWNER, "network_id": UUID,
               "binding:vnic_type": {"type": "string", "enum": ["normal", "direct", "macvtap", "baremetal",
                                                                "direct-physical", "virtio-forwarder"]}}

_GATEWAY = {"type": ["object", "null"], "additionalProperties": False, "properties": {
    "network_id": UUID, "enable_snat": BOOL, "external_fixed_ips": _FIXED_IPS}}
ROUTER_UPDATE: dict[str, Any] = {"name": NAME, "admin_state_up": BOOL, "external_gateway_info": _GATEWAY,
                                 "distributed": BOOL,
                                 "routes": _ROUTES, **_DESCRIPTION}
ROUTER_CREATE = {k: v for k, v in {**ROUTER_UPDATE, **_OWNER}.items() if k != "routes"}

FIP_UPDATE: dict[str, Any] = {"port_id": {"type": ["string", "null"]}, "fixed_ip_address": _NULLABLE_IP,
                              **_DESCRIPTION}
FIP_CREATE = {**FIP_UPDATE, **_OWNER, "floating_network_id": UUID, "subnet_id": UUID, "floating_ip_address": _IP}

SG_UPDATE: dict[str, Any] = {"name": NAME, "stateful": BOOL, **_DESCRIPTION}
SG_CREATE = {**SG_UPDATE, **_OWNER}

_PORT_NUMBER = {"type": ["integer", "null"]}
RULE_CREATE: dict[str, Any] = {
    **_OWNER, **_DESCRIPTION, "security_group_id": UUID,
    "direction": {"type": "string", "enum": ["ingress", "egress"]},
    "ethertype": {"type": "string", "enum": ["IPv4", "IPv6"]},
    "protocol": {"type": ["string", "integer", "null"]}, "port_range_min": _PORT_NUMBER,
    "port_range_max": _PORT_NUMBER, "remote_ip_prefix": {"type": ["string", "null"]},
    "remote_group_id": {"type": ["string", "null"]}}


#: the keys of the ``fixed_ips`` filter -> the :class:`ports.FixedIpFilter` field they fill
_FIXED_IP_KEYS = {"ip_address": "ip_addresses", "subnet_id": "subnet_ids", "ip_address_substr": "substrings"}


def _fixed_ips(query: Select[Any], values: list[str]) -> Select[Any]:
    """``fixed_ips=ip_address=...``, ``=subnet_id=...``, ``=ip_address_substr=...`` (repeatable;
    other keys are ignored, as Neutron ignores them).

    :raises faults.BadRequest: a value that is not ``key=value`` (Neutron's InvalidInput).
    """
    wanted: dict[str, list[str]] = {field: [] for field in _FIXED_IP_KEYS.values()}
    for value in values:
        key, equals, text = value.partition("=")
        if not equals:
            raise faults.BadRequest(f"Invalid input for operation: '{value}' is not of the form <key>=[value].",
                                    kind="InvalidInput")
        if key in _FIXED_IP_KEYS:
            wanted[_FIXED_IP_KEYS[key]].append(text)
    return ports.with_fixed_ips(query, ports.FixedIpFilter(**{k: tuple(v) for k, v in wanted.items()}))


def _columns(model: Any, *names: str, **renamed: str) -> dict[str, Any]:
    """What a list filters and sorts on in SQL: the attributes a view shows straight from a column
    of ``model`` (the standard ones and ``names``; ``renamed`` maps a wire name to its column)."""
    columns = {name: getattr(model, name) for name in ("id", "project_id", "description", "revision_number", *names)}
    return {**columns, "tenant_id": model.project_id, **{wire: getattr(model, attr) for wire, attr in renamed.items()}}


KINDS: tuple[Kind, ...] = (
    Kind("networks", "network", views.network, networks, NETWORK_CREATE, NETWORK_UPDATE,
         columns=_columns(Network, "name", "admin_state_up", "status", "shared", "mtu", "port_security_enabled",
                          **{"router:external": "external"}),
         options=(selectinload(Network.subnets).load_only(Subnet.id, Subnet.subnetpool_id),), many=views.networks,
         kept=views.network_rows, rows=networks.LIST_COLUMNS,
         extra_read_only=(*STANDARD_READ_ONLY, "ipv4_address_scope", "ipv6_address_scope")),
    Kind("subnets", "subnet", views.subnet, subnets, SUBNET_CREATE, SUBNET_UPDATE,
         required=("network_id", "ip_version"), integers=("prefixlen",),
         columns=_columns(Subnet, "name", "network_id", "ip_version", "cidr", "gateway_ip", "enable_dhcp",
                          "ipv6_ra_mode", "ipv6_address_mode", "subnetpool_id")),
    Kind("ports", "port", views.port, ports, PORT_CREATE, PORT_UPDATE, required=("network_id",),
         columns=_columns(Port, "name", "network_id", "mac_address", "admin_state_up", "status", "device_id",
                          "device_owner", "port_security_enabled"),
         narrowing={"fixed_ips": _fixed_ips}, many=views.ports, kept=views.port_rows, rows=ports.LIST_COLUMNS),
    Kind("routers", "router", views.router, routers, ROUTER_CREATE, ROUTER_UPDATE,
         columns=_columns(Router, "name", "admin_state_up", "status"), many=views.routers),
    Kind("floatingips", "floatingip", views.floating_ip, floating_ips, FIP_CREATE, FIP_UPDATE,
         required=("floating_network_id",),
         columns=_columns(FloatingIp, "floating_network_id", "floating_ip_address", "router_id", "port_id",
                          "fixed_ip_address", "status"), many=views.floating_ips),
    Kind("security_groups", "security_group", views.security_group, security_groups, SG_CREATE, SG_UPDATE,
         url="security-groups", columns=_columns(SecurityGroup, "name", "stateful"), many=views.security_groups),
)


class _Rules:
    """The security group rule functions under the generic names (rules have no update)."""

    query = staticmethod(security_groups.rule_query)
    get = staticmethod(security_groups.get_rule)
    create = staticmethod(security_groups.create_rule)
    delete = staticmethod(security_groups.delete_rule)


RULES = Kind("security_group_rules", "security_group_rule", views.security_group_rule, _Rules, RULE_CREATE, {},
             required=("security_group_id", "direction"), url="security-group-rules",
             columns=_columns(SecurityGroupRule, "security_group_id", "direction", "ethertype", "protocol",
                              "port_range_min", "port_range_max", "remote_ip_prefix", "remote_group_id"))
