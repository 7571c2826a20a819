"""Issue 17, items 7 (Neutron half) and 8, in raw HTTP checked against Neutron's api-ref:
``binding:profile`` kept as given (admin-only, as Neutron's default policy has it), the port
list's ``fixed_ips`` filters (``ip_address``, ``subnet_id``, ``ip_address_substr``) and the
filtering extensions listed only because they are honoured."""

from __future__ import annotations

from netwait import wait_status

from overcast.api.network.versions import ALIASES

PROFILE = {"foo": "bar", "pci_slot": "0000:05:00.1", "nested": {"n": [1, 2]}, "flag": True}


def _error(body: dict) -> tuple[str, str]:
    return body["NeutronError"]["type"], body["NeutronError"]["message"]


def _network(net, token, cidr="10.33.0.0/24"):  # noqa: ANN001, ANN202
    network = net.make(token, "networks", "network", name="fidelity")
    return network, net.make(token, "subnets", "subnet", network_id=network["id"], ip_version=4, cidr=cidr)


def test_binding_profile_is_kept_and_returned_as_given(net, admin_token, demo_token):
    network, _ = _network(net, demo_token)
    port = net.make(admin_token, "ports", "port", network_id=network["id"], device_owner="compute:nova",
                    device_id="vm-1", **{"binding:profile": PROFILE, "binding:host_id": "host-a"})
    assert port["binding:profile"] == PROFILE
    # the backend wires it after the commit; what it reports does not replace the profile
    wait_status(net, admin_token, f"/ports/{port['id']}", "port", "ACTIVE")
    status, body = net("GET", f"/ports/{port['id']}", admin_token)
    assert status == 200 and body["port"]["binding:profile"] == PROFILE
    status, body = net("GET", f"/ports?id={port['id']}", admin_token)
    assert body["ports"][0]["binding:profile"] == PROFILE

    status, body = net("PUT", f"/ports/{port['id']}", admin_token, {"port": {"binding:profile": {"foo": "baz"}}})
    assert status == 200 and body["port"]["binding:profile"] == {"foo": "baz"}
    status, body = net("PUT", f"/ports/{port['id']}", admin_token, {"port": {"binding:profile": None}})
    assert status == 200 and body["port"]["binding:profile"] == {}
    status, body = net("GET", f"/ports/{port['id']}", admin_token)
    assert body["port"]["binding:profile"] == {}


def test_binding_profile_is_admin_only_and_a_dict(net, admin_token, demo_token):
    network, _ = _network(net, demo_token)
    status, body = net("POST", "/ports", demo_token, {"port": {"network_id": network["id"],
                                                              "binding:profile": {"foo": "bar"}}})
    assert status == 403 and _error(body) == ("PolicyNotAuthorized",
                                              "(rule:create_port:binding:profile) is disallowed by policy")
    port = net.make(demo_token, "ports", "port", network_id=network["id"])
    assert "binding:profile" not in port  # binding:* is shown to admins only
    status, body = net("PUT", f"/ports/{port['id']}", demo_token, {"port": {"binding:profile": {"foo": "bar"}}})
    assert status == 403 and _error(body) == ("PolicyNotAuthorized",
                                              "(rule:update_port:binding:profile) is disallowed by policy")
    for bad in ("foo", ["foo"], 3):
        status, body = net("PUT", f"/ports/{port['id']}", admin_token, {"port": {"binding:profile": bad}})
        assert status == 400 and "binding:profile" in _error(body)[1], body
        status, body = net("POST", "/ports", admin_token, {"port": {"network_id": network["id"],
                                                                    "binding:profile": bad}})
        assert status == 400 and "binding:profile" in _error(body)[1], body
    status, body = net("GET", f"/ports/{port['id']}", admin_token)
    assert body["port"]["binding:profile"] == {}
    status, body = net("GET", f"/ports?network_id={network['id']}", admin_token)
    assert [p["id"] for p in body["ports"]] == [port["id"]]  # the refused creates made nothing


def test_fixed_ips_filters(net, demo_token):
    network, subnet = _network(net, demo_token)
    other = net.make(demo_token, "subnets", "subnet", network_id=network["id"], ip_version=4, cidr="10.34.0.0/24")
    a = net.make(demo_token, "ports", "port", network_id=network["id"],
                 fixed_ips=[{"subnet_id": subnet["id"], "ip_address": "10.33.0.15"}])
    b = net.make(demo_token, "ports", "port", network_id=network["id"],
                 fixed_ips=[{"subnet_id": subnet["id"], "ip_address": "10.33.0.150"}])
    c = net.make(demo_token, "ports", "port", network_id=network["id"],
                 fixed_ips=[{"subnet_id": other["id"], "ip_address": "10.34.0.15"},
                            {"subnet_id": subnet["id"], "ip_address": "10.33.0.99"}])

    def ids(query: str) -> set[str]:
        status, body = net("GET", f"/ports?network_id={network['id']}&{query}", demo_token)
        assert status == 200, body
        return {p["id"] for p in body["ports"]}

    assert ids("fixed_ips=ip_address_substr=0.15") == {a["id"], b["id"], c["id"]}
    assert ids("fixed_ips=ip_address_substr=.150") == {b["id"]}
    assert ids("fixed_ips=ip_address_substr=10.34.") == {c["id"]}
    assert ids("fixed_ips=ip_address_substr=%25") == set()  # a LIKE wildcard is a plain character
    assert ids("fixed_ips=ip_address_substr=.150&fixed_ips=ip_address_substr=10.34") == {b["id"], c["id"]}
    assert ids("fixed_ips=ip_address=10.33.0.15") == {a["id"]}
    assert ids("fixed_ips=ip_address=10.33.0.15&fixed_ips=ip_address=10.34.0.15") == {a["id"], c["id"]}
    assert ids(f"fixed_ips=subnet_id={other['id']}") == {c["id"]}
    # each kind must match one of the port's addresses, not necessarily the same one
    assert ids(f"fixed_ips=subnet_id={other['id']}&fixed_ips=ip_address=10.33.0.99") == {c["id"]}
    assert ids(f"fixed_ips=subnet_id={other['id']}&fixed_ips=ip_address=10.33.0.15") == set()
    assert ids(f"fixed_ips=subnet_id={subnet['id']}&fixed_ips=ip_address_substr=.150") == {b["id"]}
    assert ids(f"fixed_ips=subnet_id={subnet['id']}&fixed_ips=ip_address_substr=34.0.15") == {c["id"]}
    # with the other list controls: a tag filter (rendered path), paging and fields
    status, body = net("PUT", f"/ports/{b['id']}/tags/blue", demo_token)
    assert ids("fixed_ips=ip_address_substr=0.15&tags=blue") == {b["id"]}
    status, body = net("GET", f"/ports?network_id={network['id']}&fixed_ips=ip_address_substr=0.15&limit=2"
                              "&sort_key=id&fields=id", demo_token)
    assert status == 200 and len(body["ports"]) == 2 and "ports_links" in body
    assert "fixed_ips=ip_address_substr%3D0.15" in body["ports_links"][0]["href"]

    status, body = net("GET", "/ports?fixed_ips=10.33.0.15", demo_token)
    assert status == 400 and _error(body) == ("InvalidInput", "Invalid input for operation: '10.33.0.15' is "
                                                              "not of the form <key>=[value].")


def test_extensions_listed_are_honoured(net, demo_token):
    """The filtering aliases listed are those a DevStack Neutron lists and that these tests exercise."""
    for alias in ("ip-substring-filtering", "empty-string-filtering", "port-security-groups-filtering"):
        assert alias in ALIASES
        status, body = net("GET", f"/extensions/{alias}", demo_token)
        assert status == 200 and body["extension"]["alias"] == alias
    for absent in ("filter-validation", "l3-ha"):
        assert absent not in ALIASES
    network, _ = _network(net, demo_token)
    plain = net.make(demo_token, "ports", "port", network_id=network["id"])
    named = net.make(demo_token, "ports", "port", network_id=network["id"], name="n", device_id="d")
    # empty-string-filtering: an empty value matches the empty string
    status, body = net("GET", f"/ports?network_id={network['id']}&device_id=", demo_token)
    assert {p["id"] for p in body["ports"]} == {plain["id"]}
    status, body = net("GET", f"/ports?network_id={network['id']}&name=", demo_token)
    assert {p["id"] for p in body["ports"]} == {plain["id"]}
    # port-security-groups-filtering: ports with any of the groups named
    group = net.make(demo_token, "security-groups", "security_group", name="only")
    status, _ = net("PUT", f"/ports/{named['id']}", demo_token, {"port": {"security_groups": [group["id"]]}})
    assert status == 200
    status, body = net("GET", f"/ports?network_id={network['id']}&security_groups={group['id']}", demo_token)
    assert {p["id"] for p in body["ports"]} == {named["id"]}
    status, body = net("GET", f"/ports?network_id={network['id']}&security_groups={plain['security_groups'][0]}"
                              f"&security_groups={group['id']}", demo_token)
    assert {p["id"] for p in body["ports"]} == {plain["id"], named["id"]}
