"""Who may do what: Keystone's default roles (admin implies member implies reader) as rules.

A rule is a predicate over the caller (:class:`AuthContext`) and the target (a dict naming the
resource's owner ids). Rules compose with ``|`` and ``&``. They follow Keystone's defaults with
``enforce_scope`` off, as DevStack runs: the admin role on any scope is the cloud administrator.
:func:`enforce` raises :class:`~overcast.core.errors.Forbidden`.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from overcast.core.context import AuthContext
from overcast.core.errors import Forbidden

Target = Mapping[str, Any]


class Rule:
    def __init__(self, check: Callable[[AuthContext, Target], bool], text: str):
        self.check = check
        self.text = text

    def __call__(self, ctx: AuthContext, target: Target) -> bool:
        return self.check(ctx, target)

    def __or__(self, other: "Rule") -> "Rule":
        return Rule(lambda c, t: self.check(c, t) or other.check(c, t), f"({self.text} or {other.text})")

    def __and__(self, other: "Rule") -> "Rule":
        return Rule(lambda c, t: self.check(c, t) and other.check(c, t), f"({self.text} and {other.text})")

    def __repr__(self) -> str:
        return f"Rule({self.text})"


def role(name: str) -> Rule:
    return Rule(lambda c, t: name in c.roles, f"role:{name}")


def matches(ctx_attr: str, target_key: str) -> Rule:
    """The caller's ``ctx_attr`` equals the target's ``target_key`` (and is set)."""
    def check(c: AuthContext, t: Target) -> bool:
        mine = getattr(c, ctx_attr)
        return mine is not None and mine == t.get(target_key)
    return Rule(check, f"{ctx_attr}:%(target.{target_key})s")


ANYONE = Rule(lambda c, t: True, "@")
ADMIN = role("admin")
SYSTEM_SCOPED = Rule(lambda c, t: c.system, "system_scope:all")
SYSTEM_READER = role("reader") & SYSTEM_SCOPED
ADMIN_OR_SYSTEM_READER = ADMIN | SYSTEM_READER
DOMAIN_READER = role("reader") & matches("domain_id", "domain_id")
DOMAIN_MANAGER = role("manager") & matches("domain_id", "domain_id")
OWNER_USER = matches("user_id", "user_id")
OWNER_PROJECT = matches("project_id", "project_id")
PROJECT_READER = role("reader") & OWNER_PROJECT
PROJECT_MEMBER = role("member") & OWNER_PROJECT

_READ_ANY = ADMIN_OR_SYSTEM_READER | DOMAIN_READER

RULES: dict[str, Rule] = {
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
}


def allowed(action: str, ctx: AuthContext | None, target: Target | None = None) -> bool:
    """:raises KeyError: for an action no rule names (a programming error, never a silent allow)."""
    rule = RULES[action]
    return ctx is not None and rule(ctx, target or {})


def enforce(action: str, ctx: AuthContext | None, target: Target | None = None) -> None:
    """:raises Forbidden: when the caller may not perform ``action`` on ``target``."""
    if not allowed(action, ctx, target):
        raise Forbidden(f"You are not authorized to perform the requested action: {action}.")
