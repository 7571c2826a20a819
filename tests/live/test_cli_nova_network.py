"""The unmodified ``openstack`` CLI against a live ``overcast serve``: the Nova APIs of this family
it still drives.

OSC sends floating IP and security group commands to Neutron whenever the catalog has a network
service (Overcast's always does), so the Nova proxies themselves are covered in-process
(``tests/compute/test_network_proxies.py``). What the CLI does drive is the default quota class
(``quota set --default`` is ``PUT /os-quota-class-sets/default``) and remote consoles
(``console url show``), whose answer is Nova's for a console type that is not available.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from overcast.testing.live import OpenStackCLI

pytestmark = pytest.mark.live


def _limit(rows: list[dict[str, Any]], resource: str) -> int:
    """One resource's limit from ``quota show -f json`` (rows of Resource/Limit)."""
    return int(next(row["Limit"] for row in rows if row["Resource"] == resource))


def test_default_quota_class_is_every_projects_defaults(admin_cli: OpenStackCLI, cli: OpenStackCLI,
                                                        alt_cli: OpenStackCLI) -> None:
    before = _limit(cli("quota", "show", "--default", "--compute"), "instances")
    admin_cli.run("quota", "set", "--default", "--instances", str(before + 7), "--key-pairs", "55")
    try:
        assert _limit(cli("quota", "show", "--default", "--compute"), "instances") == before + 7
        shown = alt_cli("quota", "show", "--default", "--compute")
        assert _limit(shown, "instances") == before + 7 and _limit(shown, "key-pairs") == 55
        refused = cli.fails("quota", "set", "--default", "--instances", "1")
        assert "ForbiddenException: 403" in refused.stderr and "os-quota-class-sets/default" in refused.stderr
    finally:
        admin_cli.run("quota", "set", "--default", "--instances", str(before), "--key-pairs", "100")
    assert _limit(cli("quota", "show", "--default", "--compute"), "instances") == before


def test_console_url_show_gets_novas_unavailable_console(cli: OpenStackCLI, unique: Callable[[str], str]) -> None:
    made = cli("server", "create", "--wait", "--flavor", "m1.tiny", "--image", "cirros", "--network", "private",
               unique("srv"))
    try:
        for option, console_type in (("--novnc", "novnc"), ("--spice", "spice-html5"), ("--serial", "serial")):
            err = cli.fails("console", "url", "show", option, made["id"])
            assert f"Unavailable console type {console_type}." in err.stderr, err.stderr
    finally:
        cli.run("server", "delete", made["id"], check=False)
