"""Domain-specific configuration (identity and ldap option groups, JSON per domain)."""

from __future__ import annotations

from tests.conftest import body
from tests.identity_helpers import make_domain

V3 = "/identity/v3"
CONFIG = {"identity": {"driver": "ldap"}, "ldap": {"url": "ldap://ldap.example:389/", "user_tree_dn": "ou=Users"}}


def test_create_show_update_delete(cloud, admin_token):
    domain = make_domain(cloud, "cfg")
    url = f"{V3}/domains/{domain}/config"
    assert cloud.request("GET", url, admin_token).status_code == 404
    created = cloud.request("PUT", url, admin_token, json={"config": CONFIG})
    assert created.status_code == 201 and body(created)["config"] == CONFIG
    again = cloud.request("PUT", url, admin_token, json={"config": CONFIG})
    assert again.status_code == 200
    assert body(cloud.request("GET", url, admin_token))["config"] == CONFIG
    assert body(cloud.request("GET", f"{url}/ldap", admin_token))["config"] == {"ldap": CONFIG["ldap"]}
    assert body(cloud.request("GET", f"{url}/ldap/url", admin_token))["config"] == {"url": "ldap://ldap.example:389/"}
    merged = body(cloud.request("PATCH", url, admin_token, json={"config": {"ldap": {"url": "ldap://new"}}}))
    assert merged["config"]["ldap"] == {"url": "ldap://new", "user_tree_dn": "ou=Users"}
    group = body(cloud.request("PATCH", f"{url}/identity", admin_token, json={"config": {
        "identity": {"driver": "sql", "list_limit": 7}}}))["config"]
    assert group["identity"] == {"driver": "sql", "list_limit": 7}
    option = body(cloud.request("PATCH", f"{url}/identity/driver", admin_token, json={"config": {
        "driver": "ldap"}}))["config"]
    assert option["identity"]["driver"] == "ldap"
    assert cloud.request("DELETE", f"{url}/identity/driver", admin_token).status_code == 204
    assert cloud.request("GET", f"{url}/identity/driver", admin_token).status_code == 404
    assert cloud.request("DELETE", f"{url}/identity", admin_token).status_code == 204
    missing = cloud.request("GET", f"{url}/identity", admin_token)
    assert missing.status_code == 404 and "group identity" in body(missing)["error"]["message"]
    assert cloud.request("DELETE", url, admin_token).status_code == 204
    assert cloud.request("GET", url, admin_token).status_code == 404
    assert cloud.request("DELETE", url, admin_token).status_code == 404


def test_sensitive_options_are_kept_but_never_shown(cloud, admin_token):
    domain = make_domain(cloud, "secret")
    url = f"{V3}/domains/{domain}/config"
    resp = cloud.request("PUT", url, admin_token, json={"config": {"ldap": {"url": "ldap://x", "password": "pw"}}})
    assert resp.status_code == 201 and body(resp)["config"] == {"ldap": {"url": "ldap://x"}}
    assert "password" not in body(cloud.request("GET", f"{url}/ldap", admin_token))["config"]["ldap"]
    assert cloud.request("GET", f"{url}/ldap/password", admin_token).status_code == 404


def test_invalid_configs(cloud, admin_token, demo_token):
    domain = make_domain(cloud, "bad")
    url = f"{V3}/domains/{domain}/config"
    assert cloud.request("PUT", url, admin_token, json={}).status_code == 400
    assert cloud.request("PUT", url, admin_token, json={"config": []}).status_code == 400
    for config in ({}, {"nova": {"x": 1}}, {"identity": {"bogus": 1}}, {"identity": "sql"}):
        resp = cloud.request("PUT", url, admin_token, json={"config": config})
        assert resp.status_code == 403, (config, resp.text)
        assert body(resp)["error"]["message"].startswith("Invalid domain specific configuration")
    assert cloud.request("PUT", f"{V3}/domains/nope/config", admin_token,
                         json={"config": CONFIG}).status_code == 404
    cloud.request("PUT", url, admin_token, json={"config": CONFIG})
    wrong_group = cloud.request("PATCH", f"{url}/identity", admin_token, json={"config": {"ldap": {"url": "x"}}})
    assert wrong_group.status_code == 403
    wrong_option = cloud.request("PATCH", f"{url}/identity/driver", admin_token, json={"config": {"list_limit": 1}})
    assert wrong_option.status_code == 403
    assert cloud.request("GET", url, demo_token).status_code == 403
    assert cloud.request("PUT", url, demo_token, json={"config": CONFIG}).status_code == 403


def test_defaults(cloud, admin_token):
    everything = body(cloud.request("GET", f"{V3}/domains/config/default", admin_token))["config"]
    assert set(everything) == {"identity", "ldap"}
    assert "password" not in everything["ldap"]
    identity = body(cloud.request("GET", f"{V3}/domains/config/identity/default", admin_token))["config"]
    assert identity == {"identity": {"driver": "sql", "list_limit": None}}
    for option in everything["ldap"]:
        resp = cloud.request("GET", f"{V3}/domains/config/ldap/{option}/default", admin_token)
        assert resp.status_code == 200 and option in body(resp)["config"]
    assert cloud.request("GET", f"{V3}/domains/config/nova/default", admin_token).status_code == 403
    assert cloud.request("GET", f"{V3}/domains/config/ldap/password/default", admin_token).status_code == 403
