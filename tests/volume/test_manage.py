"""Cinder's manage/unmanage of volumes and snapshots (decision 0065): unmanage forgets a volume
(quota usage released, the backend keeps it and its bytes), manage adopts it again by its LVM name
(``volume-<id>``, ``_snapshot-<id>``) or backend id and renames it after the new id; the manageable
lists (3.8); the faults. Bodies checked against Tempest's schemas where Tempest has one."""

from __future__ import annotations

import json
import uuid

import pytest
from cinder_helpers import check
from sqlalchemy import select

from overcast.core.image.seed import CIRROS_ID
from overcast.drivers.context import CallContext
from overcast.drivers.errors import InvalidRequest
from overcast.drivers.errors import NotFound as BackendNotFound
from overcast.drivers.libcloud.volume import LibcloudVolumeDriver
from overcast.drivers.local.volume import LocalVolumeDriver
from overcast.drivers.noop.volume import NoopVolumeDriver
from overcast.drivers.openstack.volume import OpenStackVolumeDriver
from overcast.drivers.volume import Capability
from overcast.store.volume import Volume

SERVER = "11111111-2222-3333-4444-555555555555"


def _driver(cloud, volume_id: str):  # noqa: ANN202
    with cloud.app.volume.store.session() as session:
        volume = session.scalar(select(Volume).where(Volume.id == volume_id))
        region, backend_id = volume.cloud, volume.backend_id
    return cloud.app.volume.volume_driver(region), backend_id


def _usage(admin_cinder) -> dict:
    quota = admin_cinder.req("GET", f"/os-quota-sets/{admin_cinder.project_id}?usage=true").json["quota_set"]
    return {k: quota[k]["in_use"] for k in ("volumes", "gigabytes", "snapshots")}


def _unmanage(admin_cinder, volume_id: str) -> None:
    check(admin_cinder.action(volume_id, {"os-unmanage": None}), "unmanage_volume")
    admin_cinder.wait(volume_id, "deleted")


def _manage(admin_cinder, host: str, ref: dict, version: str | None = None, path: str = "/os-volume-manage",
            **body) -> dict:
    resp = admin_cinder.req("POST", path, version, json={"volume": {"host": host, "ref": ref, **body}})
    return check(resp, "manage_volume", "manage_volume")["volume"]


def test_unmanage_then_manage_by_name_gives_the_volume_back_under_a_new_id(admin_cinder, cloud):
    vol = admin_cinder.create(imageRef=CIRROS_ID, name="orig", size=2)
    shown = admin_cinder.req("GET", f"/volumes/{vol['id']}").json["volume"]
    host = shown["os-vol-host-attr:host"]
    assert host == "overcast-local@lvmdriver-1#lvmdriver-1"
    driver, backend_id = _driver(cloud, vol["id"])
    data = b"".join(driver.read(CallContext(), backend_id))
    assert len(data) > 1000
    assert _usage(admin_cinder) == {"volumes": 1, "gigabytes": 2, "snapshots": 0}

    _unmanage(admin_cinder, vol["id"])
    listed = admin_cinder.req("GET", "/volumes/detail?all_tenants=1").json["volumes"]
    assert vol["id"] not in [v["id"] for v in listed]
    assert _usage(admin_cinder) == {"volumes": 0, "gigabytes": 0, "snapshots": 0}
    assert driver.get(CallContext(), backend_id).size_gb == 2, "the backend keeps an unmanaged volume"

    made = _manage(admin_cinder, host, {"source-name": f"volume-{vol['id']}"}, name="adopted",
                   volume_type=shown["volume_type"], availability_zone="nova", metadata={"k": "v"},
                   description="d")
    assert made["id"] != vol["id"] and made["status"] == "creating"
    got = admin_cinder.wait(made["id"], "available")
    assert (got["name"], got["description"], got["size"], got["volume_type"], got["metadata"]) == (
        "adopted", "d", 2, shown["volume_type"], {"k": "v"})
    assert got["os-vol-host-attr:host"] == host and got["availability_zone"] == shown["availability_zone"]
    assert _driver(cloud, made["id"])[1] == backend_id
    assert b"".join(driver.read(CallContext(), backend_id)) == data
    assert _usage(admin_cinder) == {"volumes": 1, "gigabytes": 2, "snapshots": 0}
    # renamed after the new id, as Cinder's LVM driver renames the logical volume
    assert driver.resolve_volume(CallContext(), {"source-name": f"volume-{made['id']}"}).backend_id == backend_id
    with pytest.raises(InvalidRequest):
        driver.resolve_volume(CallContext(), {"source-name": f"volume-{vol['id']}"})

    # by backend id (source-id), on /manageable_volumes from 3.8
    _unmanage(admin_cinder, made["id"])
    assert admin_cinder.req("POST", "/manageable_volumes", "3.7", json={"volume": {
        "host": host, "ref": {"source-id": backend_id}}}).status_code == 404
    again = _manage(admin_cinder, host, {"source-id": backend_id}, "3.8", "/manageable_volumes")
    assert admin_cinder.wait(again["id"], "available")["size"] == 2
    assert admin_cinder.req("DELETE", f"/volumes/{again['id']}").status_code == 202
    admin_cinder.wait(again["id"], "deleted")
    with pytest.raises(BackendNotFound):
        driver.get(CallContext(), backend_id)  # deleting a managed volume deletes the backend's


def test_manage_faults(admin_cinder, cinder, cloud):
    vol = admin_cinder.create()
    host = "overcast-local@lvmdriver-1"
    body = {"volume": {"host": host, "ref": {"source-name": f"volume-{vol['id']}"}}}
    assert cinder.req("POST", "/os-volume-manage", json=body).status_code == 403
    own = cinder.create()
    assert cinder.action(own["id"], {"os-unmanage": None}).status_code == 403
    resp = admin_cinder.req("POST", "/os-volume-manage", json={"volume": {"host": "elsewhere@lvm", "ref": {"x": 1}}})
    assert resp.status_code == 404 and "elsewhere@lvm" in resp.text
    resp = admin_cinder.req("POST", "/os-volume-manage", json={"volume": {"host": host}})
    assert resp.status_code == 400 and "ref" in resp.text
    resp = admin_cinder.req("POST", "/os-volume-manage", json={"volume": {"ref": {"source-name": "x"}}})
    assert resp.status_code == 400 and "host" in resp.text
    resp = admin_cinder.req("POST", "/os-volume-manage", json={"volume": {"host": host, "ref": {"source-name": "x"},
                                                                          "volume_type": "nope"}})
    assert resp.status_code == 404

    # Cinder answers 202 and its volume service finds the reference names nothing: error_managing
    ghost = f"volume-{uuid.uuid4()}"
    bad = _manage(admin_cinder, host, {"source-name": ghost})
    failed = admin_cinder.wait(bad["id"], "error_managing")
    assert failed["size"] == 0
    with cloud.app.volume.store.session() as session:
        fault = session.scalar(select(Volume.fault).where(Volume.id == bad["id"]))
    assert ghost in fault and "invalid backend reference" in fault
    # one Overcast manages already is not adopted twice
    twice = _manage(admin_cinder, host, {"source-name": f"volume-{vol['id']}"})
    admin_cinder.wait(twice["id"], "error_managing")
    for volume_id in (bad["id"], twice["id"]):  # deleting what was never adopted leaves the backend's volume be
        assert admin_cinder.req("DELETE", f"/volumes/{volume_id}").status_code == 202
        admin_cinder.wait(volume_id, "deleted")
    assert admin_cinder.req("GET", f"/volumes/{vol['id']}").json["volume"]["status"] == "available"
    driver, backend_id = _driver(cloud, vol["id"])
    assert driver.get(CallContext(), backend_id).backend_id == backend_id


def test_unmanage_is_refused_as_cinder_refuses_a_delete(admin_cinder):
    attached = admin_cinder.create()
    assert admin_cinder.action(attached["id"], {"os-attach": {"instance_uuid": SERVER,
                                                              "mountpoint": "/dev/vdb"}}).status_code == 202
    with_snapshot = admin_cinder.create()
    resp = admin_cinder.req("POST", "/snapshots", json={"snapshot": {"volume_id": with_snapshot["id"]}})
    admin_cinder.wait(resp.json["snapshot"]["id"], "available", "snapshots")
    for volume_id in (attached["id"], with_snapshot["id"]):
        resp = admin_cinder.action(volume_id, {"os-unmanage": None})
        assert resp.status_code == 400 and "Invalid volume" in resp.text, resp.text
    enc = admin_cinder.req("POST", "/types", json={"volume_type": {"name": "luks"}}).json["volume_type"]
    assert admin_cinder.req("POST", f"/types/{enc['id']}/encryption", json={"encryption": {
        "provider": "luks", "control_location": "front-end"}}).status_code == 200
    encrypted = admin_cinder.create(volume_type="luks")
    resp = admin_cinder.action(encrypted["id"], {"os-unmanage": None})
    assert resp.status_code == 400 and "encrypted" in resp.text


def test_unmanage_then_manage_a_snapshot(admin_cinder, cloud):
    vol = admin_cinder.create()
    other = admin_cinder.create()
    snap = admin_cinder.req("POST", "/snapshots", json={"snapshot": {"volume_id": vol["id"]}}).json["snapshot"]
    admin_cinder.wait(snap["id"], "available", "snapshots")
    check(admin_cinder.req("POST", f"/snapshots/{snap['id']}/action", json={"os-unmanage": None}),
          "unmanage_snapshot", "snapshots")
    admin_cinder.wait(snap["id"], "deleted", "snapshots")
    assert _usage(admin_cinder)["snapshots"] == 0
    ref = {"source-name": f"_snapshot-{snap['id']}"}

    resp = admin_cinder.req("POST", "/os-snapshot-manage", json={"snapshot": {"volume_id": other["id"], "ref": ref}})
    wrong = check(resp, "manage_snapshot", "manage_snapshot")["snapshot"]
    admin_cinder.wait(wrong["id"], "error", "snapshots")  # the reference names a snapshot of another volume
    assert admin_cinder.req("DELETE", f"/snapshots/{wrong['id']}").status_code == 202
    admin_cinder.wait(wrong["id"], "deleted", "snapshots")

    meta = {"manage-snap-meta1": "value1"}
    resp = admin_cinder.req("POST", "/os-snapshot-manage", json={"snapshot": {
        "volume_id": vol["id"], "ref": ref, "name": "adopted", "description": "d", "metadata": meta}})
    made = check(resp, "manage_snapshot", "manage_snapshot")["snapshot"]
    got = admin_cinder.wait(made["id"], "available", "snapshots")
    assert (got["volume_id"], got["name"], got["description"], got["metadata"], got["size"]) == (
        vol["id"], "adopted", "d", meta, 1)
    assert _usage(admin_cinder)["snapshots"] == 1
    driver, _ = _driver(cloud, vol["id"])
    assert driver.resolve_snapshot(CallContext(), {"source-name": f"_snapshot-{made['id']}"}).volume_id == \
        _driver(cloud, vol["id"])[1]
    resp = admin_cinder.req("POST", "/os-snapshot-manage", json={"snapshot": {"volume_id": str(uuid.uuid4()),
                                                                               "ref": ref}})
    assert resp.status_code == 404


def test_manageable_lists(admin_cinder, cloud):
    kept = admin_cinder.create(size=1)
    gone = admin_cinder.create(size=3)
    snap = admin_cinder.req("POST", "/snapshots", json={"snapshot": {"volume_id": kept["id"]}}).json["snapshot"]
    admin_cinder.wait(snap["id"], "available", "snapshots")
    _unmanage(admin_cinder, gone["id"])
    host = "overcast-local@lvmdriver-1"
    assert admin_cinder.req("GET", f"/manageable_volumes?host={host}", "3.7").status_code == 404
    assert admin_cinder.req("GET", "/manageable_volumes", "3.8").status_code == 400
    assert admin_cinder.req("GET", "/manageable_volumes?host=other@x", "3.8").status_code == 404
    summary = admin_cinder.req("GET", f"/manageable_volumes?host={host}", "3.8").json["manageable-volumes"]
    by_name = {e["reference"]["source-name"]: e for e in summary}
    assert by_name[f"volume-{gone['id']}"] == {"reference": {"source-name": f"volume-{gone['id']}"}, "size": 3,
                                                "safe_to_manage": True}
    assert by_name[f"volume-{kept['id']}"]["safe_to_manage"] is False
    detail = admin_cinder.req("GET", f"/manageable_volumes/detail?host={host}", "3.8").json["manageable-volumes"]
    by_name = {e["reference"]["source-name"]: e for e in detail}
    assert by_name[f"volume-{kept['id']}"] == {
        "reference": {"source-name": f"volume-{kept['id']}"}, "size": 1, "safe_to_manage": False,
        "reason_not_safe": "already managed", "cinder_id": kept["id"], "extra_info": None}
    assert by_name[f"volume-{gone['id']}"]["cinder_id"] is None
    assert len(admin_cinder.req("GET", f"/os-volume-manage?host={host}&limit=1").json["manageable-volumes"]) == 1
    snaps = admin_cinder.req("GET", f"/manageable_snapshots/detail?host={host}", "3.8").json["manageable-snapshots"]
    assert [(s["reference"], s["source_reference"], s["cinder_id"], s["safe_to_manage"]) for s in snaps] == [
        ({"source-name": f"_snapshot-{snap['id']}"}, {"source-name": f"volume-{kept['id']}"}, snap["id"], False)]
    assert admin_cinder.req("GET", f"/manageable_snapshots?host={host}", "3.8").status_code == 200


def test_drivers_that_cannot_manage_are_answered_501(admin_cinder, monkeypatch):
    for driver in (OpenStackVolumeDriver, LibcloudVolumeDriver, NoopVolumeDriver):
        assert Capability.MANAGE not in driver.capabilities
    vol = admin_cinder.create()
    snap = admin_cinder.req("POST", "/snapshots", json={"snapshot": {"volume_id": vol["id"]}}).json["snapshot"]
    admin_cinder.wait(snap["id"], "available", "snapshots")
    monkeypatch.setattr(LocalVolumeDriver, "capabilities", frozenset(Capability) - {Capability.MANAGE})
    host = "overcast-local@lvmdriver-1"
    for resp in (
            admin_cinder.req("POST", "/os-volume-manage", json={"volume": {"host": host, "ref": {"source-id": "x"}}}),
            admin_cinder.req("POST", "/os-snapshot-manage", json={"snapshot": {"volume_id": vol["id"],
                                                                               "ref": {"source-id": "x"}}}),
            admin_cinder.req("GET", f"/manageable_volumes?host={host}", "3.8"),
            admin_cinder.action(vol["id"], {"os-unmanage": None}),
            admin_cinder.req("POST", f"/snapshots/{snap['id']}/action", json={"os-unmanage": None})):
        assert resp.status_code == 501, resp.text
    assert admin_cinder.req("GET", f"/volumes/{vol['id']}").json["volume"]["status"] == "available"
    assert len(admin_cinder.req("GET", "/volumes").json["volumes"]) == 1


def test_manageable_lists_sort_marker_offset_limit(admin_cinder):
    """Cinder's paging of a manageable list (``paginate_entries_list``): by ``reference`` desc by
    default, ``sort=size:asc`` (only ``reference`` and ``size``), ``marker`` the JSON reference of
    the last entry seen (400 when it names none or is not JSON), ``offset`` after the marker,
    ``limit``; the bad ones answered before the backend is asked."""
    made = [admin_cinder.create(size=size)["id"] for size in (2, 1, 3)]
    host = "overcast-local@lvmdriver-1"
    path = f"/manageable_volumes?host={host}"

    def names(query: str = "") -> list[str]:  # noqa: ANN202
        resp = admin_cinder.req("GET", path + query, "3.8")
        assert resp.status_code == 200, resp.text
        return [e["reference"]["source-name"] for e in resp.json["manageable-volumes"]]

    ours = {f"volume-{vid}" for vid in made}
    default = [n for n in names() if n in ours]
    assert default == sorted(ours, reverse=True)
    assert [n for n in names("&sort=reference:asc") if n in ours] == sorted(ours)
    by_size = [n for n in names("&sort=size:asc,reference:asc") if n in ours]
    assert by_size == [f"volume-{made[1]}", f"volume-{made[0]}", f"volume-{made[2]}"]
    every = names("&sort=reference:asc")
    marker = json.dumps({"source-name": every[0]})
    assert names(f"&sort=reference:asc&marker={marker}") == every[1:]
    assert names(f"&sort=reference:asc&marker={marker}&offset=1&limit=1") == every[2:3]
    assert names("&sort=reference:asc&limit=0") == []
    for query, text in (("&sort=name", "Invalid sort keys passed: name"),
                        ("&sort=size:up", "Invalid sort dirs passed: up"),
                        ("&marker=volume-x", "can not be analysed"),
                        ('&marker={"source-name": "volume-none"}', "marker not found"),
                        ("&limit=x", "limit param must be an integer"),
                        ("&offset=-1", "offset param must be positive")):
        resp = admin_cinder.req("GET", path + query, "3.8")
        assert resp.status_code == 400 and text in resp.json["badRequest"]["message"], (query, resp.text)
