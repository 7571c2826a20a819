"""Acceptance: the unmodified ``openstack`` CLI against a live ``overcast serve`` (Keystone v3).

Every test here is what an OpenStack user types; expectations are Keystone's real behaviour.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v2

from overcast.testing.live import LiveServer, OpenStackCLI

# openstacksdk warns about its own future API changes on every call; they are not ours to fix.
pytestmark = [pytest.mark.live, pytest.mark.filterwarnings("ignore::openstack.warnings._RemovedInSDKWarning")]


def _names(rows: list[dict], key: str = "Name") -> set[str]:
    return {row[key] for row in rows}


@pytest.fixture(scope="module")
def default_domain_name(admin_cli: OpenStackCLI) -> str:
    return admin_cli("domain", "show", "default")["name"]


# -- tokens -----------------------------------------------------------------------------------

def test_token_issue_project_scoped(cli: OpenStackCLI, ids: dict[str, str]) -> None:
    token = cli("token", "issue")
    assert token["id"]
    assert token["expires"]
    assert token["project_id"] == ids["project:demo"]
    assert token["user_id"] == ids["user:demo"]


def test_token_issue_every_bootstrap_cloud(cli: OpenStackCLI, ids: dict[str, str]) -> None:
    assert cli("token", "issue", cloud="overcast-alt")["project_id"] == ids["project:alt_demo"]
    assert cli("token", "issue", cloud="overcast-admin")["project_id"] == ids["project:admin"]
    system = cli("token", "issue", cloud="overcast-system-admin")
    assert system["user_id"] == ids["user:admin"]
    assert "project_id" not in system
    assert system.get("system") == "all" or "system" in str(system).lower()


def test_token_revoke_then_refused(live_server: LiveServer, cli: OpenStackCLI, admin_cli: OpenStackCLI) -> None:
    victim = cli("token", "issue")["id"]
    admin = admin_cli("token", "issue")["id"]
    v3 = live_server.identity_v3_url

    # Valid before revocation.
    before = requests.get(f"{v3}/auth/tokens", headers={"X-Auth-Token": admin, "X-Subject-Token": victim},
                          timeout=10)
    assert before.status_code == 200, before.text

    cli.run("token", "revoke", victim)

    after = requests.get(f"{v3}/auth/tokens", headers={"X-Auth-Token": admin, "X-Subject-Token": victim},
                         timeout=10)
    assert after.status_code == 404, after.text
    # The revoked token no longer authenticates anything.
    used = requests.get(f"{v3}/auth/projects", headers={"X-Auth-Token": victim}, timeout=10)
    assert used.status_code == 401, used.text
    # A token-method rescope with it is refused too.
    rescope = requests.post(f"{v3}/auth/tokens", timeout=10, json={"auth": {
        "identity": {"methods": ["token"], "token": {"id": victim}}}})
    assert rescope.status_code in (401, 404), rescope.text


# -- projects -----------------------------------------------------------------------------------

def test_project_create_list_show_set_delete(admin_cli: OpenStackCLI, unique: Callable[[str], str]) -> None:
    name = unique("proj")
    created = admin_cli("project", "create", "--domain", "default", "--description", "made by a test",
                        "--tag", "alpha", name)
    assert created["name"] == name
    assert created["domain_id"] == "default"
    assert created["description"] == "made by a test"
    assert created["enabled"] is True
    assert "alpha" in created["tags"]
    pid = created["id"]

    assert name in _names(admin_cli("project", "list"))
    assert admin_cli("project", "show", pid)["name"] == name
    assert admin_cli("project", "show", "--domain", "default", name)["id"] == pid

    admin_cli.run("project", "set", "--description", "changed", "--disable", pid)
    shown = admin_cli("project", "show", pid)
    assert shown["description"] == "changed"
    assert shown["enabled"] is False

    admin_cli.run("project", "delete", pid)
    assert pid not in _names(admin_cli("project", "list"), "ID")
    gone = admin_cli.fails("project", "show", pid)
    assert "404" in gone.stderr or "no project found" in gone.stderr.lower() or "not found" in gone.stderr.lower()


def test_project_hierarchy(admin_cli: OpenStackCLI, unique: Callable[[str], str]) -> None:
    parent = admin_cli("project", "create", "--domain", "default", unique("parent"))
    child = admin_cli("project", "create", "--domain", "default", "--parent", parent["id"], unique("child"))
    assert child["parent_id"] == parent["id"]
    # A parent with a child cannot be deleted (Keystone answers 403 Forbidden).
    admin_cli.fails("project", "delete", parent["id"])
    admin_cli.run("project", "delete", child["id"])
    admin_cli.run("project", "delete", parent["id"])


# -- users --------------------------------------------------------------------------------------

def test_user_create_list_show_set_delete(admin_cli: OpenStackCLI, unique: Callable[[str], str],
                                          ids: dict[str, str]) -> None:
    name = unique("user")
    created = admin_cli("user", "create", "--domain", "default", "--password", "s3cret-Pa55",
                        "--email", f"{name}@example.com", "--project", ids["project:demo"], name)
    assert created["name"] == name
    assert created["domain_id"] == "default"
    assert created["enabled"] is True
    assert created["email"] == f"{name}@example.com"
    assert created["default_project_id"] == ids["project:demo"]
    assert "password" not in created
    uid = created["id"]

    assert name in _names(admin_cli("user", "list"))
    assert name in _names(admin_cli("user", "list", "--domain", "default"))
    assert admin_cli("user", "show", uid)["name"] == name

    admin_cli.run("user", "set", "--email", "new@example.com", "--description", "tester", uid)
    shown = admin_cli("user", "show", uid)
    assert shown["email"] == "new@example.com"
    assert shown["description"] == "tester"

    admin_cli.run("user", "set", "--disable", uid)
    assert admin_cli("user", "show", uid)["enabled"] is False

    admin_cli.run("user", "delete", uid)
    assert name not in _names(admin_cli("user", "list"))
    admin_cli.fails("user", "show", uid)


def test_new_user_logs_in_after_role_grant(live_server: LiveServer, admin_cli: OpenStackCLI,
                                           unique: Callable[[str], str], tmp_path: Path) -> None:
    project = admin_cli("project", "create", "--domain", "default", unique("proj"))
    user_name = unique("user")
    user = admin_cli("user", "create", "--domain", "default", "--password", "pw-Login-1", user_name)
    admin_cli.run("role", "add", "--project", project["id"], "--user", user["id"], "member")

    entry = live_server.cloud("overcast")
    entry["auth"].update(username=user_name, password="pw-Login-1", project_name=project["name"])
    entry["auth"].pop("project_id", None)
    clouds = live_server.write_clouds_yaml(tmp_path / "clouds.yaml", {"newuser": entry})
    token = admin_cli.using("newuser", clouds)("token", "issue")
    assert token["user_id"] == user["id"]
    assert token["project_id"] == project["id"]

    # A wrong password is refused.
    entry["auth"]["password"] = "wrong"
    clouds = live_server.write_clouds_yaml(tmp_path / "bad.yaml", {"bad": entry})
    refused = admin_cli.using("bad", clouds).fails("token", "issue")
    assert "401" in refused.stderr or "authenticate" in refused.stderr.lower()

    # The user changes their own password; the old one stops working, the new one works.
    entry["auth"]["password"] = "pw-Login-1"
    clouds = live_server.write_clouds_yaml(tmp_path / "clouds.yaml", {"newuser": entry})
    admin_cli.using("newuser", clouds).run("user", "password", "set", "--original-password", "pw-Login-1",
                                           "--password", "pw-Login-2")
    admin_cli.using("newuser", clouds).fails("token", "issue")
    entry["auth"]["password"] = "pw-Login-2"
    clouds = live_server.write_clouds_yaml(tmp_path / "clouds.yaml", {"newuser": entry})
    assert admin_cli.using("newuser", clouds)("token", "issue")["user_id"] == user["id"]


# -- groups -------------------------------------------------------------------------------------

def test_group_create_add_user_list_delete(admin_cli: OpenStackCLI, unique: Callable[[str], str]) -> None:
    group_name = unique("group")
    group = admin_cli("group", "create", "--domain", "default", "--description", "g", group_name)
    assert group["name"] == group_name
    assert group["domain_id"] == "default"
    user = admin_cli("user", "create", "--domain", "default", unique("member"))

    assert group_name in _names(admin_cli("group", "list"))
    assert admin_cli("group", "show", group["id"])["name"] == group_name

    admin_cli.run("group", "add", "user", group["id"], user["id"])
    contains = admin_cli.run("group", "contains", "user", group["id"], user["id"])
    assert f"{user['id']} in group {group['id']}" in contains.stdout
    assert user["id"] in _names(admin_cli("user", "list", "--group", group["id"]), "ID")
    assert group["id"] in _names(admin_cli("group", "list", "--user", user["id"]), "ID")

    admin_cli.run("group", "set", "--description", "changed", group["id"])
    assert admin_cli("group", "show", group["id"])["description"] == "changed"

    admin_cli.run("group", "remove", "user", group["id"], user["id"])
    assert user["id"] not in _names(admin_cli("user", "list", "--group", group["id"]), "ID")

    admin_cli.run("group", "delete", group["id"])
    assert group_name not in _names(admin_cli("group", "list"))
    admin_cli.run("user", "delete", user["id"])


# -- roles and assignments ---------------------------------------------------------------------

def test_bootstrap_roles_and_implications(admin_cli: OpenStackCLI) -> None:
    names = _names(admin_cli("role", "list"))
    assert {"admin", "member", "reader"} <= names
    implied = admin_cli("implied", "role", "list")
    pairs = {(row["Prior Role Name"], row["Implied Role Name"]) for row in implied}
    # admin implies member implies reader (directly or through Keystone's 'manager').
    assert ("member", "reader") in pairs
    assert ("admin", "member") in pairs or ("admin", "manager") in pairs


def test_role_create_show_set_delete(admin_cli: OpenStackCLI, unique: Callable[[str], str]) -> None:
    name = unique("role")
    role = admin_cli("role", "create", "--description", "custom", name)
    assert role["name"] == name
    assert name in _names(admin_cli("role", "list"))
    assert admin_cli("role", "show", name)["id"] == role["id"]
    renamed = unique("renamed")
    admin_cli.run("role", "set", "--name", renamed, role["id"])
    assert admin_cli("role", "show", role["id"])["name"] == renamed
    admin_cli.run("role", "delete", role["id"])
    assert role["id"] not in _names(admin_cli("role", "list"), "ID")


def test_role_add_remove_and_assignment_list(admin_cli: OpenStackCLI, unique: Callable[[str], str],
                                             default_domain_name: str) -> None:
    project = admin_cli("project", "create", "--domain", "default", unique("proj"))
    user = admin_cli("user", "create", "--domain", "default", unique("user"))
    group = admin_cli("group", "create", "--domain", "default", unique("group"))

    admin_cli.run("role", "add", "--project", project["id"], "--user", user["id"], "member")
    admin_cli.run("role", "add", "--project", project["id"], "--group", group["id"], "reader")

    by_user = admin_cli("role", "assignment", "list", "--user", user["id"], "--project", project["id"])
    assert len(by_user) == 1
    assert by_user[0]["User"] == user["id"]
    assert by_user[0]["Project"] == project["id"]
    assert by_user[0]["Group"] == ""
    assert by_user[0]["Inherited"] is False

    named = admin_cli("role", "assignment", "list", "--user", user["id"], "--project", project["id"], "--names")
    assert named == [{
        "Role": "member",
        "User": f"{user['name']}@{default_domain_name}",
        "Group": "",
        "Project": f"{project['name']}@{default_domain_name}",
        "Domain": "",
        "System": "",
        "Inherited": False,
    }]

    on_project = admin_cli("role", "assignment", "list", "--project", project["id"], "--names")
    assert {(row["Role"], row["User"], row["Group"]) for row in on_project} == {
        ("member", f"{user['name']}@{default_domain_name}", ""),
        ("reader", "", f"{group['name']}@{default_domain_name}"),
    }

    # Effective: the member role implies reader.
    effective = admin_cli("role", "assignment", "list", "--user", user["id"], "--project", project["id"],
                          "--effective", "--names")
    assert {"member", "reader"} <= {row["Role"] for row in effective}

    by_role = admin_cli("role", "assignment", "list", "--role", "reader", "--project", project["id"])
    assert [row["Group"] for row in by_role] == [group["id"]]

    admin_cli.run("role", "remove", "--project", project["id"], "--user", user["id"], "member")
    admin_cli.run("role", "remove", "--project", project["id"], "--group", group["id"], "reader")
    assert admin_cli("role", "assignment", "list", "--project", project["id"]) == []


def test_role_assignment_on_domain_and_system(admin_cli: OpenStackCLI, unique: Callable[[str], str]) -> None:
    user = admin_cli("user", "create", "--domain", "default", unique("user"))
    admin_cli.run("role", "add", "--domain", "default", "--user", user["id"], "reader")
    admin_cli.run("role", "add", "--system", "all", "--user", user["id"], "reader")
    rows = admin_cli("role", "assignment", "list", "--user", user["id"])
    assert {(row["Domain"], row["System"]) for row in rows} == {("default", ""), ("", "all")}
    admin_cli.run("role", "remove", "--domain", "default", "--user", user["id"], "reader")
    admin_cli.run("role", "remove", "--system", "all", "--user", user["id"], "reader")
    assert admin_cli("role", "assignment", "list", "--user", user["id"]) == []


# -- application credentials -------------------------------------------------------------------

def test_application_credential_create_and_login(live_server: LiveServer, cli: OpenStackCLI,
                                                 ids: dict[str, str], unique: Callable[[str], str],
                                                 tmp_path: Path) -> None:
    name = unique("appcred")
    cred = cli("application", "credential", "create", "--description", "ci", name)
    assert cred["Name"] == name
    assert cred["Secret"]
    assert cred["Project ID"] == ids["project:demo"]
    assert {role["name"] for role in cred["Roles"]} >= {"member"}
    assert name in _names(cli("application", "credential", "list"))
    shown = cli("application", "credential", "show", cred["ID"])
    assert shown["ID"] == cred["ID"]
    assert not shown.get("Secret")  # the secret is shown once, at creation
    cred = {"id": cred["ID"], "secret": cred["Secret"]}

    entry = {
        "auth_type": "v3applicationcredential",
        "auth": {
            "auth_url": live_server.auth_url,
            "application_credential_id": cred["id"],
            "application_credential_secret": cred["secret"],
        },
        "region_name": live_server.cloud("overcast").get("region_name", "RegionOne"),
        "identity_api_version": 3,
    }
    by_name = {**entry, "auth": {"auth_url": live_server.auth_url, "application_credential_name": name,
                                 "application_credential_secret": cred["secret"], "username": "demo",
                                 "user_domain_id": "default"}}
    clouds = live_server.write_clouds_yaml(tmp_path / "clouds.yaml", {"appcred": entry, "appcred-name": by_name})
    token = cli.using("appcred", clouds)("token", "issue")
    assert token["user_id"] == ids["user:demo"]
    assert token["project_id"] == ids["project:demo"]
    assert cli.using("appcred-name", clouds)("token", "issue")["project_id"] == ids["project:demo"]

    cli.run("application", "credential", "delete", cred["id"])
    cli.using("appcred", clouds).fails("token", "issue")


# -- catalog ------------------------------------------------------------------------------------

def test_catalog_list(live_server: LiveServer, cli: OpenStackCLI) -> None:
    catalog = cli("catalog", "list")
    identity = [svc for svc in catalog if svc["Type"] == "identity"]
    assert len(identity) == 1
    assert identity[0]["Name"] == "keystone"
    endpoints = identity[0]["Endpoints"]
    assert {ep["interface"] for ep in endpoints} >= {"public"}
    public = [ep for ep in endpoints if ep["interface"] == "public"]
    assert any(ep["url"].rstrip("/").startswith(live_server.auth_url) for ep in public), public
    assert all((ep.get("region_id") or ep.get("region")) == "RegionOne" for ep in public)
    shown = cli("catalog", "show", "identity")
    assert shown["type"] == "identity"


def test_endpoint_service_region_list(live_server: LiveServer, admin_cli: OpenStackCLI) -> None:
    endpoints = admin_cli("endpoint", "list")
    identity = [ep for ep in endpoints if ep["Service Type"] == "identity"]
    assert identity, endpoints
    assert {ep["Region"] for ep in identity} == {"RegionOne"}
    assert any(ep["Interface"] == "public" and ep["URL"].startswith(live_server.auth_url) for ep in identity)
    assert all(ep["Service Name"] == "keystone" for ep in identity)

    services = admin_cli("service", "list")
    assert ("keystone", "identity") in {(svc["Name"], svc["Type"]) for svc in services}

    regions = admin_cli("region", "list")
    assert "RegionOne" in {row["Region"] for row in regions}
    assert admin_cli("region", "show", "RegionOne")["region"] == "RegionOne"


def test_domain_list(admin_cli: OpenStackCLI, default_domain_name: str) -> None:
    domains = admin_cli("domain", "list")
    assert ("default", default_domain_name) in {(d["ID"], d["Name"]) for d in domains}


# -- v2.0 -----------------------------------------------------------------------------------------

def test_v2_password_login_with_keystoneauth(live_server: LiveServer, ids: dict[str, str]) -> None:
    auth = v2.Password(auth_url=live_server.identity_v2_url, username="demo",
                       password=live_server.password("overcast"), tenant_name="demo")
    sess = ks_session.Session(auth=auth)
    token = sess.get_token()
    assert token
    access = auth.get_access(sess)
    assert access.project_id == ids["project:demo"]
    assert access.user_id == ids["user:demo"]
    assert access.service_catalog.url_for(service_type="identity", interface="public",
                                          region_name="RegionOne")

    by_id = v2.Password(auth_url=live_server.identity_v2_url, username="demo",
                        password=live_server.password("overcast"), tenant_id=ids["project:demo"])
    assert by_id.get_access(ks_session.Session(auth=by_id)).project_id == ids["project:demo"]

    tenants = requests.get(f"{live_server.identity_v2_url}/tenants", headers={"X-Auth-Token": token}, timeout=10)
    assert tenants.status_code == 200, tenants.text
    assert "demo" in {t["name"] for t in tenants.json()["tenants"]}
    assert "alt_demo" not in {t["name"] for t in tenants.json()["tenants"]}


def test_v2_wrong_password_is_401(live_server: LiveServer) -> None:
    resp = requests.post(f"{live_server.identity_v2_url}/tokens", timeout=10, json={"auth": {
        "passwordCredentials": {"username": "demo", "password": "wrong"}, "tenantName": "demo"}})
    assert resp.status_code == 401, resp.text


# -- isolation and policy ---------------------------------------------------------------------

def test_demo_cannot_list_users(cli: OpenStackCLI) -> None:
    refused = cli.fails("user", "list")
    assert "403" in refused.stderr or "not authorized" in refused.stderr.lower(), refused.stderr


def test_demo_cannot_see_alt_demo_project(cli: OpenStackCLI, ids: dict[str, str]) -> None:
    refused = cli.fails("project", "show", ids["project:alt_demo"])
    err = refused.stderr.lower()
    assert any(s in err for s in ("403", "404", "no project found", "not authorized")), refused.stderr
    mine = cli("project", "list", "--my-projects")
    assert _names(mine) == {"demo"}
    assert cli("project", "show", ids["project:demo"])["name"] == "demo"


def test_demo_cannot_create_projects_or_grant_roles(cli: OpenStackCLI, admin_cli: OpenStackCLI,
                                                    unique: Callable[[str], str], ids: dict[str, str]) -> None:
    name = unique("proj")
    refused = cli.fails("project", "create", "--domain", "default", name)
    assert "403" in refused.stderr or "not authorized" in refused.stderr.lower(), refused.stderr
    assert name not in _names(admin_cli("project", "list"))
    # openstacksdk's assign_project_role_to_user does not raise on a 403, so `role add` exits 0
    # even against Keystone: check the server's state instead of the exit status.
    cli.run("role", "add", "--project", ids["project:demo"], "--user", ids["user:alt_demo"], "admin", check=False)
    granted = admin_cli("role", "assignment", "list", "--user", ids["user:alt_demo"], "--project",
                        ids["project:demo"], "--names")
    assert granted == []


def test_system_admin_can_list_users(system_cli: OpenStackCLI) -> None:
    assert {"admin", "demo", "alt_demo"} <= _names(system_cli("user", "list"))
