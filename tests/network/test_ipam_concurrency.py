"""Issue 16.1: concurrent allocation never fails and never hands out an address twice while the
pools have free addresses, on SQLite and on PostgreSQL (where, before, every allocator tried the
lowest free address and gave up after five clashes). Ports are created through the API from many
threads; a full pool answers IpAddressGenerationFailure, and only once it really is full."""

from __future__ import annotations

import concurrent.futures
import ipaddress
from collections import Counter

import pytest

from tests.conftest import backend_settings

THREADS = 16


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request: pytest.FixtureRequest, settings):  # noqa: ANN001, ANN201
    """The shared settings, on a fresh PostgreSQL database for the ``postgresql`` run."""
    yield from backend_settings(request, settings, "overcast_ipam_test")


def _burst(cloud, token: str, network_id: str, count: int) -> list[tuple[int, dict]]:  # noqa: ANN001
    def create(_: int) -> tuple[int, dict]:
        resp = cloud.request("POST", "/network/v2.0/ports", token, json={"port": {"network_id": network_id}})
        return resp.status_code, resp.json

    with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(create, range(count)))


def _addresses(results: list[tuple[int, dict]]) -> list[str]:
    return [a["ip_address"] for status, body in results if status == 201 for a in body["port"]["fixed_ips"]]


def test_concurrent_ports_all_get_distinct_addresses(cloud, net, demo_token, admin_token):
    network = net.make(demo_token, "networks", "network", name="burst")
    net.make(demo_token, "subnets", "subnet", network_id=network["id"], ip_version=4, cidr="10.70.0.0/24")
    results = _burst(cloud, demo_token, network["id"], 160)
    assert Counter(status for status, _ in results) == {201: 160}, [b for s, b in results if s != 201][:3]
    addresses = _addresses(results)
    assert len(addresses) == 160 and len(set(addresses)) == 160
    assert all(ipaddress.ip_address(a) in ipaddress.ip_network("10.70.0.0/24") for a in addresses)


def test_a_pool_filled_concurrently_fails_only_when_full(cloud, net, demo_token):
    network = net.make(demo_token, "networks", "network", name="fill")
    net.make(demo_token, "subnets", "subnet", network_id=network["id"], ip_version=4, cidr="10.71.0.0/26")
    free = 61  # .2 to .62
    results = _burst(cloud, demo_token, network["id"], free + 20)
    counts = Counter(status for status, _ in results)
    assert counts == {201: free, 409: 20}, [b for s, b in results if s not in (201, 409)][:3]
    assert {b["NeutronError"]["type"] for s, b in results if s == 409} == {"IpAddressGenerationFailure"}
    addresses = _addresses(results)
    assert len(set(addresses)) == free


def test_a_pick_is_random_among_the_lowest_free_addresses(cloud, net, demo_token):
    """0024: one of the WINDOW lowest free addresses at random, not always the lowest."""
    from sqlalchemy import select

    from overcast.core.network import ipam
    from overcast.store.network import Subnet

    network = net.make(demo_token, "networks", "network", name="window")
    made = net.make(demo_token, "subnets", "subnet", network_id=network["id"], ip_version=4, cidr="10.72.0.0/24")
    with cloud.app.network.session() as session:
        subnet = session.scalar(select(Subnet).where(Subnet.id == made["id"]))
        picks = {ipam.pick(session, subnet) for _ in range(200)}
        lowest = {f"10.72.0.{n}" for n in range(2, 2 + ipam.WINDOW)}
        assert picks <= lowest and len(picks) > 1
        assert ipam.pick(session, subnet, exclude=lowest) not in lowest
