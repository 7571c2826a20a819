"""``os-migrations``: a record for every resize, its statuses, filters, paging and views."""

from __future__ import annotations

import pytest
from tempest.lib.common import api_version_request as avr
from tempest.lib.services.compute.migrations_client import MigrationsClient

from overcast.drivers.errors import Conflict
from tests.compute.conftest import check

VERSIONS = ("2.1", "2.22", "2.23", "2.58", "2.59", "2.79", "2.80", "2.90")


def at_least(version: str, first: str) -> bool:
    return avr.APIVersionRequest(version) >= avr.APIVersionRequest(first)


def schema(version: str):  # noqa: ANN201
    """Tempest's migrations schema for ``version``, picked as its migrations client picks it."""
    for info in MigrationsClient.schema_versions_info:
        if (info["min"] is None or at_least(version, info["min"])) and (
                info["max"] is None or at_least(info["max"], version)):
            return info["schema"]
    raise LookupError(version)


@pytest.fixture
def resized(nova):
    """A server resized from m1.tiny to m1.small and confirmed, and one waiting in VERIFY_RESIZE."""
    confirmed = nova.create("confirmed").json["server"]["id"]
    waiting = nova.create("waiting").json["server"]["id"]
    for sid in (confirmed, waiting):
        assert nova.action(sid, {"resize": {"flavorRef": "2"}}).status_code == 202
        nova.wait(sid, "VERIFY_RESIZE")
    assert nova.action(confirmed, {"confirmResize": None}).status_code == 204
    nova.wait(confirmed, "ACTIVE")
    return confirmed, waiting


def listed(admin_nova, query: str = "", version: str = "2.1") -> list[dict]:
    resp = admin_nova.req("GET", "/os-migrations" + query, version)
    check(resp, "list_migrations", module=schema(version))
    return resp.json["migrations"]


def test_every_resize_is_recorded(admin_nova, resized):
    confirmed, waiting = resized
    host = admin_nova.req("GET", f"/servers/{waiting}").json["server"]["OS-EXT-SRV-ATTR:host"]
    for version in VERSIONS:
        found = {m["instance_uuid"]: m for m in listed(admin_nova, version=version)}
        assert set(found) == {confirmed, waiting}
        assert (found[confirmed]["status"], found[waiting]["status"]) == ("confirmed", "finished")
        m = found[waiting]
        assert (m["source_compute"], m["dest_compute"], m["source_node"], m["dest_node"]) == (host,) * 4
        assert (m["old_instance_type_id"], m["new_instance_type_id"], m["dest_host"]) == (1, 2, "127.0.0.1")
        assert ("migration_type" in m) is at_least(version, "2.23") and ("uuid" in m) is at_least(version, "2.59")
        assert ("project_id" in m) is at_least(version, "2.80")
        if at_least(version, "2.23"):
            assert m["migration_type"] == "resize" and "links" not in m  # Nova links live migrations only


def test_revert_failure_and_delete(nova, admin_nova, compute, monkeypatch):
    sid = nova.create("r").json["server"]["id"]
    nova.action(sid, {"resize": {"flavorRef": "2"}})
    nova.wait(sid, "VERIFY_RESIZE")
    nova.action(sid, {"revertResize": None})
    nova.wait(sid, "ACTIVE")
    assert [m["status"] for m in listed(admin_nova)] == ["reverted"]
    driver = compute.app.compute.compute_driver("RegionOne")

    def broken(*_):
        raise Conflict("no room on the host")

    monkeypatch.setattr(driver, "resize", broken)
    nova.action(sid, {"resize": {"flavorRef": "3"}})
    nova.wait(sid, "ACTIVE")
    assert [m["status"] for m in listed(admin_nova, "?instance_uuid=" + sid)] == ["reverted", "error"]
    nova.req("DELETE", f"/servers/{sid}")
    nova.wait(sid, "GONE")
    assert listed(admin_nova) == []  # a deleted server's migrations go with it


def test_filters(nova, admin_nova, resized, compute):
    confirmed, waiting = resized
    host = admin_nova.req("GET", f"/servers/{waiting}").json["server"]["OS-EXT-SRV-ATTR:host"]

    def ids(query, version="2.1"):
        return sorted(m["instance_uuid"] for m in listed(admin_nova, query, version))

    both = sorted([confirmed, waiting])
    assert ids("?status=finished") == [waiting]
    assert ids(f"?instance_uuid={confirmed}") == [confirmed]
    assert ids(f"?host={host}") == ids(f"?source_compute={host}") == both
    assert ids("?host=elsewhere") == ids("?migration_type=live-migration") == []
    assert ids("?migration_type=resize") == both
    assert ids("?hidden=0") == both and ids("?hidden=1") == []
    assert ids("?changes-since=2000-01-01T00:00:00Z") == both  # ignored before 2.59 ...
    assert ids("?changes-since=2999-01-01T00:00:00Z", "2.59") == []  # ... a filter from it
    assert ids("?changes-before=2000-01-01T00:00:00Z", "2.66") == []
    reversed_window = admin_nova.req("GET", "/os-migrations?changes-since=2999-01-01T00:00:00Z"
                                            "&changes-before=2000-01-01T00:00:00Z", "2.66")
    assert reversed_window.status_code == 400
    demo = nova.req("GET", f"/servers/{waiting}").json["server"]["tenant_id"]
    assert ids(f"?project_id={demo}", "2.80") == both and ids("?user_id=nobody", "2.80") == []
    assert nova.req("GET", "/os-migrations").status_code == 403  # admin only


def test_unknown_parameters(admin_nova, resized):
    assert len(listed(admin_nova, "?bogus=1", "2.58")) == 2  # Nova's schema allowed anything before 2.59
    resp = admin_nova.req("GET", "/os-migrations?bogus=1", "2.59")
    assert resp.status_code == 400 and "'bogus' was unexpected" in resp.json["badRequest"]["message"]
    assert admin_nova.req("GET", "/os-migrations?user_id=x", "2.79").status_code == 400
    assert admin_nova.req("GET", "/os-migrations?hidden=maybe").status_code == 400


def test_paging_newest_first(nova, admin_nova, resized):
    confirmed, waiting = resized
    assert [m["instance_uuid"] for m in listed(admin_nova, version="2.59")] == [waiting, confirmed]
    page = admin_nova.req("GET", "/os-migrations?limit=1", "2.59")
    assert [m["instance_uuid"] for m in page.json["migrations"]] == [waiting]
    marker = page.json["migrations"][0]["uuid"]
    assert f"marker={marker}" in page.json["migrations_links"][0]["href"]
    rest = admin_nova.req("GET", f"/os-migrations?limit=1&marker={marker}", "2.59").json
    assert [m["instance_uuid"] for m in rest["migrations"]] == [confirmed]
    assert listed(admin_nova, "?limit=0", "2.59") == []
    bad = admin_nova.req("GET", "/os-migrations?marker=nope", "2.59")
    assert bad.status_code == 400 and bad.json["badRequest"]["message"] == "Marker nope could not be found."
    assert admin_nova.req("GET", "/os-migrations?limit=-1", "2.59").status_code == 400
