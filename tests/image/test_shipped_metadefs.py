"""The metadata definition namespaces bootstrap loads (``core/image/metadefs/shipped.py``): each a
valid namespace by the schema we serve, public and protected, found by the resource types Horizon
asks for, and loaded once."""

from __future__ import annotations

import jsonschema

from overcast.core.image.metadefs.shipped import NAMESPACES
from overcast.core.image.seed import seed_metadefs

NS = "/metadefs/namespaces"
NAMES = {body["namespace"] for body in NAMESPACES}


def test_every_shipped_namespace_is_a_valid_create_body(api, demo_token):
    schema = api("GET", "/schemas/metadefs/namespace", demo_token).json
    for body in NAMESPACES:
        jsonschema.validate(body, schema)
        assert body["visibility"] == "public" and body["protected"] is True
        for name, definition in body.get("properties", {}).items():
            assert definition["title"] and definition["description"], (body["namespace"], name)
    assert len(NAMES) == len(NAMESPACES) >= 8


def test_bootstrap_loads_them_for_every_reader(api, demo_token, admin_token, cloud):
    listed = api("GET", f"{NS}?limit=100", demo_token).json["namespaces"]
    assert {n["namespace"] for n in listed} == NAMES
    shown = api("GET", f"{NS}/OS::Compute::Watchdog", demo_token).json
    assert shown["owner"] == "admin" and shown["protected"] is True
    assert shown["properties"]["watchdog_action"]["enum"] == ["disabled", "reset", "poweroff", "pause", "none"]
    assert {(a["name"], a.get("prefix")) for a in shown["resource_type_associations"]} == {
        ("OS::Glance::Image", "hw_"), ("OS::Cinder::Volume", "hw_"), ("OS::Cinder::Volumes", "hw_"),
        ("OS::Nova::Flavor", "hw:")}
    # what Horizon's Launch Instance metadata step and flavor/aggregate editors ask for (Horizon 27 asks
    # for volumes as OS::Cinder::Volumes, and fails on an empty answer)
    for resource_type in ("OS::Nova::Server", "OS::Nova::Flavor", "OS::Nova::Aggregate", "OS::Glance::Image",
                          "OS::Cinder::Volume", "OS::Cinder::Volumes"):
        found = api("GET", f"{NS}?resource_types={resource_type}", demo_token).json["namespaces"]
        assert found, resource_type
    server = api("GET", f"{NS}?resource_types=OS::Nova::Server", demo_token).json["namespaces"]
    targets = {(n["namespace"], a["properties_target"]) for n in server for a in n["resource_type_associations"]
               if a["name"] == "OS::Nova::Server"}
    # Horizon's Launch Instance asks for both targets and fails on an empty answer (its parallel look-up)
    assert targets == {("OS::Software::WebServers", "metadata"), ("OS::Software::Runtimes", "metadata"),
                       ("OS::Compute::SchedulerHints", "scheduler_hints")}
    # protected, as Glance's loaded namespaces are: an admin must unprotect one to delete it
    assert api("DELETE", f"{NS}/OS::Compute::Watchdog", admin_token).status_code == 403


def test_loaded_once_and_missing_ones_come_back(api, admin_token, cloud):
    assert seed_metadefs(cloud.app.images) == []
    body = {"namespace": "OS::Compute::Watchdog", "visibility": "public", "protected": False}
    assert api("PUT", f"{NS}/OS::Compute::Watchdog", admin_token, json=body).status_code == 200
    assert api("DELETE", f"{NS}/OS::Compute::Watchdog", admin_token).status_code == 204
    assert seed_metadefs(cloud.app.images) == ["OS::Compute::Watchdog"]
