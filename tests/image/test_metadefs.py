"""The metadata definitions catalog (``/v2/metadefs``), in process: namespaces, resource types and
associations, objects, properties, tags; Glance's default policy, protected namespaces, faults.

Tempest has no response schemas for image v2; every body is checked against the schema we serve
at ``/v2/schemas/metadefs/*``, the document Glance's clients validate against.
"""

from __future__ import annotations

import jsonschema
import pytest

NS = "/metadefs/namespaces"
SEEDED = ["OS::Glance::Image", "OS::Cinder::Volume", "OS::Nova::Flavor", "OS::Nova::Aggregate", "OS::Nova::Server"]


@pytest.fixture(autouse=True)
def empty_catalog(cloud):  # noqa: ANN001, ANN201
    """These tests start from a catalog without the namespaces bootstrap ships (test_shipped_metadefs.py)."""
    from sqlalchemy import delete

    from overcast.store.metadefs import MetadefNamespace, MetadefResourceType

    with cloud.app.images.store.session() as session:
        session.execute(delete(MetadefNamespace))
        session.execute(delete(MetadefResourceType).where(MetadefResourceType.protected.is_(False)))


@pytest.fixture
def schema(api, demo_token):  # noqa: ANN001, ANN201
    """``schema("namespace")``: the served ``/v2/schemas/metadefs/<name>`` document."""
    def fetch(name: str) -> dict:
        resp = api("GET", f"/schemas/metadefs/{name}", demo_token)
        assert resp.status_code == 200
        return resp.json
    return fetch


@pytest.fixture
def make(api, admin_token):  # noqa: ANN001, ANN201
    """``make(name, **attrs)``: a public, unprotected namespace made by the admin."""
    def create(name: str, **attrs) -> dict:  # noqa: ANN003
        body = {"namespace": name, "visibility": "public", **attrs}
        resp = api("POST", NS, admin_token, json=body)
        assert resp.status_code == 201, resp.text
        return resp.json
    return create


def test_schema_documents(schema):
    names = {"namespace": "namespace", "namespaces": "namespaces", "resource_type": "resource_type_association",
             "resource_types": "resource_type_associations", "object": "object", "objects": "objects",
             "property": "property", "properties": "properties", "tag": "tag", "tags": "tags"}
    for document, name in names.items():
        assert schema(document)["name"] == name
    namespace = schema("namespace")
    assert namespace["required"] == ["namespace"] and namespace["additionalProperties"] is False
    assert "property" in namespace["definitions"]
    namespaces = schema("namespaces")
    assert namespaces["properties"]["namespaces"]["items"]["name"] == "namespace"
    assert "definitions" in namespaces and "definitions" not in namespaces["properties"]["namespaces"]["items"]
    assert schema("property")["required"] == ["type", "title", "name"]
    properties = schema("properties")["properties"]["properties"]
    assert properties["type"] == "object" and properties["additionalProperties"]["required"] == ["type", "title"]
    assert schema("tag")["properties"]["name"]["maxLength"] == 255


def test_seeded_resource_types_any_reader_lists(api, demo_token):
    resp = api("GET", "/metadefs/resource_types", demo_token)
    assert resp.status_code == 200
    assert [t["name"] for t in resp.json["resource_types"]] == SEEDED
    assert set(resp.json["resource_types"][0]) == {"name", "created_at", "updated_at"}


def test_namespace_lifecycle(api, admin_token, schema):
    body = {"namespace": "OS::Compute::Test", "display_name": "Test", "description": "d", "visibility": "public",
            "protected": True, "resource_type_associations": [{"name": "OS::Nova::Flavor", "prefix": "hw:"}],
            "properties": {"cpu_policy": {"title": "CPU Policy", "type": "string", "enum": ["shared", "dedicated"]}},
            "objects": [{"name": "Topology", "required": ["sockets"],
                         "properties": {"sockets": {"title": "Sockets", "type": "integer", "minimum": 1}}}],
            "tags": [{"name": "fast"}]}
    resp = api("POST", NS, admin_token, json=body)
    assert resp.status_code == 201, resp.text
    assert resp.headers["Location"] == "/v2/metadefs/namespaces/OS::Compute::Test"
    jsonschema.validate(resp.json, schema("namespace"))
    assert resp.json["protected"] is True and resp.json["owner"]
    listed = api("GET", NS, admin_token).json
    jsonschema.validate(listed, schema("namespaces"))
    assert [n["namespace"] for n in listed["namespaces"]] == ["OS::Compute::Test"]
    assert "objects" not in listed["namespaces"][0] and listed["namespaces"][0]["resource_type_associations"]
    shown = api("GET", f"{NS}/OS::Compute::Test", admin_token).json
    jsonschema.validate(shown, schema("namespace"))
    assert shown["properties"] == {"cpu_policy": body["properties"]["cpu_policy"]}
    assert shown["objects"][0]["self"] == "/v2/metadefs/namespaces/OS::Compute::Test/objects/Topology"
    assert shown["tags"] == [{"name": "fast"}]
    prefixed = api("GET", f"{NS}/OS::Compute::Test?resource_type=OS::Nova::Flavor", admin_token).json
    assert list(prefixed["properties"]) == ["hw:cpu_policy"] and prefixed["objects"][0]["required"] == ["hw:sockets"]
    refused = api("DELETE", f"{NS}/OS::Compute::Test", admin_token)
    assert refused.status_code == 403 and "is protected and cannot be deleted" in refused.json["message"]
    updated = api("PUT", f"{NS}/OS::Compute::Test", admin_token,
                  json={"namespace": "OS::Compute::Renamed", "description": "e"})
    assert updated.status_code == 200, updated.text
    jsonschema.validate(updated.json, schema("namespace"))
    assert updated.json["visibility"] == "private" and updated.json["protected"] is False  # PUT's defaults
    assert "display_name" not in updated.json
    assert api("GET", f"{NS}/OS::Compute::Test", admin_token).status_code == 404
    assert api("GET", f"{NS}/OS::Compute::Renamed/objects/Topology", admin_token).status_code == 200
    assert api("DELETE", f"{NS}/OS::Compute::Renamed", admin_token).status_code == 204
    assert api("GET", f"{NS}/OS::Compute::Renamed", admin_token).status_code == 404
    again = api("POST", NS, admin_token, json={"namespace": "OS::Compute::Renamed"}).json
    assert "objects" not in again and "tags" not in again  # its contents went with it


def test_glance_default_policy(api, admin_token, demo_token, alt_token, make, projects):
    make("public-ns")
    private = api("POST", NS, admin_token, json={"namespace": "admin-private"}).json
    assert private["visibility"] == "private" and private["owner"] == projects["admin"]
    assert api("POST", NS, admin_token, json={"namespace": "demo-private", "owner": projects["demo"]}
               ).status_code == 201
    seen = {n["namespace"] for n in api("GET", NS, demo_token).json["namespaces"]}
    assert seen == {"public-ns", "demo-private"}
    assert {n["namespace"] for n in api("GET", NS, alt_token).json["namespaces"]} == {"public-ns"}
    for path in ("/admin-private", "/admin-private/objects", "/admin-private/tags", "/admin-private/properties",
                 "/admin-private/resource_types"):
        assert api("GET", NS + path, demo_token).status_code == 404, path
    assert api("GET", f"{NS}/demo-private", demo_token).status_code == 200
    forbidden = api("POST", NS, demo_token, json={"namespace": "mine"})
    assert forbidden.status_code == 403 and "add_metadef_namespace" in forbidden.json["message"]
    for method, path, body in (("PUT", "/public-ns", {"namespace": "public-ns"}), ("DELETE", "/public-ns", None),
                               ("POST", "/public-ns/objects", {"name": "o"}),
                               ("POST", "/public-ns/properties", {"name": "p", "title": "P", "type": "string"}),
                               ("POST", "/public-ns/tags/t", None), ("DELETE", "/public-ns/tags", None),
                               ("POST", "/public-ns/resource_types", {"name": "OS::Glance::Image"}),
                               ("PUT", "/demo-private", {"namespace": "demo-private"})):
        assert api(method, NS + path, demo_token, json=body).status_code == 403, (method, path)
    assert api("POST", f"{NS}/admin-private/tags/t", demo_token).status_code == 404  # not visible: 404 first


@pytest.mark.parametrize("body,status,words", [
    ({}, 400, "namespace"),
    ({"namespace": "n", "visibility": "shared"}, 400, "visibility"),
    ({"namespace": "n" * 81}, 400, "namespace"),
    ({"namespace": "n", "bogus": 1}, 400, "bogus"),
    ({"namespace": "n", "properties": {"p": {"type": "string"}}}, 400, "title"),
    ({"namespace": "n", "properties": {"p": {"title": "P", "type": "date"}}}, 400, "type"),
    ({"namespace": "n", "objects": [{"name": "o", "properties": {"p": {"title": "P"}}}]}, 400, "type"),
    ({"namespace": "n", "created_at": "2020-01-01T00:00:00Z"}, 403, "Attribute 'created_at' is read-only."),
    ({"namespace": "n", "self": "/x"}, 403, "Attribute 'self' is read-only."),
    ([{"namespace": "n"}], 400, "JSON object"),
])
def test_namespace_bad_input(api, admin_token, body, status, words):
    resp = api("POST", NS, admin_token, json=body)
    assert resp.status_code == status, resp.text
    assert words in resp.json["message"]
    assert api("GET", f"{NS}/n", admin_token).status_code == 404


def test_namespace_conflicts_leave_nothing_half_made(api, admin_token, make):
    make("taken")
    make("other")
    dup = api("POST", NS, admin_token, json={"namespace": "taken"})
    assert dup.status_code == 409 and "already exists" in dup.json["message"]
    clash = api("PUT", f"{NS}/other", admin_token, json={"namespace": "taken"})
    assert clash.status_code == 409 and "duplicate" in clash.json["message"]
    twice = api("POST", NS, admin_token, json={"namespace": "twice", "tags": [{"name": "a"}, {"name": "a"}]})
    assert twice.status_code == 409
    assert api("GET", f"{NS}/twice", admin_token).status_code == 404


def test_namespace_list_filters_paging_sorting(api, admin_token, make, schema):
    make("ns-a")
    make("ns-b", resource_type_associations=[{"name": "OS::Glance::Image"}])
    make("ns-c", visibility="private")
    page = api("GET", f"{NS}?limit=2&sort_key=namespace&sort_dir=asc", admin_token).json
    jsonschema.validate(page, schema("namespaces"))
    assert [n["namespace"] for n in page["namespaces"]] == ["ns-a", "ns-b"]
    assert page["first"] == "/v2/metadefs/namespaces?limit=2&sort_key=namespace&sort_dir=asc"
    assert page["next"] == "/v2/metadefs/namespaces?limit=2&sort_key=namespace&sort_dir=asc&marker=ns-b"
    rest = api("GET", "/" + page["next"].split("/", 2)[2], admin_token).json
    assert [n["namespace"] for n in rest["namespaces"]] == ["ns-c"] and "next" not in rest
    assert [n["namespace"] for n in api("GET", f"{NS}?visibility=private", admin_token).json["namespaces"]] == ["ns-c"]
    typed = api("GET", f"{NS}?resource_types=OS::Glance::Image,OS::Nova::Flavor", admin_token).json
    assert [n["namespace"] for n in typed["namespaces"]] == ["ns-b"]
    assert [n["namespace"] for n in api("GET", NS, admin_token).json["namespaces"]] == ["ns-c", "ns-b", "ns-a"]
    for query, status in (("visibility=shared", 400), ("sort_dir=up", 400), ("sort_key=bogus", 400),
                          ("limit=-1", 400), ("limit=x", 400), ("marker=nope", 404)):
        assert api("GET", f"{NS}?{query}", admin_token).status_code == status, query


def test_objects(api, admin_token, demo_token, make, schema):
    make("objs")
    base = f"{NS}/objs/objects"
    body = {"name": "Topology", "description": "cpu", "required": ["sockets"],
            "properties": {"sockets": {"title": "Sockets", "type": "integer"}}}
    created = api("POST", base, admin_token, json=body)
    assert created.status_code == 201, created.text
    jsonschema.validate(created.json, schema("object"))
    assert created.json["self"] == "/v2/metadefs/namespaces/objs/objects/Topology"
    assert api("POST", base, admin_token, json=body).status_code == 409
    listed = api("GET", base, demo_token).json
    jsonschema.validate(listed, schema("objects"))
    assert [o["name"] for o in listed["objects"]] == ["Topology"] and listed["schema"] == "/v2/schemas/metadefs/objects"
    assert api("GET", f"{base}/Topology", demo_token).json["required"] == ["sockets"]
    updated = api("PUT", f"{base}/Topology", admin_token, json={"name": "Shape"})
    assert updated.status_code == 200 and updated.json["name"] == "Shape" and "properties" not in updated.json
    missing = api("GET", f"{base}/Topology", admin_token)
    assert missing.status_code == 404 and "object with name=Topology was not found" in missing.json["message"]
    for bad, status in (({"description": "no name"}, 400), ({"name": "x", "properties": {"p": {"title": "P"}}}, 400),
                        ({"name": "x", "required": "sockets"}, 400), ({"name": "x", "updated_at": "t"}, 403)):
        assert api("POST", base, admin_token, json=bad).status_code == status, bad
    assert api("DELETE", f"{base}/Shape", admin_token).status_code == 204
    assert api("DELETE", f"{base}/Shape", admin_token).status_code == 404
    api("POST", base, admin_token, json={"name": "a"})
    api("POST", base, admin_token, json={"name": "b"})
    assert api("DELETE", base, admin_token).status_code == 204
    assert api("GET", base, admin_token).json["objects"] == []


def test_properties_and_prefixes(api, admin_token, make, schema):
    make("props", resource_type_associations=[{"name": "OS::Glance::Image", "prefix": "hw_"}])
    base = f"{NS}/props/properties"
    body = {"name": "disk_bus", "title": "Disk Bus", "type": "string", "enum": ["scsi", "virtio"]}
    created = api("POST", base, admin_token, json=body)
    assert created.status_code == 201 and created.json == body
    jsonschema.validate(created.json, schema("property"))
    assert api("POST", base, admin_token, json=body).status_code == 409
    listed = api("GET", base, admin_token).json
    jsonschema.validate(listed, schema("properties"))
    assert listed == {"properties": {"disk_bus": {"title": "Disk Bus", "type": "string", "enum": ["scsi", "virtio"]}}}
    assert api("GET", f"{base}/disk_bus", admin_token).json == body
    assert api("GET", f"{base}/hw_disk_bus?resource_type=OS::Glance::Image", admin_token).json == body
    assert api("GET", f"{base}/disk_bus?resource_type=OS::Glance::Image", admin_token).status_code == 404
    assert api("GET", f"{base}/hw_disk_bus?resource_type=OS::Nova::Flavor", admin_token).status_code == 404
    for bad in ({"title": "T", "type": "string"}, {"name": "p", "type": "string"}, {"name": "p", "title": "T",
                "type": "string", "minLength": -1}, {"name": "p", "title": "T", "type": "string", "pattern": "(["}):
        assert api("POST", base, admin_token, json=bad).status_code == 400, bad
    renamed = api("PUT", f"{base}/disk_bus", admin_token, json={"name": "bus", "title": "Bus", "type": "string"})
    assert renamed.status_code == 200 and renamed.json == {"name": "bus", "title": "Bus", "type": "string"}
    assert api("DELETE", f"{base}/bus", admin_token).status_code == 204
    assert api("GET", base, admin_token).json == {"properties": {}}


def test_tags(api, admin_token, make, schema):
    make("tagged")
    base = f"{NS}/tagged/tags"
    made = api("POST", base, admin_token, json={"tags": [{"name": "a"}, {"name": "b"}]})
    assert made.status_code == 201 and made.json == {"tags": [{"name": "a"}, {"name": "b"}]}
    replaced = api("POST", base, admin_token, json={"tags": [{"name": "c"}]})  # no X-Openstack-Append: replace
    assert replaced.status_code == 201
    assert api("GET", base, admin_token).json == {"tags": [{"name": "c"}]}
    appended = api("POST", base, admin_token, json={"tags": [{"name": "d"}]}, headers={"X-Openstack-Append": "True"})
    assert appended.status_code == 201
    listed = api("GET", f"{base}?sort_key=name&sort_dir=asc", admin_token).json
    jsonschema.validate(listed, schema("tags"))
    assert listed == {"tags": [{"name": "c"}, {"name": "d"}]}
    assert api("GET", f"{base}?sort_key=name&sort_dir=asc&marker=c&limit=1", admin_token).json == {
        "tags": [{"name": "d"}]}
    assert api("POST", base, admin_token, json={"tags": [{"name": "d"}]},
               headers={"X-Openstack-Append": "true"}).status_code == 409
    assert api("POST", base, admin_token, json={"tags": [{"name": "x"}, {"name": "x"}]}).status_code == 409
    single = api("POST", f"{base}/e", admin_token)
    assert single.status_code == 201
    jsonschema.validate(single.json, schema("tag"))
    assert api("POST", f"{base}/e", admin_token).status_code == 409
    assert api("POST", f"{base}/{'x' * 256}", admin_token).status_code == 400
    renamed = api("PUT", f"{base}/e", admin_token, json={"name": "f"})
    assert renamed.status_code == 200 and renamed.json["name"] == "f"
    assert api("PUT", f"{base}/f", admin_token, json={"name": "c"}).status_code == 409
    assert api("GET", f"{base}/f", admin_token).json["name"] == "f"
    assert api("DELETE", f"{base}/f", admin_token).status_code == 204
    assert api("GET", f"{base}/f", admin_token).status_code == 404
    assert api("DELETE", base, admin_token).status_code == 204
    assert api("GET", base, admin_token).json == {"tags": []}
    for bad in ({}, {"tags": "a"}, {"tags": [{"nom": "a"}]}):
        assert api("POST", base, admin_token, json=bad).status_code == 400, bad


def test_resource_type_associations(api, admin_token, demo_token, make, schema):
    make("assoc")
    base = f"{NS}/assoc/resource_types"
    created = api("POST", base, admin_token, json={"name": "OS::Trove::Instance", "prefix": "trove:"})
    assert created.status_code == 201, created.text
    jsonschema.validate(created.json, schema("resource_type"))
    assert created.json["name"] == "OS::Trove::Instance" and "properties_target" not in created.json
    known = [t["name"] for t in api("GET", "/metadefs/resource_types", demo_token).json["resource_types"]]
    assert known == SEEDED + ["OS::Trove::Instance"]  # a new type joins the catalog
    assert api("POST", base, admin_token, json={"name": "OS::Trove::Instance"}).status_code == 409
    assert api("POST", base, admin_token, json={"prefix": "x"}).status_code == 400
    listed = api("GET", base, demo_token).json
    jsonschema.validate(listed, schema("resource_types"))
    assert [a["name"] for a in listed["resource_type_associations"]] == ["OS::Trove::Instance"]
    assert api("DELETE", f"{base}/OS::Glance::Image", admin_token).status_code == 404
    assert api("DELETE", f"{base}/OS::Trove::Instance", admin_token).status_code == 204
    assert api("GET", base, admin_token).json == {"resource_type_associations": []}


def test_protected_namespace_keeps_its_contents(api, admin_token, make):
    make("guarded", protected=True, tags=[{"name": "t"}], objects=[{"name": "o"}],
         properties={"p": {"title": "P", "type": "string"}},
         resource_type_associations=[{"name": "OS::Glance::Image"}])
    for path in ("/objects/o", "/properties/p", "/tags/t", "/resource_types/OS::Glance::Image", "/objects",
                 "/properties", "/tags", ""):
        resp = api("DELETE", f"{NS}/guarded{path}", admin_token)
        assert resp.status_code == 403 and "protected" in resp.json["message"], path
    shown = api("GET", f"{NS}/guarded", admin_token).json
    assert shown["tags"] and shown["objects"] and shown["properties"] and shown["resource_type_associations"]
    assert api("PUT", f"{NS}/guarded/tags/t", admin_token, json={"name": "u"}).status_code == 200  # still editable
