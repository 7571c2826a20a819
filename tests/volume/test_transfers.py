"""Volume transfers: /os-volume-transfer and /volume-transfers (3.55 no_snapshots, 3.57 details)."""

from __future__ import annotations

import pytest
from cinder_helpers import Cinder, check


@pytest.fixture
def alt_cinder(cloud, ops) -> Cinder:
    return Cinder(cloud, cloud.token("alt_demo", "alt_demo"))


def _snapshot(cinder, volume_id: str) -> dict:
    resp = cinder.req("POST", "/snapshots", json={"snapshot": {"volume_id": volume_id}})
    return cinder.wait(resp.json["snapshot"]["id"], "available", "snapshots")


def test_create_show_list_accept(cinder, alt_cinder, admin_cinder):
    vol = cinder.create(size=2)
    snap = _snapshot(cinder, vol["id"])
    resp = cinder.req("POST", "/os-volume-transfer", json={"transfer": {"volume_id": vol["id"], "name": "t1"}})
    created = check(resp, "create_volume_transfer", "transfers")["transfer"]
    assert len(created["auth_key"]) == 16 and created["name"] == "t1"
    assert cinder.req("GET", f"/volumes/{vol['id']}").json["volume"]["status"] == "awaiting-transfer"
    assert cinder.req("DELETE", f"/volumes/{vol['id']}").status_code == 400
    tid = created["id"]
    shown = check(cinder.req("GET", f"/os-volume-transfer/{tid}"), "show_volume_transfer", "transfers")
    assert shown["transfer"]["volume_id"] == vol["id"]
    assert alt_cinder.req("GET", f"/os-volume-transfer/{tid}").status_code == 404
    listed = check(cinder.req("GET", "/os-volume-transfer"), "list_volume_transfers_no_detail", "transfers")
    assert [t["id"] for t in listed["transfers"]] == [tid]
    check(cinder.req("GET", "/os-volume-transfer/detail"), "list_volume_transfers_with_detail", "transfers")
    assert alt_cinder.req("GET", "/os-volume-transfer").json["transfers"] == []
    assert admin_cinder.req("GET", "/os-volume-transfer?all_tenants=1").json["transfers"][0]["id"] == tid

    wrong = alt_cinder.req("POST", f"/os-volume-transfer/{tid}/accept", json={"accept": {"auth_key": "0" * 16}})
    assert wrong.status_code == 400 and "invalid auth key" in wrong.json["badRequest"]["message"]
    accepted = alt_cinder.req("POST", f"/os-volume-transfer/{tid}/accept",
                              json={"accept": {"auth_key": created["auth_key"]}})
    body = check(accepted, "accept_volume_transfer", "transfers")["transfer"]
    assert (body["id"], body["volume_id"]) == (tid, vol["id"])
    mine = alt_cinder.req("GET", f"/volumes/{vol['id']}").json["volume"]
    assert mine["status"] == "available" and mine["os-vol-tenant-attr:tenant_id"] == alt_cinder.project_id
    assert cinder.req("GET", f"/volumes/{vol['id']}").status_code == 404
    assert alt_cinder.req("GET", f"/snapshots/{snap['id']}").status_code == 200  # the snapshot went along
    assert cinder.req("GET", f"/os-volume-transfer/{tid}").status_code == 404  # an accepted transfer is gone
    usage = admin_cinder.req("GET", f"/os-quota-sets/{alt_cinder.project_id}?usage=true").json["quota_set"]
    assert (usage["volumes"]["in_use"], usage["gigabytes"]["in_use"], usage["snapshots"]["in_use"]) == (1, 4, 1)


def test_delete_gives_the_volume_back_and_rules(cinder, alt_cinder, admin_cinder):
    vol = cinder.create()
    tid = cinder.req("POST", "/os-volume-transfer", json={"transfer": {"volume_id": vol["id"]}}).json["transfer"]["id"]
    again = cinder.req("POST", "/os-volume-transfer", json={"transfer": {"volume_id": vol["id"]}})
    assert again.status_code == 400
    assert again.json["badRequest"]["message"] == "Invalid volume: status must be available"
    assert alt_cinder.req("DELETE", f"/os-volume-transfer/{tid}").status_code == 404
    check(cinder.req("DELETE", f"/os-volume-transfer/{tid}"), "delete_volume_transfer", "transfers")
    assert cinder.wait(vol["id"], "available")
    assert cinder.req("GET", f"/os-volume-transfer/{tid}").status_code == 404
    assert alt_cinder.req("POST", "/os-volume-transfer", json={"transfer": {"volume_id": vol["id"]}}).status_code == 404
    assert cinder.req("POST", "/os-volume-transfer", json={"transfer": {}}).status_code == 400
    # the receiver's quota decides
    admin_cinder.req("PUT", f"/os-quota-sets/{alt_cinder.project_id}", json={"quota_set": {"volumes": 0}})
    created = cinder.req("POST", "/os-volume-transfer", json={"transfer": {"volume_id": vol["id"]}}).json["transfer"]
    over = alt_cinder.req("POST", f"/os-volume-transfer/{created['id']}/accept",
                          json={"accept": {"auth_key": created["auth_key"]}})
    assert over.status_code == 413
    assert cinder.req("GET", f"/volumes/{vol['id']}").json["volume"]["status"] == "awaiting-transfer"


def test_new_api_no_snapshots_and_details(cinder, alt_cinder):
    assert cinder.req("GET", "/volume-transfers", "3.54").status_code == 404
    vol = cinder.create()
    snap = _snapshot(cinder, vol["id"])
    old = cinder.req("POST", "/os-volume-transfer", "3.0",
                     json={"transfer": {"volume_id": vol["id"], "no_snapshots": True}})
    assert old.status_code == 400  # no_snapshots came with 3.55
    resp = cinder.req("POST", "/volume-transfers", "3.55", json={"transfer": {"volume_id": vol["id"],
                                                                              "no_snapshots": True}})
    created = check(resp, "create_volume_transfer", "transfers", "v3_55")["transfer"]
    assert created["no_snapshots"] is True
    shown = check(cinder.req("GET", f"/volume-transfers/{created['id']}", "3.57"), "show_volume_transfer",
                  "transfers", "v3_57")["transfer"]
    assert (shown["source_project_id"], shown["destination_project_id"], shown["accepted"]) == (
        cinder.project_id, None, False)
    check(cinder.req("GET", "/volume-transfers/detail", "3.57"), "list_volume_transfers_with_detail", "transfers",
          "v3_57")
    check(alt_cinder.req("POST", f"/volume-transfers/{created['id']}/accept", "3.57",
                         json={"accept": {"auth_key": created["auth_key"]}}), "accept_volume_transfer", "transfers",
          "v3_57")
    assert alt_cinder.wait(vol["id"], "available")
    # without its snapshots: they stay with the project that gave the volume away
    assert cinder.req("GET", f"/snapshots/{snap['id']}").json["snapshot"]["volume_id"] == vol["id"]
    assert alt_cinder.req("GET", f"/snapshots/{snap['id']}").status_code == 404
