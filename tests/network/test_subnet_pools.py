"""Issue 17: subnet pools (``subnet_allocation``, ``default-subnetpools``) over the wire: CRUD and
its faults, subnets cut from a pool by prefix length (best fit, 0052), by CIDR, from the default
pool, the pool's bounds and quota, delete refused while in use, prefixes that only grow, tags."""

from __future__ import annotations

import ipaddress


def _error(body: dict) -> tuple[str, str]:
    return body["NeutronError"]["type"], body["NeutronError"]["message"]


POOL_KEYS = {"id", "name", "ip_version", "prefixes", "default_prefixlen", "min_prefixlen", "max_prefixlen",
             "default_quota", "shared", "is_default", "address_scope_id", "description", "tenant_id", "project_id",
             "created_at", "updated_at", "revision_number", "tags"}


def _subnet(net, token, network_id, **attrs):  # noqa: ANN001, ANN202
    return net("POST", "/subnets", token, {"subnet": {"network_id": network_id, "ip_version": 4, **attrs}})


def test_extensions_and_resources_are_listed(net, demo_token):
    _, body = net("GET", "/extensions", demo_token)
    assert {"subnet_allocation", "default-subnetpools", "address-scope"} <= {e["alias"] for e in body["extensions"]}
    _, body = net("GET", "", demo_token)
    assert {"subnetpools", "address-scopes"} <= {r["collection"] for r in body["resources"]}


def test_crud_defaults_and_compaction(net, demo_token, admin_token):
    pool = net.make(demo_token, "subnetpools", "subnetpool", name="p1",
                    prefixes=["10.100.0.0/24", "10.100.1.0/24", "10.100.0.128/25", "10.101.0.5/16"])
    assert set(pool) == POOL_KEYS
    assert pool["prefixes"] == ["10.100.0.0/23", "10.101.0.0/16"]  # merged, host bits dropped
    assert (pool["ip_version"], pool["min_prefixlen"], pool["default_prefixlen"], pool["max_prefixlen"]) == (4, 8, 8,
                                                                                                            32)
    assert (pool["shared"], pool["is_default"], pool["default_quota"], pool["address_scope_id"]) == (
        False, False, None, None)
    v6 = net.make(demo_token, "subnetpools", "subnetpool", name="p6", prefixes=["2001:db8::/48"])
    assert (v6["ip_version"], v6["min_prefixlen"], v6["default_prefixlen"], v6["max_prefixlen"]) == (6, 64, 64, 128)
    status, body = net("PUT", f"/subnetpools/{pool['id']}", demo_token,
                       {"subnetpool": {"name": "p1b", "default_prefixlen": 26, "min_prefixlen": 24}})
    assert status == 200 and body["subnetpool"]["name"] == "p1b" and body["subnetpool"]["revision_number"] == 1
    status, body = net("GET", "/subnetpools?name=p1b", demo_token)
    assert [p["id"] for p in body["subnetpools"]] == [pool["id"]]
    assert net("GET", "/subnetpools?ip_version=6", demo_token)[1]["subnetpools"][0]["id"] == v6["id"]
    # another project does not see an unshared pool
    _, other = net("GET", "/subnetpools", admin_token)
    assert pool["id"] in {p["id"] for p in other["subnetpools"]}
    assert net("DELETE", f"/subnetpools/{pool['id']}", demo_token)[0] == 204
    status, body = net("GET", f"/subnetpools/{pool['id']}", demo_token)
    assert status == 404 and _error(body) == ("SubnetPoolNotFound", f"Subnet pool {pool['id']} could not be found.")


def test_create_faults(net, demo_token):
    def fault(**attrs):  # noqa: ANN003, ANN202
        status, body = net("POST", "/subnetpools", demo_token, {"subnetpool": {"name": "bad", **attrs}})
        return status, _error(body)

    assert fault(prefixes=[]) == (400, ("EmptySubnetPoolPrefixList", "Empty subnet pool prefix list."))
    assert fault(prefixes=["10.0.0.0/8", "2001:db8::/32"]) == (
        400, ("PrefixVersionMismatch", "Cannot mix IPv4 and IPv6 prefixes in a subnet pool."))
    assert fault(prefixes=["nonsense"])[0] == 400
    assert fault(prefixes=["10.0.0.0/8"], min_prefixlen=24, max_prefixlen=16) == (
        400, ("IllegalSubnetPoolPrefixBounds", "Illegal prefix bounds: min_prefixlen=24, max_prefixlen=16."))
    assert fault(prefixes=["10.0.0.0/8"], max_prefixlen=33) == (
        400, ("IllegalSubnetPoolPrefixBounds", "Illegal prefix bounds: max_prefixlen=33, ip_version_max=32."))
    assert fault(prefixes=["10.0.0.0/8"], min_prefixlen=16, default_prefixlen=12) == (
        400, ("IllegalSubnetPoolPrefixBounds", "Illegal prefix bounds: default_prefixlen=12, min_prefixlen=16."))
    assert fault(prefixes=["10.0.0.0/8"], shared=True)[0] == 403  # admin only
    assert fault(prefixes=["10.0.0.0/8"], is_default=True)[0] == 403
    assert fault()[0] == 400  # prefixes required
    assert fault(prefixes=["10.0.0.0/8"], bogus=1)[0] == 400
    assert fault(prefixes=["10.0.0.0/8"], min_prefixlen="eight")[0] == 400
    # beyond Neutron's integer columns, as a number or as digits: a 400 naming the field, never a 500
    for huge in (2 ** 64, 1.5e308, str(2 ** 64)):
        status, (kind, message) = fault(prefixes=["10.0.0.0/8"], default_quota=huge)
        assert status == 400 and "default_quota" in message, (huge, kind, message)
    assert net("GET", "/subnetpools?name=bad", demo_token)[1]["subnetpools"] == []  # nothing half-made


def test_subnets_cut_from_a_pool_best_fit(net, demo_token):
    pool = net.make(demo_token, "subnetpools", "subnetpool", name="cut", prefixes=["10.110.0.0/16"],
                    min_prefixlen="20", default_prefixlen=24, max_prefixlen=28)
    network = net.make(demo_token, "networks", "network", name="cutnet")
    first = net.make(demo_token, "subnets", "subnet", network_id=network["id"], ip_version=4,
                     subnetpool_id=pool["id"])
    assert (first["cidr"], first["subnetpool_id"], first["gateway_ip"]) == ("10.110.0.0/24", pool["id"], "10.110.0.1")
    assert first["allocation_pools"] == [{"start": "10.110.0.2", "end": "10.110.0.254"}]
    network2 = net.make(demo_token, "networks", "network", name="cutnet2")
    small = net.make(demo_token, "subnets", "subnet", network_id=network2["id"], ip_version=4,
                     subnetpool_id=pool["id"], prefixlen=28)
    assert small["cidr"] == "10.110.1.0/28"  # the smallest free block that holds a /28
    nxt = net.make(demo_token, "subnets", "subnet", network_id=network2["id"], ip_version=4,
                   subnetpool_id=pool["id"], prefixlen="28")  # Neutron converts digits, as the CLI sends them
    assert nxt["cidr"] == "10.110.1.16/28"
    # a CIDR inside the pool that is free
    explicit = net.make(demo_token, "subnets", "subnet", network_id=network2["id"], ip_version=4,
                        subnetpool_id=pool["id"], cidr="10.110.200.0/24")
    assert explicit["subnetpool_id"] == pool["id"]
    status, body = _subnet(net, demo_token, network2["id"], subnetpool_id=pool["id"], cidr="10.110.0.128/25")
    assert status == 409 and _error(body) == (
        "SubnetAllocationError", "Failed to allocate subnet: Cannot allocate requested subnet from the available "
                                 "set of prefixes.")
    status, body = _subnet(net, demo_token, network2["id"], subnetpool_id=pool["id"], cidr="192.168.0.0/24")
    assert status == 409 and _error(body)[0] == "SubnetAllocationError"
    status, body = _subnet(net, demo_token, network2["id"], subnetpool_id=pool["id"], prefixlen=29)
    assert status == 400 and _error(body) == (
        "MaxPrefixSubnetAllocationError", "Unable to allocate subnet with prefix length 29, maximum allowed prefix "
                                          "is 28.")
    status, body = _subnet(net, demo_token, network2["id"], subnetpool_id=pool["id"], prefixlen=16)
    assert status == 400 and _error(body)[0] == "MinPrefixSubnetAllocationError"
    status, body = _subnet(net, demo_token, network2["id"], subnetpool_id=pool["id"], prefixlen=24,
                           cidr="10.110.9.0/24")
    assert status == 400 and "cidr and prefixlen must not be supplied together" in _error(body)[1]
    status, body = _subnet(net, demo_token, network2["id"], subnetpool_id=pool["id"],
                           allocation_pools=[{"start": "10.110.5.2", "end": "10.110.5.9"}])
    assert status == 400 and "allocation_pools allowed only for specific subnet requests" in _error(body)[1]
    status, body = _subnet(net, demo_token, network2["id"], subnetpool_id=pool["id"], ip_version=6)
    assert status == 400
    status, body = _subnet(net, demo_token, network2["id"], subnetpool_id="f" * 36)
    assert status == 404 and _error(body)[0] == "SubnetPoolNotFound"
    # the pool's subnets never overlap each other
    _, body = net("GET", f"/subnets?subnetpool_id={pool['id']}", demo_token)
    nets = [ipaddress.ip_network(s["cidr"]) for s in body["subnets"]]
    assert len(nets) == 4 and not any(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1:])


def test_exhaustion_delete_in_use_and_growing_prefixes(net, demo_token):
    pool = net.make(demo_token, "subnetpools", "subnetpool", name="tiny", prefixes=["10.120.0.0/23"],
                    min_prefixlen=24, default_prefixlen=24)
    network = net.make(demo_token, "networks", "network", name="tinynet")
    net.make(demo_token, "subnets", "subnet", network_id=network["id"], ip_version=4, subnetpool_id=pool["id"])
    network2 = net.make(demo_token, "networks", "network", name="tinynet2")
    second = net.make(demo_token, "subnets", "subnet", network_id=network2["id"], ip_version=4,
                      subnetpool_id=pool["id"])
    assert second["cidr"] == "10.120.1.0/24"
    status, body = _subnet(net, demo_token, network2["id"], subnetpool_id=pool["id"])
    assert status == 409 and _error(body) == (
        "SubnetAllocationError", "Failed to allocate subnet: Insufficient prefix space to allocate subnet size /24.")
    status, body = net("DELETE", f"/subnetpools/{pool['id']}", demo_token)
    assert status == 400 and _error(body) == (
        "SubnetPoolDeleteError", "Unable to delete subnet pool: Subnet pool has existing allocations.")
    # prefixes only grow
    status, body = net("PUT", f"/subnetpools/{pool['id']}", demo_token, {"subnetpool": {"prefixes": ["10.120.0.0/24"]}})
    assert status == 400 and _error(body) == (
        "IllegalSubnetPoolPrefixUpdate", "Illegal update to prefixes: Existing prefixes must be a subset of the new "
                                         "prefixes.")
    status, body = net("PUT", f"/subnetpools/{pool['id']}", demo_token,
                       {"subnetpool": {"prefixes": ["10.120.0.0/23", "10.120.2.0/24"]}})
    assert status == 200 and body["subnetpool"]["prefixes"] == ["10.120.0.0/23", "10.120.2.0/24"]
    third = net.make(demo_token, "subnets", "subnet", network_id=network2["id"], ip_version=4,
                     subnetpool_id=pool["id"])
    assert third["cidr"] == "10.120.2.0/24"
    # the subnets gone, the pool goes
    for subnet in net("GET", f"/subnets?subnetpool_id={pool['id']}", demo_token)[1]["subnets"]:
        assert net("DELETE", f"/subnets/{subnet['id']}", demo_token)[0] == 204
    assert net("DELETE", f"/subnetpools/{pool['id']}", demo_token)[0] == 204


def test_default_pool_shared_and_use_default(net, demo_token, admin_token):
    status, body = _subnet(net, demo_token, "x" * 36, use_default_subnetpool=True)
    assert status in (400, 404)
    pool = net.make(admin_token, "subnetpools", "subnetpool", name="shared-default", prefixes=["10.130.0.0/16"],
                    default_prefixlen=26, shared=True, is_default=True)
    status, body = net("POST", "/subnetpools", admin_token, {"subnetpool": {
        "name": "second-default", "prefixes": ["10.131.0.0/16"], "is_default": True}})
    assert status == 400 and _error(body) == (
        "InvalidInput", "Invalid input for operation: A default subnetpool for this IP family has already been set. "
                        "Only one default may exist per IP family.")
    # the demo project sees the shared pool and cuts from it by default
    assert net("GET", f"/subnetpools/{pool['id']}", demo_token)[0] == 200
    network = net.make(demo_token, "networks", "network", name="defnet")
    subnet = net.make(demo_token, "subnets", "subnet", network_id=network["id"], ip_version=4,
                      use_default_subnetpool=True)
    assert (subnet["cidr"], subnet["subnetpool_id"]) == ("10.130.0.0/26", pool["id"])
    status, body = _subnet(net, demo_token, network["id"], use_default_subnetpool=True, subnetpool_id=pool["id"])
    assert status == 400 and "cannot both be specified" in _error(body)[1]
    status, body = net("POST", "/subnets", demo_token, {"subnet": {
        "network_id": network["id"], "ip_version": 6, "use_default_subnetpool": True}})
    assert status == 400 and _error(body) == ("BadRequest", "Bad subnets request: No default subnetpool found for "
                                                            "IPv6.")
    # a member may not change or delete the admin's pool, nor make its own default
    assert net("PUT", f"/subnetpools/{pool['id']}", demo_token, {"subnetpool": {"name": "x"}})[0] in (403, 404)
    assert net("DELETE", f"/subnetpools/{pool['id']}", demo_token)[0] in (403, 404)
    mine = net.make(demo_token, "subnetpools", "subnetpool", name="mine", prefixes=["10.132.0.0/16"])
    assert net("PUT", f"/subnetpools/{mine['id']}", demo_token, {"subnetpool": {"is_default": True}})[0] == 403


def test_pool_quota_and_the_subnetpool_quota(net, demo_token, admin_token):
    pool = net.make(demo_token, "subnetpools", "subnetpool", name="q", prefixes=["10.140.0.0/16"],
                    default_prefixlen=24, default_quota=300)
    network = net.make(demo_token, "networks", "network", name="qnet")
    net.make(demo_token, "subnets", "subnet", network_id=network["id"], ip_version=4, subnetpool_id=pool["id"])
    status, body = _subnet(net, demo_token, network["id"], subnetpool_id=pool["id"])  # 256 + 256 > 300
    assert status == 409 and _error(body) == ("SubnetPoolQuotaExceeded",
                                              "Per-tenant subnet pool prefix quota exceeded.")
    project = net("GET", "/subnetpools", demo_token)[1]["subnetpools"][0]["project_id"]
    _, body = net("GET", f"/quotas/{project}", demo_token)
    assert body["quota"]["subnetpool"] == -1
    assert net("PUT", f"/quotas/{project}", admin_token, {"quota": {"subnetpool": 1}})[0] == 200
    status, body = net("POST", "/subnetpools", demo_token, {"subnetpool": {"name": "over", "prefixes": ["10.9.0.0/16"]}})
    assert status == 409 and _error(body)[0] == "OverQuota"
    _, body = net("GET", f"/quotas/{project}/details.json", demo_token)
    assert body["quota"]["subnetpool"]["used"] == 1


def test_pool_tags(net, demo_token):
    pool = net.make(demo_token, "subnetpools", "subnetpool", name="tagged", prefixes=["10.150.0.0/16"])
    assert net("PUT", f"/subnetpools/{pool['id']}/tags", demo_token, {"tags": ["red", "blue"]})[0] == 200
    assert net("PUT", f"/subnetpools/{pool['id']}/tags/green", demo_token)[0] == 201
    assert net("GET", f"/subnetpools/{pool['id']}/tags", demo_token)[1]["tags"] == ["blue", "green", "red"]
    _, body = net("GET", "/subnetpools?tags=red,green", demo_token)
    assert [p["id"] for p in body["subnetpools"]] == [pool["id"]]
    assert net("GET", "/subnetpools?not-tags-any=red", demo_token)[1]["subnetpools"] == []
    assert net("DELETE", f"/subnetpools/{pool['id']}/tags/red", demo_token)[0] == 204
    assert net("DELETE", f"/subnetpools/{pool['id']}/tags/red", demo_token)[0] == 404
