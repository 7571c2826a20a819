"""Generic volume groups: group types and specs (3.11), groups (3.13), group snapshots and groups
made from a source (3.14), reset_status (3.19/3.20)."""

from __future__ import annotations

from cinder_helpers import check

V = "3.20"


def _group_type(admin_cinder, name: str = "gt", **extra) -> dict:
    resp = admin_cinder.req("POST", "/group_types", V, json={"group_type": {"name": name, **extra}})
    return check(resp, "create_group_type", "group_types")["group_type"]


def _group(cinder, gtype: dict, vtype: str = "lvmdriver-1", name: str = "g1") -> dict:
    resp = cinder.req("POST", "/groups", V, json={"group": {"name": name, "group_type": gtype["id"],
                                                            "volume_types": [vtype]}})
    created = check(resp, "create_group", "groups")["group"]
    return cinder.wait(created["id"], "available", "groups", version=V)


def _volume(cinder, group: dict, **extra) -> dict:
    return cinder.create(version=V, group_id=group["id"], **extra)


def test_group_types_and_specs(cinder, admin_cinder):
    assert admin_cinder.req("GET", "/group_types", "3.10").status_code == 404
    assert cinder.req("POST", "/group_types", V, json={"group_type": {"name": "x"}}).status_code == 403
    public = _group_type(admin_cinder, "a_public", group_specs={"consistent_group_snapshot_enabled": "<is> False"})
    private = _group_type(admin_cinder, "b_private", is_public=False, description="d")
    assert admin_cinder.req("POST", "/group_types", V, json={"group_type": {"name": "a_public"}}).status_code == 409
    names = [t["name"] for t in check(admin_cinder.req("GET", "/group_types?sort=name:desc&is_public=None", V),
                                      "list_group_types", "group_types")["group_types"]]
    assert names == ["b_private", "a_public"]
    assert [t["name"] for t in admin_cinder.req("GET", "/group_types?is_public=false", V).json["group_types"]] == [
        "b_private"]
    member_view = cinder.req("GET", "/group_types", V).json["group_types"]
    assert [t["name"] for t in member_view] == ["a_public"] and "group_specs" not in member_view[0]
    assert cinder.req("GET", f"/group_types/{private['id']}", V).status_code == 404
    updated = check(admin_cinder.req("PUT", f"/group_types/{public['id']}", V,
                                     json={"group_type": {"name": "renamed", "description": "new"}}),
                    "update_group_type", "group_types")["group_type"]
    assert (updated["name"], updated["description"]) == ("renamed", "new")
    base = f"/group_types/{public['id']}/group_specs"
    check(admin_cinder.req("POST", base, V, json={"group_specs": {"k1": "v1", "k2": "v2"}}),
          "create_or_update_group_type_specs", "group_types")
    assert check(admin_cinder.req("PUT", f"{base}/k2", V, json={"k2": "v3"}), "update_group_type_specs_item",
                 "group_types") == {"k2": "v3"}
    assert check(admin_cinder.req("GET", f"{base}/k2", V), "show_group_type_specs_item", "group_types") == {"k2": "v3"}
    listed = check(admin_cinder.req("GET", base, V), "list_group_type_specs", "group_types")["group_specs"]
    assert listed == {"consistent_group_snapshot_enabled": "<is> False", "k1": "v1", "k2": "v3"}
    assert admin_cinder.req("DELETE", f"{base}/k1", V).status_code == 202
    assert admin_cinder.req("GET", f"{base}/k1", V).status_code == 404
    assert admin_cinder.req("POST", f"{base}/k1", V, json={}).status_code == 405
    assert cinder.req("GET", base, V).status_code == 403
    check(admin_cinder.req("DELETE", f"/group_types/{private['id']}", V), "delete_group_type", "group_types")


def test_group_lifecycle_with_volumes(cinder, admin_cinder):
    gtype = _group_type(admin_cinder)
    assert cinder.req("GET", "/groups", "3.12").status_code == 404
    group = _group(cinder, gtype)
    shown = check(cinder.req("GET", f"/groups/{group['id']}", V), "show_group", "groups")["group"]
    assert shown["group_type"] == gtype["id"] and shown["status"] == "available"
    lvm = shown["volume_types"][0]
    vol = _volume(cinder, group)
    assert cinder.req("GET", f"/volumes/{vol['id']}", V).json["volume"]["group_id"] == group["id"]
    other = cinder.create(volume_type="__DEFAULT__")
    wrong = cinder.req("POST", "/volumes", V, json={"volume": {"size": 1, "volume_type": "__DEFAULT__",
                                                                "group_id": group["id"]}})
    assert wrong.status_code == 400 and "must be supported by this group" in wrong.json["badRequest"]["message"]
    with_volumes = cinder.req("GET", f"/groups/{group['id']}?list_volume=true", "3.25").json["group"]
    assert with_volumes["volumes"] == [vol["id"]]
    check(cinder.req("GET", "/groups/detail", V), "list_groups_with_detail", "groups")
    check(cinder.req("GET", "/groups", V), "list_groups_no_detail", "groups")
    # a volume in a group is deleted with its group
    resp = cinder.req("DELETE", f"/volumes/{vol['id']}")
    assert resp.status_code == 400 and "belong to a group" in resp.json["badRequest"]["message"]
    # remove it, put it back; a volume of a type the group does not take cannot go in
    check(cinder.req("PUT", f"/groups/{group['id']}", V, json={"group": {"name": "new", "remove_volumes": vol["id"]}}),
          "update_group", "groups")
    assert cinder.req("GET", f"/volumes/{vol['id']}", V).json["volume"]["group_id"] is None
    cinder.req("PUT", f"/groups/{group['id']}", V, json={"group": {"add_volumes": vol["id"]}})
    assert cinder.req("GET", f"/groups/{group['id']}", V).json["group"]["name"] == "new"
    bad = cinder.req("PUT", f"/groups/{group['id']}", V, json={"group": {"add_volumes": other["id"]}})
    assert bad.status_code == 400 and "is not supported by the group" in bad.json["badRequest"]["message"]
    assert cinder.req("PUT", f"/groups/{group['id']}", V, json={"group": {}}).status_code == 400
    keep = cinder.req("POST", f"/groups/{group['id']}/action", V, json={"delete": {"delete-volumes": False}})
    assert keep.status_code == 400 and "still contains volumes" in keep.json["badRequest"]["message"]
    check(cinder.req("POST", f"/groups/{group['id']}/action", V, json={"delete": {"delete-volumes": True}}),
          "delete_group", "groups")
    cinder.wait(vol["id"], "deleted")
    cinder.wait(group["id"], "deleted", "groups", version=V)
    assert lvm and cinder.req("GET", f"/volumes/{other['id']}").status_code == 200
    # the group type is free to go now
    assert admin_cinder.req("DELETE", f"/group_types/{gtype['id']}", V).status_code == 202


def test_group_snapshots_and_groups_from_sources(cinder, admin_cinder):
    gtype = _group_type(admin_cinder)
    group = _group(cinder, gtype)
    vols = [_volume(cinder, group, name=f"m{i}") for i in range(2)]
    resp = cinder.req("POST", "/group_snapshots", V, json={"group_snapshot": {"group_id": group["id"], "name": "gs"}})
    created = check(resp, "create_group_snapshot", "group_snapshots")["group_snapshot"]
    gs = cinder.wait(created["id"], "available", "group_snapshots", version=V)
    check(cinder.req("GET", f"/group_snapshots/{gs['id']}", V), "show_group_snapshot", "group_snapshots")
    check(cinder.req("GET", "/group_snapshots/detail", V), "list_group_snapshots_with_detail", "group_snapshots")
    members = [s for s in cinder.req("GET", "/snapshots/detail", V).json["snapshots"]
               if s["group_snapshot_id"] == gs["id"]]
    assert sorted(s["volume_id"] for s in members) == sorted(v["id"] for v in vols)
    assert all(s["status"] == "available" for s in members)
    assert cinder.req("DELETE", f"/snapshots/{members[0]['id']}").status_code == 400  # only with its group snapshot
    refused = cinder.req("POST", f"/groups/{group['id']}/action", V, json={"delete": {"delete-volumes": True}})
    assert refused.status_code == 400 and "group snapshots" in refused.json["badRequest"]["message"]
    for source in ({"group_snapshot_id": gs["id"]}, {"source_group_id": group["id"]}):
        resp = cinder.req("POST", "/groups/action", V, json={"create-from-src": {"name": "copy", **source}})
        copy_id = check(resp, "create_group_from_source", "groups")["group"]["id"]
        copy = cinder.wait(copy_id, "available", "groups", version=V)
        assert copy["group_type"] == gtype["id"] and (copy["group_snapshot_id"] or copy["source_group_id"])
        made = [v for v in cinder.req("GET", "/volumes/detail", V).json["volumes"] if v["group_id"] == copy["id"]]
        assert sorted(v["name"] for v in made) == ["m0", "m1"] and all(v["status"] == "available" for v in made)
        cinder.req("POST", f"/groups/{copy['id']}/action", V, json={"delete": {"delete-volumes": True}})
        cinder.wait(copy["id"], "deleted", "groups", version=V)
    both = cinder.req("POST", "/groups/action", V, json={"create-from-src": {"name": "x"}})
    assert both.status_code == 400
    check(cinder.req("DELETE", f"/group_snapshots/{gs['id']}", V), "delete_group_snapshot", "group_snapshots")
    cinder.wait(gs["id"], "deleted", "group_snapshots", version=V)
    assert all(cinder.req("GET", f"/snapshots/{s['id']}").status_code == 404 for s in members)


def test_reset_statuses_are_admin_only(cinder, admin_cinder):
    group = _group(cinder, _group_type(admin_cinder))
    _volume(cinder, group)
    gs = cinder.wait(cinder.req("POST", "/group_snapshots", V, json={"group_snapshot": {"group_id": group["id"]}})
                     .json["group_snapshot"]["id"], "available", "group_snapshots", version=V)
    body = {"reset_status": {"status": "error"}}
    assert cinder.req("POST", f"/groups/{group['id']}/action", V, json=body).status_code == 403
    assert admin_cinder.req("POST", f"/groups/{group['id']}/action", "3.19", json=body).status_code == 400
    check(admin_cinder.req("POST", f"/groups/{group['id']}/action", V, json=body), "reset_group_status", "groups")
    assert cinder.req("GET", f"/groups/{group['id']}", V).json["group"]["status"] == "error"
    bad = admin_cinder.req("POST", f"/groups/{group['id']}/action", V, json={"reset_status": {"status": "bogus"}})
    assert bad.status_code == 400
    check(admin_cinder.req("POST", f"/group_snapshots/{gs['id']}/action", "3.19", json=body),
          "reset_group_snapshot_status", "group_snapshots")
    assert cinder.req("GET", f"/group_snapshots/{gs['id']}", V).json["group_snapshot"]["status"] == "error"
    assert cinder.req("POST", f"/group_snapshots/{gs['id']}/action", "3.19", json=body).status_code == 403


def test_a_group_type_asking_for_consistent_snapshots_gets_groups_in_error(cinder, admin_cinder):
    gtype = _group_type(admin_cinder, "cg", group_specs={"consistent_group_snapshot_enabled": "<is> True"})
    resp = cinder.req("POST", "/groups", V, json={"group": {"name": "cg", "group_type": gtype["id"],
                                                            "volume_types": ["lvmdriver-1"]}})
    assert cinder.wait(resp.json["group"]["id"], "error", "groups", version=V)["status"] == "error"


def test_group_volume_lists_and_updates_of_several_volumes(cinder, admin_cinder):
    gtype = _group_type(admin_cinder)
    full, empty = _group(cinder, gtype, name="full"), _group(cinder, gtype, name="empty")
    first, second = _volume(cinder, full, name="first"), _volume(cinder, full, name="second")
    listed = {g["id"]: g for g in cinder.req("GET", "/groups/detail?list_volume=true", "3.25").json["groups"]}
    assert listed[full["id"]]["volumes"] == [first["id"], second["id"]] and listed[empty["id"]]["volumes"] == []
    assert "volumes" not in cinder.req("GET", "/groups/detail?list_volume=true", "3.24").json["groups"][0]
    # list_volume is only read where group details are shown
    assert cinder.req("GET", "/groups?list_volume=maybe", "3.25").status_code == 200
    bad = cinder.req("GET", "/groups/detail?list_volume=maybe", "3.25")
    assert bad.status_code == 400 and "list_volume must be a boolean" in bad.json["badRequest"]["message"]
    # a volume listed twice is already in the group the second time; the first unknown id is named
    loose = cinder.create(version=V, name="loose")
    twice = cinder.req("PUT", f"/groups/{empty['id']}", V, json={"group": {"add_volumes": f"{loose['id']},{loose['id']}"}})
    assert f"it is already in group {empty['id']}" in twice.json["badRequest"]["message"]
    unknown = cinder.req("PUT", f"/groups/{empty['id']}", V, json={"group": {"add_volumes": f"{loose['id']},nope,gone"}})
    assert "Cannot add volume nope to group" in unknown.json["badRequest"]["message"]
    foreign = cinder.req("PUT", f"/groups/{empty['id']}", V, json={"group": {"remove_volumes": first["id"]}})
    assert f"Cannot remove volume {first['id']} from group" in foreign.json["badRequest"]["message"]
    removed_twice = cinder.req("PUT", f"/groups/{full['id']}", V,
                               json={"group": {"remove_volumes": f"{first['id']},{first['id']}"}})
    assert "it is not in the group" in removed_twice.json["badRequest"]["message"]
    # nothing of a refused update stays; added and removed again in one request leaves it out
    assert cinder.req("GET", f"/volumes/{loose['id']}", V).json["volume"]["group_id"] is None
    both = cinder.req("PUT", f"/groups/{empty['id']}", V,
                      json={"group": {"add_volumes": loose["id"], "remove_volumes": loose["id"]}})
    assert both.status_code == 202
    assert cinder.req("GET", f"/volumes/{loose['id']}", V).json["volume"]["group_id"] is None
    moved = cinder.req("PUT", f"/groups/{full['id']}", V,
                       json={"group": {"remove_volumes": f"{first['id']},{second['id']}"}})
    assert moved.status_code == 202
    assert cinder.req("GET", f"/groups/{full['id']}?list_volume=true", "3.25").json["group"]["volumes"] == []
