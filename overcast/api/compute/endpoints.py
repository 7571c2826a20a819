"""Every compute endpoint Overcast knows: Jumpgate's 64 names (the floor) and Nova v2.1's paths.

Each endpoint is served at ``/v2.1/...`` (what the catalog lists), at ``/v2.1/{tenant_id}/...``
(Nova accepts a project id in the path) and at the legacy ``/v2/{tenant_id}/...`` from
Jumpgate's table. Version documents sit at ``/``, ``/v2`` and ``/v2.1``.
"""

from __future__ import annotations

from overcast.api.routing import Registry

R = ("GET", "HEAD")
RW = ("GET", "HEAD", "POST")
ITEM = ("GET", "HEAD", "PUT", "DELETE")

#: (name, template below /v2.1, verbs)
COMPUTE_ENDPOINTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("v2_extensions", "/extensions", R),
    ("v2_extension", "/extensions/{alias}", R),
    ("v2_limits", "/limits", R),
    # servers and their sub-resources
    ("v2_servers", "/servers", RW),
    ("v2_servers_detail", "/servers/detail", R),
    ("v2_server", "/servers/{server_id}", ITEM),
    ("v2_server_action", "/servers/{server_id}/action", ("POST",)),
    ("v2_server_metadata", "/servers/{server_id}/metadata", ("GET", "HEAD", "POST", "PUT")),
    ("v2_server_metadata_key", "/servers/{server_id}/metadata/{key}", ITEM),
    ("v2_server_tags", "/servers/{server_id}/tags", ("GET", "HEAD", "PUT", "DELETE")),
    ("v2_server_tag", "/servers/{server_id}/tags/{tag}", ITEM),
    ("v2_server_ips", "/servers/{server_id}/ips", R),
    ("v2_server_ips_network", "/servers/{server_id}/ips/{network_label}", R),
    ("v2_os_instance_actions", "/servers/{server_id}/os-instance-actions", R),
    ("v2_os_instance_action", "/servers/{server_id}/os-instance-actions/{request_id}", R),
    ("v2_os_volume_attachments", "/servers/{server_id}/os-volume_attachments", RW),
    ("v2_os_volume_attachments_detail", "/servers/{server_id}/os-volume_attachments/{volume_id}", ITEM),
    ("v2_os_interfaces", "/servers/{server_id}/os-interface", RW),
    ("v2_os_interface", "/servers/{server_id}/os-interface/{port_id}", ("GET", "HEAD", "DELETE")),
    ("v2_os_server_security_groups", "/servers/{server_id}/os-security-groups", R),
    ("v2_server_diagnostics", "/servers/{server_id}/diagnostics", R),
    ("v2_server_password", "/servers/{server_id}/os-server-password", ("GET", "HEAD", "DELETE")),
    ("v2_server_remote_consoles", "/servers/{server_id}/remote-consoles", ("POST",)),
    ("v2_server_shares", "/servers/{server_id}/shares", RW),
    ("v2_server_share", "/servers/{server_id}/shares/{share_id}", ("GET", "HEAD", "DELETE")),
    # flavors
    ("v2_flavors", "/flavors", RW),
    ("v2_flavors_detail", "/flavors/detail", R),
    ("v2_flavor", "/flavors/{flavor_id}", ITEM),
    ("v2_flavor_action", "/flavors/{flavor_id}/action", ("POST",)),
    ("v2_flavor_access", "/flavors/{flavor_id}/os-flavor-access", R),
    ("v2_os_extra_specs_flavor", "/flavors/{flavor_id}/os-extra_specs", RW),
    ("v2_os_extra_specs_flavor_key", "/flavors/{flavor_id}/os-extra_specs/{key}", ITEM),
    # images (Nova's deprecated proxy)
    ("v2_images", "/images", R),
    ("v2_images_detail", "/images/detail", R),
    ("v2_image", "/images/{image_id}", ("GET", "HEAD", "DELETE")),
    ("v2_image_metadata", "/images/{image_id}/metadata", ("GET", "HEAD", "POST", "PUT")),
    ("v2_image_metadata_key", "/images/{image_id}/metadata/{key}", ITEM),
    # key pairs, zones, quotas, usage
    ("v2_os_keypairs", "/os-keypairs", RW),
    ("v2_os_keypair", "/os-keypairs/{keypair_name}", ("GET", "HEAD", "DELETE")),
    ("v2_availability_zone", "/os-availability-zone", R),
    ("v2_availability_zone_detail", "/os-availability-zone/detail", R),
    ("v2_os_quota_sets_target", "/os-quota-sets/{project_id}", ITEM),
    ("v2_os_quota_sets_target_defaults", "/os-quota-sets/{project_id}/defaults", R),
    ("v2_os_quota_sets_target_detail", "/os-quota-sets/{project_id}/detail", R),
    ("v2_os_quota_class_sets", "/os-quota-class-sets/{class_name}", ("GET", "HEAD", "PUT")),
    ("v2_tenants_usage", "/os-simple-tenant-usage", R),
    ("v2_tenant_usage", "/os-simple-tenant-usage/{project_id}", R),
    ("v2_os_instance_usage_audit_logs", "/os-instance_usage_audit_log", R),
    ("v2_os_instance_usage_audit_log", "/os-instance_usage_audit_log/{before_timestamp}", R),
    # server groups
    ("v2_os_server_groups", "/os-server-groups", RW),
    ("v2_os_server_group", "/os-server-groups/{group_id}", ("GET", "HEAD", "DELETE")),
    # administration: hypervisors, services, aggregates
    ("v2_os_hypervisors", "/os-hypervisors", R),
    ("v2_os_hypervisors_detail", "/os-hypervisors/detail", R),
    ("v2_os_hypervisors_statistics", "/os-hypervisors/statistics", R),
    ("v2_os_hypervisor", "/os-hypervisors/{hypervisor_id}", R),
    ("v2_os_hypervisor_uptime", "/os-hypervisors/{hypervisor_id}/uptime", R),
    ("v2_os_hypervisor_search", "/os-hypervisors/{hypervisor_id}/search", R),
    ("v2_os_hypervisor_servers", "/os-hypervisors/{hypervisor_id}/servers", R),
    ("v2_os_hosts", "/os-hosts", R),
    ("v2_os_host", "/os-hosts/{host_name}", ("GET", "HEAD", "PUT")),
    ("v2_os_host_power_action", "/os-hosts/{host_name}/{action}", R),
    ("v2_os_services", "/os-services", R),
    ("v2_os_services_enable", "/os-services/enable", ("PUT",)),
    ("v2_os_services_disable", "/os-services/disable", ("PUT",)),
    ("v2_os_service", "/os-services/{service_id}", ("PUT", "DELETE")),
    ("v2_os_aggregates", "/os-aggregates", RW),
    ("v2_os_aggregate", "/os-aggregates/{aggregate_id}", ITEM),
    ("v2_os_aggregate_action", "/os-aggregates/{aggregate_id}/action", ("POST",)),
    ("v2_os_migrations", "/os-migrations", R),
    ("v2_os_server_external_events", "/os-server-external-events", ("POST",)),
    ("v2_os_assisted_volume_snapshots", "/os-assisted-volume-snapshots", ("POST",)),
    ("v2_os_assisted_volume_snapshot", "/os-assisted-volume-snapshots/{snapshot_id}", ("DELETE",)),
    # Nova's network proxies (served below 2.36)
    ("v2_os_networks", "/os-networks", RW),
    ("v2_os_network", "/os-networks/{network_id}", ("GET", "HEAD", "DELETE")),
    ("v2_os_networks_add", "/os-networks/add", ("POST",)),
    ("v2_os_network_action", "/os-networks/{network_id}/action", ("POST",)),
    ("v2_os_tenant_networks", "/os-tenant-networks", RW),
    ("v2_os_tenant_network", "/os-tenant-networks/{network_id}", ("GET", "HEAD", "DELETE")),
    ("v2_os_floating_ips", "/os-floating-ips", RW),
    ("v2_os_floating_ips_id", "/os-floating-ips/{floating_ip_id}", ("GET", "HEAD", "DELETE")),
    ("v2_os_floating_ip_pools", "/os-floating-ip-pools", R),
    ("v2_os_floating_ip_dns", "/os-floating-ip-dns", R),
    ("v2_os_floating_ip_dns_domain", "/os-floating-ip-dns/{domain}", ("GET", "HEAD", "PUT", "DELETE")),
    ("v2_os_floating_ip_dns_domain_entry", "/os-floating-ip-dns/{domain}/entries/{entry}", ITEM),
    ("v2_os_security_groups", "/os-security-groups", RW),
    ("v2_os_security_group", "/os-security-groups/{security_group_id}", ITEM),
    ("v2_os_security_group_rules", "/os-security-group-rules", ("POST",)),
    ("v2_os_security_group_rule", "/os-security-group-rules/{rule_id}", ("DELETE",)),
    # Nova's volume proxies (served below 2.36)
    ("v2_os_volumes", "/os-volumes", RW),
    ("v2_os_volumes_detail", "/os-volumes/detail", R),
    ("v2_os_volume", "/os-volumes/{volume_id}", ("GET", "HEAD", "DELETE")),
    ("v2_os_snapshots", "/os-snapshots", RW),
    ("v2_os_snapshots_detail", "/os-snapshots/detail", R),
    ("v2_os_snapshot", "/os-snapshots/{snapshot_id}", ("GET", "HEAD", "DELETE")),
)

def declare(registry: Registry) -> None:
    registry.declare("compute", "index", "", R)
    registry.declare("compute", "v2_index", "/v2", R)
    registry.declare("compute", "v21_index", "/v2.1", R)
    for name, template, methods in COMPUTE_ENDPOINTS:
        registry.declare("compute", name, "/v2.1" + template, methods,
                         aliases=("/v2.1/{tenant_id}" + template, "/v2/{tenant_id}" + template))
