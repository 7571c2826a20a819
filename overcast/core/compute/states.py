"""Nova's server states: vm_state and task_state, and the status the API shows for them."""

from __future__ import annotations

# vm_state values (nova.compute.vm_states)
ACTIVE = "active"
BUILDING = "building"
PAUSED = "paused"
SUSPENDED = "suspended"
STOPPED = "stopped"
RESCUED = "rescued"
RESIZED = "resized"
SOFT_DELETED = "soft-delete"
DELETED = "deleted"
ERROR = "error"
SHELVED = "shelved"
SHELVED_OFFLOADED = "shelved_offloaded"

# task_state values (nova.compute.task_states), the ones Overcast moves through
SCHEDULING = "scheduling"
SPAWNING = "spawning"
REBOOTING = "rebooting"
REBOOTING_HARD = "rebooting_hard"
POWERING_ON = "powering-on"
POWERING_OFF = "powering-off"
PAUSING = "pausing"
UNPAUSING = "unpausing"
SUSPENDING = "suspending"
RESUMING = "resuming"
RESIZE_PREP = "resize_prep"
RESIZE_FINISH = "resize_finish"
RESIZE_CONFIRMING = "resize_confirming"
RESIZE_REVERTING = "resize_reverting"
REBUILDING = "rebuilding"
IMAGE_SNAPSHOT = "image_snapshot"
IMAGE_BACKUP = "image_backup"
RESCUING = "rescuing"
UNRESCUING = "unrescuing"
SHELVING = "shelving"
UNSHELVING = "unshelving"
DELETING = "deleting"
UPDATING_PASSWORD = "updating_password"
BLOCK_DEVICE_MAPPING = "block_device_mapping"

# The API status for a vm_state, refined by task_state (nova.api.openstack.common._STATE_MAP).
_STATUS = {
    ACTIVE: {None: "ACTIVE", REBOOTING: "REBOOT", REBOOTING_HARD: "HARD_REBOOT",
             UPDATING_PASSWORD: "PASSWORD", REBUILDING: "REBUILD", RESIZE_PREP: "RESIZE",
             RESIZE_FINISH: "RESIZE", "resize_migrating": "RESIZE", "resize_migrated": "RESIZE"},
    BUILDING: {None: "BUILD"},
    STOPPED: {None: "SHUTOFF", RESIZE_PREP: "RESIZE", RESIZE_FINISH: "RESIZE", REBUILDING: "REBUILD"},
    RESIZED: {None: "VERIFY_RESIZE", RESIZE_REVERTING: "REVERT_RESIZE"},
    PAUSED: {None: "PAUSED"},
    SUSPENDED: {None: "SUSPENDED"},
    RESCUED: {None: "RESCUE"},
    ERROR: {None: "ERROR", REBUILDING: "REBUILD"},
    DELETED: {None: "DELETED"},
    SOFT_DELETED: {None: "SOFT_DELETED"},
    SHELVED: {None: "SHELVED"},
    SHELVED_OFFLOADED: {None: "SHELVED_OFFLOADED"},
}


def status(vm_state: str, task_state: str | None) -> str:
    """The ``status`` Nova shows for a server in these states."""
    by_task = _STATUS.get(vm_state, {None: "UNKNOWN"})
    return by_task.get(task_state, by_task[None])


def vm_states_for(status_filter: str) -> set[str]:
    """The vm_states whose servers show ``status_filter`` when idle (for the ``status`` list filter)."""
    wanted = status_filter.upper()
    return {vm for vm, by_task in _STATUS.items() if wanted in by_task.values()}
