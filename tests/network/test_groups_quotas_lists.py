"""Security groups and rules, quotas, tags, and list queries (filters, fields, sorting, paging)."""

from __future__ import annotations

from urllib.parse import urlsplit


def _error(body: dict) -> tuple[str, str]:
    return body["NeutronError"]["type"], body["NeutronError"]["message"]


def test_default_group_has_neutrons_four_rules(net, cloud):
    token = cloud.token("alt_demo", "alt_demo")
    _, body = net("GET", "/security-groups", token)
    [group] = body["security_groups"]
    assert group["name"] == "default"
    rules = {(r["direction"], r["ethertype"], r["remote_group_id"]) for r in group["security_group_rules"]}
    assert rules == {("egress", "IPv4", None), ("egress", "IPv6", None),
                     ("ingress", "IPv4", group["id"]), ("ingress", "IPv6", group["id"])}
    status, body = net("DELETE", f"/security-groups/{group['id']}", token)
    assert status == 409 and _error(body)[0] == "SecurityGroupCannotRemoveDefault"


def test_rule_validation(net, demo_token):
    group = net.make(demo_token, "security-groups", "security_group", name="web")
    assert len(group["security_group_rules"]) == 2

    def rule(**attrs):  # noqa: ANN202
        return net("POST", "/security-group-rules", demo_token, {"security_group_rule": {
            "security_group_id": group["id"], "direction": "ingress", **attrs}})

    status, body = rule(protocol="tcp", port_range_min=80, port_range_max=80, remote_ip_prefix="0.0.0.0/0")
    assert status == 201 and body["security_group_rule"]["port_range_min"] == 80
    status, body = rule(protocol="tcp", port_range_min=80, port_range_max=80, remote_ip_prefix="0.0.0.0/0")
    assert status == 409 and _error(body)[0] == "SecurityGroupRuleExists"
    assert _error(body)[1].startswith("Security group rule already exists. Rule id is ")
    assert rule(protocol="bogus")[0] == 400
    assert _error(rule(protocol="tcp", port_range_min=90, port_range_max=80)[1])[0] == "SecurityGroupInvalidPortRange"
    assert _error(rule(port_range_min=80, port_range_max=80)[1])[0] == "SecurityGroupProtocolRequiredWithPorts"
    assert _error(rule(protocol="icmp", port_range_min=300)[1])[0] == "SecurityGroupInvalidIcmpValue"
    assert _error(rule(protocol="icmp", port_range_max=0)[1])[0] == "SecurityGroupMissingIcmpType"
    assert rule(protocol="icmp", port_range_min=8, port_range_max=0)[0] == 201
    assert rule(protocol="17", port_range_min=53, port_range_max=53)[0] == 201
    status, body = rule(ethertype="IPv6", remote_ip_prefix="10.0.0.0/8")
    assert status == 400 and _error(body)[0] == "SecurityGroupRuleParameterConflict"
    assert _error(rule(remote_ip_prefix="10.0.0.0/8", remote_group_id=group["id"])[1])[0] == \
        "SecurityGroupRemoteGroupAndRemoteIpPrefix"
    assert rule(remote_group_id="no-such-group")[0] == 404
    _, body = net("GET", f"/security-group-rules?security_group_id={group['id']}", demo_token)
    assert len(body["security_group_rules"]) == 5
    rid = body["security_group_rules"][-1]["id"]
    assert net("DELETE", f"/security-group-rules/{rid}", demo_token)[0] == 204
    assert net("GET", f"/security-group-rules/{rid}", demo_token)[0] == 404
    status, body = net("POST", "/security-groups", demo_token, {"security_group": {"name": "default"}})
    assert status == 409


def test_group_in_use_by_port(net, demo_token):
    group = net.make(demo_token, "security-groups", "security_group", name="g")
    _, body = net("GET", "/networks?name=private", demo_token)
    port = net.make(demo_token, "ports", "port", network_id=body["networks"][0]["id"], security_groups=[group["id"]])
    assert port["security_groups"] == [group["id"]]
    status, body = net("DELETE", f"/security-groups/{group['id']}", demo_token)
    assert status == 409 and _error(body)[0] == "SecurityGroupInUse"


def test_quotas_show_set_details_and_enforcement(net, demo_token, admin_token):
    _, body = net("GET", "/networks?name=private", demo_token)
    project = body["networks"][0]["project_id"]
    status, body = net("GET", f"/quotas/{project}", demo_token)
    assert status == 200 and body["quota"]["network"] == 100
    assert net("PUT", f"/quotas/{project}", demo_token, {"quota": {"network": 5}})[0] == 403
    status, body = net("PUT", f"/quotas/{project}", admin_token, {"quota": {"network": 2}})
    assert status == 200 and body["quota"]["network"] == 2
    _, body = net("GET", f"/quotas/{project}/details.json", demo_token)
    assert body["quota"]["network"] == {"limit": 2, "used": 1, "reserved": 0}
    net.make(demo_token, "networks", "network", name="second")
    status, body = net("POST", "/networks", demo_token, {"network": {"name": "third"}})
    assert status == 409 and _error(body) == ("OverQuota", "Quota exceeded for resources: ['network'].")
    _, body = net("GET", "/quotas", admin_token)
    assert project in [q["project_id"] for q in body["quotas"]]
    assert net("DELETE", f"/quotas/{project}", admin_token)[0] == 204
    _, body = net("GET", f"/quotas/{project}/default", demo_token)
    assert body["quota"]["network"] == 100
    assert net("GET", f"/quotas/{project}", demo_token)[1]["quota"]["network"] == 100


def test_tags_and_tag_filters(net, demo_token):
    a = net.make(demo_token, "networks", "network", name="a")
    b = net.make(demo_token, "networks", "network", name="b")
    status, body = net("PUT", f"/networks/{a['id']}/tags", demo_token, {"tags": ["red", "blue"]})
    assert status == 200 and body["tags"] == ["blue", "red"]
    assert net("PUT", f"/networks/{b['id']}/tags/red", demo_token)[0] == 201
    assert net("GET", f"/networks/{b['id']}/tags/red", demo_token)[0] == 204
    assert net("GET", f"/networks/{b['id']}/tags/blue", demo_token)[0] == 404

    def names(query: str) -> list[str]:
        return sorted(n["name"] for n in net("GET", f"/networks?{query}", demo_token)[1]["networks"]
                      if n["name"] in ("a", "b"))

    assert names("tags=red,blue") == ["a"]
    assert names("tags-any=red") == ["a", "b"]
    assert names("not-tags=blue") == ["b"]
    assert names("not-tags-any=red") == []
    assert net("DELETE", f"/networks/{a['id']}/tags", demo_token)[0] == 204
    assert net("GET", f"/networks/{a['id']}/tags", demo_token)[1] == {"tags": []}


def test_fields_sorting_and_pagination(net, demo_token):
    for name in ("p1", "p2", "p3", "p4", "p5"):
        net.make(demo_token, "networks", "network", name=name)
    _, body = net("GET", "/networks?fields=id&fields=name&name=p1", demo_token)
    assert set(body["networks"][0]) == {"id", "name"}
    _, body = net("GET", "/networks?sort_key=name&sort_dir=desc", demo_token)
    names = [n["name"] for n in body["networks"]]
    assert names == sorted(names, reverse=True)
    seen: list[str] = []
    url = "/networks?sort_key=name&sort_dir=asc&limit=2"
    while url:
        _, body = net("GET", url, demo_token)
        seen += [n["name"] for n in body["networks"]]
        nxt = [link["href"] for link in body.get("networks_links", []) if link["rel"] == "next"]
        url = ("/" + urlsplit(nxt[0]).path.split("/v2.0/", 1)[1] + "?" + urlsplit(nxt[0]).query) if nxt else ""
    assert seen == sorted(seen) and {"p1", "p2", "p3", "p4", "p5"} <= set(seen)
    assert net("GET", "/networks?limit=x", demo_token)[0] == 400
    assert net("GET", "/networks?sort_key=bogus", demo_token)[0] == 400


def test_reader_cannot_write(net, reader_token):
    assert net("GET", "/ports", reader_token)[0] == 200
    assert net("POST", "/security-groups", reader_token, {"security_group": {"name": "x"}})[0] == 403
    assert net("POST", "/routers", reader_token, {"router": {"name": "x"}})[0] == 403


def test_default_group_made_concurrently_is_found_not_doubled(cloud, net, demo_token):
    """Two first uses racing: the loser's insert of the project's default-group link is refused
    by the database; it then takes the winner's group instead of failing."""
    from overcast.core.network import security_groups
    from overcast.store.network import DefaultSecurityGroup

    status, body = net("GET", "/security-groups", demo_token)  # the default group is made here
    [default] = [g for g in body["security_groups"] if g["name"] == "default"]
    core = cloud.app.network
    with core.session() as session:
        real_get = session.get
        stale = {"once": True}

        def get(model, ident, **kw):  # noqa: ANN001, ANN202 - the loser read before the winner committed
            if model is DefaultSecurityGroup and stale.pop("once", False):
                return None
            return real_get(model, ident, **kw)

        session.get = get
        group = security_groups.ensure_default(core, session, default["project_id"])
        assert group is not None and group.id == default["id"]
    status, body = net("GET", "/security-groups?name=default", demo_token)
    assert [g["id"] for g in body["security_groups"]] == [default["id"]]
