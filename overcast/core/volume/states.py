"""Cinder's volume, snapshot and attachment statuses, and which ones allow what."""

from __future__ import annotations

CREATING = "creating"
AVAILABLE = "available"
RESERVED = "reserved"
ATTACHING = "attaching"
IN_USE = "in-use"
DETACHING = "detaching"
EXTENDING = "extending"
DELETING = "deleting"
ERROR = "error"
ERROR_DELETING = "error_deleting"
ERROR_EXTENDING = "error_extending"
AWAITING_TRANSFER = "awaiting-transfer"
RETYPING = "retyping"
UPLOADING = "uploading"

#: statuses an admin may set with os-reset_status (Cinder's VolumeStatus values that matter here)
VOLUME_STATUSES = frozenset({CREATING, AVAILABLE, RESERVED, ATTACHING, IN_USE, DETACHING, EXTENDING, DELETING,
                             ERROR, ERROR_DELETING, ERROR_EXTENDING, "maintenance", "downloading",
                             UPLOADING, RETYPING, "backing-up", "restoring-backup", "error_restoring",
                             "error_managing", AWAITING_TRANSFER})
#: from which a volume may be deleted (Cinder's conditional update on delete)
DELETABLE = frozenset({AVAILABLE, ERROR, "error_restoring", ERROR_EXTENDING, "error_managing"})

ATTACHED = "attached"
DETACHED = "detached"
ATTACH_STATUSES = frozenset({ATTACHED, DETACHED, ATTACHING, DETACHING, RESERVED, "error_attaching",
                             "error_detaching"})

SNAPSHOT_STATUSES = frozenset({CREATING, AVAILABLE, DELETING, ERROR, ERROR_DELETING, "backing-up",
                               "restoring", "unmanaging"})
