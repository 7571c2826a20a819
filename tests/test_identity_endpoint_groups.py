"""OS-EP-FILTER: endpoint groups and the endpoints and endpoint groups associated with projects."""

from __future__ import annotations

from tests.conftest import body
from tests.identity_helpers import make_project

V3 = "/identity/v3"
EP = f"{V3}/OS-EP-FILTER"


def _service_with_endpoint(cloud, token: str, type_: str) -> tuple[str, str]:
    service = body(cloud.request("POST", f"{V3}/services", token, json={"service": {"type": type_}}))["service"]
    endpoint = body(cloud.request("POST", f"{V3}/endpoints", token, json={"endpoint": {
        "service_id": service["id"], "interface": "public", "url": f"http://{type_}.example"}}))["endpoint"]
    return service["id"], endpoint["id"]


def test_endpoint_group_crud(cloud, admin_token):
    service_id, endpoint_id = _service_with_endpoint(cloud, admin_token, "svc-a")
    resp = cloud.request("POST", f"{EP}/endpoint_groups", admin_token, json={"endpoint_group": {
        "name": "g", "description": "d", "filters": {"service_id": service_id}}})
    assert resp.status_code == 201, resp.text
    group = body(resp)["endpoint_group"]
    assert group["name"] == "g" and group["filters"] == {"service_id": service_id}
    assert group["links"]["self"].endswith(f"/v3/OS-EP-FILTER/endpoint_groups/{group['id']}")
    assert group in body(cloud.request("GET", f"{EP}/endpoint_groups", admin_token))["endpoint_groups"]
    assert body(cloud.request("GET", f"{EP}/endpoint_groups/{group['id']}", admin_token))["endpoint_group"] == group
    assert cloud.request("HEAD", f"{EP}/endpoint_groups/{group['id']}", admin_token).status_code == 200
    endpoints = body(cloud.request("GET", f"{EP}/endpoint_groups/{group['id']}/endpoints", admin_token))
    assert [e["id"] for e in endpoints["endpoints"]] == [endpoint_id]
    other_service, _ = _service_with_endpoint(cloud, admin_token, "svc-b")
    updated = body(cloud.request("PATCH", f"{EP}/endpoint_groups/{group['id']}", admin_token, json={
        "endpoint_group": {"name": "g2", "filters": {"service_id": other_service}}}))["endpoint_group"]
    assert updated["name"] == "g2" and updated["filters"] == {"service_id": other_service}
    assert cloud.request("DELETE", f"{EP}/endpoint_groups/{group['id']}", admin_token).status_code == 204
    assert cloud.request("GET", f"{EP}/endpoint_groups/{group['id']}", admin_token).status_code == 404
    assert cloud.request("DELETE", f"{EP}/endpoint_groups/{group['id']}", admin_token).status_code == 404


def test_validation_and_policy(cloud, admin_token, demo_token):
    assert cloud.request("POST", f"{EP}/endpoint_groups", admin_token, json={
        "endpoint_group": {"filters": {}}}).status_code == 400
    bad_key = cloud.request("POST", f"{EP}/endpoint_groups", admin_token, json={
        "endpoint_group": {"name": "x", "filters": {"url": "http://x"}}})
    assert bad_key.status_code == 400 and "service_id or region_id or interface" in body(bad_key)["error"]["message"]
    assert cloud.request("PATCH", f"{EP}/endpoint_groups/nope", admin_token, json={
        "endpoint_group": {"name": "x"}}).status_code == 404
    assert cloud.request("POST", f"{EP}/endpoint_groups", demo_token, json={
        "endpoint_group": {"name": "x", "filters": {}}}).status_code == 403
    assert cloud.request("GET", f"{EP}/endpoint_groups", demo_token).status_code == 403


def test_project_associations(cloud, admin_token):
    project = make_project(cloud, "filtered")
    service_id, endpoint_id = _service_with_endpoint(cloud, admin_token, "svc-c")
    _, other_endpoint = _service_with_endpoint(cloud, admin_token, "svc-d")
    link = f"{EP}/projects/{project}/endpoints/{endpoint_id}"
    assert cloud.request("HEAD", link, admin_token).status_code == 404
    assert cloud.request("PUT", link, admin_token).status_code == 204
    assert cloud.request("HEAD", link, admin_token).status_code == 204
    assert cloud.request("PUT", f"{EP}/projects/nope/endpoints/{endpoint_id}", admin_token).status_code == 404
    assert cloud.request("PUT", f"{EP}/projects/{project}/endpoints/nope", admin_token).status_code == 404
    projects = body(cloud.request("GET", f"{EP}/endpoints/{endpoint_id}/projects", admin_token))["projects"]
    assert [p["id"] for p in projects] == [project]
    group = body(cloud.request("POST", f"{EP}/endpoint_groups", admin_token, json={"endpoint_group": {
        "name": "g", "filters": {"interface": "public", "service_id": None}}}))
    assert "endpoint_group" in group
    group_id = body(cloud.request("POST", f"{EP}/endpoint_groups", admin_token, json={"endpoint_group": {
        "name": "d-only", "filters": {"service_id": body(cloud.request(
            "GET", f"{V3}/endpoints/{other_endpoint}", admin_token))["endpoint"]["service_id"]}}}))[
        "endpoint_group"]["id"]
    assoc = f"{EP}/endpoint_groups/{group_id}/projects/{project}"
    assert cloud.request("GET", assoc, admin_token).status_code == 404
    assert cloud.request("PUT", assoc, admin_token).status_code == 204
    shown = body(cloud.request("GET", assoc, admin_token))["project_endpoint_group"]
    assert shown["endpoint_group_id"] == group_id and shown["project_id"] == project
    groups = body(cloud.request("GET", f"{EP}/projects/{project}/endpoint_groups", admin_token))["endpoint_groups"]
    assert [g["id"] for g in groups] == [group_id]
    assert [p["id"] for p in body(cloud.request("GET", f"{EP}/endpoint_groups/{group_id}/projects",
                                                admin_token))["projects"]] == [project]
    endpoints = body(cloud.request("GET", f"{EP}/projects/{project}/endpoints", admin_token))["endpoints"]
    assert {e["id"] for e in endpoints} == {endpoint_id, other_endpoint}
    assert cloud.request("DELETE", assoc, admin_token).status_code == 204
    assert cloud.request("DELETE", link, admin_token).status_code == 204
    assert body(cloud.request("GET", f"{EP}/projects/{project}/endpoints", admin_token))["endpoints"] == []
    # deleting the project drops its associations
    assert cloud.request("PUT", link, admin_token).status_code == 204
    assert cloud.request("DELETE", f"{V3}/projects/{project}", admin_token).status_code == 204
    assert body(cloud.request("GET", f"{EP}/endpoints/{endpoint_id}/projects", admin_token))["projects"] == []
