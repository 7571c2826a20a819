"""The ``agent`` and ``dhcp_agent_scheduler`` extensions: the agents of a region come from its
network driver (docs/decisions/0064-network-agents.md), are the admin's alone, and a network with
a DHCP-enabled subnet is served by the region's DHCP agent."""

from __future__ import annotations

import dataclasses

from overcast.core.network import agents
from overcast.drivers.network import Capability


def _agents(net, token, query=""):  # noqa: ANN001
    status, body = net("GET", f"/agents{query}", token)
    assert status == 200, body
    return body["agents"]


def test_the_agents_are_the_drivers_and_the_admins(cloud, net, admin_token, demo_token, reader_token):
    core = cloud.app.network
    driver = core.clouds[core.region]
    assert Capability.ROUTERS in driver.network.capabilities
    listed = _agents(net, admin_token)
    assert sorted(a["agent_type"] for a in listed) == ["DHCP agent", "L3 agent", "Open vSwitch agent"]
    assert {a["host"] for a in listed} == {driver.name}
    assert all(a["alive"] and a["admin_state_up"] for a in listed)
    assert {a["binary"] for a in listed} == {"neutron-dhcp-agent", "neutron-l3-agent", "neutron-openvswitch-agent"}
    # ids are stable from one read to the next
    assert sorted(a["id"] for a in _agents(net, admin_token)) == sorted(a["id"] for a in listed)
    # Tempest asks for "DHCP Agent": compared regardless of case, as on DevStack's MySQL
    assert [a["agent_type"] for a in _agents(net, admin_token, "?agent_type=DHCP%20Agent")] == ["DHCP agent"]
    assert [a["binary"] for a in _agents(net, admin_token, "?binary=neutron-l3-agent&fields=binary")] == [
        "neutron-l3-agent"]
    # anyone else lists none and finds none
    assert _agents(net, reader_token) == [] and _agents(net, demo_token) == []
    one = listed[0]["id"]
    status, body = net("GET", f"/agents/{one}", demo_token)
    assert status == 404 and body["NeutronError"]["type"] == "AgentNotFound"
    assert net("PUT", f"/agents/{one}", demo_token, {"agent": {"description": "x"}})[0] == 404
    assert net("POST", "/agents", admin_token, {"agent": {}})[0] == 405
    status, body = net("GET", "/extensions/agent", demo_token)
    assert status == 200 and body["extension"]["alias"] == "agent"


def test_admin_updates_and_deletes_an_agent(net, admin_token):
    l3 = _agents(net, admin_token, "?agent_type=L3%20agent")[0]
    status, body = net("PUT", f"/agents/{l3['id']}", admin_token,
                       {"agent": {"admin_state_up": False, "description": "drained"}})
    assert status == 200, body
    assert body["agent"]["admin_state_up"] is False and body["agent"]["description"] == "drained"
    assert net("GET", f"/agents/{l3['id']}", admin_token)[1]["agent"]["description"] == "drained"
    status, body = net("PUT", f"/agents/{l3['id']}", admin_token, {"agent": {"host": "elsewhere"}})
    assert status == 400 and "host" in body["NeutronError"]["message"]
    assert net("DELETE", f"/agents/{l3['id']}", admin_token)[0] == 204
    assert net("GET", f"/agents/{l3['id']}", admin_token)[0] == 404
    # a live agent reports again: it is back, with a new id
    again = _agents(net, admin_token, "?agent_type=L3%20agent")
    assert len(again) == 1 and again[0]["id"] != l3["id"] and again[0]["admin_state_up"] is True


def test_dhcp_scheduler_as_tempest_drives_it(net, admin_token, demo_token):
    dhcp = _agents(net, admin_token, "?agent_type=DHCP%20agent")[0]
    network = net.make(demo_token, "networks", "network", name="served")
    hosted = f"/agents/{dhcp['id']}/dhcp-networks"
    # no subnet yet: no agent serves it
    assert net("GET", f"/networks/{network['id']}/dhcp-agents", admin_token)[1] == {"agents": []}
    net.make(demo_token, "subnets", "subnet", network_id=network["id"], cidr="10.31.0.0/24", ip_version=4)
    status, body = net("GET", f"/networks/{network['id']}/dhcp-agents", admin_token)
    assert status == 200 and [a["id"] for a in body["agents"]] == [dhcp["id"]]
    assert network["id"] in [n["id"] for n in net("GET", hosted, admin_token)[1]["networks"]]
    status, body = net("POST", hosted, admin_token, {"network_id": network["id"]})
    assert status == 409 and body["NeutronError"]["type"] == "NetworkHostedByDHCPAgent"
    assert net("DELETE", f"{hosted}/{network['id']}", admin_token)[0] == 204
    assert network["id"] not in [n["id"] for n in net("GET", hosted, admin_token)[1]["networks"]]
    status, body = net("DELETE", f"{hosted}/{network['id']}", admin_token)
    assert status == 409 and body["NeutronError"]["type"] == "NetworkNotHostedByDhcpAgent"
    assert net("POST", hosted, admin_token, {"network_id": network["id"]}) == (201, None)
    assert network["id"] in [n["id"] for n in net("GET", hosted, admin_token)[1]["networks"]]
    # the scheduler is the admin's; only a DHCP agent hosts networks
    assert net("GET", hosted, demo_token)[0] == 403
    assert net("POST", hosted, demo_token, {"network_id": network["id"]})[0] == 403
    l3 = _agents(net, admin_token, "?agent_type=L3%20agent")[0]
    status, body = net("POST", f"/agents/{l3['id']}/dhcp-networks", admin_token, {"network_id": network["id"]})
    assert status == 404 and body["NeutronError"]["type"] == "InvalidDHCPAgent"
    status, body = net("POST", hosted, admin_token, {})
    assert status == 400 and "network_id" in body["NeutronError"]["message"]
    # deleting the network removes it from the agent
    assert net("DELETE", f"/networks/{network['id']}", demo_token)[0] == 204
    assert network["id"] not in [n["id"] for n in net("GET", hosted, admin_token)[1]["networks"]]


def test_a_region_without_routers_has_no_l3_agent_and_none_without_a_driver(cloud):
    core = cloud.app.network
    driver = core.clouds[core.region]
    no_driver = dataclasses.replace(driver, network=None)
    assert agents.declared(dataclasses.replace(core, clouds={core.region: no_driver})) == []

    class Switches:
        capabilities = frozenset({Capability.SECURITY_GROUPS})

    switches = dataclasses.replace(driver, network=Switches())
    assert [k.agent_type for k in agents.declared(dataclasses.replace(core, clouds={core.region: switches}))] == [
        "Open vSwitch agent", "DHCP agent"]
