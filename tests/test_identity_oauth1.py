"""OAuth1 consumers (OS-OAUTH1): create (secret shown once, kept hashed), show, list, update, delete."""

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
        assert consumer["secret"] not in session.get(OAuth1Consumer, consumer["id"]).secret_hash

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
