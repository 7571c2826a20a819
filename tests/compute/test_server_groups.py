"""Server groups: policies per microversion, quota, isolation, members via the core interface."""

from __future__ import annotations

import pytest
from schemas import Api, check, seeded  # noqa: F401
from sqlalchemy import select

from overcast.core.compute import quotas, server_groups
from overcast.core.errors import Forbidden, Invalid, NotFound
from overcast.store.compute import Server
from overcast.store.models import Project


def test_create_show_list_delete_legacy(demo):
    created = check(demo("POST", "/os-server-groups", json={"server_group": {"name": "g", "policies": ["affinity"]}}),
                    "v2_1.server_groups", "create_show_server_group")["server_group"]
    assert created["policies"] == ["affinity"] and created["members"] == [] and created["metadata"] == {}
    check(demo("GET", f"/os-server-groups/{created['id']}"), "v2_1.server_groups", "create_show_server_group")
    check(demo("GET", "/os-server-groups", "2.13"), "v2_13.server_groups", "list_server_groups")
    assert demo("POST", "/os-server-groups", json={"server_group": {"name": "g",
                                                                    "policies": ["soft-affinity"]}}).status_code == 400
    assert demo("POST", "/os-server-groups", "2.15", json={"server_group": {
        "name": "g2", "policies": ["soft-affinity"]}}).status_code == 200
    check(demo("DELETE", f"/os-server-groups/{created['id']}"), "v2_1.server_groups", "delete_server_group")
    assert demo("GET", f"/os-server-groups/{created['id']}").status_code == 404


def test_policy_and_rules_2_64(demo):
    ok = demo("POST", "/os-server-groups", "2.64", json={"server_group": {
        "name": "aa", "policy": "anti-affinity", "rules": {"max_server_per_host": 2}}})
    body = check(ok, "v2_64.server_groups", "create_show_server_group")["server_group"]
    assert body["rules"] == {"max_server_per_host": 2}
    bad = demo("POST", "/os-server-groups", "2.64", json={"server_group": {
        "name": "a", "policy": "affinity", "rules": {"max_server_per_host": 2}}})
    assert bad.status_code == 400
    assert demo("POST", "/os-server-groups", "2.64", json={"server_group": {
        "name": "a", "policies": ["affinity"]}}).status_code == 400
    check(demo("GET", "/os-server-groups", "2.64"), "v2_64.server_groups", "list_server_groups")


def test_isolation_and_all_projects(demo, seeded, admin_token):
    gid = demo("POST", "/os-server-groups", json={"server_group": {"name": "g", "policies": ["affinity"]}}).json[
        "server_group"]["id"]
    alt = Api(seeded, seeded.token("alt_demo", "alt_demo"))
    assert alt("GET", f"/os-server-groups/{gid}").status_code == 404
    assert alt("DELETE", f"/os-server-groups/{gid}").status_code == 404
    assert alt("GET", "/os-server-groups").json["server_groups"] == []
    assert alt("GET", "/os-server-groups?all_projects=True").status_code == 403
    admin = Api(seeded, admin_token)
    assert admin("GET", "/os-server-groups").json["server_groups"] == []
    assert len(admin("GET", "/os-server-groups?all_projects=True").json["server_groups"]) == 1


def test_quota_and_members(demo, seeded):
    store = seeded.app.compute.store
    with store.session() as session:
        project = session.scalar(select(Project.id).where(Project.name == "demo"))
        quotas.update(session, project, {"server_groups": 1, "server_group_members": 1}, region="RegionOne")
    gid = demo("POST", "/os-server-groups", json={"server_group": {"name": "g", "policies": ["affinity"]}}).json[
        "server_group"]["id"]
    over = demo("POST", "/os-server-groups", json={"server_group": {"name": "h", "policies": ["affinity"]}})
    assert over.status_code == 403 and "too many server groups" in over.json["forbidden"]["message"]
    with store.session() as session:
        servers = []
        for n in range(2):
            s = Server(cloud="RegionOne", project_id=project, user_id="u", name=f"s{n}", flavor_id="1",
                       flavor={"vcpus": 1, "ram": 512})
            session.add(s)
            session.flush()
            servers.append(s.id)
        server_groups.add_member(session, gid, servers[0], project, region="RegionOne")
        with pytest.raises(Forbidden):
            server_groups.add_member(session, gid, servers[1], project, region="RegionOne")
        with pytest.raises(NotFound):
            server_groups.add_member(session, gid, servers[1], "other-project", region="RegionOne")
    with store.session() as session, pytest.raises(Invalid):
        other = server_groups.create(session, name="x", policy="affinity", project_id="p2", user_id="u",
                                     cloud="RegionOne")
        server_groups.add_member(session, other.id, servers[0], "p2", region="RegionOne")
    assert demo("GET", f"/os-server-groups/{gid}").json["server_group"]["members"] == [servers[0]]
    with store.session() as session:
        server_groups.remove_member(session, servers[0])
    assert demo("GET", f"/os-server-groups/{gid}").json["server_group"]["members"] == []
