"""Nova's router matches no path that ends in a slash (other services' do, and so does Falcon)."""

from __future__ import annotations


def test_a_trailing_slash_finds_no_compute_route(cloud, admin_token):
    for method, path in (("GET", "/os-simple-tenant-usage/"), ("DELETE", "/images/"), ("GET", "/servers/"),
                         ("GET", "/flavors/1/")):
        resp = cloud.request(method, "/compute/v2.1" + path, admin_token)
        assert resp.status_code == 404, (method, path, resp.text)
        assert resp.json["itemNotFound"]["message"] == "The resource could not be found."
    assert cloud.request("GET", "/compute/v2.1/os-simple-tenant-usage/").status_code == 401  # the token first
    assert cloud.request("GET", "/compute/v2.1/flavors/1", admin_token).status_code == 200


def test_version_documents_and_other_services_take_one(cloud, admin_token):
    assert cloud.request("GET", "/compute/v2.1/").json["version"]["id"] == "v2.1"
    assert cloud.request("GET", "/compute/").status_code == 200
    assert cloud.request("GET", "/identity/v3/").status_code == 200
    assert cloud.request("GET", "/network/v2.0/networks/", admin_token).status_code == 200
