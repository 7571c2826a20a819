"""Unshelve into a zone (2.77) and onto a host (2.91, admin), with Nova's faults, on a local cloud of
two hosts in two zones (``overcast-local-1`` in ``nova``, ``overcast-local-2`` in ``az2``)."""

from __future__ import annotations

import dataclasses

import pytest


HOST_1, HOST_2 = "overcast-local-1", "overcast-local-2"


@pytest.fixture
def settings(settings):  # noqa: ANN001, ANN201
    return dataclasses.replace(settings, clouds=tuple(
        dataclasses.replace(c, options={**c.options, "hosts": 2, "zones": ["nova", "az2"]}) for c in settings.clouds))


def shelved(nova, **server) -> str:  # noqa: ANN001
    sid = nova.create("s", **server).json["server"]["id"]
    assert nova.action(sid, {"shelve": None}).status_code == 202
    nova.wait(sid, "SHELVED_OFFLOADED")
    return sid


def placed(admin_nova, sid: str) -> tuple[str, str, str | None]:  # noqa: ANN001
    server = admin_nova.req("GET", f"/servers/{sid}", "2.96").json["server"]
    return server["OS-EXT-AZ:availability_zone"], server["OS-EXT-SRV-ATTR:host"], server["pinned_availability_zone"]


def test_unshelve_into_a_zone_2_77(nova, admin_nova):
    sid = shelved(nova, availability_zone="nova")
    before = nova.action(sid, {"unshelve": {"availability_zone": "az2"}}, "2.76")
    assert before.status_code == 202  # before 2.77 the body is not read: unshelved where it was
    nova.wait(sid, "ACTIVE")
    assert placed(admin_nova, sid)[:2] == ("nova", HOST_1)
    assert nova.action(sid, {"unshelve": {"availability_zone": "az2"}}, "2.77").status_code == 409  # ACTIVE
    assert nova.action(sid, {"shelve": None}).status_code == 202
    nova.wait(sid, "SHELVED_OFFLOADED")
    unknown = nova.action(sid, {"unshelve": {"availability_zone": "nowhere"}}, "2.77")
    assert unknown.status_code == 400
    assert unknown.json["badRequest"]["message"] == "The requested availability zone is not available"
    assert nova.action(sid, {"unshelve": {}}, "2.77").status_code == 400  # the zone is required in the object
    assert nova.action(sid, {"unshelve": {"availability_zone": None}}, "2.90").status_code == 400  # null from 2.91
    assert nova.action(sid, {"unshelve": {"host": HOST_2}}, "2.90").status_code == 400  # host from 2.91
    moved = nova.action(sid, {"unshelve": {"availability_zone": "az2"}}, "2.77")
    assert moved.status_code == 202, moved.text
    nova.wait(sid, "ACTIVE")
    assert placed(admin_nova, sid) == ("az2", HOST_2, "az2")  # the zone asked is now the pinned one


def test_unshelve_to_host_2_91(nova, admin_nova):
    sid = shelved(nova, availability_zone="nova")
    mine = nova.action(sid, {"unshelve": {"host": HOST_2}}, "2.91")
    assert mine.status_code == 403  # os_compute_api:os-shelve:unshelve_to_host is the admin's
    assert "unshelve_to_host" in mine.json["forbidden"]["message"]
    outside = admin_nova.action(sid, {"unshelve": {"host": HOST_2}}, "2.91")  # pinned to nova, host in az2
    assert outside.status_code == 409
    assert outside.json["conflictingRequest"]["message"] == f'Host "{HOST_2}" is not in the availability zone "nova".'
    missing = admin_nova.action(sid, {"unshelve": {"host": "no-such-host"}}, "2.91")
    assert missing.status_code == 400 and "no-such-host" in missing.json["badRequest"]["message"]
    mismatch = admin_nova.action(sid, {"unshelve": {"availability_zone": "nova", "host": HOST_2}}, "2.91")
    assert mismatch.status_code == 409
    assert nova.req("GET", f"/servers/{sid}").json["server"]["status"] == "SHELVED_OFFLOADED"  # nothing started
    unpinned = admin_nova.action(sid, {"unshelve": {"availability_zone": None, "host": HOST_2}}, "2.91")
    assert unpinned.status_code == 202, unpinned.text
    nova.wait(sid, "ACTIVE")
    zone, host, pinned = placed(admin_nova, sid)
    assert (zone, host, pinned) == ("az2", HOST_2, None)
    assert admin_nova.action(sid, {"unshelve": {"host": HOST_1}}, "2.91").status_code == 409  # not shelved
    assert nova.action(sid, {"shelve": None}).status_code == 202
    nova.wait(sid, "SHELVED_OFFLOADED")
    assert nova.action(sid, {"unshelve": {"availability_zone": "nova"}}, "2.91").status_code == 202  # pins again
    nova.wait(sid, "ACTIVE")
    assert placed(admin_nova, sid) == ("nova", HOST_1, "nova")
