"""Volumes: create (blank, from image, snapshot, volume), list/detail with filters, sort and paging,
show, update, delete; bad input and project isolation. Bodies checked against Tempest's schemas."""

from __future__ import annotations

import pytest
from cinder_helpers import check

from overcast.core.image.seed import CIRROS_ID

DELETE_REFUSED = ("Invalid volume: Volume status must be available or error or error_restoring or error_extending "
                  "or error_managing and must not be migrating, attached, belong to a group, have snapshots, "
                  "awaiting a transfer, or be disassociated from snapshots after volume transfer.")


def test_create_is_202_creating_then_available(cinder):
    resp = cinder.req("POST", "/volumes", json={"volume": {"size": 1, "name": "v1", "metadata": {"a": "b"}}})
    body = check(resp, "create_volume")["volume"]
    assert body["status"] == "creating" and body["volume_type"] == "lvmdriver-1"
    shown = cinder.wait(body["id"], "available")
    assert shown["metadata"] == {"a": "b"} and shown["bootable"] == "false"
    check(cinder.req("GET", f"/volumes/{body['id']}"), "show_volume")


@pytest.mark.parametrize("version,module", [("3.0", None), ("3.61", "v3_61"), ("3.63", "v3_63"),
                                            ("3.64", "v3_64"), ("3.65", "v3_65"), ("3.70", "v3_69")])
def test_views_per_microversion(cinder, admin_cinder, version, module):
    vol = cinder.create(name="mv")
    for client in (cinder, admin_cinder):
        resp = client.req("GET", f"/volumes/{vol['id']}", version)
        assert resp.headers["OpenStack-API-Version"] == f"volume {version}"
        body = check(resp, "show_volume", version=module)["volume"]
        assert ("volume_type_id" in body) == (version >= "3.63")
        assert ("consumes_quota" in body) == (version >= "3.65")
        assert ("os-vol-host-attr:host" in body) == (client is admin_cinder)
    check(admin_cinder.req("GET", "/volumes/detail?all_tenants=1", version), "list_volumes_with_detail",
          version=module)


def test_from_image_is_bootable_with_image_metadata(cinder):
    vol = cinder.create(imageRef=CIRROS_ID, name="boot")
    assert vol["bootable"] == "true"
    assert vol["volume_image_metadata"]["image_id"] == CIRROS_ID


def test_from_snapshot_and_from_volume(cinder):
    src = cinder.create(size=2, name="src")
    clone = cinder.create(size=None, source_volid=src["id"], name="clone")
    assert clone["size"] == 2 and clone["source_volid"] == src["id"]
    snap = cinder.req("POST", "/snapshots", json={"snapshot": {"volume_id": src["id"], "name": "s"}}).json["snapshot"]
    cinder.wait(snap["id"], "available", "snapshots")
    small = cinder.req("POST", "/volumes", json={"volume": {"size": 1, "snapshot_id": snap["id"]}})
    assert small.status_code == 400 and "cannot be smaller than the snapshot size" in small.json["badRequest"]["message"]
    restored = cinder.create(size=None, snapshot_id=snap["id"])
    assert restored["size"] == 2 and restored["snapshot_id"] == snap["id"]


def test_list_filters_sort_and_paging(cinder):
    ids = [cinder.create(name=f"v{i}", size=i + 1, metadata={"k": str(i % 2)})["id"] for i in range(3)]
    body = check(cinder.req("GET", "/volumes"), "list_volumes_no_detail")
    assert {v["id"] for v in body["volumes"]} == set(ids)
    assert [v["name"] for v in cinder.req("GET", "/volumes/detail?sort=size:asc").json["volumes"]] == ["v0", "v1", "v2"]
    assert [v["name"] for v in cinder.req("GET", "/volumes?sort_key=name&sort_dir=desc").json["volumes"]] == \
        ["v2", "v1", "v0"]
    assert [v["name"] for v in cinder.req("GET", "/volumes?name=v1").json["volumes"]] == ["v1"]
    by_meta = cinder.req("GET", "/volumes/detail", params={"metadata": "{'k': '1'}"}).json["volumes"]
    assert [v["name"] for v in by_meta] == ["v1"]
    assert cinder.req("GET", "/volumes?status=error").json["volumes"] == []
    page = check(cinder.req("GET", "/volumes/detail?sort=name:asc&limit=2"), "list_volumes_with_detail")
    assert [v["name"] for v in page["volumes"]] == ["v0", "v1"]
    assert "marker=" in page["volumes_links"][0]["href"]
    rest = cinder.req("GET", f"/volumes/detail?sort=name:asc&limit=2&marker={page['volumes'][-1]['id']}").json
    assert [v["name"] for v in rest["volumes"]] == ["v2"] and "volumes_links" not in rest
    assert cinder.req("GET", "/volumes?sort=bogus:asc").status_code == 400
    assert cinder.req("GET", "/volumes?bootable=true").json["volumes"] == []
    # with_count (3.45) counts every volume the filters select, not the page
    counted = cinder.req("GET", "/volumes/detail?sort=name:asc&limit=1&with_count=true", "3.45").json
    assert [v["name"] for v in counted["volumes"]] == ["v0"] and counted["count"] == 3
    assert cinder.req("GET", "/volumes?name=v1&with_count=true", "3.45").json["count"] == 1
    assert "count" not in cinder.req("GET", "/volumes?with_count=true", "3.44").json


def test_update_and_metadata(cinder):
    vol = cinder.create(name="old")
    body = check(cinder.req("PUT", f"/volumes/{vol['id']}", json={"volume": {"name": "new", "description": "d"}}),
                 "update_volume")["volume"]
    assert body["name"] == "new" and body["description"] == "d"
    check(cinder.req("POST", f"/volumes/{vol['id']}/metadata", json={"metadata": {"a": "1"}}), "create_volume_metadata")
    check(cinder.req("PUT", f"/volumes/{vol['id']}/metadata/b", json={"meta": {"b": "2"}}),
          "update_volume_metadata_item")
    assert check(cinder.req("GET", f"/volumes/{vol['id']}/metadata"), "show_volume_metadata")["metadata"] == \
        {"a": "1", "b": "2"}
    check(cinder.req("GET", f"/volumes/{vol['id']}/metadata/a"), "show_volume_metadata_item")
    assert cinder.req("DELETE", f"/volumes/{vol['id']}/metadata/a").status_code == 200
    missing = cinder.req("GET", f"/volumes/{vol['id']}/metadata/a")
    assert missing.status_code == 404 and "has no metadata with key a" in missing.json["itemNotFound"]["message"]
    replaced = cinder.req("PUT", f"/volumes/{vol['id']}/metadata", json={"metadata": {"c": "3"}}).json
    assert replaced == {"metadata": {"c": "3"}}


def test_delete_goes_through_deleting(cinder):
    vol = cinder.create()
    check(cinder.req("DELETE", f"/volumes/{vol['id']}"), "delete_volume")
    cinder.wait(vol["id"], "deleted")


def test_delete_refused_with_snapshots_unless_cascade(cinder):
    vol = cinder.create()
    snap = cinder.req("POST", "/snapshots", json={"snapshot": {"volume_id": vol["id"]}}).json["snapshot"]
    cinder.wait(snap["id"], "available", "snapshots")
    resp = cinder.req("DELETE", f"/volumes/{vol['id']}")
    assert resp.status_code == 400 and resp.json == {"badRequest": {"code": 400, "message": DELETE_REFUSED}}
    assert cinder.req("DELETE", f"/volumes/{vol['id']}?cascade=true").status_code == 202
    cinder.wait(vol["id"], "deleted")
    cinder.wait(snap["id"], "deleted", "snapshots")


@pytest.mark.parametrize("size,field", [(0, "size"), ("abc", "size"), (1.5, "size"), ("0", "size")])
def test_bad_size_is_400_naming_size(cinder, size, field):
    resp = cinder.req("POST", "/volumes", json={"volume": {"size": size}})
    assert resp.status_code == 400, resp.text
    assert field in resp.json["badRequest"]["message"]


def test_bad_input(cinder):
    resp = cinder.req("POST", "/volumes", json={"volume": {"size": 1, "volume_type": "nope"}})
    assert resp.status_code == 404
    assert resp.json["itemNotFound"]["message"] == "Volume type with name nope could not be found."
    resp = cinder.req("POST", "/volumes", json={"volume": {"size": 1, "availability_zone": "mars"}})
    assert resp.status_code == 400 and "Availability zone 'mars' is invalid" in resp.text
    assert cinder.req("POST", "/volumes", json={"volume": {"name": "nosize"}}).status_code == 400
    assert cinder.req("POST", "/volumes", json={"nothing": {}}).status_code == 400
    resp = cinder.req("GET", "/volumes/00000000-0000-0000-0000-000000000000")
    assert resp.json == {"itemNotFound": {"code": 404, "message":
                                          "Volume 00000000-0000-0000-0000-000000000000 could not be found."}}


def test_over_quota_is_413_with_cinders_text(cinder, admin_cinder):
    url = f"/os-quota-sets/{cinder.project_id}"
    assert admin_cinder.req("PUT", url, json={"quota_set": {"gigabytes": 3}}).status_code == 200
    cinder.create(size=2)
    resp = cinder.req("POST", "/volumes", json={"volume": {"size": 2}})
    assert resp.status_code == 413
    assert resp.json["overLimit"]["message"] == ("Requested volume or snapshot exceeds allowed gigabytes quota. "
                                                 "Requested 2G, quota is 3G and 2G has been consumed.")
    admin_cinder.req("PUT", url, json={"quota_set": {"gigabytes": 100, "volumes": 1}})
    resp = cinder.req("POST", "/volumes", json={"volume": {"size": 1}})
    assert resp.status_code == 413
    assert resp.json["overLimit"]["message"] == "Maximum number of volumes allowed (1) exceeded for quota 'volumes'."


def test_projects_are_isolated(cinder, admin_cinder):
    theirs = admin_cinder.create(name="admins")
    for method in ("GET", "DELETE"):
        assert cinder.req(method, f"/volumes/{theirs['id']}").status_code == 404
    assert cinder.req("PUT", f"/volumes/{theirs['id']}", json={"volume": {"name": "x"}}).status_code == 404
    assert theirs["id"] not in {v["id"] for v in cinder.req("GET", "/volumes?all_tenants=1").json["volumes"]}
    mine = cinder.create(name="mine")
    everyone = {v["id"] for v in admin_cinder.req("GET", "/volumes?all_tenants=1").json["volumes"]}
    assert {mine["id"], theirs["id"]} <= everyone
    assert mine["id"] not in {v["id"] for v in admin_cinder.req("GET", "/volumes").json["volumes"]}


def test_path_without_project_id_and_summary(cinder):
    vol = cinder.create(size=3, metadata={"x": "y"})
    resp = cinder.cloud.request("GET", f"/volume/v3/volumes/{vol['id']}", cinder.token)
    assert resp.status_code == 200
    summary = check(cinder.req("GET", "/volumes/summary", "3.36"), "show_volume_summary")["volume-summary"]
    assert summary == {"total_size": 3, "total_count": 1, "metadata": {"x": ["y"]}}


def test_a_full_page_links_to_the_next_and_offset_skips(cinder):
    ids = [cinder.create(name=f"p{i}")["id"] for i in range(4)]
    first = check(cinder.req("GET", "/volumes/detail?sort=name:asc&limit=2"), "list_volumes_with_detail")
    following = cinder.req("GET", f"/volumes?sort=name:asc&limit=2&marker={first['volumes'][-1]['id']}").json
    assert [v["id"] for v in following["volumes"]] == ids[2:]
    # the last page is full too: Cinder links to a next page it has not looked at, which is empty
    last = cinder.req("GET", following["volumes_links"][0]["href"].split(f"/{cinder.project_id}", 1)[1]).json
    assert last["volumes"] == [] and "volumes_links" not in last
    assert [v["name"] for v in cinder.req("GET", "/volumes?sort=display_name:desc&offset=1&limit=2").json[
        "volumes"]] == ["p2", "p1"]
    assert cinder.req("GET", "/volumes?offset=-1").status_code == 400
    assert cinder.req("GET", "/volumes?offset=x").status_code == 400


def test_paths_ending_in_a_slash_are_not_found(cloud, cinder):
    vol = cinder.create()
    for method in ("GET", "PUT", "DELETE"):
        assert cinder.req(method, "/volumes/", json={"volume": {"name": "x"}}).status_code == 404, method
    assert cinder.req("GET", f"/volumes/{vol['id']}/").status_code == 404
    assert cloud.request("GET", "/volume/v3/").status_code == 200


def test_from_image_on_a_backend_that_cannot_write_overcast_images(cloud, cinder, monkeypatch):
    """A region whose volume backend cannot write Overcast's images (the passthrough): an image it
    does not hold is Cinder's 400 naming imageRef with nothing recorded; one it holds (a location in
    the region) reaches the driver by its backend id."""
    from overcast.store.image import ImageLocation
    from overcast.store.volume import Volume

    driver = cloud.app.volume.volume_driver("RegionOne")
    monkeypatch.setattr(driver, "writes_overcast_images", False)
    resp = cinder.req("POST", "/volumes", json={"volume": {"size": 1, "imageRef": CIRROS_ID, "name": "nope"}})
    assert resp.status_code == 400 and "imageRef" in resp.json["badRequest"]["message"], resp.text
    with cloud.app.volume.store.session() as session:
        assert session.query(Volume).filter(Volume.name == "nope").count() == 0
        session.add(ImageLocation(image_id=CIRROS_ID, cloud="RegionOne", backend_id="backend-cirros", extra={}))
    asked = []
    create = driver.create
    monkeypatch.setattr(driver, "create", lambda ctx, request: asked.append(request) or create(ctx, request))
    vol = cinder.create(imageRef=CIRROS_ID, name="held")
    assert vol["bootable"] == "true" and [r.image_backend_id for r in asked] == ["backend-cirros"]
