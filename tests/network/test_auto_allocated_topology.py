"""Auto-allocated topology (``auto-allocated-topology``) over the wire: made on the first GET
(network, subnet, router to the default external network), the same one afterwards, one when two
calls race, ``?fields=dry-run``, DELETE, Neutron's faults, and ``is_default`` on external
networks. Runs on SQLite, and on PostgreSQL when ``OVERCAST_TEST_POSTGRES_URL`` names an admin URL."""

from __future__ import annotations

import threading

import pytest
from netwait import settle

from tests.conftest import backend_settings


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request: pytest.FixtureRequest, settings):  # noqa: ANN001, ANN201
    yield from backend_settings(request, settings, "overcast_autotopo_test")


def _error(body: dict) -> tuple[str, str]:
    return body["NeutronError"]["type"], body["NeutronError"]["message"]


def _public(net, token) -> dict:  # noqa: ANN001
    return net("GET", "/networks?name=public", token)[1]["networks"][0]


def _owned(net, token, project_id) -> dict[str, list[dict]]:  # noqa: ANN001
    """The project's own networks, subnets and routers."""
    return {kind: net("GET", f"/{kind}?project_id={project_id}", token)[1][kind]
            for kind in ("networks", "subnets", "routers")}


def test_made_once_then_the_same(net, demo_token, admin_token, cloud):
    public = _public(net, admin_token)
    status, body = net("GET", "/auto-allocated-topology/None", demo_token)  # None: the caller's project
    assert status == 200, body
    topology = body["auto_allocated_topology"]
    project_id = topology["project_id"]
    assert set(topology) == {"id", "tenant_id", "project_id"} and topology["tenant_id"] == project_id
    again = net("GET", f"/auto-allocated-topology/{project_id}", demo_token)[1]["auto_allocated_topology"]
    assert again == topology
    owned = _owned(net, demo_token, project_id)
    [network] = [n for n in owned["networks"] if n["name"] == "auto_allocated_network"]
    assert (network["id"], network["admin_state_up"], network["shared"]) == (topology["id"], True, False)
    [subnet] = [s for s in owned["subnets"] if s["network_id"] == network["id"]]
    assert (subnet["name"], subnet["cidr"], subnet["ip_version"]) == ("auto_allocated_subnet_v4", "10.0.0.64/26", 4)
    [router] = [r for r in owned["routers"] if r["name"] == "auto_allocated_router"]
    assert router["external_gateway_info"]["network_id"] == public["id"]
    status, body = net("GET", f"/ports?device_id={router['id']}&network_id={network['id']}", demo_token)
    assert [p["fixed_ips"][0]["ip_address"] for p in body["ports"]] == [subnet["gateway_ip"]]
    settle(cloud)


def test_two_racing_calls_make_one_topology(cloud, net, demo_token):
    barrier, answers = threading.Barrier(2), []

    def call() -> None:
        barrier.wait(timeout=30)
        answers.append(net("GET", "/auto-allocated-topology/None", demo_token))

    threads = [threading.Thread(target=call) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert [status for status, _ in answers] == [200, 200], answers
    assert answers[0][1] == answers[1][1]
    project_id = answers[0][1]["auto_allocated_topology"]["project_id"]
    owned = _owned(net, demo_token, project_id)
    assert [n["id"] for n in owned["networks"] if n["name"] == "auto_allocated_network"] == [
        answers[0][1]["auto_allocated_topology"]["id"]]
    assert len([r for r in owned["routers"] if r["name"] == "auto_allocated_router"]) == 1
    settle(cloud)


def test_dry_run_and_no_default_external_network(net, demo_token, admin_token, cloud):
    status, body = net("GET", "/auto-allocated-topology/None?fields=dry-run", demo_token)
    assert status == 200 and body["auto_allocated_topology"]["id"] == "dry-run=pass"
    project_id = body["auto_allocated_topology"]["project_id"]
    before = _owned(net, demo_token, project_id)
    status, body = net("GET", "/auto-allocated-topology/None?fields=id", demo_token)
    assert (status, *_error(body)) == (400, "BadRequest", "Bad auto_allocate request: Unrecognized field.")
    public = _public(net, admin_token)
    assert public["is_default"] is True
    assert net("PUT", f"/networks/{public['id']}", admin_token, {"network": {"is_default": False}})[0] == 200
    for query in ("?fields=dry-run", ""):
        status, body = net("GET", f"/auto-allocated-topology/None{query}", demo_token)
        assert (status, *_error(body)) == (409, "AutoAllocationFailure",
                                           "Deployment error: No default router:external network.")
    assert _owned(net, demo_token, project_id) == before  # the dry run and the failure made nothing
    settle(cloud)


def test_policy(net, demo_token, admin_token, reader_token):
    admin_project = net("GET", "/auto-allocated-topology/None?fields=dry-run", admin_token)[1][
        "auto_allocated_topology"]["project_id"]
    for method in ("GET", "DELETE"):
        status, body = net(method, f"/auto-allocated-topology/{admin_project}", demo_token)
        assert (status, *_error(body)) == (403, "NotAuthorized", "Not authorized.")
    # a reader may look but not make one (creating its network is a member's), nor delete
    status, body = net("GET", "/auto-allocated-topology/None", reader_token)
    assert (status, _error(body)[0]) == (403, "PolicyNotAuthorized")
    assert net("DELETE", "/auto-allocated-topology/None", reader_token)[0] == 403


def test_delete_takes_it_down_and_a_new_one_comes(cloud, net, demo_token):
    assert net("DELETE", "/auto-allocated-topology/None", demo_token)[0] == 204  # none yet: nothing to do
    first = net("GET", "/auto-allocated-topology/None", demo_token)[1]["auto_allocated_topology"]
    project_id = first["project_id"]
    before = _owned(net, demo_token, project_id)
    assert net("DELETE", "/auto-allocated-topology/None", demo_token)[0] == 204
    after = _owned(net, demo_token, project_id)
    assert first["id"] not in {n["id"] for n in after["networks"]}
    assert "auto_allocated_router" not in {r["name"] for r in after["routers"]}
    assert len(after["subnets"]) == len(before["subnets"]) - 1
    second = net("GET", "/auto-allocated-topology/None", demo_token)[1]["auto_allocated_topology"]
    assert second["id"] != first["id"]
    # a network deleted by hand takes its topology record along: the next GET makes a new one
    router = [r for r in _owned(net, demo_token, project_id)["routers"] if r["name"] == "auto_allocated_router"][0]
    subnet_id = net("GET", f"/networks/{second['id']}", demo_token)[1]["network"]["subnets"][0]
    assert net("PUT", f"/routers/{router['id']}/remove_router_interface", demo_token,
               {"subnet_id": subnet_id})[0] == 200
    assert net("DELETE", f"/networks/{second['id']}", demo_token)[0] == 204
    third = net("GET", "/auto-allocated-topology/None", demo_token)[1]["auto_allocated_topology"]
    assert third["id"] not in (first["id"], second["id"])
    settle(cloud)


def test_is_default_on_external_networks(net, admin_token, demo_token):
    public = _public(net, admin_token)
    other = net.make(admin_token, "networks", "network", name="ext2", **{"router:external": True})
    assert other["is_default"] is False
    status, body = net("PUT", f"/networks/{other['id']}", admin_token, {"network": {"is_default": True}})
    assert (status, *_error(body)) == (409, "DefaultExternalNetworkExists",
                                       f"A default external network already exists: {public['id']}.")
    status, body = net("POST", "/networks", admin_token, {"network": {
        "name": "ext3", "router:external": True, "is_default": True}})
    assert (status, _error(body)[0]) == (409, "DefaultExternalNetworkExists")
    assert [n["name"] for n in net("GET", "/networks?name=ext3", admin_token)[1]["networks"]] == []
    # a project network does not carry the flag; only the admin sets it
    internal = net.make(demo_token, "networks", "network", name="internal")
    assert "is_default" not in internal
    status, body = net("PUT", f"/networks/{internal['id']}", demo_token, {"network": {"is_default": False}})
    assert (status, _error(body)[0]) == (403, "PolicyNotAuthorized")
    assert net("PUT", f"/networks/{public['id']}", admin_token, {"network": {"is_default": False}})[0] == 200
    status, body = net("PUT", f"/networks/{other['id']}", admin_token, {"network": {"is_default": True}})
    assert status == 200 and body["network"]["is_default"] is True


def test_listed_as_extension(net, demo_token):
    aliases = {e["alias"] for e in net("GET", "/extensions", demo_token)[1]["extensions"]}
    assert "auto-allocated-topology" in aliases


def test_the_subnet_cidr_is_a_setting(cloud, net, admin_token, monkeypatch):
    from overcast.config import load_settings

    monkeypatch.setenv("OVERCAST_NETWORK_AUTO_ALLOCATED_CIDR", "10.77.0.0/28")
    wanted = load_settings(data_dir=cloud.app.network.settings.data_dir).network
    assert wanted.auto_allocated_cidr == "10.77.0.0/28"
    monkeypatch.setattr(cloud.app.network, "settings", cloud.app.network.settings.replace(network=wanted))
    topology = net("GET", "/auto-allocated-topology/None", admin_token)[1]["auto_allocated_topology"]
    subnet_id = net("GET", f"/networks/{topology['id']}", admin_token)[1]["network"]["subnets"][0]
    assert net("GET", f"/subnets/{subnet_id}", admin_token)[1]["subnet"]["cidr"] == "10.77.0.0/28"
    settle(cloud)
