"""os-volume_attachments: attach, list, show, update and detach through the ops engine, Nova's
faults, project isolation, the server's ``volumes_attached`` and what a server delete does to its
volumes. Bodies are checked against Tempest's schemas for the microversion asked."""

from __future__ import annotations

import time

import pytest

from overcast.core.compute.networking import acting_for
from overcast.core.errors import Invalid
from overcast.core.volume import attachments
from overcast.core.volume.volumes import DELETE_REFUSED
from overcast.drivers.compute import Capability
from overcast.store.compute import Server
from tests.compute.conftest import check
from tests.compute.volumes.conftest import backend_devices, fault

ATTACHMENTS = "/servers/{}/os-volume_attachments"


def attach(nova, server_id: str, volume_id: str, version: str | None = None, **extra):  # noqa: ANN001, ANN201
    return nova.req("POST", ATTACHMENTS.format(server_id), version,
                    json={"volumeAttachment": {"volumeId": volume_id, **extra}})


def wait_attached(cinder, volume_id: str) -> dict:  # noqa: ANN001
    return cinder.wait(volume_id, "in-use")


@pytest.fixture
def server(nova):  # noqa: ANN001, ANN201
    return nova.create("vols").json["server"]["id"]


def test_attach_list_show_detach(nova, admin_nova, cinder, server):
    vid = cinder.create(name="data")["id"]
    resp = attach(nova, server, vid, "2.79", tag="db", delete_on_termination=True)
    check(resp, "attach_volume", "2.79")
    assert resp.json["volumeAttachment"] == {"id": vid, "volumeId": vid, "serverId": server, "device": "/dev/vdb",
                                             "tag": "db", "delete_on_termination": True}
    assert cinder.req("GET", f"/volumes/{vid}").json["volume"]["status"] in ("reserved", "attaching", "in-use")
    volume = wait_attached(cinder, vid)
    [attachment] = volume["attachments"]
    assert attachment["server_id"] == server and attachment["device"] == "/dev/vdb"
    assert backend_devices(nova, server) == {vid: "/dev/vdb"}

    for version in ("2.1", "2.70", "2.79", "2.89"):
        listed = nova.req("GET", ATTACHMENTS.format(server), version)
        check(listed, "list_volume_attachments", version)
        shown = nova.req("GET", ATTACHMENTS.format(server) + f"/{vid}", version)
        check(shown, "show_volume_attachment", version)
        assert listed.json["volumeAttachments"] == [shown.json["volumeAttachment"]]
    item = shown.json["volumeAttachment"]
    assert "id" not in item and item["volumeId"] == vid and item["device"] == "/dev/vdb"
    assert item["attachment_id"] == attachment["attachment_id"] and item["bdm_uuid"]
    assert item["tag"] == "db" and item["delete_on_termination"] is True

    for version, expected in (("2.1", [{"id": vid}]), ("2.3", [{"id": vid, "delete_on_termination": True}])):
        resp = admin_nova.req("GET", f"/servers/{server}", version)
        check(resp, "get_server", version)
        assert resp.json["server"]["os-extended-volumes:volumes_attached"] == expected

    second = cinder.create(name="logs")["id"]
    assert attach(nova, server, second).json["volumeAttachment"]["device"] == "/dev/vdc"
    wait_attached(cinder, second)
    resp = cinder.req("DELETE", f"/volumes/{second}")
    assert resp.status_code == 400 and DELETE_REFUSED in resp.text

    resp = nova.req("DELETE", ATTACHMENTS.format(server) + f"/{vid}")
    assert resp.status_code == 202 and not resp.text
    assert cinder.wait(vid, "available")["attachments"] == []
    assert backend_devices(nova, server) == {second: "/dev/vdc"}
    assert fault(nova.req("GET", ATTACHMENTS.format(server) + f"/{vid}"), 404) == \
        f"Instance {server} is not attached to volume {vid}"
    shown = nova.req("GET", f"/servers/{server}").json["server"]
    assert shown["os-extended-volumes:volumes_attached"] == [{"id": second}]

    actions = nova.req("GET", f"/servers/{server}/os-instance-actions").json["instanceActions"]
    assert [a["action"] for a in actions] == ["detach_volume", "attach_volume", "attach_volume", "create"]
    detach_request = actions[0]["request_id"]
    events = admin_nova.req("GET", f"/servers/{server}/os-instance-actions/{detach_request}").json
    assert [(e["event"], e["result"]) for e in events["instanceAction"]["events"]] == \
        [("compute_detach_volume", "Success")]
    attach_request = actions[1]["request_id"]
    events = admin_nova.req("GET", f"/servers/{server}/os-instance-actions/{attach_request}").json
    assert [e["event"] for e in events["instanceAction"]["events"]] == ["compute_attach_volume"]


def test_attach_faults(nova, admin_nova, cinder, admin_cinder, server, monkeypatch):
    vid = cinder.create()["id"]
    missing = "8d9c31a1-0b7e-4bd5-bf3c-3c0bd6a0c001"
    assert fault(attach(nova, server, missing), 404) == f"Volume {missing} could not be found."
    assert fault(attach(nova, server, "not-a-uuid"), 400)
    assert fault(attach(nova, server, vid, device="sda 1"), 400)
    assert fault(attach(nova, server, vid, "2.48", tag="t"), 400)  # tag from 2.49
    assert fault(attach(nova, server, vid, "2.78", delete_on_termination=True), 400)  # from 2.79
    assert fault(attach(nova, server, vid, device="/dev/vda"), 409) == "The supplied device path (/dev/vda) is in use."
    assert attach(nova, server, vid, device="/dev/vdd").json["volumeAttachment"]["device"] == "/dev/vdd"
    assert fault(attach(nova, server, vid), 400) == f"Invalid volume: volume {vid} already attached"
    wait_attached(cinder, vid)

    other = nova.create("other").json["server"]["id"]
    message = fault(attach(nova, other, vid), 400)
    assert message.startswith("Invalid input received: Invalid volume: ") and "in-use" in message
    assert fault(nova.req("DELETE", ATTACHMENTS.format(other) + f"/{vid}"), 404) == \
        f"Instance {other} is not attached to volume {vid}"
    assert fault(nova.req("DELETE", ATTACHMENTS.format(other) + f"/{missing}"), 404) == \
        f"Volume {missing} could not be found."

    assert nova.action(other, {"lock": None}).status_code == 202
    free = cinder.create()["id"]
    assert fault(attach(nova, other, free), 409) == f"Instance {other} is locked"
    assert admin_nova.action(other, {"unlock": None}).status_code == 202

    building = nova.create("slow", wait=None, metadata={"overcast:build_seconds": "30"}).json["server"]["id"]
    assert fault(attach(nova, building, free), 409) == \
        f"Cannot 'attach_volume' instance {building} while it is in vm_state building"

    assert nova.action(other, {"shelve": None}).status_code == 202
    nova.wait(other, "SHELVED_OFFLOADED")
    assert fault(attach(nova, other, free, "2.19"), 409) == \
        f"Cannot 'attach_volume' instance {other} while it is in vm_state shelved_offloaded"
    assert attach(nova, other, free, "2.20").status_code == 200
    wait_attached(cinder, free)
    assert fault(nova.req("DELETE", ATTACHMENTS.format(other) + f"/{free}", "2.19"), 409) == \
        f"Cannot 'detach_volume' instance {other} while it is in vm_state shelved_offloaded"
    assert nova.req("DELETE", ATTACHMENTS.format(other) + f"/{free}", "2.20").status_code == 202
    cinder.wait(free, "available")

    driver = nova.cloud.app.compute.compute_driver(nova.cloud.app.compute.default_region)
    monkeypatch.setattr(driver, "capabilities", frozenset(set(Capability) - {Capability.VOLUME_ATTACH}))
    assert fault(attach(nova, server, free), 501) == "The requested functionality is not supported."
    assert fault(nova.req("DELETE", ATTACHMENTS.format(server) + f"/{vid}"), 501)
    monkeypatch.undo()

    multi = admin_cinder.create(multiattach=True)["id"]
    admin_server = admin_nova.create("adm").json["server"]["id"]
    assert fault(attach(admin_nova, admin_server, multi, "2.59"), 400) == \
        "Multiattach volumes are only supported starting with compute API version 2.60."
    for body in ({}, {"volumeAttachment": {}}, {"volumeAttachment": {"volumeId": free, "extra": 1}}):
        assert nova.req("POST", ATTACHMENTS.format(server), json=body).status_code == 400
    # nothing was half made: the refused volumes are untouched
    for volume_id in (free, multi):
        shown = admin_cinder.req("GET", f"/volumes/{volume_id}").json["volume"]
        assert shown["status"] == "available" and shown["attachments"] == []
    assert [m["volumeId"] for m in nova.req("GET", ATTACHMENTS.format(server)).json["volumeAttachments"]] == [vid]


def test_project_isolation(nova, admin_nova, cinder, admin_cinder, server):
    theirs = admin_cinder.create()["id"]
    assert fault(attach(nova, server, theirs), 404) == f"Volume {theirs} could not be found."
    admin_server = admin_nova.create("theirs").json["server"]["id"]
    mine = cinder.create()["id"]
    for resp in (attach(nova, admin_server, mine), nova.req("GET", ATTACHMENTS.format(admin_server)),
                 nova.req("GET", ATTACHMENTS.format(admin_server) + f"/{mine}"),
                 nova.req("DELETE", ATTACHMENTS.format(admin_server) + f"/{mine}")):
        assert fault(resp, 404) == f"Instance {admin_server} could not be found."
    assert attach(admin_nova, admin_server, theirs).status_code == 200
    admin_cinder.wait(theirs, "in-use")
    assert cinder.req("GET", f"/volumes/{mine}").json["volume"]["status"] == "available"
    reader = nova.req("GET", ATTACHMENTS.format(admin_server), token=admin_nova.token)
    assert [a["volumeId"] for a in reader.json["volumeAttachments"]] == [theirs]


def test_update_and_swap(nova, admin_nova, cinder, server):
    vid = cinder.create()["id"]
    attach(nova, server, vid, "2.79")
    wait_attached(cinder, vid)
    item = ATTACHMENTS.format(server) + f"/{vid}"
    resp = nova.req("PUT", item, "2.85", json={"volumeAttachment": {"volumeId": vid, "delete_on_termination": True}})
    check(resp, "update_attached_volume")  # 202, no body (the schema is 2.1's)
    assert nova.req("GET", item, "2.79").json["volumeAttachment"]["delete_on_termination"] is True
    shown = nova.req("GET", item, "2.79").json["volumeAttachment"]  # GET's body back (a null tag is not a tag)
    assert nova.req("PUT", item, "2.85", json={"volumeAttachment": {k: v for k, v in shown.items() if v is not None}}
                    ).status_code == 202
    assert fault(nova.req("PUT", item, "2.85", json={"volumeAttachment": {"volumeId": vid, "tag": "x"}}), 400) == \
        "The tag property is not mutable"
    assert fault(nova.req("PUT", item, "2.85", json={"volumeAttachment": {"volumeId": vid, "device": "/dev/vdz"}}),
                 400) == "The device property is not mutable"
    other = cinder.create()["id"]
    not_mine = ATTACHMENTS.format(server) + f"/{other}"
    assert fault(nova.req("PUT", not_mine, "2.85", json={"volumeAttachment": {"volumeId": other}}), 404) == \
        f"No volume Block Device Mapping with id {other}."
    # a swap (another volumeId, or any PUT before 2.85) is the admin's, and only for Cinder's migrations
    for version, body in (("2.84", {"volumeId": other}), ("2.85", {"volumeId": other})):
        assert fault(nova.req("PUT", item, version, json={"volumeAttachment": body}), 403)
        assert fault(admin_nova.req("PUT", item, version, json={"volumeAttachment": body}), 409) == \
            f"volume {vid} is not migrating; this API should only be called by Cinder"
    assert cinder.req("GET", f"/volumes/{other}").json["volume"]["status"] == "available"


def test_list_paging_and_query_checks(nova, cinder, server):
    ids = []
    for _ in range(3):
        ids.append(cinder.create()["id"])
        attach(nova, server, ids[-1])
    listed = nova.req("GET", ATTACHMENTS.format(server) + "?limit=2&offset=1").json["volumeAttachments"]
    assert [a["volumeId"] for a in listed] == ids[1:]
    assert [a["device"] for a in listed] == ["/dev/vdc", "/dev/vdd"]
    assert nova.req("GET", ATTACHMENTS.format(server) + "?limit=x").status_code == 400
    assert nova.req("GET", ATTACHMENTS.format(server) + "?foo=1", "2.74").status_code == 200
    assert fault(nova.req("GET", ATTACHMENTS.format(server) + "?foo=1", "2.75"), 400) == \
        "Additional properties are not allowed ('foo' was unexpected)"


def test_server_delete_detaches_and_deletes_on_termination(nova, cinder, server):
    kept, dropped = cinder.create()["id"], cinder.create()["id"]
    attach(nova, server, kept, "2.79")
    attach(nova, server, dropped, "2.79", delete_on_termination=True)
    wait_attached(cinder, kept)
    wait_attached(cinder, dropped)
    assert nova.req("DELETE", f"/servers/{server}").status_code == 204
    nova.wait(server, "GONE")
    assert cinder.wait(kept, "available")["attachments"] == []
    cinder.wait(dropped, "deleted")
    assert cinder.req("DELETE", f"/volumes/{kept}").status_code == 202


def test_reserve_wins_once_for_concurrent_requests(nova, cinder):
    """Two requests that both read the volume available: the second one's reservation is refused."""
    vid = cinder.create()["id"]
    first, second = (nova.create(name).json["server"]["id"] for name in ("one", "two"))
    store = nova.cloud.app.compute.store
    with store.session() as stale:
        owner = acting_for(stale.query(Server).filter_by(id=second).one())
        assert attachments.get_volume(stale, owner, vid, region="RegionOne").status == "available"  # read first
        with store.session() as winner:
            attachments.reserve(winner, owner, vid, region="RegionOne", instance_uuid=first)
        with pytest.raises(Invalid) as refused:
            attachments.reserve(stale, owner, vid, region="RegionOne", instance_uuid=second)
    assert refused.value.message.endswith("but the current status is reserved.")
    assert cinder.req("GET", f"/volumes/{vid}").json["volume"]["status"] == "reserved"
    with store.session() as session:
        volume = attachments.get_volume(session, owner, vid, region="RegionOne")
        assert [a.instance_uuid for a in volume.attachments] == [first]


def test_force_detach(nova, cinder, admin_cinder, server):
    """os-force_detach (admin) drops an attachment left behind in any status; one Nova still maps
    is refused with Cinder's 409, and the volume stays attached."""
    vid = cinder.create()["id"]
    cinder.action(vid, {"os-reserve": None})
    cinder.action(vid, {"os-attach": {"instance_uuid": server, "mountpoint": "/dev/vdc"}})
    [attachment] = cinder.wait(vid, "in-use")["attachments"]
    admin_cinder.action(vid, {"os-reset_status": {"status": "error"}})
    body = {"os-force_detach": {"attachment_id": attachment["attachment_id"], "connector": None}}
    assert cinder.action(vid, body).status_code == 403
    assert admin_cinder.action(vid, body).status_code == 202
    shown = cinder.wait(vid, "available")
    assert shown["attachments"] == []

    mapped = cinder.create()["id"]
    assert attach(nova, server, mapped).status_code == 200
    [attachment] = wait_attached(cinder, mapped)["attachments"]
    resp = admin_cinder.action(mapped, {"os-force_detach": {"attachment_id": attachment["attachment_id"]}})
    assert resp.status_code == 409
    assert resp.json["conflictingRequest"]["message"] == f"Detach volume from instance {server} using the Compute API"
    assert cinder.req("GET", f"/volumes/{mapped}").json["volume"]["status"] == "in-use"


def test_extending_an_attached_volume_tells_nova(nova, admin_nova, cinder, server):
    """Cinder sends ``volume-extended`` after growing an in-use volume (3.42+); Nova records the
    server's ``extend_volume`` action, whose ``compute_extend_volume`` event finishes with Success."""
    vid = cinder.create(size=1)["id"]
    assert attach(nova, server, vid).status_code == 200
    wait_attached(cinder, vid)
    assert cinder.action(vid, {"os-extend": {"new_size": 2}}, "3.41").status_code == 400
    assert cinder.action(vid, {"os-extend": {"new_size": 2}}, "3.42").status_code == 202
    assert cinder.wait(vid, "in-use")["size"] == 2
    deadline = time.monotonic() + 15
    while True:
        actions = nova.req("GET", f"/servers/{server}/os-instance-actions").json["instanceActions"]
        [action] = [a for a in actions if a["action"] == "extend_volume"] or [None]
        if action is not None:
            events = admin_nova.req("GET", f"/servers/{server}/os-instance-actions/{action['request_id']}") \
                .json["instanceAction"]["events"]
            if events and events[0]["finish_time"]:
                break
        assert time.monotonic() < deadline, actions
        time.sleep(0.05)
    assert [(e["event"], e["result"]) for e in events] == [("compute_extend_volume", "Success")]
