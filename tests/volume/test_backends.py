"""The region's storage for admins: os-services (filters, enable/disable, freeze/thaw), os-hosts,
scheduler-stats/get_pools and capabilities; a disabled volume service gets no new volumes."""

from __future__ import annotations

from cinder_helpers import check

BACKEND = "overcast-local@lvmdriver-1"


def test_services_filter_by_host_level_and_binary(cinder, admin_cinder):
    services = check(admin_cinder.req("GET", "/os-services"), "list_services", "services")["services"]
    assert {(s["binary"], s["host"]) for s in services} == {("cinder-scheduler", "regionone-controller"),
                                                           ("cinder-volume", BACKEND)}
    vol = cinder.create()
    host = admin_cinder.req("GET", f"/volumes/{vol['id']}").json["volume"]["os-vol-host-attr:host"]
    assert host == f"{BACKEND}#lvmdriver-1"
    by_host = admin_cinder.req("GET", "/os-services?host=overcast-local&binary=cinder-volume").json["services"]
    assert [s["host"] for s in by_host] == [BACKEND]
    assert admin_cinder.req("GET", f"/os-services?host={BACKEND}").json["services"][0]["binary"] == "cinder-volume"
    assert admin_cinder.req("GET", "/os-services?host=overcast").json["services"] == []
    clustered = check(admin_cinder.req("GET", "/os-services", "3.7"), "list_services", "services", "v3_7")
    assert all(s["cluster"] is None for s in clustered["services"])


def test_enable_disable_and_a_disabled_backend_gets_no_volumes(cinder, admin_cinder):
    body = {"host": BACKEND, "binary": "cinder-volume"}
    assert cinder.req("PUT", "/os-services/disable", json=body).status_code == 403
    assert admin_cinder.req("PUT", "/os-services/enable", json={**body, "host": "nowhere"}).status_code == 404
    assert admin_cinder.req("PUT", "/os-services/disable", json={**body, "binary": "nothing"}).status_code == 404
    assert admin_cinder.req("PUT", "/os-services/disable-log-reason",
                            json={**body, "disabled_reason": None}).status_code == 400
    assert admin_cinder.req("PUT", "/os-services/reboot", json=body).status_code == 400
    disabled = check(admin_cinder.req("PUT", "/os-services/disable-log-reason",
                                      json={**body, "disabled_reason": "maintenance"}),
                     "disable_log_reason", "services")
    assert disabled["status"] == "disabled" and disabled["disabled_reason"] == "maintenance"
    listed = admin_cinder.req("GET", "/os-services?binary=cinder-volume").json["services"][0]
    assert (listed["status"], listed["disabled_reason"]) == ("disabled", "maintenance")
    vol = cinder.create(wait="error")
    messages = cinder.req("GET", f"/messages?resource_uuid={vol['id']}", "3.5").json["messages"]
    assert [m["event_id"] for m in messages] == ["VOLUME_VOLUME_001_003"]
    check(admin_cinder.req("PUT", "/os-services/enable", json=body), "enable_service", "services")
    check(admin_cinder.req("PUT", "/os-services/disable", json=body), "disable_service", "services")
    check(admin_cinder.req("PUT", "/os-services/enable", json=body), "enable_service", "services")
    assert cinder.create()["status"] == "available"


def test_freeze_and_thaw(cinder, admin_cinder):
    assert admin_cinder.req("PUT", "/os-services/freeze", json={"host": "nowhere"}).status_code == 400
    assert admin_cinder.req("PUT", "/os-services/thaw", json={"host": BACKEND}).status_code == 400
    check(admin_cinder.req("PUT", "/os-services/freeze", json={"host": BACKEND}), "freeze_host", "services")
    frozen = admin_cinder.req("GET", "/os-services?binary=cinder-volume").json["services"][0]
    assert frozen["frozen"] is True and frozen["status"] == "disabled"
    assert admin_cinder.req("PUT", "/os-services/freeze", json={"host": BACKEND}).status_code == 400
    cinder.create(wait="error")
    check(admin_cinder.req("PUT", "/os-services/thaw", json={"host": BACKEND}), "thaw_host", "services")
    thawed = admin_cinder.req("GET", "/os-services?binary=cinder-volume").json["services"][0]
    assert (thawed["frozen"], thawed["status"]) == (False, "enabled")


def test_hosts(cinder, admin_cinder):
    assert cinder.req("GET", "/os-hosts").status_code == 403
    hosts = check(admin_cinder.req("GET", "/os-hosts"), "list_hosts", "hosts")["hosts"]
    assert {(h["host_name"], h["service"]) for h in hosts} >= {(BACKEND, "cinder-volume")}
    cinder.create(size=2)
    vol = cinder.create(size=1)
    cinder.wait(cinder.req("POST", "/snapshots", json={"snapshot": {"volume_id": vol["id"]}}).json["snapshot"]["id"],
                "available", "snapshots")
    shown = check(admin_cinder.req("GET", f"/os-hosts/{BACKEND}"), "show_host", "hosts")["host"]
    total, mine = shown[0]["resource"], shown[1]["resource"]
    assert (total["project"], total["volume_count"], total["total_volume_gb"]) == ("(total)", "2", "3")
    assert (mine["project"], mine["snapshot_count"], mine["total_snapshot_gb"]) == (cinder.project_id, "1", "1")
    assert admin_cinder.req("GET", "/os-hosts/regionone-controller").status_code == 404
    assert admin_cinder.req("GET", "/os-hosts/nowhere").status_code == 404


def test_pools_and_capabilities(cinder, admin_cinder):
    assert cinder.req("GET", "/scheduler-stats/get_pools").status_code == 403
    pools = check(admin_cinder.req("GET", "/scheduler-stats/get_pools"), "get_pools_no_detail",
                  "scheduler_stats")["pools"]
    assert pools == [{"name": f"{BACKEND}#lvmdriver-1"}]
    detail = check(admin_cinder.req("GET", "/scheduler-stats/get_pools?detail=True"), "get_pools_with_detail",
                   "scheduler_stats")["pools"][0]["capabilities"]
    assert (detail["vendor_name"], detail["volume_backend_name"], detail["storage_protocol"]) == (
        "Open Source", "lvmdriver-1", "iSCSI")
    for host in (BACKEND, f"{BACKEND}#lvmdriver-1"):
        caps = check(admin_cinder.req("GET", f"/capabilities/{host}"), "show_backend_capabilities", "capabilities")
        assert caps["namespace"] == f"OS::Storage::Capabilities::{BACKEND}" and caps["pool_name"] == "lvmdriver-1"
    assert admin_cinder.req("GET", "/capabilities/overcast-local").status_code == 404
    assert cinder.req("GET", f"/capabilities/{BACKEND}").status_code == 403


def test_extensions_name_what_is_served(cinder):
    extensions = check(cinder.req("GET", "/extensions"), "list_extensions", "extensions")["extensions"]
    names = {e["alias"]: e["name"] for e in extensions}
    assert names["os-hosts"] == "Hosts" and names["os-volume-transfer"] == "VolumeTransfer"
    assert {alias: names.get(alias) for alias in ("os-volume-manage", "os-volume-unmanage", "os-snapshot-manage",
                                                  "os-snapshot-unmanage")} == {
        "os-volume-manage": "VolumeManage", "os-volume-unmanage": "VolumeUnmanage",
        "os-snapshot-manage": "SnapshotManage", "os-snapshot-unmanage": "SnapshotUnmanage"}  # decision 0065
    assert "backups" not in names
