"""The local cloud's backups kept in an S3 bucket (``backup_store = "s3"``, decision 0049), against an
independent moto_server: the objects are read back with boto3 directly, never through Overcast."""

from __future__ import annotations

import base64
import json
import logging
import uuid

import boto3
import pytest
from cinder_helpers import check
from sqlalchemy import select

from overcast.config import load_settings
from overcast.core.image.seed import CIRROS_ID
from overcast.drivers.context import CallContext
from overcast.drivers.registry import DriverConfigError, load_driver
from overcast.store.volume import Volume, VolumeBackup
from overcast.testing.cdn_servers import embedded_edge_settings
from overcast.testing.emulators import MotoServer

BUCKET = "overcast-backups"
PREFIX = "volume_backups/"
KEY = "AKIAOVERCASTBACKUP"
SECRET = "s3-backup-secret-never-shown-9f1c"


@pytest.fixture(scope="module")
def moto():
    server = MotoServer().start()
    yield server
    server.stop()


@pytest.fixture
def s3(moto):
    moto.reset()
    return boto3.client("s3", endpoint_url=moto.endpoint, region_name="us-east-1",
                        aws_access_key_id=KEY, aws_secret_access_key=SECRET)


@pytest.fixture
def settings(tmp_path, monkeypatch, moto, s3):
    """RegionOne's local driver keeps its backups in moto's S3; the key pair is given by reference
    (``env:`` and ``file:``) in a configuration file, as an operator would."""
    for name in list(__import__("os").environ):
        if name.startswith("OVERCAST_"):
            monkeypatch.delenv(name)
    (tmp_path / "secret").write_text(SECRET + "\n")
    config = tmp_path / "overcast.toml"
    config.write_text(f"""
[clouds.RegionOne]
driver = "local"
action_delay = 0
backup_store = "s3"
backup_s3_endpoint = "{moto.endpoint}"
backup_s3_bucket = "{BUCKET}"
backup_s3_key = "env:BACKUP_KEY"
backup_s3_secret = "file:{tmp_path / 'secret'}"
backup_s3_region = "us-east-1"
""")
    return load_settings(config, data_dir=tmp_path / "data", environ={"BACKUP_KEY": KEY},
                         identity={"bcrypt_rounds": 4}, cdn=embedded_edge_settings(),
                         ops={"max_attempts": 2, "backoff_base": 0.05, "backoff_max": 0.1, "breaker_threshold": 100})


def _bytes(cloud, volume_id: str) -> bytes:
    with cloud.app.volume.store.session() as session:
        volume = session.scalar(select(Volume).where(Volume.id == volume_id))
        region, backend_id = volume.cloud, volume.backend_id
    return b"".join(cloud.app.volume.volume_driver(region).read(CallContext(), backend_id))


def _backend_id(cloud, backup_id: str) -> str:
    with cloud.app.volume.store.session() as session:
        return session.scalar(select(VolumeBackup.backend_id).where(VolumeBackup.id == backup_id))


def _objects(s3) -> dict[str, bytes]:
    listed = s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    return {o["Key"]: s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read() for o in listed}


def _backup(cinder, volume_id: str, wait: str | None = "available", **body) -> dict:
    created = check(cinder.req("POST", "/backups", json={"backup": {"volume_id": volume_id, **body}}),
                    "create_backup", "backups")["backup"]
    return cinder.wait(created["id"], wait, "backups") if wait else created


def test_a_backup_is_an_object_in_the_bucket_and_restores_the_same_bytes(cinder, cloud, s3, caplog):
    caplog.set_level(logging.DEBUG)
    with pytest.raises(Exception, match="NoSuchBucket|Not Found|404"):
        s3.head_bucket(Bucket=BUCKET)  # made at the first backup
    vol = cinder.create(imageRef=CIRROS_ID)
    data = _bytes(cloud, vol["id"])
    assert len(data) > 1000
    full = _backup(cinder, vol["id"], name="full")
    backend = _backend_id(cloud, full["id"])
    assert _objects(s3) == {PREFIX + backend: data}
    assert full["object_count"] == 1 and full["size"] == 1

    incremental = _backup(cinder, vol["id"], incremental=True)
    assert incremental["is_incremental"] is True
    assert cinder.req("GET", f"/backups/{full['id']}").json["backup"]["has_dependent_backups"] is True
    assert _objects(s3)[PREFIX + _backend_id(cloud, incremental["id"])] == data  # kept whole

    restore = check(cinder.req("POST", f"/backups/{incremental['id']}/restore", json={"restore": {}}),
                    "restore_backup", "backups")["restore"]
    cinder.wait(restore["volume_id"], "available")
    cinder.wait(incremental["id"], "available", "backups")
    assert _bytes(cloud, restore["volume_id"]) == data

    blank = cinder.create(size=1)  # a blank volume backs up as an empty object and restores blank
    empty = _backup(cinder, blank["id"])
    assert _objects(s3)[PREFIX + _backend_id(cloud, empty["id"])] == b""
    over = cinder.req("POST", f"/backups/{empty['id']}/restore", json={"restore": {"volume_id": restore["volume_id"]}})
    assert over.status_code == 202
    cinder.wait(restore["volume_id"], "available")
    assert _bytes(cloud, restore["volume_id"]) == b""

    for backup in (incremental, full, empty):
        assert cinder.req("DELETE", f"/backups/{backup['id']}").status_code == 202
        cinder.wait(backup["id"], "deleted", "backups")
    assert _objects(s3) == {}
    assert SECRET not in caplog.text


def test_export_import_share_the_object_until_the_last_record_goes(cinder, admin_cinder, cloud, s3):
    vol = cinder.create(imageRef=CIRROS_ID)
    backup = _backup(cinder, vol["id"])
    resp = admin_cinder.req("GET", f"/backups/{backup['id']}/export_record")
    record = check(resp, "export_backup", "backups")["backup-record"]
    assert record["backup_service"] == "cinder.backup.drivers.s3.S3BackupDriver"
    assert SECRET not in json.dumps(resp.json) and SECRET not in base64.b64decode(record["backup_url"]).decode()
    decoded = json.loads(base64.b64decode(record["backup_url"]))
    new_id = str(uuid.uuid4())
    url = base64.b64encode(json.dumps({**decoded, "id": new_id}).encode()).decode()
    posix = admin_cinder.req("POST", "/backups/import_record", json={"backup-record": {
        "backup_service": "cinder.backup.drivers.posix.PosixBackupDriver", "backup_url": url}})
    assert posix.status_code == 400  # a record of another store is refused
    imported = admin_cinder.req("POST", "/backups/import_record",
                                json={"backup-record": {**record, "backup_url": url}})
    assert imported.status_code == 201, imported.json
    admin_cinder.wait(new_id, "available", "backups")
    [key] = _objects(s3)

    admin_cinder.req("DELETE", f"/backups/{backup['id']}")
    admin_cinder.wait(backup["id"], "deleted", "backups")
    assert list(_objects(s3)) == [key]  # the imported record still holds it
    restore = admin_cinder.req("POST", f"/backups/{new_id}/restore", json={"restore": {}}).json["restore"]
    admin_cinder.wait(restore["volume_id"], "available")
    assert _bytes(cloud, restore["volume_id"]) == _bytes(cloud, vol["id"])
    admin_cinder.wait(new_id, "available", "backups")
    admin_cinder.req("DELETE", f"/backups/{new_id}")
    admin_cinder.wait(new_id, "deleted", "backups")
    assert _objects(s3) == {}


def test_an_unreachable_store_ends_the_backup_in_error_and_leaves_nothing(cinder, cloud, moto, s3, caplog):
    caplog.set_level(logging.DEBUG)
    vol = cinder.create(imageRef=CIRROS_ID)
    moto.stop()
    try:
        backup = _backup(cinder, vol["id"], wait="error")
        assert "could not write backup" in backup["fail_reason"]
        assert cinder.wait(vol["id"], "available")["status"] == "available"
        assert SECRET not in json.dumps(cinder.req("GET", f"/backups/{backup['id']}").json)
    finally:
        moto.start()
    assert SECRET not in caplog.text  # botocore's own DEBUG lines included
    assert not [r for r in caplog.records if r.levelno >= logging.INFO and KEY in r.getMessage()]
    s3.create_bucket(Bucket=BUCKET)  # moto forgot everything: nothing half-made can be there
    assert _objects(s3) == {}
    assert cinder.req("DELETE", f"/backups/{backup['id']}").status_code == 202
    cinder.wait(backup["id"], "deleted", "backups")
    again = _backup(cinder, vol["id"])  # the store is back: a new backup works
    assert list(_objects(s3)) == [PREFIX + _backend_id(cloud, again["id"])]


@pytest.mark.parametrize(("options", "named"), [
    ({"backup_store": "swift"}, "backup_store"),
    ({"backup_store": "s3"}, "backup_s3_bucket"),
    ({"backup_store": "s3", "backup_s3_bucket": "Bad_Bucket"}, "backup_s3_bucket"),
    ({"backup_store": "s3", "backup_s3_bucket": "b-1", "backup_s3_endpoint": "ftp://x"}, "backup_s3_endpoint"),
    ({"backup_store": "s3", "backup_s3_bucket": "b-1", "backup_s3_endpoint": f"http://k:{SECRET}@h"},
     "backup_s3_endpoint"),
    ({"backup_store": "s3", "backup_s3_bucket": "b-1", "backup_s3_key": "k"}, "backup_s3_secret"),
    ({"backup_store": "s3", "backup_s3_bucket": "b-1", "backup_s3_secret": SECRET}, "backup_s3_key"),
    ({"backup_store": "s3", "backup_s3_bucket": "b-1", "backup_s3_region": "Not A Region"}, "backup_s3_region"),
    ({"backup_s3_bucket": "b-1"}, "backup_s3_bucket"),
    ({"backup_store": "s3", "backup_s3_bucket": "b-1", "backup_s3_sse": "x"}, "backup_s3_sse"),
])
def test_a_wrong_option_fails_at_load_naming_it(tmp_path, options, named):
    with pytest.raises(DriverConfigError) as caught:
        load_driver("local", options, tmp_path)
    assert named in str(caught.value) and SECRET not in str(caught.value)
    # an unknown key is refused by name; every other case is refused for its value
    assert ("does not take" in str(caught.value)) == (named == "backup_s3_sse")


def test_coverage_says_where_backups_are_kept_and_never_the_secret(tmp_path, monkeypatch):
    """``overcast coverage`` loads the drivers (S3 is not reached: the bucket is made at the first backup)."""
    from click.testing import CliRunner

    from overcast.cli import main

    config = tmp_path / "overcast.toml"
    config.write_text('[clouds.RegionOne]\ndriver = "local"\nbackup_store = "s3"\nbackup_s3_bucket = "b-1"\n'
                      'backup_s3_endpoint = "http://127.0.0.1:9"\nbackup_s3_key = "k"\n'
                      'backup_s3_secret = "env:BACKUP_SECRET"\n\n[clouds.files]\ndriver = "local"\n')
    monkeypatch.setenv("BACKUP_SECRET", SECRET)
    result = CliRunner().invoke(main, ["--data-dir", str(tmp_path / "data"), "--config", str(config), "coverage",
                                       "--service", "volume"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    rows = {tuple(line.split()[:3]): line for line in result.output.splitlines() if line.startswith("  ")}
    assert "cinder.backup.drivers.s3.S3BackupDriver: S3 bucket b-1 at http://127.0.0.1:9" in rows[
        ("RegionOne", "local", "backups")]
    assert "PosixBackupDriver: files under the data directory" in rows[("files", "local", "backups")]
    assert SECRET not in result.output


def test_a_large_volume_goes_up_in_parts_and_comes_back_whole(tmp_path, moto, s3):
    """Above the multipart threshold the object is a multipart upload (S3's ETag ``<md5>-<parts>``)."""
    from overcast.drivers.local.backups import MULTIPART_THRESHOLD
    from overcast.drivers.volume import VolumeRequest

    bundle = load_driver("local", {"backup_store": "s3", "backup_s3_bucket": BUCKET, "backup_s3_endpoint": moto.endpoint,
                                   "backup_s3_key": KEY, "backup_s3_secret": SECRET, "backup_s3_region": "us-east-1"},
                         tmp_path)
    driver, ctx = bundle.volume, CallContext()
    try:
        data = uuid.uuid4().bytes * (MULTIPART_THRESHOLD // 16 + 4096)
        source = driver.create(ctx, VolumeRequest(name="big", size_gb=1, idempotency_key="big", image_id="img",
                                                  image_data=iter([data])))
        backup = driver.create_backup(ctx, source, "big-backup")
        assert backup.size_bytes == len(data)
        head = s3.head_object(Bucket=BUCKET, Key=PREFIX + backup.backend_id)
        assert head["ContentLength"] == len(data) and head["ETag"].strip('"').endswith("-2")
        target = driver.create(ctx, VolumeRequest(name="dst", size_gb=1, idempotency_key="dst"))
        driver.restore_backup(ctx, backup.backend_id, target)
        assert b"".join(driver.read(ctx, target)) == data
        assert not list((tmp_path / "local-volumes").glob("*.part"))
        driver.delete_backup(ctx, backup.backend_id)
        assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0
    finally:
        bundle.close()


def test_an_unreachable_store_at_restore_or_delete_keeps_the_record(cinder, cloud, moto, s3):
    """Restore: the volume ends ``error_restoring``, the backup ``available``; delete: the backup
    ends ``error`` and its record stays, to be deleted again once the store is back."""
    vol = cinder.create(imageRef=CIRROS_ID)
    backup = _backup(cinder, vol["id"])
    moto.stop()
    try:
        restore = cinder.req("POST", f"/backups/{backup['id']}/restore", json={"restore": {}}).json["restore"]
        assert cinder.wait(restore["volume_id"], "error_restoring")["status"] == "error_restoring"
        assert cinder.wait(backup["id"], "available", "backups")["status"] == "available"
        assert cinder.req("DELETE", f"/backups/{backup['id']}").status_code == 202
        failed = cinder.wait(backup["id"], "error", "backups")
        assert "could not delete backup" in failed["fail_reason"] and SECRET not in json.dumps(failed)
    finally:
        moto.start()
    assert cinder.req("DELETE", f"/backups/{backup['id']}").status_code == 202  # moto forgot the bucket
    cinder.wait(backup["id"], "deleted", "backups")


def test_a_failure_wrapped_by_boto3s_transfer_keeps_its_kind():
    """An upload's 5xx reaches the driver wrapped in boto3's S3UploadFailedError: still retryable;
    a refusal (403) is not."""
    from boto3.exceptions import S3UploadFailedError
    from botocore.exceptions import ClientError

    from overcast.drivers.errors import DriverError, Unavailable
    from overcast.drivers.local.backups import S3BackupStore

    def wrapped(status: int, code: str) -> Exception:
        try:
            try:
                raise ClientError({"Error": {"Code": code, "Message": code},
                                   "ResponseMetadata": {"HTTPStatusCode": status}}, "UploadPart")
            except ClientError as exc:
                raise S3UploadFailedError(f"Failed to upload: {exc}") from None
        except S3UploadFailedError as exc:
            return exc

    store = S3BackupStore(BUCKET, client=object())
    assert isinstance(store._failure("write backup b", wrapped(503, "SlowDown")), Unavailable)
    refused = store._failure("write backup b", wrapped(403, "AccessDenied"))
    assert type(refused) is DriverError and "AccessDenied" in str(refused)
