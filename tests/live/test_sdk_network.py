"""openstacksdk (unmodified) against a live ``overcast serve``: the network flows the CLI tests cover."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from openstack import exceptions

pytestmark = pytest.mark.live


def _name(kind: str) -> str:
    return f"sdk-{kind}-{uuid.uuid4().hex[:8]}"


def test_topology_and_lifecycle(demo_conn: Any):
    conn = demo_conn
    public = conn.network.find_network("public", ignore_missing=False)
    assert public.is_router_external
    network = conn.network.create_network(name=_name("net"))
    subnet = conn.network.create_subnet(network_id=network.id, ip_version=4, cidr="10.61.0.0/24")
    assert subnet.gateway_ip == "10.61.0.1"
    v6 = conn.network.create_subnet(network_id=network.id, ip_version=6, cidr="fd61::/64")
    port = conn.network.create_port(network_id=network.id, name=_name("port"))
    assert {ip["subnet_id"] for ip in port.fixed_ips} == {subnet.id, v6.id}
    router = conn.network.create_router(name=_name("router"), external_gateway_info={"network_id": public.id})
    conn.network.add_interface_to_router(router, subnet_id=subnet.id)
    fip = conn.network.create_ip(floating_network_id=public.id)
    fip = conn.network.update_ip(fip, port_id=port.id)
    assert fip.fixed_ip_address == [ip["ip_address"] for ip in port.fixed_ips if ":" not in ip["ip_address"]][0]
    with pytest.raises(exceptions.ConflictException):
        conn.network.delete_network(network)
    conn.network.delete_ip(fip)
    conn.network.delete_port(port)
    conn.network.remove_interface_from_router(router, subnet_id=subnet.id)
    conn.network.delete_router(router)
    conn.network.delete_network(network)
    assert conn.network.find_network(network.id) is None


def test_security_groups_tags_and_paging(demo_conn: Any):
    conn = demo_conn
    group = conn.network.create_security_group(name=_name("sg"))
    rule = conn.network.create_security_group_rule(security_group_id=group.id, direction="ingress",
                                                   protocol="tcp", port_range_min=22, port_range_max=22)
    with pytest.raises(exceptions.ConflictException):
        conn.network.create_security_group_rule(security_group_id=group.id, direction="ingress", protocol="tcp",
                                                port_range_min=22, port_range_max=22)
    conn.network.set_tags(group, ["a", "b"])
    assert sorted(conn.network.get_security_group(group.id).tags) == ["a", "b"]
    names = [_name("page") for _ in range(3)]
    made = [conn.network.create_network(name=n) for n in names]
    listed = [n.name for n in conn.network.networks(limit=1, sort_key="name", sort_dir="asc")]
    assert set(names) <= set(listed) and listed == sorted(listed)
    for network in made:
        conn.network.delete_network(network)
    conn.network.delete_security_group_rule(rule)
    conn.network.delete_security_group(group)


def test_quotas(admin_conn: Any, demo_conn: Any):
    project = demo_conn.current_project_id
    quota = admin_conn.network.get_quota(project, details=True)
    assert quota.networks["limit"] == 100 and quota.networks["used"] >= 1


def test_port_binding_profile_and_fixed_ip_filters(admin_conn: Any, demo_conn: Any, admin_cli: Any):
    """Issue 17 items 7 and 8 through openstacksdk and the openstack CLI, unmodified."""
    network = demo_conn.network.create_network(name=_name("net"))
    subnet = demo_conn.network.create_subnet(network_id=network.id, ip_version=4, cidr="10.62.0.0/24")
    profile = {"foo": "bar", "capabilities": ["switchdev"]}
    port = admin_conn.network.create_port(network_id=network.id, binding_profile=profile,
                                          project_id=demo_conn.current_project_id,
                                          fixed_ips=[{"subnet_id": subnet.id, "ip_address": "10.62.0.123"}])
    assert port.binding_profile == profile
    assert admin_conn.network.get_port(port.id).binding_profile == profile
    assert admin_conn.network.update_port(port, binding_profile={"foo": "baz"}).binding_profile == {"foo": "baz"}
    with pytest.raises(exceptions.ForbiddenException):
        demo_conn.network.update_port(port.id, binding_profile={"foo": "bar"})
    other = demo_conn.network.create_port(network_id=network.id,
                                          fixed_ips=[{"subnet_id": subnet.id, "ip_address": "10.62.0.45"}])

    def found(*fixed_ips: str) -> set[str]:
        return {p.id for p in demo_conn.network.ports(network_id=network.id, fixed_ips=list(fixed_ips))}

    assert found("ip_address_substr=.123") == {port.id}
    assert found("ip_address_substr=10.62.0.") == {port.id, other.id}
    assert found("ip_address=10.62.0.45") == {other.id}
    assert found(f"subnet_id={subnet.id}", "ip_address_substr=45") == {other.id}
    listed = admin_cli("port", "list", "--network", network.id, "--fixed-ip", "ip-substring=.123")
    assert [p["ID"] for p in listed] == [port.id]
    shown = admin_cli("port", "show", port.id)
    assert shown["binding_profile"] == {"foo": "baz"}
    admin_cli.run("port", "set", port.id, "--binding-profile", "pci_slot=0000:05:00.1")
    assert admin_cli("port", "show", port.id)["binding_profile"] == {"foo": "baz", "pci_slot": "0000:05:00.1"}
    for p in (port, other):
        demo_conn.network.delete_port(p.id)
    demo_conn.network.delete_network(network)


def test_network_ip_availability(admin_conn: Any, demo_conn: Any):
    network = demo_conn.network.create_network(name=_name("avail"))
    subnet = demo_conn.network.create_subnet(network_id=network.id, ip_version=4, cidr="10.62.0.0/29")
    v6 = demo_conn.network.create_subnet(network_id=network.id, ip_version=6, cidr="fd62::/64")
    port = demo_conn.network.create_port(network_id=network.id)
    found = admin_conn.network.get_network_ip_availability(network.id)
    assert (found.network_id, found.network_name, found.used_ips) == (network.id, network.name, 2)
    by_subnet = {s["subnet_id"]: s for s in found.subnet_ip_availability}
    assert (by_subnet[subnet.id]["total_ips"], by_subnet[subnet.id]["used_ips"]) == (5, 1)
    assert by_subnet[v6.id]["total_ips"] == 2 ** 64 - 2 and found.total_ips == 5 + 2 ** 64 - 2
    listed = [a.network_id for a in admin_conn.network.network_ip_availabilities(ip_version=4,
                                                                                   network_name=network.name)]
    assert listed == [network.id]
    assert list(demo_conn.network.network_ip_availabilities()) == []
    demo_conn.network.delete_port(port)
    demo_conn.network.delete_network(network)


def test_auto_allocated_topology(demo_conn: Any):
    conn = demo_conn
    checked = conn.network.validate_auto_allocated_topology()
    assert checked.id == "dry-run=pass"
    topology = conn.network.get_auto_allocated_topology()
    try:
        assert conn.network.get_auto_allocated_topology().id == topology.id
        network = conn.network.get_network(topology.id)
        assert (network.name, network.is_admin_state_up) == ("auto_allocated_network", True)
        [subnet] = list(conn.network.subnets(network_id=network.id))
        assert subnet.name == "auto_allocated_subnet_v4"
    finally:
        conn.network.delete_auto_allocated_topology()
    assert conn.network.find_network(topology.id) is None


def test_trunks_and_agents(admin_conn: Any, demo_conn: Any):
    conn = demo_conn
    network = conn.network.create_network(name=_name("trunked"))
    conn.network.create_subnet(network_id=network.id, ip_version=4, cidr="10.63.0.0/24")
    parent, sub, other = (conn.network.create_port(network_id=network.id) for _ in range(3))
    trunk = conn.network.create_trunk(port_id=parent.id, name=_name("trunk"), sub_ports=[
        {"port_id": sub.id, "segmentation_type": "vlan", "segmentation_id": 10}])
    assert (trunk.status, trunk.is_admin_state_up) == ("DOWN", True)
    conn.network.add_trunk_subports(trunk, [{"port_id": other.id, "segmentation_type": "vlan",
                                             "segmentation_id": 11}])
    assert sorted(s["segmentation_id"] for s in conn.network.get_trunk_subports(trunk)["sub_ports"]) == [10, 11]
    with pytest.raises(exceptions.ConflictException):
        conn.network.create_trunk(port_id=sub.id)
    with pytest.raises(exceptions.ConflictException):
        conn.network.delete_port(parent)
    conn.network.delete_trunk_subports(trunk, [{"port_id": other.id}])
    assert [t.id for t in conn.network.trunks(port_id=parent.id)] == [trunk.id]
    conn.network.delete_trunk(trunk)
    for port in (parent, sub, other):
        conn.network.delete_port(port)
    # agents: the admin's; the DHCP agent serves the network with a DHCP-enabled subnet
    assert list(conn.network.agents()) == []
    dhcp = [a for a in admin_conn.network.agents() if a.agent_type == "DHCP agent"]
    assert len(dhcp) == 1 and dhcp[0].is_alive
    assert network.id in [n.id for n in admin_conn.network.dhcp_agent_hosting_networks(dhcp[0])]
    admin_conn.network.remove_dhcp_agent_from_network(dhcp[0], network)
    assert network.id not in [n.id for n in admin_conn.network.dhcp_agent_hosting_networks(dhcp[0])]
    admin_conn.network.add_dhcp_agent_to_network(dhcp[0], network)
    assert [a.id for a in admin_conn.network.network_hosting_dhcp_agents(network)] == [dhcp[0].id]
    conn.network.delete_network(network)
