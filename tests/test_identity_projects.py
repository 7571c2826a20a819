"""Projects over the API: CRUD, hierarchy, tags and tag filters, policy, revocation and cascades."""

from __future__ import annotations

from tests.conftest import body

V3 = "/identity/v3"


def create(cloud, token, **project):
    resp = cloud.request("POST", f"{V3}/projects", token, json={"project": project})
    assert resp.status_code == 201, resp.text
    return body(resp)["project"]


def grant(cloud, user_id, project_id, role="member"):
    """Grant through the store (the role-assignment API belongs to another module)."""
    from sqlalchemy import select

    from overcast.store.models import Assignment, Role
    with cloud.app.identity.store.session() as session:
        role_id = session.scalar(select(Role.id).where(Role.name == role))
        session.add(Assignment(type="UserProject", actor_id=user_id, target_id=project_id, role_id=role_id,
                               inherited=False))


def test_create_show_update_list_delete(cloud, admin_token):
    project = create(cloud, admin_token, name="alpha", description="first", colour="blue")
    assert project["domain_id"] == "default" and project["parent_id"] == "default"
    assert project["is_domain"] is False and project["enabled"] is True and project["tags"] == []
    assert project["colour"] == "blue"
    assert project["links"]["self"].endswith(f"/identity/v3/projects/{project['id']}")
    shown = body(cloud.request("GET", f"{V3}/projects/{project['id']}", admin_token))["project"]
    assert shown == project
    assert cloud.request("HEAD", f"{V3}/projects/{project['id']}", admin_token).status_code == 200
    resp = cloud.request("PATCH", f"{V3}/projects/{project['id']}", admin_token,
                         json={"project": {"name": "beta", "description": None, "size": 3}})
    assert resp.status_code == 200, resp.text
    updated = body(resp)["project"]
    assert (updated["name"], updated["description"], updated["size"], updated["colour"]) == ("beta", "", 3, "blue")
    listing = body(cloud.request("GET", f"{V3}/projects?name=beta", admin_token))
    assert [p["id"] for p in listing["projects"]] == [project["id"]]
    assert set(listing["links"]) == {"self", "previous", "next"}
    assert cloud.request("HEAD", f"{V3}/projects", admin_token).status_code == 200
    assert cloud.request("DELETE", f"{V3}/projects/{project['id']}", admin_token).status_code == 204
    missing = cloud.request("GET", f"{V3}/projects/{project['id']}", admin_token)
    assert missing.status_code == 404
    assert body(missing)["error"]["message"] == f"Could not find project: {project['id']}."


def test_bad_input_names_the_field(cloud, admin_token):
    for bad, field in (({"name": ""}, "project.name"), ({"name": "x" * 65}, "project.name"),
                       ({"name": "ok", "enabled": "yes"}, "project.enabled"), ({}, "project")):
        resp = cloud.request("POST", f"{V3}/projects", admin_token, json={"project": bad})
        assert resp.status_code == 400, bad
        assert field in body(resp)["error"]["message"]
    resp = cloud.request("PATCH", f"{V3}/projects/whatever", admin_token, json={"project": {}})
    assert resp.status_code in (400, 404)
    resp = cloud.request("POST", f"{V3}/projects", admin_token, json={"project": {"name": "x", "domain_id": "nope"}})
    assert resp.status_code == 400
    assert body(resp)["error"]["message"] == "Could not find domain: nope."


def test_duplicate_name_is_409(cloud, admin_token):
    create(cloud, admin_token, name="dup")
    resp = cloud.request("POST", f"{V3}/projects", admin_token, json={"project": {"name": "dup"}})
    assert resp.status_code == 409
    assert body(resp)["error"]["message"].startswith("Conflict occurred attempting to store project - ")


def test_hierarchy_rules(cloud, admin_token):
    parent = create(cloud, admin_token, name="parent")
    child = create(cloud, admin_token, name="child", parent_id=parent["id"])
    assert child["parent_id"] == parent["id"] and child["domain_id"] == "default"
    children = body(cloud.request("GET", f"{V3}/projects?parent_id={parent['id']}", admin_token))["projects"]
    assert [p["id"] for p in children] == [child["id"]]
    # a parent in another domain is refused
    other = body(cloud.request("POST", f"{V3}/domains", admin_token, json={"domain": {"name": "other"}}))["domain"]
    resp = cloud.request("POST", f"{V3}/projects", admin_token,
                         json={"project": {"name": "x", "domain_id": other["id"], "parent_id": parent["id"]}})
    assert resp.status_code == 400
    # parent_id cannot change
    resp = cloud.request("PATCH", f"{V3}/projects/{child['id']}", admin_token,
                         json={"project": {"parent_id": "default"}})
    assert resp.status_code == 403
    # not a leaf: 403 without cascade
    resp = cloud.request("DELETE", f"{V3}/projects/{parent['id']}", admin_token)
    assert resp.status_code == 403
    assert "not a leaf in the hierarchy" in body(resp)["error"]["message"]
    # cascade needs the subtree disabled
    assert cloud.request("DELETE", f"{V3}/projects/{parent['id']}?cascade", admin_token).status_code == 403
    resp = cloud.request("PATCH", f"{V3}/projects/{parent['id']}", admin_token, json={"project": {"enabled": False}})
    assert resp.status_code == 403  # its child is still enabled
    for pid in (child["id"], parent["id"]):
        assert cloud.request("PATCH", f"{V3}/projects/{pid}", admin_token,
                             json={"project": {"enabled": False}}).status_code == 200
    assert cloud.request("DELETE", f"{V3}/projects/{parent['id']}?cascade=true", admin_token).status_code == 204
    assert cloud.request("GET", f"{V3}/projects/{child['id']}", admin_token).status_code == 404


def test_parents_and_subtree_as_ids(cloud, admin_token):
    a = create(cloud, admin_token, name="a")
    b = create(cloud, admin_token, name="b", parent_id=a["id"])
    c = create(cloud, admin_token, name="c", parent_id=b["id"])
    doc = body(cloud.request("GET", f"{V3}/projects/{c['id']}?parents_as_ids", admin_token))["project"]
    assert doc["parents"] == {b["id"]: {a["id"]: None}}
    doc = body(cloud.request("GET", f"{V3}/projects/{a['id']}?subtree_as_ids", admin_token))["project"]
    assert doc["subtree"] == {b["id"]: {c["id"]: None}}


def test_tags(cloud, admin_token):
    project = create(cloud, admin_token, name="tagged", tags=["one", "two"])
    base = f"{V3}/projects/{project['id']}/tags"
    assert sorted(body(cloud.request("GET", base, admin_token))["tags"]) == ["one", "two"]
    assert cloud.request("PUT", f"{base}/three", admin_token).status_code == 201
    assert cloud.request("GET", f"{base}/three", admin_token).status_code == 204
    assert cloud.request("HEAD", f"{base}/three", admin_token).status_code == 204
    missing = cloud.request("GET", f"{base}/four", admin_token)
    assert missing.status_code == 404
    assert body(missing)["error"]["message"] == "Could not find project tag: four."
    assert cloud.request("DELETE", f"{base}/one", admin_token).status_code == 204
    assert cloud.request("DELETE", f"{base}/one", admin_token).status_code == 404
    resp = cloud.request("PUT", base, admin_token, json={"tags": ["x", "y"]})
    assert resp.status_code == 200 and sorted(body(resp)["tags"]) == ["x", "y"]
    assert sorted(body(cloud.request("GET", f"{V3}/projects/{project['id']}", admin_token))["project"]["tags"]) \
        == ["x", "y"]
    assert cloud.request("DELETE", base, admin_token).status_code == 204
    assert body(cloud.request("GET", base, admin_token))["tags"] == []


def test_tag_rules(cloud, admin_token):
    project = create(cloud, admin_token, name="rules")
    base = f"{V3}/projects/{project['id']}/tags"
    for bad in (["a,b"], ["a/b"], ["x" * 256], ["dup", "dup"], [f"t{i}" for i in range(81)]):
        resp = cloud.request("PUT", base, admin_token, json={"tags": bad})
        assert resp.status_code == 400, bad
        assert "tags" in body(resp)["error"]["message"]
    resp = cloud.request("POST", f"{V3}/projects", admin_token, json={"project": {"name": "t", "tags": ["a,b"]}})
    assert resp.status_code == 400
    assert cloud.request("PUT", base, admin_token, json={"tags": [f"t{i}" for i in range(80)]}).status_code == 200
    assert cloud.request("PUT", f"{base}/one-too-many", admin_token).status_code == 400
    assert cloud.request("PUT", f"{base}/t0", admin_token).status_code == 201  # already there: fine


def test_tag_filters(cloud, admin_token):
    ab = create(cloud, admin_token, name="ab", tags=["a", "b"])
    a = create(cloud, admin_token, name="a-only", tags=["a"])
    c = create(cloud, admin_token, name="c-only", tags=["c"])

    def names(query):
        resp = cloud.request("GET", f"{V3}/projects?{query}", admin_token)
        assert resp.status_code == 200, resp.text
        return {p["name"] for p in body(resp)["projects"]} & {ab["name"], a["name"], c["name"]}

    assert names("tags=a,b") == {"ab"}
    assert names("tags=a") == {"ab", "a-only"}
    assert names("tags-any=b,c") == {"ab", "c-only"}
    assert names("not-tags=a,b") == {"a-only", "c-only"}
    assert names("not-tags-any=b,c") == {"a-only"}


def test_member_policy(cloud, admin_token, demo_token):
    demo_project = body(cloud.request("GET", f"{V3}/auth/projects", demo_token))["projects"][0]
    assert cloud.request("GET", f"{V3}/projects", demo_token).status_code == 403
    assert cloud.request("GET", f"{V3}/projects/{demo_project['id']}", demo_token).status_code == 200
    other = create(cloud, admin_token, name="private")
    resp = cloud.request("GET", f"{V3}/projects/{other['id']}", demo_token)
    assert resp.status_code == 403 and body(resp)["error"]["code"] == 403
    assert cloud.request("POST", f"{V3}/projects", demo_token, json={"project": {"name": "m"}}).status_code == 403
    assert cloud.request("PATCH", f"{V3}/projects/{demo_project['id']}", demo_token,
                         json={"project": {"name": "m"}}).status_code == 403
    assert cloud.request("DELETE", f"{V3}/projects/{other['id']}", demo_token).status_code == 403
    assert cloud.request("PUT", f"{V3}/projects/{demo_project['id']}/tags/x", demo_token).status_code == 403
    assert cloud.request("GET", f"{V3}/projects/{demo_project['id']}/tags", demo_token).status_code == 200


def test_disable_and_delete_revoke_project_tokens(cloud, admin_token):
    project = create(cloud, admin_token, name="revoked")
    demo_id = body(cloud.request("GET", f"{V3}/users?name=demo", admin_token))["users"][0]["id"]
    grant(cloud, demo_id, project["id"])
    token = cloud.token("demo", "revoked")
    assert cloud.request("GET", f"{V3}/projects/{project['id']}", token).status_code == 200
    cloud.request("PATCH", f"{V3}/projects/{project['id']}", admin_token, json={"project": {"enabled": False}})
    assert cloud.request("GET", f"{V3}/auth/projects", token).status_code == 401
    cloud.request("PATCH", f"{V3}/projects/{project['id']}", admin_token, json={"project": {"enabled": True}})
    token = cloud.token("demo", "revoked")
    assert cloud.request("DELETE", f"{V3}/projects/{project['id']}", admin_token).status_code == 204
    assert cloud.request("GET", f"{V3}/auth/projects", token).status_code == 401
    # the grant went with the project
    from sqlalchemy import select

    from overcast.store.models import Assignment
    with cloud.app.identity.store.session() as session:
        assert session.scalar(select(Assignment).where(Assignment.target_id == project["id"])) is None


def test_is_domain_projects(cloud, admin_token):
    resp = cloud.request("POST", f"{V3}/projects", admin_token,
                         json={"project": {"name": "dom", "is_domain": True, "domain_id": None}})
    assert resp.status_code == 201, resp.text
    project = body(resp)["project"]
    assert project["is_domain"] is True and project["domain_id"] is None
    domain = body(cloud.request("GET", f"{V3}/domains/{project['id']}", admin_token))["domain"]
    assert domain["name"] == "dom"
    listed = body(cloud.request("GET", f"{V3}/projects?is_domain=true", admin_token))["projects"]
    assert project["id"] in {p["id"] for p in listed}
    assert project["id"] not in {p["id"] for p in body(cloud.request("GET", f"{V3}/projects", admin_token))["projects"]}
    assert cloud.request("DELETE", f"{V3}/projects/{project['id']}", admin_token).status_code == 400
    cloud.request("PATCH", f"{V3}/projects/{project['id']}", admin_token, json={"project": {"enabled": False}})
    assert cloud.request("DELETE", f"{V3}/projects/{project['id']}", admin_token).status_code == 204
    assert cloud.request("GET", f"{V3}/domains/{project['id']}", admin_token).status_code == 404
