"""Servers on Neutron: ports made by the build, addresses from ports and floating IPs, the
networks a create may ask for and Nova's faults for the ones it may not."""

from __future__ import annotations

import ipaddress

import pytest

from tests.compute.conftest import IMAGE_ID, Nova, check


def _network(net, token, name):  # noqa: ANN001, ANN202
    status, body = net("GET", f"/networks?name={name}", token)
    assert status == 200 and body["networks"], body
    return body["networks"][0]


def _ports(net, token, server_id):  # noqa: ANN001, ANN202
    status, body = net("GET", f"/ports?device_id={server_id}", token)
    assert status == 200
    return body["ports"]


def _fault(resp, status: int, kind: str = "badRequest") -> str:  # noqa: ANN001
    assert resp.status_code == status, resp.text
    return resp.json[kind]["message"]


def test_default_network_gives_the_server_a_port_and_its_address(nova, net):
    private = _network(net, nova.token, "private")
    sid = nova.create("one").json["server"]["id"]
    server = nova.req("GET", f"/servers/{sid}").json["server"]
    [port] = _ports(net, nova.token, sid)
    assert port["network_id"] == private["id"] and port["device_owner"] == "compute:nova"
    assert port["status"] == "ACTIVE" and port["security_groups"]
    [address] = server["addresses"]["private"]
    assert address["addr"] == port["fixed_ips"][0]["ip_address"]
    assert address["OS-EXT-IPS:type"] == "fixed" and address["OS-EXT-IPS-MAC:mac_addr"] == port["mac_address"]
    assert ipaddress.ip_address(address["addr"]) in ipaddress.ip_network("10.0.0.0/26")
    ips = nova.req("GET", f"/servers/{sid}/ips")
    check(ips, "list_addresses")
    assert ips.json["addresses"]["private"][0]["addr"] == address["addr"]
    listed = nova.req("GET", f"/servers/detail?ip={address['addr'].replace('.', '[.]')}$").json["servers"]
    assert [s["id"] for s in listed] == [sid]

    assert nova.req("DELETE", f"/servers/{sid}").status_code == 204
    nova.wait(sid, "GONE")
    assert _ports(net, nova.token, sid) == []


def test_networks_none_and_a_fixed_ip(nova, net):
    none = nova.create("isolated", version="2.37", networks="none").json["server"]["id"]
    assert nova.req("GET", f"/servers/{none}").json["server"]["addresses"] == {}
    assert _ports(net, nova.token, none) == []

    private = _network(net, nova.token, "private")
    sid = nova.create("fixed", networks=[{"uuid": private["id"], "fixed_ip": "10.0.0.40"}]).json["server"]["id"]
    assert [a["addr"] for a in nova.req("GET", f"/servers/{sid}").json["server"]["addresses"]["private"]] == [
        "10.0.0.40"]
    taken = nova.req("POST", "/servers", json={"server": {
        "name": "again", "flavorRef": "1", "imageRef": IMAGE_ID,
        "networks": [{"uuid": private["id"], "fixed_ip": "10.0.0.40"}]}})
    assert "10.0.0.40" in _fault(taken, 400)


def test_a_port_the_user_made_is_used_and_kept(nova, net):
    private = _network(net, nova.token, "private")
    port = net.make(nova.token, "ports", "port", network_id=private["id"], name="mine")
    sid = nova.create("on-port", networks=[{"port": port["id"]}]).json["server"]["id"]
    [bound] = _ports(net, nova.token, sid)
    assert bound["id"] == port["id"] and bound["device_owner"] == "compute:nova"
    assert nova.req("GET", f"/servers/{sid}").json["server"]["addresses"]["private"][0]["addr"] == \
        port["fixed_ips"][0]["ip_address"]

    in_use = nova.req("POST", "/servers", json={"server": {"name": "x", "flavorRef": "1", "imageRef": IMAGE_ID,
                                                           "networks": [{"port": port["id"]}]}})
    assert _fault(in_use, 409, "conflictingRequest") == f"Port {port['id']} is still in use."

    assert nova.req("DELETE", f"/servers/{sid}").status_code == 204
    nova.wait(sid, "GONE")
    status, kept = net("GET", f"/ports/{port['id']}", nova.token)
    assert status == 200 and kept["port"]["device_id"] == "" and kept["port"]["device_owner"] == ""


@pytest.mark.parametrize("networks, message", [
    ([{"uuid": "not-a-uuid"}], "Bad networks format: network uuid is not in proper format (not-a-uuid)"),
    ([{"uuid": "6f3c2b34-3c1d-4d5e-9f0a-00000000dead"}],
     "Network 6f3c2b34-3c1d-4d5e-9f0a-00000000dead could not be found."),
    ([{"port": "6f3c2b34-3c1d-4d5e-9f0a-00000000beef"}],
     "Port 6f3c2b34-3c1d-4d5e-9f0a-00000000beef could not be found."),
])
def test_bad_networks_are_refused_before_anything_is_made(nova, networks, message):
    resp = nova.req("POST", "/servers", json={"server": {"name": "bad", "flavorRef": "1", "imageRef": IMAGE_ID,
                                                         "networks": networks}})
    assert _fault(resp, 400) == message
    assert nova.req("GET", "/servers").json["servers"] == []


def test_fixed_ip_outside_the_network_and_with_max_count(nova, net):
    private = _network(net, nova.token, "private")
    base = {"name": "bad", "flavorRef": "1", "imageRef": IMAGE_ID}
    outside = nova.req("POST", "/servers", json={"server": {
        **base, "networks": [{"uuid": private["id"], "fixed_ip": "192.168.9.9"}]}})
    assert "192.168.9.9" in _fault(outside, 400)
    many = nova.req("POST", "/servers", json={"server": {
        **base, "max_count": 2, "networks": [{"uuid": private["id"], "fixed_ip": "10.0.0.30"}]}})
    assert _fault(many, 400) == "max_count cannot be greater than 1 if an fixed_ip is specified."


def test_two_networks_to_choose_from_is_ambiguous(nova, net):
    other = net.make(nova.token, "networks", "network", name="second")
    net.make(nova.token, "subnets", "subnet", network_id=other["id"], cidr="10.9.0.0/24", ip_version=4)
    resp = nova.req("POST", "/servers", json={"server": {"name": "which", "flavorRef": "1", "imageRef": IMAGE_ID}})
    assert _fault(resp, 409, "conflictingRequest") == \
        "Multiple possible networks found, use a Network ID to be more specific."
    both = nova.create("both", networks=[{"uuid": other["id"]}, {"uuid": _network(net, nova.token, "private")["id"]}])
    addresses = nova.req("GET", f"/servers/{both.json['server']['id']}").json["server"]["addresses"]
    assert set(addresses) == {"second", "private"}


def test_a_project_without_networks(compute, ops, cloud, net, admin_token):
    alt = Nova(compute, cloud.token("alt_demo", "alt_demo"))
    sid = alt.create("legacy").json["server"]["id"]  # before 2.37: no network at all is fine
    assert alt.req("GET", f"/servers/{sid}").json["server"]["addresses"] == {}
    # without a default external network Neutron cannot auto-allocate: Nova's 400
    public = _network(net, admin_token, "public")
    assert net("PUT", f"/networks/{public['id']}", admin_token, {"network": {"is_default": False}})[0] == 200
    auto = {"server": {"name": "auto", "flavorRef": "1", "imageRef": IMAGE_ID, "networks": "auto"}}
    resp = alt.req("POST", "/servers", "2.37", json=auto)
    assert _fault(resp, 400).startswith("Unable to automatically allocate a network for project")
    assert [n["id"] for n in net("GET", "/networks", alt.token)[1]["networks"]] == [public["id"]]  # nothing made
    # with one, "auto" (2.37) gets the project's auto-allocated topology; three servers, one network
    assert net("PUT", f"/networks/{public['id']}", admin_token, {"network": {"is_default": True}})[0] == 200
    resp = alt.req("POST", "/servers", "2.37", json={"server": {**auto["server"], "min_count": 3}})
    assert resp.status_code == 202, resp.text
    servers = [s for s in alt.req("GET", "/servers/detail").json["servers"] if s["name"].startswith("auto")]
    assert len(servers) == 3
    for server in servers:
        alt.wait(server["id"], "ACTIVE")
        assert list(alt.req("GET", f"/servers/{server['id']}").json["server"]["addresses"]) == [
            "auto_allocated_network"]
    topology = net("GET", "/auto-allocated-topology/None", alt.token)[1]["auto_allocated_topology"]
    owned = [n for n in net("GET", "/networks", alt.token)[1]["networks"] if not n["router:external"]]
    assert [(n["id"], n["name"], n["admin_state_up"]) for n in owned] == [
        (topology["id"], "auto_allocated_network", True)]


def test_floating_ip_shows_in_the_server_addresses(nova, net):
    sid = nova.create("floating").json["server"]["id"]
    [port] = _ports(net, nova.token, sid)
    public = _network(net, nova.token, "public")
    fip = net.make(nova.token, "floatingips", "floatingip", floating_network_id=public["id"])
    status, _ = net("PUT", f"/floatingips/{fip['id']}", nova.token, {"floatingip": {"port_id": port["id"]}})
    assert status == 200
    addresses = nova.req("GET", f"/servers/{sid}").json["server"]["addresses"]["private"]
    assert [(a["addr"], a["OS-EXT-IPS:type"]) for a in addresses] == [
        (port["fixed_ips"][0]["ip_address"], "fixed"), (fip["floating_ip_address"], "floating")]
    assert [s["id"] for s in nova.req("GET", f"/servers/detail?ip={fip['floating_ip_address']}").json["servers"]] \
        == [sid]

    status, _ = net("PUT", f"/floatingips/{fip['id']}", nova.token, {"floatingip": {"port_id": None}})
    assert status == 200
    assert [a["OS-EXT-IPS:type"] for a in nova.req("GET", f"/servers/{sid}").json["server"]["addresses"]["private"]] \
        == ["fixed"]
    net("PUT", f"/floatingips/{fip['id']}", nova.token, {"floatingip": {"port_id": port["id"]}})
    assert net("DELETE", f"/floatingips/{fip['id']}", nova.token)[0] == 204
    assert len(nova.req("GET", f"/servers/{sid}").json["server"]["addresses"]["private"]) == 1


def test_an_exhausted_network_fails_the_build_and_leaves_no_port(nova, net):
    tiny = net.make(nova.token, "networks", "network", name="tiny")
    net.make(nova.token, "subnets", "subnet", network_id=tiny["id"], cidr="10.8.0.0/30", ip_version=4)
    first = nova.create("fits", networks=[{"uuid": tiny["id"]}]).json["server"]["id"]
    assert len(_ports(net, nova.token, first)) == 1
    second = nova.create("full", networks=[{"uuid": tiny["id"]}], wait="ERROR").json["server"]["id"]
    server = nova.req("GET", f"/servers/{second}").json["server"]
    assert "Failed to allocate the network(s)" in server["fault"]["message"]
    assert _ports(net, nova.token, second) == []


def test_security_groups_must_exist_and_apply_to_the_ports(nova, net):
    resp = nova.req("POST", "/servers", json={"server": {"name": "sg", "flavorRef": "1", "imageRef": IMAGE_ID,
                                                         "security_groups": [{"name": "nope"}]}})
    assert _fault(resp, 400) == "Security group nope not found."
    web = net.make(nova.token, "security-groups", "security_group", name="web")
    sid = nova.create("sg", security_groups=[{"name": "web"}]).json["server"]["id"]
    [port] = _ports(net, nova.token, sid)
    assert port["security_groups"] == [web["id"]]


def test_a_group_shared_with_the_project_is_found_by_name(nova, net, cloud):
    """A security group another project shares with this one (RBAC ``access_as_shared``) is
    found by its name, as Nova finds it (its own and the shared groups, the
    ``security-groups-shared-filtering`` way): on create and in ``addSecurityGroup``."""
    alt = Nova(cloud, cloud.token("alt_demo", "alt_demo"))
    own_net = net.make(alt.token, "networks", "network", name="alt-net")  # where its servers get ports
    net.make(alt.token, "subnets", "subnet", network_id=own_net["id"], ip_version=4, cidr="10.77.0.0/24")
    alt_project = own_net["project_id"]
    shared = net.make(nova.token, "security-groups", "security_group", name="shared-web")
    resp = alt.req("POST", "/servers", json={"server": {"name": "sg", "flavorRef": "1", "imageRef": IMAGE_ID,
                                                        "security_groups": [{"name": "shared-web"}]}})
    assert _fault(resp, 400) == "Security group shared-web not found."  # not shared yet
    status, body = net("POST", "/rbac-policies", nova.token, {"rbac_policy": {
        "object_type": "security_group", "object_id": shared["id"], "action": "access_as_shared",
        "target_tenant": alt_project}})
    assert status == 201, body
    sid = alt.create("sg", security_groups=[{"name": "shared-web"}]).json["server"]["id"]
    [port] = _ports(net, alt.token, sid)
    assert port["security_groups"] == [shared["id"]]
    assert alt.req("GET", f"/servers/{sid}").json["server"]["security_groups"] == [{"name": "shared-web"}]
    other = alt.create("plain").json["server"]["id"]
    assert alt.action(other, {"addSecurityGroup": {"name": "shared-web"}}).status_code == 202
    [port] = _ports(net, alt.token, other)
    assert shared["id"] in port["security_groups"]
    # the project's own group of that name comes first
    own = net.make(alt.token, "security-groups", "security_group", name="shared-web")
    mine = alt.create("own", security_groups=[{"name": "shared-web"}]).json["server"]["id"]
    [port] = _ports(net, alt.token, mine)
    assert port["security_groups"] == [own["id"]]


def test_another_projects_network_is_not_found(nova, net, cloud):
    alt = cloud.token("alt_demo", "alt_demo")
    theirs = net.make(alt, "networks", "network", name="theirs")
    net.make(alt, "subnets", "subnet", network_id=theirs["id"], cidr="10.7.0.0/24", ip_version=4)
    resp = nova.req("POST", "/servers", json={"server": {"name": "x", "flavorRef": "1", "imageRef": IMAGE_ID,
                                                         "networks": [{"uuid": theirs["id"]}]}})
    assert _fault(resp, 400) == f"Network {theirs['id']} could not be found."


def test_interface_attach_list_show_detach(nova, net):
    from tempest.lib.api_schema.response.compute.v2_1 import interfaces as schema

    sid = nova.create("plug").json["server"]["id"]
    listed = nova.req("GET", f"/servers/{sid}/os-interface")
    check(listed, "list_interfaces", module=schema)
    [first] = listed.json["interfaceAttachments"]
    other = net.make(nova.token, "networks", "network", name="extra")
    subnet = net.make(nova.token, "subnets", "subnet", network_id=other["id"], cidr="10.6.0.0/24", ip_version=4)

    made = nova.req("POST", f"/servers/{sid}/os-interface", json={"interfaceAttachment": {
        "net_id": other["id"], "fixed_ips": [{"ip_address": "10.6.0.9"}]}})
    check(made, "get_create_interfaces", module=schema)
    attachment = made.json["interfaceAttachment"]
    assert attachment["net_id"] == other["id"] and attachment["fixed_ips"] == [
        {"subnet_id": subnet["id"], "ip_address": "10.6.0.9"}]
    nova.wait(sid, "ACTIVE")
    shown = nova.req("GET", f"/servers/{sid}/os-interface/{attachment['port_id']}")
    check(shown, "get_create_interfaces", module=schema)
    assert "10.6.0.9" in [a["addr"] for a in nova.req("GET", f"/servers/{sid}").json["server"]["addresses"]["extra"]]
    events = nova.req("GET", f"/servers/{sid}/os-instance-actions").json["instanceActions"]
    assert "attach_interface" in [e["action"] for e in events]

    mine = net.make(nova.token, "ports", "port", network_id=other["id"])
    assert nova.req("POST", f"/servers/{sid}/os-interface",
                    json={"interfaceAttachment": {"port_id": mine["id"]}}).status_code == 200
    nova.wait(sid, "ACTIVE")
    assert len(nova.req("GET", f"/servers/{sid}/os-interface").json["interfaceAttachments"]) == 3

    for port_id in (attachment["port_id"], mine["id"]):
        assert nova.req("DELETE", f"/servers/{sid}/os-interface/{port_id}").status_code == 202
    nova.wait(sid, "ACTIVE")
    assert [p["port_id"] for p in nova.req("GET", f"/servers/{sid}/os-interface").json["interfaceAttachments"]] == [
        first["port_id"]]
    assert net("GET", f"/ports/{attachment['port_id']}", nova.token)[0] == 404  # Nova made it: deleted
    assert net("GET", f"/ports/{mine['id']}", nova.token)[1]["port"]["device_id"] == ""  # the user's: kept
    assert set(nova.req("GET", f"/servers/{sid}").json["server"]["addresses"]) == {"private"}


def test_interface_faults(nova, net):
    sid = nova.create("faults").json["server"]["id"]
    url = f"/servers/{sid}/os-interface"
    missing = "6f3c2b34-3c1d-4d5e-9f0a-00000000beef"
    assert _fault(nova.req("POST", url, json={"interfaceAttachment": {"port_id": missing}}), 404, "itemNotFound") \
        == f"Port {missing} could not be found."
    assert nova.req("POST", url, json={"interfaceAttachment": {"net_id": missing}}).status_code == 404
    private = _network(net, nova.token, "private")
    both = nova.req("POST", url, json={"interfaceAttachment": {"net_id": private["id"], "port_id": missing}})
    assert _fault(both, 400) == "Must not input both network_id and port_id"
    assert _fault(nova.req("GET", f"{url}/{missing}"), 404, "itemNotFound") == \
        f"Instance {sid} does not have a port with id {missing}"
    assert nova.req("DELETE", f"{url}/{missing}").status_code == 404
    in_use = _ports(net, nova.token, sid)[0]
    assert nova.req("POST", url, json={"interfaceAttachment": {"port_id": in_use["id"]}}).status_code == 409
    assert nova.action(sid, {"os-stop": None}).status_code == 202
    nova.wait(sid, "SHUTOFF")
    assert nova.action(sid, {"pause": None}).status_code == 409
    assert nova.action(sid, {"lock": None}).status_code == 202
    locked = nova.req("POST", url, json={"interfaceAttachment": {}})
    assert locked.status_code == 409 and "locked" in locked.text


def test_server_security_groups_follow_its_ports(nova, net):
    web = net.make(nova.token, "security-groups", "security_group", name="web")
    db = net.make(nova.token, "security-groups", "security_group", name="db")
    sid = nova.create("follows", security_groups=[{"name": "web"}]).json["server"]["id"]
    assert nova.req("GET", f"/servers/{sid}").json["server"]["security_groups"] == [{"name": "web"}]
    [port] = _ports(net, nova.token, sid)
    status, _ = net("PUT", f"/ports/{port['id']}", nova.token, {"port": {"security_groups": [db["id"], web["id"]]}})
    assert status == 200
    assert nova.req("GET", f"/servers/{sid}").json["server"]["security_groups"] == [{"name": "db"}, {"name": "web"}]
    status, _ = net("PUT", f"/ports/{port['id']}", nova.token, {"port": {"security_groups": [db["id"]]}})
    assert status == 200
    assert nova.req("GET", f"/servers/{sid}").json["server"]["security_groups"] == [{"name": "db"}]
    listed = nova.req("GET", f"/servers/{sid}/os-security-groups").json["security_groups"]
    assert [g["name"] for g in listed] == ["db"]


def test_interface_tags_are_kept_and_shown_from_2_70(nova, net):
    private = _network(net, nova.token, "private")
    sid = nova.create("tagged", version="2.42", networks=[{"uuid": private["id"], "tag": "boot"}]).json["server"]["id"]
    url = f"/servers/{sid}/os-interface"
    [booted] = nova.req("GET", url, "2.70").json["interfaceAttachments"]
    assert booted["tag"] == "boot"
    assert "tag" not in nova.req("GET", f"{url}/{booted['port_id']}", "2.69").json["interfaceAttachment"]

    other = net.make(nova.token, "networks", "network", name="tagged-extra")
    net.make(nova.token, "subnets", "subnet", network_id=other["id"], cidr="10.5.0.0/24", ip_version=4)
    made = nova.req("POST", url, "2.70", json={"interfaceAttachment": {"net_id": other["id"], "tag": "extra"}})
    assert made.status_code == 200, made.text
    attachment = made.json["interfaceAttachment"]
    assert attachment["tag"] == "extra"
    nova.wait(sid, "ACTIVE")
    assert nova.req("GET", f"{url}/{attachment['port_id']}", "2.70").json["interfaceAttachment"]["tag"] == "extra"
    mine = net.make(nova.token, "ports", "port", network_id=other["id"])
    plugged = nova.req("POST", url, "2.70", json={"interfaceAttachment": {"port_id": mine["id"]}})
    assert plugged.status_code == 200 and plugged.json["interfaceAttachment"]["tag"] is None
    nova.wait(sid, "ACTIVE")
    assert {a["port_id"]: a["tag"] for a in nova.req("GET", url, "2.70").json["interfaceAttachments"]} == {
        booted["port_id"]: "boot", attachment["port_id"]: "extra", mine["id"]: None}

    assert nova.req("DELETE", f"{url}/{mine['id']}").status_code == 202
    nova.wait(sid, "ACTIVE")
    again = nova.req("POST", url, "2.70", json={"interfaceAttachment": {"port_id": mine["id"], "tag": "again"}})
    assert again.status_code == 200 and again.json["interfaceAttachment"]["tag"] == "again"


def test_every_port_nova_makes_gets_the_groups_asked_for(nova, net):
    private = _network(net, nova.token, "private")
    web = net.make(nova.token, "security-groups", "security_group", name="web")
    db = net.make(nova.token, "security-groups", "security_group", name="db")
    mine = net.make(nova.token, "ports", "port", network_id=private["id"], security_groups=[db["id"]])
    sid = nova.create("two-nics", security_groups=[{"name": "web"}],
                      networks=[{"port": mine["id"]}, {"uuid": private["id"]}]).json["server"]["id"]
    groups = {p["id"]: p["security_groups"] for p in _ports(net, nova.token, sid)}
    assert groups.pop(mine["id"]) == [db["id"]] and list(groups.values()) == [[web["id"]]]
    shown = nova.req("GET", f"/servers/{sid}").json["server"]["security_groups"]
    assert sorted(g["name"] for g in shown) == ["db", "web"]
