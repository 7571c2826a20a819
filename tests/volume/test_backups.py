"""Cinder's backups API: create (full, incremental, of a snapshot, of an in-use volume with force),
list/show (checked against Tempest's schemas), update, restore (to a new volume and over an
existing one, the bytes coming back), delete, the admin actions, quotas and the faults."""

from __future__ import annotations

import base64
import json
import threading
import uuid

from cinder_helpers import check
from sqlalchemy import select

from overcast.core.image.seed import CIRROS_ID
from overcast.drivers.context import CallContext
from overcast.drivers.errors import Unavailable
from overcast.drivers.local.volume import LocalVolumeDriver
from overcast.drivers.volume import Capability
from overcast.store.volume import Volume

SERVER = "11111111-2222-3333-4444-555555555555"


def _backup(cinder, volume_id: str, wait: str | None = "available", version: str | None = None, **body) -> dict:
    resp = cinder.req("POST", "/backups", version, json={"backup": {"volume_id": volume_id, **body}})
    created = check(resp, "create_backup", "backups")["backup"]
    return cinder.wait(created["id"], wait, "backups", version=version) if wait else created


def _bytes(cloud, volume_id: str) -> bytes:
    """What the local cloud holds for the volume (read through its driver)."""
    with cloud.app.volume.store.session() as session:
        volume = session.scalar(select(Volume).where(Volume.id == volume_id))
        region, backend_id = volume.cloud, volume.backend_id
    return b"".join(cloud.app.volume.volume_driver(region).read(CallContext(), backend_id))



def test_backup_restore_to_a_new_volume_gives_the_data_back(cinder, cloud):
    vol = cinder.create(imageRef=CIRROS_ID, name="boot")
    data = _bytes(cloud, vol["id"])
    assert len(data) > 1000
    backup = _backup(cinder, vol["id"], name="b1", description="first")
    shown = check(cinder.req("GET", f"/backups/{backup['id']}"), "show_backup", "backups")["backup"]
    assert (shown["name"], shown["description"], shown["size"], shown["volume_id"]) == ("b1", "first", 1, vol["id"])
    assert shown["is_incremental"] is False and shown["has_dependent_backups"] is False
    assert shown["object_count"] >= 1 and shown["fail_reason"] is None
    assert shown["container"] is None  # none asked for; the server's directories are not shown
    assert cinder.wait(vol["id"], "available")["status"] == "available"
    listed = check(cinder.req("GET", "/backups"), "list_backups_no_detail", "backups")["backups"]
    assert [b["id"] for b in listed] == [backup["id"]]
    detailed = check(cinder.req("GET", "/backups/detail"), "list_backups_with_detail", "backups")["backups"]
    assert detailed[0]["status"] == "available"

    restore = check(cinder.req("POST", f"/backups/{backup['id']}/restore", json={"restore": {"name": "back"}}),
                    "restore_backup", "backups")["restore"]
    assert restore["backup_id"] == backup["id"] and restore["volume_name"] == "back"
    cinder.wait(backup["id"], "available", "backups")
    restored = cinder.wait(restore["volume_id"], "available")
    assert restored["size"] == 1 and restored["name"] == "back"
    assert _bytes(cloud, restore["volume_id"]) == data

    unnamed = cinder.req("POST", f"/backups/{backup['id']}/restore", json={"restore": {}}).json["restore"]
    assert unnamed["volume_name"] == f"restore_backup_{backup['id']}"
    cinder.wait(unnamed["volume_id"], "available")
    cinder.wait(backup["id"], "available", "backups")

    check(cinder.req("DELETE", f"/backups/{backup['id']}"), "delete_backup", "backups")
    cinder.wait(backup["id"], "deleted", "backups")
    assert _bytes(cloud, restore["volume_id"]) == data  # the restored volume keeps its data


def test_restore_over_an_existing_volume(cinder, cloud):
    source = cinder.create(imageRef=CIRROS_ID)
    backup = _backup(cinder, source["id"])
    blank = cinder.create(size=2)
    assert _bytes(cloud, blank["id"]) == b""
    resp = cinder.req("POST", f"/backups/{backup['id']}/restore", json={"restore": {"volume_id": blank["id"]}})
    restore = check(resp, "restore_backup", "backups")["restore"]
    assert restore["volume_id"] == blank["id"]
    cinder.wait(backup["id"], "available", "backups")
    assert cinder.wait(blank["id"], "available")["size"] == 2
    data = _bytes(cloud, source["id"])
    assert _bytes(cloud, blank["id"]) == data
    # a backup outlives its volume
    cinder.req("DELETE", f"/volumes/{source['id']}")
    cinder.wait(source["id"], "deleted")
    restore = cinder.req("POST", f"/backups/{backup['id']}/restore", json={"restore": {}}).json["restore"]
    cinder.wait(restore["volume_id"], "available")
    assert _bytes(cloud, restore["volume_id"]) == data


def test_restore_faults(cinder):
    big = cinder.create(size=2)
    backup = _backup(cinder, big["id"])
    small = cinder.create(size=1)
    resp = cinder.req("POST", f"/backups/{backup['id']}/restore", json={"restore": {"volume_id": small["id"]}})
    assert resp.status_code == 400
    assert resp.json["badRequest"]["message"] == ("Invalid volume: volume size 1 is too small to restore backup of "
                                                  "size 2.")
    missing = "00000000-0000-0000-0000-000000000000"
    resp = cinder.req("POST", f"/backups/{backup['id']}/restore", json={"restore": {"volume_id": missing}})
    assert resp.status_code == 404
    resp = cinder.req("POST", f"/backups/{missing}/restore", json={"restore": {}})
    assert resp.status_code == 404 and f"Backup {missing} could not be found." in resp.text
    resp = cinder.req("POST", f"/backups/{backup['id']}/restore", json={"restore": {"size": 3}})
    assert resp.status_code == 400 and "size" in resp.json["badRequest"]["message"]
    in_use = cinder.create(size=3)
    cinder.action(in_use["id"], {"os-reserve": None})
    resp = cinder.req("POST", f"/backups/{backup['id']}/restore", json={"restore": {"volume_id": in_use["id"]}})
    assert resp.status_code == 400
    assert resp.json["badRequest"]["message"] == "Invalid volume: Volume to be restored to must be available"


def test_create_faults_name_the_field_and_use_cinders_words(cinder):
    resp = cinder.req("POST", "/backups", json={"backup": {"name": "x"}})
    assert resp.status_code == 400 and "volume_id" in resp.json["badRequest"]["message"]
    resp = cinder.req("POST", "/backups", json={"backup": {"volume_id": "not-a-uuid"}})
    assert resp.status_code == 400 and "volume_id" in resp.json["badRequest"]["message"]
    missing = "00000000-0000-0000-0000-000000000000"
    assert cinder.req("POST", "/backups", json={"backup": {"volume_id": missing}}).status_code == 404
    vol = cinder.create()
    resp = cinder.req("POST", "/backups", json={"backup": {"volume_id": vol["id"], "incremental": True}})
    assert resp.status_code == 400
    assert resp.json["badRequest"]["message"] == "Invalid backup: No backups available to do an incremental backup."
    resp = cinder.req("POST", "/backups", json={"backup": {"volume_id": vol["id"], "bogus": 1}})
    assert resp.status_code == 400 and "bogus" in resp.json["badRequest"]["message"]
    resp = cinder.req("POST", "/backups", json={"backup": {"volume_id": vol["id"], "metadata": {"a": "b"}}})
    assert resp.status_code == 400 and "metadata" in resp.json["badRequest"]["message"]  # before 3.43
    cinder.action(vol["id"], {"os-reserve": None})
    cinder.action(vol["id"], {"os-attach": {"instance_uuid": SERVER, "mountpoint": "/dev/vdb"}})
    resp = cinder.req("POST", "/backups", json={"backup": {"volume_id": vol["id"]}})
    assert resp.status_code == 400
    assert resp.json["badRequest"]["message"] == "Invalid volume: Backing up an in-use volume must use the force flag."
    forced = _backup(cinder, vol["id"], force=True)
    assert cinder.wait(vol["id"], "in-use")["status"] == "in-use"  # given back its status
    assert forced["status"] == "available"
    bad = cinder.create()
    cinder.action(bad["id"], {"os-reserve": None})
    resp = cinder.req("POST", "/backups", json={"backup": {"volume_id": bad["id"]}})
    assert resp.status_code == 400 and resp.json["badRequest"]["message"] == (
        'Invalid volume: Volume to be backed up must be available or in-use, but the current status is "attaching".')
    assert cinder.req("GET", "/backups").json["backups"] == [{k: forced[k] for k in ("id", "name", "links")}]


def test_incremental_backups_and_their_parent(cinder):
    vol = cinder.create()
    full = _backup(cinder, vol["id"])
    incremental = _backup(cinder, vol["id"], incremental=True)
    assert incremental["is_incremental"] is True and full["is_incremental"] is False
    parent = cinder.req("GET", f"/backups/{full['id']}").json["backup"]
    assert parent["has_dependent_backups"] is True
    resp = cinder.req("DELETE", f"/backups/{full['id']}")
    assert resp.status_code == 400
    assert resp.json["badRequest"]["message"] == "Invalid backup: Incremental backups exist for this backup."
    cinder.req("DELETE", f"/backups/{incremental['id']}")
    cinder.wait(incremental["id"], "deleted", "backups")
    assert cinder.req("DELETE", f"/backups/{full['id']}").status_code == 202
    cinder.wait(full["id"], "deleted", "backups")


def test_backup_of_a_snapshot(cinder, cloud):
    vol = cinder.create(imageRef=CIRROS_ID)
    snap = cinder.req("POST", "/snapshots", json={"snapshot": {"volume_id": vol["id"]}}).json["snapshot"]
    cinder.wait(snap["id"], "available", "snapshots")
    created = _backup(cinder, vol["id"], wait=None, snapshot_id=snap["id"])
    assert cinder.req("GET", f"/volumes/{vol['id']}").json["volume"]["status"] == "available"  # the snapshot is read
    backup = cinder.wait(created["id"], "available", "backups")
    assert backup["snapshot_id"] == snap["id"]
    assert cinder.wait(snap["id"], "available", "snapshots")["status"] == "available"
    other = cinder.create()
    resp = cinder.req("POST", "/backups", json={"backup": {"volume_id": other["id"], "snapshot_id": snap["id"]}})
    assert resp.status_code == 404
    restore = cinder.req("POST", f"/backups/{backup['id']}/restore", json={"restore": {}}).json["restore"]
    cinder.wait(restore["volume_id"], "available")
    cinder.wait(backup["id"], "available", "backups")
    assert _bytes(cloud, restore["volume_id"]) == _bytes(cloud, vol["id"])


def test_update_by_microversion_and_list_filters(cinder):
    vol = cinder.create()
    one = _backup(cinder, vol["id"], version="3.43", name="one", metadata={"k": "v"})
    two = _backup(cinder, vol["id"], name="two")
    assert one["metadata"] == {"k": "v"} and "metadata" not in two
    assert cinder.req("PUT", f"/backups/{one['id']}", json={"backup": {"name": "x"}}).status_code == 404  # < 3.9
    updated = check(cinder.req("PUT", f"/backups/{one['id']}", "3.9", json={"backup": {"name": "uno"}}),
                    "update_backup", "backups")["backup"]
    assert updated["name"] == "uno"
    resp = cinder.req("PUT", f"/backups/{one['id']}", "3.9", json={"backup": {"metadata": {"a": "b"}}})
    assert resp.status_code == 400 and "metadata" in resp.json["badRequest"]["message"]
    resp = cinder.req("PUT", f"/backups/{one['id']}", "3.43", json={"backup": {"metadata": {"a": "b"}}})
    assert resp.json["backup"]["metadata"] == {"a": "b"}
    assert cinder.req("GET", f"/backups/{one['id']}", "3.56").json["backup"]["user_id"]
    names = [b["name"] for b in cinder.req("GET", "/backups?sort=name:asc").json["backups"]]
    assert names == ["two", "uno"]
    assert [b["id"] for b in cinder.req("GET", "/backups?name=two").json["backups"]] == [two["id"]]
    page = cinder.req("GET", "/backups?limit=1&sort=name:asc").json
    assert [b["name"] for b in page["backups"]] == ["two"] and "marker=" in page["backups_links"][0]["href"]
    counted = cinder.req("GET", "/backups/detail?with_count=true", "3.45").json
    assert counted["count"] == 2
    filtered = cinder.req("GET", "/backups?metadata={'a':'b'}").json["backups"]
    assert [b["id"] for b in filtered] == [one["id"]]


def test_admin_actions_and_project_attribute(cinder, admin_cinder):
    vol = cinder.create()
    backup = _backup(cinder, vol["id"])
    path = f"/backups/{backup['id']}/action"
    assert cinder.req("POST", path, json={"os-reset_status": {"status": "error"}}).status_code == 403
    resp = admin_cinder.req("POST", path, json={"os-reset_status": {"status": "creating"}})
    assert resp.status_code == 400 and "status" in resp.json["badRequest"]["message"]
    assert admin_cinder.req("POST", path, json={"os-reset_status": {"status": "error"}}).status_code == 202
    assert cinder.req("GET", f"/backups/{backup['id']}").json["backup"]["status"] == "error"
    shown = admin_cinder.req("GET", f"/backups/{backup['id']}", "3.18").json["backup"]
    assert shown["os-backup-project-attr:project_id"] == cinder.project_id
    assert "os-backup-project-attr:project_id" not in cinder.req("GET", f"/backups/{backup['id']}", "3.18").json[
        "backup"]
    assert admin_cinder.req("GET", "/backups?all_tenants=1").json["backups"][0]["id"] == backup["id"]
    admin_cinder.req("POST", path, json={"os-reset_status": {"status": "available"}})
    restore = cinder.req("POST", f"/backups/{backup['id']}/restore", json={"restore": {}})
    assert restore.status_code == 202
    assert cinder.req("POST", path, json={"os-force_delete": {}}).status_code == 403
    assert admin_cinder.req("POST", path, json={"os-force_delete": {}}).status_code == 202
    cinder.wait(backup["id"], "deleted", "backups")


def test_quotas_count_and_limit_backups(cinder, admin_cinder):
    vol = cinder.create(size=2)
    pid = cinder.project_id
    _backup(cinder, vol["id"])
    usage = check(cinder.req("GET", f"/os-quota-sets/{pid}?usage=True"), "show_quota_set_usage", "quotas")
    assert usage["quota_set"]["backups"]["in_use"] == 1 and usage["quota_set"]["backup_gigabytes"]["in_use"] == 2
    admin_cinder.req("PUT", f"/os-quota-sets/{pid}", json={"quota_set": {"backups": 1}})
    resp = cinder.req("POST", "/backups", json={"backup": {"volume_id": vol["id"]}})
    assert resp.status_code == 413 and "Maximum number of backups allowed (1) exceeded" in resp.text
    admin_cinder.req("PUT", f"/os-quota-sets/{pid}", json={"quota_set": {"backups": 10, "backup_gigabytes": 3}})
    resp = cinder.req("POST", "/backups", json={"backup": {"volume_id": vol["id"]}})
    assert resp.status_code == 413 and "Requested backup exceeds allowed Backup gigabytes quota" in resp.text
    assert cinder.req("GET", f"/volumes/{vol['id']}").json["volume"]["status"] == "available"  # nothing half-made
    assert len(cinder.req("GET", "/backups").json["backups"]) == 1
    limits = cinder.req("GET", "/limits").json["limits"]["absolute"]
    assert (limits["totalBackupsUsed"], limits["totalBackupGigabytesUsed"]) == (1, 2)


def test_a_failed_backup_is_error_and_gives_the_volume_back(cinder, monkeypatch):
    from overcast.drivers.errors import BuildFailed

    def broken(self, ctx, volume_backend_id, idempotency_key, **_):  # noqa: ANN001, ANN202
        raise BuildFailed("local: the backup store is full")

    monkeypatch.setattr(LocalVolumeDriver, "create_backup", broken)
    vol = cinder.create()
    backup = _backup(cinder, vol["id"], wait="error")
    assert "backup store is full" in backup["fail_reason"]
    assert cinder.wait(vol["id"], "available")["status"] == "available"
    [message] = cinder.req("GET", f"/messages?resource_uuid={backup['id']}", "3.3").json["messages"]
    assert (message["event_id"], message["resource_type"], message["user_message"]) == (
        "VOLUME_VOLUME_BACKUP_013_020", "VOLUME_BACKUP", "create backup:Backup driver failed to create backup.")
    assert cinder.req("DELETE", f"/backups/{backup['id']}").status_code == 202
    cinder.wait(backup["id"], "deleted", "backups")


def test_a_driver_without_backups_is_answered_501(cinder, monkeypatch):
    monkeypatch.setattr(LocalVolumeDriver, "capabilities", frozenset(Capability) - {Capability.BACKUP})
    vol = cinder.create()
    resp = cinder.req("POST", "/backups", json={"backup": {"volume_id": vol["id"]}})
    assert resp.status_code == 501
    assert cinder.req("GET", f"/volumes/{vol['id']}").json["volume"]["status"] == "available"
    assert cinder.req("GET", "/backups").json["backups"] == []


def test_export_and_import_a_record(cinder, admin_cinder, cloud):
    vol = cinder.create(imageRef=CIRROS_ID)
    backup = _backup(cinder, vol["id"], name="exported")
    assert cinder.req("GET", f"/backups/{backup['id']}/export_record").status_code == 403
    record = check(admin_cinder.req("GET", f"/backups/{backup['id']}/export_record"), "export_backup",
                   "backups")["backup-record"]
    assert record["backup_service"].startswith("cinder.backup.drivers")
    body = {"backup-record": record}
    resp = admin_cinder.req("POST", "/backups/import_record", json=body)
    assert resp.status_code == 400 and resp.json["badRequest"]["message"] == (
        "Invalid backup: Backup already exists in database.")
    decoded = json.loads(base64.b64decode(record["backup_url"]))
    new_id = str(uuid.uuid4())
    url = base64.b64encode(json.dumps({**decoded, "id": new_id}).encode()).decode()
    imported = check(admin_cinder.req("POST", "/backups/import_record",
                                      json={"backup-record": {**record, "backup_url": url}}),
                     "import_backup", "backups")["backup"]
    assert imported["id"] == new_id and imported["name"] == "exported"
    assert admin_cinder.wait(new_id, "available", "backups")["size"] == 1
    for bad in ({**record, "backup_url": "bm90IGpzb24="}, {**record, "backup_service": "cinder.backup.drivers.swift"},
                {"backup_service": record["backup_service"]}):
        resp = admin_cinder.req("POST", "/backups/import_record", json={"backup-record": bad})
        assert resp.status_code == 400, bad
    assert "backup_url" in resp.json["badRequest"]["message"]
    # the two records share the data: deleting one keeps what the other restores
    admin_cinder.req("DELETE", f"/backups/{backup['id']}")
    admin_cinder.wait(backup["id"], "deleted", "backups")
    restore = admin_cinder.req("POST", f"/backups/{new_id}/restore", json={"restore": {}}).json["restore"]
    admin_cinder.wait(restore["volume_id"], "available")
    assert _bytes(cloud, restore["volume_id"]) == _bytes(cloud, vol["id"])


def test_a_restored_volume_gets_the_metadata_and_bootable_flag(cinder):
    vol = cinder.create(imageRef=CIRROS_ID, metadata={"vol-meta1": "value1"})
    assert vol["bootable"] == "true"
    backup = _backup(cinder, vol["id"])
    restore = cinder.req("POST", f"/backups/{backup['id']}/restore", json={"restore": {}}).json["restore"]
    cinder.wait(backup["id"], "available", "backups")
    restored = cinder.wait(restore["volume_id"], "available")
    assert restored["metadata"]["vol-meta1"] == "value1" and restored["bootable"] == "true"
    assert restored["volume_image_metadata"]["image_id"] == CIRROS_ID


def test_a_volume_made_for_a_restore_is_never_available_before_its_data(cinder, monkeypatch):
    """As Cinder's API answers only once the new volume is made, a client sees it restoring-backup
    until the data is there: a client that waits for ``available`` then finds the data."""
    started, release = threading.Event(), threading.Event()
    restore_backup = LocalVolumeDriver.restore_backup

    def held(self, ctx, backend_id, volume_backend_id):  # noqa: ANN001, ANN202
        started.set()
        assert release.wait(30)
        return restore_backup(self, ctx, backend_id, volume_backend_id)

    monkeypatch.setattr(LocalVolumeDriver, "restore_backup", held)
    vol = cinder.create()
    backup = _backup(cinder, vol["id"])
    restore = cinder.req("POST", f"/backups/{backup['id']}/restore", json={"restore": {}}).json["restore"]
    assert cinder.req("GET", f"/volumes/{restore['volume_id']}").json["volume"]["status"] in (
        "creating", "restoring-backup")
    assert started.wait(30)
    assert cinder.req("GET", f"/volumes/{restore['volume_id']}").json["volume"]["status"] == "restoring-backup"
    assert cinder.req("GET", f"/backups/{backup['id']}").json["backup"]["status"] == "restoring"
    resp = cinder.req("DELETE", f"/backups/{backup['id']}")
    assert resp.status_code == 400  # restoring
    release.set()
    cinder.wait(restore["volume_id"], "available")
    cinder.wait(backup["id"], "available", "backups")


def test_a_create_resumed_after_a_crash_finds_the_backup_the_first_attempt_made(cinder, cloud, monkeypatch):
    """A worker killed after the driver made the backup but before the record said so: the retry
    gets the same backup from the driver (idempotent on the backup's key), not a second copy."""
    calls = []
    create_backup = LocalVolumeDriver.create_backup

    def crash_once(self, ctx, volume_backend_id, idempotency_key, **kw):  # noqa: ANN001, ANN202
        info = create_backup(self, ctx, volume_backend_id, idempotency_key, **kw)
        calls.append(info.backend_id)
        if len(calls) == 1:
            raise Unavailable("worker died after the backend call")
        return info

    monkeypatch.setattr(LocalVolumeDriver, "create_backup", crash_once)
    vol = cinder.create(imageRef=CIRROS_ID)
    backup = _backup(cinder, vol["id"])
    assert len(calls) == 2 and calls[0] == calls[1]
    driver = cloud.app.volume.volume_driver(cloud.app.volume.default_region)
    with driver.store.read() as conn:
        assert conn.execute("SELECT COUNT(*) FROM volume_backup").fetchone()[0] == 1
    assert backup["status"] == "available"


def test_a_volume_created_from_a_backup_at_3_47(cinder, cloud):
    source = cinder.create(imageRef=CIRROS_ID)
    backup = _backup(cinder, source["id"])
    body = {"volume": {"backup_id": backup["id"], "size": 2, "name": "from-backup"}}
    resp = cinder.req("POST", "/volumes", "3.47", json=body)
    assert resp.status_code == 202, resp.text
    created = check(resp, "create_volume", "volumes")["volume"]
    assert created["status"] in ("creating", "restoring-backup")
    volume = cinder.wait(created["id"], "available")
    assert (volume["size"], volume["name"], volume["bootable"]) == (2, "from-backup", "true")
    cinder.wait(backup["id"], "available", "backups")
    assert _bytes(cloud, volume["id"]) == _bytes(cloud, source["id"])
    small = cinder.req("POST", "/volumes", "3.47", json={"volume": {"backup_id": backup["id"], "size": 1}})
    assert small.status_code == 202  # the backup's own size is enough
    cinder.wait(small.json["volume"]["id"], "available")
    cinder.wait(backup["id"], "available", "backups")
    big = cinder.create(size=2)
    big_backup = _backup(cinder, big["id"])
    resp = cinder.req("POST", "/volumes", "3.47", json={"volume": {"backup_id": big_backup["id"], "size": 1}})
    assert resp.status_code == 400 and "backup size" in resp.json["badRequest"]["message"]
    missing = "00000000-0000-0000-0000-000000000000"
    resp = cinder.req("POST", "/volumes", "3.47", json={"volume": {"backup_id": missing, "size": 1}})
    assert resp.status_code == 404


def test_a_failed_restore_leaves_the_volume_error_restoring_and_the_backup_available(cinder, monkeypatch):
    from overcast.drivers.errors import DriverError

    def broken(self, ctx, backend_id, volume_backend_id):  # noqa: ANN001, ANN202
        raise DriverError("local: the backup file is unreadable")

    vol = cinder.create()
    backup = _backup(cinder, vol["id"])
    monkeypatch.setattr(LocalVolumeDriver, "restore_backup", broken)
    target = cinder.create()
    cinder.req("POST", f"/backups/{backup['id']}/restore", json={"restore": {"volume_id": target["id"]}})
    assert cinder.wait(target["id"], "error_restoring")["status"] == "error_restoring"
    assert cinder.wait(backup["id"], "available", "backups")["status"] == "available"
    events = [m["event_id"] for m in cinder.req("GET", "/messages", "3.3").json["messages"]]
    assert "VOLUME_VOLUME_BACKUP_015_026" in events
