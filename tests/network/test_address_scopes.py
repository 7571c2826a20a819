"""Issue 17: address scopes (``address-scope``) over the wire: CRUD and its faults, a pool's scope
of its own version and pools in one scope apart, delete refused while pools are in it, and a
network's read-only ipv4_address_scope / ipv6_address_scope from its subnets' pools."""

from __future__ import annotations


def _error(body: dict) -> tuple[str, str]:
    return body["NeutronError"]["type"], body["NeutronError"]["message"]


def test_crud_and_faults(net, demo_token, admin_token):
    scope = net.make(demo_token, "address-scopes", "address_scope", name="s4", ip_version=4)
    assert set(scope) == {"id", "name", "ip_version", "shared", "tenant_id", "project_id"}
    assert (scope["name"], scope["ip_version"], scope["shared"]) == ("s4", 4, False)
    status, body = net("PUT", f"/address-scopes/{scope['id']}", demo_token, {"address_scope": {"name": "s4b"}})
    assert status == 200 and body["address_scope"]["name"] == "s4b"
    assert net("GET", "/address-scopes?name=s4b", demo_token)[1]["address_scopes"][0]["id"] == scope["id"]
    assert net("PUT", f"/address-scopes/{scope['id']}", demo_token,
               {"address_scope": {"ip_version": 6}})[0] == 400  # read-only after create
    assert net("POST", "/address-scopes", demo_token, {"address_scope": {"name": "x", "ip_version": 5}})[0] == 400
    assert net("POST", "/address-scopes", demo_token, {"address_scope": {"name": "x"}})[0] == 400
    assert net("POST", "/address-scopes", demo_token, {"address_scope": {
        "name": "x", "ip_version": 4, "shared": True}})[0] == 403
    shared = net.make(admin_token, "address-scopes", "address_scope", name="pub", ip_version=4, shared=True)
    status, body = net("PUT", f"/address-scopes/{shared['id']}", admin_token, {"address_scope": {"shared": False}})
    assert status == 400 and _error(body)[0] == "AddressScopeUpdateError"
    assert net("GET", f"/address-scopes/{shared['id']}", demo_token)[0] == 200  # shared: seen by all
    assert net("DELETE", f"/address-scopes/{scope['id']}", demo_token)[0] == 204
    status, body = net("GET", f"/address-scopes/{scope['id']}", demo_token)
    assert status == 404 and _error(body) == ("AddressScopeNotFound",
                                              f"Address scope {scope['id']} could not be found.")


def test_pools_in_a_scope(net, demo_token, admin_token):
    scope = net.make(demo_token, "address-scopes", "address_scope", name="s", ip_version=4)
    v6scope = net.make(demo_token, "address-scopes", "address_scope", name="s6", ip_version=6)
    pool = net.make(demo_token, "subnetpools", "subnetpool", name="a", prefixes=["10.170.0.0/16"],
                    address_scope_id=scope["id"])
    assert pool["address_scope_id"] == scope["id"]
    status, body = net("POST", "/subnetpools", demo_token, {"subnetpool": {
        "name": "b", "prefixes": ["10.170.128.0/17"], "address_scope_id": scope["id"]}})
    assert status == 409 and _error(body) == (
        "AddressScopePrefixConflict", "Failed to associate address scope: subnetpools within an address scope must "
                                      "have unique prefixes.")
    status, body = net("POST", "/subnetpools", demo_token, {"subnetpool": {
        "name": "c", "prefixes": ["10.171.0.0/16"], "address_scope_id": v6scope["id"]}})
    assert status == 400 and _error(body)[0] == "IllegalSubnetPoolIpVersionAssociationToAddressScope"
    other = net.make(admin_token, "address-scopes", "address_scope", name="admins", ip_version=4)
    status, body = net("POST", "/subnetpools", demo_token, {"subnetpool": {
        "name": "d", "prefixes": ["10.172.0.0/16"], "address_scope_id": other["id"]}})
    assert status == 400 and _error(body)[0] == "IllegalSubnetPoolAssociationToAddressScope"
    assert net("GET", "/subnetpools?name=b", demo_token)[1]["subnetpools"] == []  # nothing half-made
    # outside the scope, the same prefixes are fine; joining it later conflicts
    free = net.make(demo_token, "subnetpools", "subnetpool", name="e", prefixes=["10.170.0.0/24"])
    status, body = net("PUT", f"/subnetpools/{free['id']}", demo_token,
                       {"subnetpool": {"address_scope_id": scope["id"]}})
    assert status == 409 and _error(body)[0] == "AddressScopePrefixConflict"
    status, body = net("DELETE", f"/address-scopes/{scope['id']}", demo_token)
    assert status == 409 and _error(body) == (
        "AddressScopeInUse", f"Unable to complete operation on address scope {scope['id']}. There are one or more "
                             "subnet pools in use on the address scope.")
    assert net("PUT", f"/subnetpools/{pool['id']}", demo_token, {"subnetpool": {"address_scope_id": None}})[0] == 200
    assert net("DELETE", f"/address-scopes/{scope['id']}", demo_token)[0] == 204


def test_network_address_scopes(net, demo_token):
    scope = net.make(demo_token, "address-scopes", "address_scope", name="s", ip_version=4)
    scope6 = net.make(demo_token, "address-scopes", "address_scope", name="s6", ip_version=6)
    pool = net.make(demo_token, "subnetpools", "subnetpool", name="p", prefixes=["10.180.0.0/16"],
                    default_prefixlen=24, address_scope_id=scope["id"])
    pool6 = net.make(demo_token, "subnetpools", "subnetpool", name="p6", prefixes=["2001:db8:180::/48"],
                     address_scope_id=scope6["id"])
    network = net.make(demo_token, "networks", "network", name="scoped")
    assert (network["ipv4_address_scope"], network["ipv6_address_scope"]) == (None, None)
    net.make(demo_token, "subnets", "subnet", network_id=network["id"], ip_version=4, subnetpool_id=pool["id"])
    _, body = net("GET", f"/networks/{network['id']}", demo_token)
    assert (body["network"]["ipv4_address_scope"], body["network"]["ipv6_address_scope"]) == (scope["id"], None)
    net.make(demo_token, "subnets", "subnet", network_id=network["id"], ip_version=6, subnetpool_id=pool6["id"])
    _, body = net("GET", "/networks?name=scoped", demo_token)
    assert (body["networks"][0]["ipv4_address_scope"], body["networks"][0]["ipv6_address_scope"]) == (
        scope["id"], scope6["id"])
    status, body = net("PUT", f"/networks/{network['id']}", demo_token, {"network": {"ipv4_address_scope": None}})
    assert status == 400 and _error(body)[1] == "Cannot update read-only attribute ipv4_address_scope"
