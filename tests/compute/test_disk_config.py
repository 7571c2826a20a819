"""OS-DCF:diskConfig (Nova's DiskConfig extension): accepted on create, rebuild, resize and update,
kept with the server, shown on show, detail, create's answer and Nova's image proxy, refused by an
image whose ``auto_disk_config`` is ``disabled``; anything but AUTO or MANUAL is a 400 naming it."""

from __future__ import annotations

from overcast.store.compute import Server
from overcast.store.image import Image
from tests.compute.conftest import IMAGE_ID, OTHER_IMAGE_ID, check

DCF = "OS-DCF:diskConfig"


def _image_props(compute, image_id: str, **props: str) -> None:  # noqa: ANN001
    with compute.app.compute.store.session() as session:
        session.get(Image, image_id).properties = dict(props)


def _shown(nova, server_id: str) -> str:  # noqa: ANN001
    return nova.req("GET", f"/servers/{server_id}").json["server"][DCF]


def test_create_keeps_auto_and_shows_it_everywhere(nova, compute):
    resp = nova.create("auto", wait="ACTIVE", **{DCF: "AUTO"})
    assert resp.json["server"][DCF] == "AUTO"
    sid = resp.json["server"]["id"]
    check(nova.req("GET", f"/servers/{sid}"), "get_server", "2.1")
    assert _shown(nova, sid) == "AUTO"
    listed = {s["id"]: s for s in nova.req("GET", "/servers/detail").json["servers"]}
    assert listed[sid][DCF] == "AUTO"
    with compute.app.compute.store.session() as session:
        assert session.query(Server).filter_by(id=sid).one().auto_disk_config is True


def test_create_without_it_is_manual_or_the_images(nova, compute):
    plain = nova.create("plain", wait=None).json["server"]
    assert plain[DCF] == "MANUAL"
    _image_props(compute, OTHER_IMAGE_ID, auto_disk_config="True")
    inherited = nova.create("inherits", wait=None, imageRef=OTHER_IMAGE_ID).json["server"]
    assert inherited[DCF] == "AUTO"
    assert _shown(nova, inherited["id"]) == "AUTO"


def test_anything_else_is_a_400_naming_the_field(nova):
    for bad in ("auto", "SOMETHING", 1, None):
        resp = nova.req("POST", "/servers", json={"server": {"name": "x", "flavorRef": "1", "imageRef": IMAGE_ID,
                                                             DCF: bad}})
        assert resp.status_code == 400, resp.text
        assert DCF in resp.json["badRequest"]["message"]
    assert nova.req("GET", "/servers").json["servers"] == []  # nothing half made


def test_bad_values_on_update_rebuild_resize(nova):
    sid = nova.create("vm").json["server"]["id"]
    for resp in (nova.req("PUT", f"/servers/{sid}", json={"server": {DCF: "bogus"}}),
                 nova.action(sid, {"rebuild": {"imageRef": IMAGE_ID, DCF: "bogus"}}),
                 nova.action(sid, {"resize": {"flavorRef": "2", DCF: "bogus"}})):
        assert resp.status_code == 400, resp.text
        assert DCF in resp.json["badRequest"]["message"]
    assert _shown(nova, sid) == "MANUAL"


def test_update_rebuild_and_resize_set_it_and_rebuild_keeps_it(nova):
    sid = nova.create("vm").json["server"]["id"]
    resp = nova.req("PUT", f"/servers/{sid}", json={"server": {DCF: "AUTO"}})
    assert resp.status_code == 200 and resp.json["server"][DCF] == "AUTO"
    check(resp, "update_server", "2.1")
    resp = nova.action(sid, {"rebuild": {"imageRef": OTHER_IMAGE_ID}})  # without it: kept
    assert resp.status_code == 202 and resp.json["server"][DCF] == "AUTO"
    nova.wait(sid, "ACTIVE")
    resp = nova.action(sid, {"rebuild": {"imageRef": IMAGE_ID, DCF: "MANUAL"}})
    assert resp.status_code == 202 and resp.json["server"][DCF] == "MANUAL"
    nova.wait(sid, "ACTIVE")
    assert _shown(nova, sid) == "MANUAL"
    assert nova.action(sid, {"resize": {"flavorRef": "2", DCF: "AUTO"}}).status_code == 202
    assert nova.wait(sid, "VERIFY_RESIZE")[DCF] == "AUTO"
    assert nova.action(sid, {"revertResize": None}).status_code == 202
    assert nova.wait(sid, "ACTIVE")[DCF] == "AUTO"  # Nova does not put it back on a revert
    assert nova.action(sid, {"resize": {"flavorRef": "3"}}).status_code == 202  # without it: kept
    assert nova.wait(sid, "VERIFY_RESIZE")[DCF] == "AUTO"


def test_an_image_that_disables_it_refuses_auto(nova, compute):
    _image_props(compute, OTHER_IMAGE_ID, auto_disk_config="disabled")
    resp = nova.req("POST", "/servers", json={"server": {"name": "x", "flavorRef": "1", "imageRef": OTHER_IMAGE_ID,
                                                         DCF: "AUTO"}})
    assert resp.status_code == 400
    assert resp.json["badRequest"]["message"] == (
        f"Requested image {OTHER_IMAGE_ID} has automatic disk resize disabled.")
    manual = nova.create("manual", wait="ACTIVE", imageRef=OTHER_IMAGE_ID).json["server"]
    assert manual[DCF] == "MANUAL"
    sid = manual["id"]
    resp = nova.action(sid, {"resize": {"flavorRef": "2", DCF: "AUTO"}})
    assert resp.status_code == 400 and "automatic disk resize disabled" in resp.json["badRequest"]["message"]
    resp = nova.action(sid, {"rebuild": {"imageRef": OTHER_IMAGE_ID, DCF: "AUTO"}})
    assert resp.status_code == 400 and "automatic disk resize disabled" in resp.json["badRequest"]["message"]
    assert _shown(nova, sid) == "MANUAL"
    assert nova.action(sid, {"rebuild": {"imageRef": IMAGE_ID, DCF: "AUTO"}}).status_code == 202


def test_nova_image_proxy_shows_the_images(nova, compute):
    for prop, shown in (("True", "AUTO"), ("yes", "AUTO"), ("False", "MANUAL"), ("disabled", "MANUAL"),
                        (None, None)):
        _image_props(compute, OTHER_IMAGE_ID, **({} if prop is None else {"auto_disk_config": prop}))
        image = nova.req("GET", f"/images/{OTHER_IMAGE_ID}").json["image"]
        assert image.get(DCF) == shown, prop
        listed = {i["id"]: i for i in nova.req("GET", "/images/detail").json["images"]}
        assert listed[OTHER_IMAGE_ID].get(DCF) == shown, prop
