"""Availability zones from the seeded compute services (and aggregates)."""

from __future__ import annotations

from schemas import Api, check, seeded  # noqa: F401


def test_list_and_detail(demo, seeded, admin_token):
    body = check(demo("GET", "/os-availability-zone"), "v2_1.availability_zone", "list_availability_zone_list")
    assert body["availabilityZoneInfo"] == [{"zoneName": "nova", "zoneState": {"available": True}, "hosts": None}]
    assert demo("GET", "/os-availability-zone/detail").status_code == 403
    admin = Api(seeded, admin_token)
    detail = check(admin("GET", "/os-availability-zone/detail"), "v2_1.availability_zone",
                   "list_availability_zone_list_detail")["availabilityZoneInfo"]
    names = [z["zoneName"] for z in detail]
    assert names == ["nova", "internal"]
    nova_hosts = detail[0]["hosts"]
    assert all("nova-compute" in services for services in nova_hosts.values())
    internal = next(iter(detail[1]["hosts"].values()))
    assert set(internal) == {"nova-scheduler", "nova-conductor"}


def test_aggregate_zone_moves_host(seeded, admin_token, demo_token):
    admin = Api(seeded, admin_token)
    host = admin("GET", "/os-services?binary=nova-compute").json["services"][0]["host"]
    agg = admin("POST", "/os-aggregates", json={"aggregate": {"name": "a1", "availability_zone": "zone-b"}})
    admin("POST", f"/os-aggregates/{agg.json['aggregate']['id']}/action", json={"add_host": {"host": host}})
    names = [z["zoneName"] for z in Api(seeded, demo_token)("GET", "/os-availability-zone").json[
        "availabilityZoneInfo"]]
    assert "zone-b" in names
