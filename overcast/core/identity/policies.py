"""Keystone's default policy (keystone/common/policies/*.py) as Overcast rules: the one place the
identity service's rules are declared. The app factory loads them (:func:`overcast.core.policy.load`).

Keystone's 2023.2+ defaults with ``enforce_scope`` off, as DevStack runs them: the admin role on
any scope is the cloud administrator; domain managers manage their domain's users and projects.
"""

from __future__ import annotations

from typing import Mapping

from overcast.core.policy import (ADMIN, ADMIN_OR_SYSTEM_READER, ANYONE, DOMAIN_MANAGER, DOMAIN_READER,
                                  OWNER_PROJECT, OWNER_USER, PROJECT_READER, Rule, matches)

_READ_ANY = ADMIN_OR_SYSTEM_READER | DOMAIN_READER
TRUSTOR = matches("user_id", "trustor_user_id")
TRUSTEE = matches("user_id", "trustee_user_id")

RULES: Mapping[str, Rule] = {
    # tokens and the auth API
    "identity:check_token": ADMIN_OR_SYSTEM_READER | matches("user_id", "token_user_id"),
    "identity:validate_token": ADMIN_OR_SYSTEM_READER | matches("user_id", "token_user_id"),
    "identity:revoke_token": ADMIN | matches("user_id", "token_user_id"),
    "identity:get_auth_catalog": ANYONE,
    "identity:get_auth_projects": ANYONE,
    "identity:get_auth_domains": ANYONE,
    "identity:get_auth_system": ANYONE,
    # domains
    "identity:get_domain": _READ_ANY | matches("project_domain_id", "domain_id"),
    "identity:list_domains": ADMIN_OR_SYSTEM_READER,
    "identity:create_domain": ADMIN,
    "identity:update_domain": ADMIN,
    "identity:delete_domain": ADMIN,
    # projects
    "identity:get_project": _READ_ANY | OWNER_PROJECT,
    "identity:list_projects": _READ_ANY,
    "identity:list_user_projects": _READ_ANY | OWNER_USER,
    "identity:create_project": ADMIN | DOMAIN_MANAGER,
    "identity:update_project": ADMIN | DOMAIN_MANAGER,
    "identity:delete_project": ADMIN | DOMAIN_MANAGER,
    "identity:list_project_tags": _READ_ANY | OWNER_PROJECT,
    "identity:get_project_tag": _READ_ANY | OWNER_PROJECT,
    "identity:update_project_tags": ADMIN | DOMAIN_MANAGER,
    "identity:create_project_tag": ADMIN | DOMAIN_MANAGER,
    "identity:delete_project_tag": ADMIN | DOMAIN_MANAGER,
    "identity:delete_project_tags": ADMIN | DOMAIN_MANAGER,
    # users
    "identity:get_user": _READ_ANY | OWNER_USER,
    "identity:list_users": _READ_ANY,
    "identity:create_user": ADMIN | DOMAIN_MANAGER,
    "identity:update_user": ADMIN | DOMAIN_MANAGER,
    "identity:delete_user": ADMIN | DOMAIN_MANAGER,
    "identity:change_password": ADMIN | OWNER_USER,
    # groups
    "identity:get_group": _READ_ANY,
    "identity:list_groups": _READ_ANY,
    "identity:list_groups_for_user": _READ_ANY | OWNER_USER,
    "identity:create_group": ADMIN | DOMAIN_MANAGER,
    "identity:update_group": ADMIN | DOMAIN_MANAGER,
    "identity:delete_group": ADMIN | DOMAIN_MANAGER,
    "identity:list_users_in_group": _READ_ANY,
    "identity:remove_user_from_group": ADMIN | DOMAIN_MANAGER,
    "identity:check_user_in_group": _READ_ANY,
    "identity:add_user_to_group": ADMIN | DOMAIN_MANAGER,
    # roles, implied roles, grants, assignments
    "identity:get_role": _READ_ANY,
    "identity:list_roles": _READ_ANY,
    "identity:create_role": ADMIN,
    "identity:update_role": ADMIN,
    "identity:delete_role": ADMIN,
    "identity:get_domain_role": _READ_ANY,
    "identity:list_domain_roles": _READ_ANY,
    "identity:create_domain_role": ADMIN,
    "identity:update_domain_role": ADMIN,
    "identity:delete_domain_role": ADMIN,
    "identity:get_implied_role": ADMIN_OR_SYSTEM_READER,
    "identity:list_implied_roles": ADMIN_OR_SYSTEM_READER,
    "identity:create_implied_role": ADMIN,
    "identity:delete_implied_role": ADMIN,
    "identity:list_role_inference_rules": ADMIN_OR_SYSTEM_READER,
    "identity:check_implied_role": ADMIN_OR_SYSTEM_READER,
    "identity:check_grant": _READ_ANY,
    "identity:list_grants": _READ_ANY,
    "identity:create_grant": ADMIN | DOMAIN_MANAGER,
    "identity:revoke_grant": ADMIN | DOMAIN_MANAGER,
    "identity:list_system_grants_for_user": ADMIN_OR_SYSTEM_READER,
    "identity:check_system_grant_for_user": ADMIN_OR_SYSTEM_READER,
    "identity:create_system_grant_for_user": ADMIN,
    "identity:revoke_system_grant_for_user": ADMIN,
    "identity:list_system_grants_for_group": ADMIN_OR_SYSTEM_READER,
    "identity:check_system_grant_for_group": ADMIN_OR_SYSTEM_READER,
    "identity:create_system_grant_for_group": ADMIN,
    "identity:revoke_system_grant_for_group": ADMIN,
    "identity:list_role_assignments": _READ_ANY,
    "identity:list_role_assignments_for_tree": _READ_ANY | PROJECT_READER,
    # application credentials and credentials
    "identity:get_application_credential": ADMIN_OR_SYSTEM_READER | OWNER_USER,
    "identity:list_application_credentials": ADMIN_OR_SYSTEM_READER | OWNER_USER,
    "identity:create_application_credential": OWNER_USER,
    "identity:delete_application_credential": ADMIN | OWNER_USER,
    "identity:get_credential": ADMIN_OR_SYSTEM_READER | OWNER_USER,
    "identity:list_credentials": ANYONE,  # non-admins see only their own (filtered in core)
    "identity:create_credential": ADMIN | OWNER_USER,
    "identity:update_credential": ADMIN | OWNER_USER,
    "identity:delete_credential": ADMIN | OWNER_USER,
    # the catalog
    "identity:get_region": ANYONE,
    "identity:list_regions": ANYONE,
    "identity:create_region": ADMIN,
    "identity:update_region": ADMIN,
    "identity:delete_region": ADMIN,
    "identity:get_service": ADMIN_OR_SYSTEM_READER,
    "identity:list_services": ADMIN_OR_SYSTEM_READER,
    "identity:create_service": ADMIN,
    "identity:update_service": ADMIN,
    "identity:delete_service": ADMIN,
    "identity:get_endpoint": ADMIN_OR_SYSTEM_READER,
    "identity:list_endpoints": ADMIN_OR_SYSTEM_READER,
    "identity:create_endpoint": ADMIN,
    "identity:update_endpoint": ADMIN,
    "identity:delete_endpoint": ADMIN,
    # policies (the deprecated v3 policy store)
    "identity:get_policy": ADMIN_OR_SYSTEM_READER,
    "identity:list_policies": ADMIN_OR_SYSTEM_READER,
    "identity:create_policy": ADMIN,
    "identity:update_policy": ADMIN,
    "identity:delete_policy": ADMIN,
    # v2.0 admin calls
    "identity:v2_validate_token": ADMIN,
    "identity:v2_list_tenants": ANYONE,
    # endpoint groups and project endpoints (OS-EP-FILTER)
    "identity:create_endpoint_group": ADMIN,
    "identity:list_endpoint_groups": ADMIN_OR_SYSTEM_READER,
    "identity:get_endpoint_group": ADMIN_OR_SYSTEM_READER,
    "identity:update_endpoint_group": ADMIN,
    "identity:delete_endpoint_group": ADMIN,
    "identity:list_projects_associated_with_endpoint_group": ADMIN_OR_SYSTEM_READER,
    "identity:list_endpoints_associated_with_endpoint_group": ADMIN_OR_SYSTEM_READER,
    "identity:get_endpoint_group_in_project": ADMIN_OR_SYSTEM_READER,
    "identity:list_endpoint_groups_for_project": ADMIN_OR_SYSTEM_READER,
    "identity:add_endpoint_group_to_project": ADMIN,
    "identity:remove_endpoint_group_from_project": ADMIN,
    "identity:add_endpoint_to_project": ADMIN,
    "identity:check_endpoint_in_project": ADMIN_OR_SYSTEM_READER,
    "identity:list_endpoints_for_project": ADMIN_OR_SYSTEM_READER,
    "identity:list_projects_for_endpoint": ADMIN_OR_SYSTEM_READER,
    "identity:remove_endpoint_from_project": ADMIN,
    # domain-specific configuration
    "identity:create_domain_config": ADMIN,
    "identity:get_domain_config": ADMIN_OR_SYSTEM_READER,
    "identity:update_domain_config": ADMIN,
    "identity:delete_domain_config": ADMIN,
    "identity:get_domain_config_default": ADMIN_OR_SYSTEM_READER,
    # EC2 credentials
    "identity:ec2_get_credential": ADMIN_OR_SYSTEM_READER | OWNER_USER,
    "identity:ec2_list_credentials": ADMIN_OR_SYSTEM_READER | OWNER_USER,
    "identity:ec2_create_credential": ADMIN | OWNER_USER,
    "identity:ec2_delete_credential": ADMIN | OWNER_USER,
    # application credential access rules
    "identity:list_access_rules": ADMIN_OR_SYSTEM_READER | OWNER_USER,
    "identity:get_access_rule": ADMIN_OR_SYSTEM_READER | OWNER_USER,
    "identity:delete_access_rule": ADMIN | OWNER_USER,
    # trusts (OS-TRUST)
    "identity:create_trust": ANYONE,  # the trustor must be the caller: checked in core.identity.trusts.create
    "identity:list_trusts": ADMIN_OR_SYSTEM_READER,
    "identity:list_trusts_for_trustor": ADMIN_OR_SYSTEM_READER | TRUSTOR,
    "identity:list_trusts_for_trustee": ADMIN_OR_SYSTEM_READER | TRUSTEE,
    "identity:get_trust": ADMIN_OR_SYSTEM_READER | TRUSTOR | TRUSTEE,
    "identity:list_roles_for_trust": ADMIN_OR_SYSTEM_READER | TRUSTOR | TRUSTEE,
    "identity:get_role_for_trust": ADMIN_OR_SYSTEM_READER | TRUSTOR | TRUSTEE,
    "identity:delete_trust": ADMIN | TRUSTOR,
    # OAuth 1.0a consumers (OS-OAUTH1)
    "identity:create_consumer": ADMIN,
    "identity:get_consumer": ADMIN_OR_SYSTEM_READER,
    "identity:list_consumers": ADMIN_OR_SYSTEM_READER,
    "identity:update_consumer": ADMIN,
    "identity:delete_consumer": ADMIN,
    "identity:authorize_request_token": ADMIN,
    "identity:list_access_tokens": ADMIN,
    "identity:get_access_token": ADMIN,
    "identity:list_access_token_roles": ADMIN,
    "identity:get_access_token_role": ADMIN,
    # Keystone checks ec2_delete_credential here (admin, or the token's own user)
    "identity:delete_access_token": ADMIN | OWNER_USER,
}
