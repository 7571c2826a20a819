"""Hypervisors, services, aggregates, usage and extensions (admin views), checked against Tempest."""

from __future__ import annotations

import datetime as dt

import pytest
from schemas import check
from sqlalchemy import select

from overcast.store.compute import Server
from overcast.store.models import Project


def _place_server(store, host, **kw):  # noqa: ANN001, ANN202
    with store.session() as session:
        project = session.scalar(select(Project.id).where(Project.name == "demo"))
        server = Server(cloud="RegionOne", project_id=project, user_id="u", name="vm", flavor_id="2", host=host,
                        flavor={"vcpus": 1, "ram": 2048, "disk": 20, "ephemeral": 0, "original_name": "m1.small"},
                        vm_state="active", task_state=None, **kw)
        session.add(server)
        session.flush()
        return project, server.id


def test_hypervisors(admin, demo, seeded):
    assert demo("GET", "/os-hypervisors").status_code == 403
    listed = admin("GET", "/os-hypervisors").json["hypervisors"]
    host = listed[0]["hypervisor_hostname"]
    _place_server(seeded.app.compute.store, host)
    detail = check(admin("GET", "/os-hypervisors/detail"), "v2_1.hypervisors", "list_hypervisors_detail")
    assert detail["hypervisors"][0]["running_vms"] == 1 and detail["hypervisors"][0]["vcpus_used"] == 1
    stats = check(admin("GET", "/os-hypervisors/statistics"), "v2_1.hypervisors", "get_hypervisor_statistics")
    assert stats["hypervisor_statistics"]["count"] == len(listed)
    hid = listed[0]["id"]
    check(admin("GET", f"/os-hypervisors/{hid}"), "v2_1.hypervisors", "get_hypervisor")
    check(admin("GET", f"/os-hypervisors/{host}/search"), "v2_1.hypervisors", "list_search_hypervisors")
    servers = check(admin("GET", f"/os-hypervisors/{host}/servers"), "v2_1.hypervisors", "get_hypervisors_servers")
    assert len(servers["hypervisors"][0]["servers"]) == 1
    assert admin("GET", "/os-hypervisors/nomatch/search").status_code == 404
    new = check(admin("GET", "/os-hypervisors/detail", "2.53"), "v2_53.hypervisors", "list_hypervisors_detail")
    uuid = new["hypervisors"][0]["id"]
    assert len(uuid) == 36
    check(admin("GET", f"/os-hypervisors/{uuid}?with_servers=true", "2.53"), "v2_53.hypervisors", "get_hypervisor")
    assert admin("GET", f"/os-hypervisors/{host}/search", "2.53").status_code == 404
    assert admin("GET", "/os-hypervisors/9999").status_code == 404


def test_hypervisor_uptime(admin, demo):
    hid = admin("GET", "/os-hypervisors").json["hypervisors"][0]["id"]
    assert demo("GET", f"/os-hypervisors/{hid}/uptime").status_code == 403
    shown = check(admin("GET", f"/os-hypervisors/{hid}/uptime"), "v2_1.hypervisors", "get_hypervisor_uptime")
    assert " up " in shown["hypervisor"]["uptime"] and "load average" in shown["hypervisor"]["uptime"]
    uuid = admin("GET", "/os-hypervisors", "2.88").json["hypervisors"][0]["id"]
    assert admin("GET", f"/os-hypervisors/{uuid}/uptime", "2.88").status_code == 404
    assert " up " in admin("GET", f"/os-hypervisors/{uuid}", "2.88").json["hypervisor"]["uptime"]
    assert admin("GET", "/os-hypervisors/9999/uptime").status_code == 404


def test_os_hosts(admin, demo, seeded):
    assert demo("GET", "/os-hosts").status_code == 403
    hosts = check(admin("GET", "/os-hosts"), "v2_1.hosts", "list_hosts")["hosts"]
    assert {h["service"] for h in hosts} >= {"compute", "conductor", "scheduler"}
    compute = next(h for h in hosts if h["service"] == "compute")
    assert compute in admin("GET", f"/os-hosts?zone={compute['zone']}").json["hosts"]
    assert admin("GET", "/os-hosts?zone=xxx").json["hosts"] == []
    project, _ = _place_server(seeded.app.compute.store, compute["host_name"])
    detail = check(admin("GET", f"/os-hosts/{compute['host_name']}"), "v2_1.hosts", "get_host_detail")["host"]
    rows = {r["resource"]["project"]: r["resource"] for r in detail}
    assert rows[project]["cpu"] == 1 and rows["(used_now)"]["memory_mb"] == 2048 and "(total)" in rows
    assert admin("GET", "/os-hosts/nowhere").status_code == 404
    assert demo("GET", f"/os-hosts/{compute['host_name']}").status_code == 403
    name = compute["host_name"]
    updated = check(admin("PUT", f"/os-hosts/{name}", json={"status": "disable"}), "v2_1.hosts", "update_host")
    assert updated == {"host": name, "status": "disabled"}
    assert admin("GET", "/os-services?binary=nova-compute").json["services"][0]["status"] == "disabled"
    for body in ({"status": "enable", "maintenance_mode": "invalid"}, {"status": None, "maintenance_mode": None},
                 {"status": "invalid"}):
        assert admin("PUT", f"/os-hosts/{name}", json=body).status_code == 400
    assert admin("PUT", f"/os-hosts/{name}", json={"maintenance_mode": "enable"}).status_code == 501
    assert admin("PUT", "/os-hosts/nowhere", json={"status": "enable"}).status_code == 404
    for action in ("startup", "shutdown", "reboot"):
        assert admin("GET", f"/os-hosts/{name}/{action}").status_code == 501
        assert admin("GET", f"/os-hosts/nowhere/{action}").status_code == 404
        assert demo("GET", f"/os-hosts/{name}/{action}").status_code == 403
    assert admin("GET", "/os-hosts", "2.43").status_code == 404


def test_instance_usage_audit_log(admin, demo):
    from overcast.api.compute.usage_audit_log import last_completed_month

    listed = check(admin("GET", "/os-instance_usage_audit_log"), "v2_1.instance_usage_audit_logs",
                   "list_instance_usage_audit_log")["instance_usage_audit_logs"]
    assert listed["num_hosts"] == listed["num_hosts_not_run"] >= 1
    shown = check(admin("GET", "/os-instance_usage_audit_log/2026-03-15%2010:00:00"),
                  "v2_1.instance_usage_audit_logs", "get_instance_usage_audit_log")["instance_usage_audit_log"]
    assert (shown["period_beginning"], shown["period_ending"]) == ("2026-02-01 00:00:00", "2026-03-01 00:00:00")
    assert admin("GET", "/os-instance_usage_audit_log/invalid_time").status_code == 400
    assert demo("GET", "/os-instance_usage_audit_log").status_code == 403
    assert last_completed_month(dt.datetime(2026, 1, 1)) == (dt.datetime(2025, 11, 1), dt.datetime(2025, 12, 1))


def test_services_legacy_and_2_53(admin, demo):
    assert demo("GET", "/os-services").status_code == 403
    services = check(admin("GET", "/os-services"), "v2_1.services", "list_services")["services"]
    binaries = {s["binary"] for s in services}
    assert binaries == {"nova-compute", "nova-scheduler", "nova-conductor"}
    compute = next(s for s in services if s["binary"] == "nova-compute")
    body = {"host": compute["host"], "binary": "nova-compute"}
    check(admin("PUT", "/os-services/disable", json=body), "v2_1.services", "enable_disable_service")
    reason = admin("PUT", "/os-services/disable-log-reason", json={**body, "disabled_reason": "maintenance"})
    assert check(reason, "v2_1.services", "disable_log_reason")["service"]["disabled_reason"] == "maintenance"
    check(admin("PUT", "/os-services/enable", json=body), "v2_1.services", "enable_disable_service")
    down = admin("PUT", "/os-services/force-down", "2.11", json={**body, "forced_down": True})
    assert check(down, "v2_11.services", "update_forced_down")["service"]["forced_down"] is True
    check(admin("GET", "/os-services", "2.11"), "v2_11.services", "list_services")
    new = check(admin("GET", "/os-services", "2.53"), "v2_53.services", "list_services")["services"]
    sid = next(s for s in new if s["binary"] == "nova-compute")["id"]
    upd = admin("PUT", f"/os-services/{sid}", "2.53", json={"status": "disabled", "disabled_reason": "x",
                                                             "forced_down": False})
    assert check(upd, "v2_53.services", "update_service")["service"]["status"] == "disabled"
    assert admin("PUT", "/os-services/disable", "2.53", json=body).status_code == 404
    assert admin("PUT", "/os-services/enable", json={"host": "nope", "binary": "nova-compute"}).status_code == 404
    conductor = next(s for s in new if s["binary"] == "nova-conductor")["id"]
    assert admin("DELETE", f"/os-services/{conductor}", "2.53").status_code == 204
    assert admin("DELETE", f"/os-services/{conductor}", "2.53").status_code == 404


def test_aggregates(admin, demo):
    assert demo("GET", "/os-aggregates").status_code == 403
    created = check(admin("POST", "/os-aggregates", json={"aggregate": {"name": "agg", "availability_zone": "az1"}}),
                    "v2_1.aggregates", "create_aggregate")["aggregate"]
    assert admin("POST", "/os-aggregates", json={"aggregate": {"name": "agg"}}).status_code == 409
    aid = created["id"]
    host = admin("GET", "/os-services?binary=nova-compute").json["services"][0]["host"]
    added = admin("POST", f"/os-aggregates/{aid}/action", json={"add_host": {"host": host}})
    assert check(added, "v2_1.aggregates", "aggregate_add_remove_host")["aggregate"]["hosts"] == [host]
    assert admin("POST", f"/os-aggregates/{aid}/action", json={"add_host": {"host": host}}).status_code == 409
    assert admin("POST", f"/os-aggregates/{aid}/action", json={"add_host": {"host": "nope"}}).status_code == 404
    meta = admin("POST", f"/os-aggregates/{aid}/action", json={"set_metadata": {"metadata": {"ssd": "true"}}})
    assert check(meta, "v2_1.aggregates", "aggregate_set_metadata")["aggregate"]["metadata"]["ssd"] == "true"
    upd = admin("PUT", f"/os-aggregates/{aid}", json={"aggregate": {"name": "renamed"}})
    assert check(upd, "v2_1.aggregates", "update_aggregate")["aggregate"]["name"] == "renamed"
    check(admin("GET", "/os-aggregates", "2.41"), "v2_41.aggregates", "list_aggregates")
    check(admin("GET", f"/os-aggregates/{aid}"), "v2_1.aggregates", "get_aggregate")
    assert admin("DELETE", f"/os-aggregates/{aid}").status_code == 400  # still has a host
    admin("POST", f"/os-aggregates/{aid}/action", json={"remove_host": {"host": host}})
    check(admin("DELETE", f"/os-aggregates/{aid}"), "v2_1.aggregates", "delete_aggregate")
    assert admin("GET", f"/os-aggregates/{aid}").status_code == 404


def test_simple_tenant_usage(admin, demo, seeded):
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    project, sid = _place_server(seeded.app.compute.store, "h", launched_at=now - dt.timedelta(hours=2))
    start = (now - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")
    end = now.strftime("%Y-%m-%dT%H:%M:%S")
    own = check(demo("GET", f"/os-simple-tenant-usage/{project}?start={start}&end={end}"), "v2_1.tenant_usages",
                "get_tenant_usage")["tenant_usage"]
    assert own["server_usages"][0]["instance_id"] == sid and own["server_usages"][0]["flavor"] == "m1.small"
    assert own["total_hours"] == pytest.approx(1.0, abs=0.01)
    assert own["total_memory_mb_usage"] == pytest.approx(2048, abs=30)
    assert demo("GET", "/os-simple-tenant-usage").status_code == 403
    listed = check(admin("GET", f"/os-simple-tenant-usage?start={start}&end={end}&detailed=1"),
                   "v2_1.tenant_usages", "list_tenant_usage")
    assert listed["tenant_usages"][0]["tenant_id"] == project
    assert admin("GET", f"/os-simple-tenant-usage?start={end}&end={start}").status_code == 400
    assert admin("GET", "/os-simple-tenant-usage?start=yesterday").status_code == 400


def test_extensions(demo):
    body = check(demo("GET", "/extensions"), "v2_1.extensions", "list_extensions")
    assert "os-keypairs" in {e["alias"] for e in body["extensions"]}
    assert demo("GET", "/extensions/os-keypairs").json["extension"]["name"] == "Keypairs"
    assert demo("GET", "/extensions/nope").status_code == 404
