"""Volume actions as Nova and the CLI drive them, and the attachments API (3.27+, os-complete 3.44)."""

from __future__ import annotations

from cinder_helpers import check

CONNECTOR = {"host": "compute-1", "initiator": "iqn.1993-08.org.debian:01:abc"}


def test_extend(cinder):
    vol = cinder.create(size=1)
    check(cinder.action(vol["id"], {"os-extend": {"new_size": 3}}), "extend_volume")
    shown = cinder.wait(vol["id"], "available")
    assert shown["size"] == 3
    resp = cinder.action(vol["id"], {"os-extend": {"new_size": 2}})
    assert resp.status_code == 400
    assert resp.json["badRequest"]["message"] == ("Invalid input received: New size for extend must be greater "
                                                  "than current size. (current: 3, extended: 2).")
    assert "new_size" in cinder.action(vol["id"], {"os-extend": {"new_size": "x"}}).json["badRequest"]["message"]


def test_extend_in_use_and_extend_volume_completion_3_71(cinder, admin_cinder):
    """3.71 (Cinder's ``os-extend_volume_completion``): an attached volume extends at 3.71 as from
    3.42 and goes back to in-use with the new size by itself (no Overcast backend waits for Nova to
    finish an extend), so the completion action, admin only, finds no volume waiting for it: 400, the
    volume untouched. Below 3.71 the action does not exist (404, as Cinder's unversioned method)."""
    vid, server = cinder.create()["id"], "11111111-2222-3333-4444-555555555555"
    cinder.action(vid, {"os-reserve": None})
    cinder.action(vid, {"os-initialize_connection": {"connector": CONNECTOR}})
    cinder.action(vid, {"os-attach": {"instance_uuid": server, "mountpoint": "/dev/vdb"}})
    cinder.wait(vid, "in-use")
    assert cinder.action(vid, {"os-extend": {"new_size": 2}}, "3.41").status_code == 400  # in-use from 3.42
    check(cinder.action(vid, {"os-extend": {"new_size": 2}}, "3.71"), "extend_volume")
    shown = cinder.wait(vid, "in-use", version="3.71")
    assert shown["size"] == 2 and shown["attachments"][0]["server_id"] == server
    completion = {"os-extend_volume_completion": {"error": False}}
    assert cinder.action(vid, completion, "3.71").status_code == 403  # admin_api
    resp = admin_cinder.action(vid, completion, "3.71")
    assert resp.status_code == 400, resp.text
    assert resp.json["badRequest"]["message"].startswith(f"Invalid volume: Volume {vid} is not waiting")
    assert admin_cinder.action(vid, {"os-extend_volume_completion": {"error": True}}, "3.71").status_code == 400
    bad = admin_cinder.action(vid, {"os-extend_volume_completion": {"error": "maybe"}}, "3.71")
    assert bad.status_code == 400 and "error" in bad.json["badRequest"]["message"]
    assert admin_cinder.action(vid, completion, "3.70").status_code == 404
    after = cinder.req("GET", f"/volumes/{vid}", "3.71").json["volume"]
    assert (after["status"], after["size"]) == ("in-use", 2)
    versions = cinder.cloud.request("GET", "/volume/", None).json["versions"]
    assert [v["version"] for v in versions if v["id"] == "v3.0"] == ["3.71"]


def test_bootable_readonly_and_reset_status(cinder, admin_cinder):
    vol = cinder.create()
    resp = cinder.action(vol["id"], {"os-set_bootable": {"bootable": True}})
    check(resp, "set_bootable_volume")
    assert resp.text == ""  # Tempest's client rejects any body, even {}
    assert cinder.req("GET", f"/volumes/{vol['id']}").json["volume"]["bootable"] == "true"
    assert "readonly" not in cinder.req("GET", f"/volumes/{vol['id']}").json["volume"]["metadata"]
    check(cinder.action(vol["id"], {"os-update_readonly_flag": {"readonly": True}}), "update_volume_readonly")
    assert cinder.req("GET", f"/volumes/{vol['id']}").json["volume"]["metadata"] == {"readonly": "True"}
    assert cinder.req("GET", f"/volumes/{vol['id']}/metadata").json["metadata"] == {}  # admin metadata is apart
    cinder.action(vol["id"], {"os-update_readonly_flag": {"readonly": False}})
    assert cinder.req("GET", f"/volumes/{vol['id']}").json["volume"]["metadata"] == {"readonly": "False"}
    assert cinder.action(vol["id"], {"os-reset_status": {"status": "error"}}).status_code == 403
    check(admin_cinder.action(vol["id"], {"os-reset_status": {"status": "error"}}), "reset_volume_status")
    assert cinder.req("GET", f"/volumes/{vol['id']}").json["volume"]["status"] == "error"
    assert admin_cinder.action(vol["id"], {"os-reset_status": {"status": "bogus"}}).status_code == 400
    assert cinder.action(vol["id"], {"os-bogus": {}}).status_code == 400


def test_legacy_attach_flow_as_nova_drives_it(cinder):
    vol = cinder.create()
    vid, server = vol["id"], "11111111-2222-3333-4444-555555555555"
    check(cinder.action(vid, {"os-reserve": None}), "reserve_volume")
    assert cinder.wait(vid, "attaching")
    conn = cinder.action(vid, {"os-initialize_connection": {"connector": CONNECTOR}})
    assert conn.status_code == 200 and conn.json["connection_info"]["driver_volume_type"] == "local"
    check(cinder.action(vid, {"os-attach": {"instance_uuid": server, "mountpoint": "/dev/vdb"}}), "attach_volume")
    shown = check(cinder.req("GET", f"/volumes/{vid}"), "show_volume")["volume"]
    assert shown["status"] == "in-use" and shown["attachments"][0]["server_id"] == server
    assert shown["metadata"] == {"readonly": "False", "attached_mode": "rw"}  # as Cinder's attach records them
    assert shown["attachments"][0]["device"] == "/dev/vdb"
    resp = cinder.req("DELETE", f"/volumes/{vid}")
    assert resp.status_code == 400 and resp.json["badRequest"]["message"].startswith("Invalid volume: Volume status")
    assert cinder.action(vid, {"os-begin_detaching": None}).status_code == 202
    assert cinder.wait(vid, "detaching")
    assert cinder.action(vid, {"os-roll_detaching": None}).status_code == 202
    assert cinder.wait(vid, "in-use")
    cinder.action(vid, {"os-begin_detaching": None})
    assert cinder.action(vid, {"os-terminate_connection": {"connector": CONNECTOR}}).status_code == 202
    check(cinder.action(vid, {"os-detach": {"attachment_id": shown["attachments"][0]["attachment_id"]}}),
          "detach_volume")
    after = cinder.wait(vid, "available")
    assert after["attachments"] == [] and after["metadata"] == {"readonly": "False"}
    cinder.action(vid, {"os-reserve": None})
    check(cinder.action(vid, {"os-unreserve": None}), "unreserve_volume")
    cinder.wait(vid, "available")


def test_attachments_api(cinder):
    vol = cinder.create()
    server = "11111111-2222-3333-4444-555555555555"
    assert cinder.req("POST", "/attachments", "3.26", json={"attachment": {"volume_uuid": vol["id"]}}).status_code \
        == 404
    att = cinder.req("POST", "/attachments", "3.27",
                     json={"attachment": {"volume_uuid": vol["id"], "instance_uuid": server}})
    assert att.status_code == 200, att.text
    att_id = att.json["attachment"]["id"]
    assert att.json["attachment"]["status"] == "reserved"
    assert cinder.wait(vol["id"], "reserved")
    upd = cinder.req("PUT", f"/attachments/{att_id}", "3.27", json={"attachment": {"connector": CONNECTOR}})
    assert upd.json["attachment"]["connection_info"]["driver_volume_type"] == "local"
    assert cinder.req("POST", f"/attachments/{att_id}/action", "3.44", json={"os-complete": None}).status_code == 204
    shown = cinder.wait(vol["id"], "in-use")
    assert shown["attachments"][0]["attachment_id"] == att_id
    listed = cinder.req("GET", f"/attachments?volume_id={vol['id']}", "3.27").json["attachments"]
    assert [a["id"] for a in listed] == [att_id]
    assert cinder.req("GET", "/attachments/detail", "3.27").json["attachments"][0]["attach_mode"] == "rw"
    assert cinder.req("DELETE", f"/attachments/{att_id}", "3.27").status_code == 200
    cinder.wait(vol["id"], "available")
    assert cinder.req("GET", f"/attachments/{att_id}", "3.27").status_code == 404


def test_force_delete_is_admin_only(cinder, admin_cinder):
    vol = cinder.create()
    admin_cinder.action(vol["id"], {"os-reset_status": {"status": "error_deleting"}})
    assert cinder.req("DELETE", f"/volumes/{vol['id']}").status_code == 400
    assert cinder.action(vol["id"], {"os-force_delete": None}).status_code == 403
    check(admin_cinder.action(vol["id"], {"os-force_delete": None}), "force_delete_volume")
    cinder.wait(vol["id"], "deleted")


def test_failed_create_goes_to_error(cinder):
    vol = cinder.create(wait="error", metadata={"overcast:fail_create": "true"})
    assert vol["status"] == "error"
    assert cinder.req("DELETE", f"/volumes/{vol['id']}").status_code == 202
    cinder.wait(vol["id"], "deleted")


def test_image_metadata_actions(cinder, admin_cinder):
    vol = cinder.create()
    values = {"image_id": "5137a025-3c5f-43c1-bc64-5f41270040a5", "kernel_id": "k", "ramdisk_id": "r"}
    resp = cinder.action(vol["id"], {"os-set_image_metadata": {"metadata": values}})
    assert check(resp, "update_volume_image_metadata")["metadata"] == values
    assert cinder.req("GET", f"/volumes/{vol['id']}").json["volume"]["volume_image_metadata"] == values
    resp = cinder.action(vol["id"], {"os-unset_image_metadata": {"key": "ramdisk_id"}})
    check(resp, "delete_volume_image_metadata")
    shown = check(cinder.action(vol["id"], {"os-show_image_metadata": {}}), "show_volume_image_metadata")
    assert shown["metadata"] == {"image_id": values["image_id"], "kernel_id": "k"}
    assert cinder.action(vol["id"], {"os-unset_image_metadata": {"key": "ramdisk_id"}}).status_code == 404
    assert cinder.action(vol["id"], {"os-set_image_metadata": {"metadata": "x"}}).status_code == 400
    alt = cinder.cloud.token("alt_demo", "alt_demo")
    assert cinder.action(vol["id"], {"os-show_image_metadata": {}}, token=alt).status_code == 404


def test_reset_status_refuses_a_status_that_is_not_a_name(cinder, admin_cinder):
    vol = cinder.create()
    for args in ({"status": ["error"]}, {"status": {"x": 1}}, {"attach_status": ["attached"]}, {"status": 7}):
        resp = admin_cinder.action(vol["id"], {"os-reset_status": args})
        assert resp.status_code == 400, (args, resp.text)
        assert "valid" in resp.json["badRequest"]["message"]
    snap = cinder.req("POST", "/snapshots", json={"snapshot": {"volume_id": vol["id"]}}).json["snapshot"]
    resp = admin_cinder.req("POST", f"/snapshots/{snap['id']}/action", json={"os-reset_status": {"status": ["x"]}})
    assert resp.status_code == 400 and "valid status" in resp.json["badRequest"]["message"]
