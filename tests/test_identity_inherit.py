"""OS-INHERIT: grants inherited to the projects below a domain or project."""

from __future__ import annotations

from tests.conftest import body
from tests.identity_helpers import make_domain, make_group, make_project, make_user, role_id

V3 = "/identity/v3"


def _inherit(target: str, target_id: str, actor: str, actor_id: str, role: str = "") -> str:
    tail = f"/{role}/inherited_to_projects" if role else "/inherited_to_projects"
    return f"{V3}/OS-INHERIT/{target}/{target_id}/{actor}/{actor_id}/roles{tail}"


def test_domain_user_grant_reaches_every_project_but_not_the_domain(cloud, admin_token):
    domain = make_domain(cloud, "inh")
    parent = make_project(cloud, "p", domain_id=domain)
    leaf = make_project(cloud, "leaf", domain_id=domain, parent_id=parent)
    user = make_user(cloud, "alice", domain_id=domain)
    reader = role_id(cloud, admin_token, "reader")
    url = _inherit("domains", domain, "users", user, reader)
    assert cloud.request("PUT", url, admin_token).status_code == 204
    assert cloud.request("PUT", url, admin_token).status_code == 204  # idempotent
    assert cloud.request("HEAD", url, admin_token).status_code == 204
    assert cloud.request("GET", url, admin_token).status_code == 204
    listed = body(cloud.request("GET", _inherit("domains", domain, "users", user), admin_token))
    assert [r["id"] for r in listed["roles"]] == [reader]
    # not a direct grant on the domain
    direct = body(cloud.request("GET", f"{V3}/domains/{domain}/users/{user}/roles", admin_token))
    assert direct["roles"] == []
    assert cloud.request("HEAD", f"{V3}/domains/{domain}/users/{user}/roles/{reader}",
                         admin_token).status_code == 404
    # the grant itself, with its scope flag
    grants = body(cloud.request("GET", f"{V3}/role_assignments?user.id={user}"
                                       "&scope.OS-INHERIT:inherited_to=projects", admin_token))
    assert len(grants["role_assignments"]) == 1
    entry = grants["role_assignments"][0]
    assert entry["scope"] == {"domain": {"id": domain}, "OS-INHERIT:inherited_to": "projects"}
    assert entry["links"]["assignment"].endswith(url[len("/identity"):])
    # effective on both projects, without the flag, pointing at the inherited grant
    for project in (parent, leaf):
        found = body(cloud.request("GET", f"{V3}/role_assignments?effective&user.id={user}"
                                          f"&scope.project.id={project}", admin_token))["role_assignments"]
        assert found and all("OS-INHERIT:inherited_to" not in a["scope"] for a in found)
        assert reader in {a["role"]["id"] for a in found}
    assert cloud.request("DELETE", url, admin_token).status_code == 204
    assert cloud.request("HEAD", url, admin_token).status_code == 404
    assert cloud.request("DELETE", url, admin_token).status_code == 404
    for project in (parent, leaf):
        assert body(cloud.request("GET", f"{V3}/role_assignments?effective&user.id={user}"
                                         f"&scope.project.id={project}", admin_token))["role_assignments"] == []


def test_project_group_grant_reaches_the_subtree_and_tokens(cloud, admin_token):
    parent = make_project(cloud, "tree")
    leaf = make_project(cloud, "tree-leaf", parent_id=parent)
    user = make_user(cloud, "bob")
    group = make_group(cloud, "tree-group", members=(user,))
    member = role_id(cloud, admin_token, "member")
    url = _inherit("projects", parent, "groups", group, member)
    assert cloud.request("PUT", url, admin_token).status_code == 204
    assert cloud.request("HEAD", url, admin_token).status_code == 204
    # a token on the leaf works; on the parent itself the inherited grant gives nothing
    assert cloud.token("bob", "tree-leaf")
    resp = cloud.client.simulate_post(f"{V3}/auth/tokens", json={"auth": {"identity": {
        "methods": ["password"], "password": {"user": {"name": "bob", "domain": {"id": "default"},
                                                       "password": cloud.passwords["bob"]}}},
        "scope": {"project": {"id": parent}}}})
    assert resp.status_code == 401
    effective = body(cloud.request("GET", f"{V3}/role_assignments?effective&user.id={user}"
                                          f"&scope.project.id={leaf}", admin_token))["role_assignments"]
    assert member in {a["role"]["id"] for a in effective}
    assert cloud.request("DELETE", url, admin_token).status_code == 204
    assert cloud.request("GET", url, admin_token).status_code == 404


def test_errors_and_policy(cloud, admin_token, demo_token):
    user = make_user(cloud, "carol")
    reader = role_id(cloud, admin_token, "reader")
    assert cloud.request("PUT", _inherit("domains", "nope", "users", user, reader),
                         admin_token).status_code == 404
    missing_role = cloud.request("PUT", _inherit("domains", "default", "users", user, "nope"), admin_token)
    assert missing_role.status_code == 404 and "role" in body(missing_role)["error"]["message"]
    assert cloud.request("PUT", _inherit("projects", "nope", "users", user, reader),
                         admin_token).status_code == 404
    assert cloud.request("PUT", _inherit("domains", "default", "users", user, reader),
                         demo_token).status_code == 403
    assert cloud.request("GET", _inherit("domains", "default", "users", "nope"), admin_token).status_code == 404
    # Keystone has no list of inherited grants on a project
    assert cloud.request("GET", _inherit("projects", "x", "users", user), admin_token).status_code == 404
