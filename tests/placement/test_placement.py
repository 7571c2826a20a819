"""The Placement API in process: response bodies checked against schemas written from the Placement
API reference (per microversion), the compute hosts as providers, servers' allocations following
the servers, client allocations checked against capacity, generations, traits, aggregates,
resource classes, usages, allocation candidates, faults and policy."""

from __future__ import annotations

import datetime as dt
import uuid

import jsonschema
import pytest
from sqlalchemy import select

from overcast.store.compute import Server
from overcast.store.models import Project

# -- response schemas, from the Placement API reference ----------------------------------------------
UUID = {"type": "string", "format": "uuid"}
LINKS = {"type": "array", "items": {"type": "object", "properties": {"rel": {"type": "string"},
                                                                     "href": {"type": "string"}},
                                    "required": ["rel", "href"], "additionalProperties": False}}


def provider_schema(version: tuple[int, int]) -> dict:
    properties = {"uuid": UUID, "name": {"type": "string"}, "generation": {"type": "integer"}, "links": LINKS}
    if version >= (1, 14):
        properties.update(parent_provider_uuid={"type": ["string", "null"]}, root_provider_uuid=UUID)
    return {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}


INVENTORY = {"type": "object", "properties": {
    "total": {"type": "integer"}, "reserved": {"type": "integer"}, "min_unit": {"type": "integer"},
    "max_unit": {"type": "integer"}, "step_size": {"type": "integer"}, "allocation_ratio": {"type": "number"}},
    "required": ["total", "reserved", "min_unit", "max_unit", "step_size", "allocation_ratio"],
    "additionalProperties": False}
INVENTORIES = {"type": "object", "properties": {"resource_provider_generation": {"type": "integer"},
                                                "inventories": {"type": "object", "additionalProperties": INVENTORY}},
               "required": ["resource_provider_generation", "inventories"], "additionalProperties": False}
USAGES = {"type": "object", "properties": {"resource_provider_generation": {"type": "integer"},
                                           "usages": {"type": "object", "additionalProperties": {"type": "integer"}}},
          "required": ["resource_provider_generation", "usages"], "additionalProperties": False}
ERRORS = {"type": "object", "required": ["errors"], "properties": {"errors": {"type": "array", "minItems": 1, "items": {
    "type": "object", "required": ["status", "title", "detail", "request_id"],
    "properties": {"status": {"type": "integer"}, "title": {"type": "string"}, "detail": {"type": "string"},
                   "request_id": {"type": "string"}, "code": {"type": "string"}}}}}}


def check(resp, schema: dict, status: int = 200) -> dict:  # noqa: ANN001
    assert resp.status_code == status, resp.text
    jsonschema.validate(resp.json, schema)
    return resp.json


def fault(resp, status: int, words: str = "", code: str | None = None) -> dict:  # noqa: ANN001
    body = check(resp, ERRORS, status)
    error = body["errors"][0]
    assert error["status"] == status and words in error["detail"], error
    if code is not None:
        assert error["code"] == code, error
    return error


def _compute(placement) -> dict:  # noqa: ANN001
    return placement("GET", "/resource_providers", "1.14").json["resource_providers"][0]


def _server(cloud, host: str, *, flavor: dict | None = None, image: str | None = "i",  # noqa: ANN001
            project: str = "demo") -> str:
    with cloud.app.compute.store.session() as session:
        owner = session.scalar(select(Project.id).where(Project.name == project))
        server = Server(cloud="RegionOne", project_id=owner, user_id="u", name="vm", flavor_id="2", host=host,
                        image_id=image, flavor=flavor or {"vcpus": 2, "ram": 2048, "disk": 20, "ephemeral": 1,
                                                          "swap": 512},
                        vm_state="active", task_state=None, launched_at=dt.datetime(2026, 1, 1))
        session.add(server)
        session.flush()
        return server.id


def test_version_document_needs_no_token(cloud):
    resp = cloud.request("GET", "/placement")
    assert resp.status_code == 200
    assert resp.json == {"versions": [{"id": "v1.0", "max_version": "1.39", "min_version": "1.0",
                                       "status": "CURRENT", "links": [{"rel": "self", "href": ""}]}]}
    assert cloud.request("GET", "/placement/resource_providers").status_code == 401


def test_catalog_has_placement_in_every_region(cloud, admin_token):
    resp = cloud.request("GET", "/identity/v3/auth/catalog", admin_token)
    placement = [s for s in resp.json["catalog"] if s["type"] == "placement"]
    assert len(placement) == 1 and placement[0]["name"] == "placement"
    assert {e["interface"] for e in placement[0]["endpoints"]} == {"public", "internal", "admin"}
    assert all(e["url"].endswith("/placement") for e in placement[0]["endpoints"])


@pytest.mark.parametrize("version", [(1, 0), (1, 14), (1, 39)])
def test_one_provider_per_compute_host(placement, cloud, version):
    text = f"{version[0]}.{version[1]}"
    listed = check(placement("GET", "/resource_providers", text), {
        "type": "object", "properties": {"resource_providers": {"type": "array", "items": provider_schema(version)}},
        "required": ["resource_providers"], "additionalProperties": False})["resource_providers"]
    hypervisors = cloud.request("GET", "/compute/v2.1/os-hypervisors", cloud.token("admin", "admin"),
                                headers={"OpenStack-API-Version": "compute 2.53"}).json["hypervisors"]
    # Nova's compute node and its provider share a UUID and the node's name
    assert {(p["uuid"], p["name"]) for p in listed} == {(h["id"], h["hypervisor_hostname"]) for h in hypervisors}
    rels = [link["rel"] for link in listed[0]["links"]]
    expected = ["self", "inventories", "usages"] + (["aggregates", "traits", "allocations"]
                                                    if version >= (1, 11) else [])
    assert rels == expected


def test_compute_inventory_usage_and_server_allocations(placement, cloud):
    provider = _compute(placement)
    rp = provider["uuid"]
    inventories = check(placement("GET", f"/resource_providers/{rp}/inventories"), INVENTORIES)["inventories"]
    assert set(inventories) == {"VCPU", "MEMORY_MB", "DISK_GB"}
    assert inventories["VCPU"]["allocation_ratio"] == 4.0 and inventories["MEMORY_MB"]["reserved"] == 512
    sid = _server(cloud, provider["name"])
    usages = check(placement("GET", f"/resource_providers/{rp}/usages"), USAGES)["usages"]
    # the flavor's vCPUs and RAM; disk is root + ephemeral + swap rounded up to a GB
    assert usages == {"VCPU": 2, "MEMORY_MB": 2048, "DISK_GB": 22}
    mine = placement("GET", f"/allocations/{sid}", "1.38").json
    assert mine["allocations"] == {rp: {"resources": {"VCPU": 2, "MEMORY_MB": 2048, "DISK_GB": 22},
                                        "generation": provider["generation"]}}
    assert mine["consumer_type"] == "INSTANCE" and mine["consumer_generation"] == 1
    assert set(placement("GET", f"/allocations/{sid}", "1.0").json) == {"allocations"}
    by_rp = placement("GET", f"/resource_providers/{rp}/allocations", "1.28").json
    assert by_rp["allocations"][sid] == {"resources": {"VCPU": 2, "MEMORY_MB": 2048, "DISK_GB": 22},
                                         "consumer_generation": 1}
    # booted from a volume: no root disk on the host
    volume_backed = _server(cloud, provider["name"], image=None, flavor={"vcpus": 1, "ram": 512, "disk": 10})
    assert placement("GET", f"/allocations/{volume_backed}").json["allocations"][rp]["resources"] == {
        "VCPU": 1, "MEMORY_MB": 512}
    # the server's allocations are Nova's: a client cannot change them
    refused = placement("DELETE", f"/allocations/{sid}", "1.23")
    fault(refused, 409, "follow the server", code="placement.concurrent_update")
    # a deleted server frees them
    with cloud.app.compute.store.session() as session:
        session.scalar(select(Server).where(Server.id == sid)).deleted = True
    assert placement("GET", f"/allocations/{sid}").json == {"allocations": {}}
    assert placement("GET", f"/resource_providers/{rp}/usages").json["usages"]["VCPU"] == 1
    project = placement("GET", "/usages?project_id=" + _demo(cloud), "1.9").json
    assert project == {"usages": {"VCPU": 1, "MEMORY_MB": 512}}


def _demo(cloud) -> str:  # noqa: ANN001
    with cloud.app.compute.store.session() as session:
        return session.scalar(select(Project.id).where(Project.name == "demo"))


def test_provider_lifecycle_and_tree(placement):
    made = placement("POST", "/resource_providers", "1.0", json={"name": "pool"})
    location = made.headers["Location"]
    assert made.status_code == 201 and made.text == ""
    assert location.startswith("http://") and "/placement/resource_providers/" in location
    parent = check(placement("POST", "/resource_providers", "1.20", json={"name": "numa"}), provider_schema((1, 20)))
    child_uuid = str(uuid.uuid4())
    child = check(placement("POST", "/resource_providers", "1.20",
                            json={"name": "numa-0", "uuid": child_uuid, "parent_provider_uuid": parent["uuid"]}),
                  provider_schema((1, 20)))
    assert child["root_provider_uuid"] == parent["uuid"] and child["uuid"] == child_uuid
    assert [p["name"] for p in placement("GET", f"/resource_providers?in_tree={child_uuid}", "1.14").json[
        "resource_providers"]] == ["numa", "numa-0"]
    fault(placement("POST", "/resource_providers", "1.20", json={"name": "numa"}), 409, "already exists")
    fault(placement("DELETE", f"/resource_providers/{parent['uuid']}"), 409, "child resource providers")
    # re-parenting needs 1.37
    fault(placement("PUT", f"/resource_providers/{child_uuid}", "1.14",
                    json={"name": "numa-0", "parent_provider_uuid": None}), 400, "un-parenting")
    moved = placement("PUT", f"/resource_providers/{child_uuid}", "1.37",
                      json={"name": "numa-0b", "parent_provider_uuid": None}).json
    assert moved["root_provider_uuid"] == child_uuid and moved["generation"] == 1
    assert placement("DELETE", f"/resource_providers/{parent['uuid']}").status_code == 204
    fault(placement("GET", f"/resource_providers/{parent['uuid']}"), 404, "No resource provider")
    fault(placement("POST", "/resource_providers", json={"name": "x", "bogus": 1}), 400)
    fault(placement("POST", "/resource_providers", json={"name": ""}), 400)


def test_inventories_generations_and_capacity(placement):
    rp = placement("POST", "/resource_providers", "1.20", json={"name": "disks"}).json["uuid"]
    base = f"/resource_providers/{rp}/inventories"
    made = placement("POST", base, json={"resource_class": "DISK_GB", "total": 100, "reserved": 10})
    assert made.status_code == 201 and made.json["resource_provider_generation"] == 1
    assert made.json["max_unit"] == 2147483647 and made.json["allocation_ratio"] == 1.0
    fault(placement("PUT", base, json={"resource_provider_generation": 0, "inventories": {}}), 409,
          "generation conflict")
    fault(placement("PUT", base, "1.23", json={"resource_provider_generation": 0, "inventories": {}}), 409,
          code="placement.concurrent_update")
    full = check(placement("PUT", base, json={"resource_provider_generation": 1, "inventories": {
        "DISK_GB": {"total": 100, "reserved": 10, "max_unit": 50, "allocation_ratio": 1.5},
        "IPV4_ADDRESS": {"total": 16}}}), INVENTORIES)
    assert full["resource_provider_generation"] == 2 and set(full["inventories"]) == {"DISK_GB", "IPV4_ADDRESS"}
    fault(placement("PUT", base, json={"resource_provider_generation": 2, "inventories": {"NOPE": {"total": 1}}}),
          400, "No such resource class NOPE")
    fault(placement("PUT", f"{base}/VCPU", json={"resource_provider_generation": 2, "total": 4}), 404)
    # reserved equal to total only from 1.26
    fault(placement("PUT", f"{base}/IPV4_ADDRESS", json={"resource_provider_generation": 2, "total": 4,
                                                         "reserved": 4}), 400, "reserved")
    assert placement("PUT", f"{base}/IPV4_ADDRESS", "1.26", json={"resource_provider_generation": 2, "total": 4,
                                                                  "reserved": 4}).status_code == 200
    # capacity: (100 - 10) * 1.5 = 135, at most 50 at once
    consumer, other = str(uuid.uuid4()), str(uuid.uuid4())
    owner = {"project_id": "p1", "user_id": "u1"}
    put = placement("PUT", f"/allocations/{consumer}", "1.12",
                    json={"allocations": {rp: {"resources": {"DISK_GB": 50}}}, **owner})
    assert put.status_code == 204, put.text
    fault(placement("PUT", f"/allocations/{other}", "1.12",
                    json={"allocations": {rp: {"resources": {"DISK_GB": 60}}}, **owner}), 400, "max_unit")
    assert placement("PUT", f"/allocations/{other}", "1.12",
                     json={"allocations": {rp: {"resources": {"DISK_GB": 50}}}, **owner}).status_code == 204
    fault(placement("PUT", f"/allocations/{str(uuid.uuid4())}", "1.12",
                    json={"allocations": {rp: {"resources": {"DISK_GB": 40}}}, **owner}), 409, "exceed the capacity")
    # replacing a consumer's allocation frees its old amount first
    assert placement("PUT", f"/allocations/{other}", "1.12",
                     json={"allocations": {rp: {"resources": {"DISK_GB": 35}}}, **owner}).status_code == 204
    assert placement("GET", f"/resource_providers/{rp}/usages").json["usages"]["DISK_GB"] == 85
    fault(placement("DELETE", f"{base}/DISK_GB", "1.23"), 409, "in use", code="placement.inventory.inuse")
    assert placement("DELETE", base, "1.4").status_code == 405
    assert placement("DELETE", f"/allocations/{consumer}").status_code == 204
    fault(placement("DELETE", f"/allocations/{consumer}"), 404, "No allocations for consumer")
    fault(placement("DELETE", f"/resource_providers/{rp}"), 409, "has allocations")


def test_consumer_generations_and_post_allocations(placement):
    rp = placement("POST", "/resource_providers", "1.20", json={"name": "gen"}).json["uuid"]
    placement("POST", f"/resource_providers/{rp}/inventories", json={"resource_class": "VCPU", "total": 8})
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    body = {"allocations": {rp: {"resources": {"VCPU": 1}}}, "project_id": "p", "user_id": "u"}
    fault(placement("PUT", f"/allocations/{a}", "1.28", json=body), 400, "consumer_generation")
    fault(placement("PUT", f"/allocations/{a}", "1.28", json={**body, "consumer_generation": 3}), 409,
          "consumer generation conflict")
    assert placement("PUT", f"/allocations/{a}", "1.28", json={**body, "consumer_generation": None}).status_code == 204
    shown = placement("GET", f"/allocations/{a}", "1.38").json
    assert shown["consumer_generation"] == 1 and shown["consumer_type"] == "unknown" and shown["project_id"] == "p"
    posted = placement("POST", "/allocations", "1.38", json={
        a: {"allocations": {}, "project_id": "p", "user_id": "u", "consumer_generation": 1, "consumer_type": "X"},
        b: {"allocations": {rp: {"resources": {"VCPU": 2}}}, "project_id": "p", "user_id": "u",
            "consumer_generation": None, "consumer_type": "MIGRATION"}})
    assert posted.status_code == 204, posted.text
    assert placement("GET", f"/allocations/{a}").json == {"allocations": {}}
    assert placement("GET", f"/allocations/{b}", "1.38").json["consumer_type"] == "MIGRATION"
    usages = placement("GET", "/usages?project_id=p", "1.38").json["usages"]
    assert usages["MIGRATION"] == {"VCPU": 2, "consumer_count": 1}
    assert placement("GET", "/usages?project_id=p&consumer_type=all", "1.38").json == {
        "usages": {"all": {"VCPU": 2, "consumer_count": 1}}}
    assert placement("GET", "/usages?project_id=p", "1.9").json == {"usages": {"VCPU": 2}}
    # the 1.0 list form
    c = str(uuid.uuid4())
    assert placement("PUT", f"/allocations/{c}", "1.0", json={"allocations": [
        {"resource_provider": {"uuid": rp}, "resources": {"VCPU": 1}}]}).status_code == 204
    fault(placement("PUT", f"/allocations/{c}", "1.12", json={
        "allocations": {str(uuid.uuid4()): {"resources": {"VCPU": 1}}}, "project_id": "p", "user_id": "u"}),
        400, "does not exist")
    assert placement("POST", "/allocations", "1.12", json={}).status_code == 404


def test_traits_and_aggregates(placement):
    rp = placement("POST", "/resource_providers", "1.20", json={"name": "tagged"}).json["uuid"]
    assert placement("GET", "/traits", "1.5").status_code == 404
    traits = placement("GET", "/traits", "1.6").json["traits"]
    assert "COMPUTE_NODE" in traits and "HW_CPU_X86_AVX2" in traits and len(traits) > 300
    assert placement("PUT", "/traits/CUSTOM_GOLD", "1.6").status_code == 201
    assert placement("PUT", "/traits/CUSTOM_GOLD", "1.6").status_code == 204
    fault(placement("PUT", "/traits/GOLD", "1.6"), 400, "CUSTOM_")
    assert placement("GET", "/traits/CUSTOM_GOLD", "1.6").status_code == 204
    set_traits = placement("PUT", f"/resource_providers/{rp}/traits", "1.6",
                           json={"traits": ["CUSTOM_GOLD", "HW_CPU_X86_AVX2"], "resource_provider_generation": 0})
    assert set_traits.json == {"traits": ["CUSTOM_GOLD", "HW_CPU_X86_AVX2"], "resource_provider_generation": 1}
    fault(placement("PUT", f"/resource_providers/{rp}/traits", "1.6",
                    json={"traits": ["CUSTOM_NOPE"], "resource_provider_generation": 1}), 400, "No such trait")
    fault(placement("DELETE", "/traits/CUSTOM_GOLD", "1.6"), 409, "in use")
    fault(placement("DELETE", "/traits/HW_CPU_X86_AVX2", "1.6"), 400, "standard")
    assert placement("GET", "/traits?name=in:CUSTOM_GOLD,COMPUTE_NODE&associated=true", "1.6").json == {
        "traits": ["COMPUTE_NODE", "CUSTOM_GOLD"]}
    found = placement("GET", "/resource_providers?required=CUSTOM_GOLD,!COMPUTE_NODE", "1.22").json
    assert [p["uuid"] for p in found["resource_providers"]] == [rp]
    assert placement("GET", "/resource_providers?required=!CUSTOM_GOLD", "1.22").json["resource_providers"]
    fault(placement("GET", "/resource_providers?required=CUSTOM_NOPE", "1.18"), 400, "No such trait")
    fault(placement("GET", "/resource_providers?required=CUSTOM_GOLD", "1.17"), 400, "required")
    assert placement("DELETE", f"/resource_providers/{rp}/traits", "1.6").status_code == 204
    # aggregates: a plain list before 1.19, with the generation from it
    agg = str(uuid.uuid4())
    assert placement("GET", f"/resource_providers/{rp}/aggregates", "1.0").status_code == 404
    old = placement("PUT", f"/resource_providers/{rp}/aggregates", "1.1", json=[agg])
    assert old.json == {"aggregates": [agg]}
    fault(placement("PUT", f"/resource_providers/{rp}/aggregates", "1.19",
                    json={"aggregates": [], "resource_provider_generation": 99}), 409, "generation")
    generation = placement("GET", f"/resource_providers/{rp}", "1.19").json["generation"]
    new = placement("PUT", f"/resource_providers/{rp}/aggregates", "1.19",
                    json={"aggregates": [agg], "resource_provider_generation": generation}).json
    assert new == {"aggregates": [agg], "resource_provider_generation": generation + 1}
    member = placement("GET", f"/resource_providers?member_of=in:{agg},{uuid.uuid4()}", "1.3").json
    assert [p["uuid"] for p in member["resource_providers"]] == [rp]
    assert placement("GET", f"/resource_providers?member_of=!{agg}", "1.32").json["resource_providers"]
    fault(placement("GET", "/resource_providers?member_of=nope", "1.3"), 400)


def test_resource_classes(placement):
    assert placement("GET", "/resource_classes", "1.1").status_code == 404
    names = [c["name"] for c in placement("GET", "/resource_classes", "1.2").json["resource_classes"]]
    assert names[:3] == ["VCPU", "MEMORY_MB", "DISK_GB"]
    made = placement("POST", "/resource_classes", "1.2", json={"name": "CUSTOM_FPGA"})
    assert made.status_code == 201 and made.headers["Location"].endswith("/placement/resource_classes/CUSTOM_FPGA")
    fault(placement("POST", "/resource_classes", "1.2", json={"name": "CUSTOM_FPGA"}), 409, "already exists")
    fault(placement("POST", "/resource_classes", "1.2", json={"name": "FPGA"}), 400)
    assert placement("PUT", "/resource_classes/CUSTOM_FPGA", "1.7").status_code == 204
    assert placement("PUT", "/resource_classes/CUSTOM_GPU", "1.7").status_code == 201
    renamed = placement("PUT", "/resource_classes/CUSTOM_GPU", "1.2", json={"name": "CUSTOM_VGPU"}).json
    assert renamed["name"] == "CUSTOM_VGPU"
    assert placement("GET", "/resource_classes/CUSTOM_VGPU", "1.2").json["links"][0]["href"].endswith("CUSTOM_VGPU")
    fault(placement("DELETE", "/resource_classes/VCPU", "1.2"), 400, "standard")
    rp = placement("POST", "/resource_providers", "1.20", json={"name": "fpga"}).json["uuid"]
    placement("POST", f"/resource_providers/{rp}/inventories", json={"resource_class": "CUSTOM_FPGA", "total": 2})
    fault(placement("DELETE", "/resource_classes/CUSTOM_FPGA", "1.2"), 409, "in use")
    assert placement("DELETE", "/resource_classes/CUSTOM_VGPU", "1.2").status_code == 204
    fault(placement("GET", "/resource_classes/CUSTOM_VGPU", "1.2"), 404, "No such resource class")


def test_resources_filter_and_allocation_candidates(placement, cloud):
    compute = _compute(placement)
    _server(cloud, compute["name"], flavor={"vcpus": 200, "ram": 1024, "disk": 1})
    # 64 vCPUs at 4.0: 256, 200 used, 56 left
    fits = placement("GET", "/resource_providers?resources=VCPU:56", "1.4").json["resource_providers"]
    assert [p["uuid"] for p in fits] == [compute["uuid"]]
    assert placement("GET", "/resource_providers?resources=VCPU:57", "1.4").json["resource_providers"] == []
    fault(placement("GET", "/resource_providers?resources=VCPU", "1.4"), 400, "Badly formed")
    fault(placement("GET", "/resource_providers?resources=NOPE:1", "1.4"), 400, "No such resource class")
    fault(placement("GET", "/resource_providers?resources=VCPU:1", "1.3"), 400, "resources")
    found = placement("GET", "/allocation_candidates?resources=VCPU:4,MEMORY_MB:1024", "1.34").json
    assert found["allocation_requests"] == [{"allocations": {compute["uuid"]: {"resources": {
        "VCPU": 4, "MEMORY_MB": 1024}}}, "mappings": {"": [compute["uuid"]]}}]
    summary = found["provider_summaries"][compute["uuid"]]
    assert summary["resources"]["VCPU"] == {"capacity": 256, "used": 200}
    assert summary["traits"] == ["COMPUTE_NODE"] and summary["root_provider_uuid"] == compute["uuid"]
    old = placement("GET", "/allocation_candidates?resources=VCPU:4", "1.10").json
    assert old["allocation_requests"] == [{"allocations": [{"resource_provider": {"uuid": compute["uuid"]},
                                                            "resources": {"VCPU": 4}}]}]
    assert set(old["provider_summaries"][compute["uuid"]]["resources"]) == {"VCPU"}
    assert placement("GET", "/allocation_candidates?resources=VCPU:100", "1.10").json == {
        "allocation_requests": [], "provider_summaries": {}}
    assert placement("GET", "/allocation_candidates?resources=VCPU:1", "1.9").status_code == 404


def test_policy_and_versions(placement, cloud, demo_token):
    fault(placement("GET", "/resource_providers", token=demo_token), 403)
    demo = _demo(cloud)
    assert placement("GET", f"/usages?project_id={demo}", "1.9", token=demo_token).status_code == 200
    fault(placement("GET", "/usages?project_id=other", "1.9", token=demo_token), 403)
    fault(placement("GET", "/usages", "1.9"), 400, "project_id")
    resp = placement("GET", "/resource_providers", "1.40")
    assert resp.status_code == 406 and resp.json["errors"][0]["max_version"] == "1.39"
    assert placement("GET", "/resource_providers", "1.39").headers["OpenStack-API-Version"] == "placement 1.39"
    fault(placement("GET", "/resource_providers?bogus=1"), 400, "Additional properties")
    modified = placement("GET", "/resource_providers", "1.15")
    assert modified.headers["Cache-Control"] == "no-cache" and modified.headers["Last-Modified"].endswith("GMT")
    assert "Last-Modified" not in placement("GET", "/resource_providers", "1.14").headers
    fault(placement("POST", "/reshaper", "1.30", json={}), 501)


def test_providers_are_per_region(tmp_path):
    """Each region's Placement lists its own hosts and providers only, at its own URL."""
    import falcon.testing

    from overcast.app import create_app
    from overcast.bootstrap import prepare
    from overcast.config import load_settings
    from overcast.core.compute import build_compute
    from overcast.core.identity import build_identity
    from overcast.core.image import ImageCore

    config = tmp_path / "overcast.toml"
    config.write_text('[clouds.RegionOne]\ndriver = "local"\n[clouds.lab]\ndriver = "noop"\n')
    settings = load_settings(config, data_dir=tmp_path / "data", environ={}, identity={"bcrypt_rounds": 4})
    identity = build_identity(settings)
    compute = build_compute(settings, identity)
    accounts = {a.username: a.password for a in prepare(identity, compute, ImageCore(settings, identity.store))}
    client = falcon.testing.TestClient(create_app(settings, identity, compute))
    try:
        login = client.simulate_post("/identity/v3/auth/tokens", json={"auth": {"identity": {
            "methods": ["password"], "password": {"user": {"name": "admin", "domain": {"id": "default"},
                                                           "password": accounts["admin"]}}},
            "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}})
        headers = {"X-Auth-Token": login.headers["X-Subject-Token"], "OpenStack-API-Version": "placement 1.20"}
        first = client.simulate_get("/placement/resource_providers", headers=headers).json["resource_providers"]
        lab = client.simulate_get("/regions/lab/placement/resource_providers",
                                  headers=headers).json["resource_providers"]
        assert [p["name"] for p in first] == ["overcast-local-1"] and [p["name"] for p in lab] == ["lab"]
        assert lab[0]["links"][0]["href"] == f"/regions/lab/placement/resource_providers/{lab[0]['uuid']}"
        made = client.simulate_post("/regions/lab/placement/resource_providers", headers=headers,
                                    json={"name": "lab-pool"})
        assert made.status_code == 200
        again = client.simulate_get("/placement/resource_providers?name=lab-pool", headers=headers)
        assert again.json == {"resource_providers": []}
        catalog = client.simulate_get("/identity/v3/auth/catalog", headers=headers).json["catalog"]
        urls = {e["region"]: e["url"] for s in catalog if s["type"] == "placement" for e in s["endpoints"]}
        assert urls["RegionOne"].endswith("/placement") and urls["lab"].endswith("/regions/lab/placement")
    finally:
        compute.close()
        identity.store.dispose()
