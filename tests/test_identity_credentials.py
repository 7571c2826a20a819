"""Credentials: CRUD, ec2 ids, encryption at rest, who sees what."""

from __future__ import annotations

import hashlib
import json

from overcast.store.models import Credential
from tests.conftest import body

V3 = "/identity/v3"


def _ids(cloud, token):
    doc = body(cloud.request("GET", f"{V3}/auth/tokens", token, headers={"X-Subject-Token": token}))["token"]
    return doc["user"]["id"], doc["project"]["id"]


def test_crud_and_encryption(cloud, demo_token, admin_token):
    user_id, project_id = _ids(cloud, demo_token)
    resp = cloud.request("POST", f"{V3}/credentials", demo_token, json={"credential": {
        "type": "cert", "blob": "very-secret-material", "user_id": user_id}})
    assert resp.status_code == 201, resp.text
    cred = body(resp)["credential"]
    assert cred["blob"] == "very-secret-material" and cred["links"]["self"].endswith(f"/credentials/{cred['id']}")
    with cloud.app.identity.store.session() as session:
        row = session.get(Credential, cred["id"])
        assert "very-secret-material" not in row.encrypted_blob
    assert body(cloud.request("GET", f"{V3}/credentials/{cred['id']}", admin_token))["credential"] == cred
    resp = cloud.request("PATCH", f"{V3}/credentials/{cred['id']}", demo_token,
                         json={"credential": {"blob": "rotated"}})
    assert resp.status_code == 200 and body(resp)["credential"]["blob"] == "rotated"
    assert cloud.request("DELETE", f"{V3}/credentials/{cred['id']}", demo_token).status_code == 204
    assert cloud.request("GET", f"{V3}/credentials/{cred['id']}", admin_token).status_code == 404


def test_ec2_id_is_the_hash_of_the_access_key(cloud, demo_token):
    user_id, project_id = _ids(cloud, demo_token)
    blob = json.dumps({"access": "AKIA123", "secret": "s3cr3t"})
    resp = cloud.request("POST", f"{V3}/credentials", demo_token, json={"credential": {
        "type": "ec2", "blob": blob, "user_id": user_id, "project_id": project_id}})
    assert resp.status_code == 201, resp.text
    assert body(resp)["credential"]["id"] == hashlib.sha256(b"AKIA123").hexdigest()
    again = cloud.request("POST", f"{V3}/credentials", demo_token, json={"credential": {
        "type": "ec2", "blob": blob, "user_id": user_id, "project_id": project_id}})
    assert again.status_code == 409
    no_project = cloud.request("POST", f"{V3}/credentials", demo_token, json={"credential": {
        "type": "ec2", "blob": blob, "user_id": user_id}})
    assert no_project.status_code == 400 and "project_id" in body(no_project)["error"]["message"]
    bad_blob = cloud.request("POST", f"{V3}/credentials", demo_token, json={"credential": {
        "type": "ec2", "blob": "not json", "user_id": user_id, "project_id": project_id}})
    assert bad_blob.status_code == 400
    cred_id = hashlib.sha256(b"AKIA123").hexdigest()
    # As Keystone (and Tempest's test_credentials_create_get_update_delete): the access key may
    # change, the id made from the first one stays; the blob's scope (trust_id, ...) may not change.
    changed = cloud.request("PATCH", f"{V3}/credentials/{cred_id}", demo_token, json={"credential": {
        "blob": json.dumps({"access": "OTHER", "secret": "x"})}})
    assert changed.status_code == 200, changed.text
    assert body(changed)["credential"]["id"] == cred_id
    assert json.loads(body(changed)["credential"]["blob"])["access"] == "OTHER"
    rescoped = cloud.request("PATCH", f"{V3}/credentials/{cred_id}", demo_token, json={"credential": {
        "blob": json.dumps({"access": "OTHER", "secret": "x", "trust_id": "t"})}})
    assert rescoped.status_code == 400 and "trust_id" in body(rescoped)["error"]["message"]
    not_ec2 = cloud.request("PATCH", f"{V3}/credentials/{cred_id}", demo_token, json={"credential": {
        "blob": "not json"}})
    assert not_ec2.status_code == 400


def test_visibility_and_filters(cloud, demo_token, admin_token):
    demo_id, _ = _ids(cloud, demo_token)
    admin_id, _ = _ids(cloud, admin_token)
    for token, user_id in ((demo_token, demo_id), (admin_token, admin_id)):
        assert cloud.request("POST", f"{V3}/credentials", token, json={"credential": {
            "type": "totp", "blob": "seed", "user_id": user_id}}).status_code == 201
    mine = body(cloud.request("GET", f"{V3}/credentials", demo_token))
    assert {c["user_id"] for c in mine["credentials"]} == {demo_id} and "links" in mine
    everyone = body(cloud.request("GET", f"{V3}/credentials", admin_token))["credentials"]
    assert {c["user_id"] for c in everyone} == {demo_id, admin_id}
    assert {c["user_id"] for c in body(cloud.request("GET", f"{V3}/credentials?user_id={demo_id}",
                                                     admin_token))["credentials"]} == {demo_id}
    assert body(cloud.request("GET", f"{V3}/credentials?type=ec2", admin_token))["credentials"] == []
    admin_cred = next(c for c in everyone if c["user_id"] == admin_id)
    assert cloud.request("GET", f"{V3}/credentials/{admin_cred['id']}", demo_token).status_code == 403
    assert cloud.request("DELETE", f"{V3}/credentials/{admin_cred['id']}", demo_token).status_code == 403
    # a user cannot make credentials for someone else
    assert cloud.request("POST", f"{V3}/credentials", demo_token, json={"credential": {
        "type": "totp", "blob": "x", "user_id": admin_id}}).status_code == 403


def test_bad_bodies(cloud, admin_token):
    admin_id, _ = _ids(cloud, admin_token)
    for cred in ({"type": "cert", "user_id": admin_id}, {"type": 1, "blob": "x", "user_id": admin_id},
                 {"blob": "x", "user_id": admin_id}):
        resp = cloud.request("POST", f"{V3}/credentials", admin_token, json={"credential": cred})
        assert resp.status_code == 400, cred
    resp = cloud.request("POST", f"{V3}/credentials", admin_token, json={"credential": {
        "type": "cert", "blob": "x", "user_id": "nobody"}})
    assert resp.status_code == 404
