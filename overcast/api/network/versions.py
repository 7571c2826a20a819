"""Neutron's version document (``/network``), the v2.0 resource index, and the extensions that
Overcast really implements (``/v2.0/extensions``)."""

from __future__ import annotations

import falcon

from overcast.api import faults
from overcast.api.routing import Registry

#: (alias, name, description) of every extension Overcast implements, nothing more.
EXTENSIONS: tuple[tuple[str, str, str], ...] = (
    ("address-scope", "Address scope", "Address scopes extension."),
    ("agent", "agent", "The agent management extension."),
    ("allowed-address-pairs", "Allowed Address Pairs", "Provides allowed address pairs"),
    ("auto-allocated-topology", "Auto Allocated Topology Services",
     "Auto Allocated Topology Services."),
    ("binding", "Port Binding", "Expose port bindings of a virtual port to external application"),
    ("default-subnetpools", "Default Subnetpools", "Provides ability to mark and use a subnetpool as the default."),
    ("dvr", "Distributed Virtual Router", "Enables configuration of Distributed Virtual Routers."),
    ("dhcp_agent_scheduler", "DHCP Agent Scheduler", "Schedule networks among dhcp agents"),
    ("empty-string-filtering", "Empty String Filtering Extension",
     "Allow filtering by attributes with empty string value"),
    ("external-net", "Neutron external network", "Adds external network attribute to network resource."),
    ("ext-gw-mode", "Neutron L3 Configurable external gateway mode",
     "Extension of the router abstraction for specifying whether SNAT should occur on the external gateway"),
    ("extra_dhcp_opt", "Neutron Extra DHCP options",
     "Extra options configuration for DHCP. For example PXE boot options to DHCP clients can be specified (e.g. "
     "tftp-server, server-ip-address, bootfile-name)"),
    ("extraroute", "Neutron Extra Route", "Extra routes configuration for L3 router"),
    ("fip-port-details", "Floating IP Port Details Extension", "Add port_details attribute to Floating IP resource"),
    ("ip-substring-filtering", "IP address substring filtering",
     "Provides IP address substring filtering when listing ports"),
    ("metering", "Neutron Metering", "Neutron Metering extension."),
    ("metering_source_and_destination_fields", "Neutron Metering with source and destination filtering",
     "Neutron Metering extension that enables the use of source and destination IP prefixes to create metering "
     "label rules."),
    ("network-ip-availability", "Network IP Availability",
     "Provides IP availability data for each network and subnet."),
    ("net-mtu", "Network MTU", "Provides MTU attribute for a network resource."),
    ("net-mtu-writable", "Network MTU (writable)", "Provides a writable MTU attribute for a network resource."),
    ("pagination", "Pagination support", "Extension that indicates that pagination is enabled."),
    ("port-security", "Port Security", "Provides port security"),
    ("port-security-groups-filtering", "Port filtering on security groups",
     "Provides security groups filtering when listing ports"),
    ("project-id", "project_id field enabled", "Extension that indicates that project_id field is enabled."),
    ("provider", "Provider Network", "Expose mapping of virtual networks to physical networks"),
    ("qos", "Quality of Service", "The Quality of Service extension."),
    ("qos-bw-limit-direction", "Direction for QoS bandwidth limit rule",
     "Allow to configure QoS bandwidth limit rule with specific direction: ingress or egress"),
    ("qos-bw-minimum-ingress", "Ingress direction for QoS minimum bandwidth rule",
     "Allow to configure QoS minumum bandwidth rule with ingress direction."),
    ("qos-default", "QoS default policy", "Expose the QoS default policy per project"),
    ("qos-port-network-policy", "QoS port network policy ID", "Adds a the QoS network ID to the port definition"),
    ("qos-rule-type-details", "Details of QoS rule types",
     "Expose details about QoS rule types supported by loaded backend drivers"),
    ("quotas", "Quota management support", "Expose functions for quotas management per project"),
    ("quota-check-limit", "Quota engine limit check", "Support for checking the resource usage before "
     "applying a new quota limit"),
    ("quota_details", "Quota details management support",
     "Expose functions for quotas usage statistics per project"),
    ("rbac-policies", "RBAC Policies", "Allows creation and modification of policies that control tenant access to "
     "resources."),
    ("rbac-address-scope", "Add address_scope type to RBAC", "Add address_scope type to RBAC"),
    ("rbac-security-groups", "Add security_group type to network RBAC", "Add security_group type to network RBAC"),
    ("rbac-subnetpool", "Add subnetpool type to RBAC", "Add subnetpool type to RBAC"),
    ("router", "Neutron L3 Router",
     "Router abstraction for basic L3 forwarding between L2 Neutron networks and access to external networks via "
     "a NAT gateway."),
    ("security-group", "security-group", "The security groups extension."),
    ("security-groups-shared-filtering", "Security group filtering on the shared field",
     "Support filtering security groups on the shared field"),
    ("service-type", "Neutron Service Type Management", "API for retrieving service providers for Neutron "
     "advanced services"),
    ("sorting", "Sorting support", "Extension that indicates that sorting is enabled."),
    ("standard-attr-description", "standard-attr-description",
     "Extension to add descriptions to standard attributes"),
    ("standard-attr-revisions", "Resource revision numbers",
     "This extension will display the revision number of neutron resources."),
    ("standard-attr-tag", "Tag support for resources with standard attribute: subnet, trunk, network_segment_range, "
     "router, network, policy, subnetpool, port, security_group, floatingip",
     "Enables to set tag on resources with standard attribute."),
    ("standard-attr-timestamp", "Resource timestamps", "Adds created_at and updated_at fields to all Neutron "
     "resources that have Neutron standard attributes."),
    ("stateful-security-group", "Stateful security group", "Indicates if the security group is stateful or not"),
    ("subnet_allocation", "Subnet Allocation", "Enables allocation of subnets from a subnet pool"),
    # the first tag API, for networks (TagsTest asks for it); standard-attr-tag extends it
    ("tag", "Tag support", "Enables to set tag on resources."),
    ("trunk", "Trunk Extension", "Provides support for trunk ports"),
)
ALIASES = tuple(alias for alias, _, _ in EXTENSIONS)
#: (resource, collection) listed by GET /v2.0
RESOURCES = (("network", "networks"), ("subnet", "subnets"), ("port", "ports"), ("router", "routers"),
             ("floatingip", "floatingips"), ("security_group", "security-groups"),
             ("security_group_rule", "security-group-rules"), ("quota", "quotas"), ("subnetpool", "subnetpools"),
             ("address_scope", "address-scopes"), ("agent", "agents"), ("trunk", "trunks"))
RESOURCES += (("policy", "qos/policies"), ("rbac_policy", "rbac-policies"),
              ("metering_label", "metering/metering-labels"), ("metering_label_rule", "metering/metering-label-rules"),
              ("service_provider", "service-providers"))


def _extension(alias: str, name: str, description: str) -> dict:
    return {"alias": alias, "name": name, "description": description, "updated": "2013-01-01T10:00:00-00:00",
            "links": []}


class Versions:
    public_methods = ("GET",)

    def __init__(self, base: str):
        self.base = base

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"versions": [{"id": "v2.0", "status": "CURRENT",
                                    "links": [{"href": f"{self.base}/v2.0/", "rel": "self"}]}]}


class Root:
    def __init__(self, base: str):
        self.base = base

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"resources": [{"name": name, "collection": collection,
                                     "links": [{"href": f"{self.base}/v2.0/{collection}", "rel": "self"}]}
                                    for name, collection in RESOURCES]}


class Extensions:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"extensions": [_extension(*e) for e in EXTENSIONS]}


class Extension:
    def on_get(self, req: falcon.Request, resp: falcon.Response, alias: str) -> None:
        for entry in EXTENSIONS:
            if entry[0] == alias:
                resp.media = {"extension": _extension(*entry)}
                return
        raise faults.NotFound(f"Extension with alias {alias} does not exist", kind="HTTPNotFound")


def bind(registry: Registry, base: str) -> None:
    registry.bind("network", "versions", Versions(base))
    registry.bind("network", "v2_root", Root(base))
    registry.bind("network", "extensions", Extensions())
    registry.bind("network", "extension", Extension())
