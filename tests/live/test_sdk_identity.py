"""Acceptance: openstacksdk (proxy and cloud layers, as Ansible and Terraform-style tools use it)
against a live ``overcast serve``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import openstack
import pytest
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v2, v3
from openstack import exceptions as sdk_exc

from overcast.testing.live import LiveServer

# openstacksdk warns about its own future API changes on every call; they are not ours to fix.
pytestmark = [pytest.mark.live, pytest.mark.filterwarnings("ignore::openstack.warnings._RemovedInSDKWarning")]


def test_authorize_and_current_ids(demo_conn: Any, admin_conn: Any) -> None:
    token = demo_conn.authorize()
    assert token
    demo_project = admin_conn.identity.find_project("demo", domain_id="default", ignore_missing=False)
    demo_user = admin_conn.identity.find_user("demo", domain_id="default", ignore_missing=False)
    assert demo_conn.current_project_id == demo_project.id
    assert demo_conn.current_user_id == demo_user.id


def test_token_validate_and_revoke_via_keystoneauth(live_server: LiveServer, admin_conn: Any) -> None:
    cloud = live_server.cloud("overcast")["auth"]
    auth = v3.Password(auth_url=live_server.auth_url, username=cloud["username"], password=cloud["password"],
                       user_domain_id="default", project_name="demo", project_domain_id="default")
    sess = ks_session.Session(auth=auth)
    token = sess.get_token()
    access = auth.get_access(sess)
    assert "member" in access.role_names
    assert "reader" in access.role_names  # implied by member

    validated = admin_conn.session.get(f"{live_server.identity_v3_url}/auth/tokens",
                                       headers={"X-Subject-Token": token})
    assert validated.status_code == 200
    assert validated.json()["token"]["project"]["name"] == "demo"

    admin_conn.session.delete(f"{live_server.identity_v3_url}/auth/tokens",
                              headers={"X-Subject-Token": token})
    after = admin_conn.session.get(f"{live_server.identity_v3_url}/auth/tokens",
                                   headers={"X-Subject-Token": token}, raise_exc=False)
    assert after.status_code == 404


def test_project_crud_proxy(admin_conn: Any, unique: Callable[[str], str]) -> None:
    ident = admin_conn.identity
    name = unique("proj")
    project = ident.create_project(name=name, domain_id="default", description="d", tags=["a", "b"])
    assert project.name == name
    assert project.is_enabled is True
    assert sorted(project.tags) == ["a", "b"]
    assert ident.get_project(project.id).name == name
    assert project.id in {p.id for p in ident.projects(domain_id="default")}
    assert [p.id for p in ident.projects(name=name)] == [project.id]
    updated = ident.update_project(project, description="changed", is_enabled=False)
    assert updated.description == "changed"
    assert ident.get_project(project.id).is_enabled is False
    ident.delete_project(project)
    with pytest.raises(sdk_exc.NotFoundException):
        ident.get_project(project.id)


def test_user_group_role_cloud_layer(admin_conn: Any, unique: Callable[[str], str]) -> None:
    """The cloud layer (what Ansible's openstack.cloud modules call)."""
    project = admin_conn.create_project(unique("proj"), domain_id="default")
    user = admin_conn.create_user(unique("user"), password="pw-Sdk-1", domain_id="default",
                                  default_project=project.id)
    group = admin_conn.create_group(unique("group"), "a group", domain="default")
    assert admin_conn.get_user(user.id).name == user.name
    assert admin_conn.get_project(project.id).name == project.name

    admin_conn.add_user_to_group(user.id, group.id)
    assert admin_conn.is_user_in_group(user.id, group.id)

    assert admin_conn.grant_role("member", user=user.id, project=project.id)
    assert admin_conn.grant_role("reader", group=group.id, project=project.id)
    assignments = admin_conn.list_role_assignments(filters={"project": project.id})
    member = admin_conn.get_role("member")
    reader = admin_conn.get_role("reader")
    assert {(a.role["id"], (a.user or {}).get("id"), (a.group or {}).get("id")) for a in assignments} == {
        (member.id, user.id, None),
        (reader.id, None, group.id),
    }

    assert admin_conn.revoke_role("member", user=user.id, project=project.id)
    assert admin_conn.revoke_role("reader", group=group.id, project=project.id)
    assert admin_conn.list_role_assignments(filters={"project": project.id}) == []

    admin_conn.remove_user_from_group(user.id, group.id)
    assert not admin_conn.is_user_in_group(user.id, group.id)
    assert admin_conn.delete_group(group.id)
    assert admin_conn.delete_user(user.id)
    assert admin_conn.delete_project(project.id)


def test_role_assignments_proxy_filters(admin_conn: Any, unique: Callable[[str], str]) -> None:
    ident = admin_conn.identity
    project = ident.create_project(name=unique("proj"), domain_id="default")
    user = ident.create_user(name=unique("user"), domain_id="default")
    role = ident.create_role(name=unique("role"))
    ident.assign_project_role_to_user(project, user, role)
    assert ident.validate_user_has_project_role(project, user, role)

    rows = list(ident.role_assignments(user_id=user.id, scope_project_id=project.id, include_names=True))
    assert len(rows) == 1
    assert rows[0].role["name"] == role.name
    assert rows[0].user["name"] == user.name
    assert rows[0].scope["project"]["name"] == project.name

    assert [r.role["id"] for r in ident.role_assignments(role_id=role.id)] == [role.id]
    ident.unassign_project_role_from_user(project, user, role)
    assert not ident.validate_user_has_project_role(project, user, role)
    ident.delete_role(role)
    ident.delete_user(user)
    ident.delete_project(project)


def test_application_credential_login(live_server: LiveServer, demo_conn: Any, unique: Callable[[str], str]) -> None:
    ident = demo_conn.identity
    cred = ident.create_application_credential(demo_conn.current_user_id, name=unique("appcred"))
    assert cred.secret
    assert cred.project_id == demo_conn.current_project_id

    conn = openstack.connect(
        auth_type="v3applicationcredential",
        auth={"auth_url": live_server.auth_url, "application_credential_id": cred.id,
              "application_credential_secret": cred.secret},
        region_name="RegionOne", load_yaml_config=False, load_envvars=False,
    )
    try:
        assert conn.authorize()
        assert conn.current_project_id == demo_conn.current_project_id
        assert conn.current_user_id == demo_conn.current_user_id
    finally:
        conn.close()

    listed = {c.id for c in ident.application_credentials(user=demo_conn.current_user_id)}
    assert cred.id in listed
    ident.delete_application_credential(demo_conn.current_user_id, cred.id)
    with pytest.raises(sdk_exc.NotFoundException):
        ident.get_application_credential(demo_conn.current_user_id, cred.id)


def test_catalog_services_endpoints_regions(live_server: LiveServer, admin_conn: Any, demo_conn: Any) -> None:
    endpoint = demo_conn.session.get_endpoint(service_type="identity", interface="public",
                                              region_name="RegionOne")
    assert endpoint.rstrip("/").startswith(live_server.auth_url)

    services = {s.type: s for s in admin_conn.identity.services()}
    assert services["identity"].name == "keystone"
    endpoints = list(admin_conn.identity.endpoints(service_id=services["identity"].id))
    assert {e.interface for e in endpoints} >= {"public"}
    assert {e.region_id for e in endpoints} == {"RegionOne"}
    assert "RegionOne" in {r.id for r in admin_conn.identity.regions()}


def test_v2_password_login(live_server: LiveServer) -> None:
    auth = v2.Password(auth_url=live_server.identity_v2_url, username="alt_demo",
                       password=live_server.password("overcast-alt"), tenant_name="alt_demo")
    sess = ks_session.Session(auth=auth)
    assert sess.get_token()
    assert auth.get_access(sess).project_name == "alt_demo"


def test_demo_forbidden_admin_calls(demo_conn: Any, admin_conn: Any) -> None:
    with pytest.raises(sdk_exc.ForbiddenException):
        list(demo_conn.identity.users())
    alt = admin_conn.identity.find_project("alt_demo", domain_id="default", ignore_missing=False)
    with pytest.raises((sdk_exc.ForbiddenException, sdk_exc.NotFoundException)):
        demo_conn.identity.get_project(alt.id)
    with pytest.raises((sdk_exc.ForbiddenException, sdk_exc.NotFoundException)):
        demo_conn.identity.delete_project(alt.id)
    assert demo_conn.identity.get_project(demo_conn.current_project_id).name == "demo"
    mine = {p.name for p in demo_conn.identity.user_projects(demo_conn.current_user_id)}
    assert mine == {"demo"}


def test_alt_demo_cannot_touch_demo(connect: Callable[..., Any], demo_conn: Any) -> None:
    alt = connect("overcast-alt")
    with pytest.raises((sdk_exc.ForbiddenException, sdk_exc.NotFoundException)):
        alt.identity.get_project(demo_conn.current_project_id)
    with pytest.raises((sdk_exc.ForbiddenException, sdk_exc.NotFoundException)):
        list(alt.identity.application_credentials(user=demo_conn.current_user_id))


def test_inexact_name_filters(live_server: LiveServer, admin_conn: Any, unique: Callable[[str], str]) -> None:
    """``name__contains`` is case-sensitive and ``name__icontains`` is not, on SQLite and PostgreSQL alike
    (their LIKE differ), as Keystone answers them."""
    stem = unique("inexact")
    users = [admin_conn.identity.create_user(name=name, domain_id="default")
             for name in (f"{stem}-Upper", f"{stem}-upper", f"{stem}-other")]
    try:
        def names(query: str) -> list[str]:
            resp = admin_conn.session.get(f"{live_server.identity_v3_url}/users?{query}")
            return sorted(u["name"] for u in resp.json()["users"])

        assert names(f"name__contains={stem}-Up") == [f"{stem}-Upper"]
        assert names(f"name__icontains={stem.upper()}-UP") == [f"{stem}-Upper", f"{stem}-upper"]
        assert names(f"name__startswith={stem}&name__endswith=er") == [f"{stem}-Upper", f"{stem}-other",
                                                                          f"{stem}-upper"]
    finally:
        for user in users:
            admin_conn.identity.delete_user(user)
