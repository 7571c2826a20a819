"""Nova's default policies for flavors, key pairs, quotas, limits, zones, usage, server groups,
hypervisors, services, aggregates and the image proxy (nova/policies/*.py, enforce_scope off)."""

from __future__ import annotations

from overcast.core.policy import ADMIN, ANYONE, OWNER_USER, PROJECT_MEMBER, PROJECT_READER, RULES

PROJECT_READER_OR_ADMIN = PROJECT_READER | ADMIN
PROJECT_MEMBER_OR_ADMIN = PROJECT_MEMBER | ADMIN

RULES.update({
    # flavors: readable by everyone, managed by the administrator
    "compute:flavors:list": ANYONE,
    "compute:flavors:show": ANYONE,
    "compute:flavors:create": ADMIN,
    "compute:flavors:update": ADMIN,
    "compute:flavors:delete": ADMIN,
    "compute:flavor_access:list": ADMIN,
    "compute:flavor_access:add": ADMIN,
    "compute:flavor_access:remove": ADMIN,
    "compute:flavor_extra_specs:index": ANYONE,
    "compute:flavor_extra_specs:show": ANYONE,
    "compute:flavor_extra_specs:create": ADMIN,
    "compute:flavor_extra_specs:update": ADMIN,
    "compute:flavor_extra_specs:delete": ADMIN,
    # key pairs belong to a user; the administrator may act for another user (2.10)
    "compute:keypairs:index": ADMIN | OWNER_USER,
    "compute:keypairs:show": ADMIN | OWNER_USER,
    "compute:keypairs:create": ADMIN | OWNER_USER,
    "compute:keypairs:delete": ADMIN | OWNER_USER,
    # limits, zones, extensions, the image proxy
    "compute:limits": ANYONE,
    "compute:limits:other_project": ADMIN,
    "compute:availability_zone:list": ANYONE,
    "compute:availability_zone:detail": ADMIN,
    "compute:extensions": ANYONE,
    "compute:images:read": ANYONE,
    "compute:images:delete": ANYONE,  # the image service's own rules decide
    # quotas
    "compute:quota_sets:show": PROJECT_READER_OR_ADMIN,
    "compute:quota_sets:defaults": ANYONE,
    "compute:quota_sets:detail": PROJECT_READER_OR_ADMIN,
    "compute:quota_sets:update": ADMIN,
    "compute:quota_sets:delete": ADMIN,
    "compute:quota_class_sets:show": ADMIN,
    "compute:quota_class_sets:update": ADMIN,
    # usage
    "compute:simple_tenant_usage:show": PROJECT_READER_OR_ADMIN,
    "compute:simple_tenant_usage:list": ADMIN,
    # server groups
    "compute:server_groups:create": PROJECT_MEMBER_OR_ADMIN,
    "compute:server_groups:index": PROJECT_READER_OR_ADMIN,
    "compute:server_groups:index:all_projects": ADMIN,
    "compute:server_groups:show": PROJECT_READER_OR_ADMIN,
    "compute:server_groups:delete": PROJECT_MEMBER_OR_ADMIN,
    # administration
    "compute:hypervisors": ADMIN,
    "compute:services": ADMIN,
    "compute:hosts": ADMIN,
    "compute:instance_usage_audit_log": ADMIN,
    "compute:aggregates": ADMIN,
})
