"""Cinder's default policy rules (cinder/policies/*.py) with ``enforce_scope`` off, as DevStack runs.

Project members act on their project's volumes, readers read them, admins do everything
(all_tenants, reset_status, force_delete, types, quotas of other projects, services). The target
of a volume rule is ``{"project_id": volume.project_id}``.
"""

from __future__ import annotations

from overcast.core.policy import ADMIN, ANYONE, PROJECT_MEMBER, PROJECT_READER, RULES

ADMIN_OR_OWNER = ADMIN | PROJECT_MEMBER
ADMIN_OR_READER = ADMIN | PROJECT_READER

RULES.update({
    "volume:create": ADMIN_OR_OWNER,
    "volume:get": ADMIN_OR_READER,
    "volume:get_all": ADMIN_OR_READER,
    "volume:update": ADMIN_OR_OWNER,
    "volume:delete": ADMIN_OR_OWNER,
    "volume:extend": ADMIN_OR_OWNER,
    "volume:update_readonly_flag": ADMIN_OR_OWNER,
    "volume_extension:volume_actions:attach": ADMIN_OR_OWNER,
    "volume:force_delete": ADMIN,
    "volume_extension:volume_admin_actions:reset_status": ADMIN,
    "volume_extension:volume_admin_actions:force_delete": ADMIN,
    "volume:get_snapshot": ADMIN_OR_READER,
    "volume:get_all_snapshots": ADMIN_OR_READER,
    "volume:create_snapshot": ADMIN_OR_OWNER,
    "volume:update_snapshot": ADMIN_OR_OWNER,
    "volume:delete_snapshot": ADMIN_OR_OWNER,
    "volume_extension:snapshot_admin_actions:reset_status": ADMIN,
    "volume_extension:types_manage": ADMIN,
    "volume_extension:type_get": ANYONE,
    "volume_extension:type_get_all": ANYONE,
    "volume_extension:volume_type_access:addProjectAccess": ADMIN,
    "volume_extension:volume_type_access:removeProjectAccess": ADMIN,
    "volume_extension:volume_type_access": ADMIN,
    "volume_extension:quotas:show": ADMIN_OR_READER,
    "volume_extension:quotas:update": ADMIN,
    "volume_extension:quotas:delete": ADMIN,
    "volume_extension:services:index": ADMIN,
    "volume:attachment_create": ADMIN_OR_OWNER,
    "volume:attachment_update": ADMIN_OR_OWNER,
    "volume:attachment_delete": ADMIN_OR_OWNER,
    "volume:attachment_complete": ADMIN_OR_OWNER,
    "volume:attachment_get": ADMIN_OR_READER,
    "volume:attachment_get_all": ADMIN_OR_READER,
    "limits_extension:used_limits": ADMIN_OR_READER,
    "volume_extension:availability_zone_list": ANYONE,
})
