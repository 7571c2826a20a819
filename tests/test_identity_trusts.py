"""Trusts (OS-TRUST): create, list, show, roles, delete, and trust-scoped tokens."""

from __future__ import annotations

import datetime as dt

from tests.conftest import body
from tests.identity_helpers import make_user, role_id

V3 = "/identity/v3"
TRUSTS = f"{V3}/OS-TRUST/trusts"


def _me(cloud, token):
    doc = body(cloud.request("GET", f"{V3}/auth/tokens", token, headers={"X-Subject-Token": token}))["token"]
    return doc["user"]["id"], doc["project"]["id"]


def _trust(cloud, token, trustee_id, **extra):
    trustor_id, project_id = _me(cloud, token)
    ref = {"trustor_user_id": trustor_id, "trustee_user_id": trustee_id, "project_id": project_id,
           "impersonation": False, "roles": [{"name": "member"}], **extra}
    return cloud.request("POST", TRUSTS, token, json={"trust": ref})


def _trust_token(cloud, username, trust_id):
    return cloud.client.simulate_post(f"{V3}/auth/tokens", json={"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": username, "domain": {"id": "default"}, "password": cloud.passwords[username]}}},
        "scope": {"OS-TRUST:trust": {"id": trust_id}}}})


def test_trust_crud_and_roles(cloud, demo_token, admin_token):
    trustee = make_user(cloud, "trustee")
    expires = (dt.datetime.utcnow() + dt.timedelta(hours=1)).replace(microsecond=0).isoformat() + "Z"
    resp = _trust(cloud, demo_token, trustee, expires_at=expires)
    assert resp.status_code == 201, resp.text
    trust = body(resp)["trust"]
    assert trust["expires_at"] == expires[:-1] + ".000000Z"
    assert [r["name"] for r in trust["roles"]] == ["member"] and trust["impersonation"] is False
    assert trust["links"]["self"].endswith(f"/v3/OS-TRUST/trusts/{trust['id']}")
    assert trust["remaining_uses"] is None and trust["allow_redelegation"] is False

    shown = body(cloud.request("GET", f"{TRUSTS}/{trust['id']}", demo_token))["trust"]
    assert shown["id"] == trust["id"] and shown["roles"] == trust["roles"]
    listed = body(cloud.request("GET", f"{TRUSTS}/?trustor_user_id={trust['trustor_user_id']}", demo_token))
    assert [t["id"] for t in listed["trusts"]] == [trust["id"]] and "roles" not in listed["trusts"][0]
    # listing everything is for administrators; another user's trusts are not the caller's to list
    assert cloud.request("GET", TRUSTS, demo_token).status_code == 403
    assert trust["id"] in [t["id"] for t in body(cloud.request("GET", TRUSTS, admin_token))["trusts"]]
    assert cloud.request("GET", f"{TRUSTS}?trustor_user_id={trustee}", demo_token).status_code == 403

    member = role_id(cloud, admin_token, "member")
    reader = role_id(cloud, admin_token, "reader")
    roles = body(cloud.request("GET", f"{TRUSTS}/{trust['id']}/roles", demo_token))["roles"]
    assert [r["id"] for r in roles] == [member] and roles[0]["links"]["self"].endswith(f"/v3/roles/{member}")
    assert cloud.request("HEAD", f"{TRUSTS}/{trust['id']}/roles/{member}", demo_token).status_code == 200
    assert cloud.request("GET", f"{TRUSTS}/{trust['id']}/roles/{reader}", demo_token).status_code == 404
    alt = cloud.token("alt_demo", "alt_demo")
    assert cloud.request("GET", f"{TRUSTS}/{trust['id']}", alt).status_code == 403
    assert cloud.request("DELETE", f"{TRUSTS}/{trust['id']}", alt).status_code == 403

    assert cloud.request("DELETE", f"{TRUSTS}/{trust['id']}", demo_token).status_code == 204
    resp = cloud.request("GET", f"{TRUSTS}/{trust['id']}", demo_token)
    assert resp.status_code == 404 and body(resp)["error"]["message"] == f"Could not find trust: {trust['id']}."


def test_create_faults(cloud, demo_token):
    trustee = make_user(cloud, "trustee")
    resp = _trust(cloud, demo_token, trustee, expires_at="bad.123Z")
    assert resp.status_code == 400 and "Timestamp not in expected format" in body(resp)["error"]["message"]
    assert _trust(cloud, demo_token, trustee, expires_at="2000-01-01T00:00:00Z").status_code == 400
    assert _trust(cloud, demo_token, trustee, trustor_user_id=trustee).status_code == 403
    assert _trust(cloud, demo_token, "nobody").status_code == 404
    assert _trust(cloud, demo_token, trustee, roles=[{"name": "admin"}]).status_code == 403
    assert _trust(cloud, demo_token, trustee, roles=[{"name": "no-such-role"}]).status_code == 404
    assert _trust(cloud, demo_token, trustee, remaining_uses=0).status_code == 400
    resp = cloud.request("POST", TRUSTS, demo_token, json={"trust": {"trustee_user_id": trustee}})
    assert resp.status_code == 400


def test_trust_scoped_token_impersonation_uses_and_revocation(cloud, demo_token):
    trustee = make_user(cloud, "trustee")
    trustor_id, project_id = _me(cloud, demo_token)
    trust = body(_trust(cloud, demo_token, trustee, impersonation=True, remaining_uses=2))["trust"]

    resp = _trust_token(cloud, "trustee", trust["id"])
    assert resp.status_code == 201, resp.text
    token = body(resp)["token"]
    assert token["user"]["id"] == trustor_id and token["project"]["id"] == project_id
    assert token["OS-TRUST:trust"] == {"id": trust["id"], "impersonation": True,
                                       "trustee_user": {"id": trustee}, "trustor_user": {"id": trustor_id}}
    assert {r["name"] for r in token["roles"]} == {"member", "reader"}
    subject = resp.headers["X-Subject-Token"]
    shown = body(cloud.request("GET", f"{V3}/auth/tokens", subject, headers={"X-Subject-Token": subject}))
    assert shown["token"]["OS-TRUST:trust"]["id"] == trust["id"]
    # a trust-scoped token makes no other token
    resp = cloud.client.simulate_post(f"{V3}/auth/tokens", json={"auth": {"identity": {
        "methods": ["token"], "token": {"id": subject}}}})
    assert resp.status_code == 403
    # the trustor is not the trustee
    resp = cloud.client.simulate_post(f"{V3}/auth/tokens", json={"auth": {"identity": {
        "methods": ["token"], "token": {"id": demo_token}}, "scope": {"OS-TRUST:trust": {"id": trust["id"]}}}})
    assert resp.status_code == 403

    assert _trust_token(cloud, "trustee", trust["id"]).status_code == 201
    assert _trust_token(cloud, "trustee", trust["id"]).status_code == 404  # both uses spent
    assert cloud.request("GET", f"{TRUSTS}/{trust['id']}", demo_token).status_code == 404


def test_delete_revokes_trust_tokens(cloud, demo_token):
    trustee = make_user(cloud, "trustee")
    trust = body(_trust(cloud, demo_token, trustee))["trust"]
    resp = _trust_token(cloud, "trustee", trust["id"])
    token = body(resp)["token"]
    assert token["user"]["id"] == trustee and [r["name"] for r in token["roles"]] == ["member", "reader"]
    subject = resp.headers["X-Subject-Token"]
    assert cloud.request("GET", f"{V3}/auth/projects", subject).status_code == 200
    assert cloud.request("DELETE", f"{TRUSTS}/{trust['id']}", demo_token).status_code == 204
    assert cloud.request("GET", f"{V3}/auth/projects", subject).status_code == 401


def test_redelegation(cloud, demo_token):
    trustee_id = make_user(cloud, "trustee")
    second = make_user(cloud, "second")
    trust = body(_trust(cloud, demo_token, trustee_id, impersonation=True, allow_redelegation=True,
                        redelegation_count=1))["trust"]
    assert trust["allow_redelegation"] is True and trust["redelegation_count"] == 1
    subject = _trust_token(cloud, "trustee", trust["id"]).headers["X-Subject-Token"]
    resp = _trust(cloud, subject, second, impersonation=True)
    assert resp.status_code == 201, resp.text
    child = body(resp)["trust"]
    assert child["redelegated_trust_id"] == trust["id"] and child["allow_redelegation"] is False
    resp = _trust(cloud, subject, second, roles=[{"name": "admin"}])
    assert resp.status_code == 403
    assert cloud.request("DELETE", f"{TRUSTS}/{trust['id']}", demo_token).status_code == 204
    assert cloud.request("GET", f"{TRUSTS}/{child['id']}", cloud.token("admin", "admin")).status_code == 404
