"""Keystone's [security_compliance] password rules: regex, history, minimum age, expiry, first use."""

from __future__ import annotations

import pytest

from overcast.config import load_settings
from tests.conftest import body

V3 = "/identity/v3"


@pytest.fixture
def settings(tmp_path, monkeypatch):
    for name in list(__import__("os").environ):
        if name.startswith("OVERCAST_"):
            monkeypatch.delenv(name)
    return load_settings(data_dir=tmp_path / "data", identity={
        "bcrypt_rounds": 4, "password_regex": r"^(?=.*\d).{8,}$",
        "password_regex_description": "at least 8 characters with a digit", "unique_last_password_count": 3,
        "change_password_upon_first_use": True, "lockout_failure_attempts": 2, "lockout_duration": 60})


def _login(cloud, user_id, password):
    return cloud.client.simulate_post(f"{V3}/auth/tokens", json={"auth": {"identity": {
        "methods": ["password"], "password": {"user": {"id": user_id, "password": password}}}}})


def _change(cloud, token, user_id, original, new):
    return cloud.request("POST", f"{V3}/users/{user_id}/password", token, json={"user": {
        "original_password": original, "password": new}})


def test_regex_first_use_and_history(cloud, admin_token):
    resp = cloud.request("POST", f"{V3}/users", admin_token, json={"user": {"name": "u1", "password": "short"}})
    assert resp.status_code == 400
    assert body(resp)["error"]["message"] == ("Password validation error: The password does not meet the "
                                              "requirements: at least 8 characters with a digit.")
    resp = cloud.request("POST", f"{V3}/users", admin_token, json={"user": {"name": "u1", "password": "passw0rd1"}})
    assert resp.status_code == 201, resp.text
    user = body(resp)["user"]
    # set by an administrator: expired until the user changes it
    resp = _login(cloud, user["id"], "passw0rd1")
    assert resp.status_code == 401 and "password is expired" in body(resp)["error"]["message"]
    assert _change(cloud, None, user["id"], "passw0rd1", "passw0rd2").status_code == 204
    token = _login(cloud, user["id"], "passw0rd2")
    assert token.status_code == 201
    token = token.headers["X-Subject-Token"]
    # none of the last three passwords (the current one included) may come back
    for reused in ("passw0rd2", "passw0rd1"):
        resp = _change(cloud, token, user["id"], "passw0rd2", reused)
        assert resp.status_code == 400 and "cannot be identical to a previous password" in \
            body(resp)["error"]["message"]
    assert _change(cloud, token, user["id"], "passw0rd2", "nodigits").status_code == 400
    assert _change(cloud, token, user["id"], "passw0rd2", "passw0rd3").status_code == 204
    assert _change(cloud, None, user["id"], "passw0rd3", "passw0rd4").status_code == 204
    assert _change(cloud, None, user["id"], "passw0rd4", "passw0rd2").status_code == 400
    assert _change(cloud, None, user["id"], "passw0rd4", "passw0rd1").status_code == 204  # four ago: allowed
    # an administrator's reset is not held to the history (but expires at once again)
    resp = cloud.request("PATCH", f"{V3}/users/{user['id']}", admin_token, json={"user": {"password": "passw0rd1"}})
    assert resp.status_code == 200
    assert _login(cloud, user["id"], "passw0rd1").status_code == 401


def test_minimum_age_and_expiry(tmp_path, monkeypatch):
    from overcast.app import create_app
    from overcast.core.identity import build_identity
    from overcast.core.identity.bootstrap import bootstrap
    import falcon.testing

    for name in list(__import__("os").environ):
        if name.startswith("OVERCAST_"):
            monkeypatch.delenv(name)
    settings = load_settings(data_dir=tmp_path / "data", identity={
        "bcrypt_rounds": 4, "minimum_password_age": 1, "password_expires_days": 90})
    identity = build_identity(settings)
    accounts = {a.username: a.password for a in bootstrap(identity)}
    client = falcon.testing.TestClient(create_app(settings, identity))
    try:
        resp = client.simulate_post(f"{V3}/auth/tokens", json={"auth": {"identity": {"methods": ["password"],
            "password": {"user": {"name": "admin", "domain": {"id": "default"}, "password": accounts["admin"]}}},
            "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}})
        admin = resp.headers["X-Subject-Token"]
        resp = client.simulate_post(f"{V3}/users", headers={"X-Auth-Token": admin},
                                    json={"user": {"name": "aged", "password": "first-pass"}})
        user = body(resp)["user"]
        assert user["password_expires_at"] is not None  # 90 days out
        resp = client.simulate_post(f"{V3}/users/{user['id']}/password", json={"user": {
            "original_password": "first-pass", "password": "second-pass"}})
        assert resp.status_code == 400 and "minimum password age" in body(resp)["error"]["message"]
    finally:
        identity.store.dispose()


def test_lockout_honours_the_ignore_option(cloud, admin_token):
    resp = cloud.request("POST", f"{V3}/users", admin_token, json={"user": {
        "name": "robot", "password": "passw0rd1",
        "options": {"ignore_lockout_failure_attempts": True, "ignore_change_password_upon_first_use": True}}})
    user = body(resp)["user"]
    for _ in range(3):
        assert _login(cloud, user["id"], "wrong-pass1").status_code == 401
    assert _login(cloud, user["id"], "passw0rd1").status_code == 201
