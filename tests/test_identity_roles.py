"""Roles and inference rules over the API."""

from __future__ import annotations

from tests.conftest import body
from tests.identity_helpers import make_domain, make_project, make_user, role_id

V3 = "/identity/v3"


def _role(cloud, token, name, **extra):
    resp = cloud.request("POST", f"{V3}/roles", token, json={"role": {"name": name, **extra}})
    assert resp.status_code == 201, resp.text
    return body(resp)["role"]


def test_role_crud(cloud, admin_token):
    role = _role(cloud, admin_token, "auditor", description="reads logs")
    assert role["domain_id"] is None and role["links"]["self"].endswith(f"/v3/roles/{role['id']}")
    assert role["description"] == "reads logs"
    listed = body(cloud.request("GET", f"{V3}/roles", admin_token))
    assert role in listed["roles"]
    assert set(listed["links"]) == {"self", "previous", "next"}
    assert [r["id"] for r in body(cloud.request("GET", f"{V3}/roles?name=auditor", admin_token))["roles"]] == [
        role["id"]]
    resp = cloud.request("PATCH", f"{V3}/roles/{role['id']}", admin_token, json={"role": {"name": "auditor2"}})
    assert resp.status_code == 200 and body(resp)["role"]["name"] == "auditor2"
    assert body(cloud.request("GET", f"{V3}/roles/{role['id']}", admin_token))["role"]["name"] == "auditor2"
    assert cloud.request("DELETE", f"{V3}/roles/{role['id']}", admin_token).status_code == 204
    resp = cloud.request("GET", f"{V3}/roles/{role['id']}", admin_token)
    assert resp.status_code == 404 and role["id"] in body(resp)["error"]["message"]


def test_role_faults(cloud, admin_token, demo_token):
    _role(cloud, admin_token, "dup")
    assert cloud.request("POST", f"{V3}/roles", admin_token, json={"role": {"name": "dup"}}).status_code == 409
    resp = cloud.request("POST", f"{V3}/roles", admin_token, json={"role": {"name": 5}})
    assert resp.status_code == 400 and "name" in body(resp)["error"]["message"]
    assert cloud.request("POST", f"{V3}/roles", admin_token, json={"role": {}}).status_code == 400
    assert cloud.request("POST", f"{V3}/roles", demo_token, json={"role": {"name": "x"}}).status_code == 403
    assert cloud.request("GET", f"{V3}/roles", demo_token).status_code == 403
    resp = cloud.request("POST", f"{V3}/roles", admin_token, json={"role": {"name": "x", "domain_id": "nope"}})
    assert resp.status_code == 404


def test_domain_roles(cloud, admin_token):
    domain_id = make_domain(cloud, "d1")
    role = _role(cloud, admin_token, "dup", domain_id=domain_id)
    _role(cloud, admin_token, "dup")  # the same name globally is fine
    assert role["domain_id"] == domain_id
    listed = body(cloud.request("GET", f"{V3}/roles?domain_id={domain_id}", admin_token))["roles"]
    assert listed == [role]
    assert role["id"] not in [r["id"] for r in body(cloud.request("GET", f"{V3}/roles", admin_token))["roles"]]
    resp = cloud.request("PATCH", f"{V3}/roles/{role['id']}", admin_token, json={"role": {"domain_id": None}})
    assert resp.status_code == 400


def test_implied_roles(cloud, admin_token):
    a, b, c = (_role(cloud, admin_token, n) for n in ("ra", "rb", "rc"))
    resp = cloud.request("PUT", f"{V3}/roles/{a['id']}/implies/{b['id']}", admin_token)
    assert resp.status_code == 201
    rule = body(resp)["role_inference"]
    assert rule["prior_role"]["id"] == a["id"] and rule["implies"]["id"] == b["id"]
    assert {"id", "name", "links"} <= set(rule["implies"])
    assert cloud.request("HEAD", f"{V3}/roles/{a['id']}/implies/{b['id']}", admin_token).status_code == 204
    assert cloud.request("GET", f"{V3}/roles/{a['id']}/implies/{b['id']}", admin_token).status_code == 200
    assert cloud.request("PUT", f"{V3}/roles/{a['id']}/implies/{b['id']}", admin_token).status_code == 409
    assert cloud.request("PUT", f"{V3}/roles/{b['id']}/implies/{c['id']}", admin_token).status_code == 201
    # a cycle is refused
    assert cloud.request("PUT", f"{V3}/roles/{c['id']}/implies/{a['id']}", admin_token).status_code == 403
    # admin may not be implied
    admin_role = role_id(cloud, admin_token, "admin")
    assert cloud.request("PUT", f"{V3}/roles/{a['id']}/implies/{admin_role}", admin_token).status_code == 403
    listed = body(cloud.request("GET", f"{V3}/roles/{a['id']}/implies", admin_token))["role_inference"]
    assert [r["id"] for r in listed["implies"]] == [b["id"]]
    everything = body(cloud.request("GET", f"{V3}/role_inferences", admin_token))["role_inferences"]
    priors = {r["prior_role"]["id"]: [i["id"] for i in r["implies"]] for r in everything}
    assert priors[a["id"]] == [b["id"]] and priors[b["id"]] == [c["id"]]
    assert cloud.request("DELETE", f"{V3}/roles/{a['id']}/implies/{b['id']}", admin_token).status_code == 204
    resp = cloud.request("GET", f"{V3}/roles/{a['id']}/implies/{b['id']}", admin_token)
    assert resp.status_code == 404 and "does not imply" in body(resp)["error"]["message"]
    assert cloud.request("PUT", f"{V3}/roles/{a['id']}/implies/nope", admin_token).status_code == 404


def test_global_role_cannot_imply_domain_role(cloud, admin_token):
    domain_id = make_domain(cloud, "d2")
    global_role = _role(cloud, admin_token, "g")
    domain_role = _role(cloud, admin_token, "dr", domain_id=domain_id)
    assert cloud.request("PUT", f"{V3}/roles/{global_role['id']}/implies/{domain_role['id']}",
                         admin_token).status_code == 403
    assert cloud.request("PUT", f"{V3}/roles/{domain_role['id']}/implies/{global_role['id']}",
                         admin_token).status_code == 201


def test_deleting_a_role_removes_grants_and_revokes_tokens(cloud, admin_token):
    user_id = make_user(cloud, "holder")
    project_id = make_project(cloud, "p-holder")
    role = _role(cloud, admin_token, "temp")
    prior = _role(cloud, admin_token, "prior")
    cloud.request("PUT", f"{V3}/roles/{prior['id']}/implies/{role['id']}", admin_token)
    path = f"{V3}/projects/{project_id}/users/{user_id}/roles/{role['id']}"
    assert cloud.request("PUT", path, admin_token).status_code == 204
    token = cloud.token("holder", "p-holder")
    assert cloud.request("GET", f"{V3}/auth/projects", token).status_code == 200
    assert cloud.request("DELETE", f"{V3}/roles/{role['id']}", admin_token).status_code == 204
    assert cloud.request("GET", f"{V3}/auth/projects", token).status_code == 401
    assert body(cloud.request("GET", f"{V3}/roles/{prior['id']}/implies", admin_token))[
        "role_inference"]["implies"] == []
    resp = cloud.request("GET", f"{V3}/role_assignments?role.id={role['id']}", admin_token)
    assert body(resp)["role_assignments"] == []
