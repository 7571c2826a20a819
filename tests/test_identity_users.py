"""Users over the API: CRUD, password change, revocation, a user's groups and projects, policy."""

from __future__ import annotations

from tests.conftest import body

V3 = "/identity/v3"


def create(cloud, token, **user):
    resp = cloud.request("POST", f"{V3}/users", token, json={"user": user})
    assert resp.status_code == 201, resp.text
    return body(resp)["user"]


def login(cloud, name, password, project=None):
    auth = {"identity": {"methods": ["password"], "password": {"user": {
        "name": name, "domain": {"id": "default"}, "password": password}}}}
    if project:
        auth["scope"] = {"project": {"name": project, "domain": {"id": "default"}}}
    return cloud.client.simulate_post(f"{V3}/auth/tokens", json={"auth": auth})


def grant(cloud, actor_id, project_id, kind="UserProject", role="member"):
    from sqlalchemy import select

    from overcast.store.models import Assignment, Role
    with cloud.app.identity.store.session() as session:
        role_id = session.scalar(select(Role.id).where(Role.name == role))
        session.add(Assignment(type=kind, actor_id=actor_id, target_id=project_id, role_id=role_id,
                               inherited=False))


def test_create_show_update_delete(cloud, admin_token):
    user = create(cloud, admin_token, name="alice", password="s3cret-pw", email="a@example.org",
                  description="Alice", shoe_size=42)
    assert "password" not in user and "password_hash" not in user
    assert (user["domain_id"], user["enabled"], user["email"], user["shoe_size"]) == ("default", True,
                                                                                     "a@example.org", 42)
    assert user["options"] == {} and user["password_expires_at"] is None
    assert "default_project_id" not in user
    shown = body(cloud.request("GET", f"{V3}/users/{user['id']}", admin_token))["user"]
    assert shown == user
    assert cloud.request("HEAD", f"{V3}/users/{user['id']}", admin_token).status_code == 200
    resp = cloud.request("PATCH", f"{V3}/users/{user['id']}", admin_token,
                         json={"user": {"name": "alicia", "options": {"ignore_password_expiry": True}}})
    assert resp.status_code == 200, resp.text
    assert body(resp)["user"]["name"] == "alicia"
    assert body(resp)["user"]["options"] == {"ignore_password_expiry": True}
    assert login(cloud, "alicia", "s3cret-pw").status_code == 201
    assert cloud.request("DELETE", f"{V3}/users/{user['id']}", admin_token).status_code == 204
    resp = cloud.request("GET", f"{V3}/users/{user['id']}", admin_token)
    assert resp.status_code == 404
    assert body(resp)["error"]["message"] == f"Could not find user: {user['id']}."


def test_nothing_leaks_the_hash(cloud, admin_token):
    create(cloud, admin_token, name="hashless", password="p4ssword")
    text = cloud.request("GET", f"{V3}/users", admin_token).text
    assert "$2b$" not in text and "password_hash" not in text and "p4ssword" not in text


def test_list_filters(cloud, admin_token):
    create(cloud, admin_token, name="on")
    create(cloud, admin_token, name="off", enabled=False)
    def names(q: str) -> set[str]:
        return {u["name"] for u in body(cloud.request("GET", f"{V3}/users?{q}", admin_token))["users"]}

    assert names("name=on") == {"on"}
    assert "off" in names("enabled=false") and "on" not in names("enabled=false")
    assert {"admin", "demo", "alt_demo", "on"} <= names("domain_id=default&enabled=true")
    assert names("idp_id=whatever") >= {"on", "off"}
    assert names("password_expires_at=lt:2000-01-01T00:00:00Z") == set()
    assert cloud.request("GET", f"{V3}/users?password_expires_at=lt:notatime", admin_token).status_code == 400
    listing = body(cloud.request("GET", f"{V3}/users", admin_token))
    assert set(listing["links"]) == {"self", "previous", "next"}


def test_bad_input_and_conflicts(cloud, admin_token):
    for bad, field in (({"name": ""}, "user.name"), ({"name": "x", "enabled": "no"}, "user.enabled"),
                       ({"name": "x", "options": {"bogus": True}}, "user.options")):
        resp = cloud.request("POST", f"{V3}/users", admin_token, json={"user": bad})
        assert resp.status_code == 400, bad
        assert field in body(resp)["error"]["message"]
    resp = cloud.request("POST", f"{V3}/users", admin_token, json={"user": {"name": "x", "domain_id": "nope"}})
    assert resp.status_code == 404
    create(cloud, admin_token, name="twin")
    resp = cloud.request("POST", f"{V3}/users", admin_token, json={"user": {"name": "twin"}})
    assert resp.status_code == 409
    assert body(resp)["error"]["message"] == ("Conflict occurred attempting to store user - Duplicate entry found "
                                              "with name twin at domain ID default.")


def test_password_change(cloud, admin_token):
    user = create(cloud, admin_token, name="bob", password="old-password")
    token = body(login(cloud, "bob", "old-password"))
    old_token = login(cloud, "bob", "old-password").headers["X-Subject-Token"]
    assert token["token"]["user"]["name"] == "bob"
    path = f"{V3}/users/{user['id']}/password"
    wrong = cloud.request("POST", path, json={"user": {"original_password": "nope", "password": "new-password"}})
    assert wrong.status_code == 401
    missing = cloud.request("POST", path, json={"user": {"password": "new-password"}})
    assert missing.status_code == 400 and "original_password" in body(missing)["error"]["message"]
    resp = cloud.request("POST", path, old_token,
                         json={"user": {"original_password": "old-password", "password": "new-password"}})
    assert resp.status_code == 204
    assert login(cloud, "bob", "old-password").status_code == 401
    assert login(cloud, "bob", "new-password").status_code == 201
    assert cloud.request("GET", f"{V3}/auth/projects", old_token).status_code == 401


def test_admin_reset_and_disable_revoke(cloud, admin_token):
    user = create(cloud, admin_token, name="carol", password="first-pw")
    token = login(cloud, "carol", "first-pw").headers["X-Subject-Token"]
    cloud.request("PATCH", f"{V3}/users/{user['id']}", admin_token, json={"user": {"password": "second-pw"}})
    assert cloud.request("GET", f"{V3}/auth/projects", token).status_code == 401
    token = login(cloud, "carol", "second-pw").headers["X-Subject-Token"]
    cloud.request("PATCH", f"{V3}/users/{user['id']}", admin_token, json={"user": {"enabled": False}})
    assert cloud.request("GET", f"{V3}/auth/projects", token).status_code == 401
    assert login(cloud, "carol", "second-pw").status_code == 401


def test_user_projects_and_groups(cloud, admin_token):
    user = create(cloud, admin_token, name="dave", password="dave-pw")
    direct = body(cloud.request("POST", f"{V3}/projects", admin_token, json={"project": {"name": "direct"}}))["project"]
    via = body(cloud.request("POST", f"{V3}/projects", admin_token, json={"project": {"name": "via"}}))["project"]
    body(cloud.request("POST", f"{V3}/projects", admin_token, json={"project": {"name": "none"}}))
    group = body(cloud.request("POST", f"{V3}/groups", admin_token, json={"group": {"name": "crew"}}))["group"]
    assert cloud.request("PUT", f"{V3}/groups/{group['id']}/users/{user['id']}", admin_token).status_code == 204
    grant(cloud, user["id"], direct["id"])
    grant(cloud, group["id"], via["id"], kind="GroupProject")
    resp = cloud.request("GET", f"{V3}/users/{user['id']}/projects", admin_token)
    assert {p["name"] for p in body(resp)["projects"]} == {"direct", "via"}
    groups = body(cloud.request("GET", f"{V3}/users/{user['id']}/groups", admin_token))["groups"]
    assert [g["id"] for g in groups] == [group["id"]]
    # the user can list their own projects and groups, but not another's
    token = login(cloud, "dave", "dave-pw", project="direct").headers["X-Subject-Token"]
    assert cloud.request("GET", f"{V3}/users/{user['id']}/projects", token).status_code == 200
    assert cloud.request("GET", f"{V3}/users/{user['id']}/groups", token).status_code == 200
    admin_id = body(cloud.request("GET", f"{V3}/users?name=admin", admin_token))["users"][0]["id"]
    assert cloud.request("GET", f"{V3}/users/{admin_id}/projects", token).status_code == 403
    assert cloud.request("GET", f"{V3}/users/{user['id']}", token).status_code == 200


def test_delete_user_removes_grants_and_memberships(cloud, admin_token):
    from sqlalchemy import select

    from overcast.store.models import Assignment, GroupMembership
    user = create(cloud, admin_token, name="erin", password="erin-pw")
    group = body(cloud.request("POST", f"{V3}/groups", admin_token, json={"group": {"name": "g"}}))["group"]
    cloud.request("PUT", f"{V3}/groups/{group['id']}/users/{user['id']}", admin_token)
    demo = body(cloud.request("GET", f"{V3}/projects?name=demo", admin_token))["projects"][0]
    grant(cloud, user["id"], demo["id"])
    token = login(cloud, "erin", "erin-pw", project="demo").headers["X-Subject-Token"]
    assert cloud.request("DELETE", f"{V3}/users/{user['id']}", admin_token).status_code == 204
    assert cloud.request("GET", f"{V3}/auth/projects", token).status_code == 401
    with cloud.app.identity.store.session() as session:
        assert session.scalar(select(Assignment).where(Assignment.actor_id == user["id"])) is None
        assert session.scalar(select(GroupMembership).where(GroupMembership.user_id == user["id"])) is None


def test_member_cannot_manage_users(cloud, demo_token, admin_token):
    assert cloud.request("GET", f"{V3}/users", demo_token).status_code == 403
    assert cloud.request("POST", f"{V3}/users", demo_token, json={"user": {"name": "x"}}).status_code == 403
    admin_id = body(cloud.request("GET", f"{V3}/users?name=admin", admin_token))["users"][0]["id"]
    resp = cloud.request("PATCH", f"{V3}/users/{admin_id}", demo_token, json={"user": {"enabled": False}})
    assert resp.status_code == 403 and body(resp)["error"]["code"] == 403
    assert cloud.request("DELETE", f"{V3}/users/{admin_id}", demo_token).status_code == 403
    assert cloud.request("GET", f"{V3}/users/{admin_id}", demo_token).status_code == 403
