"""QoS policies, rules and rule types over the wire (api-ref "QoS"; Neutron's faults): admin-only
writes, visibility (own, shared), one default per project given to new networks, one rule per
type and direction, DSCP marks from Neutron's list, ranges, min/max conflicts, rule types from the
network driver's declaration, qos_policy_id on networks and ports, and QosPolicyInUse."""

from __future__ import annotations

import pytest

from overcast.drivers.network import QOS_RULE_TYPES

POLICY_KEYS = {"id", "name", "description", "shared", "is_default", "rules", "tags", "tenant_id", "project_id",
               "created_at", "updated_at", "revision_number"}


@pytest.fixture
def demo_project(net, demo_token) -> str:  # noqa: ANN001
    return net.make(demo_token, "networks", "network", name="probe")["project_id"]


def _policy(net, token: str, **attrs) -> dict:  # noqa: ANN001
    return net.make(token, "qos/policies", "policy", **attrs)


def _fault(body: dict) -> str:
    return body["NeutronError"]["type"]


def test_policy_crud_shape_and_admin_only_writes(net, admin_token, demo_token, demo_project):
    status, body = net("POST", "/qos/policies", demo_token, {"policy": {"name": "nope"}})
    assert status == 403 and _fault(body) == "PolicyNotAuthorized"
    made = _policy(net, admin_token, name="gold", description="d", project_id=demo_project)
    assert set(made) == POLICY_KEYS
    assert (made["name"], made["shared"], made["is_default"], made["rules"], made["tags"],
            made["project_id"], made["revision_number"]) == ("gold", False, False, [], [], demo_project, 0)
    # the owner's member sees it, may not change it
    status, body = net("GET", f"/qos/policies/{made['id']}", demo_token)
    assert status == 200 and body["policy"]["id"] == made["id"]
    status, body = net("PUT", f"/qos/policies/{made['id']}", demo_token, {"policy": {"name": "x"}})
    assert status == 403
    status, body = net("PUT", f"/qos/policies/{made['id']}", admin_token, {"policy": {"name": "silver"}})
    assert status == 200 and body["policy"]["name"] == "silver" and body["policy"]["revision_number"] == 1
    status, body = net("GET", "/qos/policies?name=silver", demo_token)
    assert [p["id"] for p in body["policies"]] == [made["id"]]
    status, body = net("PUT", f"/qos/policies/{made['id']}", admin_token, {"policy": {"id": "x"}})
    assert status == 400
    assert net("DELETE", f"/qos/policies/{made['id']}", admin_token)[0] == 204
    status, body = net("GET", f"/qos/policies/{made['id']}", admin_token)
    assert status == 404 and _fault(body) == "QosPolicyNotFound"


def test_visibility_own_and_shared(net, admin_token, demo_token):
    private = _policy(net, admin_token, name="admins-own")
    shared = _policy(net, admin_token, name="for-all", shared=True)
    status, body = net("GET", "/qos/policies", demo_token)
    assert {p["id"] for p in body["policies"]} == {shared["id"]}
    assert net("GET", f"/qos/policies/{private['id']}", demo_token)[0] == 404
    network = net.make(demo_token, "networks", "network", name="n")
    status, body = net("PUT", f"/networks/{network['id']}", demo_token, {"network": {"qos_policy_id": private["id"]}})
    assert status == 404 and _fault(body) == "QosPolicyNotFound"
    status, body = net("PUT", f"/networks/{network['id']}", demo_token, {"network": {"qos_policy_id": shared["id"]}})
    assert status == 200 and body["network"]["qos_policy_id"] == shared["id"]


def test_one_default_per_project_and_new_networks_get_it(net, admin_token, demo_token, demo_project):
    default = _policy(net, admin_token, name="d1", is_default=True, project_id=demo_project)
    status, body = net("POST", "/qos/policies", admin_token, {"policy": {"name": "d2", "is_default": True,
                                                                          "project_id": demo_project}})
    assert status == 409 and _fault(body) == "QoSPolicyDefaultAlreadyExists"
    other = _policy(net, admin_token, name="d3", project_id=demo_project)
    status, body = net("PUT", f"/qos/policies/{other['id']}", admin_token, {"policy": {"is_default": True}})
    assert status == 409
    assert net.make(demo_token, "networks", "network", name="n1")["qos_policy_id"] == default["id"]
    assert net.make(demo_token, "networks", "network", name="n2", qos_policy_id=None)["qos_policy_id"] is None
    # another project's default is not the demo project's
    assert net.make(admin_token, "networks", "network", name="n3")["qos_policy_id"] is None


def test_rules_crud_uniqueness_and_faults(net, admin_token, demo_token):
    p = _policy(net, admin_token, name="rules", shared=True)
    base = f"/qos/policies/{p['id']}"
    bw = net.make(admin_token, f"qos/policies/{p['id']}/bandwidth_limit_rules", "bandwidth_limit_rule",
                  max_kbps=1000)
    assert bw == {"id": bw["id"], "max_kbps": 1000, "max_burst_kbps": 0, "direction": "egress"}
    status, body = net("POST", f"{base}/bandwidth_limit_rules", admin_token,
                       {"bandwidth_limit_rule": {"max_kbps": 5}})
    assert status == 409 and _fault(body) == "QoSRulesConflict" and bw["id"] in body["NeutronError"]["message"]
    ingress = net.make(admin_token, f"qos/policies/{p['id']}/bandwidth_limit_rules", "bandwidth_limit_rule",
                       max_kbps=2000, max_burst_kbps=100, direction="ingress")
    assert ingress["direction"] == "ingress"
    status, body = net("POST", f"{base}/dscp_marking_rules", admin_token, {"dscp_marking_rule": {"dscp_mark": 1}})
    assert status == 400 and "dscp_mark" in body["NeutronError"]["message"]
    dscp = net.make(admin_token, f"qos/policies/{p['id']}/dscp_marking_rules", "dscp_marking_rule", dscp_mark=26)
    assert dscp == {"id": dscp["id"], "dscp_mark": 26}
    status, body = net("POST", f"{base}/dscp_marking_rules", admin_token, {"dscp_marking_rule": {"dscp_mark": 8}})
    assert status == 409
    status, body = net("POST", f"{base}/minimum_bandwidth_rules", admin_token,
                       {"minimum_bandwidth_rule": {"min_kbps": 5000}})
    assert status == 409 and _fault(body) == "QoSRuleParameterConflict"
    status, body = net("POST", f"{base}/minimum_bandwidth_rules", admin_token, {"minimum_bandwidth_rule": {}})
    assert status == 400 and "min_kbps" in body["NeutronError"]["message"]
    status, body = net("POST", f"{base}/minimum_bandwidth_rules", admin_token,
                       {"minimum_bandwidth_rule": {"min_kbps": -1}})
    assert status == 400 and "min_kbps" in body["NeutronError"]["message"]
    status, body = net("POST", f"{base}/minimum_bandwidth_rules", admin_token,
                       {"minimum_bandwidth_rule": {"min_kbps": 10, "direction": "sideways"}})
    assert status == 400 and "direction" in body["NeutronError"]["message"]
    minimum = net.make(admin_token, f"qos/policies/{p['id']}/minimum_bandwidth_rules", "minimum_bandwidth_rule",
                       min_kbps=500)
    assert minimum == {"id": minimum["id"], "min_kbps": 500, "direction": "egress"}
    # the policy shows every rule with its type and policy
    status, body = net("GET", base, demo_token)
    rules = {r["id"]: r for r in body["policy"]["rules"]}
    assert rules[bw["id"]] == {**bw, "type": "bandwidth_limit", "qos_policy_id": p["id"]}
    assert rules[dscp["id"]]["type"] == "dscp_marking" and len(rules) == 4
    # a member of another project reads a shared policy's rules, changes none
    status, body = net("GET", f"{base}/bandwidth_limit_rules", demo_token)
    assert status == 200 and {r["id"] for r in body["bandwidth_limit_rules"]} == {bw["id"], ingress["id"]}
    status, body = net("PUT", f"{base}/bandwidth_limit_rules/{bw['id']}", demo_token,
                       {"bandwidth_limit_rule": {"max_kbps": 1}})
    assert status == 403
    status, body = net("PUT", f"{base}/bandwidth_limit_rules/{bw['id']}", admin_token,
                       {"bandwidth_limit_rule": {"max_kbps": 400}})
    assert status == 409 and _fault(body) == "QoSRuleParameterConflict"  # below the minimum of 500
    status, body = net("PUT", f"{base}/bandwidth_limit_rules/{bw['id']}", admin_token,
                       {"bandwidth_limit_rule": {"max_kbps": 3000}})
    assert status == 200 and body["bandwidth_limit_rule"]["max_kbps"] == 3000
    status, body = net("PUT", f"{base}/bandwidth_limit_rules/{bw['id']}", admin_token,
                       {"bandwidth_limit_rule": {"direction": "ingress"}})
    assert status == 409 and _fault(body) == "QoSRulesConflict"
    assert net("DELETE", f"{base}/bandwidth_limit_rules/{bw['id']}", admin_token)[0] == 204
    status, body = net("GET", f"{base}/bandwidth_limit_rules/{bw['id']}", admin_token)
    assert status == 404 and _fault(body) == "QosRuleNotFound"
    # a rule of one type is not found under another's collection
    assert net("GET", f"{base}/dscp_marking_rules/{minimum['id']}", admin_token)[0] == 404


def test_rule_types_come_from_the_driver(net, admin_token, demo_token, cloud):
    driver = cloud.app.network.driver
    assert driver.qos_rule_types == frozenset(QOS_RULE_TYPES)
    assert net("GET", "/qos/rule-types", demo_token)[0] == 403
    status, body = net("GET", "/qos/rule-types", admin_token)
    assert status == 200 and [t["type"] for t in body["rule_types"]] == list(QOS_RULE_TYPES)
    status, body = net("GET", "/qos/rule-types/dscp_marking", admin_token)
    assert status == 200
    (details,) = body["rule_type"]["drivers"]
    assert body["rule_type"]["type"] == "dscp_marking" and details["supported_parameters"][0]["parameter_name"] == \
        "dscp_mark" and details["supported_parameters"][0]["parameter_type"] == "choices"
    assert net("GET", "/qos/rule-types/packet_rate_limit", admin_token)[0] == 404
    # a backend declaring fewer types: the API shows only those, and refuses rules of the others
    driver.qos_rule_types = frozenset({"bandwidth_limit"})  # this instance only
    try:
        status, body = net("GET", "/qos/rule-types", admin_token)
        assert [t["type"] for t in body["rule_types"]] == ["bandwidth_limit"]
        p = _policy(net, admin_token, name="narrow")
        status, body = net("POST", f"/qos/policies/{p['id']}/dscp_marking_rules", admin_token,
                           {"dscp_marking_rule": {"dscp_mark": 26}})
        assert status == 400 and _fault(body) == "QosRuleNotSupported"
    finally:
        del driver.qos_rule_types


def test_ports_and_networks_carry_policies_and_in_use_is_refused(net, admin_token, demo_token):
    net_policy = _policy(net, admin_token, name="net", shared=True)
    port_policy = _policy(net, admin_token, name="port", shared=True)
    network = net.make(demo_token, "networks", "network", name="q", qos_policy_id=net_policy["id"])
    assert network["qos_policy_id"] == net_policy["id"]
    port = net.make(demo_token, "ports", "port", network_id=network["id"])
    assert (port["qos_policy_id"], port["qos_network_policy_id"]) == (None, net_policy["id"])
    status, body = net("PUT", f"/ports/{port['id']}", demo_token, {"port": {"qos_policy_id": port_policy["id"]}})
    assert status == 200 and body["port"]["qos_policy_id"] == port_policy["id"]
    status, body = net("POST", "/ports", demo_token, {"port": {"network_id": network["id"],
                                                               "qos_policy_id": "no-such-policy"}})
    assert status == 404 and _fault(body) == "QosPolicyNotFound"
    status, body = net("DELETE", f"/qos/policies/{port_policy['id']}", admin_token)
    assert status == 409 and _fault(body) == "QosPolicyInUse" and port["id"] in body["NeutronError"]["message"]
    status, body = net("DELETE", f"/qos/policies/{net_policy['id']}", admin_token)
    assert status == 409 and network["id"] in body["NeutronError"]["message"]
    assert net("PUT", f"/ports/{port['id']}", demo_token, {"port": {"qos_policy_id": None}})[0] == 200
    assert net("DELETE", f"/qos/policies/{port_policy['id']}", admin_token)[0] == 204


def test_effective_policy_port_beats_network():
    from overcast.core.network.qos import effective_policy_id
    from overcast.store.network import Network, Port
    assert effective_policy_id(Port(qos_policy_id="p"), Network(qos_policy_id="n")) == "p"
    assert effective_policy_id(Port(qos_policy_id=None), Network(qos_policy_id="n")) == "n"
    assert effective_policy_id(Port(qos_policy_id=None), None) is None


def test_extensions_listed(net, admin_token):
    status, body = net("GET", "/extensions", admin_token)
    aliases = {e["alias"] for e in body["extensions"]}
    assert {"qos", "qos-default", "qos-bw-limit-direction", "qos-rule-type-details",
            "qos-port-network-policy"} <= aliases


def test_a_port_list_reads_the_networks_policies_at_once(cloud, net, admin_token, demo_token):
    """docs/decisions/0051-computed-list-path.md: a port list reads its networks' QoS policies with
    one statement, not a network per port; each port shows what its show does."""
    from netwait import settle

    from tests.conftest import statements_of

    policy = _policy(net, admin_token, name="net-wide", shared=True)
    with_policy = net.make(demo_token, "networks", "network", name="q1", qos_policy_id=policy["id"])
    without = net.make(demo_token, "networks", "network", name="q2")
    made = [net.make(demo_token, "ports", "port", network_id=n["id"]) for n in (with_policy, without) * 3]
    settle(cloud)  # the workers realising them share the engine: count only the list's statements
    with statements_of(cloud.app.network.store.engine) as sql:
        status, body = net("GET", "/ports", demo_token)
    assert status == 200
    assert len([s for s in sql if "FROM net_network" in s]) == 1, sql
    listed = {p["id"]: p for p in body["ports"]}
    for port in made:
        shown = net("GET", f"/ports/{port['id']}", demo_token)[1]["port"]
        assert listed[port["id"]] == shown
        assert shown["qos_network_policy_id"] == (policy["id"] if port["network_id"] == with_policy["id"] else None)
