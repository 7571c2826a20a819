"""Groups over the API: CRUD, membership, revocation on removal, grants removed with the group."""

from __future__ import annotations

from tests.conftest import body

V3 = "/identity/v3"


def create(cloud, token, **group):
    resp = cloud.request("POST", f"{V3}/groups", token, json={"group": group})
    assert resp.status_code == 201, resp.text
    return body(resp)["group"]


def user(cloud, token, name, password="pw-" + "x" * 8):
    resp = cloud.request("POST", f"{V3}/users", token, json={"user": {"name": name, "password": password}})
    assert resp.status_code == 201, resp.text
    return body(resp)["user"]


def test_crud(cloud, admin_token):
    group = create(cloud, admin_token, name="ops", description="Operators", pager="yes")
    assert (group["domain_id"], group["description"], group["pager"]) == ("default", "Operators", "yes")
    assert group["links"]["self"].endswith(f"/v3/groups/{group['id']}")
    assert body(cloud.request("GET", f"{V3}/groups/{group['id']}", admin_token))["group"] == group
    assert cloud.request("HEAD", f"{V3}/groups/{group['id']}", admin_token).status_code == 200
    resp = cloud.request("PATCH", f"{V3}/groups/{group['id']}", admin_token, json={"group": {"name": "sre"}})
    assert resp.status_code == 200 and body(resp)["group"]["name"] == "sre"
    listing = body(cloud.request("GET", f"{V3}/groups?name=sre", admin_token))
    assert [g["id"] for g in listing["groups"]] == [group["id"]]
    assert set(listing["links"]) == {"self", "previous", "next"}
    assert body(cloud.request("GET", f"{V3}/groups?domain_id=nope", admin_token))["groups"] == []
    assert cloud.request("DELETE", f"{V3}/groups/{group['id']}", admin_token).status_code == 204
    resp = cloud.request("GET", f"{V3}/groups/{group['id']}", admin_token)
    assert resp.status_code == 404
    assert body(resp)["error"]["message"] == f"Could not find group: {group['id']}."


def test_bad_input_and_conflict(cloud, admin_token):
    resp = cloud.request("POST", f"{V3}/groups", admin_token, json={"group": {"name": ""}})
    assert resp.status_code == 400 and "group.name" in body(resp)["error"]["message"]
    resp = cloud.request("POST", f"{V3}/groups", admin_token, json={"group": {"description": "x"}})
    assert resp.status_code == 400 and "name" in body(resp)["error"]["message"]
    create(cloud, admin_token, name="same")
    resp = cloud.request("POST", f"{V3}/groups", admin_token, json={"group": {"name": "same"}})
    assert resp.status_code == 409
    assert "Duplicate entry found with name same" in body(resp)["error"]["message"]


def test_membership(cloud, admin_token):
    group = create(cloud, admin_token, name="members")
    frank = user(cloud, admin_token, "frank")
    path = f"{V3}/groups/{group['id']}/users/{frank['id']}"
    resp = cloud.request("HEAD", path, admin_token)
    assert resp.status_code == 404
    assert cloud.request("PUT", path, admin_token).status_code == 204
    assert cloud.request("PUT", path, admin_token).status_code == 204
    assert cloud.request("HEAD", path, admin_token).status_code == 204
    users = body(cloud.request("GET", f"{V3}/groups/{group['id']}/users", admin_token))
    assert [u["id"] for u in users["users"]] == [frank["id"]] and "links" in users
    assert cloud.request("PUT", f"{V3}/groups/{group['id']}/users/nobody", admin_token).status_code == 404
    assert cloud.request("PUT", f"{V3}/groups/nogroup/users/{frank['id']}", admin_token).status_code == 404
    assert cloud.request("DELETE", path, admin_token).status_code == 204
    resp = cloud.request("DELETE", path, admin_token)
    assert resp.status_code == 404 and frank["id"] in body(resp)["error"]["message"]


def test_removal_revokes_tokens_and_delete_drops_grants(cloud, admin_token):
    from sqlalchemy import select

    from overcast.store.models import Assignment, Role
    group = create(cloud, admin_token, name="project-crew")
    grace = user(cloud, admin_token, "grace", "grace-pw")
    project = body(cloud.request("POST", f"{V3}/projects", admin_token, json={"project": {"name": "gp"}}))["project"]
    with cloud.app.identity.store.session() as session:
        role_id = session.scalar(select(Role.id).where(Role.name == "member"))
        session.add(Assignment(type="GroupProject", actor_id=group["id"], target_id=project["id"], role_id=role_id,
                               inherited=False))
    cloud.request("PUT", f"{V3}/groups/{group['id']}/users/{grace['id']}", admin_token)
    cloud.passwords["grace"] = "grace-pw"
    token = cloud.token("grace", "gp")
    assert cloud.request("GET", f"{V3}/projects/{project['id']}", token).status_code == 200
    cloud.request("DELETE", f"{V3}/groups/{group['id']}/users/{grace['id']}", admin_token)
    assert cloud.request("GET", f"{V3}/auth/projects", token).status_code == 401
    assert cloud.request("DELETE", f"{V3}/groups/{group['id']}", admin_token).status_code == 204
    with cloud.app.identity.store.session() as session:
        assert session.scalar(select(Assignment).where(Assignment.actor_id == group["id"])) is None


def test_member_cannot_manage_groups(cloud, admin_token, demo_token):
    group = create(cloud, admin_token, name="locked")
    demo_id = body(cloud.request("GET", f"{V3}/users?name=demo", admin_token))["users"][0]["id"]
    assert cloud.request("GET", f"{V3}/groups", demo_token).status_code == 403
    assert cloud.request("POST", f"{V3}/groups", demo_token, json={"group": {"name": "x"}}).status_code == 403
    assert cloud.request("PATCH", f"{V3}/groups/{group['id']}", demo_token,
                         json={"group": {"name": "y"}}).status_code == 403
    assert cloud.request("PUT", f"{V3}/groups/{group['id']}/users/{demo_id}", demo_token).status_code == 403
    assert cloud.request("DELETE", f"{V3}/groups/{group['id']}", demo_token).status_code == 403
