"""The ``service-type`` extension (``/v2.0/service-providers`` from the region's configured network
driver) and the first ``tag`` API as Tempest's TagsTest drives it on a network."""

from __future__ import annotations

import dataclasses

from overcast.core.context import AuthContext
from overcast.core.network import service_providers
from overcast.drivers.network import Capability


def test_service_providers_come_from_the_configured_driver(cloud, net, demo_token, reader_token):
    driver = cloud.app.network.clouds[cloud.app.network.region]
    assert Capability.ROUTERS in driver.network.capabilities
    status, body = net("GET", "/service-providers", reader_token)
    assert status == 200
    assert body == {"service_providers": [{"service_type": "L3_ROUTER_NAT", "name": driver.name, "default": True}]}
    assert net("GET", "/service-providers?service_type=L3_ROUTER_NAT&fields=name", demo_token)[1] == {
        "service_providers": [{"name": driver.name}]}
    assert net("GET", "/service-providers?service_type=LOADBALANCERV2", demo_token)[1] == {"service_providers": []}
    status, body = net("GET", "/extensions/service-type", demo_token)
    assert status == 200 and body["extension"]["alias"] == "service-type"


def test_a_region_without_routers_lists_no_provider(cloud):
    core = cloud.app.network
    driver = core.clouds[core.region]
    member = AuthContext(user_id="u", user_domain_id="default", methods=("password",),
                         roles=frozenset({"member", "reader"}), audit_ids=(), issued_at=0.0, expires_at=0.0,
                         project_id="p")
    assert [p.service_type for p in service_providers.providers(core, member)] == ["L3_ROUTER_NAT"]
    without = dataclasses.replace(driver, network=None)
    assert service_providers.providers(dataclasses.replace(core, clouds={core.region: without}), member) == []


def test_network_tags_as_tempest_tags_test(net, demo_token, reader_token):
    status, body = net("GET", "/extensions/tag", demo_token)
    assert status == 200 and body["extension"]["name"] == "Tag support"
    network = net.make(demo_token, "networks", "network", name="tagged")
    path = f"/networks/{network['id']}/tags"
    assert net("PUT", f"{path}/first", demo_token)[0] == 201
    assert net("GET", f"{path}/first", demo_token)[0] == 204
    assert net("GET", path, reader_token)[1] == {"tags": ["first"]}
    status, body = net("PUT", path, demo_token, {"tags": ["a", "b", "c"]})
    assert status == 200 and sorted(body["tags"]) == ["a", "b", "c"]
    assert net("DELETE", f"{path}/a", demo_token)[0] == 204
    status, body = net("GET", f"{path}/a", demo_token)
    assert status == 404 and body["NeutronError"]["type"] == "TagNotFound"
    assert net("GET", f"{path}/b", demo_token)[0] == 204
    assert net("DELETE", path, demo_token)[0] == 204
    assert net("GET", f"{path}/b", demo_token)[0] == 404
    # a reader may list but not tag
    assert net("PUT", f"{path}/x", reader_token)[0] == 403
