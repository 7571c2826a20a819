"""Regions, services and endpoints, and the token catalog that follows them."""

from __future__ import annotations

from tests.conftest import body

V3 = "/identity/v3"


def test_regions(cloud, admin_token, demo_token):
    assert [r["id"] for r in body(cloud.request("GET", f"{V3}/regions", demo_token))["regions"]] == ["RegionOne"]
    resp = cloud.request("PUT", f"{V3}/regions/west", admin_token, json={"region": {"description": "W"}})
    assert resp.status_code == 201 and body(resp)["region"]["id"] == "west"
    assert cloud.request("PUT", f"{V3}/regions/west", admin_token, json={"region": {}}).status_code == 409
    resp = cloud.request("POST", f"{V3}/regions", admin_token, json={"region": {"parent_region_id": "west"}})
    assert resp.status_code == 201
    child = body(resp)["region"]
    assert child["parent_region_id"] == "west" and child["links"]["self"].endswith(f"/regions/{child['id']}")
    listed = body(cloud.request("GET", f"{V3}/regions?parent_region_id=west", admin_token))["regions"]
    assert [r["id"] for r in listed] == [child["id"]]
    resp = cloud.request("POST", f"{V3}/regions", admin_token, json={"region": {"parent_region_id": "nope"}})
    assert resp.status_code == 404
    resp = cloud.request("PATCH", f"{V3}/regions/west", admin_token,
                         json={"region": {"parent_region_id": child["id"]}})
    assert resp.status_code == 400 and "circular" in body(resp)["error"]["message"]
    resp = cloud.request("PUT", f"{V3}/regions/a", admin_token, json={"region": {"id": "b"}})
    assert resp.status_code == 400
    assert cloud.request("POST", f"{V3}/regions", demo_token, json={"region": {}}).status_code == 403
    # a region with endpoints stays; deleting a parent takes its children
    assert cloud.request("DELETE", f"{V3}/regions/RegionOne", admin_token).status_code == 403
    assert cloud.request("DELETE", f"{V3}/regions/west", admin_token).status_code == 204
    assert cloud.request("GET", f"{V3}/regions/{child['id']}", admin_token).status_code == 404


def test_services_and_endpoints_feed_the_catalog(cloud, admin_token):
    resp = cloud.request("POST", f"{V3}/services", admin_token, json={"service": {
        "type": "object-store", "name": "swift", "description": "objects"}})
    assert resp.status_code == 201, resp.text
    service = body(resp)["service"]
    assert service["enabled"] is True and service["name"] == "swift"
    found = body(cloud.request("GET", f"{V3}/services?type=object-store", admin_token))["services"]
    assert found == [service]
    assert body(cloud.request("GET", f"{V3}/services?name=keystone", admin_token))["services"][0]["type"] == "identity"
    resp = cloud.request("POST", f"{V3}/endpoints", admin_token, json={"endpoint": {
        "service_id": service["id"], "interface": "public", "url": "http://swift.example/v1",
        "region_id": "RegionOne"}})
    assert resp.status_code == 201, resp.text
    endpoint = body(resp)["endpoint"]
    assert endpoint["region"] == endpoint["region_id"] == "RegionOne" and endpoint["enabled"] is True
    filtered = body(cloud.request("GET", f"{V3}/endpoints?service_id={service['id']}&interface=public",
                                  admin_token))["endpoints"]
    assert filtered == [endpoint]

    token = cloud.token("demo", "demo")
    catalog = body(cloud.request("GET", f"{V3}/auth/catalog", token))["catalog"]
    swift = next(s for s in catalog if s["type"] == "object-store")
    assert swift["endpoints"][0]["url"] == "http://swift.example/v1"

    cloud.request("PATCH", f"{V3}/endpoints/{endpoint['id']}", admin_token,
                  json={"endpoint": {"url": "http://swift2.example/v1"}})
    catalog = body(cloud.request("GET", f"{V3}/auth/catalog", token))["catalog"]
    assert next(s for s in catalog if s["type"] == "object-store")["endpoints"][0]["url"].startswith(
        "http://swift2")
    cloud.request("PATCH", f"{V3}/services/{service['id']}", admin_token, json={"service": {"enabled": False}})
    catalog = body(cloud.request("GET", f"{V3}/auth/catalog", token))["catalog"]
    assert "object-store" not in [s["type"] for s in catalog]
    assert cloud.request("DELETE", f"{V3}/services/{service['id']}", admin_token).status_code == 204
    assert cloud.request("GET", f"{V3}/endpoints/{endpoint['id']}", admin_token).status_code == 404


def test_endpoint_faults(cloud, admin_token, demo_token):
    service = body(cloud.request("GET", f"{V3}/services?type=identity", admin_token))["services"][0]
    base = {"service_id": service["id"], "interface": "public", "url": "http://x.example/"}
    for change, field in (({"interface": "sideways"}, "interface"), ({"url": None}, "url"),
                          ({"enabled": "False"}, "enabled")):
        resp = cloud.request("POST", f"{V3}/endpoints", admin_token, json={"endpoint": {**base, **change}})
        assert resp.status_code == 400, change
        assert field in body(resp)["error"]["message"]
    resp = cloud.request("POST", f"{V3}/endpoints", admin_token, json={"endpoint": {**base, "region_id": "nope"}})
    assert resp.status_code == 400 and "region" in body(resp)["error"]["message"]
    resp = cloud.request("POST", f"{V3}/endpoints", admin_token, json={"endpoint": {**base, "service_id": "nope"}})
    assert resp.status_code == 400 and "service_id" in body(resp)["error"]["message"]
    # the legacy `region` attribute makes its region
    resp = cloud.request("POST", f"{V3}/endpoints", admin_token, json={"endpoint": {**base, "region": "legacy"}})
    assert resp.status_code == 201 and body(resp)["endpoint"]["region_id"] == "legacy"
    assert cloud.request("GET", f"{V3}/regions/legacy", admin_token).status_code == 200
    assert cloud.request("GET", f"{V3}/endpoints", demo_token).status_code == 403
    resp = cloud.request("POST", f"{V3}/services", admin_token, json={"service": {"name": "no-type"}})
    assert resp.status_code == 400 and "type" in body(resp)["error"]["message"]
    assert cloud.request("GET", f"{V3}/services/nope", admin_token).status_code == 404
    assert cloud.request("DELETE", f"{V3}/endpoints/nope", admin_token).status_code == 404
