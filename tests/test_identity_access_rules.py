"""Application credential access rules: made with a credential, listed, shown and deleted per user."""

from __future__ import annotations

from tests.conftest import body

V3 = "/identity/v3"
RULE = {"path": "/v2.1/servers/*/ips", "method": "GET", "service": "compute"}


def _me(cloud, token):
    doc = body(cloud.request("GET", f"{V3}/auth/tokens", token, headers={"X-Subject-Token": token}))["token"]
    return doc["user"]["id"]


def test_rules_with_credentials(cloud, demo_token):
    user_id = _me(cloud, demo_token)
    creds = f"{V3}/users/{user_id}/application_credentials"
    resp = cloud.request("POST", creds, demo_token, json={"application_credential": {
        "name": "one", "access_rules": [RULE]}})
    assert resp.status_code == 201, resp.text
    cred = body(resp)["application_credential"]
    rule = cred["access_rules"][0]
    assert {k: v for k, v in rule.items() if k != "id"} == RULE
    # the same rule again, by content and by id, is the same record
    second = body(cloud.request("POST", creds, demo_token, json={"application_credential": {
        "name": "two", "access_rules": [RULE]}}))["application_credential"]
    third = body(cloud.request("POST", creds, demo_token, json={"application_credential": {
        "name": "three", "access_rules": [{"id": rule["id"]}]}}))["application_credential"]
    assert second["access_rules"] == third["access_rules"] == [rule]

    rules = f"{V3}/users/{user_id}/access_rules"
    listed = body(cloud.request("GET", rules, demo_token))["access_rules"]
    assert [r["id"] for r in listed] == [rule["id"]]
    assert listed[0]["links"]["self"].endswith(f"/users/{user_id}/access_rules/{rule['id']}")
    shown = body(cloud.request("GET", f"{rules}/{rule['id']}", demo_token))["access_rule"]
    assert shown["service"] == "compute"
    assert cloud.request("GET", rules, cloud.token("alt_demo", "alt_demo")).status_code == 403

    resp = cloud.request("DELETE", f"{rules}/{rule['id']}", demo_token)
    assert resp.status_code == 403 and "in use" in body(resp)["error"]["message"]
    for c in (cred, second, third):
        assert cloud.request("DELETE", f"{creds}/{c['id']}", demo_token).status_code == 204
    assert cloud.request("GET", f"{rules}/{rule['id']}", demo_token).status_code == 200
    assert cloud.request("DELETE", f"{rules}/{rule['id']}", demo_token).status_code == 204
    resp = cloud.request("GET", f"{rules}/{rule['id']}", demo_token)
    assert resp.status_code == 404 and body(resp)["error"]["message"] == f"Could not find Access Rule: {rule['id']}."


def test_bad_rules(cloud, demo_token):
    creds = f"{V3}/users/{_me(cloud, demo_token)}/application_credentials"
    for bad in ({**RULE, "method": "FETCH"}, {**RULE, "path": "servers"}, {"service": "compute"}):
        resp = cloud.request("POST", creds, demo_token, json={"application_credential": {
            "name": "x", "access_rules": [bad]}})
        assert resp.status_code == 400, bad
    resp = cloud.request("POST", creds, demo_token, json={"application_credential": {
        "name": "x", "access_rules": [{"id": "nope"}]}})
    assert resp.status_code == 404
