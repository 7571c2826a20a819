"""OS-EC2: a user's EC2 credentials, addressed by access key, stored as ``ec2`` credentials."""

from __future__ import annotations

import hashlib

from tests.conftest import body
from tests.identity_helpers import make_project, make_user

V3 = "/identity/v3"


def _me(cloud, token: str) -> tuple[str, str]:
    data = body(cloud.request("GET", f"{V3}/auth/tokens", token, headers={"X-Subject-Token": token}))["token"]
    return data["user"]["id"], data["project"]["id"]


def test_owner_creates_lists_shows_and_deletes(cloud, demo_token):
    user_id, project_id = _me(cloud, demo_token)
    base = f"{V3}/users/{user_id}/credentials/OS-EC2"
    resp = cloud.request("POST", base, demo_token, json={"tenant_id": project_id})
    assert resp.status_code == 201, resp.text
    cred = body(resp)["credential"]
    assert cred["user_id"] == user_id and cred["tenant_id"] == project_id and cred["trust_id"] is None
    assert cred["access"] and cred["secret"]
    cred_id = hashlib.sha256(cred["access"].encode()).hexdigest()
    assert cred["links"]["self"].endswith(f"/v3/users/{user_id}/credentials/OS-EC2/{cred_id}")
    second = body(cloud.request("POST", base, demo_token, json={"tenant_id": project_id}))["credential"]
    listed = body(cloud.request("GET", base, demo_token))["credentials"]
    assert {c["access"] for c in listed} == {cred["access"], second["access"]}
    shown = body(cloud.request("GET", f"{base}/{cred['access']}", demo_token))["credential"]
    assert {k: shown[k] for k in ("access", "secret", "user_id", "tenant_id")} == \
        {k: cred[k] for k in ("access", "secret", "user_id", "tenant_id")}
    # the same record through /v3/credentials
    v3 = body(cloud.request("GET", f"{V3}/credentials/{cred_id}", demo_token))["credential"]
    assert v3["type"] == "ec2" and v3["project_id"] == project_id
    assert cloud.request("DELETE", f"{base}/{cred['access']}", demo_token).status_code == 204
    assert cloud.request("GET", f"{base}/{cred['access']}", demo_token).status_code == 404
    assert cloud.request("DELETE", f"{base}/{cred['access']}", demo_token).status_code == 404
    assert cloud.request("GET", f"{V3}/credentials/{cred_id}", demo_token).status_code == 404


def test_validation_and_isolation(cloud, demo_token, admin_token):
    user_id, project_id = _me(cloud, demo_token)
    base = f"{V3}/users/{user_id}/credentials/OS-EC2"
    assert cloud.request("POST", base, demo_token, json={}).status_code == 400
    assert cloud.request("POST", base, demo_token, json={"tenant_id": 5}).status_code == 400
    missing = cloud.request("POST", base, demo_token, json={"tenant_id": "nope"})
    assert missing.status_code == 404 and "project" in body(missing)["error"]["message"]
    assert cloud.request("POST", f"{V3}/users/nope/credentials/OS-EC2", admin_token,
                         json={"tenant_id": project_id}).status_code == 404
    other = make_user(cloud, "other")
    other_project = make_project(cloud, "other-p")
    # another user's credentials: neither visible nor creatable for a member; an admin may
    assert cloud.request("POST", f"{V3}/users/{other}/credentials/OS-EC2", demo_token,
                         json={"tenant_id": other_project}).status_code == 403
    made = cloud.request("POST", f"{V3}/users/{other}/credentials/OS-EC2", admin_token,
                         json={"tenant_id": other_project})
    assert made.status_code == 201
    access = body(made)["credential"]["access"]
    assert cloud.request("GET", f"{V3}/users/{other}/credentials/OS-EC2", demo_token).status_code == 403
    assert cloud.request("GET", f"{V3}/users/{other}/credentials/OS-EC2/{access}", demo_token).status_code == 403
    assert cloud.request("DELETE", f"{V3}/users/{other}/credentials/OS-EC2/{access}",
                         demo_token).status_code == 403
    # the access key under the wrong user is not found
    assert cloud.request("GET", f"{base}/{access}", admin_token).status_code == 404
    assert cloud.request("GET", f"{V3}/users/{other}/credentials/OS-EC2/{access}", admin_token).status_code == 200
