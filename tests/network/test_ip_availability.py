"""Network IP availability (``network-ip-availability``) over the wire: Neutron's shape (api-ref),
totals from the allocation pools (IPv6 /64: 2**64 - 2), used addresses counted from the IPAM
records in SQL (no port loaded), Neutron's filters, ``fields=``, admin-only policy. Runs on
SQLite, and on PostgreSQL when ``OVERCAST_TEST_POSTGRES_URL`` names an admin URL."""

from __future__ import annotations

import pytest
from netwait import loaded, settle

from overcast.store.network import IpAllocation, Port
from tests.conftest import backend_settings

#: the api-ref's attributes of a network's and a subnet's availability
NETWORK_KEYS = {"network_id", "network_name", "tenant_id", "project_id", "total_ips", "used_ips",
                "subnet_ip_availability"}
SUBNET_KEYS = {"subnet_id", "subnet_name", "cidr", "ip_version", "total_ips", "used_ips"}


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request: pytest.FixtureRequest, settings):  # noqa: ANN001, ANN201
    yield from backend_settings(request, settings, "overcast_ipavail_test")


@pytest.fixture
def topology(net, admin_token, demo_token):  # noqa: ANN001, ANN201
    """A demo network with an IPv4 /28 (pool of 10) and an IPv6 /64, three ports on it, and an
    empty network."""
    network = net.make(demo_token, "networks", "network", name="avail")
    v4 = net.make(demo_token, "subnets", "subnet", network_id=network["id"], ip_version=4, cidr="10.9.0.0/28",
                  name="v4", allocation_pools=[{"start": "10.9.0.3", "end": "10.9.0.12"}])
    v6 = net.make(demo_token, "subnets", "subnet", network_id=network["id"], ip_version=6, cidr="2001:db8:9::/64",
                  name="v6")
    ports = [net.make(demo_token, "ports", "port", network_id=network["id"]) for _ in range(3)]
    empty = net.make(demo_token, "networks", "network", name="avail-empty")
    return network, v4, v6, ports, empty


def _subnets(entry: dict) -> dict[str, dict]:
    return {s["subnet_name"]: s for s in entry["subnet_ip_availability"]}


def test_show_counts_pools_and_allocations(net, admin_token, demo_token, topology):
    network, v4, v6, ports, _ = topology
    status, body = net("GET", f"/network-ip-availabilities/{network['id']}", admin_token)
    assert status == 200, body
    entry = body["network_ip_availability"]
    assert set(entry) == NETWORK_KEYS
    assert all(set(s) == SUBNET_KEYS for s in entry["subnet_ip_availability"])
    assert (entry["network_id"], entry["network_name"], entry["project_id"], entry["tenant_id"]) == (
        network["id"], "avail", network["project_id"], network["project_id"])
    subnets = _subnets(entry)
    # each port has one address on each subnet (what Neutron gives a port on a dual-stack network)
    on_v4 = sum(1 for p in ports for ip in p["fixed_ips"] if ip["subnet_id"] == v4["id"])
    on_v6 = sum(1 for p in ports for ip in p["fixed_ips"] if ip["subnet_id"] == v6["id"])
    assert (on_v4, on_v6) == (3, 3)
    assert subnets["v4"] == {"subnet_id": v4["id"], "subnet_name": "v4", "cidr": "10.9.0.0/28", "ip_version": 4,
                             "total_ips": 10, "used_ips": 3}
    assert subnets["v6"]["total_ips"] == 2 ** 64 - 2 and subnets["v6"]["used_ips"] == 3
    assert entry["total_ips"] == 10 + 2 ** 64 - 2 and entry["used_ips"] == 6
    # a port deleted frees its addresses
    assert net("DELETE", f"/ports/{ports[0]['id']}", demo_token)[0] == 204
    entry = net("GET", f"/network-ip-availabilities/{network['id']}", admin_token)[1]["network_ip_availability"]
    assert (_subnets(entry)["v4"]["used_ips"], entry["used_ips"]) == (2, 4)


def test_list_filters_and_fields(net, admin_token, topology):
    network, v4, _, _, empty = topology
    status, body = net("GET", "/network-ip-availabilities", admin_token)
    assert status == 200
    listed = {e["network_id"]: e for e in body["network_ip_availabilities"]}
    # every network of the region, the seeded ones too; one without subnets counts nothing
    assert {network["id"], empty["id"]} <= listed.keys() and len(listed) >= 4
    assert (listed[empty["id"]]["subnet_ip_availability"], listed[empty["id"]]["total_ips"],
            listed[empty["id"]]["used_ips"]) == ([], 0, 0)

    def ids(query: str) -> list[str]:
        status, body = net("GET", f"/network-ip-availabilities?{query}", admin_token)
        assert status == 200, body
        return [e["network_id"] for e in body["network_ip_availabilities"]]

    assert ids(f"network_id={network['id']}") == [network["id"]]
    assert ids(f"network_id={network['id']}&network_id={empty['id']}") == [network["id"], empty["id"]]
    assert ids("network_name=avail-empty") == [empty["id"]]
    assert set(ids(f"project_id={network['project_id']}")) >= {network["id"], empty["id"]}
    assert ids(f"tenant_id={network['project_id']}") == ids(f"project_id={network['project_id']}")
    assert ids("project_id=nobody") == []
    # ip_version keeps only that version's subnets, and drops networks that have none
    status, body = net("GET", "/network-ip-availabilities?ip_version=4&network_name=avail", admin_token)
    [entry] = body["network_ip_availabilities"]
    assert [s["subnet_id"] for s in entry["subnet_ip_availability"]] == [v4["id"]] and entry["total_ips"] == 10
    assert empty["id"] not in ids("ip_version=4") and ids("ip_version=x") == []
    # fields= on the list and on one
    status, body = net("GET", f"/network-ip-availabilities?network_id={network['id']}&fields=network_id"
                              "&fields=used_ips", admin_token)
    assert body["network_ip_availabilities"] == [{"network_id": network["id"], "used_ips": 6}]
    status, body = net("GET", f"/network-ip-availabilities/{network['id']}?fields=total_ips", admin_token)
    assert body == {"network_ip_availability": {"total_ips": 10 + 2 ** 64 - 2}}


def test_counted_in_sql_without_loading_ports(cloud, net, admin_token, topology):
    network = topology[0]
    settle(cloud)  # the backend's realisation of the ports is done (it loads them)
    with loaded(Port) as ports, loaded(IpAllocation) as allocations:
        assert net("GET", "/network-ip-availabilities", admin_token)[0] == 200
        assert net("GET", f"/network-ip-availabilities/{network['id']}", admin_token)[0] == 200
    assert (ports, allocations) == ([], [])


def test_admin_only_and_faults(net, admin_token, demo_token, reader_token, topology):
    network = topology[0]
    # Neutron leaves out of a list what the policy refuses, and hides one behind a plain 404
    for token in (demo_token, reader_token):
        assert net("GET", "/network-ip-availabilities", token) == (200, {"network_ip_availabilities": []})
        status, body = net("GET", f"/network-ip-availabilities/{network['id']}", token)
        assert (status, body["NeutronError"]["type"], body["NeutronError"]["message"]) == (
            404, "HTTPNotFound", "The resource could not be found.")
    status, body = net("GET", "/network-ip-availabilities/no-such-network", admin_token)
    assert (status, body["NeutronError"]["type"], body["NeutronError"]["message"]) == (
        404, "NetworkNotFound", "Network no-such-network could not be found.")


def test_listed_as_extension(net, demo_token):
    aliases = {e["alias"] for e in net("GET", "/extensions", demo_token)[1]["extensions"]}
    assert "network-ip-availability" in aliases
    assert net("GET", "/extensions/network-ip-availability", demo_token)[0] == 200
