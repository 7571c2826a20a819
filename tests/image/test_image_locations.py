"""Image locations (Glance's ``show_multiple_locations``, docs/decisions/0074-image-locations.md): shown
on images, added, replaced and removed by JSON Patch, with Glance's faults; an image whose data is only
at an http location streams it from there.

The rules checked are Glance's (``_do_add_locations``/``_do_replace_locations``/``_do_remove_locations``
in glance/api/v2/images.py, ``_validate_validation_data``) as Tempest's ImageLocationsTest exercises them.
"""

from __future__ import annotations

import hashlib
import time

import pytest

from overcast.config import ImageSettings

PATCH = {"Content-Type": "application/openstack-images-v2.1-json-patch"}
DATA = b"location data " * 1000


@pytest.fixture
def shown(cloud, monkeypatch, web):  # noqa: ANN001, ANN201
    """Locations shown, ``web`` serving DATA at /disk.img and readable through the filter."""
    web.files["/disk.img"] = DATA
    settings = cloud.app.images.settings
    monkeypatch.setattr(cloud.app.images, "settings", settings.replace(image=ImageSettings(
        show_multiple_locations=True, web_download_ports="*", web_download_hosts="127.0.0.1")))
    return web


def _create(api, token):  # noqa: ANN001, ANN202
    resp = api("POST", "/images", token, json={"disk_format": "raw", "container_format": "bare"})
    assert resp.status_code == 201, resp.text
    return resp.json


def _patch(api, token, image_id, *ops):  # noqa: ANN001, ANN002, ANN202
    return api("PATCH", f"/images/{image_id}", token, json=list(ops), headers=PATCH)


def test_locations_hidden_by_default(api, demo_token, web):  # noqa: ANN001
    image = _create(api, demo_token)
    assert "locations" not in image
    resp = _patch(api, demo_token, image["id"], {"op": "add", "path": "/locations/-",
                                                 "value": {"url": f"{web.url}/x", "metadata": {}}})
    assert resp.status_code == 403 and "invisible" in resp.json["message"]


def test_add_location_activates_and_serves_data(api, demo_token, shown):  # noqa: ANN001
    image = _create(api, demo_token)
    assert image["locations"] == []
    url = f"{shown.url}/disk.img"
    resp = _patch(api, demo_token, image["id"], {"op": "add", "path": "/locations/-",
                                                 "value": {"url": url, "metadata": {"foo": "bar"}}})
    assert resp.status_code == 200, resp.text
    got = api("GET", f"/images/{image['id']}", demo_token).json
    assert got["status"] == "active" and got["size"] == len(DATA)
    assert got["locations"] == [{"url": url, "metadata": {"foo": "bar"}}]
    assert got["os_hash_algo"] is None and got["os_hash_value"] is None and got["checksum"] is None
    assert api("GET", f"/images/{image['id']}/file", demo_token).content == DATA
    ranged = api("GET", f"/images/{image['id']}/file", demo_token, headers={"Range": "bytes=3-9"})
    assert ranged.status_code == 206 and ranged.content == DATA[3:10]
    listed = api("GET", "/images", demo_token).json["images"]
    assert [i["locations"] for i in listed if i["id"] == image["id"]] == [got["locations"]]
    assert api("DELETE", f"/images/{image['id']}", demo_token).status_code == 204  # no copy of ours to remove


def test_upload_shows_the_store_location(api, demo_token, shown):  # noqa: ANN001
    image = _create(api, demo_token)
    put = api("PUT", f"/images/{image['id']}/file", demo_token, body=b"abc",
              headers={"Content-Type": "application/octet-stream"})
    assert put.status_code == 204
    got = api("GET", f"/images/{image['id']}", demo_token).json
    assert len(got["locations"]) == 1 and got["locations"][0]["url"].startswith("file://")


def test_replace_changes_metadata_only(api, demo_token, shown):  # noqa: ANN001
    image = _create(api, demo_token)
    first = {"url": f"{shown.url}/disk.img", "metadata": {"foo": "bar"}}
    second = {"url": f"{shown.url}/disk.img#new", "metadata": {"speed": "88mph"}}
    for loc in (first, second):
        assert _patch(api, demo_token, image["id"], {"op": "add", "path": "/locations/-", "value": loc}
                      ).status_code == 200
    changed = [{**first, "metadata": {"foo": "bar", "date": "2015-10-15"}}, second]
    assert _patch(api, demo_token, image["id"], {"op": "replace", "path": "/locations", "value": changed}
                  ).status_code == 200
    for bad in ([changed[0]], [changed[0], {"url": f"{shown.url}/disk.img#new3", "metadata": {}}]):
        resp = _patch(api, demo_token, image["id"], {"op": "replace", "path": "/locations", "value": bad})
        assert resp.status_code == 400, resp.text
    assert api("GET", f"/images/{image['id']}", demo_token).json["locations"] == changed


@pytest.mark.parametrize("url", ["gopher://info.cern.ch", "file:///etc/passwd", "/missing",
                                 "http://10.0.0.1/disk.img", "http://169.254.169.254/latest"])
def test_add_refuses_urls_it_cannot_read(api, demo_token, shown, url):  # noqa: ANN001
    image = _create(api, demo_token)
    if url.startswith("/"):
        url = shown.url + url
    resp = _patch(api, demo_token, image["id"], {"op": "add", "path": "/locations/-",
                                                 "value": {"url": url, "metadata": {}}})
    assert resp.status_code == 400 and "Invalid location" in resp.json["message"]
    assert api("GET", f"/images/{image['id']}", demo_token).json["status"] == "queued"


def test_add_faults(api, demo_token, shown):  # noqa: ANN001
    image = _create(api, demo_token)
    loc = {"url": f"{shown.url}/disk.img", "metadata": {}}
    assert _patch(api, demo_token, image["id"], {"op": "add", "path": "/locations/5", "value": loc}
                  ).status_code == 400
    assert _patch(api, demo_token, image["id"], {"op": "add", "path": "/locations/-", "value": {"url": "x"}}
                  ).status_code == 400  # metadata is required by the schema
    assert _patch(api, demo_token, image["id"], {"op": "add", "path": "/locations/-", "value": loc}
                  ).status_code == 200
    duplicate = _patch(api, demo_token, image["id"], {"op": "add", "path": "/locations/0", "value": loc})
    assert duplicate.status_code == 400 and "already exists" in duplicate.json["message"]


def test_validation_data(api, demo_token, shown):  # noqa: ANN001
    image = _create(api, demo_token)
    given = {"checksum": "1" * 32, "os_hash_value": "deadbeef" * 16, "os_hash_algo": "sha512"}
    loc = {"url": f"{shown.url}/disk.img", "metadata": {}, "validation_data": given}
    assert _patch(api, demo_token, image["id"], {"op": "add", "path": "/locations/-", "value": loc}
                  ).status_code == 200
    got = api("GET", f"/images/{image['id']}", demo_token).json
    assert {k: got[k] for k in given} == given and got["status"] == "active"
    assert got["locations"] == [{"url": loc["url"], "metadata": {}}]
    same = {**loc, "url": loc["url"] + "#new"}
    assert _patch(api, demo_token, image["id"], {"op": "add", "path": "/locations/-", "value": same}
                  ).status_code == 200
    for key, value in (("checksum", "2" * 32), ("os_hash_value", "beefdead" * 16), ("os_hash_algo", "sha256")):
        other = {**loc, "url": loc["url"] + "#other", "validation_data": {**given, key: value}}
        resp = _patch(api, demo_token, image["id"], {"op": "add", "path": "/locations/-", "value": other})
        assert resp.status_code == 409, (key, resp.text)
    assert len(api("GET", f"/images/{image['id']}", demo_token).json["locations"]) == 2


def test_validation_data_must_use_the_hashing_algorithm(api, demo_token, shown):  # noqa: ANN001
    image = _create(api, demo_token)
    value = hashlib.sha256(DATA).hexdigest()
    loc = {"url": f"{shown.url}/disk.img", "metadata": {},
           "validation_data": {"os_hash_algo": "sha256", "os_hash_value": value}}
    resp = _patch(api, demo_token, image["id"], {"op": "add", "path": "/locations/-", "value": loc})
    assert resp.status_code == 409 and "os_hash_algo must be sha512" in resp.json["message"]
    short = {**loc, "validation_data": {"os_hash_algo": "sha512", "os_hash_value": value}}
    assert _patch(api, demo_token, image["id"], {"op": "add", "path": "/locations/-", "value": short}
                  ).status_code == 409


def test_remove_needs_admin_and_keeps_the_last(cloud, api, demo_token, admin_token, shown):  # noqa: ANN001
    image = _create(api, demo_token)
    put = api("PUT", f"/images/{image['id']}/file", demo_token, body=DATA,
              headers={"Content-Type": "application/octet-stream"})
    assert put.status_code == 204
    url = f"{shown.url}/disk.img"
    assert _patch(api, demo_token, image["id"], {"op": "add", "path": "/locations/-",
                                                 "value": {"url": url, "metadata": {}}}).status_code == 200
    remove = {"op": "remove", "path": "/locations/0"}
    assert _patch(api, demo_token, image["id"], remove).status_code == 403  # delete_image_location: admin
    assert _patch(api, admin_token, image["id"], {"op": "remove", "path": "/locations/2"}).status_code == 400
    assert _patch(api, admin_token, image["id"], remove).status_code == 200
    got = api("GET", f"/images/{image['id']}", demo_token).json
    assert got["locations"] == [{"url": url, "metadata": {}}]
    # the store's copy went with its location: the data now comes from the one left
    assert not cloud.app.images.files.exists(image["id"])
    assert api("GET", f"/images/{image['id']}/file", demo_token).content == DATA
    last = _patch(api, admin_token, image["id"], remove)
    assert last.status_code == 403 and "last location" in last.json["message"]


# --- the add location API (2.17) -------------------------------------------------------------------


def _tasks(api, token, image_id, status):  # noqa: ANN001, ANN202
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        tasks = api("GET", f"/images/{image_id}/tasks", token).json["tasks"]
        if tasks and all(t["status"] == status for t in tasks):
            return tasks
        time.sleep(0.1)
    raise AssertionError(f"tasks of {image_id} never all {status}: {tasks}")


def test_versions_list_2_17(cloud, demo_token):  # noqa: ANN001
    versions = cloud.request("GET", "/image/versions", demo_token).json["versions"]
    assert [v["id"] for v in versions if v["status"] == "CURRENT"] == ["v2.17"]


@pytest.mark.parametrize("validation", [
    {"os_hash_algo": "sha512", "os_hash_value": "dbc9e0f80d131e64b94913a7b40bb5"},  # too short
    {"os_hash_value": hashlib.sha512(DATA).hexdigest()},  # no algorithm
    {"os_hash_algo": "sha123", "os_hash_value": hashlib.sha512(DATA).hexdigest()},
    {"os_hash_algo": "sha512", "os_hash_value": hashlib.sha256(DATA).hexdigest()},  # another size
])
def test_add_location_api_refuses_bad_validation_data(api, demo_token, shown, validation):  # noqa: ANN001
    image = _create(api, demo_token)
    resp = api("POST", f"/images/{image['id']}/locations", demo_token,
               json={"url": f"{shown.url}/disk.img", "validation_data": validation})
    assert resp.status_code == 400, resp.text
    assert api("GET", f"/images/{image['id']}", demo_token).json["status"] == "queued"


def test_add_location_api_hashes_the_data(api, demo_token, shown):  # noqa: ANN001
    image = _create(api, demo_token)
    url = f"{shown.url}/disk.img"
    given = {"os_hash_algo": "sha256", "os_hash_value": hashlib.sha256(DATA).hexdigest()}
    resp = api("POST", f"/images/{image['id']}/locations", demo_token, json={"url": url, "validation_data": given})
    assert resp.status_code == 202, resp.text
    (task,) = _tasks(api, demo_token, image["id"], "success")
    assert task["type"] == "location_import"
    got = api("GET", f"/images/{image['id']}", demo_token).json
    assert got["status"] == "active" and got["size"] == len(DATA)
    assert (got["os_hash_algo"], got["os_hash_value"]) == ("sha256", given["os_hash_value"])
    assert got["checksum"] == hashlib.md5(DATA).hexdigest()
    assert got["locations"] == [{"url": url, "metadata": {}}]
    assert api("GET", f"/images/{image['id']}/file", demo_token).content == DATA
    again = api("POST", f"/images/{image['id']}/locations", demo_token, json={"url": url + "#2"})
    assert again.status_code == 409  # only a queued image takes a location this way
    # without validation data: Glance's hashing algorithm
    plain = _create(api, demo_token)
    assert api("POST", f"/images/{plain['id']}/locations", demo_token, json={"url": url}).status_code == 202
    _tasks(api, demo_token, plain["id"], "success")
    got = api("GET", f"/images/{plain['id']}", demo_token).json
    assert (got["os_hash_algo"], got["os_hash_value"]) == ("sha512", hashlib.sha512(DATA).hexdigest())


def test_add_location_api_wrong_hash_fails_the_task(api, demo_token, shown):  # noqa: ANN001
    image = _create(api, demo_token)
    resp = api("POST", f"/images/{image['id']}/locations", demo_token, json={
        "url": f"{shown.url}/disk.img", "validation_data": {"os_hash_algo": "sha512", "os_hash_value": "beefdead" * 16}})
    assert resp.status_code == 202
    (task,) = _tasks(api, demo_token, image["id"], "failure")
    assert "verification failed" in task["message"]
    got = api("GET", f"/images/{image['id']}", demo_token).json
    assert got["status"] == "queued" and got["checksum"] is None and got["os_hash_value"] is None


def test_add_location_api_filter_and_policy(api, demo_token, alt_token, shown, cloud, monkeypatch):  # noqa: ANN001
    image = _create(api, demo_token)
    for url in ("gopher://x/y", "http://10.0.0.1/disk.img"):
        assert api("POST", f"/images/{image['id']}/locations", demo_token, json={"url": url}).status_code == 400
    other = api("POST", f"/images/{image['id']}/locations", alt_token, json={"url": f"{shown.url}/disk.img"})
    assert other.status_code == 404  # a private image of another project
    # GET is for services (fetch_image_location: role:service)
    assert api("GET", f"/images/{image['id']}/locations", demo_token).status_code == 403
