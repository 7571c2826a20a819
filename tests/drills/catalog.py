"""What the drills know about each endpoint beyond the registry: how to fill its URL from the
world's ids, example bodies that a real client would send, and the default policy upstream gives
each write (the role matrix's oracle).

The registry (``overcast.api.routing``) is the list of endpoints; this module only describes them.
An endpoint that takes a body and has no example here is still swept (with ``{}`` as its base); a
write endpoint with no upstream rule here fails the role matrix until someone writes its rule
down, so a new endpoint cannot go unchecked.
"""

from __future__ import annotations

import dataclasses
import string
import uuid
from typing import Any

from overcast.api.routing import Endpoint

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")

# --- upstream default policies (2023.2+ "secure RBAC" defaults, enforce_scope off) -------------
#: only the admin role (on any project: the cloud administrator, as DevStack runs Keystone/Nova)
ADMIN = "admin"
#: admin, or a member of the project that owns the target (the world's project P)
MEMBER = "member"
#: admin, or the user that owns the target (the world's member user)
OWNER = "owner"
#: only the user that owns the target, not even an admin (Keystone: trusts, application credentials)
SELF = "self"
#: anyone with a valid token
ANY = "any"
#: admin, or any role on the owning project (a read that is sent as a POST)
READER = "reader"
#: removed upstream (Nova's nova-network proxies: 410 for everyone)
GONE = "gone"

#: who each rule lets through, among the matrix's personas
ALLOWED = {
    ADMIN: {"other_admin"},
    MEMBER: {"member", "other_admin"},
    OWNER: {"member", "other_admin"},
    SELF: {"member"},
    ANY: {"reader", "member", "other_admin", "system_reader"},
    READER: {"reader", "member", "other_admin"},
    GONE: set(),
}

_N, _I, _G, _K, _C, _P = "compute", "identity", "image", "network", "volume", "placement"

#: (service, endpoint name, method) -> rule; for action endpoints, (service, name, "POST", action)
ORACLE: dict[tuple[str, ...], str] = {}


def _rules(service: str, table: dict[str, dict[str, str]]) -> None:
    for name, methods in table.items():
        for method, rule in methods.items():
            ORACLE[(service, name, *method.split(" "))] = rule


_rules(_N, {  # nova/policies/*.py
    "v2_flavors": {"POST": ADMIN},
    "v2_flavor": {"PUT": ADMIN, "DELETE": ADMIN},
    "v2_flavor_action": {"POST addTenantAccess": ADMIN, "POST removeTenantAccess": ADMIN},
    "v2_os_extra_specs_flavor": {"POST": ADMIN},
    "v2_os_extra_specs_flavor_key": {"PUT": ADMIN, "DELETE": ADMIN},
    # the image proxy acts with the caller's token on Glance: Glance's rules apply
    "v2_image": {"DELETE": MEMBER},
    "v2_image_metadata": {"POST": MEMBER, "PUT": MEMBER},
    "v2_image_metadata_key": {"PUT": MEMBER, "DELETE": MEMBER},
    "v2_os_aggregates": {"POST": ADMIN},
    "v2_os_aggregate": {"PUT": ADMIN, "DELETE": ADMIN},
    "v2_os_aggregate_action": {"POST add_host": ADMIN, "POST set_metadata": ADMIN, "POST remove_host": ADMIN},
    "v2_os_floating_ip_dns_domain": {"PUT": GONE, "DELETE": GONE},
    "v2_os_floating_ip_dns_domain_entry": {"PUT": GONE, "DELETE": GONE},
    "v2_os_floating_ips": {"POST": MEMBER},
    "v2_os_floating_ips_id": {"DELETE": MEMBER},
    "v2_os_host": {"PUT": ADMIN},
    # os_compute_api:os-keypairs:create/delete: admin or user_id:%(user_id)s (one's own key pairs)
    "v2_os_keypairs": {"POST": ANY},
    "v2_os_keypair": {"DELETE": OWNER},
    "v2_os_networks": {"POST": GONE},
    "v2_os_networks_add": {"POST": GONE},
    "v2_os_network": {"DELETE": GONE},
    "v2_os_network_action": {"POST": GONE},
    "v2_os_quota_class_sets": {"PUT": ADMIN},
    "v2_os_quota_sets_target": {"PUT": ADMIN, "DELETE": ADMIN},
    "v2_os_security_group_rules": {"POST": MEMBER},
    "v2_os_security_group_rule": {"DELETE": MEMBER},
    "v2_os_security_groups": {"POST": MEMBER},
    "v2_os_security_group": {"PUT": MEMBER, "DELETE": MEMBER},
    "v2_os_server_external_events": {"POST": ADMIN},
    # nova/policies/assisted_volume_snapshots.py: the service role (admin by the deprecated rule)
    "v2_os_assisted_volume_snapshots": {"POST": ADMIN},
    "v2_os_assisted_volume_snapshot": {"DELETE": ADMIN},
    "v2_os_server_groups": {"POST": MEMBER},
    "v2_os_server_group": {"DELETE": MEMBER},
    "v2_os_services_disable": {"PUT": ADMIN},
    "v2_os_services_enable": {"PUT": ADMIN},
    "v2_os_service": {"PUT": ADMIN, "DELETE": ADMIN},
    "v2_os_snapshots": {"POST": MEMBER},
    "v2_os_snapshot": {"DELETE": MEMBER},
    "v2_os_tenant_networks": {"POST": GONE},
    "v2_os_tenant_network": {"DELETE": GONE},
    "v2_os_volumes": {"POST": MEMBER},
    "v2_os_volume": {"DELETE": MEMBER},
    "v2_servers": {"POST": MEMBER},
    "v2_server": {"PUT": MEMBER, "DELETE": MEMBER},
    "v2_server_metadata": {"POST": MEMBER, "PUT": MEMBER},
    "v2_server_metadata_key": {"PUT": MEMBER, "DELETE": MEMBER},
    "v2_os_interfaces": {"POST": MEMBER},
    "v2_os_interface": {"DELETE": MEMBER},
    "v2_server_password": {"DELETE": MEMBER},
    "v2_os_volume_attachments": {"POST": MEMBER},
    # swapping a volume is for the service (and admins)
    "v2_os_volume_attachments_detail": {"PUT": ADMIN, "DELETE": MEMBER},
    "v2_server_remote_consoles": {"POST": MEMBER},
    "v2_server_shares": {"POST": MEMBER},
    "v2_server_share": {"DELETE": MEMBER},
    "v2_server_tags": {"PUT": MEMBER, "DELETE": MEMBER},
    "v2_server_tag": {"PUT": MEMBER, "DELETE": MEMBER},
    "v2_server_action": {f"POST {a}": MEMBER for a in (
        "reboot", "os-stop", "os-start", "pause", "unpause", "suspend", "resume", "lock", "unlock",
        "resize", "confirmResize", "revertResize", "rebuild", "createImage", "createBackup",
        "changePassword", "rescue", "unrescue", "shelve", "unshelve", "os-getConsoleOutput",
        "addSecurityGroup", "removeSecurityGroup", "addFloatingIp", "removeFloatingIp",
        "trigger_crash_dump", "forceDelete", "restore")} | {f"POST {a}": ADMIN for a in (
        "os-resetState", "migrate", "injectNetworkInfo", "os-migrateLive", "shelveOffload",
        "resetNetwork", "evacuate")} | {
        # up to 2.5 the consoles are actions: os_compute_api:os-remote-consoles, project member or admin
        f"POST {a}": MEMBER for a in ("os-getVNCConsole", "os-getSPICEConsole", "os-getRDPConsole",
                                      "os-getSerialConsole")},
})

_rules(_I, {  # keystone/common/policies/*.py
    "v2_tokens": {"POST": ANY},
    "v2_token": {"DELETE": ADMIN},
    "v2_users": {"POST": ADMIN},
    "v2_user": {"PUT": ADMIN, "DELETE": ADMIN},
    "v3_endpoint_groups": {"POST": ADMIN},
    "v3_endpoint_group": {"PATCH": ADMIN, "DELETE": ADMIN},
    "v3_endpoint_group_project": {"PUT": ADMIN, "DELETE": ADMIN},
    "v3_project_endpoint": {"PUT": ADMIN, "DELETE": ADMIN},
    "v3_os_inherit_domain_group_role": {"PUT": ADMIN, "DELETE": ADMIN},
    "v3_os_inherit_domain_user_role": {"PUT": ADMIN, "DELETE": ADMIN},
    "v3_os_inherit_project_group_role": {"PUT": ADMIN, "DELETE": ADMIN},
    "v3_os_inherit_project_user_role": {"PUT": ADMIN, "DELETE": ADMIN},
    "v3_oauth1_consumers": {"POST": ADMIN},
    "v3_oauth1_consumer": {"PATCH": ADMIN, "DELETE": ADMIN},
    # identity:create_trust: user_id:%(trust.trustor_user_id)s
    "v3_trusts": {"POST": SELF},
    "v3_trust": {"DELETE": OWNER},
    # POST authenticates; DELETE revokes the caller's own token (X-Subject-Token)
    "v3_auth_tokens": {"POST": ANY, "DELETE": ANY},
    "v3_credentails": {"POST": OWNER},
    "v3_credentail": {"PATCH": OWNER, "DELETE": OWNER},
    "v3_domains": {"POST": ADMIN},
    "v3_domains_with_id": {"PATCH": ADMIN, "DELETE": ADMIN},
    "v3_domain_config": {"PUT": ADMIN, "PATCH": ADMIN, "DELETE": ADMIN},
    "v3_domain_config_group": {"PATCH": ADMIN, "DELETE": ADMIN},
    "v3_domain_config_option": {"PATCH": ADMIN, "DELETE": ADMIN},
    "v3_domain_group_role": {"PUT": ADMIN, "DELETE": ADMIN},
    "v3_domain_user_role": {"PUT": ADMIN, "DELETE": ADMIN},
    "v3_endpoints": {"POST": ADMIN},
    "v3_endpoints_with_id": {"PATCH": ADMIN, "DELETE": ADMIN},
    "v3_groups": {"POST": ADMIN},
    "v3_group": {"PATCH": ADMIN, "DELETE": ADMIN},
    "v3_group_user": {"PUT": ADMIN, "DELETE": ADMIN},
    "v3_policies": {"POST": ADMIN},
    "v3_policy": {"PATCH": ADMIN, "DELETE": ADMIN},
    "v3_projects": {"POST": ADMIN},
    "v3_projects_with_id": {"PATCH": ADMIN, "DELETE": ADMIN},
    "v3_project_role": {"PUT": ADMIN, "DELETE": ADMIN},
    "v3_project_tags": {"PUT": ADMIN, "DELETE": ADMIN},
    "v3_project_tag": {"PUT": ADMIN, "DELETE": ADMIN},
    "v3_project_user_role": {"PUT": ADMIN, "DELETE": ADMIN},
    "v3_regions": {"POST": ADMIN},
    "v3_region": {"PUT": ADMIN, "PATCH": ADMIN, "DELETE": ADMIN},
    "v3_roles": {"POST": ADMIN},
    "v3_role": {"PATCH": ADMIN, "DELETE": ADMIN},
    "v3_role_imply": {"PUT": ADMIN, "DELETE": ADMIN},
    "v3_services": {"POST": ADMIN},
    "v3_services_with_id": {"PATCH": ADMIN, "DELETE": ADMIN},
    "v3_system_group_role": {"PUT": ADMIN, "DELETE": ADMIN},
    "v3_system_user_role": {"PUT": ADMIN, "DELETE": ADMIN},
    "v3_users": {"POST": ADMIN},
    "v3_user": {"PATCH": ADMIN, "DELETE": ADMIN},
    "v3_user_access_rule": {"DELETE": OWNER},
    # identity:create_application_credential: user_id:%(user_id)s
    "v3_user_application_credentials": {"POST": SELF},
    "v3_user_application_credential": {"DELETE": OWNER},
    "v3_user_ec2_credentials": {"POST": OWNER},
    "v3_user_ec2_credential": {"DELETE": OWNER},
    "v3_user_password": {"POST": OWNER},
    # signed requests and the OAuth 1.0a flow authenticate themselves (no token needed)
    "v3_ec2tokens": {"POST": ANY},
    "v3_s3tokens": {"POST": ANY},
    "v3_oauth1_request_token": {"POST": ANY},
    "v3_oauth1_access_token": {"POST": ANY},
    # access_token.py: authorize_request_token is admin_required; deleting an access token is
    # checked against ec2_delete_credential by Keystone's controller (admin, or the owner)
    "v3_oauth1_authorize": {"PUT": ADMIN},
    "v3_user_oauth1_access_token": {"DELETE": OWNER},
})

_rules(_G, {  # glance/policies/{image,metadef,tasks}.py; tasks_api_access is role:admin
    "v2_images": {"POST": MEMBER},
    "v2_image": {"PATCH": MEMBER, "DELETE": MEMBER},
    "v2_image_deactivate": {"POST": MEMBER},
    "v2_image_reactivate": {"POST": MEMBER},
    "v2_image_file": {"PUT": MEMBER},
    "v2_image_import": {"POST": MEMBER},
    # add_image_location (2.17): services and the owner's members
    "v2_image_locations": {"POST": MEMBER},
    "v2_image_members": {"POST": MEMBER},
    # the member's status is the member project's to set (project Q: only its admin here)
    "v2_image_member": {"PUT": ADMIN, "DELETE": MEMBER},
    "v2_image_stage": {"PUT": MEMBER},
    "v2_image_tag": {"PUT": MEMBER, "DELETE": MEMBER},
    "v2_metadefs_namespaces": {"POST": ADMIN},
    "v2_metadefs_namespace": {"PUT": ADMIN, "DELETE": ADMIN},
    "v2_metadefs_objects": {"POST": ADMIN, "DELETE": ADMIN},
    "v2_metadefs_object": {"PUT": ADMIN, "DELETE": ADMIN},
    "v2_metadefs_properties": {"POST": ADMIN, "DELETE": ADMIN},
    "v2_metadefs_property": {"PUT": ADMIN, "DELETE": ADMIN},
    "v2_metadefs_associations": {"POST": ADMIN},
    "v2_metadefs_association": {"DELETE": ADMIN},
    "v2_metadefs_tags": {"POST": ADMIN, "DELETE": ADMIN},
    "v2_metadefs_tag": {"POST": ADMIN, "PUT": ADMIN, "DELETE": ADMIN},
    "v2_tasks": {"POST": ADMIN},
    "v2_task": {"DELETE": ADMIN},
})

_rules(_K, {  # neutron/conf/policies/*.py
    **{f"{kind}{suffix}": {m: MEMBER for m in methods}
       for kind in ("networks", "subnets", "ports", "routers", "floatingips", "security-groups")
       for suffix, methods in (("", ("POST",)), ("_item", ("PUT", "DELETE")), ("_tags", ("PUT", "DELETE")),
                               ("_tag", ("PUT", "DELETE")))},
    "security-group-rules": {"POST": MEMBER},
    "security-group-rules_item": {"DELETE": MEMBER},
    "router_add_interface": {"PUT": MEMBER},
    "router_remove_interface": {"PUT": MEMBER},
    "quota": {"PUT": ADMIN, "DELETE": ADMIN},
    "auto_allocated_topology": {"DELETE": MEMBER},  # delete_auto_allocated_topology: admin or project member
    # subnetpool.py, address_scope.py: create/update/delete (and a pool's tags) admin or project member
    **{f"{kind}{suffix}": {m: MEMBER for m in methods} for kind in ("subnetpools", "address-scopes")
       for suffix, methods in (("", ("POST",)), ("_item", ("PUT", "DELETE")))},
    "subnetpools_tags": {"PUT": MEMBER, "DELETE": MEMBER},
    "subnetpools_tag": {"PUT": MEMBER, "DELETE": MEMBER},
    # neutron/conf/policies/qos.py: QoS policies and their rules are the admin's
    "rbac_policies": {"POST": MEMBER},  # neutron/conf/policies/rbac.py: admin or project member
    "rbac_policy": {"PUT": MEMBER, "DELETE": MEMBER},
    "qos_policies": {"POST": ADMIN},
    "qos_policy": {"PUT": ADMIN, "DELETE": ADMIN},
    **{f"qos_{rule}_rules": {"POST": ADMIN} for rule in ("bandwidth_limit", "dscp_marking", "minimum_bandwidth")},
    **{f"qos_{rule}_rule": {"PUT": ADMIN, "DELETE": ADMIN}
       for rule in ("bandwidth_limit", "dscp_marking", "minimum_bandwidth")},
    # neutron/conf/policies/metering.py: labels and their rules are the admin's
    **{f"{kind}{suffix}": {m: ADMIN for m in methods} for kind in ("metering-labels", "metering-label-rules")
       for suffix, methods in (("", ("POST",)), ("_item", ("DELETE",)))},
    # neutron/conf/policies/trunk.py: admin or project member
    "trunks": {"POST": MEMBER},
    **{f"trunks{suffix}": {"PUT": MEMBER, "DELETE": MEMBER} for suffix in ("_item", "_tags", "_tag")},
    "trunk_add_subports": {"PUT": MEMBER},
    "trunk_remove_subports": {"PUT": MEMBER},
    # neutron/conf/policies/agent.py, network.py (the DHCP scheduler): the admin's
    "agents_item": {"PUT": ADMIN, "DELETE": ADMIN},
    "agent_dhcp_networks": {"POST": ADMIN},
    "agent_dhcp_network": {"DELETE": ADMIN},
})

_rules(_C, {  # cinder/policies/*.py
    "attachments": {"POST": MEMBER},
    "attachment": {"PUT": MEMBER, "DELETE": MEMBER},
    # backup:create/update/delete/restore admin or project member; backup-import and the admin actions admin
    "backups": {"POST": MEMBER},
    "backup": {"PUT": MEMBER, "DELETE": MEMBER},
    "backup_restore": {"POST": MEMBER},
    "backup_action": {"POST os-reset_status": ADMIN, "POST os-force_delete": ADMIN},
    "backup_import": {"POST": ADMIN},
    "attachment_action": {"POST os-complete": MEMBER},
    "group_snapshots": {"POST": MEMBER},
    "group_snapshot": {"DELETE": MEMBER},
    "group_snapshot_action": {"POST reset_status": ADMIN},
    "group_types": {"POST": ADMIN},
    "group_type": {"PUT": ADMIN, "DELETE": ADMIN},
    "group_type_specs": {"POST": ADMIN},
    "group_type_spec": {"PUT": ADMIN, "DELETE": ADMIN},
    "groups": {"POST": MEMBER},
    "groups_action": {"POST create-from-src": MEMBER},
    "group": {"PUT": MEMBER},
    "group_action": {"POST reset_status": ADMIN, "POST delete": MEMBER},
    "message": {"DELETE": MEMBER},
    "quota_class_set": {"PUT": ADMIN},
    "quota_set": {"PUT": ADMIN, "DELETE": ADMIN},
    "service_action": {"PUT": ADMIN},
    "transfers_legacy": {"POST": MEMBER},
    "transfer_legacy": {"DELETE": MEMBER},
    "transfer_legacy_accept": {"POST": MEMBER},
    "transfers": {"POST": MEMBER},
    "transfer": {"DELETE": MEMBER},
    "transfer_accept": {"POST": MEMBER},
    "qos_specs": {"POST": ADMIN},
    "qos_spec": {"PUT": ADMIN, "DELETE": ADMIN},
    "qos_spec_delete_keys": {"PUT": ADMIN},
    "snapshots": {"POST": MEMBER},
    "snapshot": {"PUT": MEMBER, "DELETE": MEMBER},
    "snapshot_action": {"POST os-reset_status": ADMIN, "POST os-force_delete": ADMIN,
                        "POST os-update_snapshot_status": ADMIN, "POST os-unmanage": ADMIN},
    # cinder/policies/manageable_volumes.py, manageable_snapshots.py: volume_extension:volume_manage and
    # snapshot_extension:snapshot_manage are rule:admin_api
    "volume_manage": {"POST": ADMIN},
    "manageable_volumes": {"POST": ADMIN},
    "snapshot_manage": {"POST": ADMIN},
    "manageable_snapshots": {"POST": ADMIN},
    "snapshot_metadata": {"POST": MEMBER, "PUT": MEMBER},
    "snapshot_metadata_key": {"PUT": MEMBER, "DELETE": MEMBER},
    "types": {"POST": ADMIN},
    "type": {"PUT": ADMIN, "DELETE": ADMIN},
    "type_action": {"POST addProjectAccess": ADMIN, "POST removeProjectAccess": ADMIN},
    "type_encryption": {"POST": ADMIN},
    "type_encryption_item": {"PUT": ADMIN, "DELETE": ADMIN},
    "type_extra_specs": {"POST": ADMIN},
    "type_extra_spec": {"PUT": ADMIN, "DELETE": ADMIN},
    "volumes": {"POST": MEMBER},
    "volume": {"PUT": MEMBER, "DELETE": MEMBER},
    "volume_action": {f"POST {a}": MEMBER for a in (
        "os-extend", "os-set_bootable", "os-update_readonly_flag", "os-reserve", "os-unreserve",
        "os-begin_detaching", "os-roll_detaching", "os-initialize_connection", "os-terminate_connection",
        "os-attach", "os-detach", "os-retype", "os-set_image_metadata", "os-unset_image_metadata",
        "os-volume_upload_image", "revert")} | {"POST os-show_image_metadata": READER} | {f"POST {a}": ADMIN for a in (
        "os-reset_status", "os-force_delete", "os-force_detach", "os-migrate_volume", "os-unmanage",
        "os-extend_volume_completion")},
    "volume_metadata": {"POST": MEMBER, "PUT": MEMBER},
    "volume_metadata_key": {"PUT": MEMBER, "DELETE": MEMBER},
})

_rules(_P, {  # placement/policies/*.py: every write is base.ADMIN_OR_SERVICE
    "resource_providers": {"POST": ADMIN},
    "resource_provider": {"PUT": ADMIN, "DELETE": ADMIN},
    "resource_provider_inventories": {"POST": ADMIN, "PUT": ADMIN, "DELETE": ADMIN},
    "resource_provider_inventory": {"PUT": ADMIN, "DELETE": ADMIN},
    "resource_provider_aggregates": {"PUT": ADMIN},
    "resource_provider_traits": {"PUT": ADMIN, "DELETE": ADMIN},
    "resource_classes": {"POST": ADMIN},
    "resource_class": {"PUT": ADMIN, "DELETE": ADMIN},
    "trait": {"PUT": ADMIN, "DELETE": ADMIN},
    "allocations": {"POST": ADMIN},
    "consumer_allocations": {"PUT": ADMIN, "DELETE": ADMIN},
    "reshaper": {"POST": ADMIN},
})
# Poppy has no default policy (its API checked nothing): the CDN's rules are Overcast's own,
# written down in core/cdn/policies.py and decision 0031 (members write, admins own flavors and /admin)
_rules("cdn", {
    "services": {"POST": MEMBER},
    "service": {"PATCH": MEMBER, "DELETE": MEMBER},
    "service_assets": {"DELETE": MEMBER},
    "flavors": {"POST": ADMIN},
    "flavor": {"DELETE": ADMIN},
    "ssl_certificates": {"POST": MEMBER},
    "ssl_certificate": {"DELETE": MEMBER},
    "admin_service_action": {"POST": ADMIN},
    "admin_service_status": {"POST": ADMIN},
    "admin_limit": {"PUT": ADMIN},
    "admin_certificate": {"PATCH": ADMIN},
})

#: Where upstream answers a refused persona with another status than 403, before its policy runs:
#: (service, endpoint, method, persona) -> status. Neutron refuses a create without a project (a
#: system-scoped token) with 400 "Running without keystone AuthN requires that tenant_id is specified".
REFUSED_WITH = {
    **{(_K, name, "POST", "system_reader"): 400
       for name in ("networks", "routers", "floatingips", "security-groups", "subnetpools", "address-scopes",
                    "rbac_policies", "metering-labels", "trunks")},
}

# --- URLs ---------------------------------------------------------------------------------------

_NETWORK_ITEMS = {"floatingips": "floating_ip", "networks": "network", "ports": "port", "routers": "router",
                  "router": "router", "security-group-rules": "security_group_rule",
                  "security-groups": "security_group", "subnets": "subnet", "subnetpools": "subnetpool",
                  "address-scopes": "address_scope",
                  "qos": "qos_policy", "rbac": "rbac_policy", "metering-labels": "metering_label",
                  "metering-label-rules": "metering_label_rule", "trunks": "trunk", "trunk": "trunk",
                  "agents": "l3_agent", "agent": "dhcp_agent", "network": "network"}


def param(ids: dict[str, str], endpoint: Endpoint, name: str) -> str:
    """The value the world gives URL parameter ``name`` of ``endpoint``."""
    service, ep = endpoint.service, endpoint.name
    # what the drills may change or delete without pulling the personas' ground from under them
    victims = {("v3_user", "user_id"): "victim_user", ("v3_projects_with_id", "project_id"): "victim_project",
               ("v3_region", "region_id"): "victim_region"}
    if service == "identity" and (ep, name) in victims:
        return ids[victims[(ep, name)]]
    per_service = {
        ("compute", "group_id"): "server_group", ("identity", "group_id"): "group",
        ("volume", "group_id"): "group", ("compute", "service_id"): "compute_service",
        ("identity", "service_id"): "service", ("compute", "image_id"): "image",
        ("compute", "floating_ip_id"): "floating_ip", ("compute", "rule_id"): "security_group_rule",
        ("compute", "port_id"): "server_port", ("identity", "credential_id"): (
            "ec2_credential" if "ec2" in ep else "credential"),
    }
    if service == "placement":
        return {"uuid": ids["resource_provider"], "resource_class": "CUSTOM_DRILL", "name": "CUSTOM_DRILL",
                "consumer_uuid": ids["placement_consumer"]}[name]
    if (service, name) in per_service:
        return ids[per_service[(service, name)]]
    if (service, name) == ("network", "rule_id"):  # a QoS rule: the world's rule of the endpoint's type
        return ids[ep]
    if name == "item_id":
        return ids[_NETWORK_ITEMS[ep.split("_", 1)[0]]]
    if name == "key":
        return {"v2_os_extra_specs_flavor_key": "hw:cpu_policy", "type_extra_spec": "drill_key",
                "group_type_spec": "drill_key"}.get(ep, "drill")
    fixed = {"tag": "drill-tag", "tag_name": "drill-tag", "object_name": "drill-obj",
             "property_name": "drill-prop", "resource_type": "OS::Glance::Image", "group": "identity",
             "option": "driver", "domain": "drill.example", "entry": "drill", "class_name": "default",
             "host_name": ids.get("host", "host"), "action": "disable", "token_id": ids.get("token", "x")}
    if name in fixed:
        return fixed[name]
    aliases = {"flavor_id": "flavor", "server_id": "server", "aggregate_id": "aggregate", "keypair_name": "keypair",
               "network_id": "network", "security_group_id": "security_group", "snapshot_id": "snapshot",
               "volume_id": "volume", "user_id": "user", "endpoint_group_id": "endpoint_group",
               "domain_id": "domain", "role_id": "role", "consumer_id": "consumer", "trust_id": "trust",
               "endpoint_id": "endpoint", "policy_id": "policy", "region_id": "region",
               "implied_role_id": "implied_role", "access_rule_id": "access_rule",
               "application_credential_id": "application_credential", "member_id": "image_member",
               "namespace": "namespace", "attachment_id": "attachment", "group_type_id": "group_type",
               "target_id": "project", "transfer_id": "transfer", "qos_id": "qos", "type_id": "volume_type",
               "encryption_id": "encryption", "project_id": "project", "backup_id": "backup"}
    key = aliases.get(name)
    if key and key in ids:
        return ids[key]
    return str(uuid.uuid4())  # no such thing in the world (task ids, messages, group snapshots)


def url(ids: dict[str, str], endpoint: Endpoint) -> str:
    values = {f: param(ids, endpoint, f) for f in endpoint.fields}
    return endpoint.path.format(**values)


def fields_of(template: str) -> list[str]:
    return [f for _, f, _, _ in string.Formatter().parse(template) if f]


# --- example bodies -----------------------------------------------------------------------------

@dataclasses.dataclass
class Example:
    body: Any
    #: the action this body asks for (action endpoints), a key of :data:`ORACLE`
    action: str | None = None
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    content_type: str = "application/json"


def _e(body: Any, **kw: Any) -> list[Example]:
    return [Example(body, **kw)]


def _actions(bodies: dict[str, Any], **kw: Any) -> list[Example]:
    return [Example({name: value}, action=name, **kw) for name, value in bodies.items()]


NOVA = {"OpenStack-API-Version": "compute 2.90", "X-OpenStack-Nova-API-Version": "2.90"}
NOVA_OLD = {"OpenStack-API-Version": "compute 2.1"}
NOVA_SHARES = {"OpenStack-API-Version": "compute 2.97"}  # /servers/{id}/shares came with 2.97
CINDER = {"OpenStack-API-Version": "volume 3.71"}
PLACEMENT = {"OpenStack-API-Version": "placement 1.39"}
PATCH_GLANCE = "application/openstack-images-v2.1-json-patch"


def examples(i: dict[str, str]) -> dict[tuple[str, str, str], list[Example]]:
    """Bodies a client would send to each (service, endpoint, method), built from the world's ids."""
    new_id = "drill-" + uuid.uuid4().hex[:8]
    server_actions = {
        "reboot": {"type": "SOFT"}, "os-stop": None, "os-start": None, "pause": None, "unpause": None,
        "suspend": None, "resume": None, "lock": {"locked_reason": "drill"}, "unlock": None,
        "resize": {"flavorRef": "1"}, "confirmResize": None, "revertResize": None,
        "rebuild": {"imageRef": i["cirros"], "adminPass": "drill-rebuild-Secret1"},
        "createImage": {"name": "drill-snap", "metadata": {"drill": "yes"}},
        "createBackup": {"name": "drill-backup", "backup_type": "daily", "rotation": 1},
        "changePassword": {"adminPass": "drill-change-Secret1"}, "rescue": {"adminPass": "drill-rescue-Secret1"},
        "unrescue": None, "shelve": None, "unshelve": None, "shelveOffload": None,
        "os-getConsoleOutput": {"length": 10}, "addSecurityGroup": {"name": "drill-sg"},
        "removeSecurityGroup": {"name": "drill-sg"}, "trigger_crash_dump": None,
        "os-resetState": {"state": "active"}, "migrate": None, "injectNetworkInfo": None,
        "forceDelete": None, "restore": None,
    }
    volume_actions = {
        "os-extend": {"new_size": 2}, "os-reset_status": {"status": "available"},
        "os-set_bootable": {"bootable": True}, "os-update_readonly_flag": {"readonly": False},
        "os-reserve": {}, "os-unreserve": {}, "os-begin_detaching": {}, "os-roll_detaching": {},
        "os-initialize_connection": {"connector": {"host": "drill"}},
        "os-terminate_connection": {"connector": {"host": "drill"}},
        "os-attach": {"instance_uuid": i["server"], "mountpoint": "/dev/vdb"}, "os-detach": {},
        "os-force_delete": {}, "os-force_detach": {}, "os-retype": {"new_type": "drill-type"},
        "os-set_image_metadata": {"metadata": {"drill": "yes"}}, "os-unset_image_metadata": {"key": "drill"},
        "os-show_image_metadata": {}, "os-volume_upload_image": {"image_name": "drill-upload",
                                                                 "disk_format": "raw"},
        "os-extend_volume_completion": {"error": False},
    }
    return {
        # compute
        (_N, "v2_flavors", "POST"): _e({"flavor": {"name": new_id, "vcpus": 1, "ram": 64, "disk": 1}}),
        (_N, "v2_flavor", "PUT"): _e({"flavor": {"description": "drill"}}, headers=NOVA),
        (_N, "v2_flavor_action", "POST"): _actions({"addTenantAccess": {"tenant": i["project"]},
                                                    "removeTenantAccess": {"tenant": i["project"]}}),
        (_N, "v2_os_extra_specs_flavor", "POST"): _e({"extra_specs": {"hw:cpu_policy": "shared"}}),
        (_N, "v2_os_extra_specs_flavor_key", "PUT"): _e({"hw:cpu_policy": "shared"}),
        (_N, "v2_image_metadata", "POST"): _e({"metadata": {"drill": "yes"}}, headers=NOVA_OLD),
        (_N, "v2_image_metadata", "PUT"): _e({"metadata": {"drill": "yes"}}, headers=NOVA_OLD),
        (_N, "v2_image_metadata_key", "PUT"): _e({"meta": {"drill": "yes"}}, headers=NOVA_OLD),
        (_N, "v2_os_aggregates", "POST"): _e({"aggregate": {"name": new_id}}),
        (_N, "v2_os_aggregate", "PUT"): _e({"aggregate": {"name": new_id}}),
        (_N, "v2_os_aggregate_action", "POST"): _actions({"add_host": {"host": i["host"]},
                                                          "set_metadata": {"metadata": {"drill": "yes"}},
                                                          "remove_host": {"host": i["host"]}}),
        (_N, "v2_os_floating_ip_dns_domain", "PUT"): _e({"domain_entry": {"scope": "public"}}),
        (_N, "v2_os_floating_ip_dns_domain_entry", "PUT"): _e({"dns_entry": {"ip": "10.0.0.1", "dns_type": "A"}}),
        (_N, "v2_os_floating_ips", "POST"): _e({"pool": "public"}, headers=NOVA_OLD),
        (_N, "v2_os_host", "PUT"): _e({"status": "enable"}, headers=NOVA_OLD),
        (_N, "v2_os_keypairs", "POST"): _e({"keypair": {"name": new_id}}, headers=NOVA),
        (_N, "v2_os_networks", "POST"): _e({"network": {"label": "drill", "cidr": "10.9.0.0/24"}}),
        (_N, "v2_os_networks_add", "POST"): _e({"id": i["network"]}),
        (_N, "v2_os_network_action", "POST"): _e({"disassociate": None}),
        (_N, "v2_os_quota_class_sets", "PUT"): _e({"quota_class_set": {"instances": 50}}),
        (_N, "v2_os_quota_sets_target", "PUT"): _e({"quota_set": {"instances": 50}}),
        (_N, "v2_os_security_group_rules", "POST"): _e({"security_group_rule": {
            "parent_group_id": i["security_group"], "ip_protocol": "tcp", "from_port": 80, "to_port": 80,
            "cidr": "0.0.0.0/0"}}, headers=NOVA_OLD),
        (_N, "v2_os_security_groups", "POST"): _e({"security_group": {"name": new_id, "description": "d"}},
                                                  headers=NOVA_OLD),
        (_N, "v2_os_security_group", "PUT"): _e({"security_group": {"name": "drill-sg", "description": "d"}},
                                                headers=NOVA_OLD),
        (_N, "v2_os_assisted_volume_snapshots", "POST"): _e({"snapshot": {"volume_id": i["volume"], "create_info": {
            "snapshot_id": i["volume"], "type": "qcow2", "new_file": "drill.qcow2"}}}),
        (_N, "v2_os_server_external_events", "POST"): _e({"events": [{
            "name": "network-changed", "server_uuid": i["server"]}]}),
        (_N, "v2_os_server_groups", "POST"): _e({"server_group": {"name": new_id, "policy": "anti-affinity"}},
                                                headers=NOVA),
        (_N, "v2_os_services_disable", "PUT"): _e({"host": i["host"], "binary": "nova-compute"}, headers=NOVA_OLD),
        (_N, "v2_os_services_enable", "PUT"): _e({"host": i["host"], "binary": "nova-compute"}, headers=NOVA_OLD),
        (_N, "v2_os_service", "PUT"): _e({"status": "enabled"}, headers=NOVA),
        (_N, "v2_os_snapshots", "POST"): _e({"snapshot": {"volume_id": i["volume"], "display_name": "drill"}},
                                            headers=NOVA_OLD),
        (_N, "v2_os_tenant_networks", "POST"): _e({"network": {"label": "drill", "cidr": "10.9.0.0/24"}}),
        (_N, "v2_os_volumes", "POST"): _e({"volume": {"size": 1, "display_name": "drill"}}, headers=NOVA_OLD),
        (_N, "v2_servers", "POST"): _e({"server": {"name": new_id, "flavorRef": i["flavor"],
                                                   "imageRef": i["cirros"], "networks": [{"uuid": i["network"]}],
                                                   "adminPass": "drill-create-Secret1"}}, headers=NOVA),
        (_N, "v2_server", "PUT"): _e({"server": {"name": "drill-vm"}}, headers=NOVA),
        (_N, "v2_server_action", "POST"): _actions(server_actions, headers=NOVA) + _actions({
            "os-getVNCConsole": {"type": "novnc"}, "os-getSPICEConsole": {"type": "spice-html5"},
            "os-getRDPConsole": {"type": "rdp-html5"}, "os-getSerialConsole": {"type": "serial"}},
            headers=NOVA_OLD),
        (_N, "v2_server_metadata", "POST"): _e({"metadata": {"drill": "yes"}}),
        (_N, "v2_server_metadata", "PUT"): _e({"metadata": {"drill": "yes"}}),
        (_N, "v2_server_metadata_key", "PUT"): _e({"meta": {"drill": "yes"}}),
        (_N, "v2_os_interfaces", "POST"): _e({"interfaceAttachment": {"net_id": i["network"]}}, headers=NOVA),
        (_N, "v2_os_volume_attachments", "POST"): _e({"volumeAttachment": {"volumeId": i["volume"]}},
                                                     headers=NOVA),
        (_N, "v2_os_volume_attachments_detail", "PUT"): _e({"volumeAttachment": {"volumeId": i["volume"]}},
                                                           headers=NOVA),
        (_N, "v2_server_remote_consoles", "POST"): _e({"remote_console": {"protocol": "vnc", "type": "novnc"}},
                                                      headers=NOVA),
        (_N, "v2_server_shares", "POST"): _e({"share": {"share_id": "3bcd5a0e-55f4-4d1a-9d2b-0f0f5c1e2a77"}},
                                             headers=NOVA_SHARES),
        (_N, "v2_server_share", "DELETE"): _e(None, headers=NOVA_SHARES),
        (_N, "v2_server_tags", "PUT"): _e({"tags": ["drill-tag"]}, headers=NOVA),
        (_N, "v2_server_tag", "PUT"): _e(None, headers=NOVA),
        # identity
        (_I, "v2_tokens", "POST"): _e({"auth": {"tenantName": "drill-p", "passwordCredentials": {
            "username": "drill-member", "password": "not-the-password"}}}),
        (_I, "v3_endpoint_groups", "POST"): _e({"endpoint_group": {"name": new_id, "filters": {}}}),
        (_I, "v3_endpoint_group", "PATCH"): _e({"endpoint_group": {"description": "drill"}}),
        (_I, "v3_oauth1_consumers", "POST"): _e({"consumer": {"description": "drill"}}),
        (_I, "v3_oauth1_consumer", "PATCH"): _e({"consumer": {"description": "drill"}}),
        (_I, "v3_trusts", "POST"): _e({"trust": {"trustor_user_id": i["user"], "trustee_user_id": i["user"],
                                                 "project_id": i["project"], "impersonation": False,
                                                 "roles": [{"name": "reader"}]}}),
        (_I, "v3_auth_tokens", "POST"): _e({"auth": {"identity": {"methods": ["password"], "password": {
            "user": {"name": "drill-member", "domain": {"id": "default"}, "password": "not-the-password"}}}}}),
        (_I, "v3_credentails", "POST"): _e({"credential": {"type": "drill", "blob": "b", "user_id": i["user"]}}),
        (_I, "v3_credentail", "PATCH"): _e({"credential": {"blob": "drill-blob-2"}}),
        (_I, "v3_domains", "POST"): _e({"domain": {"name": new_id}}),
        (_I, "v3_domains_with_id", "PATCH"): _e({"domain": {"description": "drill"}}),
        (_I, "v3_domain_config", "PUT"): _e({"config": {"identity": {"driver": "ldap"}}}),
        (_I, "v3_domain_config", "PATCH"): _e({"config": {"identity": {"driver": "ldap"}}}),
        (_I, "v3_domain_config_group", "PATCH"): _e({"config": {"identity": {"driver": "ldap"}}}),
        (_I, "v3_domain_config_option", "PATCH"): _e({"config": {"driver": "ldap"}}),
        (_I, "v3_endpoints", "POST"): _e({"endpoint": {"service_id": i["service"], "interface": "internal",
                                                       "url": "http://drill.example/internal"}}),
        (_I, "v3_endpoints_with_id", "PATCH"): _e({"endpoint": {"url": "http://drill.example/2"}}),
        (_I, "v3_groups", "POST"): _e({"group": {"name": new_id}}),
        (_I, "v3_group", "PATCH"): _e({"group": {"description": "drill"}}),
        (_I, "v3_policies", "POST"): _e({"policy": {"type": "application/json", "blob": "{}"}}),
        (_I, "v3_policy", "PATCH"): _e({"policy": {"blob": "{\"a\": 1}"}}),
        (_I, "v3_projects", "POST"): _e({"project": {"name": new_id}}),
        (_I, "v3_projects_with_id", "PATCH"): _e({"project": {"description": "drill"}}),
        (_I, "v3_project_tags", "PUT"): _e({"tags": ["drill-tag"]}),
        (_I, "v3_regions", "POST"): _e({"region": {"description": "drill"}}),
        (_I, "v3_region", "PUT"): _e({"region": {"description": "drill"}}),
        (_I, "v3_region", "PATCH"): _e({"region": {"description": "drill"}}),
        (_I, "v3_roles", "POST"): _e({"role": {"name": new_id}}),
        (_I, "v3_role", "PATCH"): _e({"role": {"description": "drill"}}),
        (_I, "v3_services", "POST"): _e({"service": {"type": "drill2"}}),
        (_I, "v3_services_with_id", "PATCH"): _e({"service": {"description": "drill"}}),
        (_I, "v3_users", "POST"): _e({"user": {"name": new_id, "password": "drill-user-Secret1"}}),
        (_I, "v3_user", "PATCH"): _e({"user": {"description": "drill"}}),
        (_I, "v3_user_application_credentials", "POST"): _e({"application_credential": {"name": new_id}}),
        (_I, "v3_user_ec2_credentials", "POST"): _e({"tenant_id": i["project"]}),
        (_I, "v3_user_password", "POST"): _e({"user": {"original_password": "not-the-password",
                                                        "password": "drill-new-Secret1"}}),
        # image
        (_G, "v2_images", "POST"): _e({"name": new_id, "disk_format": "raw", "container_format": "bare"}),
        (_G, "v2_image", "PATCH"): _e([{"op": "replace", "path": "/name", "value": "drill-image"}],
                                      content_type=PATCH_GLANCE),
        # loopback: refused by the import filter, so the drills never start a background import
        (_G, "v2_image_import", "POST"): _e({"method": {"name": "web-download",
                                                        "uri": "http://127.0.0.1/image.raw"}}),
        # loopback again: refused by the filter, so no background location read starts
        (_G, "v2_image_locations", "POST"): _e({"url": "http://127.0.0.1/image.raw"}),
        (_G, "v2_image_members", "POST"): _e({"member": i["other_project"]}),
        (_G, "v2_image_member", "PUT"): _e({"status": "accepted"}),
        (_G, "v2_image_file", "PUT"): _e(b"drill", content_type="application/octet-stream"),
        (_G, "v2_image_stage", "PUT"): _e(b"drill", content_type="application/octet-stream"),
        (_G, "v2_metadefs_namespaces", "POST"): _e({"namespace": new_id}),
        (_G, "v2_metadefs_namespace", "PUT"): _e({"namespace": "drill-ns", "description": "drill"}),
        (_G, "v2_metadefs_objects", "POST"): _e({"name": new_id}),
        (_G, "v2_metadefs_object", "PUT"): _e({"name": "drill-obj", "description": "drill"}),
        (_G, "v2_metadefs_properties", "POST"): _e({"name": new_id, "title": "t", "type": "string"}),
        (_G, "v2_metadefs_property", "PUT"): _e({"name": "drill-prop", "title": "t", "type": "string"}),
        (_G, "v2_metadefs_associations", "POST"): _e({"name": "OS::Cinder::Volume"}),
        (_G, "v2_metadefs_tags", "POST"): _e({"tags": [{"name": new_id}]}),
        (_G, "v2_metadefs_tag", "PUT"): _e({"name": "drill-tag"}),
        (_G, "v2_tasks", "POST"): _e({"type": "import", "input": {
            "import_from": "http://127.0.0.1/image.raw", "import_from_format": "raw",
            "image_properties": {"disk_format": "raw", "container_format": "bare"}}}),
        # network
        (_K, "networks", "POST"): _e({"network": {"name": new_id}}),
        (_K, "networks_item", "PUT"): _e({"network": {"description": "drill"}}),
        (_K, "subnets", "POST"): _e({"subnet": {"network_id": i["network"], "cidr": "10.78.0.0/24",
                                                "ip_version": 4}}),
        (_K, "subnets_item", "PUT"): _e({"subnet": {"description": "drill"}}),
        (_K, "ports", "POST"): _e({"port": {"network_id": i["network"]}}),
        (_K, "ports_item", "PUT"): _e({"port": {"description": "drill"}}),
        (_K, "routers", "POST"): _e({"router": {"name": new_id}}),
        (_K, "routers_item", "PUT"): _e({"router": {"description": "drill"}}),
        (_K, "router_add_interface", "PUT"): _e({"subnet_id": i["subnet"]}),
        (_K, "router_remove_interface", "PUT"): _e({"subnet_id": i["subnet"]}),
        (_K, "floatingips", "POST"): _e({"floatingip": {"floating_network_id": i["public_network"]}}),
        (_K, "floatingips_item", "PUT"): _e({"floatingip": {"description": "drill"}}),
        (_K, "security-groups", "POST"): _e({"security_group": {"name": new_id}}),
        (_K, "security-groups_item", "PUT"): _e({"security_group": {"description": "drill"}}),
        (_K, "security-group-rules", "POST"): _e({"security_group_rule": {
            "security_group_id": i["security_group"], "direction": "ingress", "protocol": "udp"}}),
        (_K, "quota", "PUT"): _e({"quota": {"network": 50}}),
        (_K, "subnetpools", "POST"): _e({"subnetpool": {"name": new_id, "prefixes": ["10.79.0.0/16"]}}),
        (_K, "subnetpools_item", "PUT"): _e({"subnetpool": {"description": "drill"}}),
        (_K, "subnetpools_tags", "PUT"): _e({"tags": ["drill-tag"]}),
        (_K, "address-scopes", "POST"): _e({"address_scope": {"name": new_id, "ip_version": 4}}),
        (_K, "address-scopes_item", "PUT"): _e({"address_scope": {"name": "drill"}}),
        (_K, "rbac_policies", "POST"): _e({"rbac_policy": {"object_type": "network", "object_id": i["network"],
                                                           "action": "access_as_shared", "target_tenant": new_id}}),
        (_K, "rbac_policy", "PUT"): _e({"rbac_policy": {"target_tenant": new_id}}),
        (_K, "trunks", "POST"): _e({"trunk": {"port_id": i["trunk_spare_port"]}}),
        (_K, "trunks_item", "PUT"): _e({"trunk": {"description": "drill"}}),
        (_K, "trunks_tags", "PUT"): _e({"tags": ["drill-tag"]}),
        (_K, "trunk_add_subports", "PUT"): _e({"sub_ports": [{"port_id": i["trunk_spare_port"],
                                                              "segmentation_type": "vlan", "segmentation_id": 11}]}),
        (_K, "trunk_remove_subports", "PUT"): _e({"sub_ports": [{"port_id": i["trunk_subport"]}]}),
        (_K, "agents_item", "PUT"): _e({"agent": {"description": "drill"}}),
        (_K, "agent_dhcp_networks", "POST"): _e({"network_id": i["dhcp_network"]}),
        (_K, "metering-labels", "POST"): _e({"metering_label": {"name": new_id}}),
        (_K, "metering-label-rules", "POST"): _e({"metering_label_rule": {
            "metering_label_id": i["metering_label"], "remote_ip_prefix": "10.81.0.0/24"}}),
        (_K, "qos_policies", "POST"): _e({"policy": {"name": new_id, "project_id": i["project"]}}),
        (_K, "qos_policy", "PUT"): _e({"policy": {"description": "drill"}}),
        (_K, "qos_bandwidth_limit_rules", "POST"): _e({"bandwidth_limit_rule": {"max_kbps": 2000,
                                                                                 "direction": "ingress"}}),
        (_K, "qos_bandwidth_limit_rule", "PUT"): _e({"bandwidth_limit_rule": {"max_kbps": 3000}}),
        (_K, "qos_dscp_marking_rule", "PUT"): _e({"dscp_marking_rule": {"dscp_mark": 34}}),
        (_K, "qos_minimum_bandwidth_rules", "POST"): _e({"minimum_bandwidth_rule": {"min_kbps": 20,
                                                                                     "direction": "ingress"}}),
        (_K, "qos_minimum_bandwidth_rule", "PUT"): _e({"minimum_bandwidth_rule": {"min_kbps": 30}}),
        **{(_K, f"{kind}_tags", "PUT"): _e({"tags": ["drill-tag"]})
           for kind in ("networks", "subnets", "ports", "routers", "floatingips", "security-groups")},
        # volume
        (_C, "attachments", "POST"): _e({"attachment": {"volume_uuid": i["volume"],
                                                        "instance_uuid": i["server"]}}, headers=CINDER),
        (_C, "attachment", "PUT"): _e({"attachment": {"connector": {"host": "drill"}}}, headers=CINDER),
        (_C, "attachment_action", "POST"): _actions({"os-complete": {}}, headers=CINDER),
        (_C, "backups", "POST"): _e({"backup": {"volume_id": i["backup_volume"], "name": new_id}}, headers=CINDER),
        (_C, "backup", "PUT"): _e({"backup": {"description": "drill"}}, headers=CINDER),
        (_C, "backup_restore", "POST"): _e({"restore": {"name": new_id}}, headers=CINDER),
        (_C, "backup_action", "POST"): _actions({"os-reset_status": {"status": "available"}}, headers=CINDER),
        (_C, "group_snapshots", "POST"): _e({"group_snapshot": {"group_id": i["group"]}}, headers=CINDER),
        (_C, "group_snapshot_action", "POST"): _actions({"reset_status": {"status": "available"}},
                                                        headers=CINDER),
        (_C, "group_types", "POST"): _e({"group_type": {"name": new_id}}, headers=CINDER),
        (_C, "group_type", "PUT"): _e({"group_type": {"description": "drill"}}, headers=CINDER),
        (_C, "group_type_specs", "POST"): _e({"group_specs": {"drill_key": "y"}}, headers=CINDER),
        (_C, "group_type_spec", "PUT"): _e({"drill_key": "y"}, headers=CINDER),
        (_C, "groups", "POST"): _e({"group": {"group_type": i["group_type"], "volume_types": ["drill-type"]}},
                                   headers=CINDER),
        (_C, "groups_action", "POST"): _actions({"create-from-src": {"source_group_id": i["group"]}},
                                                headers=CINDER),
        (_C, "group", "PUT"): _e({"group": {"description": "drill"}}, headers=CINDER),
        (_C, "group_action", "POST"): _actions({"reset_status": {"status": "available"}}, headers=CINDER),
        (_C, "quota_class_set", "PUT"): _e({"quota_class_set": {"volumes": 50}}, headers=CINDER),
        (_C, "quota_set", "PUT"): _e({"quota_set": {"volumes": 50}}, headers=CINDER),
        (_C, "service_action", "PUT"): _e({"host": "drill", "binary": "cinder-volume"}, headers=CINDER),
        (_C, "transfers_legacy", "POST"): _e({"transfer": {"volume_id": i["volume"]}}, headers=CINDER),
        (_C, "transfer_legacy_accept", "POST"): _e({"accept": {"auth_key": "not-the-key"}}, headers=CINDER),
        (_C, "transfers", "POST"): _e({"transfer": {"volume_id": i["volume"]}}, headers=CINDER),
        (_C, "transfer_accept", "POST"): _e({"accept": {"auth_key": "not-the-key"}}, headers=CINDER),
        (_C, "qos_specs", "POST"): _e({"qos_specs": {"name": new_id}}, headers=CINDER),
        (_C, "qos_spec", "PUT"): _e({"qos_specs": {"read_iops_sec": "200"}}, headers=CINDER),
        (_C, "qos_spec_delete_keys", "PUT"): _e({"keys": ["read_iops_sec"]}, headers=CINDER),
        (_C, "snapshots", "POST"): _e({"snapshot": {"volume_id": i["volume"], "name": new_id}}, headers=CINDER),
        (_C, "snapshot", "PUT"): _e({"snapshot": {"description": "drill"}}, headers=CINDER),
        (_C, "snapshot_action", "POST"): _actions({"os-reset_status": {"status": "available"},
                                                   "os-update_snapshot_status": {"status": "available"}},
                                                  headers=CINDER),
        (_C, "snapshot_metadata", "POST"): _e({"metadata": {"drill": "yes"}}, headers=CINDER),
        (_C, "snapshot_metadata", "PUT"): _e({"metadata": {"drill": "yes"}}, headers=CINDER),
        (_C, "snapshot_metadata_key", "PUT"): _e({"meta": {"drill": "yes"}}, headers=CINDER),
        (_C, "types", "POST"): _e({"volume_type": {"name": new_id}}, headers=CINDER),
        (_C, "type", "PUT"): _e({"volume_type": {"description": "drill"}}, headers=CINDER),
        (_C, "type_action", "POST"): _actions({"addProjectAccess": {"project": i["other_project"]},
                                               "removeProjectAccess": {"project": i["other_project"]}},
                                              headers=CINDER),
        (_C, "type_encryption", "POST"): _e({"encryption": {"provider": "luks", "control_location": "front-end"}},
                                            headers=CINDER),
        (_C, "type_encryption_item", "PUT"): _e({"encryption": {"key_size": 256}}, headers=CINDER),
        (_C, "type_extra_specs", "POST"): _e({"extra_specs": {"drill_key": "y"}}, headers=CINDER),
        (_C, "type_extra_spec", "PUT"): _e({"drill_key": "y"}, headers=CINDER),
        (_C, "volumes", "POST"): _e({"volume": {"size": 1, "name": new_id}}, headers=CINDER),
        (_C, "volume", "PUT"): _e({"volume": {"description": "drill"}}, headers=CINDER),
        (_C, "volume_action", "POST"): _actions(volume_actions, headers=CINDER),
        (_C, "volume_metadata", "POST"): _e({"metadata": {"drill": "yes"}}, headers=CINDER),
        (_C, "volume_metadata", "PUT"): _e({"metadata": {"drill": "yes"}}, headers=CINDER),
        (_C, "volume_metadata_key", "PUT"): _e({"meta": {"drill": "yes"}}, headers=CINDER),
        # placement (generations as the world left them: later writes may find them moved on, 409)
        (_P, "resource_providers", "POST"): _e({"name": new_id}, headers=PLACEMENT),
        (_P, "resource_provider", "PUT"): _e({"name": "drill-rp"}, headers=PLACEMENT),
        (_P, "resource_provider_inventories", "POST"): _e({"resource_class": "VCPU", "total": 4},
                                                          headers={"OpenStack-API-Version": "placement 1.0"}),
        (_P, "resource_provider_inventories", "PUT"): _e({"resource_provider_generation": 1, "inventories": {
            "DISK_GB": {"total": 100}, "CUSTOM_DRILL": {"total": 10}}}, headers=PLACEMENT),
        (_P, "resource_provider_inventory", "PUT"): _e({"resource_provider_generation": 1, "total": 20},
                                                       headers=PLACEMENT),
        (_P, "resource_provider_aggregates", "PUT"): _e([str(uuid.UUID(int=7))],
                                                        headers={"OpenStack-API-Version": "placement 1.1"}),
        (_P, "resource_provider_traits", "PUT"): _e({"resource_provider_generation": 1, "traits": ["CUSTOM_DRILL"]},
                                                    headers=PLACEMENT),
        (_P, "resource_classes", "POST"): _e({"name": "CUSTOM_" + new_id.upper().replace("-", "_")},
                                             headers=PLACEMENT),
        (_P, "allocations", "POST"): _e({str(uuid.uuid4()): {
            "allocations": {i["resource_provider"]: {"resources": {"DISK_GB": 1}}}, "project_id": i["project"],
            "user_id": i["user"], "consumer_generation": None, "consumer_type": "DRILL"}}, headers=PLACEMENT),
        (_P, "consumer_allocations", "PUT"): _e({
            "allocations": {i["resource_provider"]: {"resources": {"DISK_GB": 2}}}, "project_id": i["project"],
            "user_id": i["user"]}, headers={"OpenStack-API-Version": "placement 1.12"}),
    }


#: Nova's proxies to the other services, gone (404) from microversion 2.36
NOVA_PROXIES = ("v2_image", "v2_os_floating_ip", "v2_os_security_group", "v2_os_volume", "v2_os_snapshot",
                "v2_os_network", "v2_os_tenant_network", "v2_os_host", "v2_os_floating_ips")


def headers_for(endpoint: Endpoint) -> dict[str, str]:
    """The newest microversion, for endpoints without an example (2.1 for Nova's proxies)."""
    if endpoint.service == "compute" and endpoint.name.startswith(NOVA_PROXIES):
        return NOVA_OLD
    return {"compute": NOVA, "volume": CINDER, "placement": PLACEMENT}.get(endpoint.service, {})


def rule_for(endpoint: Endpoint, method: str, action: str | None) -> str | None:
    key = (endpoint.service, endpoint.name, method) + ((action,) if action else ())
    return ORACLE.get(key)
