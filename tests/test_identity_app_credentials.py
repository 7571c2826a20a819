"""Application credentials: create, list, show, delete, and logging in with one."""

from __future__ import annotations

from tests.conftest import body
from tests.identity_helpers import role_id

V3 = "/identity/v3"


def _me(cloud, token):
    doc = body(cloud.request("GET", f"{V3}/auth/tokens", token, headers={"X-Subject-Token": token}))["token"]
    return doc["user"]["id"], doc["project"]["id"]


def _login(cloud, cred_id, secret):
    return cloud.client.simulate_post(f"{V3}/auth/tokens", json={"auth": {"identity": {
        "methods": ["application_credential"], "application_credential": {"id": cred_id, "secret": secret}}}})


def test_create_login_and_delete(cloud, demo_token):
    user_id, project_id = _me(cloud, demo_token)
    path = f"{V3}/users/{user_id}/application_credentials"
    resp = cloud.request("POST", path, demo_token, json={"application_credential": {
        "name": "ci", "roles": [{"name": "reader"}], "description": "for CI"}})
    assert resp.status_code == 201, resp.text
    cred = body(resp)["application_credential"]
    assert len(cred["secret"]) == 64 and cred["project_id"] == project_id
    assert [r["name"] for r in cred["roles"]] == ["reader"] and cred["unrestricted"] is False
    assert cred["links"]["self"].endswith(f"/users/{user_id}/application_credentials/{cred['id']}")
    shown = body(cloud.request("GET", f"{path}/{cred['id']}", demo_token))["application_credential"]
    assert "secret" not in shown and shown["name"] == "ci"
    listed = body(cloud.request("GET", f"{path}?name=ci", demo_token))
    assert [c["id"] for c in listed["application_credentials"]] == [cred["id"]] and "links" in listed
    # secret stored hashed
    from overcast.store.models import ApplicationCredential
    with cloud.app.identity.store.session() as session:
        assert cred["secret"] not in session.get(ApplicationCredential, cred["id"]).secret_hash

    resp = _login(cloud, cred["id"], cred["secret"])
    assert resp.status_code == 201, resp.text
    token = body(resp)["token"]
    assert token["project"]["id"] == project_id
    assert [r["name"] for r in token["roles"]] == ["reader"]
    assert token["application_credential"]["id"] == cred["id"] and token["methods"] == ["application_credential"]
    assert _login(cloud, cred["id"], "wrong").status_code == 401

    # a restricted credential's token cannot make another
    app_token = resp.headers["X-Subject-Token"]
    resp = cloud.request("POST", path, app_token, json={"application_credential": {"name": "again"}})
    assert resp.status_code == 403

    assert cloud.request("DELETE", f"{path}/{cred['id']}", demo_token).status_code == 204
    assert cloud.request("GET", f"{path}/{cred['id']}", demo_token).status_code == 404
    assert _login(cloud, cred["id"], cred["secret"]).status_code == 401


def test_default_roles_and_given_secret(cloud, demo_token):
    user_id, _ = _me(cloud, demo_token)
    resp = cloud.request("POST", f"{V3}/users/{user_id}/application_credentials", demo_token, json={
        "application_credential": {"name": "all", "secret": "my-own-secret", "unrestricted": True}})
    cred = body(resp)["application_credential"]
    assert cred["secret"] == "my-own-secret"
    assert {r["name"] for r in cred["roles"]} == {"member", "reader"}
    token = body(_login(cloud, cred["id"], "my-own-secret"))["token"]
    assert {r["name"] for r in token["roles"]} == {"member", "reader"}


def test_faults(cloud, demo_token, admin_token):
    user_id, _ = _me(cloud, demo_token)
    admin_id, _ = _me(cloud, admin_token)
    path = f"{V3}/users/{user_id}/application_credentials"
    admin_role = role_id(cloud, admin_token, "admin")
    resp = cloud.request("POST", path, demo_token, json={"application_credential": {
        "name": "x", "roles": [{"id": admin_role}]}})
    assert resp.status_code == 400 and "role assignment" in body(resp)["error"]["message"]
    resp = cloud.request("POST", path, demo_token, json={"application_credential": {
        "name": "x", "roles": [{"name": "no-such-role"}]}})
    assert resp.status_code == 404
    resp = cloud.request("POST", path, demo_token, json={"application_credential": {"name": 3}})
    assert resp.status_code == 400 and "name" in body(resp)["error"]["message"]
    resp = cloud.request("POST", path, demo_token, json={"application_credential": {
        "name": "x", "expires_at": "2001-01-01T00:00:00Z"}})
    assert resp.status_code == 400
    assert cloud.request("POST", path, demo_token, json={"application_credential": {"name": "n"}}).status_code == 201
    assert cloud.request("POST", path, demo_token, json={"application_credential": {"name": "n"}}).status_code == 409
    # only the owner creates; others may not even list (admin may)
    assert cloud.request("POST", path, admin_token, json={"application_credential": {"name": "z"}}).status_code == 403
    alt = cloud.token("alt_demo", "alt_demo")
    assert cloud.request("GET", path, alt).status_code == 403
    assert cloud.request("GET", path, admin_token).status_code == 200
    assert cloud.request("GET", f"{V3}/users/{admin_id}/application_credentials/nope", admin_token).status_code == 404


def test_expires_at_round_trips_in_keystones_format(cloud, demo_token):
    """Keystone renders ``expires_at`` with microseconds and no zone, so a client's isoformat() of
    what it sent compares equal (Tempest's test_create_application_credential_expires)."""
    import datetime as dt

    user_id, _ = _me(cloud, demo_token)
    expires = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=123456) + dt.timedelta(hours=1)
    path = f"{V3}/users/{user_id}/application_credentials"
    for sent in (expires.isoformat(), expires.isoformat() + "Z"):
        resp = cloud.request("POST", path, demo_token, json={"application_credential": {
            "name": f"exp-{sent[-1]}", "expires_at": sent}})
        assert resp.status_code == 201, resp.text
        cred = body(resp)["application_credential"]
        assert cred["expires_at"] == expires.isoformat()
        shown = body(cloud.request("GET", f"{path}/{cred['id']}", demo_token))["application_credential"]
        assert shown["expires_at"] == expires.isoformat()
