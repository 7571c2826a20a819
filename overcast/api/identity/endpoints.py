"""Every identity endpoint Overcast knows (Jumpgate's 49 names are the floor; Keystone's real
paths where Jumpgate's templates were wrong: see docs/decisions/0002-named-endpoints.md)."""

from __future__ import annotations

from overcast.api.routing import Registry

R, W, RW = ("GET", "HEAD"), ("POST",), ("GET", "HEAD", "POST")
ITEM = ("GET", "HEAD", "PATCH", "DELETE")
GRANT = ("GET", "HEAD", "PUT", "DELETE")

IDENTITY_ENDPOINTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("versions", "", R),
    # v3: auth
    ("v3_auth_index", "/v3", R),
    ("v3_auth_tokens", "/v3/auth/tokens", ("GET", "HEAD", "POST", "DELETE")),
    ("v3_auth_catalog", "/v3/auth/catalog", R),
    ("v3_auth_projects", "/v3/auth/projects", R),
    ("v3_auth_domains", "/v3/auth/domains", R),
    ("v3_auth_system", "/v3/auth/system", R),
    # v3: catalog
    ("v3_regions", "/v3/regions", RW),
    ("v3_region", "/v3/regions/{region_id}", ITEM + ("PUT",)),
    ("v3_services", "/v3/services", RW),
    ("v3_services_with_id", "/v3/services/{service_id}", ITEM),
    ("v3_endpoints", "/v3/endpoints", RW),
    ("v3_endpoints_with_id", "/v3/endpoints/{endpoint_id}", ITEM),
    # v3: domains and their grants
    ("v3_domains", "/v3/domains", RW),
    ("v3_domains_with_id", "/v3/domains/{domain_id}", ITEM),
    ("v3_domain_user_roles", "/v3/domains/{domain_id}/users/{user_id}/roles", R),
    ("v3_domain_user_role", "/v3/domains/{domain_id}/users/{user_id}/roles/{role_id}", GRANT),
    ("v3_domain_group_roles", "/v3/domains/{domain_id}/groups/{group_id}/roles", R),
    ("v3_domain_group_role", "/v3/domains/{domain_id}/groups/{group_id}/roles/{role_id}", GRANT),
    # v3: projects, tags and grants
    ("v3_projects", "/v3/projects", RW),
    ("v3_projects_with_id", "/v3/projects/{project_id}", ITEM),
    ("v3_project_tags", "/v3/projects/{project_id}/tags", ("GET", "HEAD", "PUT", "DELETE")),
    ("v3_project_tag", "/v3/projects/{project_id}/tags/{tag}", ("GET", "HEAD", "PUT", "DELETE")),
    ("v3_project_users", "/v3/projects/{project_id}/users", R),
    ("v3_project_user_roles", "/v3/projects/{project_id}/users/{user_id}/roles", R),
    ("v3_project_user_role", "/v3/projects/{project_id}/users/{user_id}/roles/{role_id}", GRANT),
    ("v3_project_group_roles", "/v3/projects/{project_id}/groups/{group_id}/roles", R),
    ("v3_project_role", "/v3/projects/{project_id}/groups/{group_id}/roles/{role_id}", GRANT),
    # v3: users
    ("v3_users", "/v3/users", RW),
    ("v3_user", "/v3/users/{user_id}", ITEM),
    ("v3_user_password", "/v3/users/{user_id}/password", W),
    ("v3_user_groups", "/v3/users/{user_id}/groups", R),
    ("v3_user_projects", "/v3/users/{user_id}/projects", R),
    ("v3_user_roles", "/v3/users/{user_id}/roles", R),
    ("v3_user_application_credentials", "/v3/users/{user_id}/application_credentials", RW),
    ("v3_user_application_credential",
     "/v3/users/{user_id}/application_credentials/{application_credential_id}", ("GET", "HEAD", "DELETE")),
    # v3: groups
    ("v3_groups", "/v3/groups", RW),
    ("v3_group", "/v3/groups/{group_id}", ITEM),
    ("v3_group_users", "/v3/groups/{group_id}/users", R),
    ("v3_group_user", "/v3/groups/{group_id}/users/{user_id}", ("HEAD", "PUT", "DELETE")),
    # v3: roles, inference rules and assignments
    ("v3_roles", "/v3/roles", RW),
    ("v3_role", "/v3/roles/{role_id}", ITEM),
    ("v3_role_users", "/v3/roles/{role_id}/users", R),
    ("v3_role_implies", "/v3/roles/{role_id}/implies", R),
    ("v3_role_imply", "/v3/roles/{role_id}/implies/{implied_role_id}", GRANT),
    ("v3_role_inferences", "/v3/role_inferences", R),
    ("v3_role_assignments", "/v3/role_assignments", R),
    ("v3_system_user_roles", "/v3/system/users/{user_id}/roles", R),
    ("v3_system_user_role", "/v3/system/users/{user_id}/roles/{role_id}", GRANT),
    ("v3_system_group_roles", "/v3/system/groups/{group_id}/roles", R),
    ("v3_system_group_role", "/v3/system/groups/{group_id}/roles/{role_id}", GRANT),
    # v3: OS-INHERIT, grants inherited to the projects below a domain or project (Keystone lists
    # them on domains only)
    ("v3_os_inherit_domain_user_roles",
     "/v3/OS-INHERIT/domains/{domain_id}/users/{user_id}/roles/inherited_to_projects", R),
    ("v3_os_inherit_domain_user_role",
     "/v3/OS-INHERIT/domains/{domain_id}/users/{user_id}/roles/{role_id}/inherited_to_projects", GRANT),
    ("v3_os_inherit_domain_group_roles",
     "/v3/OS-INHERIT/domains/{domain_id}/groups/{group_id}/roles/inherited_to_projects", R),
    ("v3_os_inherit_domain_group_role",
     "/v3/OS-INHERIT/domains/{domain_id}/groups/{group_id}/roles/{role_id}/inherited_to_projects", GRANT),
    ("v3_os_inherit_project_user_role",
     "/v3/OS-INHERIT/projects/{project_id}/users/{user_id}/roles/{role_id}/inherited_to_projects", GRANT),
    ("v3_os_inherit_project_group_role",
     "/v3/OS-INHERIT/projects/{project_id}/groups/{group_id}/roles/{role_id}/inherited_to_projects", GRANT),
    # v3: domain-specific configuration
    ("v3_domain_config", "/v3/domains/{domain_id}/config", ("GET", "HEAD", "PUT", "PATCH", "DELETE")),
    ("v3_domain_config_group", "/v3/domains/{domain_id}/config/{group}", ITEM),
    ("v3_domain_config_option", "/v3/domains/{domain_id}/config/{group}/{option}", ITEM),
    ("v3_domain_config_default", "/v3/domains/config/default", R),
    ("v3_domain_config_group_default", "/v3/domains/config/{group}/default", R),
    ("v3_domain_config_option_default", "/v3/domains/config/{group}/{option}/default", R),
    # v3: OS-EP-FILTER, endpoint groups and the endpoints a project's catalog is filtered to
    ("v3_endpoint_groups", "/v3/OS-EP-FILTER/endpoint_groups", RW),
    ("v3_endpoint_group", "/v3/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}", ITEM),
    ("v3_endpoint_group_projects", "/v3/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}/projects", R),
    ("v3_endpoint_group_endpoints", "/v3/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}/endpoints", R),
    ("v3_endpoint_group_project",
     "/v3/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}/projects/{project_id}", GRANT),
    ("v3_project_endpoint_groups", "/v3/OS-EP-FILTER/projects/{project_id}/endpoint_groups", R),
    ("v3_project_endpoints", "/v3/OS-EP-FILTER/projects/{project_id}/endpoints", R),
    ("v3_project_endpoint", "/v3/OS-EP-FILTER/projects/{project_id}/endpoints/{endpoint_id}",
     ("GET", "HEAD", "PUT", "DELETE")),
    ("v3_endpoint_projects", "/v3/OS-EP-FILTER/endpoints/{endpoint_id}/projects", R),
    # v3: OS-EC2, a user's EC2-style credentials (type "ec2" credentials, addressed by access key)
    ("v3_user_ec2_credentials", "/v3/users/{user_id}/credentials/OS-EC2", RW),
    ("v3_user_ec2_credential", "/v3/users/{user_id}/credentials/OS-EC2/{credential_id}",
     ("GET", "HEAD", "DELETE")),
    # v3: tokens for signed EC2 and S3 requests (the EC2 API and Swift's s3api ask Keystone)
    ("v3_ec2tokens", "/v3/ec2tokens", W),
    ("v3_s3tokens", "/v3/s3tokens", W),
    # v3: credentials and policies (Jumpgate's spelling of the names is kept)
    ("v3_credentails", "/v3/credentials", RW),
    ("v3_credentail", "/v3/credentials/{credential_id}", ITEM),
    ("v3_policies", "/v3/policies", RW),
    ("v3_policy", "/v3/policies/{policy_id}", ITEM),
    # v3: OS-TRUST, delegation of a trustor's roles on a project to a trustee
    ("v3_trusts", "/v3/OS-TRUST/trusts", RW),
    ("v3_trust", "/v3/OS-TRUST/trusts/{trust_id}", ("GET", "HEAD", "DELETE")),
    ("v3_trust_roles", "/v3/OS-TRUST/trusts/{trust_id}/roles", R),
    ("v3_trust_role", "/v3/OS-TRUST/trusts/{trust_id}/roles/{role_id}", R),
    # v3: OS-OAUTH1, consumers (delegation through OAuth 1.0a request and access tokens)
    ("v3_oauth1_consumers", "/v3/OS-OAUTH1/consumers", RW),
    ("v3_oauth1_consumer", "/v3/OS-OAUTH1/consumers/{consumer_id}", ITEM),
    ("v3_oauth1_request_token", "/v3/OS-OAUTH1/request_token", W),
    ("v3_oauth1_authorize", "/v3/OS-OAUTH1/authorize/{request_token_id}", ("PUT",)),
    ("v3_oauth1_access_token", "/v3/OS-OAUTH1/access_token", W),
    ("v3_user_oauth1_access_tokens", "/v3/users/{user_id}/OS-OAUTH1/access_tokens", R),
    ("v3_user_oauth1_access_token", "/v3/users/{user_id}/OS-OAUTH1/access_tokens/{access_token_id}",
     ("GET", "HEAD", "DELETE")),
    ("v3_user_oauth1_access_token_roles", "/v3/users/{user_id}/OS-OAUTH1/access_tokens/{access_token_id}/roles", R),
    ("v3_user_oauth1_access_token_role",
     "/v3/users/{user_id}/OS-OAUTH1/access_tokens/{access_token_id}/roles/{role_id}", R),
    # v3: a user's application credential access rules
    ("v3_user_access_rules", "/v3/users/{user_id}/access_rules", R),
    ("v3_user_access_rule", "/v3/users/{user_id}/access_rules/{access_rule_id}", ("GET", "HEAD", "DELETE")),
    # v2.0, for legacy clients
    ("v2_auth_index", "/v2.0", R),
    ("v2_extensions", "/v2.0/extensions", R),
    ("v2_extension_alias", "/v2.0/extensions/{alias}", R),
    ("v2_tokens", "/v2.0/tokens", W),
    ("v2_token_tenants", "/v2.0/tokens/tenants", R),
    ("v2_token", "/v2.0/tokens/{token_id}", ("GET", "HEAD", "DELETE")),
    ("v2_token_endpoints", "/v2.0/tokens/{token_id}/endpoints", R),
    ("v2_users", "/v2.0/users", RW),
    ("v2_user", "/v2.0/users/{user_id}", ("GET", "HEAD", "PUT", "DELETE")),
    ("v2_user_roles", "/v2.0/users/{user_id}/roles", R),
    ("v2_tenants", "/v2.0/tenants", R),
    ("v2_tenant", "/v2.0/tenants/{tenant_id}", R),
    ("v2_tenant_user_roles", "/v2.0/tenants/{tenant_id}/users/{user_id}/roles", R),
)


def declare(registry: Registry) -> None:
    for name, template, methods in IDENTITY_ENDPOINTS:
        registry.declare("identity", name, template, methods)
