"""Image data, in process: upload, download with Range, stage + import (glance-direct, web-download),
the S3 store behind the API (moto), data removed with the image."""

from __future__ import annotations

import hashlib
import time

import pytest

from overcast.core.image.stores import S3Store

OCTET = {"Content-Type": "application/octet-stream"}
DATA = bytes(range(256)) * 1000 + b"tail"


def _create(api, token, **body):  # noqa: ANN001, ANN003, ANN202
    body.setdefault("disk_format", "raw")
    body.setdefault("container_format", "bare")
    return api("POST", "/images", token, json=body).json


def _wait(api, token, image_id, status):  # noqa: ANN001, ANN202
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        image = api("GET", f"/images/{image_id}", token).json
        if image["status"] == status:
            return image
        time.sleep(0.05)
    raise AssertionError(f"image {image_id} stayed {image['status']}, wanted {status}")


def test_upload_download_range(api, demo_token, alt_token, cloud):
    image = _create(api, demo_token)
    url = f"/images/{image['id']}/file"
    assert api("GET", url, demo_token).status_code == 204
    assert api("PUT", url, alt_token, body=DATA, headers=OCTET).status_code == 404
    assert api("PUT", url, demo_token, body=DATA, headers=OCTET).status_code == 204
    shown = api("GET", f"/images/{image['id']}", demo_token).json
    assert shown["status"] == "active" and shown["size"] == len(DATA) and shown["virtual_size"] == len(DATA)
    assert shown["checksum"] == hashlib.md5(DATA).hexdigest()
    assert shown["os_hash_algo"] == "sha512" and shown["os_hash_value"] == hashlib.sha512(DATA).hexdigest()
    assert shown["stores"] == "file"
    again = api("PUT", url, demo_token, body=b"more", headers=OCTET)
    assert again.status_code == 409 and "active to saving" in again.json["message"]
    full = api("GET", url, demo_token)
    assert full.status_code == 200 and full.content == DATA
    assert full.headers["Content-MD5"] == shown["checksum"]
    assert full.headers["Content-Type"] == "application/octet-stream"
    part = api("GET", url, demo_token, headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.content == DATA[10:20]
    assert part.headers["Content-Range"] == f"bytes 10-19/{len(DATA)}"
    assert api("GET", url, demo_token, headers={"Range": "bytes=-4"}).content == b"tail"
    assert api("GET", url, demo_token, headers={"Range": "bytes=100-"}).content == DATA[100:]
    for bad in (f"bytes={len(DATA)}-", "bytes=5-2", "bits=1-2", "bytes=1-2,4-5"):
        resp = api("GET", url, demo_token, headers={"Range": bad})
        assert resp.status_code == 416, bad
    path = cloud.app.images.image_dir / image["id"]
    assert path.read_bytes() == DATA
    assert api("DELETE", f"/images/{image['id']}", demo_token).status_code == 204
    assert not path.exists()


def test_upload_needs_formats_and_qcow2_virtual_size(api, demo_token):
    bare = api("POST", "/images", demo_token, json={"name": "noformat"}).json
    resp = api("PUT", f"/images/{bare['id']}/file", demo_token, body=b"x", headers=OCTET)
    assert resp.status_code == 400 and "disk_format" in resp.json["message"]
    assert api("GET", f"/images/{bare['id']}", demo_token).json["status"] == "queued"
    from overcast.core.image.seed import payload
    qcow = _create(api, demo_token, disk_format="qcow2")
    api("PUT", f"/images/{qcow['id']}/file", demo_token, body=payload(), headers=OCTET)
    assert api("GET", f"/images/{qcow['id']}", demo_token).json["virtual_size"] == 117440512


def test_stage_and_glance_direct_import(api, demo_token):
    image = _create(api, demo_token)
    url = f"/images/{image['id']}"
    early = api("POST", f"{url}/import", demo_token, json={"method": {"name": "glance-direct"}})
    assert early.status_code == 409
    assert api("PUT", f"{url}/stage", demo_token, body=DATA, headers=OCTET).status_code == 204
    assert api("GET", url, demo_token).json["status"] == "uploading"
    assert api("PUT", f"{url}/stage", demo_token, body=DATA, headers=OCTET).status_code == 409
    assert api("POST", f"{url}/import", demo_token, json={"method": {"name": "nope"}}).status_code == 400
    resp = api("POST", f"{url}/import", demo_token, json={"method": {"name": "glance-direct"}},
               headers={"X-OpenStack-Request-ID": "req-11111111-2222-3333-4444-555555555555"})
    assert resp.status_code == 202
    done = _wait(api, demo_token, image["id"], "active")
    assert done["size"] == len(DATA) and done["checksum"] == hashlib.md5(DATA).hexdigest()
    assert api("GET", f"{url}/file", demo_token).content == DATA
    tasks = api("GET", f"{url}/tasks", demo_token).json["tasks"]
    deadline = time.monotonic() + 10
    while tasks[0]["status"] != "success" and time.monotonic() < deadline:
        time.sleep(0.05)
        tasks = api("GET", f"{url}/tasks", demo_token).json["tasks"]
    assert tasks[0]["status"] == "success" and tasks[0]["request_id"] == "req-11111111-2222-3333-4444-555555555555"
    assert tasks[0]["input"]["import_req"]["method"]["name"] == "glance-direct"


def test_web_download_import(api, demo_token, web, allow_any_port):
    web.files["/disk.img"] = DATA
    image = _create(api, demo_token)
    url = f"/images/{image['id']}/import"
    body = {"method": {"name": "web-download", "uri": f"{web.url}/disk.img"}}
    refused = api("POST", url, demo_token, json=body)  # the default allows ports 80 and 443 only
    assert refused.status_code == 400 and "does not pass filtering" in refused.json["message"]
    allow_any_port()
    assert api("POST", url, demo_token, json={"method": {"name": "web-download", "uri": "file:///etc/passwd"}}
               ).status_code == 400
    assert api("POST", url, demo_token, json=body).status_code == 202
    assert _wait(api, demo_token, image["id"], "active")["size"] == len(DATA)
    assert api("GET", f"/images/{image['id']}/file", demo_token).content == DATA
    broken = _create(api, demo_token)
    api("POST", f"/images/{broken['id']}/import", demo_token,
        json={"method": {"name": "web-download", "uri": f"{web.url}/missing"}})
    failed = _wait(api, demo_token, broken["id"], "queued")
    deadline = time.monotonic() + 10
    while "os_glance_failed_import" not in failed and time.monotonic() < deadline:
        failed = api("GET", f"/images/{broken['id']}", demo_token).json
    assert failed["os_glance_failed_import"] == "file"


def test_s3_store_behind_the_api(api, demo_token, cloud, monkeypatch):
    moto = pytest.importorskip("moto")
    for name, value in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    with moto.mock_aws():
        s3 = S3Store("glance", create_bucket=True)
        monkeypatch.setattr(cloud.app.images, "data", s3)
        image = _create(api, demo_token)
        api("PUT", f"/images/{image['id']}/file", demo_token, body=DATA, headers=OCTET)
        shown = api("GET", f"/images/{image['id']}", demo_token).json
        assert shown["status"] == "active" and shown["stores"] == "s3"
        assert s3.size(image["id"]) == len(DATA)
        assert api("GET", f"/images/{image['id']}/file", demo_token).content == DATA
        assert api("GET", f"/images/{image['id']}/file", demo_token, headers={"Range": "bytes=0-3"}
                   ).content == DATA[:4]
        # the seeded cirros still reads from the filesystem store
        from overcast.core.image.seed import CIRROS_ID, payload
        assert api("GET", f"/images/{CIRROS_ID}/file", demo_token).content == payload()
        api("DELETE", f"/images/{image['id']}", demo_token)
        assert not s3.exists(image["id"])
