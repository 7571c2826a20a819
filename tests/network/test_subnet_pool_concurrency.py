"""Issue 17: subnets cut concurrently from one pool never overlap, on SQLite and PostgreSQL (the
pool's row is locked before its subnets are read, 0052), and a pool filled concurrently refuses
only what does not fit."""

from __future__ import annotations

import concurrent.futures
import ipaddress
from collections import Counter

import pytest

from tests.conftest import backend_settings

THREADS = 8


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request: pytest.FixtureRequest, settings):  # noqa: ANN001, ANN201
    """The shared settings, on a fresh PostgreSQL database for the ``postgresql`` run."""
    yield from backend_settings(request, settings, "overcast_pool_test")


def test_concurrent_allocations_from_one_pool_never_overlap(cloud, net, demo_token):
    pool = net.make(demo_token, "subnetpools", "subnetpool", name="race", prefixes=["10.160.0.0/22"],
                    min_prefixlen=24, default_prefixlen=26)
    networks = [net.make(demo_token, "networks", "network", name=f"race{i}")["id"] for i in range(4)]
    count = 16 + 4  # a /22 holds sixteen /26: four too many

    def create(index: int) -> tuple[int, dict]:
        resp = cloud.request("POST", "/network/v2.0/subnets", demo_token, json={"subnet": {
            "network_id": networks[index % 4], "ip_version": 4, "subnetpool_id": pool["id"]}})
        return resp.status_code, resp.json

    with concurrent.futures.ThreadPoolExecutor(THREADS) as executor:
        results = list(executor.map(create, range(count)))
    assert Counter(status for status, _ in results) == {201: 16, 409: 4}, [b for s, b in results if s != 201][:3]
    assert {b["NeutronError"]["type"] for s, b in results if s == 409} == {"SubnetAllocationError"}
    cidrs = sorted(ipaddress.ip_network(b["subnet"]["cidr"]) for s, b in results if s == 201)
    assert cidrs == list(ipaddress.ip_network("10.160.0.0/22").subnets(new_prefix=26))
