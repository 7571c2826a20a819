"""os-quota-class-sets: views per microversion (2.50, 2.57), admin-only update, and the
``default`` class as every project's defaults."""

from __future__ import annotations

import pytest
from schemas import check


@pytest.mark.parametrize("version,module", [(None, "v2_1.quota_classes"), ("2.49", "v2_1.quota_classes"),
                                            ("2.50", "v2_50.quota_classes"), ("2.56", "v2_50.quota_classes"),
                                            ("2.57", "v2_57.quota_classes"), ("2.90", "v2_57.quota_classes")])
def test_show_per_microversion(admin, version, module):
    body = check(admin("GET", "/os-quota-class-sets/default", version), module, "get_quota_class_set")
    shown = body["quota_class_set"]
    assert shown["id"] == "default" and shown["instances"] == 10 and shown["cores"] == 20
    assert ("floating_ips" in shown) == (module == "v2_1.quota_classes")
    assert ("server_groups" in shown) == (module != "v2_1.quota_classes")
    assert ("injected_files" in shown) == (module != "v2_57.quota_classes")
    assert "networks" not in shown


def test_update_is_for_admins(admin, demo):
    body = {"quota_class_set": {"instances": 50}}
    assert demo("PUT", "/os-quota-class-sets/default", json=body).status_code == 403
    assert demo("GET", "/os-quota-class-sets/default").status_code == 403
    assert admin("GET", "/os-quota-class-sets/default").json["quota_class_set"]["instances"] == 10


@pytest.mark.parametrize("version,module,body", [
    (None, "v2_1.quota_classes", {"instances": 15, "floating_ips": 7, "server_groups": 3, "networks": 4}),
    ("2.50", "v2_50.quota_classes", {"instances": "15", "server_groups": 3, "injected_files": 2}),
    ("2.57", "v2_57.quota_classes", {"instances": 15, "key_pairs": -1}),
])
def test_update_per_microversion(admin, version, module, body):
    resp = admin("PUT", "/os-quota-class-sets/gold", version, json={"quota_class_set": body})
    updated = check(resp, module, "update_quota_class_set")["quota_class_set"]
    assert "id" not in updated and updated["instances"] == 15
    shown = admin("GET", "/os-quota-class-sets/gold", "2.57").json["quota_class_set"]
    assert shown["server_groups"] == 3 or "server_groups" not in body


@pytest.mark.parametrize("version,body", [
    (None, {"quota_class_set": {"instances": "many"}}), (None, {"quota_class_set": {"instances": -2}}),
    (None, {"quota_class_set": {"instances": "-2"}}), (None, {"quota_class_set": {"instances": 2147483648}}),
    (None, {"quota_class_set": {"bogus": 1}}), (None, {"quota_class_set": []}), (None, {"quota_set": {}}),
    ("2.50", {"quota_class_set": {"floating_ips": 1}}), ("2.50", {"quota_class_set": {"networks": 1}}),
    ("2.57", {"quota_class_set": {"injected_files": 1}}),
])
def test_update_bad_input(admin, version, body):
    resp = admin("PUT", "/os-quota-class-sets/default", version, json=body)
    assert resp.status_code == 400, resp.text
    assert "badRequest" in resp.json
    assert admin("GET", "/os-quota-class-sets/default").json["quota_class_set"]["instances"] == 10


def test_class_name_length(admin):
    resp = admin("PUT", "/os-quota-class-sets/" + "x" * 256, json={"quota_class_set": {"cores": 1}})
    assert resp.status_code == 400 and resp.json["badRequest"]["message"] == \
        "quota_class_name has 256 characters, more than 255."


def test_default_class_is_every_projects_defaults(admin, demo, demo_project):
    check(admin("PUT", "/os-quota-class-sets/gold", json={"quota_class_set": {"instances": 99}}),
          "v2_1.quota_classes", "update_quota_class_set")
    assert demo("GET", f"/os-quota-sets/{demo_project}/defaults").json["quota_set"]["instances"] == 10
    assert admin("PUT", "/os-quota-class-sets/default", json={"quota_class_set": {
        "instances": 15, "floating_ips": 7, "key_pairs": 1}}).status_code == 200
    defaults = check(demo("GET", f"/os-quota-sets/{demo_project}/defaults"), "v2_1.quotas", "get_quota_set")
    assert defaults["quota_set"]["instances"] == 15 and defaults["quota_set"]["floating_ips"] == 7
    assert demo("GET", f"/os-quota-sets/{demo_project}").json["quota_set"]["instances"] == 15
    absolute = demo("GET", "/limits").json["limits"]["absolute"]
    assert absolute["maxTotalInstances"] == 15 and absolute["maxTotalFloatingIps"] == 7
    # a project's own limit still wins over the class
    admin("PUT", f"/os-quota-sets/{demo_project}", json={"quota_set": {"instances": 12}})
    assert demo("GET", f"/os-quota-sets/{demo_project}").json["quota_set"]["instances"] == 12
    # and the class's limits are enforced: one key pair is the most a user may have now
    assert demo("POST", "/os-keypairs", json={"keypair": {"name": "one"}}).status_code == 200
    over = demo("POST", "/os-keypairs", json={"keypair": {"name": "two"}})
    assert over.status_code == 403 and "too many key pairs" in over.json["forbidden"]["message"]
