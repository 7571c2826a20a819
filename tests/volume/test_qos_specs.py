"""QoS specs (/qos-specs, admin only): keys, consumers, volume type associations and forced deletes."""

from __future__ import annotations

from cinder_helpers import check

MISSING = "00000000-0000-0000-0000-000000000000"


def _qos(admin_cinder, name: str, **values: str) -> dict:
    resp = admin_cinder.req("POST", "/qos-specs", json={"qos_specs": {"name": name, **values}})
    return check(resp, "show_qos", "qos")["qos_specs"]


def _type(admin_cinder, name: str) -> dict:
    return admin_cinder.req("POST", "/types", json={"volume_type": {"name": name}}).json["volume_type"]


def _associated(admin_cinder, qos_id: str) -> list[str]:
    resp = admin_cinder.req("GET", f"/qos-specs/{qos_id}/associations")
    return sorted(a["id"] for a in check(resp, "show_association_qos", "qos")["qos_associations"])


def test_qos_specs_lifecycle(admin_cinder):
    resp = admin_cinder.req("POST", "/qos-specs", json={"qos_specs": {"name": "gold", "read_iops_sec": "2000"}})
    body = check(resp, "show_qos", "qos")
    created = body["qos_specs"]
    assert created["consumer"] == "back-end" and created["specs"] == {"read_iops_sec": "2000"}
    assert body["links"][0]["href"].endswith(f"/volume/v3/{admin_cinder.project_id}/qos-specs/{created['id']}")
    for consumer in ("front-end", "both"):
        assert _qos(admin_cinder, f"qos-{consumer}", consumer=consumer)["consumer"] == consumer
    listed = check(admin_cinder.req("GET", "/qos-specs"), "list_qos", "qos")["qos_specs"]
    assert created in listed and len(listed) == 3
    item = f"/qos-specs/{created['id']}"
    assert check(admin_cinder.req("GET", item), "show_qos", "qos")["qos_specs"] == created

    set_body = {"qos_specs": {"iops_bytes": "500", "consumer": "front-end"}}
    assert check(admin_cinder.req("PUT", item, json=set_body), "set_qos_key", "qos") == set_body
    shown = admin_cinder.req("GET", item).json["qos_specs"]
    assert shown["specs"] == {"read_iops_sec": "2000", "iops_bytes": "500"} and shown["consumer"] == "front-end"

    # a missing key is 404 and removes nothing, not even the keys before it
    resp = admin_cinder.req("PUT", f"{item}/delete_keys", json={"keys": ["iops_bytes", "nosuch"]})
    assert resp.status_code == 404
    assert resp.json["itemNotFound"]["message"] == f"QoS spec {created['id']} has no spec with key nosuch."
    assert "iops_bytes" in admin_cinder.req("GET", item).json["qos_specs"]["specs"]
    check(admin_cinder.req("PUT", f"{item}/delete_keys", json={"keys": ["iops_bytes"]}), "unset_qos_key", "qos")
    assert admin_cinder.req("GET", item).json["qos_specs"]["specs"] == {"read_iops_sec": "2000"}

    check(admin_cinder.req("DELETE", f"{item}?force=False"), "delete_qos", "qos")
    resp = admin_cinder.req("GET", item)
    assert resp.status_code == 404 and resp.json["itemNotFound"]["message"] == f"No such QoS spec {created['id']}."


def test_qos_specs_list_filters_and_pages(admin_cinder):
    ids = [_qos(admin_cinder, name, consumer=consumer)["id"]
           for name, consumer in (("a", "front-end"), ("b", "back-end"), ("c", "front-end"))]
    front = admin_cinder.req("GET", "/qos-specs?consumer=front-end&sort=name:asc").json["qos_specs"]
    assert [q["name"] for q in front] == ["a", "c"]
    assert [q["id"] for q in admin_cinder.req("GET", "/qos-specs?name=b").json["qos_specs"]] == [ids[1]]
    first = admin_cinder.req("GET", "/qos-specs?sort=name:asc&limit=1").json
    assert [q["name"] for q in first["qos_specs"]] == ["a"] and "marker=" in first["qos_specs_links"][0]["href"]
    second = admin_cinder.req("GET", f"/qos-specs?sort=name:asc&limit=1&marker={ids[0]}").json["qos_specs"]
    assert [q["name"] for q in second] == ["b"]
    assert admin_cinder.req("GET", "/qos-specs?sort=nosuch").status_code == 400
    # served without the project id too
    resp = admin_cinder.cloud.request("GET", "/volume/v3/qos-specs", admin_cinder.token)
    assert len(resp.json["qos_specs"]) == 3


def test_qos_specs_bad_input(admin_cinder):
    qos = _qos(admin_cinder, "silver")
    for body, status, text in (
            ({"qos_specs": {"name": "silver"}}, 409, "QoS Specs silver already exists."),
            ({"qos_specs": {"name": "x", "consumer": "hypervisor"}}, 400, "Valid consumer of QoS specs are"),
            ({"qos_specs": {"consumer": "both"}}, 400, "name"),
            ({"qos_specs": {"name": " padded "}}, 400, "name"),
            ({"qos_specs": {"name": "x", "iops": 500}}, 400, "iops"),
            ({"qos_specs": {"name": "x", "bad key!": "1"}}, 400, "qos_specs"),
            ({"qos_specs": "silver"}, 400, "qos_specs"),
            ({}, 400, "qos_specs")):
        resp = admin_cinder.req("POST", "/qos-specs", json=body)
        assert resp.status_code == status and text in resp.text, (body, resp.text)
    assert admin_cinder.req("POST", "/qos-specs", body=b"{").status_code == 400
    item = f"/qos-specs/{qos['id']}"
    for path, body in ((item, {"qos_specs": {"consumer": "hypervisor"}}), (item, {"qos_specs": {"k": None}}),
                       (item, {"keys": ["k"]}), (f"{item}/delete_keys", {"keys": "k"}),
                       (f"{item}/delete_keys", {"keys": ["k", "k"]}), (f"{item}/delete_keys", {})):
        resp = admin_cinder.req("PUT", path, json=body)
        assert resp.status_code == 400 and "badRequest" in resp.json, (path, body, resp.text)
    assert admin_cinder.req("GET", item).json["qos_specs"]["consumer"] == "back-end"
    resp = admin_cinder.req("DELETE", f"{item}?force=maybe")
    assert resp.status_code == 400 and "force" in resp.json["badRequest"]["message"]
    for method, path, kw in (("GET", f"/qos-specs/{MISSING}", {}), ("DELETE", f"/qos-specs/{MISSING}", {}),
                             ("PUT", f"/qos-specs/{MISSING}", {"json": {"qos_specs": {"k": "v"}}}),
                             ("PUT", f"/qos-specs/{MISSING}/delete_keys", {"json": {"keys": ["k"]}}),
                             ("GET", f"/qos-specs/{MISSING}/associations", {}),
                             ("GET", f"/qos-specs/{MISSING}/disassociate_all", {}),
                             ("GET", f"/qos-specs/nosuch/associate?vol_type_id={MISSING}", {})):
        resp = admin_cinder.req(method, path, **kw)
        assert resp.status_code == 404 and "itemNotFound" in resp.json, (method, path, resp.text)


def test_qos_specs_are_admin_only(cinder, admin_cinder):
    qos = _qos(admin_cinder, "bronze")
    vtype = _type(admin_cinder, "t")
    item = f"/qos-specs/{qos['id']}"
    for method, path, kw in (("GET", "/qos-specs", {}), ("POST", "/qos-specs", {"json": {"qos_specs": {"name": "x"}}}),
                             ("GET", item, {}), ("PUT", item, {"json": {"qos_specs": {"k": "v"}}}),
                             ("DELETE", item, {}), ("PUT", f"{item}/delete_keys", {"json": {"keys": ["k"]}}),
                             ("GET", f"{item}/associations", {}),
                             ("GET", f"{item}/associate?vol_type_id={vtype['id']}", {}),
                             ("GET", f"{item}/disassociate?vol_type_id={vtype['id']}", {}),
                             ("GET", f"{item}/disassociate_all", {})):
        resp = cinder.req(method, path, **kw)
        assert resp.status_code == 403 and "forbidden" in resp.json, (method, path, resp.text)
    assert admin_cinder.req("GET", item).json["qos_specs"] == qos
    # members do not see a type's qos_specs_id
    assert "qos_specs_id" not in cinder.req("GET", f"/types/{vtype['id']}").json["volume_type"]


def test_associations_and_forced_delete(admin_cinder):
    qos, other = _qos(admin_cinder, "platinum", consumer="both"), _qos(admin_cinder, "tin")
    types = [_type(admin_cinder, f"type-{n}") for n in range(3)]
    item = f"/qos-specs/{qos['id']}"
    for vtype in types:
        check(admin_cinder.req("GET", f"{item}/associate?vol_type_id={vtype['id']}"), "associate_qos", "qos")
    assert admin_cinder.req("GET", f"{item}/associate?vol_type_id={types[0]['id']}").status_code == 202  # again
    assert _associated(admin_cinder, qos["id"]) == sorted(t["id"] for t in types)
    shown = check(admin_cinder.req("GET", f"/types/{types[0]['id']}"), "show_volume_type", "volume_types")
    assert shown["volume_type"]["qos_specs_id"] == qos["id"]
    listed = check(admin_cinder.req("GET", "/types"), "list_volume_types", "volume_types")["volume_types"]
    assert {t["name"]: t["qos_specs_id"] for t in listed}["lvmdriver-1"] is None

    resp = admin_cinder.req("GET", f"/qos-specs/{other['id']}/associate?vol_type_id={types[0]['id']}")
    assert resp.status_code == 400 and resp.json["badRequest"]["message"] == (
        f"Invalid volume type: Type {types[0]['id']} is already associated with another qos specs: {qos['id']}")
    for query in ("", "?vol_type_id="):
        resp = admin_cinder.req("GET", f"{item}/associate{query}")
        assert resp.json["badRequest"]["message"] == "Volume Type id must not be None."
    resp = admin_cinder.req("GET", f"{item}/disassociate?vol_type_id={MISSING}")
    assert resp.json["itemNotFound"]["message"] == f"Volume type {MISSING} could not be found."

    check(admin_cinder.req("GET", f"{item}/disassociate?vol_type_id={types[0]['id']}"), "disassociate_qos", "qos")
    check(admin_cinder.req("GET", f"/qos-specs/{other['id']}/disassociate?vol_type_id={types[1]['id']}"),
          "disassociate_qos", "qos")  # not its specs: nothing changes
    assert _associated(admin_cinder, qos["id"]) == sorted(t["id"] for t in types[1:])
    assert admin_cinder.req("DELETE", f"/types/{types[1]['id']}").status_code == 202  # takes its association
    assert _associated(admin_cinder, qos["id"]) == [types[2]["id"]]

    resp = admin_cinder.req("DELETE", item)
    assert resp.status_code == 400 and resp.json["badRequest"]["message"] == "Qos specs still in use."
    check(admin_cinder.req("DELETE", f"{item}?force=true"), "delete_qos", "qos")
    assert admin_cinder.req("GET", item).status_code == 404
    assert admin_cinder.req("GET", f"/types/{types[2]['id']}").json["volume_type"]["qos_specs_id"] is None

    check(admin_cinder.req("GET", f"/qos-specs/{other['id']}/associate?vol_type_id={types[2]['id']}"),
          "associate_qos", "qos")
    check(admin_cinder.req("GET", f"/qos-specs/{other['id']}/disassociate_all"), "disassociate_all_qos", "qos")
    assert _associated(admin_cinder, other["id"]) == []
    check(admin_cinder.req("DELETE", f"/qos-specs/{other['id']}"), "delete_qos", "qos")
