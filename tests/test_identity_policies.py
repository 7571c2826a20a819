"""The deprecated /v3/policies blob store."""

from __future__ import annotations

from tests.conftest import body

V3 = "/identity/v3"


def test_policy_crud(cloud, admin_token, demo_token):
    resp = cloud.request("POST", f"{V3}/policies", admin_token, json={"policy": {
        "type": "application/json", "blob": '{"a": "b"}'}})
    assert resp.status_code == 201, resp.text
    policy = body(resp)["policy"]
    assert policy["links"]["self"].endswith(f"/policies/{policy['id']}")
    listed = body(cloud.request("GET", f"{V3}/policies?type=application/json", admin_token))
    assert listed["policies"] == [policy] and set(listed["links"]) == {"self", "previous", "next"}
    resp = cloud.request("PATCH", f"{V3}/policies/{policy['id']}", admin_token, json={"policy": {"blob": "{}"}})
    assert body(resp)["policy"]["blob"] == "{}"
    assert cloud.request("GET", f"{V3}/policies/{policy['id']}", demo_token).status_code == 403
    assert cloud.request("DELETE", f"{V3}/policies/{policy['id']}", admin_token).status_code == 204
    assert cloud.request("GET", f"{V3}/policies/{policy['id']}", admin_token).status_code == 404
    resp = cloud.request("POST", f"{V3}/policies", admin_token, json={"policy": {"type": "x"}})
    assert resp.status_code == 400 and "blob" in body(resp)["error"]["message"]
