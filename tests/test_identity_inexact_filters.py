"""Keystone's inexact list filters (``<attribute>__[i]contains|startswith|endswith|equals``) on every
list Keystone builds driver hints for, with Keystone's semantics: the ``i`` prefix makes the match
case-insensitive, a comparator Keystone does not know is ignored, and so is an attribute the list
cannot be filtered by. ``%`` and ``_`` in a value are literal."""

from __future__ import annotations

import pytest

from tests.conftest import body
from tests.identity_helpers import make_group, make_project, make_user

V3 = "/identity/v3"


def _names(cloud, token, path, key):  # noqa: ANN001, ANN202
    resp = cloud.request("GET", f"{V3}{path}", token)
    assert resp.status_code == 200, resp.text
    return sorted(item.get("name") or item.get("type") or item["id"] for item in body(resp)[key])


@pytest.fixture
def admin(cloud):  # noqa: ANN001, ANN201
    return cloud.token("admin", "admin")


@pytest.mark.parametrize("query,expected", [
    ("name__contains=Frank", ["xFrankx", "xFranky"]),
    ("name__contains=frank", ["xfrankz"]),
    ("name__icontains=FRANK", ["xFrankx", "xFranky", "xfrankz"]),
    ("name__startswith=xF", ["xFrankx", "xFranky"]),
    ("name__istartswith=XF", ["xFrankx", "xFranky", "xfrankz"]),
    ("name__endswith=ky", ["xFranky"]),
    ("name__iendswith=KX", ["xFrankx"]),
    ("name__equals=xfrankz", ["xfrankz"]),
    ("name__iequals=XFRANKZ", ["xfrankz"]),
    ("name__icontains=frank&name__endswith=y", ["xFranky"]),
])
def test_users(cloud, admin, query, expected):
    for name in ("xFrankx", "xFranky", "xfrankz", "other"):
        make_user(cloud, name)
    assert _names(cloud, admin, f"/users?{query}", "users") == expected


def test_unknown_comparators_and_attributes_are_ignored_wildcards_are_literal(cloud, admin):
    for name in ("a%b", "axb", "a_b"):
        make_user(cloud, name)
    every = _names(cloud, admin, "/users", "users")
    assert _names(cloud, admin, "/users?name__like=zzz", "users") == every
    assert _names(cloud, admin, "/users?email__contains=zzz", "users") == every
    assert _names(cloud, admin, "/users?name__contains=%25", "users") == ["a%b"]
    assert _names(cloud, admin, "/users?name__contains=a_", "users") == ["a_b"]
    assert _names(cloud, admin, "/users?name__contains=zzz", "users") == []


def test_projects_groups_roles_domains(cloud, admin):
    for name in ("alpha-one", "Alpha-two", "beta"):
        make_project(cloud, name)
        make_group(cloud, f"g-{name}")
        assert cloud.request("POST", f"{V3}/roles", admin, json={"role": {"name": f"r-{name}"}}).status_code == 201
        assert cloud.request("POST", f"{V3}/domains", admin, json={"domain": {"name": f"d-{name}"}}).status_code == 201
    assert _names(cloud, admin, "/projects?name__startswith=alpha", "projects") == ["alpha-one"]
    assert _names(cloud, admin, "/projects?name__istartswith=alpha", "projects") == ["Alpha-two", "alpha-one"]
    assert _names(cloud, admin, "/projects?domain_id__contains=efaul&name__endswith=a", "projects") == ["beta"]
    assert _names(cloud, admin, "/groups?name__icontains=ALPHA", "groups") == ["g-Alpha-two", "g-alpha-one"]
    assert _names(cloud, admin, "/roles?name__contains=-alpha", "roles") == ["r-alpha-one"]
    assert _names(cloud, admin, "/domains?name__iendswith=TWO", "domains") == ["d-Alpha-two"]
    assert _names(cloud, admin, "/projects?is_domain=true&name__startswith=d-b", "projects") == ["d-beta"]


def test_a_users_groups_and_projects_and_a_groups_users(cloud, admin):
    user = make_user(cloud, "member-x")
    other = make_user(cloud, "Member-y")
    group = make_group(cloud, "team-a", members=(user, other))
    make_group(cloud, "crew-b", members=(user,))
    reader = body(cloud.request("GET", f"{V3}/roles?name=reader", admin))["roles"][0]["id"]
    for name in ("proj-a", "other-b"):
        project = make_project(cloud, name)
        assert cloud.request("PUT", f"{V3}/projects/{project}/users/{user}/roles/{reader}", admin).status_code == 204
    assert _names(cloud, admin, f"/users/{user}/groups?name__startswith=team", "groups") == ["team-a"]
    assert _names(cloud, admin, f"/users/{user}/projects?name__endswith=-b", "projects") == ["other-b"]
    assert _names(cloud, admin, f"/groups/{group}/users?name__contains=mem", "users") == ["member-x"]
    assert _names(cloud, admin, f"/groups/{group}/users?name__icontains=MEMBER", "users") == ["Member-y", "member-x"]


def test_catalog_policies_credentials_and_application_credentials(cloud, admin):
    assert [s["type"] for s in body(cloud.request("GET", f"{V3}/services?type__startswith=comp", admin))[
        "services"]] == ["compute"]
    endpoints = body(cloud.request("GET", f"{V3}/endpoints?interface__startswith=pub", admin))["endpoints"]
    assert endpoints and {e["interface"] for e in endpoints} == {"public"}
    assert _names(cloud, admin, "/regions?parent_region_id__contains=zz", "regions") == []
    for kind in ("application/json", "text/yaml"):
        assert cloud.request("POST", f"{V3}/policies", admin,
                             json={"policy": {"type": kind, "blob": "{}"}}).status_code == 201
    assert _names(cloud, admin, "/policies?type__endswith=json", "policies") == ["application/json"]
    user = body(cloud.request("GET", f"{V3}/auth/tokens", admin, headers={"X-Subject-Token": admin}))["token"]["user"]
    for kind in ("cert", "totp"):
        assert cloud.request("POST", f"{V3}/credentials", admin, json={"credential": {
            "type": kind, "user_id": user["id"], "blob": "x"}}).status_code == 201
    assert [c["type"] for c in body(cloud.request("GET", f"{V3}/credentials?type__istartswith=CE", admin))[
        "credentials"]] == ["cert"]
    for name in ("ci-deploy", "ci-Backup", "laptop"):
        assert cloud.request("POST", f"{V3}/users/{user['id']}/application_credentials", admin,
                             json={"application_credential": {"name": name}}).status_code == 201
    path = f"/users/{user['id']}/application_credentials?name__startswith=ci-"
    assert _names(cloud, admin, path, "application_credentials") == ["ci-Backup", "ci-deploy"]
