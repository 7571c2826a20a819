"""The ``trunk`` extension as the api-ref gives it: trunks, subports (vlan and inherit), Neutron's
409s, status following the parent port's binding, the ``trunk`` quota, tags and revisions."""

from __future__ import annotations

from netwait import wait_status


def _ports(net, token, network_id, count):  # noqa: ANN001
    return [net.make(token, "ports", "port", network_id=network_id)["id"] for _ in range(count)]


def _network(net, token, cidr="10.40.0.0/24"):  # noqa: ANN001
    network = net.make(token, "networks", "network", name="trunked")
    net.make(token, "subnets", "subnet", network_id=network["id"], cidr=cidr, ip_version=4)
    return network


def test_trunk_lifecycle_and_subports(net, demo_token):
    network = _network(net, demo_token)
    parent, a, b, c = _ports(net, demo_token, network["id"], 4)
    status, body = net("POST", "/trunks", demo_token, {"trunk": {
        "port_id": parent, "name": "t1", "sub_ports": [
            {"port_id": a, "segmentation_type": "vlan", "segmentation_id": 100}]}})
    assert status == 201, body
    trunk = body["trunk"]
    assert trunk["status"] == "DOWN" and trunk["admin_state_up"] is True and trunk["port_id"] == parent
    assert trunk["sub_ports"] == [{"port_id": a, "segmentation_type": "vlan", "segmentation_id": 100}]
    assert trunk["revision_number"] == 0 and trunk["tags"] == [] and trunk["project_id"] == network["project_id"]
    base = f"/trunks/{trunk['id']}"
    port_a = net("GET", f"/ports/{a}", demo_token)[1]["port"]
    assert port_a["device_owner"] == "trunk:subport" and port_a["device_id"] == trunk["id"]

    status, body = net("PUT", f"{base}/add_subports", demo_token, {"sub_ports": [
        {"port_id": b, "segmentation_type": "vlan", "segmentation_id": 101}]})
    assert status == 200, body
    assert [s["port_id"] for s in body["sub_ports"]] == [a, b] and body["revision_number"] == 1
    assert net("GET", f"{base}/get_subports", demo_token)[1] == {"sub_ports": body["sub_ports"]}
    # Neutron's conflicts
    status, body = net("PUT", f"{base}/add_subports", demo_token, {"sub_ports": [
        {"port_id": c, "segmentation_type": "vlan", "segmentation_id": 101}]})
    assert status == 409 and body["NeutronError"]["type"] == "DuplicateSubPort"
    status, body = net("PUT", f"{base}/add_subports", demo_token, {"sub_ports": [
        {"port_id": a, "segmentation_type": "vlan", "segmentation_id": 200}]})
    assert status == 409 and body["NeutronError"]["type"] == "TrunkPortInUse"
    status, body = net("POST", "/trunks", demo_token, {"trunk": {"port_id": parent}})
    assert status == 409 and body["NeutronError"]["type"] == "TrunkPortInUse"
    status, body = net("POST", "/trunks", demo_token, {"trunk": {"port_id": a}})
    assert status == 409 and body["NeutronError"]["type"] == "TrunkPortInUse"
    status, body = net("PUT", f"{base}/add_subports", demo_token, {"sub_ports": [
        {"port_id": c, "segmentation_type": "vlan", "segmentation_id": 5000}]})
    assert status == 400 and "segmentation_id" in body["NeutronError"]["message"]
    status, body = net("PUT", f"{base}/add_subports", demo_token, {"sub_ports": [
        {"port_id": c, "segmentation_type": "vxlan", "segmentation_id": 5}]})
    assert status == 400 and "segmentation_type" in body["NeutronError"]["message"]
    for port in (parent, a):
        status, body = net("DELETE", f"/ports/{port}", demo_token)
        assert status == 409 and body["NeutronError"]["type"] in ("PortInUseAsTrunkParent", "PortInUseAsSubPort")
    # nothing half-made by the refused requests
    assert len(net("GET", f"{base}/get_subports", demo_token)[1]["sub_ports"]) == 2
    assert net("GET", f"/ports/{c}", demo_token)[1]["port"]["device_owner"] == ""

    status, body = net("PUT", f"{base}/remove_subports", demo_token, {"sub_ports": [{"port_id": a}]})
    assert status == 200 and [s["port_id"] for s in body["sub_ports"]] == [b]
    assert net("GET", f"/ports/{a}", demo_token)[1]["port"]["device_owner"] == ""
    status, body = net("PUT", f"{base}/remove_subports", demo_token, {"sub_ports": [{"port_id": a}]})
    assert status == 404 and body["NeutronError"]["type"] == "SubPortNotFound"
    # disabled: no subport changes
    status, body = net("PUT", base, demo_token, {"trunk": {"admin_state_up": False, "name": "t2"}})
    assert status == 200 and body["trunk"]["name"] == "t2"
    status, body = net("PUT", f"{base}/add_subports", demo_token, {"sub_ports": [
        {"port_id": c, "segmentation_type": "vlan", "segmentation_id": 300}]})
    assert status == 409 and body["NeutronError"]["type"] == "TrunkDisabled"
    status, body = net("PUT", base, demo_token, {"trunk": {"port_id": c}})
    assert status == 400
    # tags and filters
    assert net("PUT", f"{base}/tags/blue", demo_token)[0] == 201
    listed = net("GET", "/trunks?tags=blue", demo_token)[1]["trunks"]
    assert [t["id"] for t in listed] == [trunk["id"]]
    assert [t["id"] for t in net("GET", f"/trunks?port_id={parent}", demo_token)[1]["trunks"]] == [trunk["id"]]
    assert net("DELETE", base, demo_token)[0] == 204
    assert net("GET", base, demo_token)[0] == 404
    assert net("GET", f"/ports/{b}", demo_token)[1]["port"]["device_owner"] == ""
    assert net("DELETE", f"/ports/{parent}", demo_token)[0] == 204


def test_another_projects_trunk_and_ports_are_not_found(net, demo_token, other):
    other_token = other[0]
    network = _network(net, demo_token, "10.41.0.0/24")
    parent, = _ports(net, demo_token, network["id"], 1)
    trunk = net.make(demo_token, "trunks", "trunk", port_id=parent)
    status, body = net("GET", f"/trunks/{trunk['id']}", other_token)
    assert status == 404 and body["NeutronError"]["type"] == "TrunkNotFound"
    assert net("GET", "/trunks", other_token)[1]["trunks"] == []
    status, body = net("POST", "/trunks", other_token, {"trunk": {"port_id": parent}})
    assert status == 404 and body["NeutronError"]["type"] == "PortNotFound"


def test_inherit_takes_the_networks_segment_and_quota_key(net, admin_token, demo_token):
    vlan = net.make(admin_token, "networks", "network", name="vlan7", **{
        "provider:network_type": "vlan", "provider:physical_network": "physnet1", "provider:segmentation_id": 7})
    net.make(admin_token, "subnets", "subnet", network_id=vlan["id"], cidr="10.42.0.0/24", ip_version=4)
    network = _network(net, admin_token, "10.43.0.0/24")
    parent, = _ports(net, admin_token, network["id"], 1)
    sub, = _ports(net, admin_token, vlan["id"], 1)
    status, body = net("POST", "/trunks", admin_token, {"trunk": {"port_id": parent, "sub_ports": [
        {"port_id": sub, "segmentation_type": "inherit"}]}})
    assert status == 201, body
    assert body["trunk"]["sub_ports"] == [{"port_id": sub, "segmentation_type": "inherit", "segmentation_id": 7}]
    status, body = net("GET", f"/quotas/{network['project_id']}", admin_token)
    assert status == 200 and body["quota"]["trunk"] == -1
    status, body = net("PUT", f"/quotas/{network['project_id']}", admin_token, {"quota": {"trunk": 1}})
    assert status == 200 and body["quota"]["trunk"] == 1
    another, = _ports(net, admin_token, network["id"], 1)
    status, body = net("POST", "/trunks", admin_token, {"trunk": {"port_id": another}})
    assert status == 409 and body["NeutronError"]["type"] == "OverQuota"
    status, body = net("GET", "/extensions/trunk", demo_token)
    assert status == 200 and body["extension"]["alias"] == "trunk"


def test_status_follows_the_parent_ports_binding_and_a_bound_trunk_stays(net, demo_token):
    network = _network(net, demo_token, "10.44.0.0/24")
    parent, = _ports(net, demo_token, network["id"], 1)
    trunk = net.make(demo_token, "trunks", "trunk", port_id=parent)
    assert trunk["status"] == "DOWN"
    # a server takes the parent port: once the backend has bound it, the trunk is ACTIVE
    assert net("PUT", f"/ports/{parent}", demo_token, {"port": {
        "device_owner": "compute:nova", "device_id": "a-server"}})[0] == 200
    wait_status(net, demo_token, f"/ports/{parent}", "port", "ACTIVE")
    assert net("GET", f"/trunks/{trunk['id']}", demo_token)[1]["trunk"]["status"] == "ACTIVE"
    status, body = net("DELETE", f"/trunks/{trunk['id']}", demo_token)
    assert status == 409 and body["NeutronError"]["type"] == "TrunkInUse"
    assert net("PUT", f"/ports/{parent}", demo_token, {"port": {"device_owner": "", "device_id": ""}})[0] == 200
    wait_status(net, demo_token, f"/ports/{parent}", "port", "DOWN")
    assert net("GET", f"/trunks/{trunk['id']}", demo_token)[1]["trunk"]["status"] == "DOWN"
    assert net("DELETE", f"/trunks/{trunk['id']}", demo_token)[0] == 204
