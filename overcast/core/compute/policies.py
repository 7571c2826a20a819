"""Nova's default policy rules for servers and their actions (nova/policies/servers.py and friends).

Project members act on their own project's servers, readers read them, admins do everything
(all_tenants, force, reset_state, diagnostics, the extended attributes). ``enforce_scope`` off,
as DevStack runs. The target of a server rule is ``{"project_id": server.project_id}``.
"""

from __future__ import annotations

from overcast.core.policy import ADMIN, PROJECT_MEMBER, PROJECT_READER, RULES

ADMIN_OR_OWNER = ADMIN | PROJECT_MEMBER
ADMIN_OR_READER = ADMIN | PROJECT_READER

_SERVER = "os_compute_api:servers:"

RULES.update({
    # servers
    _SERVER + "index": ADMIN_OR_READER,
    _SERVER + "detail": ADMIN_OR_READER,
    _SERVER + "index:get_all_tenants": ADMIN,
    _SERVER + "detail:get_all_tenants": ADMIN,
    _SERVER + "allow_all_filters": ADMIN,
    _SERVER + "show": ADMIN_OR_READER,
    _SERVER + "show:host_status": ADMIN,
    _SERVER + "show:host_status:unknown-only": ADMIN,
    _SERVER + "create": ADMIN_OR_OWNER,
    _SERVER + "create:forced_host": ADMIN,
    _SERVER + "create:attach_volume": ADMIN_OR_OWNER,
    _SERVER + "create:attach_network": ADMIN_OR_OWNER,
    _SERVER + "create:trusted_certs": ADMIN_OR_OWNER,
    _SERVER + "update": ADMIN_OR_OWNER,
    _SERVER + "delete": ADMIN_OR_OWNER,
    _SERVER + "confirm_resize": ADMIN_OR_OWNER,
    _SERVER + "revert_resize": ADMIN_OR_OWNER,
    _SERVER + "reboot": ADMIN_OR_OWNER,
    _SERVER + "resize": ADMIN_OR_OWNER,
    _SERVER + "rebuild": ADMIN_OR_OWNER,
    _SERVER + "create_image": ADMIN_OR_OWNER,
    _SERVER + "start": ADMIN_OR_OWNER,
    _SERVER + "stop": ADMIN_OR_OWNER,
    _SERVER + "trigger_crash_dump": ADMIN_OR_OWNER,
    "os_compute_api:os-extended-server-attributes": ADMIN,
    "os_compute_api:os-pause-server:pause": ADMIN_OR_OWNER,
    "os_compute_api:os-pause-server:unpause": ADMIN_OR_OWNER,
    "os_compute_api:os-suspend-server:suspend": ADMIN_OR_OWNER,
    "os_compute_api:os-suspend-server:resume": ADMIN_OR_OWNER,
    "os_compute_api:os-rescue": ADMIN_OR_OWNER,
    "os_compute_api:os-unrescue": ADMIN_OR_OWNER,
    "os_compute_api:os-shelve:shelve": ADMIN_OR_OWNER,
    "os_compute_api:os-shelve:shelve_offload": ADMIN,
    "os_compute_api:os-shelve:unshelve": ADMIN_OR_OWNER,
    "os_compute_api:os-lock-server:lock": ADMIN_OR_OWNER,
    "os_compute_api:os-lock-server:unlock": ADMIN_OR_OWNER,
    "os_compute_api:os-lock-server:unlock:unlock_override": ADMIN,
    "os_compute_api:os-admin-password": ADMIN_OR_OWNER,
    "os_compute_api:os-console-output": ADMIN_OR_OWNER,
    "os_compute_api:os-admin-actions:reset_state": ADMIN,
    "os_compute_api:os-deferred-delete:force": ADMIN_OR_OWNER,
    "os_compute_api:os-deferred-delete:restore": ADMIN_OR_OWNER,
    "os_compute_api:os-migrate-server:migrate": ADMIN,
    "os_compute_api:os-security-groups:add": ADMIN_OR_OWNER,
    "os_compute_api:os-security-groups:remove": ADMIN_OR_OWNER,
    "os_compute_api:os-security-groups:list": ADMIN_OR_READER,
    # sub-resources
    "os_compute_api:server-metadata:index": ADMIN_OR_READER,
    "os_compute_api:server-metadata:show": ADMIN_OR_READER,
    "os_compute_api:server-metadata:create": ADMIN_OR_OWNER,
    "os_compute_api:server-metadata:update": ADMIN_OR_OWNER,
    "os_compute_api:server-metadata:update_all": ADMIN_OR_OWNER,
    "os_compute_api:server-metadata:delete": ADMIN_OR_OWNER,
    "os_compute_api:os-server-tags:index": ADMIN_OR_READER,
    "os_compute_api:os-server-tags:show": ADMIN_OR_READER,
    "os_compute_api:os-server-tags:update": ADMIN_OR_OWNER,
    "os_compute_api:os-server-tags:update_all": ADMIN_OR_OWNER,
    "os_compute_api:os-server-tags:delete": ADMIN_OR_OWNER,
    "os_compute_api:os-server-tags:delete_all": ADMIN_OR_OWNER,
    "os_compute_api:ips:index": ADMIN_OR_READER,
    "os_compute_api:ips:show": ADMIN_OR_READER,
    "os_compute_api:os-instance-actions:list": ADMIN_OR_READER,
    "os_compute_api:os-instance-actions:show": ADMIN_OR_READER,
    "os_compute_api:os-instance-actions:events": ADMIN,
    "os_compute_api:os-instance-actions:events:details": ADMIN,
    "os_compute_api:os-server-diagnostics": ADMIN,
    "os_compute_api:os-server-password:show": ADMIN_OR_READER,
    "os_compute_api:os-server-password:clear": ADMIN_OR_OWNER,
})
