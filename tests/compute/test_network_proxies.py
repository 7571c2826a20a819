"""Nova's network proxies over Neutron's records: os-networks, os-tenant-networks, os-floating-ips,
os-floating-ip-pools, os-floating-ip-dns, os-security-groups and os-security-group-rules (below
2.36, 404 from 2.36), and the addFloatingIp/removeFloatingIp server actions (below 2.44).

Every success is checked against Tempest's schema for the microversion sent; what the proxy makes
is checked in Neutron's own API, which shares the records.
"""

from __future__ import annotations

import json
import time

import pytest
from schemas import Api, check, seeded  # noqa: F401
from sqlalchemy import select

from overcast.store.compute import Server
from overcast.store.models import Project

GONE = "This resource is no longer available.  No forwarding address is given."
NOT_FOUND = "The resource could not be found."


@pytest.fixture
def alt(seeded):  # noqa: ANN001, ANN201
    return Api(seeded, seeded.token("alt_demo", "alt_demo"))


class Neutron:
    """The same cloud's Neutron API, to see what the proxies made."""

    def __init__(self, cloud, token: str):  # noqa: ANN001
        self.cloud, self.token = cloud, token

    def __call__(self, method: str, path: str, body: dict | None = None, token: str | None = None):  # noqa: ANN204
        resp = self.cloud.request(method, "/network/v2.0" + path, token or self.token, json=body)
        return resp.status_code, (json.loads(resp.text) if resp.text else {})


@pytest.fixture
def neutron(seeded, demo_token) -> Neutron:  # noqa: ANN001
    return Neutron(seeded, demo_token)


def fault(resp, code: int, name: str) -> str:  # noqa: ANN001
    """Assert a Nova fault body of ``code``; returns its message."""
    assert resp.status_code == code, (resp.status_code, resp.text)
    body = resp.json[name]
    assert body["code"] == code
    return body["message"]


def _network(neutron: Neutron, name: str) -> dict:
    status, body = neutron("GET", f"/networks?name={name}")
    assert status == 200
    [network] = body["networks"]
    return network


def _project(cloud, name: str) -> str:  # noqa: ANN001
    with cloud.app.compute.store.session() as session:
        return session.scalar(select(Project.id).where(Project.name == name))


def _server(cloud, project: str = "demo", host: str | None = "overcast-1") -> str:  # noqa: ANN001
    """A server record of ``project`` (no ports; tests plug the ports they need)."""
    with cloud.app.compute.store.session() as session:
        server = Server(cloud="RegionOne", project_id=_project(cloud, project), user_id="u", name="vm",
                        flavor_id="1", flavor={"vcpus": 1, "ram": 512, "disk": 1}, vm_state="active",
                        task_state=None, host=host)
        session.add(server)
        session.flush()
        return server.id


def _port(neutron: Neutron, server_id: str, network: str = "private", **attrs) -> dict:
    """A port of the server on ``network``, as Nova's build makes them (device_id = server id)."""
    status, body = neutron("POST", "/ports", {"port": {"network_id": _network(neutron, network)["id"],
                                                       "device_id": server_id, "device_owner": "compute:nova",
                                                       **attrs}})
    assert status == 201, body
    return body["port"]


# -- os-networks and os-tenant-networks -------------------------------------------------------------


def test_networks_list_and_show_what_neutron_shows(demo, admin, alt, neutron):
    private, public = _network(neutron, "private"), _network(neutron, "public")
    listed = demo("GET", "/os-networks").json["networks"]
    assert {n["id"]: n["label"] for n in listed} == {private["id"]: "private", public["id"]: "public"}
    shown = demo("GET", f"/os-networks/{private['id']}").json["network"]
    assert shown["id"] == private["id"] and shown["label"] == "private"
    assert {k for k, v in shown.items() if v is not None} == {"id", "label"} and len(shown) == 11
    admin_view = admin("GET", f"/os-networks/{private['id']}", "2.35").json["network"]
    assert len(admin_view) == 32 and admin_view["project_id"] is None
    assert fault(alt("GET", f"/os-networks/{private['id']}"), 404, "itemNotFound") == "Network not found"
    assert private["id"] not in [n["id"] for n in alt("GET", "/os-networks").json["networks"]]


def test_tenant_networks_match_tempest(demo, neutron):
    private = _network(neutron, "private")
    body = check(demo("GET", "/os-tenant-networks", "2.35"), "v2_1.tenant_networks", "list_tenant_networks")
    assert {"id": private["id"], "cidr": "None", "label": "private"} in body["networks"]
    body = check(demo("GET", f"/os-tenant-networks/{private['id']}"), "v2_1.tenant_networks", "get_tenant_network")
    assert body["network"] == {"id": private["id"], "cidr": "None", "label": "private"}
    assert fault(demo("GET", "/os-tenant-networks/nope"), 404, "itemNotFound") == "Network not found"


@pytest.mark.parametrize("path", ["/os-networks", "/os-tenant-networks", "/os-floating-ips",
                                  "/os-floating-ip-pools", "/os-security-groups"])
def test_proxies_are_not_found_from_2_36(demo, path):
    assert demo("GET", path, "2.35").status_code == 200
    assert fault(demo("GET", path, "2.36"), 404, "itemNotFound") == NOT_FOUND
    assert fault(demo("GET", path, "2.90"), 404, "itemNotFound") == NOT_FOUND


def test_proxy_items_and_writes_are_not_found_from_2_36(demo, neutron):
    private = _network(neutron, "private")["id"]
    group = demo("GET", "/os-security-groups").json["security_groups"][0]["id"]
    for method, path, body in (("GET", f"/os-networks/{private}", None),
                               ("GET", f"/os-tenant-networks/{private}", None),
                               ("POST", "/os-floating-ips", {"pool": "public"}),
                               ("GET", f"/os-security-groups/{group}", None),
                               ("POST", "/os-security-groups", {"security_group": {"name": "a", "description": ""}}),
                               ("PUT", f"/os-security-groups/{group}", {"security_group": {"name": "a",
                                                                                           "description": ""}}),
                               ("DELETE", f"/os-security-groups/{group}", None),
                               ("POST", "/os-security-group-rules", {"security_group_rule": {}})):
        assert fault(demo(method, path, "2.36", json=body), 404, "itemNotFound") == NOT_FOUND, path
    assert _network(neutron, "private")["id"] == private


def test_nova_network_writes_are_gone_at_every_version(demo, neutron):
    private = _network(neutron, "private")["id"]
    for version in ("2.1", "2.36", "2.90"):
        for method, path, body in (("POST", "/os-networks", {"network": {"label": "x"}}),
                                   ("DELETE", f"/os-networks/{private}", None),
                                   ("POST", "/os-networks/add", {"id": private}),
                                   ("POST", f"/os-networks/{private}/action", {"disassociate": None}),
                                   ("POST", f"/os-networks/{private}/action", {"associate_host": "h"}),
                                   ("POST", "/os-tenant-networks", {"network": {"label": "x", "cidr": "10.9.0.0/24"}}),
                                   ("DELETE", f"/os-tenant-networks/{private}", None)):
            assert fault(demo(method, path, version, json=body), 410, "computeFault") == GONE, (version, path)
    assert "no such action: reboot" in fault(demo("POST", f"/os-networks/{private}/action", json={"reboot": {}}),
                                             400, "badRequest")
    assert _network(neutron, "private")["id"] == private


# -- os-floating-ip-pools, os-floating-ips, os-floating-ip-dns --------------------------------------


def test_floating_ip_pools_are_the_external_networks(demo, admin):
    assert demo("GET", "/os-floating-ip-pools").json == {"floating_ip_pools": [{"name": "public"}]}
    made = admin.cloud.request("POST", "/network/v2.0/networks", admin.token, json={
        "network": {"name": "", "router:external": True}}).json["network"]
    pools = demo("GET", "/os-floating-ip-pools", "2.35").json["floating_ip_pools"]
    assert pools == [{"name": "public"}, {"name": made["id"]}]  # an unnamed pool shows its id


def test_allocate_show_list_release(demo, neutron):
    created = check(demo("POST", "/os-floating-ips", json={"pool": "public"}), "v2_1.floating_ips",
                    "create_get_floating_ip")["floating_ip"]
    assert created["pool"] == "public" and created["ip"].startswith("172.24.4.")
    assert created["fixed_ip"] is None and created["instance_id"] is None
    status, fip = neutron("GET", f"/floatingips/{created['id']}")
    assert status == 200 and fip["floatingip"]["floating_ip_address"] == created["ip"]
    default_pool = check(demo("POST", "/os-floating-ips", "2.35"), "v2_1.floating_ips",
                         "create_get_floating_ip")["floating_ip"]  # no body: the default pool
    assert default_pool["pool"] == "public"
    listed = check(demo("GET", "/os-floating-ips"), "v2_1.floating_ips", "list_floating_ips")["floating_ips"]
    assert {f["id"] for f in listed} == {created["id"], default_pool["id"]}
    shown = check(demo("GET", f"/os-floating-ips/{created['id']}"), "v2_1.floating_ips", "create_get_floating_ip")
    assert shown["floating_ip"] == created
    assert demo("DELETE", f"/os-floating-ips/{created['id']}").status_code == 202
    assert neutron("GET", f"/floatingips/{created['id']}")[0] == 404
    assert fault(demo("GET", f"/os-floating-ips/{created['id']}"), 404, "itemNotFound") == \
        f"Floating IP not found for ID {created['id']}"
    assert fault(demo("DELETE", f"/os-floating-ips/{created['id']}"), 404, "itemNotFound") == \
        f"Floating IP not found for ID {created['id']}"


def test_allocate_bad_input(demo):
    assert fault(demo("POST", "/os-floating-ips", json={"pool": "nowhere"}), 404, "itemNotFound") == \
        "Floating IP pool not found."
    assert fault(demo("POST", "/os-floating-ips", json={"pool": 5}), 400, "badRequest")
    assert fault(demo("POST", "/os-floating-ips", json=[]), 400, "badRequest")
    assert fault(demo("POST", "/os-floating-ips", body="{"), 400, "badRequest")
    assert demo("GET", "/os-floating-ips").json == {"floating_ips": []}


def test_a_caller_without_a_project_gets_neutrons_400(seeded):
    system = Api(seeded, seeded.token("admin", system=True))
    message = "Running without keystone AuthN requires that tenant_id is specified"
    assert fault(system("POST", "/os-floating-ips", json={"pool": "public"}), 400, "badRequest") == message
    assert fault(system("POST", "/os-security-groups", json={"security_group": {"name": "a", "description": ""}}),
                 400, "badRequest") == message
    assert system("GET", "/os-floating-ips").json == {"floating_ips": []}


def test_floating_ips_are_the_projects(demo, alt, admin):
    fip = demo("POST", "/os-floating-ips", json={"pool": "public"}).json["floating_ip"]
    assert fault(alt("GET", f"/os-floating-ips/{fip['id']}"), 404, "itemNotFound")
    assert fault(alt("DELETE", f"/os-floating-ips/{fip['id']}"), 404, "itemNotFound")
    assert alt("GET", "/os-floating-ips").json["floating_ips"] == []
    assert admin("GET", "/os-floating-ips").json["floating_ips"] == []  # Nova lists by project, for admins too
    assert admin("GET", f"/os-floating-ips/{fip['id']}").json["floating_ip"]["ip"] == fip["ip"]
    assert demo("GET", f"/os-floating-ips/{fip['id']}").status_code == 200


def test_allocate_over_quota_and_from_an_exhausted_pool(demo, admin, neutron, seeded):
    demo_project = _project(seeded, "demo")
    status, _ = neutron("PUT", f"/quotas/{demo_project}", {"quota": {"floatingip": 0}}, token=admin.token)
    assert status == 200
    assert fault(demo("POST", "/os-floating-ips", json={"pool": "public"}), 403, "forbidden") == \
        "IP allocation over quota in pool public."
    assert fault(demo("POST", "/os-floating-ips"), 403, "forbidden") == "IP allocation over quota."
    neutron("PUT", f"/quotas/{demo_project}", {"quota": {"floatingip": 50}}, token=admin.token)
    status, tiny = neutron("POST", "/networks", {"network": {"name": "tiny", "router:external": True}},
                           token=admin.token)
    assert status == 201
    status, _ = neutron("POST", "/subnets", {"subnet": {"network_id": tiny["network"]["id"], "ip_version": 4,
                                                        "cidr": "198.51.100.0/30"}}, token=admin.token)
    assert status == 201
    assert demo("POST", "/os-floating-ips", json={"pool": "tiny"}).status_code == 200
    assert fault(demo("POST", "/os-floating-ips", json={"pool": "tiny"}), 404, "itemNotFound") == \
        "No more floating IPs in pool tiny."
    assert len(demo("GET", "/os-floating-ips").json["floating_ips"]) == 1  # nothing half-made


def test_floating_ip_dns_is_gone(demo):
    for method, path, body in (("GET", "/os-floating-ip-dns", None),
                               ("PUT", "/os-floating-ip-dns/example.org", {"domain_entry": {"scope": "public"}}),
                               ("DELETE", "/os-floating-ip-dns/example.org", None),
                               ("GET", "/os-floating-ip-dns/example.org/entries/www", None),
                               ("PUT", "/os-floating-ip-dns/example.org/entries/www",
                                {"dns_entry": {"ip": "192.0.2.1", "dns_type": "A"}}),
                               ("DELETE", "/os-floating-ip-dns/example.org/entries/www", None)):
        assert fault(demo(method, path, json=body), 410, "computeFault") == GONE, (method, path)
    assert fault(demo("GET", "/os-floating-ip-dns/example.org"), 404, "itemNotFound") == NOT_FOUND


# -- addFloatingIp / removeFloatingIp ---------------------------------------------------------------


def test_add_and_remove_floating_ip(demo, neutron, seeded, ops):
    server = _server(seeded)
    port = _port(neutron, server)
    fixed = port["fixed_ips"][0]["ip_address"]
    fip = demo("POST", "/os-floating-ips", json={"pool": "public"}).json["floating_ip"]
    added = demo("POST", f"/servers/{server}/action", json={"addFloatingIp": {"address": fip["ip"]}})
    check(added, "v2_1.floating_ips", "add_remove_floating_ip")
    shown = demo("GET", f"/os-floating-ips/{fip['id']}").json["floating_ip"]
    assert shown["fixed_ip"] == fixed and shown["instance_id"] == server
    deadline = time.monotonic() + 15
    while neutron("GET", f"/floatingips/{fip['id']}")[1]["floatingip"]["status"] != "ACTIVE":  # once mapped
        assert time.monotonic() < deadline, "the floating IP never became ACTIVE"
        time.sleep(0.02)
    assert neutron("GET", f"/floatingips/{fip['id']}")[1]["floatingip"]["port_id"] == port["id"]
    removed = demo("POST", f"/servers/{server}/action", "2.43", json={"removeFloatingIp": {"address": fip["ip"]}})
    check(removed, "v2_1.floating_ips", "add_remove_floating_ip")
    assert demo("GET", f"/os-floating-ips/{fip['id']}").json["floating_ip"]["fixed_ip"] is None
    assert neutron("GET", f"/floatingips/{fip['id']}")[1]["floatingip"]["port_id"] is None
    assert fault(demo("POST", f"/servers/{server}/action", json={"removeFloatingIp": {"address": fip["ip"]}}),
                 409, "conflictingRequest") == f"Floating IP {fip['ip']} is not associated with instance {server}."
    with_fixed = demo("POST", f"/servers/{server}/action", json={"addFloatingIp": {"address": fip["ip"],
                                                                                    "fixed_address": fixed}})
    assert with_fixed.status_code == 202


def test_remove_from_the_server_it_is_on_only(demo, neutron, seeded):
    first, second = _server(seeded), _server(seeded)
    _port(neutron, first)
    bare = _port(neutron, second, fixed_ips=[])
    assert bare["fixed_ips"] == []
    fip = demo("POST", "/os-floating-ips", json={"pool": "public"}).json["floating_ip"]
    assert fault(demo("POST", f"/servers/{second}/action", json={"addFloatingIp": {"address": fip["ip"]}}),
                 400, "badRequest") == "No fixed IPs associated to instance"
    assert demo("POST", f"/servers/{first}/action", json={"addFloatingIp": {"address": fip["ip"]}}).status_code == 202
    assert fault(demo("POST", f"/servers/{second}/action", json={"removeFloatingIp": {"address": fip["ip"]}}),
                 409, "conflictingRequest") == f"Floating IP {fip['ip']} is not associated with instance {second}."
    assert demo("GET", f"/os-floating-ips/{fip['id']}").json["floating_ip"]["instance_id"] == first


def test_floating_ip_actions_end_at_2_44(demo, neutron, seeded):
    server = _server(seeded)
    _port(neutron, server)
    fip = demo("POST", "/os-floating-ips", json={"pool": "public"}).json["floating_ip"]
    for action in ("addFloatingIp", "removeFloatingIp"):
        for version in ("2.44", "2.90"):
            resp = demo("POST", f"/servers/{server}/action", version, json={action: {"address": fip["ip"]}})
            assert fault(resp, 404, "itemNotFound") == NOT_FOUND
    assert demo("GET", f"/os-floating-ips/{fip['id']}").json["floating_ip"]["fixed_ip"] is None


def test_floating_ip_action_faults(demo, alt, neutron, seeded):
    server = _server(seeded)
    fip = demo("POST", "/os-floating-ips", json={"pool": "public"}).json["floating_ip"]

    def add(body: dict, api: Api = demo, target: str = server):  # noqa: ANN202
        return api("POST", f"/servers/{target}/action", json={"addFloatingIp": body})

    assert fault(add({"address": fip["ip"]}), 400, "badRequest") == "Instance network is not ready yet"
    port = _port(neutron, server)
    assert fault(add({"address": "not-an-ip"}), 400, "badRequest")
    assert fault(add({"address": fip["ip"], "extra": 1}), 400, "badRequest")
    assert fault(add({}), 400, "badRequest")
    assert fault(add({"address": fip["ip"], "fixed_address": "10.9.9.9"}), 400, "badRequest") == \
        "Specified fixed address not assigned to instance"
    assert fault(add({"address": "203.0.113.7"}), 404, "itemNotFound") == "floating IP not found"
    assert fault(demo("POST", f"/servers/{server}/action", json={"removeFloatingIp": {"address": "203.0.113.7"}}),
                 404, "itemNotFound") == "Floating IP not found for address 203.0.113.7."
    # another project can neither use the floating IP nor act on the server
    alt_neutron = Neutron(seeded, alt.token)
    status, altnet = alt_neutron("POST", "/networks", {"network": {"name": "altnet"}})
    assert alt_neutron("POST", "/subnets", {"subnet": {"network_id": altnet["network"]["id"], "ip_version": 4,
                                                       "cidr": "10.20.0.0/24"}})[0] == 201
    alt_server = _server(seeded, "alt_demo")
    _port(alt_neutron, alt_server, network="altnet")
    assert fault(add({"address": fip["ip"]}, alt, alt_server), 404, "itemNotFound") == "floating IP not found"
    assert fault(add({"address": fip["ip"]}, alt), 404, "itemNotFound") == f"Instance {server} could not be found."
    # a fixed IP already mapped to another floating IP: Neutron's refusal, as Nova's 400
    assert add({"address": fip["ip"]}).status_code == 202
    other = demo("POST", "/os-floating-ips", json={"pool": "public"}).json["floating_ip"]
    message = fault(add({"address": other["ip"]}), 400, "badRequest")
    assert "already has a floating IP" in message
    assert neutron("GET", f"/floatingips/{other['id']}")[1]["floatingip"]["port_id"] is None
    assert port["id"] == neutron("GET", f"/floatingips/{fip['id']}")[1]["floatingip"]["port_id"]


def test_add_floating_ip_needs_an_ipv4_fixed_address(demo, neutron, seeded):
    status, v6 = neutron("POST", "/networks", {"network": {"name": "v6only"}})
    assert status == 201
    status, _ = neutron("POST", "/subnets", {"subnet": {"network_id": v6["network"]["id"], "ip_version": 6,
                                                        "cidr": "2001:db8:1::/64"}})
    assert status == 201
    server = _server(seeded)
    _port(neutron, server, network="v6only")
    fip = demo("POST", "/os-floating-ips", json={"pool": "public"}).json["floating_ip"]
    message = fault(demo("POST", f"/servers/{server}/action", json={"addFloatingIp": {"address": fip["ip"]}}),
                    400, "badRequest")
    assert message == (f"Unable to associate floating IP {fip['ip']} to any fixed IPs for instance {server}. "
                       "Instance has no fixed IPv4 addresses to associate.")


# -- os-security-groups and os-security-group-rules -------------------------------------------------


def test_security_group_lifecycle(demo, neutron):
    listed = check(demo("GET", "/os-security-groups"), "v2_1.security_groups", "list_security_groups")
    [default] = listed["security_groups"]
    assert default["name"] == "default"
    assert [r["group"]["name"] for r in default["rules"]] == ["default", "default"]  # the ingress rules only
    assert all(r["ip_protocol"] is None and r["ip_range"] == {} for r in default["rules"])
    created = check(demo("POST", "/os-security-groups", json={"security_group": {"name": "web", "description": "w"}}),
                    "v2_1.security_groups", "create_security_group")["security_group"]
    assert created["rules"] == [] and created["description"] == "w"
    status, body = neutron("GET", f"/security-groups/{created['id']}")
    assert status == 200 and {r["direction"] for r in body["security_group"]["security_group_rules"]} == {"egress"}
    check(demo("GET", f"/os-security-groups/{created['id']}"), "v2_1.security_groups", "get_security_group")
    updated = check(demo("PUT", f"/os-security-groups/{created['id']}", "2.35", json={
        "security_group": {"name": "www", "description": "new"}}), "v2_1.security_groups", "update_security_group")
    assert updated["security_group"]["name"] == "www"
    assert neutron("GET", f"/security-groups/{created['id']}")[1]["security_group"]["description"] == "new"
    names = [g["name"] for g in demo("GET", "/os-security-groups").json["security_groups"]]
    assert names == ["default", "www"]
    check(demo("DELETE", f"/os-security-groups/{created['id']}"), "v2_1.security_groups", "delete_security_group")
    assert neutron("GET", f"/security-groups/{created['id']}")[0] == 404
    assert "does not exist" in fault(demo("GET", f"/os-security-groups/{created['id']}"), 404, "itemNotFound")


def test_security_group_bad_input(demo):
    def create(body):  # noqa: ANN001, ANN202
        return demo("POST", "/os-security-groups", json=body)

    assert fault(demo("POST", "/os-security-groups"), 400, "badRequest") == "The request body can't be empty"
    assert fault(create({"group": {}}), 400, "badRequest") == "Missing parameter security_group"
    assert fault(create({"security_group": "x"}), 400, "badRequest") == "Missing parameter security_group"
    assert fault(create({"security_group": {"name": "a"}}), 400, "badRequest") == \
        "description is not a string or unicode"
    assert fault(create({"security_group": {"name": 5, "description": ""}}), 400, "badRequest") == \
        "name is not a string or unicode"
    assert fault(create({"security_group": {"name": "a" * 256, "description": ""}}), 400, "badRequest") == \
        "name has 256 characters, more than 255."
    assert fault(create({"security_group": {"name": "default", "description": ""}}), 403, "forbidden") == \
        "Default security group already exists."
    for method in ("GET", "DELETE"):
        assert fault(demo(method, "/os-security-groups/nope"), 400, "badRequest") == "Security group id should be uuid"
    assert fault(demo("DELETE", "/os-security-groups/"), 404, "itemNotFound") == NOT_FOUND  # no id: no route
    missing = "5c8b3e2a-0000-4000-8000-000000000000"
    assert fault(demo("GET", f"/os-security-groups/{missing}"), 404, "itemNotFound") == \
        f"Security group {missing} does not exist"
    assert fault(demo("PUT", f"/os-security-groups/{missing}", json={"security_group": {
        "name": "a", "description": ""}}), 404, "itemNotFound")
    group = create({"security_group": {"name": "a", "description": ""}}).json["security_group"]["id"]
    assert fault(demo("PUT", f"/os-security-groups/{group}", json={"security_group": {"name": "b"}}),
                 400, "badRequest") == "description is not a string or unicode"
    assert fault(demo("PUT", f"/os-security-groups/{group}", json={"security_group": {
        "name": "default", "description": ""}}), 400, "badRequest") == "Updating default security group not allowed."
    for query in ("limit=x", "offset=-1"):
        assert fault(demo("GET", f"/os-security-groups?{query}"), 400, "badRequest")
    assert [g["name"] for g in demo("GET", "/os-security-groups?limit=1").json["security_groups"]] == ["default"]
    assert [g["name"] for g in demo("GET", "/os-security-groups?offset=1&limit=0").json["security_groups"]] == ["a"]


def test_security_group_in_use_and_default_are_kept(demo, neutron, seeded):
    group = demo("POST", "/os-security-groups", json={"security_group": {"name": "used", "description": ""}}).json[
        "security_group"]
    _port(neutron, _server(seeded), security_groups=[group["id"]])
    assert fault(demo("DELETE", f"/os-security-groups/{group['id']}"), 400, "badRequest") == \
        f"Security Group {group['id']} in use."
    default = next(g for g in demo("GET", "/os-security-groups").json["security_groups"] if g["name"] == "default")
    assert fault(demo("DELETE", f"/os-security-groups/{default['id']}"), 400, "badRequest") == \
        "Insufficient rights for removing default security group."
    assert neutron("GET", f"/security-groups/{group['id']}")[0] == 200


def test_security_group_quota_is_neutrons(demo, admin, neutron, seeded):
    demo("GET", "/os-security-groups")  # the default group exists
    neutron("PUT", f"/quotas/{_project(seeded, 'demo')}", {"quota": {"security_group": 1}}, token=admin.token)
    assert fault(demo("POST", "/os-security-groups", json={"security_group": {"name": "a", "description": ""}}),
                 403, "forbidden") == "Quota exceeded for resources: ['security_group']."


def test_security_groups_are_the_projects(demo, alt, admin):
    group = demo("POST", "/os-security-groups", json={"security_group": {"name": "mine", "description": ""}}).json[
        "security_group"]
    rule = demo("POST", "/os-security-group-rules", json={"security_group_rule": {
        "parent_group_id": group["id"], "ip_protocol": "tcp", "from_port": 22, "to_port": 22}}).json[
        "security_group_rule"]
    for method, body in (("GET", None), ("DELETE", None),
                         ("PUT", {"security_group": {"name": "x", "description": ""}})):
        assert fault(alt(method, f"/os-security-groups/{group['id']}", json=body), 404, "itemNotFound")
    assert fault(alt("POST", "/os-security-group-rules", json={"security_group_rule": {
        "parent_group_id": group["id"], "ip_protocol": "tcp", "from_port": 80, "to_port": 80}}), 404, "itemNotFound")
    assert fault(alt("DELETE", f"/os-security-group-rules/{rule['id']}"), 404, "itemNotFound") == \
        f"Security group rule {rule['id']} does not exist"
    assert [g["name"] for g in alt("GET", "/os-security-groups").json["security_groups"]] == ["default"]
    assert "mine" not in [g["name"] for g in admin("GET", "/os-security-groups").json["security_groups"]]
    everyone = admin("GET", "/os-security-groups?all_tenants=1").json["security_groups"]
    assert "mine" in [g["name"] for g in everyone] and len({g["tenant_id"] for g in everyone}) >= 3
    assert [g["name"] for g in alt("GET", "/os-security-groups?all_tenants=1").json["security_groups"]] == ["default"]
    [shown] = demo("GET", f"/os-security-groups/{group['id']}").json["security_group"]["rules"]
    assert shown["id"] == rule["id"] and shown["ip_range"] == {"cidr": "0.0.0.0/0"}  # no cidr: any IPv4 address
    neutron_rule = admin.cloud.request("GET", f"/network/v2.0/security-group-rules/{rule['id']}", admin.token).json
    assert neutron_rule["security_group_rule"]["remote_ip_prefix"] == "0.0.0.0/0"


def test_rules_in_novas_form(demo, neutron):
    group = demo("POST", "/os-security-groups", json={"security_group": {"name": "web", "description": ""}}).json[
        "security_group"]
    default = next(g for g in demo("GET", "/os-security-groups").json["security_groups"] if g["name"] == "default")

    def rule(**attrs):  # noqa: ANN202
        return demo("POST", "/os-security-group-rules", json={"security_group_rule": {
            "parent_group_id": group["id"], **attrs}})

    ssh = check(rule(ip_protocol="tcp", from_port=22, to_port="22", cidr="10.0.0.0/24"), "v2_1.security_groups",
                "create_security_group_rule")["security_group_rule"]
    assert ssh["ip_range"] == {"cidr": "10.0.0.0/24"} and ssh["group"] == {}
    assert (ssh["ip_protocol"], ssh["from_port"], ssh["to_port"]) == ("tcp", 22, 22)
    assert ssh["parent_group_id"] == group["id"]
    from_group = check(rule(ip_protocol="TCP", group_id=default["id"]), "v2_1.security_groups",
                       "create_security_group_rule")["security_group_rule"]
    assert (from_group["from_port"], from_group["to_port"]) == (1, 65535)
    assert from_group["group"] == {"name": "default", "tenant_id": default["tenant_id"]}
    ping = check(rule(ip_protocol="icmp", from_port=-1, to_port=-1, cidr="2001:db8::/32"), "v2_1.security_groups",
                 "create_security_group_rule")["security_group_rule"]
    assert (ping["from_port"], ping["to_port"]) == (-1, -1)
    status, body = neutron("GET", f"/security-group-rules/{ping['id']}")
    assert (body["security_group_rule"]["ethertype"], body["security_group_rule"]["port_range_min"],
            body["security_group_rule"]["direction"]) == ("IPv6", None, "ingress")
    status, body = neutron("GET", f"/security-group-rules/{from_group['id']}")
    assert (body["security_group_rule"]["remote_group_id"], body["security_group_rule"]["protocol"]) == \
        (default["id"], "tcp")
    shown = check(demo("GET", f"/os-security-groups/{group['id']}"), "v2_1.security_groups", "get_security_group")
    assert {r["id"] for r in shown["security_group"]["rules"]} == {ssh["id"], from_group["id"], ping["id"]}
    check(demo("DELETE", f"/os-security-group-rules/{ssh['id']}"), "v2_1.security_groups",
          "delete_security_group_rule")
    assert neutron("GET", f"/security-group-rules/{ssh['id']}")[0] == 404
    assert fault(demo("DELETE", f"/os-security-group-rules/{ssh['id']}"), 404, "itemNotFound")
    assert fault(demo("DELETE", "/os-security-group-rules/nope"), 400, "badRequest") == \
        "Security group id should be uuid"


@pytest.mark.parametrize("attrs,code,message", [
    ({"ip_protocol": "gre", "from_port": 1, "to_port": 2}, 400, "Invalid IP protocol gre."),
    ({"ip_protocol": "tcp", "from_port": 30, "to_port": 20}, 400,
     "Invalid port range 30:20. Former value cannot be greater than the later"),
    ({"ip_protocol": "udp", "from_port": 0, "to_port": 20}, 400,
     "Invalid port range 0:20. Valid UDP ports should be between 1-65535"),
    ({"ip_protocol": "tcp", "from_port": 1, "to_port": 65536}, 400,
     "Invalid port range 1:65536. Valid TCP ports should be between 1-65535"),
    ({"ip_protocol": "icmp", "from_port": 256, "to_port": 0}, 400,
     "Invalid port range 256:0. For ICMP, the type:code must be valid"),
    ({"ip_protocol": "tcp", "from_port": "a", "to_port": 22}, 400,
     "Invalid input received: To and From ports must be integers"),
    ({"ip_protocol": "icmp", "from_port": [], "to_port": 0}, 400,
     "Invalid input received: Type and Code must be integers for ICMP protocol type"),
    ({"ip_protocol": "tcp", "from_port": 22, "to_port": 22, "cidr": "10.0.0.300/24"}, 400,
     "10.0.0.300/24 is not a valid IP network."),
    ({"ip_protocol": "tcp", "from_port": 22, "to_port": 22, "cidr": "10.0.0.1"}, 400,
     "10.0.0.1 is not a valid IP network."),
    ({"ip_protocol": "tcp", "from_port": 22, "to_port": 22, "cidr": "10.0.0.1/0"}, 400,
     "Bad prefix for network in cidr 10.0.0.1/0"),
    ({"ip_protocol": "tcp"}, 400, "Not enough parameters to build a valid rule."),
    ({"from_port": 22, "to_port": 22}, 400, "Not enough parameters to build a valid rule."),
    ({"ip_protocol": "icmp", "from_port": -1, "to_port": 5}, 400,
     "ICMP code (port-range-max) 5 is provided but ICMP type (port-range-min) is missing."),
    ({"ip_protocol": "tcp", "group_id": "nope"}, 400, "Security group id should be uuid"),
    ({"ip_protocol": "tcp", "group_id": "5c8b3e2a-0000-4000-8000-000000000000"}, 404,
     "Security group 5c8b3e2a-0000-4000-8000-000000000000 does not exist"),
])
def test_rule_bad_input(demo, attrs, code, message):
    group = demo("POST", "/os-security-groups", json={"security_group": {"name": "web", "description": ""}}).json[
        "security_group"]
    resp = demo("POST", "/os-security-group-rules", json={"security_group_rule": {"parent_group_id": group["id"],
                                                                                  **attrs}})
    assert fault(resp, code, {400: "badRequest", 404: "itemNotFound"}[code]) == message
    assert demo("GET", f"/os-security-groups/{group['id']}").json["security_group"]["rules"] == []


def test_rule_parent_duplicates_and_quota(demo, admin, neutron, seeded):
    def rule(body):  # noqa: ANN001, ANN202
        return demo("POST", "/os-security-group-rules", json=body)

    assert fault(rule(None), 400, "badRequest") == "The request body can't be empty"
    assert fault(rule({"rule": {}}), 400, "badRequest") == "Missing parameter security_group_rule"
    assert fault(rule({"security_group_rule": {"ip_protocol": "tcp"}}), 400, "badRequest") == \
        "Security group id should be uuid"
    missing = "5c8b3e2a-0000-4000-8000-000000000000"
    assert fault(rule({"security_group_rule": {"parent_group_id": missing}}), 404, "itemNotFound")
    group = demo("POST", "/os-security-groups", json={"security_group": {"name": "g", "description": ""}}).json[
        "security_group"]["id"]
    ssh = {"security_group_rule": {"parent_group_id": group, "ip_protocol": "tcp", "from_port": 22, "to_port": 22}}
    assert rule(ssh).status_code == 200
    assert fault(rule(ssh), 400, "badRequest") == f"This rule already exists in group {group}"
    default = next(g["id"] for g in demo("GET", "/os-security-groups").json["security_groups"]
                   if g["name"] == "default")
    # a rule Nova does not see as the same but Neutron does: Neutron's 409, Nova's 403
    assert "already exists" in fault(rule({"security_group_rule": {"parent_group_id": default,
                                                                   "group_id": default}}), 403, "forbidden")
    neutron("PUT", f"/quotas/{_project(seeded, 'demo')}", {"quota": {"security_group_rule": 0}}, token=admin.token)
    assert fault(rule({"security_group_rule": {"parent_group_id": group, "ip_protocol": "udp", "from_port": 53,
                                               "to_port": 53}}), 403, "forbidden") == \
        "Quota exceeded for resources: ['security_group_rule']."


def test_an_allocation_past_the_network_backends_headroom_is_novas_403(demo, neutron, seeded, monkeypatch):
    """os-floating-ips makes its floating IP through Neutron's rules, not Neutron's create endpoint:
    the region's network backend's own headroom is read for it too (decision 0046), and a floating
    IP it has no room for is Nova's 403, with nothing made."""
    from overcast.drivers.headroom import Headroom
    from overcast.store.network import FloatingIp

    from tests.headroom_helpers import Reporting

    network = seeded.app.compute.network
    network.backend_quotas.forget()
    backend = Reporting(network.at("RegionOne").driver, Headroom(limits={"floatingip": 1}, used={"floatingip": 0}),
                        monkeypatch)
    try:
        assert demo("POST", "/os-floating-ips", json={"pool": "public"}).status_code == 200  # fits
        with network.session() as session:
            before = session.query(FloatingIp).count()
        refused = demo("POST", "/os-floating-ips", json={"pool": "public"})
        assert fault(refused, 403, "forbidden") == "IP allocation over quota in pool public."
        with network.session() as session:
            assert session.query(FloatingIp).count() == before
        assert backend.reads == 1  # the kept read, plus the one this process took since
    finally:
        network.backend_quotas.forget()
