"""Keystone v2.0 for legacy clients."""

from __future__ import annotations

from tests.conftest import body


def v2_login(cloud, tenant="demo", user="demo"):
    return cloud.client.simulate_post("/identity/v2.0/tokens", json={"auth": {
        "passwordCredentials": {"username": user, "password": cloud.passwords[user]}, "tenantName": tenant}})


def test_v2_password_login_gives_catalog_and_works_on_v3(cloud):
    resp = v2_login(cloud)
    assert resp.status_code == 200, resp.text
    access = body(resp)["access"]
    assert access["token"]["tenant"]["name"] == "demo"
    identity = [s for s in access["serviceCatalog"] if s["type"] == "identity"][0]
    assert identity["endpoints"][0]["publicURL"].endswith("/identity")
    token = access["token"]["id"]
    assert cloud.request("GET", "/identity/v3/auth/projects", token).status_code == 200


def test_v2_tenants_and_admin_validation(cloud, admin_token):
    token = body(v2_login(cloud))["access"]["token"]["id"]
    tenants = body(cloud.request("GET", "/identity/v2.0/tenants", token))["tenants"]
    assert [t["name"] for t in tenants] == ["demo"]
    assert cloud.request("GET", f"/identity/v2.0/tokens/{token}", admin_token).status_code == 200
    assert cloud.request("GET", f"/identity/v2.0/tokens/{token}", token).status_code == 403
    endpoints = body(cloud.request("GET", f"/identity/v2.0/tokens/{token}/endpoints", admin_token))
    assert endpoints["endpoints"]
    assert cloud.request("DELETE", f"/identity/v2.0/tokens/{token}", admin_token).status_code == 204
    assert cloud.request("GET", "/identity/v2.0/tenants", token).status_code == 401


def test_v2_bad_login(cloud):
    resp = cloud.client.simulate_post("/identity/v2.0/tokens", json={"auth": {
        "passwordCredentials": {"username": "demo", "password": "wrong"}}})
    assert resp.status_code == 401
    resp = cloud.client.simulate_post("/identity/v2.0/tokens", json={"auth": {}})
    assert resp.status_code == 400


def test_version_documents(cloud):
    versions = body(cloud.client.simulate_get("/identity"))["versions"]["values"]
    assert {v["id"] for v in versions} == {"v3.14", "v2.0"}
    assert body(cloud.client.simulate_get("/identity/v2.0"))["version"]["id"] == "v2.0"
    assert cloud.client.simulate_get("/identity/v2.0/extensions").status_code == 200


def test_unimplemented_endpoint_is_501_in_keystone_body(cloud, admin_token):
    resp = cloud.request("GET", "/identity/v2.0/users", admin_token)
    assert resp.status_code == 501
    assert body(resp)["error"]["code"] == 501
