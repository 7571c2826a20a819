"""os-volume_upload_image: a volume's bytes into a new Glance image, through a worker."""

from __future__ import annotations

import hashlib
import time

from overcast.core.image.seed import CIRROS_ID
from overcast.drivers.errors import DriverError
from overcast.drivers.local.volume import LocalVolumeDriver
from overcast.drivers.volume import Capability

UPLOAD = "os-volume_upload_image"
KEYS = {"id", "updated_at", "status", "display_description", "size", "volume_type", "image_id", "container_format",
        "disk_format", "image_name", "visibility", "protected"}


def _image(cinder, image_id: str, status: str | None = "active", timeout: float = 15.0) -> dict:
    """The image once it has ``status`` (``None``: once it is gone)."""
    deadline = time.monotonic() + timeout
    while True:
        resp = cinder.cloud.request("GET", f"/image/v2/images/{image_id}", cinder.token)
        if (resp.status_code == 404 and status is None) or (resp.status_code == 200 and resp.json["status"] == status):
            return resp.json
        assert time.monotonic() < deadline, f"image {image_id}: {resp.status_code} {resp.text}"
        time.sleep(0.02)


def _file(cinder, image_id: str) -> bytes:
    return cinder.cloud.request("GET", f"/image/v2/images/{image_id}/file", cinder.token).content


def _image_count(cinder) -> int:
    return len(cinder.cloud.request("GET", "/image/v2/images", cinder.token).json["images"])


def test_a_volume_from_cirros_uploads_as_cirros(cinder):
    vol = cinder.create(imageRef=CIRROS_ID, name="boot")
    cinder.action(vol["id"], {"os-set_image_metadata": {"metadata": {"kernel_id": "k", "os_glance_x": "no"}}})
    resp = cinder.action(vol["id"], {UPLOAD: {"image_name": "from-volume"}})
    assert resp.status_code == 202, resp.text
    answer = resp.json[UPLOAD]
    assert set(answer) == KEYS
    assert (answer["id"], answer["status"], answer["size"], answer["image_name"]) == (vol["id"], "uploading", 1,
                                                                                     "from-volume")
    assert (answer["disk_format"], answer["container_format"], answer["protected"]) == ("raw", "bare", False)
    assert answer["visibility"] == "shared"  # before 3.1 Cinder names none: Glance's default
    assert answer["volume_type"]["name"] == vol["volume_type"] and "extra_specs" not in answer["volume_type"]
    image = _image(cinder, answer["image_id"])
    cinder.wait(vol["id"], "available")
    source = _image(cinder, CIRROS_ID)
    data = _file(cinder, image["id"])
    assert data == _file(cinder, CIRROS_ID) and len(data) == image["size"] == source["size"] > 0
    assert image["checksum"] == source["checksum"] == hashlib.md5(data).hexdigest()
    assert image["os_hash_value"] == source["os_hash_value"] == hashlib.sha512(data).hexdigest()
    assert image["owner"] == cinder.project_id and image["name"] == "from-volume"
    assert image["kernel_id"] == "k" and "os_glance_x" not in image and "image_id" not in image


def test_formats_visibility_and_a_blank_volume(cinder, admin_cinder):
    vol = cinder.create()
    body = {"image_name": "blank", "disk_format": "qcow2", "container_format": "ovf", "visibility": "private",
            "protected": "true"}
    assert cinder.action(vol["id"], {UPLOAD: body}).status_code == 400  # visibility, protected: 3.1 and later
    answer = cinder.action(vol["id"], {UPLOAD: body}, version="3.1").json[UPLOAD]
    assert (answer["disk_format"], answer["container_format"], answer["visibility"], answer["protected"]) == (
        "qcow2", "ovf", "private", True)
    image = _image(cinder, answer["image_id"])
    assert image["size"] == 0 and image["checksum"] == hashlib.md5(b"").hexdigest()  # thin: nothing written
    cinder.wait(vol["id"], "available")
    public = cinder.action(vol["id"], {UPLOAD: {"image_name": "p", "visibility": "public"}}, version="3.1")
    assert public.status_code == 403
    by_admin = admin_cinder.req("POST", f"/volumes/{vol['id']}/action", "3.1", json={
        UPLOAD: {"image_name": "p", "visibility": "public"}})
    assert by_admin.status_code == 202, by_admin.text
    assert "extra_specs" in by_admin.json[UPLOAD]["volume_type"]
    shown = _image(admin_cinder, by_admin.json[UPLOAD]["image_id"])
    assert shown["visibility"] == "public" and shown["owner"] == cinder.project_id  # the volume's project


def test_in_use_needs_force(cinder, admin_cinder):
    vol = cinder.create()
    server = "11111111-2222-3333-4444-555555555555"
    cinder.action(vol["id"], {"os-reserve": None})
    cinder.action(vol["id"], {"os-attach": {"instance_uuid": server, "mountpoint": "/dev/vdb"}})
    cinder.wait(vol["id"], "in-use")
    before = _image_count(cinder)
    refused = cinder.action(vol["id"], {UPLOAD: {"image_name": "x"}})
    assert refused.status_code == 400
    assert refused.json["badRequest"]["message"] == f"Invalid volume: Volume {vol['id']} status must be available"
    assert _image_count(cinder) == before
    forced = cinder.action(vol["id"], {UPLOAD: {"image_name": "x", "force": "True"}})
    assert forced.status_code == 202, forced.text
    _image(cinder, forced.json[UPLOAD]["image_id"])
    assert cinder.wait(vol["id"], "in-use")["attachments"][0]["server_id"] == server
    admin_cinder.action(vol["id"], {"os-reset_status": {"status": "error"}})  # not even force uploads it
    busy = cinder.action(vol["id"], {UPLOAD: {"image_name": "x", "force": True}})
    assert busy.json["badRequest"]["message"] == (f"Invalid volume: Volume {vol['id']} status must be available or "
                                                  "in-use")


def test_bad_bodies_and_other_projects(cinder):
    vol = cinder.create()
    before = _image_count(cinder)
    for body, field in (({}, "image_name"), ({"image_name": ""}, "image_name"),
                        ({"image_name": "x", "disk_format": "iso"}, "disk_format"),
                        ({"image_name": "x", "force": "maybe"}, "force"),
                        ({"image_name": "x", "bogus": 1}, "bogus")):
        resp = cinder.action(vol["id"], {UPLOAD: body})
        assert resp.status_code == 400 and field in resp.json["badRequest"]["message"], (body, resp.text)
    alt = cinder.cloud.token("alt_demo", "alt_demo")
    assert cinder.action(vol["id"], {UPLOAD: {"image_name": "x"}}, token=alt).status_code == 404
    assert _image_count(cinder) == before
    assert cinder.req("GET", f"/volumes/{vol['id']}").json["volume"]["status"] == "available"


def test_a_failed_read_deletes_the_image_and_gives_the_volume_back(cinder, monkeypatch):
    vol = cinder.create(imageRef=CIRROS_ID)

    def broken(self, backend_id):  # noqa: ANN001, ANN202 - fails half-way, as a backend can
        yield b"first chunk"
        raise DriverError("injected read failure")

    monkeypatch.setattr(LocalVolumeDriver, "read", broken)
    resp = cinder.action(vol["id"], {UPLOAD: {"image_name": "doomed"}})
    assert resp.status_code == 202
    _image(cinder, resp.json[UPLOAD]["image_id"], status=None)
    cinder.wait(vol["id"], "available")
    messages = cinder.req("GET", f"/messages?resource_uuid={vol['id']}", "3.3").json["messages"]
    assert [m["event_id"] for m in messages] == ["VOLUME_VOLUME_003_004"]
    assert messages[0]["user_message"] == "copy volume to image:Failed to upload volume to image at backend."


def test_a_driver_that_cannot_read_volumes_is_answered_501(cinder, monkeypatch):
    vol = cinder.create()
    monkeypatch.setattr(LocalVolumeDriver, "capabilities", frozenset(Capability) - {Capability.UPLOAD})
    before = _image_count(cinder)
    resp = cinder.action(vol["id"], {UPLOAD: {"image_name": "x"}})
    assert resp.status_code == 501
    assert resp.json["notImplemented"]["message"] == "The requested functionality is not supported."
    assert _image_count(cinder) == before
    assert cinder.req("GET", f"/volumes/{vol['id']}").json["volume"]["status"] == "available"
