"""Each Neutron resource's request attributes, bound to the generic collection and item
responders: networks, subnets, ports, routers, floating IPs, security groups and rules."""

from __future__ import annotations

from typing import Any

from overcast.api.network import views
from overcast.api.network.common import BOOL, NAME, UUID, Kind
from overcast.core.network import floating_ips, networks, ports, routers, security_groups, subnets

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
                                  "mtu": {"type": "integer", "minimum": 68, "maximum": 65535},
                                  "port_security_enabled": BOOL, **_DESCRIPTION}
NETWORK_CREATE = {**NETWORK_UPDATE, **_OWNER, **_PROVIDER}

SUBNET_UPDATE: dict[str, Any] = {
    "name": NAME, "gateway_ip": _NULLABLE_IP, "enable_dhcp": BOOL,
    "allocation_pools": {"type": "array", "items": {"type": "object", "required": ["start", "end"],
                                                    "properties": {"start": _IP, "end": _IP}}},
    "dns_nameservers": {"type": ["array", "null"], "items": {"type": "string"}}, "host_routes": _ROUTES,
    **_DESCRIPTION}
SUBNET_CREATE = {**SUBNET_UPDATE, **_OWNER, "network_id": UUID, "ip_version": {"type": "integer", "enum": [4, 6]},
                 "cidr": {"type": ["string", "null"]}, "subnetpool_id": {"type": "null"},
                 "ipv6_ra_mode": {"type": ["string", "null"], "enum": [None, *subnets.IPV6_MODES]},
                 "ipv6_address_mode": {"type": ["string", "null"], "enum": [None, *subnets.IPV6_MODES]}}

PORT_UPDATE: dict[str, Any] = {
    "name": NAME, "admin_state_up": BOOL, "device_id": {"type": "string", "maxLength": 255},
    "device_owner": {"type": "string", "maxLength": 255}, "fixed_ips": _FIXED_IPS,
    "security_groups": {"type": ["array", "null"], "items": UUID}, "allowed_address_pairs": _PAIRS,
    "port_security_enabled": BOOL, "mac_address": {"type": "string", "maxLength": 32},
    "binding:host_id": {"type": ["string", "null"], "maxLength": 255}, **_DESCRIPTION}
PORT_CREATE = {**PORT_UPDATE, **_OWNER, "network_id": UUID,
               "binding:vnic_type": {"type": "string", "enum": ["normal", "direct", "macvtap", "baremetal",
                                                                "direct-physical", "virtio-forwarder"]},
               "binding:profile": {"type": ["object", "null"]}}

_GATEWAY = {"type": ["object", "null"], "additionalProperties": False, "properties": {
    "network_id": UUID, "enable_snat": BOOL, "external_fixed_ips": _FIXED_IPS}}
ROUTER_UPDATE: dict[str, Any] = {"name": NAME, "admin_state_up": BOOL, "external_gateway_info": _GATEWAY,
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

KINDS: tuple[Kind, ...] = (
    Kind("networks", "network", views.network, networks, NETWORK_CREATE, NETWORK_UPDATE),
    Kind("subnets", "subnet", views.subnet, subnets, SUBNET_CREATE, SUBNET_UPDATE,
         required=("network_id", "ip_version")),
    Kind("ports", "port", views.port, ports, PORT_CREATE, PORT_UPDATE, required=("network_id",)),
    Kind("routers", "router", views.router, routers, ROUTER_CREATE, ROUTER_UPDATE),
    Kind("floatingips", "floatingip", views.floating_ip, floating_ips, FIP_CREATE, FIP_UPDATE,
         required=("floating_network_id",)),
    Kind("security_groups", "security_group", views.security_group, security_groups, SG_CREATE, SG_UPDATE,
         listing_needs_core=True, url="security-groups"),
)


class _Rules:
    """The security group rule functions under the generic names (rules have no update)."""

    listing = staticmethod(security_groups.rule_listing)
    get = staticmethod(security_groups.get_rule)
    create = staticmethod(security_groups.create_rule)
    delete = staticmethod(security_groups.delete_rule)


RULES = Kind("security_group_rules", "security_group_rule", views.security_group_rule, _Rules, RULE_CREATE, {},
             required=("security_group_id", "direction"), listing_needs_core=True, url="security-group-rules")
