"""The unmodified ``openstack`` CLI against a live ``overcast serve``: Cinder backups on the local
cloud (``openstack volume backup create/show/list/set/restore/delete``). Waits are bounded polls.
Incremental backups and their rules are covered by tests/volume/test_backups.py and Tempest."""

from __future__ import annotations

import json
from typing import Any

import pytest

from overcast.testing.live import CLIError, OpenStackCLI, wait_for

pytestmark = pytest.mark.live
WAIT = 60.0


def wait_status(cli: OpenStackCLI, kind: tuple[str, ...], ref: str, status: str) -> dict[str, Any]:
    last: dict[str, Any] = {}

    def reached() -> dict[str, Any] | None:
        nonlocal last
        last = cli(*kind, "show", ref)
        if last.get("status") == "error" and status != "error":
            raise AssertionError(f"{kind[-1]} {ref} went to error: {last}")
        return last if last.get("status") == status else None

    return wait_for(reached, WAIT, interval=0.1, max_interval=1.0, description=f"{kind[-1]} {ref} {status}",
                    on_timeout=lambda: json.dumps(last, indent=1, default=str))


def test_volume_backup_create_restore_delete(cli: OpenStackCLI, unique) -> None:
    volume, backup = unique("vol"), unique("backup")
    cli("volume", "create", "--size", "1", "--image", "cirros", "--property", "kept=yes", volume)
    wait_status(cli, ("volume",), volume, "available")
    created = cli("volume", "backup", "create", "--name", backup, "--description", "nightly", volume)
    assert created["name"] == backup
    shown = wait_status(cli, ("volume", "backup"), backup, "available")
    assert shown["size"] == 1 and shown["description"] == "nightly" and shown["is_incremental"] is False
    assert backup in {b["Name"] for b in cli("volume", "backup", "list")}
    assert wait_status(cli, ("volume",), volume, "available")["status"] == "available"

    cli.run("--os-volume-api-version", "3.9", "volume", "backup", "set", "--name", backup + "-2", backup)
    backup += "-2"
    restored = unique("vol")
    restore = cli("volume", "backup", "restore", backup, restored)
    assert restore["volume_name"] == restored
    wait_status(cli, ("volume", "backup"), backup, "available")
    shown = wait_status(cli, ("volume",), restored, "available")
    assert shown["properties"] == {"kept": "yes"} and str(shown["bootable"]).lower() == "true"

    cli("volume", "backup", "restore", "--force", backup, volume)  # over the existing volume
    wait_status(cli, ("volume", "backup"), backup, "available")
    wait_status(cli, ("volume",), volume, "available")

    with pytest.raises(CLIError) as caught:
        cli.run("volume", "backup", "create", "--name", unique("backup"), "--incremental", restored)
    assert "No backups available to do an incremental backup" in caught.value.stderr
    cli.run("volume", "backup", "delete", backup)
    wait_for(lambda: cli.run("volume", "backup", "show", backup, check=False).returncode != 0 or None, WAIT,
             interval=0.1, max_interval=1.0, description=f"backup {backup} deleted")
    for name in (restored, volume):
        cli.run("volume", "delete", name)
