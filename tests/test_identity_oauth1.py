"""OAuth1 (OS-OAUTH1): consumers (secret shown once, kept encrypted), and the whole delegation flow
signed by oauthlib's client: request token, authorize, access token, authenticate, revoke."""

from __future__ import annotations

from tests.conftest import body

V3 = "/identity/v3"
CONSUMERS = f"{V3}/OS-OAUTH1/consumers"


def test_consumer_crud(cloud, admin_token, demo_token):
    resp = cloud.request("POST", CONSUMERS, admin_token, json={"consumer": {"description": "my app"}})
    assert resp.status_code == 201, resp.text
    consumer = body(resp)["consumer"]
    assert consumer["description"] == "my app" and len(consumer["secret"]) == 32
    assert consumer["links"]["self"].endswith(f"/v3/OS-OAUTH1/consumers/{consumer['id']}")
    from overcast.store.models import OAuth1Consumer
    with cloud.app.identity.store.session() as session:
        stored = session.get(OAuth1Consumer, consumer["id"]).encrypted_secret
        assert consumer["secret"] not in stored
        assert cloud.app.identity.credentials.decrypt(stored) == consumer["secret"]

    shown = body(cloud.request("GET", f"{CONSUMERS}/{consumer['id']}", admin_token))["consumer"]
    assert "secret" not in shown and shown == {k: v for k, v in consumer.items() if k != "secret"}
    listed = body(cloud.request("GET", CONSUMERS, admin_token))
    assert [c["id"] for c in listed["consumers"]] == [consumer["id"]] and "links" in listed

    resp = cloud.request("PATCH", f"{CONSUMERS}/{consumer['id']}", admin_token,
                         json={"consumer": {"description": "renamed"}})
    assert resp.status_code == 200 and body(resp)["consumer"]["description"] == "renamed"
    resp = cloud.request("PATCH", f"{CONSUMERS}/{consumer['id']}", admin_token,
                         json={"consumer": {"secret": "mine"}})
    assert resp.status_code == 400 and body(resp)["error"]["message"] == "Cannot change consumer secret"

    assert cloud.request("GET", CONSUMERS, demo_token).status_code == 403
    assert cloud.request("POST", CONSUMERS, demo_token, json={"consumer": {}}).status_code == 403
    assert cloud.request("DELETE", f"{CONSUMERS}/{consumer['id']}", admin_token).status_code == 204
    resp = cloud.request("GET", f"{CONSUMERS}/{consumer['id']}", admin_token)
    assert resp.status_code == 404 and body(resp)["error"]["message"] == "Consumer not found"
    assert cloud.request("DELETE", f"{CONSUMERS}/{consumer['id']}", admin_token).status_code == 404
    resp = cloud.request("POST", CONSUMERS, admin_token, json={"consumer": {"description": 5}})
    assert resp.status_code == 400


def _signed(cloud, method, path, consumer, token=None, verifier=None, headers=None, **kw):  # noqa: ANN001, ANN202
    """A request signed as keystoneclient signs it: HMAC-SHA1 over the public URL, callback ``oob``."""
    from oauthlib import oauth1
    from urllib.parse import parse_qs

    client = oauth1.Client(consumer["id"], client_secret=consumer["secret"],
                           resource_owner_key=token and token[0], resource_owner_secret=token and token[1],
                           verifier=verifier, callback_uri=None if token else "oob",
                           signature_method=oauth1.SIGNATURE_HMAC)
    url = cloud.app.identity.settings.public_url + path
    _, signed, _ = client.sign(url, http_method=method)
    resp = cloud.request(method, path, headers={**signed, **(headers or {})}, **kw)
    if resp.status_code == 201 and resp.headers.get("content-type", "").startswith("application/x-www-form"):
        form = {k: v[0] for k, v in parse_qs(resp.text).items()}
        return resp, (form["oauth_token"], form["oauth_token_secret"]), form
    return resp, None, None


def test_oauth1_delegation_flow(cloud, admin_token, demo_token):
    ident = body(cloud.request("GET", f"{V3}/auth/tokens", admin_token, headers={"X-Subject-Token": admin_token}))
    user_id, project_id = ident["token"]["user"]["id"], ident["token"]["project"]["id"]
    consumer = body(cloud.request("POST", CONSUMERS, admin_token, json={"consumer": {}}))["consumer"]

    # 2. request token: signed with the consumer's secret, on a project
    resp, request_token, form = _signed(cloud, "POST", f"{V3}/OS-OAUTH1/request_token", consumer,
                                        headers={"Requested-Project-Id": project_id})
    assert resp.status_code == 201, resp.text
    assert resp.headers["content-type"] == "application/x-www-form-urlencoded"
    assert form["oauth_expires_at"].endswith("Z") and len(request_token[0]) == 32
    forged = dict(consumer, secret="0" * 32)
    resp, _, _ = _signed(cloud, "POST", f"{V3}/OS-OAUTH1/request_token", forged,
                         headers={"Requested-Project-Id": project_id})
    assert resp.status_code == 401 and body(resp)["error"]["message"] == "Invalid signature"
    resp, _, _ = _signed(cloud, "POST", f"{V3}/OS-OAUTH1/request_token", consumer)
    assert resp.status_code == 400 and "Requested-Project-Id" in body(resp)["error"]["message"]
    resp = cloud.request("POST", f"{V3}/OS-OAUTH1/request_token", headers={"Requested-Project-Id": project_id})
    assert resp.status_code == 401

    # 3. authorize: the admin delegates one of their roles on the project
    authorize = f"{V3}/OS-OAUTH1/authorize/{request_token[0]}"
    resp = cloud.request("PUT", authorize, demo_token, json={"roles": [{"name": "member"}]})
    assert resp.status_code == 403
    resp = cloud.request("PUT", authorize, admin_token, json={"roles": [{"name": "nope"}]})
    assert resp.status_code == 404
    resp = cloud.request("PUT", authorize, admin_token, json={"roles": []})
    assert resp.status_code == 400
    resp = cloud.request("PUT", authorize, admin_token, json={"roles": [{"name": "member"}]})
    assert resp.status_code == 200, resp.text
    verifier = body(resp)["token"]["oauth_verifier"]
    assert len(verifier) == 8

    # 4. access token: signed with both secrets and the verifier; the request token is then spent
    resp, _, _ = _signed(cloud, "POST", f"{V3}/OS-OAUTH1/access_token", consumer, request_token, "WRONG123")
    assert resp.status_code == 401
    resp, access_token, _ = _signed(cloud, "POST", f"{V3}/OS-OAUTH1/access_token", consumer, request_token, verifier)
    assert resp.status_code == 201, resp.text
    resp, _, _ = _signed(cloud, "POST", f"{V3}/OS-OAUTH1/access_token", consumer, request_token, verifier)
    assert resp.status_code == 404

    # 5. authenticate: a token on the project with the delegated role (and what it implies)
    auth = {"auth": {"identity": {"methods": ["oauth1"], "oauth1": {}}}}
    resp, _, _ = _signed(cloud, "POST", f"{V3}/auth/tokens", consumer, access_token, json=auth)
    assert resp.status_code == 201, resp.text
    token = body(resp)["token"]
    oauth_token = resp.headers["X-Subject-Token"]
    assert token["methods"] == ["oauth1"] and token["project"]["id"] == project_id
    assert token["OS-OAUTH1"] == {"access_token_id": access_token[0], "consumer_id": consumer["id"]}
    assert sorted(r["name"] for r in token["roles"]) == ["member", "reader"]
    assert cloud.request("GET", f"{V3}/auth/tokens", admin_token,
                         headers={"X-Subject-Token": oauth_token}).status_code == 200
    resp, _, _ = _signed(cloud, "POST", f"{V3}/auth/tokens", consumer, (access_token[0], "0" * 32), json=auth)
    assert resp.status_code == 401
    # an OAuth token cannot delegate further nor be rescoped
    rescope = {"auth": {"identity": {"methods": ["token"], "token": {"id": oauth_token}}}}
    assert cloud.request("POST", f"{V3}/auth/tokens", json=rescope).status_code == 403
    assert cloud.request("GET", f"{V3}/users/{user_id}/OS-OAUTH1/access_tokens", oauth_token).status_code == 403

    # the user's access tokens, their roles; deleting one revokes the tokens it gave
    base = f"{V3}/users/{user_id}/OS-OAUTH1/access_tokens"
    listed = body(cloud.request("GET", base, admin_token))["access_tokens"]
    assert [a["id"] for a in listed] == [access_token[0]]
    assert listed[0]["project_id"] == project_id and listed[0]["consumer_id"] == consumer["id"]
    assert listed[0]["links"]["roles"].endswith(f"{base[len('/identity'):]}/{access_token[0]}/roles")
    roles = body(cloud.request("GET", f"{base}/{access_token[0]}/roles", admin_token))["roles"]
    assert [r["name"] for r in roles] == ["member"]
    member_id = roles[0]["id"]
    assert cloud.request("GET", f"{base}/{access_token[0]}/roles/{member_id}", admin_token).status_code == 200
    assert cloud.request("GET", f"{base}/{access_token[0]}/roles/nope", admin_token).status_code == 404
    assert cloud.request("DELETE", f"{base}/{access_token[0]}", admin_token).status_code == 204
    assert cloud.request("GET", f"{V3}/auth/tokens", admin_token,
                         headers={"X-Subject-Token": oauth_token}).status_code == 404
    resp, _, _ = _signed(cloud, "POST", f"{V3}/auth/tokens", consumer, access_token, json=auth)
    assert resp.status_code == 404


def test_deleting_a_consumer_revokes_its_tokens(cloud, admin_token):
    ident = body(cloud.request("GET", f"{V3}/auth/tokens", admin_token, headers={"X-Subject-Token": admin_token}))
    project_id = ident["token"]["project"]["id"]
    consumer = body(cloud.request("POST", CONSUMERS, admin_token, json={"consumer": {}}))["consumer"]
    _, request_token, _ = _signed(cloud, "POST", f"{V3}/OS-OAUTH1/request_token", consumer,
                                  headers={"Requested-Project-Id": project_id})
    verifier = body(cloud.request("PUT", f"{V3}/OS-OAUTH1/authorize/{request_token[0]}", admin_token,
                                  json={"roles": [{"name": "reader"}]}))["token"]["oauth_verifier"]
    _, access_token, _ = _signed(cloud, "POST", f"{V3}/OS-OAUTH1/access_token", consumer, request_token, verifier)
    auth = {"auth": {"identity": {"methods": ["oauth1"], "oauth1": {}}}}
    resp, _, _ = _signed(cloud, "POST", f"{V3}/auth/tokens", consumer, access_token, json=auth)
    oauth_token = resp.headers["X-Subject-Token"]
    assert cloud.request("DELETE", f"{CONSUMERS}/{consumer['id']}", admin_token).status_code == 204
    assert cloud.request("GET", f"{V3}/auth/tokens", admin_token,
                         headers={"X-Subject-Token": oauth_token}).status_code == 404
