"""The unmodified ``openstack`` CLI against a live ``overcast serve``: Nova on the embedded local cloud.

Flavors and images are given by *name* (``--flavor m1.tiny --image cirros``), so the CLI resolves
them through the flavor API and the image service (``/image/v2/images``), as it does on DevStack.
Every test makes its own uniquely named resources; servers are shared with other tests of the
worker, so a list is never assumed to hold only ours. Waits are bounded polls.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from overcast.testing.live import CLIError, OpenStackCLI, wait_for

pytestmark = pytest.mark.live

SEEDED_FLAVORS = {  # Nova's default flavors: id -> (name, vcpus, ram MiB, disk GiB)
    "1": ("m1.tiny", 1, 512, 1),
    "2": ("m1.small", 1, 2048, 20),
    "3": ("m1.medium", 2, 4096, 40),
    "4": ("m1.large", 4, 8192, 80),
    "5": ("m1.xlarge", 8, 16384, 160),
}
WAIT = 60.0



def _public_key() -> str:
    """A fresh RSA public key in OpenSSH format (what ``ssh-keygen`` writes to id_rsa.pub)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                         serialization.PublicFormat.OpenSSH).decode() + " test@overcast"


def _show(cli: OpenStackCLI, server: str, *extra: str) -> dict[str, Any]:
    return cli(*extra, "server", "show", server)


def wait_status(cli: OpenStackCLI, server: str, status: str, timeout: float = WAIT) -> dict[str, Any]:
    """Poll ``server show`` until the server has ``status``; an ERROR fails at once."""
    last: dict[str, Any] = {}

    def reached() -> dict[str, Any] | None:
        nonlocal last
        last = _show(cli, server)
        if last.get("status") == "ERROR" and status != "ERROR":
            raise AssertionError(f"server {server} went to ERROR waiting for {status}: {last.get('fault')}")
        return last if last.get("status") == status else None

    return wait_for(reached, timeout, interval=0.2, max_interval=1.0, description=f"server {server} {status}",
                    on_timeout=lambda: json.dumps(last, indent=1, default=str))


def _not_found(err: CLIError) -> bool:
    """The CLI's words for a 404 on lookup (they differ between the novaclient and SDK paths)."""
    text = err.stderr
    return any(s in text for s in ("No server with a name or ID", "No Server found for", "404"))


def _props(value: Any) -> dict[str, str]:
    """OSC prints properties as a dict (-f json) or as ``a='1', b='2'`` depending on version."""
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    if not value:
        return {}
    out = {}
    for part in str(value).split(", "):
        k, _, v = part.partition("=")
        out[k.strip()] = v.strip().strip("'")
    return out


def _rows(value: Any) -> dict[str, Any]:
    """``quota show``/``limits show`` print rows of {Resource/Name, Limit/Value}: map them."""
    if isinstance(value, dict):
        return value
    out = {}
    for row in value:
        key = row.get("Resource", row.get("Name"))
        out[key] = row.get("Limit", row.get("Value"))
    return out


@pytest.fixture
def server(cli: OpenStackCLI, unique: Callable[[str], str]) -> Iterator[dict[str, Any]]:
    """A fresh ACTIVE m1.tiny/cirros server of the demo project, deleted afterwards."""
    name = unique("srv")
    made = cli("server", "create", "--wait", "--flavor", "m1.tiny", "--image", "cirros", "--network", "private", name)
    try:
        yield made
    finally:
        cli.run("server", "delete", made["id"], check=False)


def test_server_create_wait_by_names_then_show_and_list(cli: OpenStackCLI, server: dict[str, Any]) -> None:
    assert server["status"] == "ACTIVE"
    assert server["name"].startswith("srv-")
    shown = _show(cli, server["id"])
    assert shown["id"] == server["id"]
    assert shown["status"] == "ACTIVE"
    assert "m1.tiny" in str(shown["flavor"])
    assert "cirros" in str(shown["image"])
    assert shown["addresses"], "the local cloud gives every server an address"
    assert str(shown.get("OS-EXT-STS:vm_state", "active")) == "active"
    by_name = _show(cli, server["name"])
    assert by_name["id"] == server["id"]
    listed = {row["ID"]: row for row in cli("server", "list")}
    assert listed[server["id"]]["Status"] == "ACTIVE"
    assert listed[server["id"]]["Name"] == server["name"]
    assert listed[server["id"]]["Flavor"] == "m1.tiny"
    long = {row["ID"]: row for row in cli("server", "list", "--long", "--name", server["name"])}
    assert list(long) == [server["id"]]


def test_server_set_and_unset_property(cli: OpenStackCLI, server: dict[str, Any]) -> None:
    cli.run("server", "set", "--property", "color=blue", "--property", "size=xl", server["id"])
    assert _props(_show(cli, server["id"])["properties"]) == {"color": "blue", "size": "xl"}
    cli.run("server", "unset", "--property", "color", server["id"])
    assert _props(_show(cli, server["id"])["properties"]) == {"size": "xl"}


def test_server_rename_and_description(cli: OpenStackCLI, server: dict[str, Any], unique: Callable[[str], str]) -> None:
    new = unique("renamed")
    cli.run("--os-compute-api-version", "2.19", "server", "set", "--name", new, "--description", "hello",
            server["id"])
    shown = _show(cli, server["id"], "--os-compute-api-version", "2.19")
    assert shown["name"] == new
    assert shown["description"] == "hello"


def test_server_tags_with_microversion_2_26(cli: OpenStackCLI, server: dict[str, Any]) -> None:
    v = ("--os-compute-api-version", "2.26")
    cli.run(*v, "server", "set", "--tag", "red", "--tag", "green", server["id"])
    assert sorted(_show(cli, server["id"], *v)["tags"]) == ["green", "red"]
    tagged = [row["ID"] for row in cli(*v, "server", "list", "--tags", "red,green")]
    assert server["id"] in tagged
    cli.run(*v, "server", "unset", "--tag", "red", server["id"])
    assert _show(cli, server["id"], *v)["tags"] == ["green"]


def test_server_tags_need_microversion_2_26(cli: OpenStackCLI, server: dict[str, Any]) -> None:
    err = cli.fails("--os-compute-api-version", "2.25", "server", "set", "--tag", "red", server["id"])
    assert "2.26" in err.stderr


def test_server_reboot_soft_and_hard(cli: OpenStackCLI, server: dict[str, Any]) -> None:
    cli.run("server", "reboot", "--wait", server["id"])
    assert wait_status(cli, server["id"], "ACTIVE")["status"] == "ACTIVE"
    cli.run("server", "reboot", "--hard", "--wait", server["id"])
    assert wait_status(cli, server["id"], "ACTIVE")["OS-EXT-STS:power_state"] in (1, "Running")


def test_server_stop_and_start(cli: OpenStackCLI, server: dict[str, Any]) -> None:
    cli.run("server", "stop", server["id"])
    stopped = wait_status(cli, server["id"], "SHUTOFF")
    assert stopped["OS-EXT-STS:vm_state"] == "stopped"
    assert stopped["OS-EXT-STS:power_state"] in (4, "Shutdown")
    # Nova refuses to stop a stopped server: 409, and the CLI exits non-zero
    err = cli.fails("server", "stop", server["id"])
    assert "409" in err.stderr or "conflict" in err.stderr.lower() or "state" in err.stderr.lower()
    cli.run("server", "start", server["id"])
    assert wait_status(cli, server["id"], "ACTIVE")["OS-EXT-STS:vm_state"] == "active"


def test_server_pause_and_unpause(cli: OpenStackCLI, server: dict[str, Any]) -> None:
    cli.run("server", "pause", server["id"])
    assert wait_status(cli, server["id"], "PAUSED")["OS-EXT-STS:vm_state"] == "paused"
    cli.run("server", "unpause", server["id"])
    wait_status(cli, server["id"], "ACTIVE")


def test_server_suspend_and_resume(cli: OpenStackCLI, server: dict[str, Any]) -> None:
    cli.run("server", "suspend", server["id"])
    assert wait_status(cli, server["id"], "SUSPENDED")["OS-EXT-STS:vm_state"] == "suspended"
    cli.run("server", "resume", server["id"])
    wait_status(cli, server["id"], "ACTIVE")


def test_server_resize_and_confirm(cli: OpenStackCLI, server: dict[str, Any]) -> None:
    cli.run("server", "resize", "--flavor", "m1.small", "--wait", server["id"])
    resized = wait_status(cli, server["id"], "VERIFY_RESIZE")
    assert "m1.small" in str(resized["flavor"])
    cli.run("server", "resize", "confirm", server["id"])
    confirmed = wait_status(cli, server["id"], "ACTIVE")
    assert "m1.small" in str(confirmed["flavor"])


def test_server_resize_and_revert(cli: OpenStackCLI, server: dict[str, Any]) -> None:
    cli.run("server", "resize", "--flavor", "m1.small", "--wait", server["id"])
    wait_status(cli, server["id"], "VERIFY_RESIZE")
    cli.run("server", "resize", "revert", server["id"])
    reverted = wait_status(cli, server["id"], "ACTIVE")
    assert "m1.tiny" in str(reverted["flavor"])


def test_server_rebuild(cli: OpenStackCLI, server: dict[str, Any]) -> None:
    # with --wait the CLI prints its progress on stdout too, so not -f json
    cli.run("server", "rebuild", "--image", "cirros", "--wait", server["id"])
    shown = wait_status(cli, server["id"], "ACTIVE")
    actions = [row["Action"] for row in cli("server", "event", "list", server["id"])]
    assert "rebuild" in actions
    assert "cirros" in str(shown["image"])


def test_server_image_create(cli: OpenStackCLI, server: dict[str, Any], unique: Callable[[str], str]) -> None:
    name = unique("snap")
    image = cli("server", "image", "create", "--name", name, "--wait", server["id"])
    assert image["name"] == name
    assert image["status"] == "active"
    shown = cli("image", "show", image["id"])
    assert shown["name"] == name
    assert name in [row["Name"] for row in cli("image", "list")]
    wait_status(cli, server["id"], "ACTIVE")


def test_server_event_list(cli: OpenStackCLI, server: dict[str, Any]) -> None:
    cli.run("server", "reboot", "--wait", server["id"])
    events = cli("server", "event", "list", server["id"])
    actions = [row["Action"] for row in events]
    assert "create" in actions
    assert "reboot" in actions
    create = next(row for row in events if row["Action"] == "create")
    detail = cli("server", "event", "show", server["id"], create["Request ID"])
    assert detail["action"] == "create"


def test_console_log_show(cli: OpenStackCLI, server: dict[str, Any]) -> None:
    text = cli.run("console", "log", "show", server["id"]).stdout
    assert text.strip(), "the local cloud writes a boot log"
    tail = cli.run("console", "log", "show", "--lines", "2", server["id"]).stdout
    assert 0 < len(tail.strip().splitlines()) <= 2


def test_server_delete_wait(cli: OpenStackCLI, unique: Callable[[str], str]) -> None:
    made = cli("server", "create", "--wait", "--flavor", "m1.tiny", "--image", "cirros", "--network", "private",
               unique("gone"))
    cli.run("server", "delete", "--wait", made["id"])
    err = cli.fails("server", "show", made["id"])
    assert _not_found(err)
    assert made["id"] not in [row["ID"] for row in cli("server", "list")]


def test_server_create_unknown_flavor_and_image_fail_cleanly(cli: OpenStackCLI, unique: Callable[[str], str]) -> None:
    err = cli.fails("server", "create", "--flavor", "m1.nope", "--image", "cirros", unique("bad"))
    assert "m1.nope" in err.stderr
    err = cli.fails("server", "create", "--flavor", "m1.tiny", "--image", "no-such-image", unique("bad"))
    assert "no-such-image" in err.stderr


def test_member_cannot_see_another_projects_server(cli: OpenStackCLI, alt_cli: OpenStackCLI,
                                                   admin_cli: OpenStackCLI, server: dict[str, Any]) -> None:
    err = alt_cli.fails("server", "show", server["id"])
    assert _not_found(err)
    assert server["id"] not in [row["ID"] for row in alt_cli("server", "list")]
    alt_err = alt_cli.fails("server", "delete", server["id"])
    assert alt_err.returncode != 0
    assert _show(cli, server["id"])["status"] == "ACTIVE"
    # an admin sees it across projects
    assert server["id"] in [row["ID"] for row in admin_cli("server", "list", "--all-projects")]


# -- flavors ----------------------------------------------------------------------------------------

def test_flavor_list_has_the_seeded_flavors(cli: OpenStackCLI) -> None:
    flavors = {row["ID"]: row for row in cli("flavor", "list")}
    for fid, (name, vcpus, ram, disk) in SEEDED_FLAVORS.items():
        assert flavors[fid]["Name"] == name
        assert flavors[fid]["VCPUs"] == vcpus
        assert flavors[fid]["RAM"] == ram
        assert flavors[fid]["Disk"] == disk
        assert flavors[fid]["Is Public"] is True


def test_flavor_show_by_name(cli: OpenStackCLI) -> None:
    tiny = cli("flavor", "show", "m1.tiny")
    assert tiny["id"] == "1"
    assert (tiny["vcpus"], tiny["ram"], tiny["disk"]) == (1, 512, 1)


def test_admin_flavor_create_and_delete(admin_cli: OpenStackCLI, cli: OpenStackCLI,
                                        unique: Callable[[str], str]) -> None:
    name = unique("flv")
    made = admin_cli("flavor", "create", "--vcpus", "2", "--ram", "256", "--disk", "3", "--property", "hw:x=1",
                     name)
    assert (made["name"], made["vcpus"], made["ram"], made["disk"]) == (name, 2, 256, 3)
    assert _props(made["properties"]) == {"hw:x": "1"}
    assert name in [row["Name"] for row in cli("flavor", "list")]
    admin_cli.run("flavor", "delete", name)
    assert name not in [row["Name"] for row in admin_cli("flavor", "list", "--all")]


def test_member_cannot_create_flavor(cli: OpenStackCLI, unique: Callable[[str], str]) -> None:
    err = cli.fails("flavor", "create", "--vcpus", "1", "--ram", "64", "--disk", "1", unique("flv"))
    assert "403" in err.stderr or "not allowed" in err.stderr.lower() or "forbidden" in err.stderr.lower()


# -- keypairs ---------------------------------------------------------------------------------------

def test_keypair_generate_list_show_delete(cli: OpenStackCLI, unique: Callable[[str], str], tmp_path: Path) -> None:
    name = unique("kp")
    private = cli.run("keypair", "create", name).stdout
    assert "PRIVATE KEY" in private
    assert name in [row["Name"] for row in cli("keypair", "list")]
    shown = cli("keypair", "show", name)
    assert shown["name"] == name
    assert shown["fingerprint"]
    public = cli.run("keypair", "show", "--public-key", name).stdout
    assert public.startswith("ssh-")
    cli.run("keypair", "delete", name)
    assert name not in [row["Name"] for row in cli("keypair", "list")]
    cli.fails("keypair", "show", name)


def test_keypair_import_and_boot_with_it(cli: OpenStackCLI, unique: Callable[[str], str], tmp_path: Path) -> None:
    name = unique("kp")
    path = tmp_path / "id.pub"
    path.write_text(_public_key() + "\n")
    made = cli("keypair", "create", "--public-key", str(path), name)
    assert made["name"] == name
    assert made["fingerprint"].count(":") == 15
    srv = cli("server", "create", "--wait", "--flavor", "m1.tiny", "--image", "cirros", "--network", "private",
              "--key-name", name,
              unique("kpsrv"))
    try:
        assert _show(cli, srv["id"])["key_name"] == name
    finally:
        cli.run("server", "delete", srv["id"], check=False)
        cli.run("keypair", "delete", name, check=False)


# -- quotas, limits, usage, zones, server groups -----------------------------------------------------

def test_quota_show(cli: OpenStackCLI) -> None:
    quotas = _rows(cli("quota", "show", "--compute"))
    assert int(quotas["instances"]) >= 1
    assert int(quotas["cores"]) >= 1
    assert int(quotas["ram"]) >= 512
    assert "key-pairs" in quotas or "key_pairs" in quotas


def test_admin_quota_set_then_show(admin_cli: OpenStackCLI, ids: dict[str, str]) -> None:
    project = ids["project:alt_demo"]
    admin_cli.run("quota", "set", "--key-pairs", "77", project)
    quotas = _rows(admin_cli("quota", "show", "--compute", project))
    assert int(quotas.get("key-pairs", quotas.get("key_pairs"))) == 77


def test_limits_show_absolute(cli: OpenStackCLI) -> None:
    limits = _rows(cli("limits", "show", "--absolute"))
    # the CLI names Nova's absolute limits (maxTotalInstances ...) the SDK's way (max_total_instances ...)
    for key in ("max_total_instances", "max_total_cores", "max_total_ram_size", "total_instances_used",
                "total_cores_used", "max_server_groups"):
        camel = "".join(w.capitalize() if i else w for i, w in enumerate(key.split("_")))
        camel = camel.replace("Ram", "RAM")
        assert key in limits or camel in limits, f"{key} missing from {sorted(limits)}"
    assert int(limits.get("max_total_instances", limits.get("maxTotalInstances"))) >= 1


def test_availability_zone_list(cli: OpenStackCLI) -> None:
    zones = cli("availability", "zone", "list", "--compute")
    assert any(z["Zone Name"] == "nova" and z["Zone Status"] == "available" for z in zones), zones


def test_usage_list(admin_cli: OpenStackCLI, cli: OpenStackCLI, server: dict[str, Any]) -> None:
    rows = admin_cli("usage", "list")
    assert isinstance(rows, list)
    assert rows, "the demo project has a server running"
    assert {"Project", "Servers", "RAM MB-Hours", "CPU Hours", "Disk GB-Hours"} <= set(rows[0])
    # -f json prints the raw server_usages list (osc's CountColumn counts only for tables)
    assert server["id"] in [u["instance_id"] for u in cli("usage", "show")["Servers"]]


def test_server_group_create_list_delete(cli: OpenStackCLI, unique: Callable[[str], str]) -> None:
    name = unique("grp")
    group = cli("server", "group", "create", "--policy", "anti-affinity", name)
    assert group["name"] == name
    assert "anti-affinity" in str(group.get("policy", group.get("policies")))
    assert name in [row["Name"] for row in cli("server", "group", "list")]
    assert cli("server", "group", "show", name)["id"] == group["id"]
    srv = cli("server", "create", "--wait", "--flavor", "m1.tiny", "--image", "cirros", "--network", "private", "--hint",
              f"group={group['id']}", unique("member"))
    try:
        assert srv["id"] in str(cli("server", "group", "show", group["id"])["members"])
    finally:
        cli.run("server", "delete", "--wait", srv["id"], check=False)
    cli.run("server", "group", "delete", name)
    assert name not in [row["Name"] for row in cli("server", "group", "list")]


def test_over_quota_create_is_refused(admin_cli: OpenStackCLI, alt_cli: OpenStackCLI, ids: dict[str, str],
                                      unique: Callable[[str], str]) -> None:
    project = ids["project:alt_demo"]
    admin_cli.run("quota", "set", "--instances", "0", project)
    try:
        err = alt_cli.fails("server", "create", "--flavor", "m1.tiny", "--image", "cirros", "--nic", "none",
                            unique("over"))
        assert "Quota exceeded" in err.stderr or "403" in err.stderr
    finally:
        admin_cli.run("quota", "set", "--instances", "10", project)


def test_cli_errors_are_not_500(cli: OpenStackCLI) -> None:
    for args in (("server", "show", "00000000-0000-0000-0000-000000000000"),
                 ("flavor", "show", "no-such-flavor"), ("keypair", "show", "no-such-key")):
        err = cli.fails(*args)
        assert "500" not in err.stderr and "Internal" not in err.stderr, err
    with pytest.raises(CLIError):
        cli("server", "pause", "00000000-0000-0000-0000-000000000000")
