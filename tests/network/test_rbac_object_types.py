"""RBAC policies on subnet pools, address scopes and security groups (Neutron's ``subnetpool``,
``address_scope`` and ``security_group`` object types, ``access_as_shared``), between two
projects: what is shared becomes visible and usable by the target only; removing the policy while
the target uses the object is 409 RbacPolicyInUse; a ``*`` entry is what ``shared`` means for
pools and scopes; unknown objects and actions are refused naming them."""

from __future__ import annotations


def _share(net, token: str, object_type: str, object_id: str, target: str,  # noqa: ANN001
           action: str = "access_as_shared") -> tuple[int, dict]:
    return net("POST", "/rbac-policies", token, {"rbac_policy": {
        "object_type": object_type, "object_id": object_id, "action": action, "target_tenant": target}})


def _fault(body: dict) -> str:
    return body["NeutronError"]["type"]


def _ids(net, token: str, path: str, key: str) -> set[str]:  # noqa: ANN001
    status, body = net("GET", path, token)
    assert status == 200, body
    return {item["id"] for item in body[key]}


def test_a_subnet_pool_shared_with_one_project(net, demo_token, other):
    other_token, other_project = other
    pool = net.make(demo_token, "subnetpools", "subnetpool", name="p", prefixes=["10.60.0.0/16"],
                    default_prefixlen=24)
    assert pool["id"] not in _ids(net, other_token, "/subnetpools", "subnetpools")
    assert net("GET", f"/subnetpools/{pool['id']}", other_token)[0] == 404
    status, body = _share(net, demo_token, "subnetpool", pool["id"], other_project)
    assert status == 201, body
    entry = body["rbac_policy"]
    assert (entry["object_type"], entry["target_tenant"]) == ("subnetpool", other_project)
    # visible to the target (not `shared`), and a subnet may be cut from it
    assert pool["id"] in _ids(net, other_token, "/subnetpools", "subnetpools")
    status, body = net("GET", f"/subnetpools/{pool['id']}", other_token)
    assert status == 200 and body["subnetpool"]["shared"] is False
    network = net.make(other_token, "networks", "network", name="o")
    subnet = net.make(other_token, "subnets", "subnet", network_id=network["id"], ip_version=4,
                      subnetpool_id=pool["id"])
    assert subnet["cidr"].startswith("10.60.") and subnet["subnetpool_id"] == pool["id"]
    # the target still uses it: the policy stays
    status, body = net("DELETE", f"/rbac-policies/{entry['id']}", demo_token)
    assert status == 409 and _fault(body) == "RbacPolicyInUse"
    assert net("DELETE", f"/subnets/{subnet['id']}", other_token)[0] == 204
    assert net("DELETE", f"/rbac-policies/{entry['id']}", demo_token)[0] == 204
    assert pool["id"] not in _ids(net, other_token, "/subnetpools", "subnetpools")
    # the target may not share what is not its own
    status, body = _share(net, other_token, "subnetpool", pool["id"], other_project)
    assert status == 404 and _fault(body) == "SubnetPoolNotFound"
    status, body = _share(net, demo_token, "subnetpool", pool["id"], other_project, "access_as_external")
    assert status == 400 and _fault(body) == "InvalidActionForType"


def test_extensions_of_rbac_object_types_are_listed(net, demo_token):
    # the object types above (subnet pools, address scopes) and shared security groups
    for alias in ("rbac-security-groups", "security-groups-shared-filtering", "rbac-subnetpool",
                  "rbac-address-scope"):
        status, body = net("GET", f"/extensions/{alias}", demo_token)
        assert status == 200 and body["extension"]["alias"] == alias


def test_wildcard_is_shared_for_pools_and_scopes(net, admin_token, demo_token, other):
    other_token, _ = other
    pool = net.make(demo_token, "subnetpools", "subnetpool", name="p", prefixes=["10.61.0.0/16"])
    status, body = _share(net, demo_token, "subnetpool", pool["id"], "*")
    assert status == 403 and _fault(body) == "PolicyNotAuthorized"  # '*' is the admin's
    status, body = _share(net, admin_token, "subnetpool", pool["id"], "*")
    assert status == 201, body
    assert net("GET", f"/subnetpools/{pool['id']}", other_token)[1]["subnetpool"]["shared"] is True
    assert net("DELETE", f"/rbac-policies/{body['rbac_policy']['id']}", admin_token)[0] == 204
    assert net("GET", f"/subnetpools/{pool['id']}", demo_token)[1]["subnetpool"]["shared"] is False
    # made shared: its '*' entry is there, owned by the scope's project
    scope = net.make(admin_token, "address-scopes", "address_scope", name="s", ip_version=4, shared=True)
    entries = net("GET", f"/rbac-policies?object_id={scope['id']}", admin_token)[1]["rbac_policies"]
    assert [(e["object_type"], e["action"], e["target_tenant"]) for e in entries] == [
        ("address_scope", "access_as_shared", "*")]
    # deleting the object deletes its entries
    assert net("DELETE", f"/address-scopes/{scope['id']}", admin_token)[0] == 204
    assert net("GET", f"/rbac-policies?object_id={scope['id']}", admin_token)[1]["rbac_policies"] == []


def test_an_address_scope_shared_with_one_project(net, demo_token, other):
    other_token, other_project = other
    scope = net.make(demo_token, "address-scopes", "address_scope", name="s", ip_version=4)
    assert scope["id"] not in _ids(net, other_token, "/address-scopes", "address_scopes")
    status, body = net("POST", "/subnetpools", other_token, {"subnetpool": {
        "name": "in-scope", "prefixes": ["10.62.0.0/16"], "address_scope_id": scope["id"]}})
    assert status == 400 and _fault(body) == "IllegalSubnetPoolAssociationToAddressScope"
    status, body = _share(net, demo_token, "address_scope", scope["id"], other_project)
    assert status == 201, body
    entry = body["rbac_policy"]
    assert scope["id"] in _ids(net, other_token, "/address-scopes", "address_scopes")
    pool = net.make(other_token, "subnetpools", "subnetpool", name="in-scope", prefixes=["10.62.0.0/16"],
                    address_scope_id=scope["id"])
    status, body = net("DELETE", f"/rbac-policies/{entry['id']}", demo_token)
    assert status == 409 and _fault(body) == "RbacPolicyInUse"
    assert net("DELETE", f"/subnetpools/{pool['id']}", other_token)[0] == 204
    assert net("DELETE", f"/rbac-policies/{entry['id']}", demo_token)[0] == 204
    assert net("GET", f"/address-scopes/{scope['id']}", other_token)[0] == 404


def test_a_security_group_shared_with_one_project(net, demo_token, other):
    other_token, other_project = other
    group = net.make(demo_token, "security-groups", "security_group", name="web")
    network = net.make(other_token, "networks", "network", name="o")
    status, body = net("POST", "/ports", other_token, {"port": {"network_id": network["id"],
                                                                 "security_groups": [group["id"]]}})
    assert status == 404 and _fault(body) == "SecurityGroupNotFound"
    status, body = _share(net, demo_token, "security_group", group["id"], other_project)
    assert status == 201, body
    entry = body["rbac_policy"]
    assert group["id"] in _ids(net, other_token, "/security-groups", "security_groups")
    assert net("GET", f"/security-groups/{group['id']}", other_token)[0] == 200
    port = net.make(other_token, "ports", "port", network_id=network["id"], security_groups=[group["id"]])
    assert port["security_groups"] == [group["id"]]
    # the target uses it but may not change it
    assert net("PUT", f"/security-groups/{group['id']}", other_token, {"security_group": {"name": "x"}})[0] == 403
    status, body = net("DELETE", f"/rbac-policies/{entry['id']}", demo_token)
    assert status == 409 and _fault(body) == "RbacPolicyInUse"
    assert net("DELETE", f"/ports/{port['id']}", other_token)[0] == 204
    assert net("DELETE", f"/rbac-policies/{entry['id']}", demo_token)[0] == 204
    assert group["id"] not in _ids(net, other_token, "/security-groups", "security_groups")
    status, body = _share(net, demo_token, "security_group", "no-such-group", other_project)
    assert status == 404 and _fault(body) == "SecurityGroupNotFound"


def test_a_shared_security_group_as_the_target_sees_and_uses_it(net, demo_token, admin_token, other):
    """``access_as_shared`` on a ``security_group``, as Neutron: the target sees the group with
    every rule of it (the group's ``security_group_rules``), can put it on its ports (create and
    update), and cannot change it: not its name, tags, rules or the group itself, nor share it on;
    ``/security-group-rules`` lists and shows the target only its own project's rules (Neutron's
    ``get_security_group_rule`` is the rule's or the group's project). Unshared, it is gone again."""
    other_token, other_project = other
    group = net.make(demo_token, "security-groups", "security_group", name="shared-web")
    ssh = net.make(demo_token, "security-group-rules", "security_group_rule", security_group_id=group["id"],
                   direction="ingress", protocol="tcp", port_range_min=22, port_range_max=22,
                   remote_ip_prefix="10.0.0.0/8")
    rule_ids = {r["id"] for r in net("GET", f"/security-groups/{group['id']}", demo_token)[1]["security_group"][
        "security_group_rules"]}
    assert ssh["id"] in rule_ids and len(rule_ids) == 3  # the two egress rules and ssh
    status, body = _share(net, demo_token, "security_group", group["id"], other_project)
    assert status == 201, body
    # seen with its rules, in the list and the show, with the owner's project
    listed = {g["id"]: g for g in net("GET", "/security-groups", other_token)[1]["security_groups"]}
    assert {r["id"] for r in listed[group["id"]]["security_group_rules"]} == rule_ids
    status, body = net("GET", f"/security-groups/{group['id']}", other_token)
    assert status == 200 and body["security_group"]["project_id"] != other_project
    assert {r["id"] for r in body["security_group"]["security_group_rules"]} == rule_ids
    # `shared` says whether it is shared with the caller's project (security-groups-shared-filtering)
    assert listed[group["id"]]["shared"] is True
    assert {g["shared"] for g in listed.values() if g["id"] != group["id"]} == {False}
    assert [g["id"] for g in net("GET", "/security-groups?shared=true", other_token)[1]["security_groups"]] == [
        group["id"]]
    assert group["id"] not in _ids(net, other_token, "/security-groups?shared=false", "security_groups")
    assert net("GET", f"/security-groups/{group['id']}", demo_token)[1]["security_group"]["shared"] is False
    assert net("GET", "/security-groups?shared=true", demo_token)[1]["security_groups"] == []
    status, body = net("POST", "/security-groups", demo_token, {"security_group": {"name": "s", "shared": True}})
    assert status == 400 and "shared" in body["NeutronError"]["message"]
    # /security-group-rules: the target's own project's rules only (its default group's)
    own = net("GET", f"/security-group-rules?security_group_id={group['id']}", other_token)[1]
    assert own["security_group_rules"] == []
    status, body = net("GET", f"/security-group-rules/{ssh['id']}", other_token)
    assert status == 404 and _fault(body) == "SecurityGroupRuleNotFound"
    # used on its ports: made with it, and added to one made without it
    network = net.make(other_token, "networks", "network", name="o")
    port = net.make(other_token, "ports", "port", network_id=network["id"], security_groups=[group["id"]])
    assert port["security_groups"] == [group["id"]]
    plain = net.make(other_token, "ports", "port", network_id=network["id"])
    status, body = net("PUT", f"/ports/{plain['id']}", other_token, {"port": {
        "security_groups": [*plain["security_groups"], group["id"]]}})
    assert status == 200 and group["id"] in body["port"]["security_groups"], body
    # not changed by the target
    for method, path, payload in (
            ("PUT", f"/security-groups/{group['id']}", {"security_group": {"name": "x"}}),
            ("PUT", f"/security-groups/{group['id']}", {"security_group": {"description": "x"}}),
            ("DELETE", f"/security-groups/{group['id']}", None),
            ("PUT", f"/security-groups/{group['id']}/tags/mine", None),
            ("PUT", f"/security-groups/{group['id']}/tags", {"tags": ["mine"]}),
            ("DELETE", f"/security-groups/{group['id']}/tags", None),
            ("POST", "/security-group-rules", {"security_group_rule": {
                "security_group_id": group["id"], "direction": "ingress", "protocol": "tcp",
                "port_range_min": 80, "port_range_max": 80}})):
        status, body = net(method, path, other_token, payload)
        assert status == 403 and _fault(body) == "PolicyNotAuthorized", (method, path, status, body)
    status, body = net("DELETE", f"/security-group-rules/{ssh['id']}", other_token)
    assert status == 404 and _fault(body) == "SecurityGroupRuleNotFound"
    status, body = _share(net, other_token, "security_group", group["id"], "*")
    assert status in (403, 404), body
    after = net("GET", f"/security-groups/{group['id']}", demo_token)[1]["security_group"]
    assert (after["name"], after["tags"], {r["id"] for r in after["security_group_rules"]}) == (
        "shared-web", [], rule_ids)
    # the policy stays while the target's ports use the group; then it goes, and so does the group
    entry = next(e for e in net("GET", f"/rbac-policies?object_id={group['id']}", demo_token)[1]["rbac_policies"])
    status, body = net("DELETE", f"/rbac-policies/{entry['id']}", demo_token)
    assert status == 409 and _fault(body) == "RbacPolicyInUse"
    for made in (port, plain):
        assert net("DELETE", f"/ports/{made['id']}", other_token)[0] == 204
    assert net("DELETE", f"/rbac-policies/{entry['id']}", demo_token)[0] == 204
    assert net("GET", f"/security-groups/{group['id']}", other_token)[0] == 404
    status, body = net("POST", "/ports", other_token, {"port": {"network_id": network["id"],
                                                                 "security_groups": [group["id"]]}})
    assert status == 404 and _fault(body) == "SecurityGroupNotFound"
