"""Flavors: Nova's defaults, listing filters, admin management, access lists and extra specs."""

from __future__ import annotations

import pytest
from schemas import check


def test_default_flavors_listed_and_shown(demo):
    body = check(demo("GET", "/flavors"), "v2_1.flavors", "list_flavors")
    assert [f["name"] for f in body["flavors"]] == ["m1.tiny", "m1.small", "m1.medium", "m1.large", "m1.xlarge"]
    detail = check(demo("GET", "/flavors/detail"), "v2_1.flavors", "list_flavors_details")
    tiny = detail["flavors"][0]
    assert (tiny["id"], tiny["vcpus"], tiny["ram"], tiny["disk"], tiny["swap"]) == ("1", 1, 512, 1, "")
    assert tiny["links"][0]["href"].endswith("/compute/v2.1/flavors/1")
    shown = check(demo("GET", "/flavors/3"), "v2_1.flavors", "create_update_get_flavor_details")
    assert shown["flavor"]["name"] == "m1.medium"
    assert demo("GET", "/flavors/nope").status_code == 404
    assert demo("GET", "/flavors/nope").json["itemNotFound"]["message"] == "Flavor nope could not be found."


@pytest.mark.parametrize("version,module", [("2.55", "v2_55.flavors"), ("2.61", "v2_61.flavors"),
                                            ("2.75", "v2_61.flavors")])
def test_microversion_views(demo, version, module):
    check(demo("GET", "/flavors", version), module if version == "2.55" else "v2_55.flavors", "list_flavors")
    body = check(demo("GET", "/flavors/detail", version), module, "list_flavors_details")
    assert "description" in body["flavors"][0]
    assert ("extra_specs" in body["flavors"][0]) == (version != "2.55")
    if version == "2.75":
        assert body["flavors"][0]["swap"] == 0


def test_min_filters_sort_and_paging(demo):
    body = demo("GET", "/flavors", params={"minRam": "4096", "minDisk": "50"}).json
    assert [f["id"] for f in body["flavors"]] == ["4", "5"]
    body = demo("GET", "/flavors/detail", params={"sort_key": "memory_mb", "sort_dir": "desc"}).json
    assert [f["id"] for f in body["flavors"]] == ["5", "4", "3", "2", "1"]
    page = check(demo("GET", "/flavors", params={"limit": "2"}), "v2_1.flavors", "list_flavors")
    assert [f["id"] for f in page["flavors"]] == ["1", "2"]
    assert "marker=2" in page["flavors_links"][0]["href"]
    rest = demo("GET", "/flavors", params={"marker": "2"}).json
    assert [f["id"] for f in rest["flavors"]] == ["3", "4", "5"]
    assert demo("GET", "/flavors", params={"marker": "zzz"}).status_code == 400
    assert demo("GET", "/flavors", params={"sort_key": "bogus"}).status_code == 400
    assert demo("GET", "/flavors", params={"minRam": "x"}).status_code == 400
    assert demo("GET", "/flavors", params={"limit": "-1"}).status_code == 400


def test_admin_create_validate_conflict_delete(admin, demo):
    body = {"flavor": {"name": "custom", "ram": 1024, "vcpus": 2, "disk": 10, "id": "custom-1",
                       "OS-FLV-EXT-DATA:ephemeral": 5, "swap": 512, "rxtx_factor": 2.0}}
    created = check(admin("POST", "/flavors", json=body), "v2_1.flavors", "create_update_get_flavor_details")
    assert created["flavor"]["OS-FLV-EXT-DATA:ephemeral"] == 5 and created["flavor"]["swap"] == 512
    assert admin("POST", "/flavors", json=body).status_code == 409
    numbered = admin("POST", "/flavors", json={"flavor": {"name": "int-id", "ram": 64, "vcpus": 1, "disk": 0,
                                                          "id": 4321}})
    assert numbered.status_code == 200 and numbered.json["flavor"]["id"] == "4321"  # Nova takes a number
    auto = admin("POST", "/flavors", json={"flavor": {"name": "auto", "ram": "256", "vcpus": "1", "disk": "0"}})
    assert auto.status_code == 200 and len(auto.json["flavor"]["id"]) == 36
    bad = admin("POST", "/flavors", json={"flavor": {"name": "x", "ram": 0, "vcpus": 1, "disk": 1}})
    assert bad.status_code == 400 and "ram" in bad.json["badRequest"]["message"]
    missing = admin("POST", "/flavors", json={"flavor": {"name": "x", "vcpus": 1, "disk": 1}})
    assert missing.status_code == 400 and "ram" in missing.json["badRequest"]["message"]
    assert admin("POST", "/flavors", json={"flavor": {"name": " lead", "ram": 1, "vcpus": 1,
                                                      "disk": 1}}).status_code == 400
    assert demo("POST", "/flavors", json=body).status_code == 403
    assert demo("DELETE", "/flavors/custom-1").status_code == 403
    assert admin("DELETE", "/flavors/custom-1").status_code == 202
    assert admin("GET", "/flavors/custom-1").status_code == 404
    assert admin("DELETE", "/flavors/custom-1").status_code == 404


def test_description_and_update_2_55(admin, demo):
    body = {"flavor": {"name": "described", "ram": 64, "vcpus": 1, "disk": 0, "description": "small one"}}
    created = check(admin("POST", "/flavors", "2.55", json=body), "v2_55.flavors",
                    "create_update_get_flavor_details")
    fid = created["flavor"]["id"]
    assert admin("POST", "/flavors", json={"flavor": {**body["flavor"], "name": "d2"}}).status_code == 400
    upd = admin("PUT", f"/flavors/{fid}", "2.55", json={"flavor": {"description": "changed"}})
    assert check(upd, "v2_55.flavors", "create_update_get_flavor_details")["flavor"]["description"] == "changed"
    assert admin("PUT", f"/flavors/{fid}", "2.54", json={"flavor": {"description": "x"}}).status_code == 404
    assert demo("PUT", f"/flavors/{fid}", "2.55", json={"flavor": {"description": "x"}}).status_code == 403


def test_private_flavor_access(admin, demo, demo_project):
    body = {"flavor": {"name": "private", "ram": 64, "vcpus": 1, "disk": 0, "id": "priv",
                       "os-flavor-access:is_public": False}}
    assert admin("POST", "/flavors", json=body).status_code == 200
    assert demo("GET", "/flavors/priv").status_code == 404
    assert "priv" not in [f["id"] for f in demo("GET", "/flavors").json["flavors"]]
    # admin: default lists public only; is_public=None lists both; false lists private only
    assert "priv" not in [f["id"] for f in admin("GET", "/flavors").json["flavors"]]
    assert "priv" in [f["id"] for f in admin("GET", "/flavors", params={"is_public": "None"}).json["flavors"]]
    assert [f["id"] for f in admin("GET", "/flavors", params={"is_public": "false"}).json["flavors"]] == ["priv"]
    assert admin("GET", "/flavors", params={"is_public": "maybe"}).status_code == 400
    project_id = demo_project
    added = admin("POST", "/flavors/priv/action", json={"addTenantAccess": {"tenant": project_id}})
    assert check(added, "v2_1.flavors_access", "add_remove_list_flavor_access")["flavor_access"] == [
        {"flavor_id": "priv", "tenant_id": project_id}]
    assert admin("POST", "/flavors/priv/action", json={"addTenantAccess": {"tenant": project_id}}).status_code == 409
    assert admin("POST", "/flavors/priv/action", json={"addTenantAccess": {"tenant": "nope"}}).status_code == 400
    assert demo("GET", "/flavors/priv").status_code == 200
    assert "priv" in [f["id"] for f in demo("GET", "/flavors").json["flavors"]]
    listed = admin("GET", "/flavors/priv/os-flavor-access")
    check(listed, "v2_1.flavors_access", "add_remove_list_flavor_access")
    assert admin("GET", "/flavors/1/os-flavor-access").status_code == 404
    assert demo("GET", "/flavors/priv/os-flavor-access").status_code == 403
    removed = admin("POST", "/flavors/priv/action", json={"removeTenantAccess": {"tenant": project_id}})
    assert removed.json["flavor_access"] == []
    assert admin("POST", "/flavors/priv/action", json={"removeTenantAccess": {"tenant": project_id}}).status_code == 404
    assert demo("GET", "/flavors/priv").status_code == 404
    assert admin("POST", "/flavors/1/action", json={"addTenantAccess": {"tenant": project_id}}).status_code == 409


def test_extra_specs(admin, demo):
    created = admin("POST", "/flavors/1/os-extra_specs", json={"extra_specs": {"hw:cpu_policy": "dedicated",
                                                                              "quota:disk_read_iops_sec": 100}})
    assert check(created, "v2_1.flavors_extra_specs", "set_get_flavor_extra_specs")["extra_specs"] == {
        "hw:cpu_policy": "dedicated", "quota:disk_read_iops_sec": "100"}
    listed = check(demo("GET", "/flavors/1/os-extra_specs"), "v2_1.flavors_extra_specs", "set_get_flavor_extra_specs")
    assert listed["extra_specs"]["hw:cpu_policy"] == "dedicated"
    one = check(demo("GET", "/flavors/1/os-extra_specs/hw:cpu_policy"), "v2_1.flavors_extra_specs",
                "set_get_flavor_extra_specs_key")
    assert one == {"hw:cpu_policy": "dedicated"}
    put = admin("PUT", "/flavors/1/os-extra_specs/hw:cpu_policy", json={"hw:cpu_policy": "shared"})
    assert put.json == {"hw:cpu_policy": "shared"}
    assert admin("PUT", "/flavors/1/os-extra_specs/a", json={"b": "c"}).status_code == 400
    assert demo("POST", "/flavors/1/os-extra_specs", json={"extra_specs": {"a": "b"}}).status_code == 403
    shown = check(demo("GET", "/flavors/1", "2.61"), "v2_61.flavors", "create_update_get_flavor_details")
    assert shown["flavor"]["extra_specs"]["hw:cpu_policy"] == "shared"
    assert admin("DELETE", "/flavors/1/os-extra_specs/hw:cpu_policy").status_code == 200
    assert admin("DELETE", "/flavors/1/os-extra_specs/hw:cpu_policy").status_code == 404
    assert demo("GET", "/flavors/1/os-extra_specs/hw:cpu_policy").status_code == 404
    assert admin("POST", "/flavors/1/os-extra_specs", json={"extra_specs": {"bad/key": "x"}}).status_code == 400


def test_seed_is_idempotent(seeded):
    from overcast.core.compute.seed import seed
    seed(seeded.app.compute)
    seed(seeded.app.compute)
    from sqlalchemy import func, select

    from overcast.store.compute import ComputeService, Flavor
    with seeded.app.compute.store.session() as session:
        assert session.scalar(select(func.count()).select_from(Flavor)) == 5
        assert session.scalar(select(func.count()).select_from(ComputeService).where(
            ComputeService.binary == "nova-compute")) >= 1
