"""Tokens over the API: issue, validate, rescope, revoke, expiry, tampering, scopes."""

from __future__ import annotations

import time

from tests.conftest import body


def test_password_token_project_scoped(cloud):
    token = cloud.token("demo", "demo")
    resp = cloud.request("GET", "/identity/v3/auth/tokens", token, headers={"X-Subject-Token": token})
    assert resp.status_code == 200
    doc = body(resp)["token"]
    assert doc["project"]["name"] == "demo"
    assert {r["name"] for r in doc["roles"]} == {"member", "reader"}
    assert doc["user"]["domain"] == {"id": "default", "name": "Default"}
    assert {s["type"] for s in doc["catalog"]} >= {"identity", "compute", "image"}
    assert resp.headers["X-Subject-Token"] == token


def test_wrong_password_and_unknown_user_look_the_same(cloud):
    def attempt(name, password):
        return cloud.client.simulate_post("/identity/v3/auth/tokens", json={"auth": {"identity": {
            "methods": ["password"], "password": {"user": {"name": name, "domain": {"id": "default"},
                                                           "password": password}}}}})
    wrong, unknown = attempt("demo", "nope"), attempt("nobody", "nope")
    assert wrong.status_code == unknown.status_code == 401
    assert body(wrong) == body(unknown)


def test_revoked_token_is_refused_everywhere(cloud, admin_token):
    token = cloud.token("demo", "demo")
    assert cloud.request("DELETE", "/identity/v3/auth/tokens", token,
                         headers={"X-Subject-Token": token}).status_code == 204
    check = cloud.request("GET", "/identity/v3/auth/tokens", admin_token, headers={"X-Subject-Token": token})
    assert check.status_code == 404
    for prefix in ("/identity/v3/auth/projects", "/compute/v2.1/servers", "/network/v2.0/networks"):
        assert cloud.request("GET", prefix, token).status_code == 401
    # a token issued after the revocation still works
    fresh = cloud.token("demo", "demo")
    assert cloud.request("GET", "/identity/v3/auth/projects", fresh).status_code == 200


def test_tampered_token_is_401(cloud):
    token = cloud.token("demo", "demo")
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    resp = cloud.request("GET", "/identity/v3/auth/projects", tampered)
    assert resp.status_code == 401
    assert body(resp)["error"]["code"] == 401


def test_expired_token_is_401(cloud, monkeypatch):
    token = cloud.token("demo", "demo")
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 7200)
    assert cloud.request("GET", "/identity/v3/auth/projects", token).status_code == 401


def test_rescope_keeps_expiry_and_audit_chain(cloud):
    unscoped = cloud.token("admin")
    resp = cloud.client.simulate_post("/identity/v3/auth/tokens", json={"auth": {
        "identity": {"methods": ["token"], "token": {"id": unscoped}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}})
    assert resp.status_code == 201, resp.text
    scoped = body(resp)["token"]
    original = body(cloud.request("GET", "/identity/v3/auth/tokens", resp.headers["X-Subject-Token"],
                                  headers={"X-Subject-Token": unscoped}))["token"]
    assert scoped["expires_at"] == original["expires_at"]
    assert scoped["audit_ids"][1] == original["audit_ids"][0]
    assert "token" in scoped["methods"]


def test_system_and_domain_scope(cloud):
    system = cloud.token("admin", system=True)
    doc = body(cloud.request("GET", "/identity/v3/auth/tokens", system, headers={"X-Subject-Token": system}))
    assert doc["token"]["system"] == {"all": True}
    domain = cloud.token("admin", domain="default")
    doc = body(cloud.request("GET", "/identity/v3/auth/tokens", domain, headers={"X-Subject-Token": domain}))
    assert doc["token"]["domain"]["id"] == "default"


def test_no_role_on_project_is_401(cloud):
    resp = cloud.client.simulate_post("/identity/v3/auth/tokens", json={"auth": {"identity": {
        "methods": ["password"], "password": {"user": {"name": "demo", "domain": {"id": "default"},
                                                       "password": cloud.passwords["demo"]}}},
        "scope": {"project": {"name": "alt_demo", "domain": {"id": "default"}}}}})
    assert resp.status_code == 401


def test_bad_bodies_are_400_naming_the_field(cloud):
    cases = [
        (b"{not json", "Malformed"),
        (b'{"auth": {}}', "identity"),
        (b'{"auth": {"identity": {"methods": "password"}}}', "methods"),
    ]
    for raw, word in cases:
        resp = cloud.client.simulate_post("/identity/v3/auth/tokens", body=raw,
                                          headers={"Content-Type": "application/json"})
        assert resp.status_code == 400, resp.text
        assert word in body(resp)["error"]["message"]


def test_oversized_body_is_413(cloud):
    resp = cloud.client.simulate_post("/identity/v3/auth/tokens", body=b"x" * (10 * 1024 * 1024),
                                      headers={"Content-Type": "application/json"})
    assert resp.status_code == 413
    assert body(resp)["error"]["code"] == 413


def test_nocatalog(cloud):
    token = cloud.token("demo", "demo")
    resp = cloud.request("GET", "/identity/v3/auth/tokens?nocatalog", token, headers={"X-Subject-Token": token})
    assert "catalog" not in body(resp)["token"]


def test_auth_listings(cloud, demo_token):
    projects = body(cloud.request("GET", "/identity/v3/auth/projects", demo_token))["projects"]
    assert [p["name"] for p in projects] == ["demo"]
    catalog = body(cloud.request("GET", "/identity/v3/auth/catalog", demo_token))["catalog"]
    assert all(e["region"] == "RegionOne" for s in catalog for e in s["endpoints"])
    assert body(cloud.request("GET", "/identity/v3/auth/system", demo_token))["system"] == []
    admin = cloud.token("admin", "admin")
    assert body(cloud.request("GET", "/identity/v3/auth/system", admin))["system"] == [{"all": True}]


def test_request_id_passthrough(cloud):
    rid = "req-12345678-1234-1234-1234-123456789abc"
    resp = cloud.client.simulate_get("/identity", headers={"X-OpenStack-Request-ID": rid})
    assert resp.headers["X-OpenStack-Request-ID"] == rid
    resp = cloud.client.simulate_get("/identity", headers={"X-OpenStack-Request-ID": "evil\r\nid"})
    assert resp.headers["X-OpenStack-Request-ID"].startswith("req-") and "evil" not in resp.headers[
        "X-OpenStack-Request-ID"]


def _password_auth(cloud, name, password, scope=None):
    auth = {"identity": {"methods": ["password"], "password": {"user": {
        "name": name, "domain": {"id": "default"}, "password": password}}}}
    if scope is not None:
        auth["scope"] = scope
    return cloud.client.simulate_post("/identity/v3/auth/tokens", json={"auth": auth})


def test_unknown_scope_is_401(cloud):
    for scope in ({"project": {"id": "nonexistent"}}, {"domain": {"name": "nowhere"}},
                  {"project": {"name": "demo", "domain": {"name": "nowhere"}}}):
        resp = _password_auth(cloud, "demo", cloud.passwords["demo"], scope)
        assert resp.status_code == 401, (scope, resp.text)


def test_lockout_after_failures(tmp_path):
    from overcast.app import create_app
    from overcast.core.identity import build_identity
    from overcast.config import load_settings
    from overcast.core.identity.bootstrap import bootstrap
    import falcon.testing
    from tests.conftest import Cloud

    settings = load_settings(data_dir=tmp_path, environ={},
                             identity={"bcrypt_rounds": 4, "lockout_failure_attempts": 2})
    identity = build_identity(settings)
    accounts = bootstrap(identity)
    cloud = Cloud(falcon.testing.TestClient(create_app(settings, identity)), None,
                  {a.username: a.password for a in accounts})
    for _ in range(2):
        assert _password_auth(cloud, "demo", "wrong").status_code == 401
    locked = _password_auth(cloud, "demo", cloud.passwords["demo"])
    assert locked.status_code == 401
    assert "locked" in body(locked)["error"]["message"]
    assert _password_auth(cloud, "alt_demo", cloud.passwords["alt_demo"]).status_code == 201
    identity.store.dispose()


def test_wrong_types_are_400(cloud):
    resp = cloud.client.simulate_post("/identity/v3/auth/tokens", json={"auth": {"identity": {
        "methods": ["password"], "password": {"user": {"name": 5, "domain": {"id": "default"},
                                                       "password": "x"}}}}})
    assert resp.status_code == 400
    assert "password.user.name" in body(resp)["error"]["message"]


def test_member_reads_the_domain_of_its_project(cloud, demo_token):
    assert cloud.request("GET", "/identity/v3/domains/default", demo_token).status_code == 200
