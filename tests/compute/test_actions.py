"""Server actions: allowed states (409 otherwise), task_state at once, vm_state after the driver."""

from __future__ import annotations

import time

import pytest

from overcast.drivers.context import CallContext
from overcast.store.image import Image, ImageLocation
from tests.compute.conftest import OTHER_IMAGE_ID, check, new_uuid


@pytest.fixture
def active(nova):
    return nova.create("act").json["server"]["id"]


def test_stop_start_reboot(nova, active):
    resp = nova.action(active, {"os-stop": None})
    assert resp.status_code == 202, resp.text
    server = nova.wait(active, "SHUTOFF")
    assert server["OS-EXT-STS:power_state"] == 4
    resp = nova.action(active, {"reboot": {"type": "SOFT"}})
    assert resp.status_code == 409
    assert resp.json["conflictingRequest"]["message"] == (
        f"Cannot 'reboot' instance {active} while it is in vm_state stopped")
    assert nova.action(active, {"os-stop": None}).status_code == 409
    assert nova.action(active, {"os-start": None}).status_code == 202
    nova.wait(active, "ACTIVE")
    check(nova.action(active, {"reboot": {"type": "HARD"}}), "server_actions_common_schema", "2.1")
    nova.wait(active, "ACTIVE")
    assert nova.action(active, {"reboot": {"type": "bogus"}}).status_code == 400
    events = nova.req("GET", f"/servers/{active}/os-instance-actions").json["instanceActions"]
    assert [e["action"] for e in events] == ["reboot", "start", "stop", "create"]


def test_task_state_set_at_once(nova, active, ops):
    ops.stop()  # nothing finishes the operation: the task_state stays
    assert nova.action(active, {"pause": None}).status_code == 202
    server = nova.req("GET", f"/servers/{active}").json["server"]
    assert server["OS-EXT-STS:task_state"] == "pausing" and server["status"] == "ACTIVE"
    resp = nova.action(active, {"suspend": None})
    assert resp.status_code == 409 and "task_state pausing" in resp.json["conflictingRequest"]["message"]
    ops.start(reconcile=False)
    nova.wait(active, "PAUSED")


def test_pause_suspend_cycle(nova, active):
    nova.action(active, {"pause": None})
    nova.wait(active, "PAUSED")
    assert nova.action(active, {"pause": None}).status_code == 409
    nova.action(active, {"unpause": None})
    nova.wait(active, "ACTIVE")
    nova.action(active, {"suspend": None})
    nova.wait(active, "SUSPENDED")
    nova.action(active, {"resume": None})
    nova.wait(active, "ACTIVE")


def test_resize_confirm_and_revert(nova, active):
    resp = nova.action(active, {"resize": {"flavorRef": "1"}})
    assert resp.status_code == 400  # same flavor
    assert nova.action(active, {"resize": {"flavorRef": "nope"}}).status_code == 400
    assert nova.action(active, {"resize": {"flavorRef": "2"}}).status_code == 202
    server = nova.wait(active, "VERIFY_RESIZE")
    assert server["flavor"]["id"] == "2"
    assert nova.action(active, {"confirmResize": None}).status_code == 204
    server = nova.wait(active, "ACTIVE")
    assert server["flavor"]["id"] == "2"
    nova.action(active, {"resize": {"flavorRef": "3"}})
    nova.wait(active, "VERIFY_RESIZE")
    nova.action(active, {"revertResize": None})
    server = nova.wait(active, "ACTIVE")
    assert server["flavor"]["id"] == "2"
    assert nova.action(active, {"confirmResize": None}).status_code == 409


@pytest.mark.parametrize("version", ["2.1", "2.26", "2.54", "2.57", "2.75", "2.90"])
def test_rebuild(nova, active, version):
    resp = nova.action(active, {"rebuild": {"imageRef": OTHER_IMAGE_ID, "name": "rebuilt",
                                            "metadata": {"a": "b"}}}, version)
    assert resp.status_code == 202, resp.text
    check(resp, "rebuild_server_with_admin_pass", version)
    assert resp.json["server"]["adminPass"]
    server = nova.wait(active, "ACTIVE")
    assert server["image"]["id"] == OTHER_IMAGE_ID and server["name"] == "rebuilt"
    assert nova.action(active, {"rebuild": {"imageRef": "bad"}}).status_code == 400


def test_create_image(nova, active, compute):
    resp = nova.action(active, {"createImage": {"name": "snap", "metadata": {"purpose": "test"}}})
    assert resp.status_code == 202 and "/image/v2/images/" in resp.headers["Location"]
    image_id = resp.headers["Location"].rsplit("/", 1)[-1]
    nova.wait(active, "ACTIVE")
    resp = nova.action(active, {"createImage": {"name": "snap2"}}, "2.45")
    assert resp.status_code == 202 and set(resp.json) == {"image_id"}
    nova.wait(active, "ACTIVE")
    with compute.app.compute.store.session() as session:
        image = session.get(Image, image_id)
        assert image.status == "active" and image.properties["instance_uuid"] == active
        assert image.properties["purpose"] == "test" and image.size > 0
        assert image.cloud == "RegionOne"  # the backend keeps the data: the image is its region's
        location = session.get(ImageLocation, (image_id, "RegionOne"))
    driver = compute.app.compute.compute_driver("RegionOne")
    assert len(driver.image_data(CallContext(), location.backend_id)) == image.size
    assert not (compute.app.compute.settings.data_dir / "images" / image_id).exists()
    # deleting the image deletes the backend's copy too (an image.delete_backend operation)
    assert nova.req("DELETE", f"/images/{image_id}").status_code == 204
    deadline = time.monotonic() + 10
    while location.backend_id in {i.backend_id for i in driver.images(CallContext())}:
        assert time.monotonic() < deadline, "the backend still holds the deleted image"
        time.sleep(0.02)


def test_create_image_metadata_wins_over_novas_properties(nova, active):
    """The request's metadata has the last word on the image's properties, ``image_type`` too (Nova)."""
    resp = nova.action(active, {"createImage": {"name": "typed", "metadata": {"image_type": "test"}}}, "2.45")
    assert resp.status_code == 202, resp.text
    nova.wait(active, "ACTIVE")
    image = nova.req("GET", f"/images/{resp.json['image_id']}").json["image"]
    assert image["metadata"]["image_type"] == "test" and image["metadata"]["instance_uuid"] == active
    backup = nova.action(active, {"createBackup": {"name": "bk", "backup_type": "daily", "rotation": 1,
                                                   "metadata": {"backup_type": "mine"}}}, "2.45")
    nova.wait(active, "ACTIVE")
    properties = nova.req("GET", f"/images/{backup.json['image_id']}").json["image"]["metadata"]
    assert properties["image_type"] == "backup" and properties["backup_type"] == "daily"


def test_inject_network_info_refreshes_the_addresses(nova, admin_nova, active, compute):
    """Nova's libvirt driver does nothing with the injected info; what is left is the refresh of
    the network info cache, here the server's addresses."""
    from overcast.store.compute import Server

    shown = nova.req("GET", f"/servers/{active}").json["server"]["addresses"]
    assert shown
    with compute.app.compute.store.session() as session:
        session.query(Server).filter(Server.id == active).one().addresses = {}
    assert nova.action(active, {"injectNetworkInfo": None}).status_code == 403  # admin only
    resp = admin_nova.action(active, {"injectNetworkInfo": None})
    assert resp.status_code == 202 and not resp.text
    assert nova.req("GET", f"/servers/{active}").json["server"]["addresses"] == shown
    assert admin_nova.action(new_uuid(), {"injectNetworkInfo": None}).status_code == 404


def test_console_password_rescue(nova, active):
    resp = nova.action(active, {"os-getConsoleOutput": {"length": 5}})
    assert resp.status_code == 200 and isinstance(resp.json["output"], str)
    assert len(resp.json["output"].splitlines()) <= 5
    tail = nova.action(active, {"os-getConsoleOutput": {"length": 3}}).json["output"]
    assert len(tail.split("\n")) == 3  # Nova's tail: the "" after a final newline is one of the lines
    assert nova.action(active, {"changePassword": {"adminPass": "s3cret"}}).status_code == 202
    nova.wait(active, "ACTIVE")
    resp = nova.action(active, {"rescue": {"adminPass": "pw"}})
    assert resp.status_code == 200 and resp.json == {"adminPass": "pw"}
    check(resp, "rescue_server_with_admin_pass", "2.1")
    nova.wait(active, "RESCUE")
    assert nova.action(active, {"unrescue": None}).status_code == 202
    nova.wait(active, "ACTIVE")


def test_rescue_boots_the_rescue_image_given(nova, active):
    """``rescue_image_ref`` reaches the driver (the local cloud's console names the image it booted);
    an image that does not exist fails the rescue in the operation, as Nova's compute does."""
    resp = nova.action(active, {"rescue": {"rescue_image_ref": OTHER_IMAGE_ID}})
    assert resp.status_code == 200, resp.text
    nova.wait(active, "RESCUE")
    output = nova.action(active, {"os-getConsoleOutput": {}}).json["output"]
    assert "booting rescue image cirros-2" in output
    assert nova.action(active, {"unrescue": None}).status_code == 202
    nova.wait(active, "ACTIVE")
    missing = new_uuid()
    assert nova.action(active, {"rescue": {"rescue_image_ref": missing}}).status_code == 200
    deadline = time.monotonic() + 15
    while (shown := nova.req("GET", f"/servers/{active}").json["server"])["OS-EXT-STS:task_state"] is not None:
        assert time.monotonic() < deadline, shown
        time.sleep(0.02)
    assert shown["status"] == "ACTIVE"
    actions = nova.req("GET", f"/servers/{active}/os-instance-actions").json["instanceActions"]
    assert actions[0]["action"] == "rescue"


def test_shelve_unshelve(nova, active):
    """Shelve saves the server to the image ``<name>-shelved``; unshelve deletes it (Nova's way)."""
    name = nova.req("GET", f"/servers/{active}").json["server"]["name"]
    assert nova.action(active, {"shelve": None}).status_code == 202
    nova.wait(active, "SHELVED_OFFLOADED")
    [image] = nova.cloud.request("GET", f"/image/v2/images?name={name}-shelved", nova.token).json["images"]
    assert image["status"] == "active" and image["size"] > 0 and image["visibility"] == "private"
    assert nova.action(active, {"os-start": None}).status_code == 409
    assert nova.action(active, {"unshelve": None}).status_code == 202
    nova.wait(active, "ACTIVE")
    assert nova.cloud.request("GET", f"/image/v2/images/{image['id']}", nova.token).status_code == 404


def test_lock(nova, admin_nova, active):
    resp = nova.action(active, {"lock": {"locked_reason": "maintenance"}}, "2.73")
    assert resp.status_code == 202
    server = nova.req("GET", f"/servers/{active}", "2.73").json["server"]
    assert server["locked"] is True and server["locked_reason"] == "maintenance"
    check(nova.req("GET", f"/servers/{active}", "2.73"), "get_server", "2.73")
    resp = nova.action(active, {"reboot": {"type": "SOFT"}})
    assert resp.status_code == 409 and resp.json["conflictingRequest"]["message"] == f"Instance {active} is locked"
    assert nova.req("DELETE", f"/servers/{active}").status_code == 409
    assert admin_nova.action(active, {"reboot": {"type": "SOFT"}}).status_code == 202
    nova.wait(active, "ACTIVE")
    assert nova.action(active, {"unlock": None}).status_code == 202
    assert nova.req("GET", f"/servers/{active}", "2.9").json["server"]["locked"] is False


def test_security_groups_reset_state_and_force_delete(nova, admin_nova, active, net):
    from tempest.lib.api_schema.response.compute.v2_1 import security_groups as schema

    missing = nova.action(active, {"addSecurityGroup": {"name": "web"}})
    assert missing.status_code == 404 and missing.json["itemNotFound"]["message"] == "Security group web not found."
    web = net.make(nova.token, "security-groups", "security_group", name="web")
    assert nova.action(active, {"addSecurityGroup": {"name": "web"}}).status_code == 202
    assert nova.action(active, {"addSecurityGroup": {"name": "web"}}).status_code == 202  # already there: no-op
    listed = nova.req("GET", f"/servers/{active}/os-security-groups")
    check(listed, "list_security_groups", module=schema)
    assert sorted(g["name"] for g in listed.json["security_groups"]) == ["default", "web"]
    [port] = net("GET", f"/ports?device_id={active}", nova.token)[1]["ports"]
    assert web["id"] in port["security_groups"]
    assert sorted(g["name"] for g in nova.req("GET", f"/servers/{active}").json["server"]["security_groups"]) == [
        "default", "web"]
    in_use = net("DELETE", f"/security-groups/{web['id']}", nova.token)
    assert in_use[0] == 409 and in_use[1]["NeutronError"]["type"] == "SecurityGroupInUse"
    assert nova.action(active, {"removeSecurityGroup": {"name": "web"}}).status_code == 202
    again = nova.action(active, {"removeSecurityGroup": {"name": "web"}})
    assert again.status_code == 400 and "not associated with the instance" in again.json["badRequest"]["message"]
    assert web["id"] not in net("GET", f"/ports/{port['id']}", nova.token)[1]["port"]["security_groups"]
    assert nova.action(active, {"os-resetState": {"state": "error"}}).status_code == 403
    assert admin_nova.action(active, {"os-resetState": {"state": "error"}}).status_code == 202
    assert nova.req("GET", f"/servers/{active}").json["server"]["status"] == "ERROR"
    assert nova.action(active, {"pause": None}).status_code == 409
    assert nova.action(active, {"forceDelete": None}).status_code == 202
    nova.wait(active, "GONE")


def test_bad_actions(nova, active, compute, admin_token):
    from tests.compute.conftest import Nova

    assert nova.action(active, {"explode": None}).status_code == 400
    assert nova.action(active, {}).status_code == 400
    assert nova.req("POST", f"/servers/{active}/action", body="nope").status_code == 400
    other = Nova(compute, admin_token)
    assert other.action("00000000-0000-0000-0000-000000000000", {"pause": None}).status_code == 404


def test_unsupported_capability_is_501(nova, active, compute, monkeypatch):
    driver = compute.app.compute.compute_driver("RegionOne")
    from overcast.drivers.compute import Capability

    monkeypatch.setattr(type(driver), "capabilities", frozenset(driver.capabilities - {Capability.PAUSE}))
    resp = nova.action(active, {"pause": None})
    assert resp.status_code == 501
    assert resp.json["notImplemented"]["message"] == "The requested functionality is not supported."
    assert nova.req("GET", f"/servers/{active}").json["server"]["OS-EXT-STS:task_state"] is None


def test_migrate_and_restore_answers(nova, admin_nova, active):
    missing = new_uuid()
    assert admin_nova.action(missing, {"migrate": None}).status_code == 404
    assert nova.action(active, {"migrate": None}).status_code == 403  # admin only
    resp = admin_nova.action(active, {"migrate": None})
    assert resp.status_code == 501  # no driver moves servers between hosts
    assert admin_nova.action(active, {"migrate": {"host": "h"}}, "2.56").status_code == 501
    assert admin_nova.action(active, {"migrate": {"host": "h", "x": 1}}, "2.56").status_code == 400
    resp = nova.action(active, {"restore": None})
    assert resp.status_code == 409
    assert resp.json["conflictingRequest"]["message"] == \
        f"Cannot 'restore' instance {active} while it is in vm_state active"
    assert nova.wait(active, "ACTIVE")["OS-EXT-STS:task_state"] is None


def test_create_backup_keeps_the_newest_rotation(nova, active):
    """createBackup makes ``image_type=backup`` images; past ``rotation`` the oldest go."""
    made = []
    for n in range(3):
        resp = nova.action(active, {"createBackup": {"name": f"bk-{n}", "backup_type": "daily", "rotation": 2}},
                           "2.45")
        assert resp.status_code == 202, resp.text
        made.append(resp.json["image_id"])
        nova.wait(active, "ACTIVE")
    images = nova.cloud.request("GET", f"/image/v2/images?instance_uuid={active}&image_type=backup"
                                       "&sort_key=created_at&sort_dir=asc", nova.token).json["images"]
    assert [i["name"] for i in images] == ["bk-1", "bk-2"] and all(i["status"] == "active" for i in images)
    assert images[0]["backup_type"] == "daily"
    assert nova.cloud.request("GET", f"/image/v2/images/{made[0]}", nova.token).status_code == 404
    old = nova.action(active, {"createBackup": {"name": "bk-x", "backup_type": "weekly", "rotation": "1"}})
    assert old.status_code == 202 and "/image/v2/images/" in old.headers["Location"]  # before 2.45: a Location
    assert nova.cloud.request("GET", f"/image/v2/images/{old.headers['Location'].rsplit('/', 1)[-1]}",
                              nova.token).status_code == 200
    nova.wait(active, "ACTIVE")
    bad = nova.action(active, {"createBackup": {"name": "bk", "backup_type": "daily", "rotation": -1}})
    assert bad.status_code == 400
    missing = nova.action(active, {"createBackup": {"name": "bk", "rotation": 1}})
    assert missing.status_code == 400


def test_create_image_a_backend_saves_asynchronously(nova, active, compute, monkeypatch):
    """Decision 0056: a snapshot the backend returns ``saving`` (an upstream Glance) is polled
    through ``get_image`` by the operation; the image shows ``saving`` meanwhile, its location is
    recorded at once, and it goes active only when the backend says so. A shelve waits for it
    before the backend is asked to shelve."""
    import dataclasses
    import threading

    driver = compute.app.compute.compute_driver("RegionOne")
    saved = threading.Event()
    shelved: list[str] = []
    snapshot, shelve = driver.snapshot, driver.shelve

    def saving(ctx, backend_id, image_name):
        return dataclasses.replace(snapshot(ctx, backend_id, image_name), status="saving")

    def get_image(ctx, backend_image_id):
        made = next(i for i in driver.images(ctx) if i.backend_id == backend_image_id)
        return ImageRef(backend_id=made.backend_id, size=made.size, status="active" if saved.is_set() else "saving")

    def recorded_shelve(ctx, backend_id):
        shelved.append(backend_id)
        shelve(ctx, backend_id)

    from overcast.drivers.compute import ImageRef

    monkeypatch.setattr(driver, "snapshot", saving)
    monkeypatch.setattr(driver, "get_image", get_image)
    monkeypatch.setattr(driver, "shelve", recorded_shelve)
    resp = nova.action(active, {"createImage": {"name": "slow"}}, "2.45")
    image_id = resp.json["image_id"]

    def image() -> tuple[str, str | None]:
        with compute.app.compute.store.session() as session:
            location = session.get(ImageLocation, (image_id, "RegionOne"))
            return session.get(Image, image_id).status, location.backend_id if location else None

    deadline = time.monotonic() + 20
    while image()[0] != "saving":
        assert time.monotonic() < deadline, f"the image never showed saving: {image()}"
        time.sleep(0.02)
    assert image()[1], "the location is recorded while the backend saves"
    server = nova.req("GET", f"/servers/{active}").json["server"]
    assert server["OS-EXT-STS:task_state"] is not None  # the operation still runs
    saved.set()
    nova.wait(active, "ACTIVE")
    deadline = time.monotonic() + 20
    while image()[0] != "active":
        assert time.monotonic() < deadline, f"the image never went active: {image()}"
        time.sleep(0.02)

    saved.clear()
    assert nova.action(active, {"shelve": None}).status_code == 202
    deadline = time.monotonic() + 20
    shelved_image = None
    while shelved_image is None:
        assert time.monotonic() < deadline, "no shelved image"
        with compute.app.compute.store.session() as session:
            shelved_image = next((i.id for i in session.query(Image).filter(Image.name == "act-shelved",
                                                                             Image.status == "saving")), None)
        time.sleep(0.02)
    assert shelved == []  # the backend is not asked to shelve while it still saves the snapshot
    saved.set()
    nova.wait(active, "SHELVED_OFFLOADED")
    assert len(shelved) == 1
