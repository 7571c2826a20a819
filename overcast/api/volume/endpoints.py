"""Every block storage endpoint Overcast knows, Cinder v3's paths.

Each endpoint is served at ``/v3/{project_id}/...`` (what the catalog lists, as DevStack
registers it) and at ``/v3/...`` (Cinder accepts a path without the project id from 3.67).
Version documents sit at ``/`` (300 Multiple Choices) and ``/v3``.
"""

from __future__ import annotations

from overcast.api.routing import Registry

R = ("GET", "HEAD")
RW = ("GET", "HEAD", "POST")
ITEM = ("GET", "HEAD", "PUT", "DELETE")
ACTION = ("POST",)

#: (name, template below /v3/{project_id}, verbs)
VOLUME_ENDPOINTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("volumes", "/volumes", RW),
    ("volumes_detail", "/volumes/detail", R),
    ("volumes_summary", "/volumes/summary", R),
    ("volume", "/volumes/{volume_id}", ITEM),
    ("volume_action", "/volumes/{volume_id}/action", ACTION),
    ("volume_metadata", "/volumes/{volume_id}/metadata", ("GET", "HEAD", "POST", "PUT")),
    ("volume_metadata_key", "/volumes/{volume_id}/metadata/{key}", ITEM),
    ("snapshots", "/snapshots", RW),
    ("snapshots_detail", "/snapshots/detail", R),
    ("snapshot", "/snapshots/{snapshot_id}", ITEM),
    ("snapshot_action", "/snapshots/{snapshot_id}/action", ACTION),
    ("snapshot_metadata", "/snapshots/{snapshot_id}/metadata", ("GET", "HEAD", "POST", "PUT")),
    ("snapshot_metadata_key", "/snapshots/{snapshot_id}/metadata/{key}", ITEM),
    ("backups", "/backups", RW),
    ("backups_detail", "/backups/detail", R),
    ("backup", "/backups/{backup_id}", ITEM),
    ("backup_restore", "/backups/{backup_id}/restore", ACTION),
    ("backup_action", "/backups/{backup_id}/action", ACTION),
    ("backup_export", "/backups/{backup_id}/export_record", R),
    ("backup_import", "/backups/import_record", ACTION),
    ("types", "/types", RW),
    ("types_default", "/types/default", R),
    ("type", "/types/{type_id}", ITEM),
    ("type_action", "/types/{type_id}/action", ACTION),
    ("type_extra_specs", "/types/{type_id}/extra_specs", RW),
    ("type_extra_spec", "/types/{type_id}/extra_specs/{key}", ITEM),
    ("type_access", "/types/{type_id}/os-volume-type-access", R),
    ("type_encryption", "/types/{type_id}/encryption", RW),
    # GET reads one field of the encryption (Cinder serves both on this one path)
    ("type_encryption_item", "/types/{type_id}/encryption/{encryption_id}", ITEM),
    ("qos_specs", "/qos-specs", RW),
    ("qos_spec", "/qos-specs/{qos_id}", ITEM),
    ("qos_spec_delete_keys", "/qos-specs/{qos_id}/delete_keys", ("PUT",)),
    ("qos_spec_associations", "/qos-specs/{qos_id}/associations", R),
    # Cinder changes associations on GET
    ("qos_spec_associate", "/qos-specs/{qos_id}/associate", ("GET",)),
    ("qos_spec_disassociate", "/qos-specs/{qos_id}/disassociate", ("GET",)),
    ("qos_spec_disassociate_all", "/qos-specs/{qos_id}/disassociate_all", ("GET",)),
    ("group_types", "/group_types", RW),
    ("group_type", "/group_types/{group_type_id}", ITEM),
    ("group_type_specs", "/group_types/{group_type_id}/group_specs", RW),
    ("group_type_spec", "/group_types/{group_type_id}/group_specs/{key}", ITEM),
    ("groups", "/groups", RW),
    ("groups_detail", "/groups/detail", R),
    ("groups_action", "/groups/action", ACTION),
    ("group", "/groups/{group_id}", ("GET", "HEAD", "PUT")),
    ("group_action", "/groups/{group_id}/action", ACTION),
    ("group_snapshots", "/group_snapshots", RW),
    ("group_snapshots_detail", "/group_snapshots/detail", R),
    ("group_snapshot", "/group_snapshots/{group_snapshot_id}", ("GET", "HEAD", "DELETE")),
    ("group_snapshot_action", "/group_snapshots/{group_snapshot_id}/action", ACTION),
    ("quota_set", "/os-quota-sets/{target_id}", ITEM),
    ("quota_set_defaults", "/os-quota-sets/{target_id}/defaults", R),
    ("quota_class_set", "/os-quota-class-sets/{class_name}", ("GET", "HEAD", "PUT")),
    ("limits", "/limits", R),
    ("availability_zones", "/os-availability-zone", R),
    ("services", "/os-services", R),
    ("service_action", "/os-services/{action}", ("PUT",)),
    ("hosts", "/os-hosts", R),
    ("host", "/os-hosts/{host_name}", R),
    ("pools", "/scheduler-stats/get_pools", R),
    ("capabilities", "/capabilities/{host_name}", R),
    ("extensions", "/extensions", R),
    ("messages", "/messages", R),
    ("message", "/messages/{message_id}", ("GET", "HEAD", "DELETE")),
    ("transfers_legacy", "/os-volume-transfer", RW),
    ("transfers_legacy_detail", "/os-volume-transfer/detail", R),
    ("transfer_legacy", "/os-volume-transfer/{transfer_id}", ("GET", "HEAD", "DELETE")),
    ("transfer_legacy_accept", "/os-volume-transfer/{transfer_id}/accept", ACTION),
    ("transfers", "/volume-transfers", RW),
    ("transfers_detail", "/volume-transfers/detail", R),
    ("transfer", "/volume-transfers/{transfer_id}", ("GET", "HEAD", "DELETE")),
    ("transfer_accept", "/volume-transfers/{transfer_id}/accept", ACTION),
    ("volume_manage", "/os-volume-manage", RW),
    ("volume_manage_detail", "/os-volume-manage/detail", R),
    ("manageable_volumes", "/manageable_volumes", RW),
    ("manageable_volumes_detail", "/manageable_volumes/detail", R),
    ("snapshot_manage", "/os-snapshot-manage", RW),
    ("snapshot_manage_detail", "/os-snapshot-manage/detail", R),
    ("manageable_snapshots", "/manageable_snapshots", RW),
    ("manageable_snapshots_detail", "/manageable_snapshots/detail", R),
    ("attachments", "/attachments", RW),
    ("attachments_detail", "/attachments/detail", R),
    ("attachment", "/attachments/{attachment_id}", ITEM),
    ("attachment_action", "/attachments/{attachment_id}/action", ACTION),
)


def declare(registry: Registry) -> None:
    registry.declare("volume", "index", "", R)
    registry.declare("volume", "v3_index", "/v3", R)
    for name, template, methods in VOLUME_ENDPOINTS:
        registry.declare("volume", name, "/v3/{project_id}" + template, methods, aliases=("/v3" + template,))
