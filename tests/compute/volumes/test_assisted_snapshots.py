"""os-assisted-volume-snapshots: Nova's request schema, policy (admin or the service role), faults
(400 naming what is wrong, 501 where the region's driver has no assisted snapshots) and the work:
the local cloud's compute driver keeps the volume's chain of qcow2 overlay files, which a create
grows and a delete merges."""

from __future__ import annotations

import json
import time
import urllib.parse

import pytest
from sqlalchemy import select

from overcast.drivers.compute import Capability
from overcast.drivers.errors import DriverError
from overcast.store.volume import Volume
from tests.compute.conftest import new_uuid
from tests.compute.volumes.conftest import fault

PATH = "/os-assisted-volume-snapshots"


def create(nova, volume_id: str, snapshot_id: str, new_file: str = "volume.snap", **extra):  # noqa: ANN001, ANN201
    info = {"snapshot_id": snapshot_id, "type": "qcow2", "new_file": new_file, **extra}
    return nova.req("POST", PATH, json={"snapshot": {"volume_id": volume_id, "create_info": info}})


def delete(nova, volume_id: str, snapshot_id: str, version: str | None = None, **query):  # noqa: ANN001, ANN201
    params = {"delete_info": json.dumps({"volume_id": volume_id}), **query}
    return nova.req("DELETE", f"{PATH}/{snapshot_id}?{urllib.parse.urlencode(params)}", version)


def chain(nova, volume_id: str) -> list[tuple[str, str]]:  # noqa: ANN001
    core = nova.cloud.app.compute
    with core.store.session() as session:
        backend_id = session.scalars(select(Volume.backend_id).where(Volume.id == volume_id)).one()
    return core.compute_driver("RegionOne").volume_chain(backend_id)


def wait_chain(nova, volume_id: str, expected: list[tuple[str, str]], timeout: float = 15.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while (found := chain(nova, volume_id)) != expected:
        assert time.monotonic() < deadline, f"chain {found}, expected {expected}"
        time.sleep(0.02)


@pytest.fixture
def attached(nova, cinder):  # noqa: ANN001, ANN201
    """(server id, volume id): a volume in use by an ACTIVE server."""
    server = nova.create("avs").json["server"]["id"]
    volume = cinder.create(name="nfs-like")["id"]
    resp = nova.req("POST", f"/servers/{server}/os-volume_attachments", json={"volumeAttachment": {"volumeId": volume}})
    assert resp.status_code == 200, resp.text
    cinder.wait(volume, "in-use")
    return server, volume


def test_create_and_delete_keep_the_chain(admin_nova, attached):
    _, volume = attached
    first, second = new_uuid(), new_uuid()
    resp = create(admin_nova, volume, first, "volume.first", id="ref-1")
    assert resp.status_code == 200, resp.text
    assert resp.json == {"snapshot": {"id": "ref-1", "volumeId": volume}}
    wait_chain(admin_nova, volume, [(first, "volume.first")])
    resp = create(admin_nova, volume, second, "volume.second")  # Tempest's call: no create_info.id
    assert resp.status_code == 200 and resp.json == {"snapshot": {"id": None, "volumeId": volume}}
    wait_chain(admin_nova, volume, [(first, "volume.first"), (second, "volume.second")])
    resp = delete(admin_nova, volume, first)
    assert resp.status_code == 204, resp.text
    wait_chain(admin_nova, volume, [(second, "volume.second")])
    assert delete(admin_nova, volume, "None").status_code == 204  # what Tempest deletes: not in the chain
    assert delete(admin_nova, volume, second, "2.75").status_code == 204
    wait_chain(admin_nova, volume, [])
    actions = admin_nova.req("GET", f"/servers/{attached[0]}/os-instance-actions").json["instanceActions"]
    assert "volume_snapshot_create" not in {a["action"] for a in actions}  # Nova records none


def test_only_admins_and_services(nova, attached):
    _, volume = attached
    assert fault(create(nova, volume, new_uuid()), 403)
    assert fault(delete(nova, volume, new_uuid()), 403)


def test_bad_requests_name_what_is_wrong(admin_nova, attached):
    _, volume = attached
    unknown = new_uuid()
    assert fault(create(admin_nova, unknown, new_uuid()), 400) == f"No volume Block Device Mapping with id {unknown}."
    assert "type" in fault(create(admin_nova, volume, new_uuid(), type="raw"), 400)
    resp = admin_nova.req("POST", PATH, json={"snapshot": {"volume_id": volume, "create_info": {
        "snapshot_id": new_uuid(), "type": "qcow2"}}})
    assert "new_file" in fault(resp, 400)
    resp = admin_nova.req("POST", PATH, json={"snapshot": {"volume_id": volume}})
    assert "create_info" in fault(resp, 400)
    assert "delete_info" in fault(admin_nova.req("DELETE", f"{PATH}/{new_uuid()}"), 400)
    assert fault(admin_nova.req("DELETE", f"{PATH}/x?delete_info=nope"), 400)
    assert "volume_id" in fault(admin_nova.req("DELETE", f"{PATH}/x?delete_info=%7B%7D"), 400)
    assert fault(delete(admin_nova, unknown, "x"), 400) == f"No volume Block Device Mapping with id {unknown}."
    assert delete(admin_nova, volume, "x", "2.74", extra="1").status_code == 204  # ignored before 2.75
    assert "Additional properties" in fault(delete(admin_nova, volume, "x", "2.75", extra="1"), 400)
    assert chain(admin_nova, volume) == []


def test_a_server_with_a_task_refuses(admin_nova, attached, ops):
    server, volume = attached
    ops.stop()  # the pause stays in its task state
    assert admin_nova.action(server, {"pause": None}).status_code == 202
    message = fault(create(admin_nova, volume, new_uuid()), 400)
    assert message == (f"Instance {server} in task_state pausing. Cannot volume_snapshot_create while the "
                       "instance is in this state.")


def test_without_the_capability_it_is_nova_not_implemented(admin_nova, attached, compute, monkeypatch):
    _, volume = attached
    driver = compute.app.compute.compute_driver("RegionOne")
    monkeypatch.setattr(type(driver), "capabilities",
                        frozenset(driver.capabilities - {Capability.VOLUME_SNAPSHOT}))
    assert "cannot snapshot attached volumes" in fault(create(admin_nova, volume, new_uuid()), 501)
    assert fault(delete(admin_nova, volume, new_uuid()), 501)


def _cinder_snapshot(cinder, admin_cinder, volume: str, status: str) -> str:  # noqa: ANN001
    """A Cinder snapshot of ``volume`` put in ``status`` (what Cinder's file-based driver holds while
    it asks Nova to do the work)."""
    resp = cinder.req("POST", "/snapshots", json={"snapshot": {"volume_id": volume, "force": True}})
    assert resp.status_code == 202, resp.text
    snapshot = resp.json["snapshot"]["id"]
    cinder.wait(snapshot, "available", "snapshots")
    resp = admin_cinder.req("POST", f"/snapshots/{snapshot}/action", json={"os-reset_status": {"status": status}})
    assert resp.status_code == 202, resp.text
    return snapshot


def _wait_progress(cinder, snapshot: str, status: str, progress: str, timeout: float = 15.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while True:
        shown = cinder.req("GET", f"/snapshots/{snapshot}").json["snapshot"]
        if (shown["status"], shown["os-extended-snapshot-attributes:progress"]) == (status, progress):
            return
        assert time.monotonic() < deadline, shown
        time.sleep(0.02)


def test_the_cinder_snapshot_follows_the_work(admin_nova, cinder, admin_cinder, attached):
    """Nova's compute reports its part to Cinder (os-update_snapshot_status, progress 90%): creating
    after the create, deleting after the delete."""
    _, volume = attached
    snapshot = _cinder_snapshot(cinder, admin_cinder, volume, "creating")
    assert create(admin_nova, volume, snapshot).status_code == 200
    wait_chain(admin_nova, volume, [(snapshot, "volume.snap")])
    _wait_progress(cinder, snapshot, "creating", "90%")
    resp = admin_cinder.req("POST", f"/snapshots/{snapshot}/action", json={"os-reset_status": {"status": "deleting"}})
    assert resp.status_code == 202
    resp = admin_cinder.req("POST", f"/snapshots/{snapshot}/action", json={"os-update_snapshot_status": {
        "status": "deleting", "progress": "50%"}})
    assert resp.status_code == 202, resp.text
    assert delete(admin_nova, volume, snapshot).status_code == 204
    wait_chain(admin_nova, volume, [])
    _wait_progress(cinder, snapshot, "deleting", "90%")


def test_a_hypervisor_failure_is_the_snapshot_error(admin_nova, cinder, admin_cinder, attached, compute,
                                                     monkeypatch):
    _, volume = attached
    driver = compute.app.compute.compute_driver("RegionOne")

    def fails(*_args: object) -> None:
        raise DriverError("qemu-img: could not open the overlay")

    monkeypatch.setattr(driver, "volume_snapshot_create", fails)
    monkeypatch.setattr(driver, "volume_snapshot_delete", fails)
    made = _cinder_snapshot(cinder, admin_cinder, volume, "creating")
    assert create(admin_nova, volume, made).status_code == 200
    _wait_progress(cinder, made, "error", "90%")
    gone = _cinder_snapshot(cinder, admin_cinder, volume, "deleting")
    assert delete(admin_nova, volume, gone).status_code == 204
    _wait_progress(cinder, gone, "error_deleting", "90%")
    # an available snapshot is not Nova's to change (Cinder refuses the status): it stays as it was
    kept = _cinder_snapshot(cinder, admin_cinder, volume, "available")
    monkeypatch.undo()
    assert create(admin_nova, volume, kept).status_code == 200
    wait_chain(admin_nova, volume, [(kept, "volume.snap")])
    shown = cinder.req("GET", f"/snapshots/{kept}").json["snapshot"]
    assert shown["status"] == "available" and shown["os-extended-snapshot-attributes:progress"] == "100%"
