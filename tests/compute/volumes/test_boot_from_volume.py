"""Boot from volume (``block_device_mapping_v2``): a root volume made from an image or a snapshot
by the build operation, an existing bootable volume reserved in the request, extra volumes; Nova's
faults in the request with nothing left half made; what a server delete does to the volumes."""

from __future__ import annotations

import uuid

import pytest

from overcast.core.compute.block_devices import BOOT_SEQUENCE
from overcast.drivers.context import CallContext
from overcast.drivers.volume import Capability as VolumeCapability
from overcast.store.image import Image
from tests.compute.conftest import IMAGE_ID, check
from tests.compute.volumes.conftest import backend_devices, fault

ATTACHMENTS = "/servers/{}/os-volume_attachments"


def boot(nova, *bdms: dict, version: str | None = None, wait: str | None = "ACTIVE", **server):  # noqa: ANN001, ANN201
    body = {"name": "bfv", "flavorRef": "1", "block_device_mapping_v2": list(bdms), **server}
    resp = nova.req("POST", "/servers", version, json={"server": body})
    if wait and resp.status_code == 202:
        nova.wait(resp.json["server"]["id"], wait)
    return resp


def from_image(size: int | None = 1, **extra) -> dict:  # noqa: ANN003
    bdm = {"uuid": IMAGE_ID, "source_type": "image", "destination_type": "volume", "boot_index": 0, **extra}
    if size is not None:
        bdm["volume_size"] = size
    return bdm


def from_volume(volume_id: str, boot_index: int | None = 0, **extra) -> dict:  # noqa: ANN003
    return {"uuid": volume_id, "source_type": "volume", "destination_type": "volume", "boot_index": boot_index,
            **extra}


def root_volume(nova, server_id: str) -> dict:  # noqa: ANN001
    [item] = nova.req("GET", ATTACHMENTS.format(server_id), "2.79").json["volumeAttachments"]
    assert item["device"] == "/dev/vda"
    return item


@pytest.fixture
def bootable(cinder):  # noqa: ANN001, ANN201
    """A volume made from the cirros image (bootable, available)."""
    return cinder.create(imageRef=IMAGE_ID)


def add_image(nova, **attrs) -> str:  # noqa: ANN001, ANN003
    image_id = str(uuid.uuid4())
    with nova.cloud.app.compute.store.session() as session:
        session.add(Image(id=image_id, name="big", status="active", visibility="public", disk_format="qcow2",
                          container_format="bare", **attrs))
    return image_id


def test_boot_from_image_made_volume(nova, admin_nova, cinder):
    resp = boot(nova, from_image(delete_on_termination=True), wait=None)
    assert resp.status_code == 202, resp.text
    check(resp, "create_server_with_admin_pass")
    sid = resp.json["server"]["id"]
    server = nova.wait(sid, "ACTIVE")
    assert server["image"] == ""
    for version in ("2.1", "2.79"):
        check(admin_nova.req("GET", f"/servers/{sid}", version), "get_server", version)
    root = root_volume(nova, sid)
    assert root["delete_on_termination"] is True
    assert server["os-extended-volumes:volumes_attached"] == [{"id": root["volumeId"]}]
    volume = cinder.req("GET", f"/volumes/{root['volumeId']}").json["volume"]
    assert volume["status"] == "in-use" and volume["size"] == 1 and volume["bootable"] == "true"
    assert volume["volume_image_metadata"]["image_id"] == IMAGE_ID
    assert [(a["server_id"], a["device"]) for a in volume["attachments"]] == [(sid, "/dev/vda")]
    assert backend_devices(nova, sid) == {root["volumeId"]: "/dev/vda"}
    assert fault(nova.req("DELETE", ATTACHMENTS.format(sid) + f"/{root['volumeId']}"), 400) == \
        "Cannot detach a root device volume"
    assert nova.req("GET", f"/servers/detail?image={IMAGE_ID}").json["servers"] == []
    assert nova.req("DELETE", f"/servers/{sid}").status_code == 204
    nova.wait(sid, "GONE")
    cinder.wait(root["volumeId"], "deleted")


def test_boot_from_existing_volume(nova, cinder, bootable):
    resp = boot(nova, from_volume(bootable["id"]), wait=None)
    assert resp.status_code == 202, resp.text
    sid = resp.json["server"]["id"]
    assert cinder.req("GET", f"/volumes/{bootable['id']}").json["volume"]["status"] in ("reserved", "attaching",
                                                                                        "in-use")
    again = boot(nova, from_volume(bootable["id"]), wait=None)
    message = fault(again, 400)
    assert message.startswith("Invalid volume: Invalid input received: Invalid volume: ")
    nova.wait(sid, "ACTIVE")
    assert root_volume(nova, sid)["volumeId"] == bootable["id"]
    assert cinder.wait(bootable["id"], "in-use")["attachments"][0]["device"] == "/dev/vda"
    assert nova.req("DELETE", f"/servers/{sid}").status_code == 204
    nova.wait(sid, "GONE")
    assert cinder.wait(bootable["id"], "available")["attachments"] == []  # not delete_on_termination


def test_boot_from_snapshot(nova, cinder, bootable):
    snapshot = cinder.req("POST", "/snapshots", json={"snapshot": {"volume_id": bootable["id"]}}).json["snapshot"]
    cinder.wait(snapshot["id"], "available", collection="snapshots")
    resp = boot(nova, {"uuid": snapshot["id"], "source_type": "snapshot", "destination_type": "volume",
                       "boot_index": "0", "delete_on_termination": "true"})
    sid = resp.json["server"]["id"]
    root = root_volume(nova, sid)
    volume = cinder.req("GET", f"/volumes/{root['volumeId']}").json["volume"]
    assert volume["snapshot_id"] == snapshot["id"] and volume["size"] == bootable["size"]
    assert volume["bootable"] == "true" and volume["status"] == "in-use"
    nova.req("DELETE", f"/servers/{sid}")
    cinder.wait(root["volumeId"], "deleted")


def test_image_root_with_data_volumes(nova, cinder):
    data = cinder.create()["id"]
    resp = boot(nova, {"uuid": IMAGE_ID, "source_type": "image", "destination_type": "local", "boot_index": 0},
                from_volume(data, boot_index=None, device_name="vdc"),
                {"source_type": "blank", "destination_type": "volume", "volume_size": 2, "boot_index": -1},
                imageRef=IMAGE_ID)
    sid = resp.json["server"]["id"]
    server = nova.req("GET", f"/servers/{sid}").json["server"]
    assert server["image"]["id"] == IMAGE_ID
    attached = nova.req("GET", ATTACHMENTS.format(sid)).json["volumeAttachments"]
    assert [(a["volumeId"] == data, a["device"]) for a in attached] == [(True, "/dev/vdc"), (False, "/dev/vdb")]
    blank = cinder.req("GET", f"/volumes/{attached[1]['volumeId']}").json["volume"]
    assert blank["size"] == 2 and blank["name"] == f"{sid}-blank-vol" and blank["bootable"] == "false"
    assert set(backend_devices(nova, sid).values()) == {"/dev/vdb", "/dev/vdc"}


def test_request_faults_leave_nothing_behind(nova, cinder, admin_cinder, bootable):
    plain = cinder.create()["id"]
    missing = "8d9c31a1-0b7e-4bd5-bf3c-3c0bd6a0c002"
    big = add_image(nova, size=3 * 1024 ** 3)
    hungry = add_image(nova, size=1024, min_disk=5)
    theirs = admin_cinder.create(imageRef=IMAGE_ID)["id"]
    cases = [
        (from_image(size=None), "Images with destination_type 'volume' need to have a non-zero size specified"),
        (from_image(size=0), "Images with destination_type 'volume' need to have a non-zero size specified"),
        (from_volume(missing), f"Block Device Mapping is Invalid: failed to get volume {missing}."),
        (from_volume(theirs), f"Block Device Mapping is Invalid: failed to get volume {theirs}."),
        (from_volume(plain), f"Block Device {plain} is not bootable."),
        (from_image(uuid=big), "Invalid input received: Size of specified image 3GB is larger than volume size 1GB."),
        (from_image(uuid=hungry), ("Volume is smaller than the minimum size specified in image metadata. Volume "
                                   f"size is {1024 ** 3} bytes, minimum size is {5 * 1024 ** 3} bytes.")),
        ({"uuid": missing, "source_type": "snapshot", "destination_type": "volume", "boot_index": 0},
         f"Snapshot {missing} could not be found."),
        ({"source_type": "blank", "destination_type": "volume", "boot_index": 0},
         "Blank volumes (source: 'blank', dest: 'volume') need to have non-zero size"),
        (from_image(volume_type="no-such-type"), "Volume type no-such-type could not be found."),
        (from_volume(bootable["id"], boot_index=1), BOOT_SEQUENCE),
        ({"source_type": "volume", "destination_type": "volume", "boot_index": 0},
         "Block Device Mapping is Invalid: Missing device UUID."),
    ]
    for bdm, message in cases:
        assert fault(boot(nova, bdm), 400) == message, bdm
    for bad in ({**from_image(), "volume_size": "x"}, {**from_image(), "boot_index": "first"},
                {**from_image(), "delete_on_termination": "maybe"}, {**from_image(), "uuid": "a b"},
                {**from_image(), "volume_size": "99999999999"}, {**from_image(), "volume_size": 2 ** 31}):
        assert boot(nova, bad).status_code == 400
    # a second bootable volume that cannot be reserved: the whole request is undone
    taken = cinder.create(imageRef=IMAGE_ID)["id"]
    first = boot(nova, from_volume(taken))
    assert first.status_code == 202
    resp = boot(nova, from_volume(bootable["id"]), from_volume(taken, boot_index=None))
    assert fault(resp, 400).startswith("Invalid volume: Invalid input received: Invalid volume: Volume")
    shown = cinder.req("GET", f"/volumes/{bootable['id']}").json["volume"]
    assert shown["status"] == "available" and shown["attachments"] == []
    names = [s["name"] for s in nova.req("GET", "/servers").json["servers"]]
    assert names == ["bfv"]
    assert nova.req("POST", "/servers", json={"server": {"name": "x", "flavorRef": "1"}}).status_code == 400


def test_build_fails_cleanly_when_the_volume_cannot_be_made(nova, admin_nova, cinder, admin_cinder):
    quota = f"/os-quota-sets/{cinder.project_id}"
    assert admin_cinder.req("PUT", quota, json={"quota_set": {"volumes": 0}}).status_code == 200
    resp = boot(nova, from_image(delete_on_termination=True), wait="ERROR")
    sid = resp.json["server"]["id"]
    server = nova.req("GET", f"/servers/{sid}").json["server"]
    assert server["fault"]["message"].startswith(f"Build of instance {sid} aborted: ")
    assert server["os-extended-volumes:volumes_attached"] == []
    assert cinder.req("GET", "/volumes").json["volumes"] == []
    assert nova.req("DELETE", f"/servers/{sid}").status_code == 204
    nova.wait(sid, "GONE")


def test_rescue_of_a_volume_backed_server_from_2_87(nova):
    """Nova's stable device rescue: a volume-backed server is refused rescue before 2.87 (400
    InstanceNotRescuable, the server untouched) and rescued from it, with the rescue image given."""
    resp = boot(nova, from_image(delete_on_termination=True))
    assert resp.status_code == 202, resp.text
    server = resp.json["server"]["id"]
    message = fault(nova.action(server, {"rescue": {"rescue_image_ref": IMAGE_ID}}, "2.86"), 400)
    assert message == f"Instance {server} cannot be rescued: Cannot rescue a volume-backed instance"
    shown = nova.req("GET", f"/servers/{server}").json["server"]
    assert (shown["status"], shown["OS-EXT-STS:task_state"]) == ("ACTIVE", None)
    resp = nova.action(server, {"rescue": {"rescue_image_ref": IMAGE_ID}}, "2.87")
    assert resp.status_code == 200, resp.text
    nova.wait(server, "RESCUE")
    assert nova.action(server, {"unrescue": None}, "2.87").status_code == 202
    nova.wait(server, "ACTIVE")


def test_rebuild_of_a_volume_backed_server_before_2_93(nova, cinder):
    """Nova before 2.93: a volume-backed server rebuilds only with the image its root volume was
    made from (the volume's ``volume_image_metadata``); another image is a 400, nothing changed."""
    from tests.compute.conftest import OTHER_IMAGE_ID

    sid = boot(nova, from_image()).json["server"]["id"]
    for version in ("2.1", "2.92"):
        other = nova.action(sid, {"rebuild": {"imageRef": OTHER_IMAGE_ID}}, version)
        assert fault(other, 400) == (f"Image {OTHER_IMAGE_ID} is unacceptable: Unable to rebuild with a different "
                                     "image for a volume-backed server.")
    assert nova.req("GET", f"/servers/{sid}").json["server"]["status"] == "ACTIVE"
    same = nova.action(sid, {"rebuild": {"imageRef": IMAGE_ID}}, "2.92")
    assert same.status_code == 202, same.text
    assert same.json["server"]["image"] == ""  # still volume-backed: no image shown
    nova.wait(sid, "ACTIVE")
    assert nova.req("GET", f"/servers/{sid}").json["server"]["image"] == ""


def test_rebuild_of_a_volume_backed_server_reimages_its_root_volume_2_93(nova, cinder, monkeypatch):
    """2.93: the root volume is reimaged with the new image through Cinder's reimage (its
    ``volume_image_metadata`` then names it; the bytes are the image's); the server stays volume-backed."""
    from overcast.core.image import ImageCore
    from overcast.core.volume.volumes import find_volume
    from tests.compute.conftest import OTHER_IMAGE_ID

    compute = nova.cloud.app.compute
    data = b"other image bytes"
    ImageCore(settings=compute.settings, store=compute.store).data.put(OTHER_IMAGE_ID, [data])
    sid = boot(nova, from_image()).json["server"]["id"]
    volume_id = root_volume(nova, sid)["volumeId"]
    rebuilt = nova.action(sid, {"rebuild": {"imageRef": OTHER_IMAGE_ID}}, "2.93")
    assert rebuilt.status_code == 202, rebuilt.text
    assert rebuilt.json["server"]["image"] == ""
    server = nova.wait(sid, "ACTIVE")
    assert server["image"] == "" and server["os-extended-volumes:volumes_attached"] == [{"id": volume_id}]
    volume = cinder.req("GET", f"/volumes/{volume_id}").json["volume"]
    assert volume["status"] == "in-use" and volume["volume_image_metadata"]["image_id"] == OTHER_IMAGE_ID
    with compute.store.session() as session:
        backend_id = find_volume(session, volume_id).backend_id
    assert b"".join(compute.clouds["RegionOne"].volume.read(CallContext(), backend_id)) == data
    actions = nova.req("GET", f"/servers/{sid}/os-instance-actions").json["instanceActions"]
    assert actions[0]["action"] == "rebuild"
    driver = compute.clouds["RegionOne"].volume
    monkeypatch.setattr(type(driver), "capabilities", driver.capabilities - {VolumeCapability.REIMAGE})
    assert fault(nova.action(sid, {"rebuild": {"imageRef": IMAGE_ID}}, "2.93"), 501)  # no reimage in the region
    assert nova.req("GET", f"/servers/{sid}").json["server"]["status"] == "ACTIVE"
