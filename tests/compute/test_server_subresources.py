"""Metadata, tags, ips, os-instance-actions, os-security-groups, diagnostics, os-server-password."""

from __future__ import annotations

import pytest
from tempest.lib.api_schema.response.compute.v2_1 import servers as meta_schema
from tempest.lib.api_schema.response.compute.v2_1 import servers as v21
from tempest.lib.api_schema.response.compute.v2_26 import servers as v226
from tempest.lib.api_schema.response.compute.v2_58 import servers as v258
from tempest.lib.api_schema.response.compute.v2_62 import servers as v262

from tests.compute.conftest import check


@pytest.fixture
def sid(nova):
    return nova.create("sub", metadata={"a": "1"}).json["server"]["id"]


def test_metadata(nova, sid):
    base = f"/servers/{sid}/metadata"
    resp = nova.req("GET", base)
    check(resp, "list_server_metadata", module=meta_schema)
    assert resp.json == {"metadata": {"a": "1"}}
    resp = nova.req("POST", base, json={"metadata": {"b": "2"}})
    check(resp, "set_server_metadata", module=meta_schema)
    assert resp.json["metadata"] == {"a": "1", "b": "2"}
    resp = nova.req("PUT", base, json={"metadata": {"c": "3"}})
    assert resp.json["metadata"] == {"c": "3"}
    resp = nova.req("PUT", f"{base}/d", json={"meta": {"d": "4"}})
    check(resp, "set_show_server_metadata_item", module=meta_schema)
    resp = nova.req("GET", f"{base}/d")
    check(resp, "set_show_server_metadata_item", module=meta_schema)
    assert resp.json == {"meta": {"d": "4"}}
    assert nova.req("PUT", f"{base}/d", json={"meta": {"e": "4"}}).status_code == 400
    assert nova.req("DELETE", f"{base}/d").status_code == 204
    assert nova.req("GET", f"{base}/d").status_code == 404
    assert nova.req("DELETE", f"{base}/d").status_code == 404
    assert nova.req("POST", base, json={"metadata": {"k" * 256: "v"}}).status_code == 400
    resp = nova.req("POST", base, json={"metadata": {f"k{i}": "v" for i in range(130)}})
    assert resp.status_code == 403
    assert nova.req("POST", base, body="{").status_code == 400


def test_tags(nova, sid):
    base = f"/servers/{sid}/tags"
    assert nova.req("GET", base).status_code == 404  # before 2.26
    v = "2.26"
    resp = nova.req("PUT", base, v, json={"tags": ["x", "y"]})
    check(resp, "update_all_tags", module=v226)
    check(nova.req("GET", base, v), "list_tags", module=v226)
    resp = nova.req("PUT", f"{base}/z", v)
    assert resp.status_code == 201 and resp.headers["Location"].endswith("/tags/z")
    assert nova.req("PUT", f"{base}/z", v).status_code == 204
    assert nova.req("GET", f"{base}/z", v).status_code == 204
    assert nova.req("GET", f"{base}/nope", v).status_code == 404
    assert nova.req("DELETE", f"{base}/z", v).status_code == 204
    assert nova.req("DELETE", f"{base}/z", v).status_code == 404
    assert nova.req("PUT", base, v, json={"tags": ["a,b"]}).status_code == 400
    assert nova.req("PUT", base, v, json={"tags": [str(i) for i in range(51)]}).status_code == 400
    assert nova.req("GET", f"/servers/{sid}", v).json["server"]["tags"] == ["x", "y"]
    assert nova.req("DELETE", base, v).status_code == 204
    assert nova.req("GET", base, v).json == {"tags": []}


def test_ips(nova, sid):
    resp = nova.req("GET", f"/servers/{sid}/ips")
    check(resp, "list_addresses", module=v21)
    assert "private" in resp.json["addresses"]
    resp = nova.req("GET", f"/servers/{sid}/ips/private")
    check(resp, "list_addresses_by_network", module=v21)
    assert nova.req("GET", f"/servers/{sid}/ips/public").status_code == 404


def test_instance_actions(nova, admin_nova, sid):
    nova.action(sid, {"os-stop": None})
    nova.wait(sid, "SHUTOFF")
    resp = nova.req("GET", f"/servers/{sid}/os-instance-actions")
    check(resp, "list_instance_actions", module=v21)
    actions = resp.json["instanceActions"]
    assert [a["action"] for a in actions] == ["stop", "create"]
    request_id = actions[0]["request_id"]
    assert request_id.startswith("req-")
    resp = nova.req("GET", f"/servers/{sid}/os-instance-actions/{request_id}")
    check(resp, "show_instance_action", module=v21)
    assert "events" not in resp.json["instanceAction"]
    resp = admin_nova.req("GET", f"/servers/{sid}/os-instance-actions/{request_id}")
    check(resp, "show_instance_action", module=v21)
    event = resp.json["instanceAction"]["events"][0]
    assert event["event"] == "compute_stop_instance" and event["result"] == "Success"
    for client in (nova, admin_nova):
        check(client.req("GET", f"/servers/{sid}/os-instance-actions", "2.58"), "list_instance_actions", module=v258)
        check(client.req("GET", f"/servers/{sid}/os-instance-actions/{request_id}", "2.62"),
              "show_instance_action", module=v262)
    assert nova.req("GET", f"/servers/{sid}/os-instance-actions/req-nope").status_code == 404
    nova.req("DELETE", f"/servers/{sid}")
    nova.wait(sid, "GONE")
    deleted = nova.req("GET", f"/servers/{sid}/os-instance-actions", "2.21").json["instanceActions"]
    assert deleted[0]["action"] == "delete"
    assert nova.req("GET", f"/servers/{sid}/os-instance-actions").status_code == 404


NOVA_TIME = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$"


def test_instance_action_times_in_novas_format_and_paging_2_58(nova, admin_nova, sid):
    """Nova writes its action times as 2026-12-06T09:26:41.000000 (no zone); from 2.58 ``limit`` and
    ``marker`` page the list, newest first, with a ``next`` link while a page is full."""
    import re

    for action, state in (("os-stop", "SHUTOFF"), ("os-start", "ACTIVE"), ("os-stop", "SHUTOFF")):
        nova.action(sid, {action: None})
        nova.wait(sid, state)
    actions = nova.req("GET", f"/servers/{sid}/os-instance-actions", "2.58").json["instanceActions"]
    assert [a["action"] for a in actions] == ["stop", "start", "stop", "create"]
    for a in actions:
        assert re.match(NOVA_TIME, a["start_time"]) and re.match(NOVA_TIME, a["updated_at"]), a
    shown = admin_nova.req("GET", f"/servers/{sid}/os-instance-actions/{actions[0]['request_id']}").json
    for event in shown["instanceAction"]["events"]:
        assert re.match(NOVA_TIME, event["start_time"]) and re.match(NOVA_TIME, event["finish_time"]), event

    for version in ("2.58", "2.66"):
        resp = nova.req("GET", f"/servers/{sid}/os-instance-actions?limit=1", version)
        check(resp, "list_instance_actions", module=v258)
        assert [a["request_id"] for a in resp.json["instanceActions"]] == [actions[0]["request_id"]]
        link = resp.json["links"][0]
        assert link["rel"] == "next" and f"marker={actions[0]['request_id']}" in link["href"]
        path = f"/servers/{sid}/os-instance-actions?limit=2&marker={actions[0]['request_id']}"
        page = nova.req("GET", path, version).json
        assert [a["request_id"] for a in page["instanceActions"]] == [a["request_id"] for a in actions[1:3]]
        last = nova.req("GET", f"/servers/{sid}/os-instance-actions?marker={actions[2]['request_id']}", version).json
        assert [a["action"] for a in last["instanceActions"]] == ["create"] and "links" not in last
    # before 2.58 Nova has no paging: every action, whatever the query says
    assert len(nova.req("GET", f"/servers/{sid}/os-instance-actions?limit=1").json["instanceActions"]) == 4
    since = actions[1]["updated_at"]
    newer = nova.req("GET", f"/servers/{sid}/os-instance-actions?changes-since={since}", "2.58").json
    assert [a["request_id"] for a in newer["instanceActions"]] == [a["request_id"] for a in actions[:2]]
    older = nova.req("GET", f"/servers/{sid}/os-instance-actions?changes-before={since}", "2.66").json
    assert [a["request_id"] for a in older["instanceActions"]] == [a["request_id"] for a in actions[1:]]
    for query, version, message in (
            ("marker=req-nope", "2.58", "Marker req-nope could not be found."),
            ("limit=-1", "2.58", "Invalid input for query parameters limit. Value: -1."),
            ("changes-before=2026-01-01T00:00:00Z", "2.65",
             "Additional properties are not allowed ('changes-before' was unexpected)"),
            ("changes-since=2026-01-02T00:00:00Z&changes-before=2026-01-01T00:00:00Z", "2.66",
             "The value of changes-since must be less than or equal to changes-before.")):
        resp = nova.req("GET", f"/servers/{sid}/os-instance-actions?{query}", version)
        assert resp.status_code == 400 and resp.json["badRequest"]["message"] == message, query


def test_security_groups_diagnostics_password(nova, admin_nova, sid):
    groups = nova.req("GET", f"/servers/{sid}/os-security-groups").json["security_groups"]
    assert [g["name"] for g in groups] == ["default"]
    assert nova.req("GET", f"/servers/{sid}/diagnostics").status_code == 403
    resp = admin_nova.req("GET", f"/servers/{sid}/diagnostics")
    assert resp.status_code == 200 and isinstance(resp.json, dict)
    resp = nova.req("GET", f"/servers/{sid}/os-server-password")
    check(resp, "show_password", module=v21)
    assert nova.req("DELETE", f"/servers/{sid}/os-server-password").status_code == 204


def test_other_project_gets_404(nova, compute, sid):
    from tests.compute.conftest import Nova

    alt = Nova(compute, compute.token("alt_demo", "alt_demo"))
    for path in ("/metadata", "/ips", "/os-instance-actions", "/os-security-groups", "/os-server-password"):
        assert alt.req("GET", f"/servers/{sid}{path}").status_code == 404, path
    assert alt.req("POST", f"/servers/{sid}/action", json={"pause": None}).status_code == 404
