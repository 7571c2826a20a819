"""Servers on Neutron through the unmodified ``openstack`` CLI: the DevStack flow
``server create --network private``, ``server add floating ip``, ``server add port`` and
``server add network``, with the addresses ``server show`` prints following each step."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from overcast.testing.live import OpenStackCLI, wait_for

pytestmark = pytest.mark.live

WAIT = 60.0


def _addresses(cli: OpenStackCLI, server: str) -> str:
    return str(cli("server", "show", server)["addresses"])


def _until(cli: OpenStackCLI, server: str, check: Callable[[str], bool], what: str) -> str:
    last = ""

    def ok() -> bool:
        nonlocal last
        last = _addresses(cli, server)
        return check(last)

    wait_for(ok, WAIT, interval=0.2, max_interval=1.0, description=what, on_timeout=lambda: last)
    return last


@pytest.fixture
def vm(cli: OpenStackCLI, unique: Callable[[str], str]) -> Any:
    made = cli("server", "create", "--wait", "--flavor", "m1.tiny", "--image", "cirros", "--network", "private",
               unique("netvm"))
    yield made
    cli.run("server", "delete", "--wait", made["id"], check=False)


def test_server_on_private_gets_a_floating_ip(cli: OpenStackCLI, vm: Any) -> None:
    ports = cli("port", "list", "--server", vm["id"])
    assert len(ports) == 1
    fixed = ports[0]["Fixed IP Addresses"]
    assert "10.0.0." in str(fixed)
    assert "10.0.0." in _addresses(cli, vm["id"])

    fip = cli("floating", "ip", "create", "public")
    try:
        address = fip["floating_ip_address"]
        cli.run("server", "add", "floating", "ip", vm["id"], address)
        _until(cli, vm["id"], lambda text: address in text, "the floating IP in the server's addresses")
        assert cli("floating", "ip", "show", address)["port_id"] == ports[0]["ID"]
        cli.run("server", "remove", "floating", "ip", vm["id"], address)
        _until(cli, vm["id"], lambda text: address not in text, "the floating IP gone from the addresses")
    finally:
        cli.run("floating", "ip", "delete", fip["id"], check=False)


def test_add_and_remove_port_and_network(cli: OpenStackCLI, vm: Any, unique: Callable[[str], str]) -> None:
    net = unique("extra")
    cli("network", "create", net)
    try:
        cli("subnet", "create", unique("extra-sub"), "--network", net, "--subnet-range", "10.61.0.0/24")
        port = cli("port", "create", unique("extra-port"), "--network", net, "--fixed-ip", "ip-address=10.61.0.50")
        cli.run("server", "add", "port", vm["id"], port["id"])
        _until(cli, vm["id"], lambda text: "10.61.0.50" in text, "the added port's address")
        cli.run("server", "remove", "port", vm["id"], port["id"])
        _until(cli, vm["id"], lambda text: "10.61.0.50" not in text, "the removed port's address gone")
        assert cli("port", "show", port["id"])["device_id"] == ""

        cli.run("server", "add", "network", vm["id"], net)
        text = _until(cli, vm["id"], lambda text: "10.61.0." in text, "an address on the added network")
        assert net in text
        [added] = [p for p in cli("port", "list", "--server", vm["id"], "--network", net)]
        cli.run("server", "remove", "network", vm["id"], net)
        _until(cli, vm["id"], lambda text: net not in text, "the removed network gone")
        assert cli.fails("port", "show", added["ID"])
    finally:
        cli.run("server", "delete", "--wait", vm["id"], check=False)
        for row in cli("port", "list", "--network", net):
            cli.run("port", "delete", row["ID"], check=False)
        cli.run("network", "delete", net, check=False)


def test_fixed_ip_and_no_network(cli: OpenStackCLI, unique: Callable[[str], str]) -> None:
    private = cli("network", "show", "private")
    fixed = cli("server", "create", "--wait", "--flavor", "m1.tiny", "--image", "cirros",
                "--nic", f"net-id={private['id']},v4-fixed-ip=10.0.0.55", unique("fixed"))
    isolated = cli("server", "create", "--wait", "--flavor", "m1.tiny", "--image", "cirros", "--nic", "none",
                   unique("isolated"))
    try:
        assert "10.0.0.55" in _addresses(cli, fixed["id"])
        assert cli("port", "list", "--server", isolated["id"]) == []
        err = cli.fails("server", "create", "--flavor", "m1.tiny", "--image", "cirros",
                        "--nic", f"net-id={private['id']},v4-fixed-ip=10.0.0.55", unique("taken"))
        assert "10.0.0.55" in err.stderr
    finally:
        for server in (fixed, isolated):
            cli.run("server", "delete", "--wait", server["id"], check=False)
