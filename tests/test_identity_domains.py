"""Domains over the API: CRUD, unique names, disable-before-delete and what deletion takes with it."""

from __future__ import annotations

from tests.conftest import body

V3 = "/identity/v3"


def create(cloud, token, **domain):
    resp = cloud.request("POST", f"{V3}/domains", token, json={"domain": domain})
    assert resp.status_code == 201, resp.text
    return body(resp)["domain"]


def test_crud(cloud, admin_token):
    domain = create(cloud, admin_token, name="acme", description="ACME", tags=["red"], region="eu")
    assert (domain["enabled"], domain["tags"], domain["options"], domain["region"]) == (True, ["red"], {}, "eu")
    assert domain["links"]["self"].endswith(f"/v3/domains/{domain['id']}")
    assert body(cloud.request("GET", f"{V3}/domains/{domain['id']}", admin_token))["domain"] == domain
    assert cloud.request("HEAD", f"{V3}/domains/{domain['id']}", admin_token).status_code == 200
    resp = cloud.request("PATCH", f"{V3}/domains/{domain['id']}", admin_token,
                         json={"domain": {"name": "acme2", "enabled": False}})
    assert resp.status_code == 200
    assert (body(resp)["domain"]["name"], body(resp)["domain"]["enabled"]) == ("acme2", False)
    def names(q: str) -> set[str]:
        return {d["name"] for d in body(cloud.request("GET", f"{V3}/domains{q}", admin_token))["domains"]}

    assert names("?enabled=false") == {"acme2"}
    assert names("?name=Default") == {"Default"}
    assert {"Default", "acme2"} <= names("")
    assert cloud.request("HEAD", f"{V3}/domains", admin_token).status_code == 200
    assert cloud.request("DELETE", f"{V3}/domains/{domain['id']}", admin_token).status_code == 204
    resp = cloud.request("GET", f"{V3}/domains/{domain['id']}", admin_token)
    assert resp.status_code == 404
    assert body(resp)["error"]["message"] == f"Could not find domain: {domain['id']}."


def test_bad_input_and_conflict(cloud, admin_token):
    resp = cloud.request("POST", f"{V3}/domains", admin_token, json={"domain": {"name": "x" * 65}})
    assert resp.status_code == 400 and "domain.name" in body(resp)["error"]["message"]
    resp = cloud.request("POST", f"{V3}/domains", admin_token, json={"domain": {"enabled": True}})
    assert resp.status_code == 400
    create(cloud, admin_token, name="unique")
    resp = cloud.request("POST", f"{V3}/domains", admin_token, json={"domain": {"name": "unique"}})
    assert resp.status_code == 409
    assert body(resp)["error"]["message"].startswith("Conflict occurred attempting to store project - ")
    resp = cloud.request("PATCH", f"{V3}/domains/default", admin_token, json={"domain": {}})
    assert resp.status_code == 400


def test_enabled_domain_cannot_be_deleted(cloud, admin_token):
    domain = create(cloud, admin_token, name="live")
    resp = cloud.request("DELETE", f"{V3}/domains/{domain['id']}", admin_token)
    assert resp.status_code == 403
    assert body(resp)["error"]["message"] == "Cannot delete a domain that is enabled, please disable it first."


def test_delete_takes_projects_users_groups(cloud, admin_token):
    domain = create(cloud, admin_token, name="doomed")
    parent = body(cloud.request("POST", f"{V3}/projects", admin_token,
                                json={"project": {"name": "p", "domain_id": domain["id"]}}))["project"]
    child = body(cloud.request("POST", f"{V3}/projects", admin_token,
                               json={"project": {"name": "c", "parent_id": parent["id"]}}))["project"]
    assert child["domain_id"] == domain["id"]
    user = body(cloud.request("POST", f"{V3}/users", admin_token,
                              json={"user": {"name": "u", "domain_id": domain["id"]}}))["user"]
    group = body(cloud.request("POST", f"{V3}/groups", admin_token,
                               json={"group": {"name": "g", "domain_id": domain["id"]}}))["group"]
    cloud.request("PUT", f"{V3}/groups/{group['id']}/users/{user['id']}", admin_token)
    cloud.request("PATCH", f"{V3}/domains/{domain['id']}", admin_token, json={"domain": {"enabled": False}})
    assert cloud.request("DELETE", f"{V3}/domains/{domain['id']}", admin_token).status_code == 204
    for path in (f"projects/{parent['id']}", f"projects/{child['id']}", f"users/{user['id']}",
                 f"groups/{group['id']}"):
        assert cloud.request("GET", f"{V3}/{path}", admin_token).status_code == 404, path


def test_domain_scoped_listing(cloud, admin_token):
    domain_token = cloud.token("admin", domain="default")
    other = create(cloud, admin_token, name="elsewhere")
    cloud.request("POST", f"{V3}/projects", admin_token, json={"project": {"name": "far", "domain_id": other["id"]}})
    projects = body(cloud.request("GET", f"{V3}/projects", domain_token))["projects"]
    assert projects and {p["domain_id"] for p in projects} == {"default"}
    # a project created with a domain-scoped token lands in that domain
    resp = cloud.request("POST", f"{V3}/projects", domain_token, json={"project": {"name": "mine"}})
    assert body(resp)["project"]["domain_id"] == "default"


def test_member_cannot_manage_domains(cloud, demo_token):
    assert cloud.request("GET", f"{V3}/domains", demo_token).status_code == 403
    resp = cloud.request("POST", f"{V3}/domains", demo_token, json={"domain": {"name": "x"}})
    assert resp.status_code == 403 and body(resp)["error"]["title"] == "Forbidden"
    assert cloud.request("PATCH", f"{V3}/domains/default", demo_token,
                         json={"domain": {"enabled": False}}).status_code == 403
    assert cloud.request("DELETE", f"{V3}/domains/default", demo_token).status_code == 403


def test_disabling_a_domain_revokes_its_tokens(cloud, admin_token):
    domain = create(cloud, admin_token, name="switch")
    resp = cloud.request("POST", f"{V3}/users", admin_token,
                         json={"user": {"name": "h", "domain_id": domain["id"], "password": "h-password"}})
    assert resp.status_code == 201
    login = cloud.client.simulate_post(f"{V3}/auth/tokens", json={"auth": {"identity": {
        "methods": ["password"], "password": {"user": {"name": "h", "domain": {"id": domain["id"]},
                                                       "password": "h-password"}}}}})
    token = login.headers["X-Subject-Token"]
    assert cloud.request("GET", f"{V3}/auth/projects", token).status_code == 200
    cloud.request("PATCH", f"{V3}/domains/{domain['id']}", admin_token, json={"domain": {"enabled": False}})
    assert cloud.request("GET", f"{V3}/auth/projects", token).status_code == 401
