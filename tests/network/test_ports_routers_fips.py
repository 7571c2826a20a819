"""Ports (IPAM, MACs, security groups, pairs), routers (gateway, interfaces, routes) and floating IPs."""

from __future__ import annotations

import ipaddress
import re

from netwait import wait_status


def _error(body: dict) -> tuple[str, str]:
    return body["NeutronError"]["type"], body["NeutronError"]["message"]


def _network(net, token, cidr="10.20.0.0/24", **subnet):  # noqa: ANN001, ANN202
    network = net.make(token, "networks", "network", name="n")
    return network, net.make(token, "subnets", "subnet", network_id=network["id"], ip_version=4, cidr=cidr, **subnet)


def test_port_allocation_mac_groups_and_status(net, demo_token):
    network, subnet = _network(net, demo_token)
    port = net.make(demo_token, "ports", "port", network_id=network["id"], name="p1")
    [fixed] = port["fixed_ips"]
    assert fixed["subnet_id"] == subnet["id"] and ipaddress.ip_address(fixed["ip_address"]) in ipaddress.ip_network(
        "10.20.0.0/24") and fixed["ip_address"] not in ("10.20.0.0", "10.20.0.1", "10.20.0.255")
    assert re.match(r"^fa:16:3e(:[0-9a-f]{2}){3}$", port["mac_address"])
    assert port["status"] == "DOWN" and port["device_owner"] == "" and len(port["security_groups"]) == 1
    _, body = net("GET", "/security-groups?name=default", demo_token)
    assert port["security_groups"] == [body["security_groups"][0]["id"]]
    second = net.make(demo_token, "ports", "port", network_id=network["id"], device_id="vm", device_owner="compute:nova")
    assert second["fixed_ips"][0]["ip_address"] != fixed["ip_address"]
    assert second["status"] == "DOWN"  # as Neutron answers: the backend wires it after the answer
    wait_status(net, demo_token, f"/ports/{second['id']}", "port", "ACTIVE")
    assert second["mac_address"] != port["mac_address"]
    chosen = net.make(demo_token, "ports", "port", network_id=network["id"],
                      fixed_ips=[{"subnet_id": subnet["id"], "ip_address": "10.20.0.50"}])
    assert chosen["fixed_ips"][0]["ip_address"] == "10.20.0.50"
    status, body = net("POST", "/ports", demo_token, {"port": {"network_id": network["id"],
                                                               "fixed_ips": [{"ip_address": "10.20.0.50"}]}})
    assert status == 409 and _error(body) == ("IpAddressAlreadyAllocated", "IP address 10.20.0.50 already "
                                              f"allocated in subnet {subnet['id']}")
    status, body = net("POST", "/ports", demo_token, {"port": {"network_id": network["id"],
                                                               "fixed_ips": [{"ip_address": "10.99.0.5"}]}})
    assert status == 400 and _error(body)[0] == "InvalidIpForNetwork"
    status, body = net("POST", "/ports", demo_token, {"port": {"network_id": network["id"],
                                                               "mac_address": port["mac_address"]}})
    assert status == 409 and _error(body)[0] == "MacAddressInUse"


def test_exhausted_pool(net, demo_token):
    network, subnet = _network(net, demo_token, cidr="10.21.0.0/29",
                               allocation_pools=[{"start": "10.21.0.2", "end": "10.21.0.3"}])
    for _ in range(2):
        net.make(demo_token, "ports", "port", network_id=network["id"])
    status, body = net("POST", "/ports", demo_token, {"port": {"network_id": network["id"]}})
    assert status == 409 and _error(body) == ("IpAddressGenerationFailure",
                                              f"No more IP addresses available on network {network['id']}.")


def test_port_update_fixed_ips_pairs_and_port_security(net, demo_token):
    network, subnet = _network(net, demo_token)
    port = net.make(demo_token, "ports", "port", network_id=network["id"])
    status, body = net("PUT", f"/ports/{port['id']}", demo_token, {"port": {"fixed_ips": [
        {"subnet_id": subnet["id"], "ip_address": "10.20.0.9"}]}})
    assert status == 200 and body["port"]["fixed_ips"][0]["ip_address"] == "10.20.0.9"
    assert body["port"]["revision_number"] == 1
    status, body = net("PUT", f"/ports/{port['id']}", demo_token, {"port": {"allowed_address_pairs": [
        {"ip_address": "10.20.0.200"}]}})
    assert body["port"]["allowed_address_pairs"] == [{"ip_address": "10.20.0.200",
                                                      "mac_address": port["mac_address"]}]
    status, body = net("PUT", f"/ports/{port['id']}", demo_token, {"port": {"port_security_enabled": False}})
    assert status in (400, 409)
    status, body = net("PUT", f"/ports/{port['id']}", demo_token, {"port": {
        "port_security_enabled": False, "security_groups": [], "allowed_address_pairs": []}})
    assert status == 200 and body["port"]["security_groups"] == [] and not body["port"]["port_security_enabled"]


def test_router_interfaces_routes_and_conflicts(net, demo_token):
    network, subnet = _network(net, demo_token)
    _, public = net("GET", "/networks?name=public", demo_token)
    public_id = public["networks"][0]["id"]
    router = net.make(demo_token, "routers", "router", name="r", external_gateway_info={"network_id": public_id})
    gateway = router["external_gateway_info"]
    assert gateway["network_id"] == public_id and gateway["enable_snat"] is True
    assert gateway["external_fixed_ips"][0]["ip_address"].startswith("172.24.4.")
    status, body = net("PUT", f"/routers/{router['id']}/add_router_interface", demo_token,
                       {"subnet_id": subnet["id"]})
    assert status == 200 and body["subnet_id"] == subnet["id"] and body["id"] == router["id"]
    _, port = net("GET", f"/ports/{body['port_id']}", demo_token)
    assert port["port"]["fixed_ips"][0]["ip_address"] == "10.20.0.1"
    assert port["port"]["device_owner"] == "network:router_interface"
    status, body = net("PUT", f"/routers/{router['id']}/add_router_interface", demo_token,
                       {"subnet_id": subnet["id"]})
    assert status == 400 and _error(body) == ("BadRequest", "Bad router request: Router already has a port on "
                                              f"subnet {subnet['id']}.")
    assert net("PUT", f"/routers/{router['id']}/add_router_interface", demo_token, {})[0] == 400
    status, body = net("DELETE", f"/ports/{port['port']['id']}", demo_token)
    assert status == 409
    status, body = net("DELETE", f"/routers/{router['id']}", demo_token)
    assert status == 409 and _error(body) == ("RouterInUse", f"Router {router['id']} still has ports")
    status, body = net("PUT", f"/routers/{router['id']}", demo_token,
                       {"router": {"routes": [{"destination": "10.30.0.0/24", "nexthop": "10.20.0.20"}]}})
    assert status == 200 and body["router"]["routes"] == [{"destination": "10.30.0.0/24", "nexthop": "10.20.0.20"}]
    status, body = net("PUT", f"/routers/{router['id']}", demo_token,
                       {"router": {"routes": [{"destination": "10.30.0.0/24", "nexthop": "192.168.0.1"}]}})
    assert status == 400 and _error(body)[0] == "InvalidRoutes"
    net("PUT", f"/routers/{router['id']}", demo_token, {"router": {"routes": []}})
    status, body = net("PUT", f"/routers/{router['id']}/remove_router_interface", demo_token,
                       {"subnet_id": subnet["id"]})
    assert status == 200
    status, body = net("PUT", f"/routers/{router['id']}/remove_router_interface", demo_token,
                       {"subnet_id": subnet["id"]})
    assert status == 404 and _error(body)[0] == "RouterInterfaceNotFoundForSubnet"
    assert net("DELETE", f"/routers/{router['id']}", demo_token)[0] == 204


def test_router_enable_snat_is_admin_only(net, demo_token):
    _, public = net("GET", "/networks?name=public", demo_token)
    status, body = net("POST", "/routers", demo_token, {"router": {"external_gateway_info": {
        "network_id": public["networks"][0]["id"], "enable_snat": False}}})
    assert status == 403


def test_floating_ip_lifecycle_on_the_default_topology(net, demo_token):
    _, body = net("GET", "/networks?name=private", demo_token)
    private = body["networks"][0]
    _, body = net("GET", "/networks?name=public", demo_token)
    public = body["networks"][0]
    port = net.make(demo_token, "ports", "port", network_id=private["id"], device_id="vm1", device_owner="compute:nova")
    fip = net.make(demo_token, "floatingips", "floatingip", floating_network_id=public["id"])
    assert fip["status"] == "DOWN" and fip["port_id"] is None and fip["floating_ip_address"].startswith("172.24.4.")
    status, body = net("PUT", f"/floatingips/{fip['id']}", demo_token, {"floatingip": {"port_id": port["id"]}})
    assert status == 200
    updated = body["floatingip"]
    assert updated["fixed_ip_address"] == port["fixed_ips"][0]["ip_address"]
    assert updated["router_id"] and updated["port_details"]["device_id"] == "vm1"
    wait_status(net, demo_token, f"/floatingips/{fip['id']}", "floatingip", "ACTIVE")  # once the backend maps it
    second = net.make(demo_token, "floatingips", "floatingip", floating_network_id=public["id"])
    status, body = net("PUT", f"/floatingips/{second['id']}", demo_token, {"floatingip": {"port_id": port["id"]}})
    assert status == 409 and _error(body)[0] == "FloatingIPPortAlreadyAssociated"
    status, body = net("PUT", f"/floatingips/{fip['id']}", demo_token, {"floatingip": {"port_id": None}})
    assert body["floatingip"]["status"] == "DOWN" and body["floatingip"]["fixed_ip_address"] is None
    assert net("DELETE", f"/floatingips/{fip['id']}", demo_token)[0] == 204
    assert net("GET", f"/floatingips/{fip['id']}", demo_token)[0] == 404
    status, body = net("POST", "/floatingips", demo_token, {"floatingip": {"floating_network_id": private["id"]}})
    assert status == 400


def test_floating_ip_needs_a_router(net, demo_token):
    network, _ = _network(net, demo_token)
    port = net.make(demo_token, "ports", "port", network_id=network["id"])
    _, body = net("GET", "/networks?name=public", demo_token)
    status, body = net("POST", "/floatingips", demo_token, {"floatingip": {
        "floating_network_id": body["networks"][0]["id"], "port_id": port["id"]}})
    assert status == 404 and _error(body)[0] == "ExternalGatewayForFloatingIPNotFound"
    # the refused create was undone on the backend too: the same address is free to wire again
    again = net.make(demo_token, "floatingips", "floatingip", floating_network_id=body["NeutronError"] and
                     net("GET", "/networks?name=public", demo_token)[1]["networks"][0]["id"])
    assert again["floating_ip_address"].startswith("172.24.4.")


def test_an_address_taken_by_a_concurrent_transaction_is_picked_again(net, demo_token, monkeypatch):
    """Two allocators may pick the same free address; the database refuses the second insert
    and the allocation is retried in a savepoint instead of failing the request."""
    from overcast.core.network import ports

    network = net.make(demo_token, "networks", "network", name="race")
    subnet = net.make(demo_token, "subnets", "subnet", network_id=network["id"], cidr="10.44.0.0/29", ip_version=4)
    first = net.make(demo_token, "ports", "port", network_id=network["id"])
    taken = first["fixed_ips"][0]["ip_address"]
    real = ports.allocate
    calls = []

    def stale(session, net_record, requests, mac, **kw):  # noqa: ANN001, ANN003, ANN202 - what a reader before the commit saw
        calls.append(requests)
        return [(subnet["id"], taken)] if len(calls) == 1 else real(session, net_record, requests, mac, **kw)

    monkeypatch.setattr(ports, "allocate", stale)
    second = net.make(demo_token, "ports", "port", network_id=network["id"])
    assert len(calls) == 2 and second["fixed_ips"][0]["ip_address"] not in ("", taken)
    status, body = net("GET", f"/ports?network_id={network['id']}", demo_token)
    assert status == 200 and len(body["ports"]) == 2

    monkeypatch.setattr(ports, "allocate", lambda session, net_record, requests, mac, **kw: [(subnet["id"], taken)])
    status, body = net("POST", "/ports", demo_token, {"port": {"network_id": network["id"]}})
    assert status == 409 and body["NeutronError"]["type"] == "IpAddressAlreadyAllocated"
    assert len(net("GET", f"/ports?network_id={network['id']}", demo_token)[1]["ports"]) == 2
