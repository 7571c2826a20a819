"""Servers and volumes through the unmodified ``openstack`` CLI: ``server add volume``,
``server volume list``/``set``, ``server remove volume``, and boot from volume with
``server create --boot-from-volume``, ``--volume`` and ``--block-device``, as on DevStack.
Waits are bounded polls."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from overcast.testing.live import OpenStackCLI, wait_for

pytestmark = pytest.mark.live

WAIT = 60.0
NOVA = ("--os-compute-api-version", "2.89")


def wait_volume(cli: OpenStackCLI, volume: str, status: str) -> dict[str, Any]:
    last: dict[str, Any] = {}

    def reached() -> dict[str, Any] | None:
        nonlocal last
        last = cli("volume", "show", volume)
        if last.get("status") == "error" and status != "error":
            raise AssertionError(f"volume {volume} went to error: {last}")
        return last if last.get("status") == status else None

    return wait_for(reached, WAIT, interval=0.1, max_interval=1.0, description=f"volume {volume} {status}",
                    on_timeout=lambda: json.dumps(last, indent=1, default=str))


def wait_gone(cli: OpenStackCLI, volume: str) -> None:
    wait_for(lambda: cli.run("volume", "show", volume, check=False).returncode != 0, WAIT, interval=0.1,
             max_interval=1.0, description=f"volume {volume} deleted")


def attachments(cli: OpenStackCLI, server: str) -> dict[str, dict[str, Any]]:
    """``server volume list``: volume id -> row."""
    return {row["Volume ID"]: row for row in cli(*NOVA, "server", "volume", "list", server)}


def attached_ids(cli: OpenStackCLI, server: str) -> set[str]:
    return {v["id"] for v in cli("server", "show", server)["volumes_attached"]}


@pytest.fixture
def vm(cli: OpenStackCLI, unique: Callable[[str], str]) -> Iterator[dict[str, Any]]:
    made = cli("server", "create", "--wait", "--flavor", "m1.tiny", "--image", "cirros", "--network", "private",
               unique("volvm"))
    yield made
    cli.run("server", "delete", "--wait", made["id"], check=False)


@pytest.fixture
def volume(cli: OpenStackCLI, unique: Callable[[str], str]) -> Iterator[dict[str, Any]]:
    made = cli("volume", "create", "--size", "1", unique("data"))
    wait_volume(cli, made["id"], "available")
    yield made
    cli.run("volume", "delete", made["id"], check=False)


def test_add_list_set_and_remove_a_volume(cli: OpenStackCLI, vm: dict[str, Any], volume: dict[str, Any]) -> None:
    added = cli(*NOVA, "server", "add", "volume", "--tag", "db", vm["id"], volume["name"])
    assert added["Device"] == "/dev/vdb" and added["Tag"] == "db" and added["Volume ID"] == volume["id"]
    shown = wait_volume(cli, volume["id"], "in-use")
    assert [(a["server_id"], a["device"]) for a in shown["attachments"]] == [(vm["id"], "/dev/vdb")]
    rows = attachments(cli, vm["id"])
    assert rows[volume["id"]]["Device"] == "/dev/vdb" and rows[volume["id"]]["Tag"] == "db"
    assert rows[volume["id"]]["Delete On Termination?"] is False and rows[volume["id"]]["Attachment ID"]
    assert attached_ids(cli, vm["id"]) == {volume["id"]}

    cli.run(*NOVA, "server", "volume", "set", "--delete-on-termination", vm["id"], volume["id"])
    assert attachments(cli, vm["id"])[volume["id"]]["Delete On Termination?"] is True
    cli.run(*NOVA, "server", "volume", "set", "--preserve-on-termination", vm["id"], volume["id"])

    err = cli.fails("volume", "delete", volume["id"])
    assert "Invalid volume: Volume status must be available or error" in err.stderr

    cli.run("server", "remove", "volume", vm["id"], volume["id"])
    assert wait_volume(cli, volume["id"], "available")["attachments"] == []
    assert attachments(cli, vm["id"]) == {}
    assert attached_ids(cli, vm["id"]) == set()
    events = [e["Action"] for e in cli("server", "event", "list", vm["id"])]
    assert {"attach_volume", "detach_volume"} <= set(events)


def test_a_volume_in_use_cannot_go_to_a_second_server(cli: OpenStackCLI, vm: dict[str, Any],
                                                      volume: dict[str, Any], unique: Callable[[str], str]) -> None:
    cli.run("server", "add", "volume", vm["id"], volume["id"])
    wait_volume(cli, volume["id"], "in-use")
    other = cli("server", "create", "--wait", "--flavor", "m1.tiny", "--image", "cirros", "--network", "private",
                unique("other"))
    try:
        err = cli.fails("server", "add", "volume", other["id"], volume["id"])
        assert "400" in err.stderr and "Invalid input received: Invalid volume: " in err.stderr
        err = cli.fails("server", "remove", "volume", other["id"], volume["id"])
        assert "is not attached to volume" in err.stderr
    finally:
        cli.run("server", "delete", "--wait", other["id"], check=False)
    cli.run("server", "remove", "volume", vm["id"], volume["id"])
    wait_volume(cli, volume["id"], "available")


def test_boot_from_volume_made_from_the_image(cli: OpenStackCLI, unique: Callable[[str], str]) -> None:
    made = cli("server", "create", "--wait", "--flavor", "m1.tiny", "--image", "cirros", "--boot-from-volume", "1",
               "--network", "private", unique("bfv"))
    try:
        shown = cli("server", "show", made["id"])
        assert shown["status"] == "ACTIVE" and "booted from volume" in str(shown["image"])
        [root] = attached_ids(cli, made["id"])
        assert attachments(cli, made["id"])[root]["Device"] == "/dev/vda"
        volume = cli("volume", "show", root)
        assert volume["status"] == "in-use" and str(volume["bootable"]).lower() == "true"
        assert volume["volume_image_metadata"]["image_name"] == "cirros"
        err = cli.fails("server", "remove", "volume", made["id"], root)
        assert "Cannot detach a root device volume" in err.stderr
    finally:
        cli.run("server", "delete", "--wait", made["id"])
    assert wait_volume(cli, root, "available")["attachments"] == []  # --boot-from-volume keeps the volume
    cli.run("volume", "delete", root)
    wait_gone(cli, root)


def test_boot_from_a_bootable_volume_deleted_with_the_server(cli: OpenStackCLI, unique: Callable[[str], str]) -> None:
    root = cli("volume", "create", "--size", "1", "--image", "cirros", unique("root"))
    wait_volume(cli, root["id"], "available")
    spec = f"uuid={root['id']},source_type=volume,destination_type=volume,boot_index=0,delete_on_termination=true"
    made = cli("server", "create", "--wait", "--flavor", "m1.tiny", "--block-device", spec, "--network", "private",
               unique("bfv"))
    try:
        assert attached_ids(cli, made["id"]) == {root["id"]}
        assert wait_volume(cli, root["id"], "in-use")["attachments"][0]["device"] == "/dev/vda"
    finally:
        cli.run("server", "delete", "--wait", made["id"])
    wait_gone(cli, root["id"])


def test_boot_from_volume_faults(cli: OpenStackCLI, volume: dict[str, Any], unique: Callable[[str], str]) -> None:
    err = cli.fails("server", "create", "--flavor", "m1.tiny", "--volume", volume["id"], "--network", "private",
                    unique("bad"))
    assert f"Block Device {volume['id']} is not bootable." in err.stderr
    image = cli("image", "show", "cirros")["id"]
    spec = f"uuid={image},source_type=image,destination_type=volume,boot_index=0"
    err = cli.fails("server", "create", "--flavor", "m1.tiny", "--block-device", spec, "--network", "private",
                    unique("bad"))
    assert "need to have a non-zero size specified" in err.stderr
    assert cli("volume", "show", volume["id"])["status"] == "available"
