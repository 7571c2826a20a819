"""RBAC policies over the wire (api-ref "RBAC Policies"; Neutron's faults), between two projects:
a network shared with one project is visible and takes ports for that project only; '*' is the
admin's and is what ``shared`` means (both ways); removing or retargeting a policy the target
still uses is 409 RbacPolicyInUse; a project sees the policies it owns or that target it; QoS
policies are shared the same way; the ``rbac_policy`` quota."""

from __future__ import annotations



RBAC_KEYS = {"id", "object_type", "object_id", "action", "target_tenant", "project_id", "tenant_id"}


def _share(net, token: str, object_id: str, target: str, action: str = "access_as_shared",  # noqa: ANN001
           object_type: str = "network") -> tuple[int, dict]:
    return net("POST", "/rbac-policies", token, {"rbac_policy": {
        "object_type": object_type, "object_id": object_id, "action": action, "target_tenant": target}})


def _fault(body: dict) -> str:
    return body["NeutronError"]["type"]


def _visible(net, token: str, path: str) -> set[str]:  # noqa: ANN001
    status, body = net("GET", f"/{path}", token)
    assert status == 200, body
    return {item["id"] for item in body[path.replace("-", "_")]}


def test_sharing_a_network_with_one_project(net, admin_token, demo_token, other):
    other_token, other_project = other
    network = net.make(demo_token, "networks", "network", name="to-share")
    subnet = net.make(demo_token, "subnets", "subnet", network_id=network["id"], ip_version=4, cidr="10.50.0.0/24")
    assert network["id"] not in _visible(net, other_token, "networks")
    status, body = net("POST", "/ports", other_token, {"port": {"network_id": network["id"]}})
    assert status == 404 and _fault(body) == "NetworkNotFound"
    status, body = _share(net, demo_token, network["id"], other_project)
    assert status == 201, body
    entry = body["rbac_policy"]
    assert set(entry) == RBAC_KEYS and entry["target_tenant"] == other_project
    assert entry["project_id"] == network["project_id"]
    # visible and usable by the target, and only shared with it: `shared` stays false
    assert network["id"] in _visible(net, other_token, "networks")
    assert subnet["id"] in _visible(net, other_token, "subnets")
    status, body = net("GET", f"/networks/{network['id']}", other_token)
    assert status == 200 and body["network"]["shared"] is False
    port = net.make(other_token, "ports", "port", network_id=network["id"])
    assert entry["id"] in _visible(net, other_token, "rbac-policies")
    # the target still has a port: the policy cannot go, nor be retargeted
    status, body = net("DELETE", f"/rbac-policies/{entry['id']}", demo_token)
    assert status == 409 and _fault(body) == "RbacPolicyInUse"
    status, body = net("PUT", f"/rbac-policies/{entry['id']}", demo_token, {"rbac_policy": {"target_tenant": "x"}})
    assert status == 409 and _fault(body) == "RbacPolicyInUse"
    # the target deletes its port on the owner's network; then the policy goes, and access with it
    assert net("DELETE", f"/ports/{port['id']}", other_token)[0] == 204
    assert net("DELETE", f"/rbac-policies/{entry['id']}", demo_token)[0] == 204
    assert network["id"] not in _visible(net, other_token, "networks")
    assert net("GET", f"/subnets/{subnet['id']}", other_token)[0] == 404


def test_wildcard_is_the_admins_and_is_what_shared_means(net, admin_token, demo_token, other):
    other_token, other_project = other
    network = net.make(demo_token, "networks", "network", name="wild")
    status, body = _share(net, demo_token, network["id"], "*")
    assert status == 403 and _fault(body) == "PolicyNotAuthorized"
    status, body = _share(net, admin_token, network["id"], "*")
    assert status == 201
    wildcard = body["rbac_policy"]
    status, body = net("GET", f"/networks/{network['id']}", other_token)
    assert status == 200 and body["network"]["shared"] is True
    status, body = _share(net, admin_token, network["id"], "*")
    assert status == 409 and _fault(body) == "DuplicateRbacPolicy"
    port = net.make(other_token, "ports", "port", network_id=network["id"])
    # unsharing while another project has a port: refused, through either door
    status, body = net("PUT", f"/networks/{network['id']}", admin_token, {"network": {"shared": False}})
    assert status == 409 and _fault(body) == "RbacPolicyInUse"
    assert net("DELETE", f"/rbac-policies/{wildcard['id']}", admin_token)[0] == 409
    # a policy for that project keeps it covered: the wildcard may go then
    specific = _share(net, demo_token, network["id"], other_project)[1]["rbac_policy"]
    assert net("DELETE", f"/rbac-policies/{wildcard['id']}", admin_token)[0] == 204
    status, body = net("GET", f"/networks/{network['id']}", demo_token)
    assert body["network"]["shared"] is False
    assert net("DELETE", f"/ports/{port['id']}", other_token)[0] == 204
    assert net("DELETE", f"/rbac-policies/{specific['id']}", demo_token)[0] == 204
    # shared=true by update makes the wildcard entry, shared=false takes it away
    status, body = net("PUT", f"/networks/{network['id']}", admin_token, {"network": {"shared": True}})
    assert status == 200
    status, body = net("GET", f"/rbac-policies?object_id={network['id']}", admin_token)
    assert [(e["target_tenant"], e["action"]) for e in body["rbac_policies"]] == [("*", "access_as_shared")]
    assert net("PUT", f"/networks/{network['id']}", admin_token, {"network": {"shared": False}})[0] == 200
    assert net("GET", f"/rbac-policies?object_id={network['id']}", admin_token)[1]["rbac_policies"] == []


def test_isolation_of_policies_and_bad_input(net, admin_token, demo_token, other):
    other_token, other_project = other
    mine = net.make(demo_token, "networks", "network", name="mine")
    theirs = net.make(other_token, "networks", "network", name="theirs")
    entry = _share(net, demo_token, mine["id"], other_project)[1]["rbac_policy"]
    admins = _share(net, admin_token, net.make(admin_token, "networks", "network", name="a")["id"],
                    "some-third-project")[1]["rbac_policy"]
    # the owner and the target see it; nobody else's is seen
    assert _visible(net, demo_token, "rbac-policies") == {entry["id"]}
    assert _visible(net, other_token, "rbac-policies") == {entry["id"]}
    assert net("GET", f"/rbac-policies/{admins['id']}", demo_token)[0] == 404
    assert {entry["id"], admins["id"]} <= _visible(net, admin_token, "rbac-policies")
    # the target may not change or delete the owner's policy (it only reads it)
    assert net("DELETE", f"/rbac-policies/{entry['id']}", other_token)[0] == 403
    # sharing what one does not own: refused; what one cannot see: not found
    status, body = _share(net, other_token, mine["id"], "x")
    assert status == 403
    status, body = _share(net, demo_token, theirs["id"], "x")
    assert status == 404 and _fault(body) == "NetworkNotFound"
    status, body = _share(net, demo_token, mine["id"], "x", object_type="subnet")
    assert status == 400 and "object_type" in body["NeutronError"]["message"]
    status, body = _share(net, demo_token, mine["id"], "x", action="access_as_nothing")
    assert status == 400 and _fault(body) == "InvalidActionForType"
    status, body = net("POST", "/rbac-policies", demo_token, {"rbac_policy": {
        "object_type": "network", "object_id": mine["id"], "action": "access_as_shared"}})
    assert status == 400 and "target_tenant" in body["NeutronError"]["message"]
    status, body = net("PUT", f"/rbac-policies/{entry['id']}", demo_token, {"rbac_policy": {"action": "x"}})
    assert status == 400
    # retargeting onto an existing entry's target: DuplicateRbacPolicy, nothing changed
    twin = _share(net, demo_token, mine["id"], "twin")[1]["rbac_policy"]
    status, body = net("PUT", f"/rbac-policies/{twin['id']}", demo_token,
                       {"rbac_policy": {"target_tenant": other_project}})
    assert status == 409 and _fault(body) == "DuplicateRbacPolicy"
    assert net("GET", f"/rbac-policies/{twin['id']}", demo_token)[1]["rbac_policy"]["target_tenant"] == "twin"
    # retarget: the old target loses it, the new one gets it
    status, body = net("PUT", f"/rbac-policies/{entry['id']}", demo_token,
                       {"rbac_policy": {"target_tenant": "another"}})
    assert status == 200 and body["rbac_policy"]["target_tenant"] == "another"
    assert mine["id"] not in _visible(net, other_token, "networks")


def test_external_access_and_qos_policy_sharing(net, admin_token, demo_token, other):
    other_token, other_project = other
    network = net.make(admin_token, "networks", "network", name="ext")
    _share(net, admin_token, network["id"], other_project, action="access_as_external")
    assert network["id"] in _visible(net, other_token, "networks")
    assert network["id"] not in _visible(net, demo_token, "networks")
    qos = net.make(admin_token, "qos/policies", "policy", name="q")
    status, body = _share(net, admin_token, qos["id"], other_project, action="access_as_external",
                          object_type="qos_policy")
    assert status == 400 and _fault(body) == "InvalidActionForType"
    status, body = _share(net, admin_token, qos["id"], other_project, object_type="qos_policy")
    assert status == 201
    qos_entry = body["rbac_policy"]
    status, body = net("GET", "/qos/policies", other_token)
    assert [p["id"] for p in body["policies"]] == [qos["id"]]
    assert net("GET", "/qos/policies", demo_token)[1]["policies"] == []
    own = net.make(other_token, "networks", "network", name="own", qos_policy_id=qos["id"])
    status, body = net("DELETE", f"/rbac-policies/{qos_entry['id']}", admin_token)
    assert status == 409 and _fault(body) == "RbacPolicyInUse"
    assert net("DELETE", f"/networks/{own['id']}", other_token)[0] == 204
    # a '*' entry on a QoS policy is its `shared`
    assert _share(net, admin_token, qos["id"], "*", object_type="qos_policy")[0] == 201
    assert net("GET", f"/qos/policies/{qos['id']}", demo_token)[1]["policy"]["shared"] is True
    # deleting the object takes its policies
    assert net("DELETE", f"/qos/policies/{qos['id']}", admin_token)[0] == 204
    assert net("GET", f"/rbac-policies?object_id={qos['id']}", admin_token)[1]["rbac_policies"] == []


def test_quota_and_extension(net, admin_token, demo_token, other):
    _, other_project = other
    status, body = net("GET", "/extensions/rbac-policies", demo_token)
    assert status == 200
    project = net.make(demo_token, "networks", "network", name="probe")["project_id"]
    status, body = net("PUT", f"/quotas/{project}", admin_token, {"quota": {"rbac_policy": 1}})
    assert status == 200 and body["quota"]["rbac_policy"] == 1
    first = net.make(demo_token, "networks", "network", name="q1")
    second = net.make(demo_token, "networks", "network", name="q2")
    assert _share(net, demo_token, first["id"], other_project)[0] == 201
    status, body = _share(net, demo_token, second["id"], other_project)
    assert status == 409 and _fault(body) == "OverQuota"
