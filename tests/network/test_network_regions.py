"""Two regions of the local driver are two Neutrons: each has its own records, default topology,
quotas and backend, and a resource of one is 404 under the other (``/regions/<name>/network`` vs
the root)."""

from __future__ import annotations

import falcon.testing
import pytest
from netwait import settle
from sqlalchemy import select

from overcast.app import create_app
from overcast.bootstrap import prepare
from overcast.config import CloudSettings
from overcast.core.compute import build_compute
from overcast.core.compute import networking
from overcast.core.identity import build_identity
from overcast.core.image import ImageCore
from overcast.core.network.operations import setup_for
from overcast.drivers.context import CallContext
from overcast.ops.runtime import OpsRuntime
from overcast.store.compute import Server
from overcast.store.network import Network, Port
from tests.conftest import Cloud, Net

SECOND = "/regions/second"


@pytest.fixture
def cloud(settings):  # noqa: ANN001, ANN201 - the shared `cloud`, with a second local region
    settings = settings.replace(clouds=(CloudSettings(name="RegionOne"), CloudSettings(name="second")))
    identity = build_identity(settings)
    compute = build_compute(settings, identity)
    images = ImageCore(settings=settings, store=identity.store)
    accounts = prepare(identity, compute, images)
    app = create_app(settings, identity, compute, images)
    runtime = OpsRuntime(identity.store, settings, threads=2, setups=[setup_for(app.network)])
    runtime.start(reconcile=False)
    yield Cloud(client=falcon.testing.TestClient(app), app=app, passwords={a.username: a.password for a in accounts})
    runtime.stop()
    compute.close()
    identity.store.dispose()


@pytest.fixture
def net(cloud) -> Net:  # noqa: ANN001
    return Net(cloud)


def _in(net: Net, region: str, method: str, path: str, token: str, body: dict | None = None):  # noqa: ANN202
    prefix = SECOND if region == "second" else ""
    resp = net.cloud.request(method, prefix + "/network/v2.0" + path, token, json=body)
    return resp.status_code, resp.json if resp.text else {}


def _make(net: Net, region: str, token: str, collection: str, member: str, **attrs) -> dict:  # noqa: ANN003
    status, body = _in(net, region, "POST", f"/{collection}", token, {member: attrs})
    assert status == 201, body
    return body[member]


def test_a_network_of_one_region_is_not_there_in_the_other(net, demo_token):
    second = _make(net, "second", demo_token, "networks", "network", name="only-second")
    first = _make(net, "RegionOne", demo_token, "networks", "network", name="only-first")
    for region, mine, other in (("second", second, first), ("RegionOne", first, second)):
        assert _in(net, region, "GET", f"/networks/{mine['id']}", demo_token)[0] == 200
        status, body = _in(net, region, "GET", f"/networks/{other['id']}", demo_token)
        assert status == 404 and body["NeutronError"]["type"] == "NetworkNotFound"
        assert _in(net, region, "PUT", f"/networks/{other['id']}", demo_token, {"network": {"name": "x"}})[0] == 404
        assert _in(net, region, "DELETE", f"/networks/{other['id']}", demo_token)[0] == 404
        names = [n["name"] for n in _in(net, region, "GET", "/networks", demo_token)[1]["networks"]]
        assert mine["name"] in names and other["name"] not in names
        status, body = _in(net, region, "POST", "/subnets", demo_token, {"subnet": {
            "network_id": other["id"], "ip_version": 4, "cidr": "10.90.0.0/24"}})
        assert status == 404
        status, body = _in(net, region, "POST", "/ports", demo_token, {"port": {"network_id": other["id"]}})
        assert status == 404 and body["NeutronError"]["type"] == "NetworkNotFound"
    assert _in(net, "second", "DELETE", f"/networks/{second['id']}", demo_token)[0] == 204


def test_each_region_has_its_own_default_topology(net, demo_token, admin_token):
    seen = {}
    for region in ("RegionOne", "second"):
        networks = {n["name"]: n for n in _in(net, region, "GET", "/networks", demo_token)[1]["networks"]}
        routers = _in(net, region, "GET", "/routers?name=router1", demo_token)[1]["routers"]
        groups = _in(net, region, "GET", "/security-groups?name=default", demo_token)[1]["security_groups"]
        assert {"public", "private"} <= set(networks) and len(routers) == 1 and len(groups) == 1
        assert routers[0]["external_gateway_info"]["network_id"] == networks["public"]["id"]
        seen[region] = {networks["public"]["id"], networks["private"]["id"], routers[0]["id"], groups[0]["id"]}
    assert not seen["RegionOne"] & seen["second"]


def test_every_kind_of_record_keeps_to_its_region(net, demo_token):
    network = _make(net, "second", demo_token, "networks", "network", name="n2")
    subnet = _make(net, "second", demo_token, "subnets", "subnet", network_id=network["id"], ip_version=4,
                   cidr="10.91.0.0/24")
    port = _make(net, "second", demo_token, "ports", "port", network_id=network["id"])
    router = _make(net, "second", demo_token, "routers", "router", name="r2")
    group = _make(net, "second", demo_token, "security-groups", "security_group", name="g2")
    rule = _make(net, "second", demo_token, "security-group-rules", "security_group_rule",
                 security_group_id=group["id"], direction="ingress", protocol="tcp", port_range_min=22,
                 port_range_max=22)
    public = _in(net, "second", "GET", "/networks?name=public", demo_token)[1]["networks"][0]
    fip = _make(net, "second", demo_token, "floatingips", "floatingip", floating_network_id=public["id"])
    for path in (f"/subnets/{subnet['id']}", f"/ports/{port['id']}", f"/routers/{router['id']}",
                 f"/security-groups/{group['id']}", f"/security-group-rules/{rule['id']}",
                 f"/floatingips/{fip['id']}", f"/ports/{port['id']}/tags"):
        assert _in(net, "second", "GET", path, demo_token)[0] == 200, path
        assert _in(net, "RegionOne", "GET", path, demo_token)[0] == 404, path
    status, body = _in(net, "RegionOne", "PUT", f"/routers/{router['id']}/add_router_interface", demo_token,
                       {"subnet_id": subnet["id"]})
    assert status == 404
    first_router = _in(net, "RegionOne", "GET", "/routers?name=router1", demo_token)[1]["routers"][0]
    status, body = _in(net, "RegionOne", "PUT", f"/routers/{first_router['id']}/add_router_interface", demo_token,
                       {"subnet_id": subnet["id"]})
    assert status == 404 and body["NeutronError"]["type"] == "SubnetNotFound"
    listed = {p["id"] for p in _in(net, "RegionOne", "GET", "/ports", demo_token)[1]["ports"]}
    assert port["id"] not in listed


def test_quotas_are_per_region(net, demo_token, admin_token):
    project = _make(net, "second", demo_token, "networks", "network", name="q")["project_id"]
    status, body = _in(net, "second", "PUT", f"/quotas/{project}", admin_token, {"quota": {"network": 3}})
    assert status == 200 and body["quota"]["network"] == 3
    assert _in(net, "RegionOne", "GET", f"/quotas/{project}", admin_token)[1]["quota"]["network"] == 100
    used = {r: _in(net, r, "GET", f"/quotas/{project}/details", admin_token)[1]["quota"]["network"]["used"]
            for r in ("RegionOne", "second")}
    assert used == {"RegionOne": 1, "second": 2}  # private (seeded) + q in second; private in RegionOne
    _make(net, "second", demo_token, "networks", "network", name="q2")
    status, body = _in(net, "second", "POST", "/networks", demo_token, {"network": {"name": "q3"}})
    assert status == 409 and body["NeutronError"]["type"] == "OverQuota"
    _make(net, "RegionOne", demo_token, "networks", "network", name="q3")


def test_each_region_realises_on_its_own_backend(cloud, net, demo_token):
    network = _make(net, "second", demo_token, "networks", "network", name="backend-2")
    settle(cloud)
    drivers = {r: cloud.app.network.at(r).driver for r in ("RegionOne", "second")}
    with cloud.app.network.store.session() as session:
        record = session.get(Network, network["id"])
        assert record.cloud == "second" and record.backend_id
    held = {r: {o.id: o.backend_id for o in d.list_objects(CallContext(), "network")} for r, d in drivers.items()}
    assert held["second"][network["id"]] == record.backend_id
    if drivers["second"].store.path != drivers["RegionOne"].store.path:  # each region's driver its own files
        assert network["id"] not in held["RegionOne"]


def test_a_server_gets_its_ports_in_its_own_region(cloud, net, demo_token):
    private = _in(net, "second", "GET", "/networks?name=private", demo_token)[1]["networks"][0]
    root_private = _in(net, "RegionOne", "GET", "/networks?name=private", demo_token)[1]["networks"][0]
    core = cloud.app.compute
    project = private["project_id"]
    with core.store.session() as session:
        server = Server(id="0b6c3f0e-0000-4000-8000-000000000002", cloud="second", project_id=project,
                        user_id="u", name="vm", flavor_id="1", flavor={}, security_groups=[{"name": "default"}])
        ctx = networking.acting_for(server)
        nics = networking.requested_nics(session, ctx, None, project_id=project, max_count=1, region="second")
        assert nics == [{"network_id": private["id"]}]
        server.requested_networks = nics
        session.add(server)
        session.flush()
        [port] = networking.allocate(core.network, session, server)
        assert port.cloud == "second" and port.network_id == private["id"]
        assert port.network_id != root_private["id"]
    with core.store.session() as session:
        assert session.scalars(select(Port.cloud).where(Port.device_id == server.id)).all() == ["second"]
