"""Networks and subnets over the wire: defaults, IPAM, validation faults, isolation, roles."""

from __future__ import annotations

import json

import pytest
from netwait import settle


def _error(body: dict) -> tuple[str, str]:
    return body["NeutronError"]["type"], body["NeutronError"]["message"]


def test_versions_root_and_extensions(cloud, net, demo_token):
    resp = cloud.request("GET", "/network", None)
    assert resp.status_code == 200 and resp.json["versions"][0]["id"] == "v2.0"
    status, body = net("GET", "", demo_token)
    assert status == 200 and {"networks", "ports", "security-groups"} <= {r["collection"] for r in body["resources"]}
    status, body = net("GET", "/extensions", demo_token)
    aliases = {e["alias"] for e in body["extensions"]}
    assert {"router", "external-net", "security-group", "quotas", "standard-attr-tag", "pagination"} <= aliases
    assert net("GET", "/extensions/router", demo_token)[0] == 200
    assert net("GET", "/extensions/l3-ha", demo_token)[0] == 404


def test_default_topology_is_seeded(net, demo_token):
    _, body = net("GET", "/networks?name=private", demo_token)
    private = body["networks"][0]
    _, body = net("GET", f"/subnets?network_id={private['id']}", demo_token)
    subnet = body["subnets"][0]
    assert (subnet["name"], subnet["cidr"], subnet["gateway_ip"]) == ("private-subnet", "10.0.0.0/26", "10.0.0.1")
    assert subnet["allocation_pools"] == [{"start": "10.0.0.2", "end": "10.0.0.62"}]
    _, body = net("GET", "/networks?router:external=true", demo_token)
    assert [n["name"] for n in body["networks"]] == ["public"]
    _, body = net("GET", "/routers", demo_token)
    assert body["routers"][0]["name"] == "router1"
    assert body["routers"][0]["external_gateway_info"]["external_fixed_ips"][0]["ip_address"].startswith("172.24.4.")


def test_seed_is_idempotent(cloud, net, admin_token):
    from overcast.core.network.seed import seed

    seed(cloud.app.network)
    _, body = net("GET", "/networks", admin_token)
    assert sorted(n["name"] for n in body["networks"]) == ["private", "public"]


def test_network_crud_and_standard_attributes(net, demo_token):
    network = net.make(demo_token, "networks", "network", name="n1", description="d")
    assert network["status"] == "ACTIVE" and network["mtu"] == 1442 and network["subnets"] == []
    assert network["tenant_id"] == network["project_id"] and network["revision_number"] == 0
    assert "provider:network_type" not in network
    status, body = net("PUT", f"/networks/{network['id']}", demo_token, {"network": {"name": "n2"}})
    assert status == 200 and body["network"]["name"] == "n2" and body["network"]["revision_number"] == 1
    status, body = net("PUT", f"/networks/{network['id']}", demo_token, {"network": {"id": "x"}})
    assert status == 400
    status, body = net("POST", "/networks", demo_token, {"network": {"bogus": 1}})
    assert status == 400 and "Unrecognized attribute" in _error(body)[1]
    assert net("DELETE", f"/networks/{network['id']}", demo_token)[0] == 204
    status, body = net("GET", f"/networks/{network['id']}", demo_token)
    assert status == 404 and _error(body)[0] == "NetworkNotFound"


def test_admin_only_attributes_and_roles(net, demo_token, admin_token, reader_token):
    status, body = net("POST", "/networks", demo_token, {"network": {"name": "x", "shared": True}})
    assert status == 403 and _error(body) == ("PolicyNotAuthorized", "(rule:create_network:shared) is disallowed "
                                                                       "by policy")
    assert net("POST", "/networks", demo_token, {"network": {"router:external": True}})[0] == 403
    shared = net.make(admin_token, "networks", "network", name="shared", shared=True)
    assert shared["provider:network_type"] == "geneve"
    _, body = net("GET", "/networks?shared=true", demo_token)
    assert [n["id"] for n in body["networks"]] == [shared["id"]]
    assert net("GET", "/networks", reader_token)[0] == 200
    status, body = net("POST", "/networks", reader_token, {"network": {"name": "r"}})
    assert status == 403
    mine = net.make(demo_token, "networks", "network", name="mine")
    assert net("DELETE", f"/networks/{mine['id']}", reader_token)[0] == 403


def test_other_projects_resources_are_404(cloud, net, demo_token):
    alt = cloud.token("alt_demo", "alt_demo")
    network = net.make(demo_token, "networks", "network", name="private-to-demo")
    assert net("GET", f"/networks/{network['id']}", alt)[0] == 404
    assert net("DELETE", f"/networks/{network['id']}", alt)[0] == 404
    _, body = net("GET", "/networks", alt)
    assert network["id"] not in [n["id"] for n in body["networks"]]


def test_subnet_ipam_defaults_ipv4_and_ipv6(net, demo_token):
    network = net.make(demo_token, "networks", "network", name="n")
    v4 = net.make(demo_token, "subnets", "subnet", network_id=network["id"], ip_version=4, cidr="192.168.10.0/24")
    assert v4["gateway_ip"] == "192.168.10.1"
    assert v4["allocation_pools"] == [{"start": "192.168.10.2", "end": "192.168.10.254"}]
    v6 = net.make(demo_token, "subnets", "subnet", network_id=network["id"], ip_version=6, cidr="fd00:1::/64")
    assert v6["gateway_ip"] == "fd00:1::1"
    assert v6["allocation_pools"] == [{"start": "fd00:1::2", "end": "fd00:1::ffff:ffff:ffff:ffff"}]
    nogw = net.make(demo_token, "subnets", "subnet", network_id=network["id"], ip_version=4,
                    cidr="192.168.11.0/29", gateway_ip=None)
    assert nogw["gateway_ip"] is None and nogw["allocation_pools"] == [{"start": "192.168.11.1",
                                                                         "end": "192.168.11.6"}]
    _, body = net("GET", f"/networks/{network['id']}", demo_token)
    assert sorted(body["network"]["subnets"]) == sorted([v4["id"], v6["id"], nogw["id"]])


def test_subnet_validation_faults(net, demo_token, admin_token):
    network = net.make(demo_token, "networks", "network", name="n")
    nid = network["id"]

    def post(**attrs):  # noqa: ANN202
        return net("POST", "/subnets", demo_token, {"subnet": {"network_id": nid, "ip_version": 4, **attrs}})

    status, body = post(cidr="10.1.0.0/33")
    assert status == 400 and "is not a valid IP subnet" in _error(body)[1]
    status, body = post(cidr="10.1.0.1/24")
    assert status == 400 and "'10.1.0.0/24' is recommended" in _error(body)[1]
    status, body = post(cidr="fd00::/64")
    assert status == 400 and _error(body)[0] == "InvalidInput"
    assert post(cidr="10.1.0.0/24")[0] == 201
    status, body = post(cidr="10.1.0.128/25")
    assert status == 400 and _error(body) == ("InvalidInput", f"Invalid input for operation: Requested subnet with "
                                              f"cidr: 10.1.0.128/25 for network: {nid} overlaps with another subnet.")
    other = net.make(demo_token, "networks", "network", name="other")
    assert net("POST", "/subnets", demo_token, {"subnet": {"network_id": other["id"], "ip_version": 4,
                                                           "cidr": "10.1.0.0/24"}})[0] == 201
    status, body = post(cidr="10.2.0.0/24", allocation_pools=[{"start": "10.2.0.1", "end": "10.2.0.10"}])
    assert status == 409 and _error(body)[0] == "GatewayConflictWithAllocationPools"
    status, body = post(cidr="10.3.0.0/24", allocation_pools=[{"start": "10.3.0.10", "end": "10.3.1.10"}])
    assert status == 400 and _error(body)[0] == "OutOfBoundsAllocationPool"
    status, body = post(cidr="10.4.0.0/24", allocation_pools=[{"start": "10.4.0.10", "end": "10.4.0.20"},
                                                              {"start": "10.4.0.15", "end": "10.4.0.30"}])
    assert status == 409 and _error(body)[0] == "OverlappingAllocationPools"
    ok = post(cidr="10.5.0.0/24", allocation_pools=[{"start": "10.5.0.10", "end": "10.5.0.20"}],
              dns_nameservers=["8.8.8.8"], host_routes=[{"destination": "10.9.0.0/16", "nexthop": "10.5.0.5"}])
    assert ok[0] == 201 and ok[1]["subnet"]["allocation_pools"] == [{"start": "10.5.0.10", "end": "10.5.0.20"}]
    status, body = post(cidr="10.6.0.0/24", dns_nameservers=["8.8.8.8", "8.8.8.8"])
    assert status == 400


def test_subnet_and_network_in_use(net, demo_token):
    network = net.make(demo_token, "networks", "network", name="n")
    subnet = net.make(demo_token, "subnets", "subnet", network_id=network["id"], ip_version=4, cidr="10.7.0.0/24")
    port = net.make(demo_token, "ports", "port", network_id=network["id"])
    status, body = net("DELETE", f"/subnets/{subnet['id']}", demo_token)
    assert status == 409 and _error(body)[0] == "SubnetInUse"
    status, body = net("DELETE", f"/networks/{network['id']}", demo_token)
    assert status == 409 and _error(body) == ("NetworkInUse", f"Unable to complete operation on network "
                                              f"{network['id']}. There are one or more ports still in use on the "
                                              "network.")
    assert net("DELETE", f"/ports/{port['id']}", demo_token)[0] == 204
    assert net("DELETE", f"/networks/{network['id']}", demo_token)[0] == 204
    assert net("GET", f"/subnets/{subnet['id']}", demo_token)[0] == 404


def test_admin_creates_for_another_project_members_may_not(net, admin_token, demo_token, cloud):
    demo_project = json.loads(cloud.request("GET", "/identity/v3/auth/projects", demo_token).text)["projects"][0]["id"]
    made = net.make(admin_token, "networks", "network", name="for-demo", project_id=demo_project)
    assert made["project_id"] == made["tenant_id"] == demo_project
    status, body = net("GET", f"/networks/{made['id']}", demo_token)
    assert status == 200 and body["network"]["name"] == "for-demo"
    status, body = net("POST", "/networks", demo_token, {"network": {"name": "x", "tenant_id": "0" * 32}})
    assert status == 403 and body["NeutronError"]["type"] == "PolicyNotAuthorized"
    status, body = net("POST", "/networks", demo_token, {"network": {"name": "x", "id": "0" * 32}})
    assert status == 400 and "read-only attribute id" in body["NeutronError"]["message"]


def test_slaac_subnets_give_each_port_its_eui64_address(net, demo_token):
    network = net.make(demo_token, "networks", "network", name="v6")
    v4 = net.make(demo_token, "subnets", "subnet", network_id=network["id"], ip_version=4, cidr="10.33.0.0/24")
    slaac = net.make(demo_token, "subnets", "subnet", network_id=network["id"], ip_version=6,
                     cidr="2001:db8:0:1::/64", ipv6_ra_mode="slaac", ipv6_address_mode="slaac")
    port = net.make(demo_token, "ports", "port", network_id=network["id"], mac_address="fa:16:3e:c5:02:23")
    v4_address = next(a["ip_address"] for a in port["fixed_ips"] if a["subnet_id"] == v4["id"])
    assert v4_address.startswith("10.33.0.")
    assert {(a["subnet_id"], a["ip_address"]) for a in port["fixed_ips"]} == {
        (v4["id"], v4_address), (slaac["id"], "2001:db8:0:1:f816:3eff:fec5:223")}
    status, body = net("POST", "/ports", demo_token, {"port": {"network_id": network["id"], "fixed_ips": [
        {"subnet_id": slaac["id"], "ip_address": "2001:db8:0:1::99"}]}})
    assert status == 400 and "configured for automatic addresses" in body["NeutronError"]["message"]


def test_slaac_subnet_added_and_removed_under_existing_ports(net, demo_token):
    network = net.make(demo_token, "networks", "network", name="late-v6")
    net.make(demo_token, "subnets", "subnet", network_id=network["id"], ip_version=4, cidr="10.34.0.0/24")
    port = net.make(demo_token, "ports", "port", network_id=network["id"], mac_address="fa:16:3e:00:00:07")
    slaac = net.make(demo_token, "subnets", "subnet", network_id=network["id"], ip_version=6,
                     cidr="2001:db8:0:2::/64", ipv6_ra_mode="slaac", ipv6_address_mode="slaac")
    status, body = net("GET", f"/ports/{port['id']}", demo_token)
    assert {"subnet_id": slaac["id"], "ip_address": "2001:db8:0:2:f816:3eff:fe00:7"} in body["port"]["fixed_ips"]
    assert net("DELETE", f"/subnets/{slaac['id']}", demo_token)[0] == 204  # SLAAC addresses go with it
    status, body = net("GET", f"/ports/{port['id']}", demo_token)
    assert [a["ip_address"] for a in body["port"]["fixed_ips"]] == [port["fixed_ips"][0]["ip_address"]]


@pytest.mark.parametrize("ra, address", [("dhcpv6-stateless", "dhcpv6-stateful"), ("slaac", "dhcpv6-stateless")])
def test_differing_ipv6_modes_are_refused(net, demo_token, ra, address):
    network = net.make(demo_token, "networks", "network", name="modes")
    status, body = net("POST", "/subnets", demo_token, {"subnet": {
        "network_id": network["id"], "ip_version": 6, "cidr": "2001:db8:0:3::/64",
        "ipv6_ra_mode": ra, "ipv6_address_mode": address}})
    assert status == 400 and "they must be the same value" in body["NeutronError"]["message"]


def test_deleting_an_external_network_takes_its_free_floating_ips(net, admin_token):
    external = net.make(admin_token, "networks", "network", name="ext2", **{"router:external": True})
    net.make(admin_token, "subnets", "subnet", network_id=external["id"], ip_version=4, cidr="203.0.113.0/24",
             enable_dhcp=False)
    fip = net.make(admin_token, "floatingips", "floatingip", floating_network_id=external["id"])
    assert net("DELETE", f"/networks/{external['id']}", admin_token)[0] == 204
    assert net("GET", f"/floatingips/{fip['id']}", admin_token)[0] == 404


def test_an_external_network_in_use_keeps_its_floating_ips_on_the_backend(cloud, net, admin_token, monkeypatch):
    """NetworkInUse is decided before any floating IP is taken off the backend."""
    external = net.make(admin_token, "networks", "network", name="ext3", **{"router:external": True})
    net.make(admin_token, "subnets", "subnet", network_id=external["id"], ip_version=4, cidr="203.0.114.0/24",
             enable_dhcp=False)
    fip = net.make(admin_token, "floatingips", "floatingip", floating_network_id=external["id"])
    net.make(admin_token, "ports", "port", network_id=external["id"])
    removed: list[str] = []
    driver = cloud.app.network.driver
    monkeypatch.setattr(driver, "remove_floating_ip", lambda ctx, ref: removed.append(ref.id))
    status, body = net("DELETE", f"/networks/{external['id']}", admin_token)
    assert status == 409 and body["NeutronError"]["type"] == "NetworkInUse"
    settle(cloud)  # the refusal rolled back the records and the operations that would have removed them
    assert removed == [] and net("GET", f"/floatingips/{fip['id']}", admin_token)[0] == 200


def test_a_router_interface_on_a_slaac_subnet_takes_its_gateway_and_holds_the_subnet(net, demo_token):
    network = net.make(demo_token, "networks", "network", name="v6-routed")
    slaac = net.make(demo_token, "subnets", "subnet", network_id=network["id"], ip_version=6,
                     cidr="2001:db8:0:7::/64", ipv6_ra_mode="slaac", ipv6_address_mode="slaac")
    router = net.make(demo_token, "routers", "router", name="r-v6")
    status, body = net("PUT", f"/routers/{router['id']}/add_router_interface", demo_token, {"subnet_id": slaac["id"]})
    assert status == 200, body
    _, port = net("GET", f"/ports/{body['port_id']}", demo_token)
    assert port["port"]["fixed_ips"] == [{"subnet_id": slaac["id"], "ip_address": slaac["gateway_ip"]}]
    status, body = net("DELETE", f"/subnets/{slaac['id']}", demo_token)
    assert status == 409 and body["NeutronError"]["type"] == "SubnetInUse"
