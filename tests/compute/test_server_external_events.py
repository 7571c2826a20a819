"""``POST /os-server-external-events``: Nova's per-event answer, and what an accepted event does."""

from __future__ import annotations

from tempest.lib.api_schema.response.compute.v2_1 import server_external_events as schema

from overcast.store.compute import Server
from tests.compute.conftest import Nova, check, new_uuid
from tests.identity_helpers import make_user, role_id

PATH = "/os-server-external-events"


def post(nova, events, version=None):  # noqa: ANN001, ANN201
    return nova.req("POST", PATH, version, json={"events": events})


def test_network_changed_refreshes_the_addresses(nova, admin_nova, compute, admin_token):
    sid = nova.create("ev").json["server"]["id"]
    shown = nova.req("GET", f"/servers/{sid}").json["server"]["addresses"]
    with compute.app.compute.store.session() as session:
        session.query(Server).filter(Server.id == sid).one().addresses = {}
    user_id = make_user(compute, "neutron")  # a service user: the service role and nothing else
    demo = nova.req("GET", f"/servers/{sid}").json["server"]["tenant_id"]
    grant = f"/identity/v3/projects/{demo}/users/{user_id}/roles/{role_id(compute, admin_token, 'service')}"
    assert compute.request("PUT", grant, admin_token).status_code == 204
    service = Nova(compute, compute.token("neutron", "demo"))
    resp = post(service, [{"server_uuid": sid, "name": "network-changed", "tag": "port-1"}])
    check(resp, "create", module=schema)
    assert resp.json["events"] == [{"server_uuid": sid, "name": "network-changed", "tag": "port-1",
                                    "status": "completed", "code": 200}]
    assert nova.req("GET", f"/servers/{sid}").json["server"]["addresses"] == shown
    assert post(admin_nova, [{"server_uuid": sid, "name": "network-vif-plugged"}]).status_code == 200
    assert post(nova, [{"server_uuid": sid, "name": "network-changed"}]).status_code == 403  # a member


def test_refused_events(nova, admin_nova, ops):
    sid = nova.create("ev").json["server"]["id"]
    ops.stop()  # nothing builds it: it has no host yet
    building = nova.create("building", wait=None).json["server"]["id"]
    missing = new_uuid()
    resp = post(admin_nova, [{"server_uuid": sid, "name": "network-changed", "status": "in-progress"},
                             {"server_uuid": missing, "name": "network-vif-deleted"},
                             {"server_uuid": building, "name": "network-changed"}])
    assert resp.status_code == 207, resp.text
    assert [(e["status"], e["code"]) for e in resp.json["events"]] == [
        ("completed", 200), ("failed", 404), ("failed", 422)]
    none = post(admin_nova, [{"server_uuid": missing, "name": "network-changed"},
                             {"server_uuid": building, "name": "network-changed"}])
    assert none.status_code == 404 and none.json["itemNotFound"]["message"] == "No instances found for any event"
    untagged = post(admin_nova, [{"server_uuid": sid, "name": "volume-extended"},
                                 {"server_uuid": sid, "name": "volume-extended", "tag": new_uuid()}], "2.51")
    assert untagged.status_code == 207 and [e["code"] for e in untagged.json["events"]] == [400, 200]


def test_names_per_microversion_and_bad_bodies(admin_nova, nova):
    sid = nova.create("ev").json["server"]["id"]
    for name, first in (("volume-extended", "2.51"), ("power-update", "2.76"), ("accelerator-request-bound", "2.82")):
        before = f"2.{int(first.split('.')[1]) - 1}"
        event = {"server_uuid": sid, "name": name, "tag": "x"}
        assert post(admin_nova, [event], before).status_code == 400, name
        assert post(admin_nova, [event], first).status_code == 200, name
    for bad in ({"events": []}, {"events": [{"server_uuid": "not-a-uuid", "name": "network-changed"}]},
                {"events": [{"server_uuid": sid, "name": "network-changed", "status": "done"}]},
                {"events": [{"server_uuid": sid, "name": "network-changed", "x": 1}]}, {"event": []}):
        assert admin_nova.req("POST", PATH, json=bad).status_code == 400, bad
