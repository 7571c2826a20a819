"""Snapshots, volume types (admin), quota sets, limits, zones, services, versions and the catalog."""

from __future__ import annotations

from cinder_helpers import check


def test_snapshot_lifecycle(cinder):
    vol = cinder.create(size=2)
    resp = cinder.req("POST", "/snapshots", json={"snapshot": {"volume_id": vol["id"], "name": "s1",
                                                               "metadata": {"a": "b"}}})
    snap = check(resp, "create_snapshot", "snapshots")["snapshot"]
    cinder.wait(snap["id"], "available", "snapshots")
    shown = check(cinder.req("GET", f"/snapshots/{snap['id']}"), "show_snapshot", "snapshots")["snapshot"]
    assert shown["size"] == 2 and shown["os-extended-snapshot-attributes:progress"] == "100%"
    check(cinder.req("GET", "/snapshots"), "list_snapshots_no_detail", "snapshots")
    check(cinder.req("GET", "/snapshots/detail"), "list_snapshots_with_detail", "snapshots")
    check(cinder.req("PUT", f"/snapshots/{snap['id']}", json={"snapshot": {"name": "s2"}}), "update_snapshot",
          "snapshots")
    check(cinder.req("PUT", f"/snapshots/{snap['id']}/metadata", json={"metadata": {"c": "d"}}),
          "update_snapshot_metadata", "snapshots")
    check(cinder.req("GET", f"/snapshots/{snap['id']}/metadata/c"), "show_snapshot_metadata_item", "snapshots")
    assert cinder.req("GET", f"/snapshots/{snap['id']}", "3.41").json["snapshot"]["user_id"]
    check(cinder.req("DELETE", f"/snapshots/{snap['id']}"), "delete_snapshot", "snapshots")
    cinder.wait(snap["id"], "deleted", "snapshots")


def test_snapshot_of_in_use_volume_needs_force(cinder):
    vol = cinder.create()
    cinder.action(vol["id"], {"os-reserve": None})
    cinder.action(vol["id"], {"os-attach": {"instance_uuid": "11111111-2222-3333-4444-555555555555",
                                            "mountpoint": "/dev/vdb"}})
    resp = cinder.req("POST", "/snapshots", json={"snapshot": {"volume_id": vol["id"]}})
    assert resp.status_code == 400 and "must be available" in resp.json["badRequest"]["message"]
    forced = cinder.req("POST", "/snapshots", json={"snapshot": {"volume_id": vol["id"], "force": True}})
    assert forced.status_code == 202
    cinder.wait(forced.json["snapshot"]["id"], "available", "snapshots")


def test_volume_types_admin(cinder, admin_cinder):
    listed = check(cinder.req("GET", "/types"), "list_volume_types", "volume_types")["volume_types"]
    assert {"__DEFAULT__", "lvmdriver-1"} <= {t["name"] for t in listed}
    assert cinder.req("GET", "/types/default").json["volume_type"]["name"] == "lvmdriver-1"
    body = {"volume_type": {"name": "gold", "extra_specs": {"volume_backend_name": "lvmdriver-1"},
                            "os-volume-type-access:is_public": False}}
    assert cinder.req("POST", "/types", json=body).status_code == 403
    created = check(admin_cinder.req("POST", "/types", json=body), "create_volume_type", "volume_types")
    tid = created["volume_type"]["id"]
    assert admin_cinder.req("POST", "/types", json=body).status_code == 409
    assert cinder.req("GET", f"/types/{tid}").status_code == 404  # private, not shared
    action = {"addProjectAccess": {"project": cinder.project_id}}
    assert admin_cinder.req("POST", f"/types/{tid}/action", json=action).status_code == 202
    assert cinder.req("GET", f"/types/{tid}").status_code == 200
    access = admin_cinder.req("GET", f"/types/{tid}/os-volume-type-access").json["volume_type_access"]
    assert access == [{"volume_type_id": tid, "project_id": cinder.project_id}]
    vol = cinder.create(volume_type="gold")
    assert vol["volume_type"] == "gold"
    check(admin_cinder.req("POST", f"/types/{tid}/extra_specs", json={"extra_specs": {"k": "v"}}),
          "create_volume_types_extra_specs", "volume_types")
    assert admin_cinder.req("GET", f"/types/{tid}/extra_specs/k").json == {"k": "v"}
    assert admin_cinder.req("DELETE", f"/types/{tid}/extra_specs/k").status_code == 202
    assert admin_cinder.req("GET", f"/types/{tid}/extra_specs/k").status_code == 404
    check(admin_cinder.req("PUT", f"/types/{tid}", json={"volume_type": {"description": "d"}}), "update_volume_types",
          "volume_types")
    assert admin_cinder.req("DELETE", f"/types/{tid}").status_code == 400  # in use
    cinder.req("DELETE", f"/volumes/{vol['id']}")
    cinder.wait(vol["id"], "deleted")
    check(admin_cinder.req("DELETE", f"/types/{tid}"), "delete_volume_type", "volume_types")
    default_id = next(t["id"] for t in listed if t["name"] == "lvmdriver-1")
    assert admin_cinder.req("DELETE", f"/types/{default_id}").status_code == 400


def test_quota_sets_and_limits(cinder, admin_cinder):
    pid = cinder.project_id
    check(cinder.req("GET", f"/os-quota-sets/{pid}"), "show_quota_set", "quotas")
    cinder.create(size=2)
    usage = check(cinder.req("GET", f"/os-quota-sets/{pid}?usage=True"), "show_quota_set_usage", "quotas")
    assert usage["quota_set"]["gigabytes"]["in_use"] == 2 and usage["quota_set"]["volumes"]["in_use"] == 1
    check(cinder.req("GET", f"/os-quota-sets/{pid}/defaults"), "show_quota_set", "quotas")
    assert cinder.req("PUT", f"/os-quota-sets/{pid}", json={"quota_set": {"volumes": 5}}).status_code == 403
    check(admin_cinder.req("PUT", f"/os-quota-sets/{pid}", json={"quota_set": {"volumes": 5}}), "update_quota_set",
          "quotas")
    assert admin_cinder.req("PUT", f"/os-quota-sets/{pid}", json={"quota_set": {"volumes": 0}}).status_code == 400
    assert admin_cinder.req("PUT", f"/os-quota-sets/{pid}", json={"quota_set": {"bogus": 1}}).status_code == 400
    limits = check(cinder.req("GET", "/limits"), "show_limits", "limits")["limits"]["absolute"]
    assert limits["maxTotalVolumes"] == 5 and limits["totalGigabytesUsed"] == 2
    assert cinder.req("GET", f"/os-quota-sets/{admin_cinder.project_id}").status_code == 403
    assert admin_cinder.req("DELETE", f"/os-quota-sets/{pid}").status_code == 200
    assert cinder.req("GET", f"/os-quota-sets/{pid}").json["quota_set"]["volumes"] == 10


def test_zones_services_versions(cloud, cinder, admin_cinder):
    zones = cinder.req("GET", "/os-availability-zone").json
    assert zones == {"availabilityZoneInfo": [{"zoneName": "nova", "zoneState": {"available": True}}]}
    assert cinder.req("GET", "/os-services").status_code == 403
    check(admin_cinder.req("GET", "/os-services"), "list_services", "services")
    root = cloud.request("GET", "/volume/")
    assert root.status_code == 300
    check(root, "list_versions", "versions")
    doc = cloud.request("GET", "/volume/v3/").json["versions"][0]
    assert (doc["id"], doc["min_version"], doc["version"], doc["status"]) == ("v3.0", "3.0", "3.71", "CURRENT")
    bad = cinder.req("GET", "/volumes", "3.72")
    assert bad.status_code == 406


def test_catalog_lists_volumev3_with_the_project_id(cloud, demo_token, cinder):
    resp = cloud.request("GET", "/identity/v3/auth/catalog", demo_token)
    by_type = {s["type"]: s for s in resp.json["catalog"]}
    for kind in ("volumev3", "block-storage"):
        urls = {e["url"] for e in by_type[kind]["endpoints"]}
        assert urls == {f"http://127.0.0.1:8780/volume/v3/{cinder.project_id}"} or all(
            u.endswith(f"/volume/v3/{cinder.project_id}") for u in urls)


def test_snapshot_status_actions_and_force_delete(cinder, admin_cinder):
    vol = cinder.create()
    snap = cinder.wait(cinder.req("POST", "/snapshots", json={"snapshot": {"volume_id": vol["id"]}}).json[
        "snapshot"]["id"], "available", "snapshots")
    sid = snap["id"]
    assert snap["os-extended-snapshot-attributes:progress"] == "100%"
    update = {"os-update_snapshot_status": {"status": "error", "progress": "80%"}}
    resp = cinder.req("POST", f"/snapshots/{sid}/action", json=update)
    assert resp.status_code == 400 and "not allowed for snapshot with status available" in resp.text
    check(admin_cinder.req("POST", f"/snapshots/{sid}/action", json={"os-reset_status": {"status": "creating"}}),
          "reset_snapshot_status", "snapshots")
    check(cinder.req("POST", f"/snapshots/{sid}/action", json=update), "update_snapshot_status", "snapshots")
    shown = cinder.req("GET", f"/snapshots/{sid}").json["snapshot"]
    assert (shown["status"], shown["os-extended-snapshot-attributes:progress"]) == ("error", "80%")
    assert cinder.req("POST", f"/snapshots/{sid}/action", json={"os-force_delete": {}}).status_code == 403
    admin_cinder.req("POST", f"/snapshots/{sid}/action", json={"os-reset_status": {"status": "deleting"}})
    assert cinder.req("DELETE", f"/snapshots/{sid}").status_code == 400
    check(admin_cinder.req("POST", f"/snapshots/{sid}/action", json={"os-force_delete": {}}),
          "force_delete_snapshot", "snapshots")
    cinder.wait(sid, "deleted", "snapshots")
    assert cinder.req("POST", f"/snapshots/{sid}/action", json={"os-bogus": {}}).status_code == 400


def test_snapshot_listing_offset_name_sort_and_missing_volume(cinder):
    vol = cinder.create()
    for name in ("b", "a", "c"):
        cinder.wait(cinder.req("POST", "/snapshots", json={"snapshot": {"volume_id": vol["id"], "name": name}}).json[
            "snapshot"]["id"], "available", "snapshots")
    names = [s["name"] for s in cinder.req("GET", "/snapshots?sort_key=display_name&sort_dir=asc").json["snapshots"]]
    assert names == ["a", "b", "c"]
    assert len(cinder.req("GET", "/snapshots?offset=2&limit=3").json["snapshots"]) == 1
    resp = cinder.req("POST", "/snapshots", json={"snapshot": {"volume_id": None, "display_name": "x"}})
    assert resp.status_code == 404 and resp.json["itemNotFound"]["message"] == "Volume None could not be found."
