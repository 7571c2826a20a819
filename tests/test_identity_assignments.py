"""Grants on projects, domains and the system, and GET /v3/role_assignments."""

from __future__ import annotations

from tests.conftest import body
from tests.identity_helpers import make_domain, make_group, make_project, make_user, role_id

V3 = "/identity/v3"


def test_user_project_grant_lifecycle(cloud, admin_token):
    user_id = make_user(cloud, "alice")
    project_id = make_project(cloud, "p1")
    member = role_id(cloud, admin_token, "member")
    path = f"{V3}/projects/{project_id}/users/{user_id}/roles/{member}"
    assert cloud.request("HEAD", path, admin_token).status_code == 404
    assert cloud.request("PUT", path, admin_token).status_code == 204
    assert cloud.request("PUT", path, admin_token).status_code == 204  # idempotent
    assert cloud.request("HEAD", path, admin_token).status_code == 204
    assert cloud.request("GET", path, admin_token).status_code == 204
    roles = body(cloud.request("GET", f"{V3}/projects/{project_id}/users/{user_id}/roles", admin_token))
    assert [r["id"] for r in roles["roles"]] == [member] and "links" in roles
    token = cloud.token("alice", "p1")
    assert cloud.request("GET", f"{V3}/auth/projects", token).status_code == 200
    assert cloud.request("DELETE", path, admin_token).status_code == 204
    # the grant is gone and so is the token it gave
    assert cloud.request("GET", f"{V3}/auth/projects", token).status_code == 401
    resp = cloud.request("DELETE", path, admin_token)
    assert resp.status_code == 404 and "Could not find role assignment" in body(resp)["error"]["message"]


def test_grant_faults(cloud, admin_token, demo_token):
    user_id = make_user(cloud, "bob")
    project_id = make_project(cloud, "p2")
    member = role_id(cloud, admin_token, "member")
    cases = {
        f"{V3}/projects/{project_id}/users/{user_id}/roles/nope": "Could not find role: nope.",
        f"{V3}/projects/nope/users/{user_id}/roles/{member}": "Could not find project: nope.",
        f"{V3}/projects/{project_id}/users/nope/roles/{member}": "Could not find user: nope.",
        f"{V3}/domains/nope/groups/{user_id}/roles/{member}": "Could not find domain: nope.",
        f"{V3}/projects/{project_id}/groups/nope/roles/{member}": "Could not find group: nope.",
    }
    for path, message in cases.items():
        resp = cloud.request("PUT", path, admin_token)
        assert resp.status_code == 404, path
        assert body(resp)["error"]["message"] == message
    path = f"{V3}/projects/{project_id}/users/{user_id}/roles/{member}"
    assert cloud.request("PUT", path, demo_token).status_code == 403


def test_group_grant_reaches_members_and_revokes_them(cloud, admin_token):
    user_id = make_user(cloud, "carol")
    group_id = make_group(cloud, "g1", members=(user_id,))
    project_id = make_project(cloud, "p3")
    member = role_id(cloud, admin_token, "member")
    path = f"{V3}/projects/{project_id}/groups/{group_id}/roles/{member}"
    assert cloud.request("PUT", path, admin_token).status_code == 204
    roles = body(cloud.request("GET", f"{V3}/projects/{project_id}/groups/{group_id}/roles", admin_token))["roles"]
    assert [r["id"] for r in roles] == [member]
    token = cloud.token("carol", "p3")
    assert cloud.request("DELETE", path, admin_token).status_code == 204
    assert cloud.request("GET", f"{V3}/auth/projects", token).status_code == 401


def test_domain_and_system_grants(cloud, admin_token):
    user_id = make_user(cloud, "dave")
    group_id = make_group(cloud, "g2")
    reader = role_id(cloud, admin_token, "reader")
    for path in (f"{V3}/domains/default/users/{user_id}/roles/{reader}",
                 f"{V3}/domains/default/groups/{group_id}/roles/{reader}",
                 f"{V3}/system/users/{user_id}/roles/{reader}",
                 f"{V3}/system/groups/{group_id}/roles/{reader}"):
        assert cloud.request("PUT", path, admin_token).status_code == 204, path
        assert cloud.request("HEAD", path, admin_token).status_code == 204, path
        listing = path.rsplit("/", 1)[0]
        assert [r["id"] for r in body(cloud.request("GET", listing, admin_token))["roles"]] == [reader]
    system = cloud.token("dave", system=True)
    doc = body(cloud.request("GET", f"{V3}/auth/tokens", system, headers={"X-Subject-Token": system}))["token"]
    assert doc["system"] == {"all": True} and [r["name"] for r in doc["roles"]] == ["reader"]
    assert cloud.request("DELETE", f"{V3}/system/users/{user_id}/roles/{reader}", admin_token).status_code == 204
    assert cloud.request("GET", f"{V3}/auth/projects", system).status_code == 401


def _assignments(cloud, token, query=""):
    resp = cloud.request("GET", f"{V3}/role_assignments{query}", token)
    assert resp.status_code == 200, resp.text
    return body(resp)["role_assignments"]


def test_role_assignments_filters_and_format(cloud, admin_token):
    user_id = make_user(cloud, "erin")
    project_id = make_project(cloud, "p4")
    member = role_id(cloud, admin_token, "member")
    cloud.request("PUT", f"{V3}/projects/{project_id}/users/{user_id}/roles/{member}", admin_token)
    found = _assignments(cloud, admin_token, f"?user.id={user_id}")
    assert found == [{
        "role": {"id": member}, "user": {"id": user_id}, "scope": {"project": {"id": project_id}},
        "links": {"assignment": f"http://127.0.0.1:8780/identity/v3/projects/{project_id}/users/{user_id}"
                                f"/roles/{member}"}}]
    assert _assignments(cloud, admin_token, f"?scope.project.id={project_id}&role.id={member}") == found
    assert _assignments(cloud, admin_token, f"?scope.domain.id=default&user.id={user_id}") == []
    system = _assignments(cloud, admin_token, "?scope.system=all")
    assert system and all(a["scope"] == {"system": {"all": True}} for a in system)
    named = _assignments(cloud, admin_token, f"?user.id={user_id}&include_names")
    assert named[0]["user"] == {"id": user_id, "name": "erin", "domain": {"id": "default", "name": "Default"}}
    assert named[0]["scope"]["project"]["name"] == "p4"
    assert named[0]["role"] == {"id": member, "name": "member"}
    resp = cloud.request("GET", f"{V3}/role_assignments?scope.project.id=x&scope.domain.id=y", admin_token)
    assert resp.status_code == 400
    resp = cloud.request("GET", f"{V3}/role_assignments?effective&group.id=x", admin_token)
    assert resp.status_code == 400


def test_role_assignments_effective(cloud, admin_token):
    user_id = make_user(cloud, "frank")
    group_id = make_group(cloud, "g3", members=(user_id,))
    project_id = make_project(cloud, "p5")
    member = role_id(cloud, admin_token, "member")
    reader = role_id(cloud, admin_token, "reader")
    cloud.request("PUT", f"{V3}/projects/{project_id}/groups/{group_id}/roles/{member}", admin_token)
    direct = _assignments(cloud, admin_token, f"?scope.project.id={project_id}")
    assert [a.get("group") for a in direct] == [{"id": group_id}]
    effective = _assignments(cloud, admin_token, f"?scope.project.id={project_id}&effective")
    assert {(a["user"]["id"], a["role"]["id"]) for a in effective} == {(user_id, member), (user_id, reader)}
    assert all("group" not in a for a in effective)
    assert all(a["links"]["membership"].endswith(f"/groups/{group_id}/users/{user_id}") for a in effective)
    implied = next(a for a in effective if a["role"]["id"] == reader)
    assert implied["links"]["assignment"].endswith(f"/groups/{group_id}/roles/{member}")
    by_user = _assignments(cloud, admin_token, f"?user.id={user_id}&effective&include_names")
    assert {a["role"]["name"] for a in by_user} == {"member", "reader"}


def test_role_assignments_policy(cloud, admin_token, demo_token):
    assert cloud.request("GET", f"{V3}/role_assignments", demo_token).status_code == 403
    demo_project = body(cloud.request("GET", f"{V3}/auth/projects", demo_token))["projects"][0]["id"]
    resp = cloud.request("GET", f"{V3}/role_assignments?scope.project.id={demo_project}&include_subtree=true",
                         demo_token)
    assert resp.status_code == 200
    other = make_project(cloud, "p6")
    resp = cloud.request("GET", f"{V3}/role_assignments?scope.project.id={other}&include_subtree=true",
                         demo_token)
    assert resp.status_code == 403


def test_domain_specific_roles_on_domains_projects_and_the_system(cloud, admin_token):
    """Keystone refuses a domain-specific role only on a project of another domain (403) and on the
    system (400); on a domain, its own or another, the grant is made (and never reaches a token)."""
    user_id = make_user(cloud, "dsr-user")
    group_id = make_group(cloud, "dsr-group")
    other = make_domain(cloud, "dsr-other")
    in_other = make_project(cloud, "dsr-p", domain_id=other)
    in_default = make_project(cloud, "dsr-q")
    for role_domain in ("default", other):
        role = body(cloud.request("POST", f"{V3}/roles", admin_token,
                                  json={"role": {"name": f"dsr-{role_domain[:6]}", "domain_id": role_domain}}))["role"]
        for domain in ("default", other):
            for actor in (f"users/{user_id}", f"groups/{group_id}"):
                path = f"{V3}/domains/{domain}/{actor}/roles/{role['id']}"
                assert cloud.request("PUT", path, admin_token).status_code == 204, path
                assert cloud.request("HEAD", path, admin_token).status_code == 204, path
        own, foreign = (in_default, in_other) if role_domain == "default" else (in_other, in_default)
        assert cloud.request("PUT", f"{V3}/projects/{own}/users/{user_id}/roles/{role['id']}",
                             admin_token).status_code == 204
        resp = cloud.request("PUT", f"{V3}/projects/{foreign}/users/{user_id}/roles/{role['id']}", admin_token)
        assert resp.status_code == 403
        assert body(resp)["error"]["message"] == (f"Project {foreign} must be in the same domain as the role "
                                                  f"{role['id']} being assigned.")
        resp = cloud.request("PUT", f"{V3}/system/users/{user_id}/roles/{role['id']}", admin_token)
        assert resp.status_code == 400
        assert body(resp)["error"]["message"] == (f"Role {role['id']} is a domain-specific role. Unable to use a "
                                                  "domain-specific role in a system assignment.")
