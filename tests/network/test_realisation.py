"""Backends are realised after commit by ``network.sync`` operations: backend ids and statuses are
recorded, a create retried after a crash finds what the first attempt made, a backend's stale
state never refuses a request and is cleaned by the reconciler, an unavailable backend is retried
(and, with its breaker open, creates answer 503), and a provider that owns addresses gets to
choose them."""

from __future__ import annotations

import ipaddress

import pytest
from netwait import eventually, settle, wait_status
from sqlalchemy import select

from overcast.core.network.operations import Realiser, port_spec, setup_for
from overcast.drivers.context import CallContext
from overcast.drivers.errors import Unavailable
from overcast.drivers.local.network import LocalNetworkDriver
from overcast.drivers.network import AddressOwner, FixedIp, NetworkSpec, PortSpec, Ref
from overcast.ops.engine import OpsSettings
from overcast.ops.models import Operation
from overcast.ops.runtime import OpsRuntime
from overcast.store.network import (FloatingIp, Network, Port, Router, SecurityGroup, SecurityGroupRule,
                                    Subnet)

CTX = CallContext(request_id="req-test")


def _held(driver, kind: str) -> dict[str, str]:  # noqa: ANN001
    return {o.id: o.backend_id for o in driver.list_objects(CTX, kind)}


def _topology(net, token: str, cidr: str = "10.60.0.0/24") -> tuple[dict, dict]:  # noqa: ANN001
    network = net.make(token, "networks", "network", name="real")
    return network, net.make(token, "subnets", "subnet", network_id=network["id"], ip_version=4, cidr=cidr)


def _reconcile(cloud) -> None:  # noqa: ANN001
    """One pass of the network reconciler over the default region."""
    class Ctx:
        abandoned = type("E", (), {"is_set": staticmethod(lambda: False)})()

        @staticmethod
        def session():  # noqa: ANN205
            return cloud.app.network.store.session()

    Realiser(cloud.app.network).reconcile(cloud.app.network.region, Ctx())


def test_records_carry_the_backend_ids_and_statuses(cloud, net, demo_token):
    network, subnet = _topology(net, demo_token)
    port = net.make(demo_token, "ports", "port", network_id=network["id"], device_id="vm", device_owner="compute:x")
    assert port["status"] == "DOWN"
    _, public = net("GET", "/networks?name=public", demo_token)
    router = net.make(demo_token, "routers", "router", name="rr",
                      external_gateway_info={"network_id": public["networks"][0]["id"]})
    status, interface = net("PUT", f"/routers/{router['id']}/add_router_interface", demo_token,
                            {"subnet_id": subnet["id"]})
    assert status == 200
    fip = net.make(demo_token, "floatingips", "floatingip", floating_network_id=public["networks"][0]["id"],
                   port_id=port["id"])
    group = net.make(demo_token, "security-groups", "security_group", name="web")
    net.make(demo_token, "security-group-rules", "security_group_rule", security_group_id=group["id"],
             direction="ingress", protocol="tcp", port_range_min=80, port_range_max=80)
    wait_status(net, demo_token, f"/ports/{port['id']}", "port", "ACTIVE")
    wait_status(net, demo_token, f"/ports/{interface['port_id']}", "port", "ACTIVE")
    wait_status(net, demo_token, f"/floatingips/{fip['id']}", "floatingip", "ACTIVE")
    settle(cloud)
    driver = cloud.app.network.driver
    with cloud.app.network.store.session() as session:
        for model, kind, item in ((Network, "network", network), (Subnet, "subnet", subnet), (Port, "port", port),
                                  (Router, "router", router), (FloatingIp, "floating_ip", fip),
                                  (SecurityGroup, "security_group", group)):
            record = session.get(model, item["id"])
            assert record.backend_id and _held(driver, kind)[record.id] == record.backend_id, kind
        assert session.get(Network, network["id"]).extra["bridge"].startswith("br-")
        assert session.get(Port, port["id"]).binding_host_id
        rules = session.scalars(select(SecurityGroupRule).where(SecurityGroupRule.security_group_id == group["id"]))
        assert all(r.backend_id for r in rules)
        # a router's ports are made by the backend with the router, not as ports of their own
        assert interface["port_id"] not in _held(driver, "port")
    for path in (f"/floatingips/{fip['id']}", f"/ports/{port['id']}"):
        assert net("DELETE", path, demo_token)[0] == 204
    net("PUT", f"/routers/{router['id']}/remove_router_interface", demo_token, {"subnet_id": subnet["id"]})
    for path in (f"/routers/{router['id']}", f"/security-groups/{group['id']}", f"/networks/{network['id']}"):
        assert net("DELETE", path, demo_token)[0] == 204
    settle(cloud)
    for kind, item in (("network", network), ("subnet", subnet), ("port", port), ("router", router),
                       ("floating_ip", fip), ("security_group", group)):
        assert item["id"] not in _held(driver, kind), kind


def test_a_create_retried_after_a_crash_finds_what_the_first_attempt_made(cloud, net, demo_token, network_ops):
    network, subnet = _topology(net, demo_token, "10.61.0.0/24")
    settle(cloud)
    network_ops.stop()
    port = net.make(demo_token, "ports", "port", network_id=network["id"], device_id="vm", device_owner="compute:x")
    driver = cloud.app.network.driver
    with cloud.app.network.store.session() as session:  # the first attempt's call, before its worker died
        first = driver.bind_port(CTX, port_spec(session, session.get(Port, port["id"]), []))
    runtime = OpsRuntime(cloud.app.network.store, cloud.app.network.settings, threads=1,
                         setups=[setup_for(cloud.app.network)]).start(reconcile=False)
    try:
        wait_status(net, demo_token, f"/ports/{port['id']}", "port", "ACTIVE")
    finally:
        runtime.stop()
    with cloud.app.network.store.session() as session:
        assert session.get(Port, port["id"]).backend_id == first.backend_id
    assert list(_held(driver, "port")).count(port["id"]) == 1


def test_a_backend_left_holding_an_address_never_refuses_a_port(cloud, net, demo_token, network_ops):
    """Issue 16.2: a process killed after the backend wired an address but before its transaction
    committed left the address wired on the backend, unknown to the store. Requests never ask the
    backend, so the port is made at once; the sync waits until the reconciler has removed what the
    store does not know, then wires it."""
    network, subnet = _topology(net, demo_token, "10.62.0.0/24")
    settle(cloud)
    driver = cloud.app.network.driver
    with cloud.app.network.store.session() as session:
        backend_network = session.get(Network, network["id"]).backend_id
        backend_subnet = session.get(Subnet, subnet["id"]).backend_id
    ghost = PortSpec(id="0f0f0f0f-0000-4000-8000-00000000dead", network=Ref(network["id"], backend_network),
                     mac_address="fa:16:3e:de:ad:00",
                     fixed_ips=(FixedIp(Ref(subnet["id"], backend_subnet), "10.62.0.9"),))
    driver.bind_port(CTX, ghost)
    status, body = net("POST", "/ports", demo_token, {"port": {
        "network_id": network["id"], "device_id": "vm", "device_owner": "compute:x",
        "fixed_ips": [{"ip_address": "10.62.0.9"}]}})
    assert status == 201, body
    port = body["port"]
    eventually(lambda: _refused(cloud, port["id"]), what="the backend refusing the stale address")
    assert net("GET", f"/ports/{port['id']}", demo_token)[1]["port"]["status"] == "DOWN"
    _reconcile(cloud)
    assert ghost.id not in _held(driver, "port")
    wait_status(net, demo_token, f"/ports/{port['id']}", "port", "ACTIVE")


def _refused(cloud, port_id: str) -> bool:  # noqa: ANN001
    with cloud.app.network.store.session() as session:
        return any("still wired" in str((op.checkpoint or {}).get("refused", ""))
                   for op in session.scalars(select(Operation).where(Operation.resource_id == port_id)))


def test_the_reconciler_reapplies_what_the_backend_lost_and_removes_what_the_store_does_not_know(
        cloud, net, demo_token):
    network, subnet = _topology(net, demo_token, "10.63.0.0/24")
    port = net.make(demo_token, "ports", "port", network_id=network["id"], device_id="vm", device_owner="compute:x")
    wait_status(net, demo_token, f"/ports/{port['id']}", "port", "ACTIVE")
    settle(cloud)
    driver = cloud.app.network.driver
    lost = _held(driver, "port")[port["id"]]
    driver.unbind_port(CTX, Ref(port["id"], lost))  # gone behind Overcast's back
    driver.apply_network(CTX, NetworkSpec(id="stray-net", name="made by no one Overcast knows", mtu=1500))
    _reconcile(cloud)
    assert "stray-net" not in _held(driver, "network")
    settle(cloud)
    again = _held(driver, "port")[port["id"]]
    assert again != lost
    with cloud.app.network.store.session() as session:
        assert session.get(Port, port["id"]).backend_id == again
    assert network["id"] in _held(driver, "network")  # what the store knows stays


def test_an_unavailable_backend_is_retried_and_its_open_breaker_refuses_creates(cloud, net, demo_token,
                                                                                 network_ops, monkeypatch):
    network, subnet = _topology(net, demo_token, "10.64.0.0/24")
    settle(cloud)
    network_ops.stop()
    driver = cloud.app.network.driver
    real, failures = driver.bind_port, []

    def flaky(ctx, spec):  # noqa: ANN001, ANN202
        if len(failures) < 2:
            failures.append(ctx.idempotency_key)
            raise Unavailable("the fabric is restarting", retry_after=0.05)
        return real(ctx, spec)

    monkeypatch.setattr(driver, "bind_port", flaky)
    ops = OpsSettings(threads=1, breaker_threshold=3, breaker_reset_seconds=30.0)
    runtime = OpsRuntime(cloud.app.network.store, cloud.app.network.settings, ops,
                         setups=[setup_for(cloud.app.network)]).start(reconcile=False)
    try:
        port = net.make(demo_token, "ports", "port", network_id=network["id"], device_id="vm",
                        device_owner="compute:x")
        wait_status(net, demo_token, f"/ports/{port['id']}", "port", "ACTIVE")
        assert failures == [port["id"], port["id"]]  # the Overcast id is the call's idempotency key

        def down(ctx, spec):  # noqa: ANN001, ANN202
            raise Unavailable("the fabric is gone", retry_after=0.01)

        monkeypatch.setattr(driver, "bind_port", down)
        for _ in range(3):  # each fails on the worker (and is retried); the breaker may open before the third
            status = cloud.request("POST", "/network/v2.0/ports", demo_token,
                                   json={"port": {"network_id": network["id"]}}).status_code
            assert status in (201, 503)
        eventually(lambda: runtime.breakers(cloud.app.network.region, "network").state == "open", what="the breaker opening")
        resp = cloud.request("POST", "/network/v2.0/ports", demo_token, json={"port": {"network_id": network["id"]}})
        assert resp.status_code == 503 and resp.json["NeutronError"]["type"] == "ServiceUnavailable"
        assert int(resp.headers["Retry-After"]) >= 1
        # updates and deletes are recorded and wait for the backend
        assert net("PUT", f"/ports/{port['id']}", demo_token, {"port": {"name": "renamed"}})[0] == 200
        assert net("DELETE", f"/ports/{port['id']}", demo_token)[0] == 204
    finally:
        runtime.stop()


@pytest.fixture
def provider_driver(cloud, tmp_path):  # noqa: ANN001, ANN201
    """The default region's network backend swapped for a fabric that picks addresses itself (once
    the seeded topology is realised on the first one)."""
    settle(cloud)
    slot = cloud.app.network.clouds[cloud.app.network.region]
    original = slot.network
    slot.network = LocalNetworkDriver(tmp_path / "provider-net.db", addresses=AddressOwner.PROVIDER)
    yield slot.network
    slot.network.close()
    slot.network = original


def test_a_provider_that_owns_addresses_chooses_them(cloud, net, demo_token, admin_token, provider_driver):
    external = net.make(admin_token, "networks", "network", name="ext-p", **{"router:external": True})
    net.make(admin_token, "subnets", "subnet", network_id=external["id"], ip_version=4, cidr="198.51.100.0/24")
    network, subnet = _topology(net, demo_token, "10.65.0.0/24")
    port = net.make(demo_token, "ports", "port", network_id=network["id"], device_id="vm", device_owner="compute:x")
    assert port["fixed_ips"] == [] and port["status"] == "DOWN"  # not known until the provider chose them
    active = wait_status(net, demo_token, f"/ports/{port['id']}", "port", "ACTIVE")
    [fixed] = active["fixed_ips"]
    assert fixed["subnet_id"] == subnet["id"]
    assert ipaddress.ip_address(fixed["ip_address"]) in ipaddress.ip_network("10.65.0.0/24")
    # the create waits for the provider's choice and answers with it, as Neutron's does
    fip = net.make(admin_token, "floatingips", "floatingip", floating_network_id=external["id"])
    assert ipaddress.ip_address(fip["floating_ip_address"]) in ipaddress.ip_network("198.51.100.0/24")
    settle(cloud)
    address = net("GET", f"/floatingips/{fip['id']}", admin_token)[1]["floatingip"]["floating_ip_address"]
    assert address == fip["floating_ip_address"]
    second = net.make(demo_token, "ports", "port", network_id=network["id"], device_id="vm2",
                      device_owner="compute:x", fixed_ips=[{"subnet_id": subnet["id"], "ip_address": "10.65.0.77"}])
    assert wait_status(net, demo_token, f"/ports/{second['id']}", "port", "ACTIVE")["fixed_ips"] == [
        {"subnet_id": subnet["id"], "ip_address": "10.65.0.77"}]


def test_a_down_routers_interfaces_become_active(net, demo_token):
    """As on Neutron with OVN (Tempest waits for it before removing an interface)."""
    network, subnet = _topology(net, demo_token, "10.66.0.0/24")
    router = net.make(demo_token, "routers", "router", name="down", admin_state_up=False)
    port = net.make(demo_token, "ports", "port", network_id=network["id"])
    status, body = net("PUT", f"/routers/{router['id']}/add_router_interface", demo_token, {"port_id": port["id"]})
    assert status == 200
    wait_status(net, demo_token, f"/ports/{port['id']}", "port", "ACTIVE")
