"""Glance's tasks API (``/v2/tasks``), in process: admin only, the legacy ``import`` task end to end,
list/show views, and the faults Glance gives. Bodies are checked against ``/v2/schemas/task(s)``.
"""

from __future__ import annotations

import time

import jsonschema
import pytest

from overcast.core.image.seed import payload

PROPERTIES = {"name": "from-task", "disk_format": "qcow2", "container_format": "bare", "visibility": "public"}


def _body(uri: str, **properties) -> dict:  # noqa: ANN003
    return {"type": "import", "input": {"import_from": uri, "import_from_format": "qcow2",
                                        "image_properties": {**PROPERTIES, **properties}}}


def _wait(api, token, task_id, status):  # noqa: ANN001, ANN202
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        task = api("GET", f"/tasks/{task_id}", token).json
        if task["status"] == status:
            return task
        time.sleep(0.05)
    raise AssertionError(f"task {task_id} stayed {task['status']}, wanted {status}")


@pytest.fixture
def schema(api, admin_token):  # noqa: ANN001, ANN201
    return {name: api("GET", f"/schemas/{name}", admin_token).json for name in ("task", "tasks")}


def test_import_task_makes_an_active_image(api, admin_token, web, allow_any_port, schema):
    web.files["/cirros.qcow2"] = payload()
    allow_any_port()
    resp = api("POST", "/tasks", admin_token, json=_body(f"{web.url}/cirros.qcow2"))
    assert resp.status_code == 201, resp.text
    jsonschema.validate(resp.json, schema["task"])
    assert resp.headers["Location"] == f"/v2/tasks/{resp.json['id']}"
    assert resp.json["status"] == "pending" and resp.json["type"] == "import" and "image_id" not in resp.json
    task = _wait(api, admin_token, resp.json["id"], "success")
    jsonschema.validate(task, schema["task"])
    image = api("GET", f"/images/{task['result']['image_id']}", admin_token).json
    assert image["status"] == "active" and image["name"] == "from-task" and image["disk_format"] == "qcow2"
    assert image["size"] == len(payload()) and image["virtual_size"] == 117440512
    assert task["expires_at"] and task["message"] == ""
    listed = api("GET", "/tasks", admin_token).json
    jsonschema.validate(listed, schema["tasks"])
    assert [t["id"] for t in listed["tasks"]] == [task["id"]] and "input" not in listed["tasks"][0]


def test_failed_import_task_leaves_no_image(api, admin_token, web, allow_any_port):
    allow_any_port()
    before = {i["id"] for i in api("GET", "/images", admin_token).json["images"]}
    resp = api("POST", "/tasks", admin_token, json=_body(f"{web.url}/missing.qcow2"))
    assert resp.status_code == 201
    task = _wait(api, admin_token, resp.json["id"], "failure")
    assert "404" in task["message"] and task["result"] is None
    assert {i["id"] for i in api("GET", "/images", admin_token).json["images"]} == before


def test_an_unresolvable_host_fails_the_task(api, admin_token):
    """Tempest's test_task_create_fake_image_location: accepted, then ``failure``."""
    resp = api("POST", "/tasks", admin_token, json=_body("http://tempest-dummy-img-file.qcow2"))
    assert resp.status_code == 201
    assert _wait(api, admin_token, resp.json["id"], "failure")["message"]


def test_tasks_are_for_admins(api, demo_token, admin_token):
    made = api("POST", "/tasks", admin_token, json=_body("http://example.invalid/x.qcow2")).json
    for method, path, body in (("GET", "/tasks", None), ("POST", "/tasks", _body("http://example.invalid/x")),
                               ("GET", f"/tasks/{made['id']}", None), ("DELETE", f"/tasks/{made['id']}", None)):
        resp = api(method, path, demo_token, json=body)
        assert resp.status_code == 403 and "tasks_api_access" in resp.json["message"], (method, path)


@pytest.mark.parametrize("body,status,words", [
    ({"input": {}}, 400, "Task 'type' is required"),
    ({"type": "import"}, 400, "Task 'input' is required"),
    ({"type": "convert", "input": {}}, 400, "type"),
    ({"type": "api_image_import", "input": {}}, 400, "image import API"),
    ({"type": "import", "input": {"import_from": "http://x/y", "import_from_format": "qcow2"}}, 400,
     "Input does not contain 'image_properties' field"),
    ({"type": "import", "input": {"import_from": "http://x/y", "import_from_format": "qcow2",
                                  "image_properties": None}}, 400, "must be a JSON object"),
    (_body("file:///etc/passwd"), 400, "does not pass filtering"),
    (_body("http://example.invalid:8080/x"), 400, "does not pass filtering"),
    (_body("http://example.invalid/x", disk_format="floppy"), 400, "disk_format"),
    (_body("http://example.invalid/x", disk_format=None), 400, "disk_format, container_format must be set"),
    (_body("http://example.invalid/x", status="active"), 403, "Attribute 'status' is read-only."),
    ({"type": "import", "input": {}, "extra": 1}, 400, "extra"),
])
def test_create_refuses_what_cannot_work(api, admin_token, body, status, words):
    resp = api("POST", "/tasks", admin_token, json=body)
    assert resp.status_code == status, resp.text
    assert words in resp.json["message"]
    assert api("GET", "/tasks", admin_token).json["tasks"] == []


def test_list_filters_paging_show_and_delete(api, admin_token):
    ids = [api("POST", "/tasks", admin_token, json=_body(f"http://example.invalid/{n}")).json["id"] for n in "abc"]
    for task_id in ids:
        _wait(api, admin_token, task_id, "failure")
    page = api("GET", "/tasks?limit=2&sort_key=created_at&sort_dir=asc", admin_token).json
    assert len(page["tasks"]) == 2 and page["next"].startswith("/v2/tasks?limit=2")
    rest = api("GET", "/" + page["next"].split("/", 2)[2], admin_token).json
    assert len(rest["tasks"]) == 1 and {t["id"] for t in page["tasks"] + rest["tasks"]} == set(ids)
    assert len(api("GET", "/tasks?status=failure&type=import", admin_token).json["tasks"]) == 3
    assert api("GET", "/tasks?status=pending", admin_token).json["tasks"] == []
    for query in ("status=bogus", "type=api_image_import", "sort_dir=up", "sort_key=input", "marker=nope",
                  "marker=00000000-0000-0000-0000-000000000000", "limit=-1"):
        assert api("GET", f"/tasks?{query}", admin_token).status_code == 400, query
    assert api("GET", "/tasks/00000000-0000-0000-0000-000000000000", admin_token).status_code == 404
    refused = api("DELETE", f"/tasks/{ids[0]}", admin_token)
    assert refused.status_code == 405 and refused.headers["Allow"] == "GET"
    assert api("GET", f"/tasks/{ids[0]}", admin_token).status_code == 200
