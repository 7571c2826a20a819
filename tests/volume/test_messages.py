"""The scheduler matches volume types against the backend's pools, and failures leave user
messages (/messages, 3.3+)."""

from __future__ import annotations

import pytest
from cinder_helpers import check

from overcast.core.volume.scheduler import matches


def _type(admin_cinder, name: str, **specs: str) -> dict:
    resp = admin_cinder.req("POST", "/types", json={"volume_type": {"name": name, "extra_specs": specs}})
    return resp.json["volume_type"]


@pytest.mark.parametrize("value,requirement,expected", [
    ("iSCSI", "iSCSI", True), ("iSCSI", "FC", False), (True, "<is> True", True), (False, "<is> True", False),
    ("thin,thick", "<in> thick", True), ("b", "<or> a <or> b", True), ("c", "<or> a <or> b", False),
    (100, ">= 50", True), (10, ">= 50", False), ("infinite", ">= 50", False), ("x", "s== x", True),
    (None, "anything", False),
])
def test_extra_spec_operators(value, requirement, expected):
    assert matches(value, requirement) is expected


def test_an_unsatisfiable_type_errors_the_volume_with_a_message(cinder, admin_cinder):
    bogus = _type(admin_cinder, "bogus", storage_protocol="carrier-pigeon", vendor_name="Nobody")
    _type(admin_cinder, "fine", storage_protocol="iSCSI", vendor_name="Open Source",
          **{"capabilities:volume_backend_name": "lvmdriver-1", "qos:read_iops": "100"})
    assert cinder.create(volume_type="fine")["status"] == "available"
    vol = cinder.create(volume_type=bogus["id"], wait="error")
    assert cinder.req("GET", "/messages").status_code == 404  # messages came with 3.3
    listed = check(cinder.req("GET", "/messages", "3.3"), "list_messages", "messages")["messages"]
    message = next(m for m in listed if m["resource_uuid"] == vol["id"])
    assert (message["event_id"], message["resource_type"], message["message_level"]) == (
        "VOLUME_VOLUME_001_003", "VOLUME", "ERROR")
    assert message["user_message"] == "schedule allocate volume:Could not find any available weighted backend."
    shown = check(cinder.req("GET", f"/messages/{message['id']}", "3.3"), "show_message", "messages")
    assert shown["message"]["guaranteed_until"] > shown["message"]["created_at"]
    alt = cinder.req("GET", f"/messages/{message['id']}", "3.3",
                     token=cinder.cloud.token("alt_demo", "alt_demo"))
    assert alt.status_code == 404
    assert admin_cinder.req("GET", f"/messages/{message['id']}", "3.3").status_code == 200
    assert cinder.req("GET", "/messages?event_id=VOLUME_VOLUME_001_003&limit=1", "3.5").json["messages"]
    assert cinder.req("GET", "/messages?event_id=nothing", "3.5").json["messages"] == []
    check(cinder.req("DELETE", f"/messages/{message['id']}", "3.3"), "delete_message", "messages")
    assert cinder.req("GET", f"/messages/{message['id']}", "3.3").status_code == 404


def test_a_failed_create_on_the_backend_leaves_its_own_message(cinder):
    vol = cinder.create(metadata={"overcast:fail_create": "true"}, wait="error")
    messages = cinder.req("GET", f"/messages?resource_uuid={vol['id']}", "3.5").json["messages"]
    assert [m["user_message"] for m in messages] == [
        "create volume from backend storage:Driver failed to create the volume."]


def test_expired_messages_are_hidden_then_purged(cloud, cinder):
    import datetime as dt

    from overcast.core.volume import messages

    store = cloud.app.volume.store
    with store.session() as session:
        old = messages.record(session, project_id=cinder.project_id, resource_type=messages.VOLUME,
                              resource_uuid="00000000-0000-0000-0000-000000000001",
                              action=messages.EXTEND_VOLUME, detail=messages.DRIVER_FAILED_EXTEND, request_id=None)
        old.expires_at = old.created_at - dt.timedelta(seconds=1)
        old_id = old.id
    assert cinder.req("GET", f"/messages/{old_id}", "3.3").status_code == 404
    with store.session() as session:
        assert messages.purge_expired(session) == 1
