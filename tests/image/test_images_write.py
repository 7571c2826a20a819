"""Image write side, in process: create, JSON Patch, tags, actions, members, delete, Glance's faults.

Every image body is checked against the image schema we serve at ``/v2/schemas/image`` (Tempest
has no response schemas for image v2; Glance's clients validate against this document).
"""

from __future__ import annotations

import jsonschema
import pytest

PATCH = {"Content-Type": "application/openstack-images-v2.1-json-patch"}
PATCH20 = {"Content-Type": "application/openstack-images-v2.0-json-patch"}


@pytest.fixture
def schema(api, demo_token):  # noqa: ANN001, ANN201
    resp = api("GET", "/schemas/image", demo_token)
    assert resp.status_code == 200
    return resp.json


def _create(api, token, **body):  # noqa: ANN001, ANN003, ANN202
    body.setdefault("disk_format", "raw")
    body.setdefault("container_format", "bare")
    resp = api("POST", "/images", token, json=body)
    assert resp.status_code == 201, resp.text
    return resp.json


def test_schemas_documents(api, demo_token):
    image = api("GET", "/schemas/image", demo_token).json
    assert image["name"] == "image" and image["additionalProperties"] == {"type": "string"}
    assert "qcow2" in image["properties"]["disk_format"]["enum"]
    images = api("GET", "/schemas/images", demo_token).json
    assert images["name"] == "images" and images["properties"]["images"]["items"]["name"] == "image"
    member = api("GET", "/schemas/member", demo_token).json
    assert member["properties"]["status"]["enum"] == ["pending", "accepted", "rejected"]
    assert api("GET", "/schemas/members", demo_token).json["name"] == "members"
    assert api("GET", "/info/import", demo_token).json["import-methods"]["value"] == ["glance-direct",
                                                                                     "web-download"]
    assert api("GET", "/info/stores", demo_token).json["stores"][0] == {
        "id": "file", "description": "Local filesystem under the data directory", "default": True}


def test_create_show_update_delete(api, demo_token, schema):
    resp = api("POST", "/images", demo_token, json={"name": "w1", "disk_format": "qcow2",
                                                    "container_format": "bare", "tags": ["a", "a", "b"],
                                                    "hw_disk_bus": "scsi", "min_ram": 64})
    assert resp.status_code == 201
    assert resp.headers["Location"] == f"/v2/images/{resp.json['id']}"
    assert "glance-direct" in resp.headers["OpenStack-image-import-methods"]
    image = resp.json
    jsonschema.validate(image, schema)
    assert image["status"] == "queued" and image["visibility"] == "shared" and image["tags"] == ["a", "b"]
    assert image["hw_disk_bus"] == "scsi" and image["size"] is None and image["min_ram"] == 64
    ops = [{"op": "replace", "path": "/name", "value": "w2"}, {"op": "add", "path": "/os_distro", "value": "x"},
           {"op": "remove", "path": "/hw_disk_bus"}, {"op": "replace", "path": "/tags", "value": ["z"]},
           {"op": "add", "path": "/protected", "value": True}]
    resp = api("PATCH", f"/images/{image['id']}", demo_token, json=ops, headers=PATCH)
    assert resp.status_code == 200, resp.text
    jsonschema.validate(resp.json, schema)
    assert resp.json["name"] == "w2" and resp.json["os_distro"] == "x" and "hw_disk_bus" not in resp.json
    assert resp.json["tags"] == ["z"] and resp.json["protected"] is True
    resp = api("PATCH", f"/images/{image['id']}", demo_token, json=[{"replace": "/name", "value": "w3"}],
               headers=PATCH20)
    assert resp.status_code == 200 and resp.json["name"] == "w3"
    delete = api("DELETE", f"/images/{image['id']}", demo_token)
    assert delete.status_code == 403 and "protected" in delete.json["message"]
    api("PATCH", f"/images/{image['id']}", demo_token, json=[{"op": "replace", "path": "/protected",
                                                                "value": False}], headers=PATCH)
    assert api("DELETE", f"/images/{image['id']}", demo_token).status_code == 204
    assert api("GET", f"/images/{image['id']}", demo_token).status_code == 404


@pytest.mark.parametrize("body,status,words", [
    ({"disk_format": "floppy"}, 400, "disk_format"),
    ({"container_format": "zip"}, 400, "container_format"),
    ({"id": "not-a-uuid"}, 400, "id"),
    ({"size": 10}, 403, "Attribute 'size' is read-only."),
    ({"status": "active"}, 403, "read-only"),
    ({"location": "x"}, 403, "Attribute 'location' is reserved."),
    ({"os_glance_x": "y"}, 403, "reserved"),
    ({"visibility": "public"}, 403, "publicize_image"),
    ({"visibility": "bogus"}, 400, "visibility"),
    ({"min_ram": "x"}, 400, "min_ram"),
    ({"custom": 5}, 400, "custom"),
    ({"owner": "someone-else"}, 403, "owned by"),
])
def test_create_faults(api, demo_token, body, status, words):
    resp = api("POST", "/images", demo_token, json=body)
    assert resp.status_code == status, resp.text
    assert words in resp.json["message"]
    assert resp.json["code"].startswith(str(status)) and resp.json["title"]


def test_patch_faults(api, demo_token, alt_token):
    image = _create(api, demo_token, name="pf")
    url = f"/images/{image['id']}"

    def patch(ops, headers=PATCH, token=demo_token):  # noqa: ANN001, ANN202
        return api("PATCH", url, token, json=ops, headers=headers)

    assert patch([{"op": "replace", "path": "name", "value": "x"}]).status_code == 400
    assert patch([{"op": "replace", "path": "/a/b", "value": "x"}]).status_code == 400
    assert patch([{"op": "move", "path": "/name", "value": "x"}]).status_code == 400
    assert patch([{"op": "replace", "path": "/name"}]).status_code == 400
    assert patch([{"op": "replace", "path": "/status", "value": "active"}]).json["message"] == \
        "Attribute 'status' is read-only."
    assert patch([{"op": "add", "path": "/os_glance_foo", "value": "x"}]).status_code == 403
    assert patch([{"op": "replace", "path": "/disk_format", "value": "floppy"}]).status_code == 400
    assert patch([{"op": "replace", "path": "/visibility", "value": "public"}]).status_code == 403
    assert patch([{"op": "remove", "path": "/nothing"}]).status_code == 409
    assert patch([{"op": "replace", "path": "/name", "value": "x"}], {"Content-Type": "application/json"}
                 ).status_code == 415
    assert patch([{"op": "replace", "path": "/name", "value": "x"}], token=alt_token).status_code == 404
    # all or nothing: the first change is not kept when the second fails
    assert patch([{"op": "replace", "path": "/name", "value": "kept?"},
                  {"op": "remove", "path": "/nothing"}]).status_code == 409
    assert api("GET", url, demo_token).json["name"] == "pf"


def test_tags(api, demo_token, alt_token):
    image = _create(api, demo_token)
    url = f"/images/{image['id']}/tags"
    assert api("PUT", f"{url}/one", demo_token).status_code == 204
    assert api("PUT", f"{url}/one", demo_token).status_code == 204
    assert api("PUT", f"{url}/two", demo_token).status_code == 204
    assert api("GET", f"/images/{image['id']}", demo_token).json["tags"] == ["one", "two"]
    assert [i["id"] for i in api("GET", "/images?tag=one&tag=two", demo_token).json["images"]] == [image["id"]]
    assert api("DELETE", f"{url}/one", demo_token).status_code == 204
    assert api("DELETE", f"{url}/one", demo_token).status_code == 404
    assert api("PUT", f"{url}/x", alt_token).status_code == 404


def test_visibility_roles_and_isolation(api, demo_token, alt_token, admin_token):
    private = _create(api, demo_token, name="mine", visibility="private")
    assert api("GET", f"/images/{private['id']}", alt_token).status_code == 404
    assert api("DELETE", f"/images/{private['id']}", alt_token).status_code == 404
    public = _create(api, admin_token, name="pub", visibility="public")
    assert api("GET", f"/images/{public['id']}", demo_token).json["visibility"] == "public"
    denied = api("PATCH", f"/images/{public['id']}", demo_token, json=[
        {"op": "replace", "path": "/name", "value": "x"}], headers=PATCH)
    assert denied.status_code == 403
    community = _create(api, demo_token, name="comm", visibility="community")
    assert api("GET", f"/images/{community['id']}", alt_token).status_code == 200
    assert community["id"] not in {i["id"] for i in api("GET", "/images", alt_token).json["images"]}


def test_deactivate_reactivate(api, demo_token, cloud):
    image = _create(api, demo_token)
    url = f"/images/{image['id']}"
    assert api("POST", f"{url}/actions/deactivate", demo_token).status_code == 403  # still queued
    assert api("PUT", f"{url}/file", demo_token, body=b"0123456789",
               headers={"Content-Type": "application/octet-stream"}).status_code == 204
    assert api("POST", f"{url}/actions/deactivate", demo_token).status_code == 204
    assert api("GET", url, demo_token).json["status"] == "deactivated"
    assert api("GET", f"{url}/file", demo_token).status_code == 403
    assert api("GET", f"{url}/file", cloud.token("admin", "admin")).content == b"0123456789"
    assert api("POST", f"{url}/actions/reactivate", demo_token).status_code == 204
    assert api("GET", f"{url}/file", demo_token).content == b"0123456789"


def test_members_share_accept_reject(api, demo_token, alt_token, projects):
    image = _create(api, demo_token, name="to-share", visibility="private")
    url = f"/images/{image['id']}/members"
    alt = projects["alt_demo"]
    assert api("POST", url, demo_token, json={"member": alt}).status_code == 403  # private: no members
    api("PATCH", f"/images/{image['id']}", demo_token, json=[{"op": "replace", "path": "/visibility",
                                                                "value": "shared"}], headers=PATCH)
    created = api("POST", url, demo_token, json={"member": alt})
    assert created.status_code == 200, created.text
    assert created.json["status"] == "pending" and created.json["schema"] == "/v2/schemas/member"
    assert api("POST", url, demo_token, json={"member": alt}).status_code == 409
    assert api("POST", url, demo_token, json={}).status_code == 400
    listed = api("GET", url, demo_token).json
    assert [m["member_id"] for m in listed["members"]] == [alt] and listed["schema"] == "/v2/schemas/members"
    # the member sees it when asked for pending or all, not in its default list
    assert image["id"] not in {i["id"] for i in api("GET", "/images", alt_token).json["images"]}
    pending = api("GET", "/images?member_status=pending&visibility=shared", alt_token).json["images"]
    assert image["id"] in {i["id"] for i in pending}
    assert api("PUT", f"{url}/{alt}", demo_token, json={"status": "accepted"}).status_code == 403
    assert api("PUT", f"{url}/{alt}", alt_token, json={"status": "bogus"}).status_code == 400
    accepted = api("PUT", f"{url}/{alt}", alt_token, json={"status": "accepted"})
    assert accepted.status_code == 200 and accepted.json["status"] == "accepted"
    assert image["id"] in {i["id"] for i in api("GET", "/images", alt_token).json["images"]}
    assert api("GET", f"{url}/{alt}", alt_token).json["status"] == "accepted"
    assert api("DELETE", f"{url}/{alt}", alt_token).status_code == 403
    assert api("PUT", f"{url}/{alt}", alt_token, json={"status": "rejected"}).json["status"] == "rejected"
    assert image["id"] not in {i["id"] for i in api("GET", "/images", alt_token).json["images"]}
    assert api("DELETE", f"{url}/{alt}", demo_token).status_code == 204
    assert api("GET", f"/images/{image['id']}", alt_token).status_code == 404


def test_time_filters_and_bad_values(api, demo_token):
    image = _create(api, demo_token, name="timed")
    created = image["created_at"]
    ids = lambda q: {i["id"] for i in api("GET", "/images?" + q, demo_token).json["images"]}  # noqa: E731
    assert image["id"] in ids(f"created_at=gte:{created}")
    assert image["id"] not in ids(f"created_at=lt:{created}")
    assert image["id"] in ids(f"updated_at=lte:{image['updated_at']}&name=timed")
    assert image["id"] not in ids(f"created_at=neq:{created}")
    assert api("GET", "/images?created_at=gt:yesterday", demo_token).status_code == 400
    assert api("GET", "/images?size_min=x", demo_token).status_code == 400
    assert api("GET", "/images?size=65536&name=cirros", demo_token).json["images"][0]["name"] == "cirros"
    assert api("GET", "/images?visibility=bogus", demo_token).status_code == 400


def test_reader_cannot_write(cloud, api, admin_token, projects):
    user = cloud.request("POST", "/identity/v3/users", admin_token, json={"user": {
        "name": "image-reader", "password": "secret-pw-1", "domain_id": "default"}}).json["user"]
    roles = cloud.request("GET", "/identity/v3/roles?name=reader", admin_token).json["roles"]
    cloud.request("PUT", f"/identity/v3/projects/{projects['demo']}/users/{user['id']}/roles/{roles[0]['id']}",
                  admin_token)
    cloud.passwords["image-reader"] = "secret-pw-1"
    reader = cloud.token("image-reader", "demo")
    assert api("GET", "/images", reader).status_code == 200
    assert api("POST", "/images", reader, json={"name": "no"}).status_code == 403
