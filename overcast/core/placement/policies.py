"""Placement's default policies (placement/policies/*.py, enforce_scope off as DevStack runs it):
the cloud administrator (or a service user) does everything; a project reader may read its own
project's usages. Declared here, loaded by the app factory with the other services' (:func:`overcast.core.policy.load`)."""

from __future__ import annotations

from overcast.core.policy import ADMIN, PROJECT_READER, Rule, role

ADMIN_OR_SERVICE = ADMIN | role("service")

_ACTIONS = (
    "resource_providers:list", "resource_providers:create", "resource_providers:show",
    "resource_providers:update", "resource_providers:delete",
    "resource_providers:inventories:list", "resource_providers:inventories:create",
    "resource_providers:inventories:show", "resource_providers:inventories:update",
    "resource_providers:inventories:delete",
    "resource_providers:aggregates:list", "resource_providers:aggregates:update",
    "resource_providers:traits:list", "resource_providers:traits:update", "resource_providers:traits:delete",
    "resource_providers:usages", "resource_providers:allocations:list",
    "resource_classes:list", "resource_classes:create", "resource_classes:show", "resource_classes:update",
    "resource_classes:delete",
    "traits:list", "traits:show", "traits:update", "traits:delete",
    "allocations:list", "allocations:manage", "allocations:update", "allocations:delete",
    "allocation_candidates:list", "reshaper:reshape",
)

RULES: dict[str, Rule] = {f"placement:{action}": ADMIN_OR_SERVICE for action in _ACTIONS}
RULES["placement:usages"] = ADMIN_OR_SERVICE | PROJECT_READER
