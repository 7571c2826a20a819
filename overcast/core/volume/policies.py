"""Cinder's default policy rules (cinder/policies/*.py) with ``enforce_scope`` off, as DevStack runs:
the one place the block storage service's rules are declared; the app factory loads them.

Project members act on their project's volumes, readers read them, admins do everything
(all_tenants, reset_status, force_delete, volume and group types, type encryption, QoS specs, quotas of other
projects and quota classes, services, hosts, pools and capabilities). The target
of a volume rule is ``{"project_id": volume.project_id}``.
"""

from __future__ import annotations

from typing import Mapping

from overcast.core.policy import ADMIN, ANYONE, PROJECT_MEMBER, PROJECT_READER, Rule

ADMIN_OR_OWNER = ADMIN | PROJECT_MEMBER
ADMIN_OR_READER = ADMIN | PROJECT_READER

RULES: Mapping[str, Rule] = {
    "volume:create": ADMIN_OR_OWNER,
    "volume:get": ADMIN_OR_READER,
    "volume:get_all": ADMIN_OR_READER,
    "volume:update": ADMIN_OR_OWNER,
    "volume:delete": ADMIN_OR_OWNER,
    "volume:extend": ADMIN_OR_OWNER,
    "volume:update_readonly_flag": ADMIN_OR_OWNER,
    "volume_extension:volume_actions:attach": ADMIN_OR_OWNER,
    "volume_extension:volume_actions:upload_image": ADMIN_OR_OWNER,
    "volume_extension:volume_actions:upload_public": ADMIN,
    "volume:force_delete": ADMIN,
    "volume_extension:volume_admin_actions:reset_status": ADMIN,
    "volume_extension:volume_admin_actions:force_delete": ADMIN,
    "volume_extension:volume_admin_actions:force_detach": ADMIN,
    "volume:retype": ADMIN_OR_OWNER,
    "volume_extension:volume_image_metadata:show": ADMIN_OR_READER,
    "volume_extension:volume_image_metadata:set": ADMIN_OR_OWNER,
    "volume_extension:volume_image_metadata:remove": ADMIN_OR_OWNER,
    "volume:get_snapshot": ADMIN_OR_READER,
    "volume:get_all_snapshots": ADMIN_OR_READER,
    "volume:create_snapshot": ADMIN_OR_OWNER,
    "volume:update_snapshot": ADMIN_OR_OWNER,
    "volume:delete_snapshot": ADMIN_OR_OWNER,
    "volume_extension:snapshot_admin_actions:reset_status": ADMIN,
    "volume_extension:snapshot_admin_actions:force_delete": ADMIN,
    "snapshot_extension:snapshot_actions:update_snapshot_status": ADMIN_OR_OWNER,
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
    "volume_extension:services:update": ADMIN,
    "volume_extension:hosts": ADMIN,
    "scheduler_extension:scheduler_stats:get_pools": ADMIN,
    "volume_extension:capabilities": ADMIN,
    "volume_extension:quota_classes": ADMIN,
    "volume_extension:volume_type_encryption:create": ADMIN,
    "volume_extension:volume_type_encryption:get": ADMIN,
    "volume_extension:volume_type_encryption:update": ADMIN,
    "volume_extension:volume_type_encryption:delete": ADMIN,
    "volume_extension:qos_specs_manage:create": ADMIN,
    "volume_extension:qos_specs_manage:get": ADMIN,
    "volume_extension:qos_specs_manage:get_all": ADMIN,
    "volume_extension:qos_specs_manage:update": ADMIN,
    "volume_extension:qos_specs_manage:delete": ADMIN,
    "volume:create_transfer": ADMIN_OR_OWNER,
    "volume:accept_transfer": ADMIN_OR_OWNER,
    "volume:delete_transfer": ADMIN_OR_OWNER,
    "volume:get_transfer": ADMIN_OR_READER,
    "volume:get_all_transfers": ADMIN_OR_READER,
    "group:group_types_manage": ADMIN,
    "group:group_types_specs": ADMIN,
    "group:get": ADMIN_OR_READER,
    "group:get_all": ADMIN_OR_READER,
    "group:create": ADMIN_OR_OWNER,
    "group:update": ADMIN_OR_OWNER,
    "group:delete": ADMIN_OR_OWNER,
    "group:reset_status": ADMIN,
    "group:get_group_snapshot": ADMIN_OR_READER,
    "group:get_all_group_snapshots": ADMIN_OR_READER,
    "group:create_group_snapshot": ADMIN_OR_OWNER,
    "group:delete_group_snapshot": ADMIN_OR_OWNER,
    "group:reset_group_snapshot_status": ADMIN,
    "message:get": ADMIN_OR_READER,
    "message:get_all": ADMIN_OR_READER,
    "message:delete": ADMIN_OR_OWNER,
    "volume:attachment_create": ADMIN_OR_OWNER,
    "volume:attachment_update": ADMIN_OR_OWNER,
    "volume:attachment_delete": ADMIN_OR_OWNER,
    "volume:attachment_complete": ADMIN_OR_OWNER,
    "volume:attachment_get": ADMIN_OR_READER,
    "volume:attachment_get_all": ADMIN_OR_READER,
    "limits_extension:used_limits": ADMIN_OR_READER,
    "volume_extension:availability_zone_list": ANYONE,
}
