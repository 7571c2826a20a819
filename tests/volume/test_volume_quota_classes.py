"""Quota classes (os-quota-class-sets) and the per-volume-type quotas (volumes_<type>, ...)."""

from __future__ import annotations

from cinder_helpers import check


def _type(admin_cinder, name: str) -> dict:
    return admin_cinder.req("POST", "/types", json={"volume_type": {"name": name}}).json["volume_type"]


def test_default_class_sets_every_projects_defaults(cinder, admin_cinder):
    shown = check(admin_cinder.req("GET", "/os-quota-class-sets/default"), "show_quota_classes", "quota_classes")
    assert shown["quota_class_set"]["id"] == "default" and shown["quota_class_set"]["volumes"] == 10
    assert shown["quota_class_set"]["volumes_lvmdriver-1"] == -1
    assert cinder.req("GET", "/os-quota-class-sets/default").status_code == 403
    body = {"quota_class_set": {"volumes": 12, "gigabytes_lvmdriver-1": 7}}
    assert cinder.req("PUT", "/os-quota-class-sets/default", json=body).status_code == 403
    updated = check(admin_cinder.req("PUT", "/os-quota-class-sets/default", json=body), "update_quota_classes",
                    "quota_classes")["quota_class_set"]
    assert updated["volumes"] == 12 and updated["gigabytes_lvmdriver-1"] == 7 and "id" not in updated
    for path in (f"/os-quota-sets/{cinder.project_id}/defaults", f"/os-quota-sets/{cinder.project_id}"):
        quota = check(admin_cinder.req("GET", path), "show_quota_set", "quotas")["quota_set"]
        assert (quota["volumes"], quota["gigabytes_lvmdriver-1"]) == (12, 7)
    # another class does not touch the defaults
    check(admin_cinder.req("PUT", "/os-quota-class-sets/gold", json={"quota_class_set": {"volumes": 3}}),
          "update_quota_classes", "quota_classes")
    assert admin_cinder.req("GET", "/os-quota-class-sets/gold").json["quota_class_set"]["volumes"] == 3
    assert admin_cinder.req("GET", f"/os-quota-sets/{cinder.project_id}").json["quota_set"]["volumes"] == 12
    for bad in ({"bogus": 1}, {"volumes": -2}, {"volumes": "x"}, {"volumes_nosuchtype": 1}):
        resp = admin_cinder.req("PUT", "/os-quota-class-sets/default", json={"quota_class_set": bad})
        assert resp.status_code == 400, bad


def test_per_type_quotas_limit_volumes_of_that_type(cinder, admin_cinder):
    pid = cinder.project_id
    silver = _type(admin_cinder, "silver")
    quota = {"quota_set": {"volumes_silver": 1, "gigabytes_lvmdriver-1": 3}}
    check(admin_cinder.req("PUT", f"/os-quota-sets/{pid}", json=quota), "update_quota_set", "quotas")
    cinder.create(volume_type="silver")
    resp = cinder.req("POST", "/volumes", json={"volume": {"size": 1, "volume_type": "silver"}})
    assert resp.status_code == 413
    assert resp.json["overLimit"]["message"] == ("Maximum number of volumes allowed (1) exceeded for quota "
                                                 "'volumes_silver'.")
    big = cinder.req("POST", "/volumes", json={"volume": {"size": 4}})  # the default type, lvmdriver-1
    assert big.status_code == 413 and "gigabytes_lvmdriver-1 quota" in big.json["overLimit"]["message"]
    usage = check(admin_cinder.req("GET", f"/os-quota-sets/{pid}?usage=true"), "show_quota_set_usage",
                  "quotas")["quota_set"]
    assert usage["volumes_silver"] == {"limit": 1, "in_use": 1, "reserved": 0}
    assert usage["gigabytes_silver"]["in_use"] == 1 and usage["volumes"]["in_use"] == 1
    # a renamed type keeps its limits under the new name; a deleted one takes them along
    renamed = admin_cinder.req("PUT", f"/types/{silver['id']}", json={"volume_type": {"name": "argent"}})
    assert renamed.status_code == 200, renamed.text
    after = admin_cinder.req("GET", f"/os-quota-sets/{pid}").json["quota_set"]
    assert after["volumes_argent"] == 1 and "volumes_silver" not in after
    bronze = _type(admin_cinder, "bronze")
    admin_cinder.req("PUT", f"/os-quota-sets/{pid}", json={"quota_set": {"snapshots_bronze": 2}})
    assert admin_cinder.req("DELETE", f"/types/{bronze['id']}").status_code == 202
    assert "snapshots_bronze" not in admin_cinder.req("GET", f"/os-quota-sets/{pid}").json["quota_set"]
