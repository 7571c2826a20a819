"""Neutron's default policy (neutron/conf/policies/*.py, 2023.2+ defaults, ``enforce_scope`` off):
the one place the network service's rules are declared; the app factory loads them
(:func:`overcast.core.policy.load`). The target is ``{"project_id": <the resource's project>}``.

A project member changes its project's networks, subnets, ports, routers, floating IPs and
security groups; a reader only reads them; the admin role does everything, and alone sets what
wires the cloud itself (shared and external networks, provider segments, port bindings, MAC
addresses, SNAT and a router's external addresses) and other projects' quotas.
"""

from __future__ import annotations

from typing import Mapping

from overcast.core.policy import ADMIN, ADMIN_OR_SYSTEM_READER, PROJECT_MEMBER, PROJECT_READER, Rule

ADMIN_OR_PROJECT_MEMBER = ADMIN | PROJECT_MEMBER
ADMIN_OR_PROJECT_READER = ADMIN | PROJECT_READER

_KINDS = ("network", "subnet", "port", "router", "floatingip", "security_group", "trunk")

RULES: Mapping[str, Rule] = {
    **{f"{verb}_{kind}": ADMIN_OR_PROJECT_MEMBER for verb in ("create", "update", "delete") for kind in _KINDS},
    **{f"update_{kind}:tags": ADMIN_OR_PROJECT_MEMBER for kind in _KINDS},
    "create_security_group_rule": ADMIN_OR_PROJECT_MEMBER,
    "delete_security_group_rule": ADMIN_OR_PROJECT_MEMBER,
    "add_router_interface": ADMIN_OR_PROJECT_MEMBER,
    # neutron/conf/policies/router.py: DVR is the admin's, reading the attribute too
    **{f"{verb}_router:distributed": ADMIN for verb in ("create", "update", "get")},
    # neutron/conf/policies/trunk.py
    "add_subports": ADMIN_OR_PROJECT_MEMBER,
    "remove_subports": ADMIN_OR_PROJECT_MEMBER,
    "remove_router_interface": ADMIN_OR_PROJECT_MEMBER,
    # a port with chosen addresses on another project's network
    "create_port:fixed_ips": ADMIN,
    **{f"{verb}_network:{attr}": ADMIN for verb in ("create", "update")
       for attr in ("shared", "router:external", "is_default", "provider:network_type", "provider:physical_network",
                    "provider:segmentation_id")},
    **{f"{verb}_port:{attr}": ADMIN for verb in ("create", "update")
       for attr in ("binding:host_id", "binding:profile", "mac_address")},
    **{f"{verb}_router:external_gateway_info:{attr}": ADMIN for verb in ("create", "update")
       for attr in ("enable_snat", "external_fixed_ips")},
    "get_quota": ADMIN_OR_PROJECT_READER,
    "get_network_ip_availability": ADMIN,
    "get_auto_allocated_topology": ADMIN_OR_PROJECT_READER,
    "delete_auto_allocated_topology": ADMIN_OR_PROJECT_MEMBER,
    # QoS (neutron/conf/policies/qos.py): policies and rules are the admin's; rule types too
    **{f"{verb}_policy": ADMIN for verb in ("create", "update", "delete")},
    **{f"{verb}_policy_{rule}": ADMIN for verb in ("create", "update", "delete")
       for rule in ("bandwidth_limit_rule", "dscp_marking_rule", "minimum_bandwidth_rule")},
    "get_rule_type": ADMIN_OR_SYSTEM_READER,
    # RBAC (neutron/conf/policies/rbac.py); sharing with every project ("*") is the admin's
    **{f"{verb}_rbac_policy": ADMIN_OR_PROJECT_MEMBER for verb in ("create", "update", "delete")},
    **{f"{verb}_rbac_policy:target_tenant": ADMIN for verb in ("create", "update")},
    "update_quota": ADMIN,
    "delete_quota": ADMIN,
    # subnet pools and address scopes (neutron/conf/policies/subnetpool.py, address_scope.py)
    **{f"{verb}_{kind}": ADMIN_OR_PROJECT_MEMBER for verb in ("create", "update", "delete")
       for kind in ("subnetpool", "address_scope")},
    "update_subnetpool:tags": ADMIN_OR_PROJECT_MEMBER,
    **{f"{verb}_subnetpool:{attr}": ADMIN for verb in ("create", "update") for attr in ("shared", "is_default")},
    **{f"{verb}_address_scope:shared": ADMIN for verb in ("create", "update")},
    # neutron/conf/policies/metering.py: labels and their rules are the admin's, reading them too
    **{f"{verb}_{kind}": ADMIN for verb in ("create", "get", "delete")
       for kind in ("metering_label", "metering_label_rule")},
    # neutron/conf/policies/service_type.py
    "get_service_provider": ADMIN_OR_PROJECT_READER,
    # neutron/conf/policies/agent.py and network.py (the DHCP scheduler): the admin's alone
    **{f"{verb}_agent": ADMIN for verb in ("get", "update", "delete")},
    **{f"{verb}_dhcp-network": ADMIN for verb in ("create", "delete")},
    "get_dhcp-networks": ADMIN,
    "get_dhcp-agents": ADMIN,
}
