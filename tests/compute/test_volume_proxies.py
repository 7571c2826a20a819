"""Nova's volume proxies over Cinder's records: os-volumes and os-snapshots (below 2.36, 404 from
2.36). Every success is checked against Tempest's schema; what the proxy makes is checked in
Cinder's own API, which shares the records, and what it refuses leaves no record behind."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select
from tempest.lib.api_schema.response.compute.v2_1 import snapshots as snapshot_schemas
from tempest.lib.api_schema.response.compute.v2_1 import volumes as volume_schemas

from overcast.config import load_settings
from overcast.core.policy import ADMIN
from overcast.core.volume.volumes import DELETE_REFUSED
from overcast.store.volume import Volume
from tests.compute.conftest import IMAGE_ID, check, new_uuid
from tests.compute.volumes.conftest import admin_cinder, cinder, fault, ops  # noqa: F401 - fixtures
from tests.network.conftest import reader_token  # noqa: F401 - fixture

NOT_FOUND = "The resource could not be found."
#: an id nothing has (a constant: parametrised ids must be the same in every xdist worker)
NO_SUCH_ID = "0b5e7a4c-1f3d-4c2b-9e8f-5a6b7c8d9e0f"


def volume_fault(resp, status: int, name: str = "badRequest") -> str:  # noqa: ANN001
    """The message of Nova's fault ``name`` (checks the body names it and its code)."""
    message = fault(resp, status)
    assert resp.json[name]["code"] == status
    return message


def create_volume(nova, version: str | None = None, token: str | None = None, **volume):  # noqa: ANN001, ANN201
    return nova.req("POST", "/os-volumes", version, token=token, json={"volume": {"size": 1, **volume}})


def wait(nova, collection: str, item_id: str, status: str, timeout: float = 15.0) -> dict:  # noqa: ANN001
    """Poll ``/os-<collection>/<id>`` until it has ``status`` (or is gone, for ``"deleted"``)."""
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        resp = nova.req("GET", f"/os-{collection}/{item_id}")
        if status == "deleted" and resp.status_code == 404:
            return {}
        last = resp.json
        if resp.status_code == 200 and next(iter(last.values()))["status"] == status:
            return next(iter(last.values()))
        time.sleep(0.02)
    raise AssertionError(f"{collection} {item_id} never reached {status}: {last}")


def made(nova, **volume) -> dict:  # noqa: ANN001
    """A volume made through Nova, once it is available."""
    resp = create_volume(nova, **volume)
    check(resp, "create_get_volume", module=volume_schemas)
    return wait(nova, "volumes", resp.json["volume"]["id"], "available")


def snapshot_of(nova, volume_id: str, token: str | None = None, **extra):  # noqa: ANN001, ANN201
    return nova.req("POST", "/os-snapshots", token=token, json={"snapshot": {"volume_id": volume_id, **extra}})


def cinder_volume_ids(cinder) -> set[str]:  # noqa: ANN001
    return {v["id"] for v in cinder.req("GET", "/volumes").json["volumes"]}


# -- volumes -------------------------------------------------------------------------------------------


def test_volume_create_show_list_delete(nova, cinder):
    resp = create_volume(nova, "2.35", size="2", display_name="data", display_description="scratch",
                         metadata={"Type": "work"}, availability_zone="nova", volume_type="lvmdriver-1")
    check(resp, "create_get_volume", module=volume_schemas)
    created = resp.json["volume"]
    vid = created["id"]
    assert resp.headers["Location"].endswith(f"/compute/v2.1/os-volumes/{vid}")
    assert created["status"] == "creating" and created["attachments"] == [{}]
    assert {k: created[k] for k in ("size", "displayName", "displayDescription", "metadata", "availabilityZone",
                                    "volumeType", "snapshotId")} == {
        "size": 2, "displayName": "data", "displayDescription": "scratch", "metadata": {"Type": "work"},
        "availabilityZone": "nova", "volumeType": "lvmdriver-1", "snapshotId": None}

    shown = wait(nova, "volumes", vid, "available")
    assert shown == {**created, "status": "available"}
    in_cinder = cinder.req("GET", f"/volumes/{vid}").json["volume"]
    assert (in_cinder["name"], in_cinder["description"], in_cinder["size"], in_cinder["metadata"],
            in_cinder["volume_type"]) == ("data", "scratch", 2, {"Type": "work"}, "lvmdriver-1")

    for path in ("/os-volumes", "/os-volumes/detail"):
        listed = nova.req("GET", path, "2.35")
        check(listed, "list_volumes", module=volume_schemas)
        assert listed.json["volumes"] == [shown]

    resp = nova.req("DELETE", f"/os-volumes/{vid}")
    check(resp, "delete_volume", module=volume_schemas)
    assert not resp.text
    wait(nova, "volumes", vid, "deleted")
    assert volume_fault(nova.req("GET", f"/os-volumes/{vid}"), 404, "itemNotFound") == \
        f"Volume {vid} could not be found."
    assert cinder.req("GET", f"/volumes/{vid}").status_code == 404


def test_volume_defaults_and_cinder_made_volumes(nova, cinder):
    """A bare request gets Cinder's defaults; a volume made through Cinder shows through Nova."""
    resp = create_volume(nova)
    check(resp, "create_get_volume", module=volume_schemas)
    bare = resp.json["volume"]
    assert (bare["displayName"], bare["displayDescription"], bare["metadata"], bare["volumeType"]) == \
        (None, None, {}, "lvmdriver-1")
    from_cinder = cinder.create(name="via-cinder", description="d")
    shown = nova.req("GET", f"/os-volumes/{from_cinder['id']}")
    check(shown, "create_get_volume", module=volume_schemas)
    assert shown.json["volume"]["displayName"] == "via-cinder"
    listed = nova.req("GET", "/os-volumes").json["volumes"]
    assert [v["id"] for v in listed] == [from_cinder["id"], bare["id"]]  # newest first, as Cinder lists


def test_volume_from_snapshot_and_image(nova, cinder):
    source = made(nova)
    snap = snapshot_of(nova, source["id"]).json["snapshot"]
    wait(nova, "snapshots", snap["id"], "available")
    resp = create_volume(nova, size=2, snapshot_id=snap["id"])
    check(resp, "create_get_volume", module=volume_schemas)
    assert resp.json["volume"]["snapshotId"] == snap["id"] and resp.json["volume"]["size"] == 2
    wait(nova, "volumes", resp.json["volume"]["id"], "available")

    resp = create_volume(nova, imageRef=IMAGE_ID)
    check(resp, "create_get_volume", module=volume_schemas)
    assert cinder.req("GET", f"/volumes/{resp.json['volume']['id']}").json["volume"]["bootable"] == "true"
    unknown = new_uuid()
    assert volume_fault(create_volume(nova, imageRef=unknown), 404, "itemNotFound") == \
        f"Image {unknown} could not be found."


def test_attached_volume_shows_its_server(nova, cinder):
    server = nova.create("vols").json["server"]["id"]
    vid = made(nova)["id"]
    resp = nova.req("POST", f"/servers/{server}/os-volume_attachments", json={"volumeAttachment": {"volumeId": vid}})
    assert resp.status_code == 200, resp.text
    shown = wait(nova, "volumes", vid, "in-use")
    check(nova.req("GET", f"/os-volumes/{vid}"), "create_get_volume", module=volume_schemas)
    assert shown["attachments"] == [{"id": vid, "volumeId": vid, "serverId": server, "device": "/dev/vdb"}]
    check(nova.req("GET", "/os-volumes/detail"), "list_volumes", module=volume_schemas)
    message = volume_fault(nova.req("DELETE", f"/os-volumes/{vid}"), 400)
    assert message == f"Invalid input received: {DELETE_REFUSED}"
    assert cinder.req("GET", f"/volumes/{vid}").json["volume"]["status"] == "in-use"


def test_list_limit_and_offset(nova):
    ids = [create_volume(nova, display_name=f"v{i}").json["volume"]["id"] for i in range(3)]
    for path in ("/os-volumes", "/os-volumes/detail"):
        everything = nova.req("GET", path).json["volumes"]
        assert [v["id"] for v in everything] == ids[::-1]
        for query, expected in (("limit=2", ids[:0:-1]), ("offset=1&limit=1", [ids[1]]), ("offset=2", [ids[0]]),
                                ("limit=0", ids[::-1]), ("offset=5", []), ("limit=1&limit=2", ids[:0:-1])):
            resp = nova.req("GET", f"{path}?{query}")
            check(resp, "list_volumes", module=volume_schemas)
            assert [v["id"] for v in resp.json["volumes"]] == expected, query
        for query in ("limit=-1", "limit=x", "offset=-1", "offset=1.5"):
            assert "Invalid input for query parameters" in volume_fault(nova.req("GET", f"{path}?{query}"), 400)


@pytest.mark.parametrize("size", [0, -1, "0", "-1", "abc", "", "#$%", 1.5, True, None, [1], 2147483648,
                                  "2147483648", "99999999999999999999999"])
def test_bad_size_is_refused_and_makes_nothing(nova, cinder, size):
    before = cinder_volume_ids(cinder)
    message = volume_fault(create_volume(nova, size=size), 400)
    assert "size" in message
    assert cinder_volume_ids(cinder) == before


@pytest.mark.parametrize("body", [
    {"volume": {"display_name": "no-size"}},
    {"volume": {"size": 1, "display_name": None}},
    {"volume": {"size": 1, "display_name": "x" * 256}},
    {"volume": {"size": 1, "metadata": {"k": 1}}},
    {"volume": {"size": 1, "metadata": "k=v"}},
    {"volume": {"size": 1, "source_volid": NO_SUCH_ID}},
    {"volume": {"size": 1}, "extra": True},
    {"volume": "1"},
    {"size": 1},
    [],
])
def test_bad_create_body_is_refused(nova, cinder, body):
    before = cinder_volume_ids(cinder)
    assert volume_fault(nova.req("POST", "/os-volumes", json=body), 400).startswith("Invalid input for field")
    assert cinder_volume_ids(cinder) == before


def test_cinder_refusals_as_nova_answers_them(nova, cinder):
    before = cinder_volume_ids(cinder)
    assert volume_fault(create_volume(nova, availability_zone="elsewhere"), 400) == \
        "Invalid input received: Invalid input received: Availability zone 'elsewhere' is invalid."
    unknown = new_uuid()
    assert volume_fault(create_volume(nova, snapshot_id=unknown), 404, "itemNotFound") == \
        f"Snapshot {unknown} could not be found."
    assert volume_fault(create_volume(nova, snapshot_id="not-a-uuid"), 404, "itemNotFound") == \
        "Snapshot not-a-uuid could not be found."
    assert "could not be found" in volume_fault(create_volume(nova, volume_type="gold"), 404, "itemNotFound")
    assert volume_fault(nova.req("POST", "/os-volumes", body="{", headers={"Content-Type": "application/json"}),
                        400).startswith("Malformed request body")
    assert cinder_volume_ids(cinder) == before


@pytest.mark.parametrize("method", ["GET", "DELETE"])
@pytest.mark.parametrize("volume_id", [NO_SUCH_ID, "invalid", "detail-x"])
def test_unknown_volume_is_not_found(nova, method, volume_id):
    assert volume_fault(nova.req(method, f"/os-volumes/{volume_id}"), 404, "itemNotFound") == \
        f"Volume {volume_id} could not be found."


def test_over_quota_is_forbidden(nova, admin_cinder, cinder):
    project = cinder.project_id
    resp = admin_cinder.req("PUT", f"/os-quota-sets/{project}", json={"quota_set": {"volumes": 1, "gigabytes": 3}})
    assert resp.status_code == 200, resp.text
    assert volume_fault(create_volume(nova, size=4), 403, "forbidden") == (
        "Quota exceeded for resources: Requested volume or snapshot exceeds allowed gigabytes quota. "
        "Requested 4G, quota is 3G and 0G has been consumed.")
    vid = made(nova, size=2)["id"]
    assert volume_fault(create_volume(nova), 403, "forbidden") == \
        "Quota exceeded for resources: Maximum number of volumes allowed (1) exceeded for quota 'volumes'."
    assert volume_fault(snapshot_of(nova, vid), 403, "forbidden") == (
        "Requested volume or snapshot exceeds allowed gigabytes quota. Requested 2G, quota is 3G and 2G has been "
        "consumed.")
    assert cinder_volume_ids(cinder) == {vid}


# -- snapshots -----------------------------------------------------------------------------------------


def test_snapshot_create_show_list_delete(nova, cinder):
    volume = made(nova)
    resp = snapshot_of(nova, volume["id"], display_name="snap", display_description="daily")
    check(resp, "create_get_snapshot", module=snapshot_schemas)
    created = resp.json["snapshot"]
    sid = created["id"]
    assert (created["volumeId"], created["status"], created["size"], created["displayName"],
            created["displayDescription"]) == (volume["id"], "creating", 1, "snap", "daily")
    shown = wait(nova, "snapshots", sid, "available")
    check(nova.req("GET", f"/os-snapshots/{sid}", "2.35"), "create_get_snapshot", module=snapshot_schemas)
    assert shown == {**created, "status": "available"}
    in_cinder = cinder.req("GET", f"/snapshots/{sid}").json["snapshot"]
    assert (in_cinder["name"], in_cinder["description"], in_cinder["volume_id"]) == ("snap", "daily", volume["id"])
    for path in ("/os-snapshots", "/os-snapshots/detail"):
        listed = nova.req("GET", path, "2.35")
        check(listed, "list_snapshots", module=snapshot_schemas)
        assert listed.json["snapshots"] == [shown]
    assert [s["id"] for s in nova.req("GET", "/os-snapshots?offset=1").json["snapshots"]] == []

    message = volume_fault(nova.req("DELETE", f"/os-volumes/{volume['id']}"), 400)
    assert message == f"Invalid input received: {DELETE_REFUSED}"

    resp = nova.req("DELETE", f"/os-snapshots/{sid}")
    check(resp, "delete_snapshot", module=snapshot_schemas)
    assert not resp.text
    wait(nova, "snapshots", sid, "deleted")
    assert volume_fault(nova.req("GET", f"/os-snapshots/{sid}"), 404, "itemNotFound") == \
        f"Snapshot {sid} could not be found."
    assert nova.req("DELETE", f"/os-volumes/{volume['id']}").status_code == 202


def test_busy_snapshot_is_not_deleted(nova, admin_cinder):
    sid = snapshot_of(nova, made(nova)["id"]).json["snapshot"]["id"]
    wait(nova, "snapshots", sid, "available")
    reset = {"os-reset_status": {"status": "creating"}}
    assert admin_cinder.req("POST", f"/snapshots/{sid}/action", json=reset).status_code == 202
    assert volume_fault(nova.req("DELETE", f"/os-snapshots/{sid}"), 400) == (
        "Invalid input received: Invalid snapshot: Snapshot status must be available or error and must not be "
        "part of a group.")
    assert nova.req("GET", f"/os-snapshots/{sid}").json["snapshot"]["status"] == "creating"


def test_snapshot_of_a_busy_volume_needs_force(nova, admin_cinder):
    vid = made(nova)["id"]
    assert admin_cinder.action(vid, {"os-reset_status": {"status": "in-use"}}).status_code == 202
    assert volume_fault(snapshot_of(nova, vid), 400) == (
        f"Invalid input received: Invalid volume: Volume {vid} status must be available, but current status is: "
        "in-use.")
    assert volume_fault(snapshot_of(nova, vid, force="maybe"), 400).startswith("Invalid input for field")
    for force in ("true", True, "yes"):
        resp = snapshot_of(nova, vid, force=force)
        check(resp, "create_get_snapshot", module=snapshot_schemas)


@pytest.mark.parametrize("body", [
    {"snapshot": {"display_name": "no-volume"}},
    {"snapshot": {"volume_id": None}},
    {"snapshot": {"volume_id": NO_SUCH_ID, "name": "cinder-style"}},
    {"snapshot": {"volume_id": NO_SUCH_ID, "display_name": "x" * 256}},
    {"volume_id": NO_SUCH_ID},
])
def test_bad_snapshot_body_is_refused(nova, body):
    assert volume_fault(nova.req("POST", "/os-snapshots", json=body), 400).startswith("Invalid input for field")


def test_unknown_snapshot_and_volume_are_not_found(nova):
    unknown = new_uuid()
    for method in ("GET", "DELETE"):
        assert volume_fault(nova.req(method, f"/os-snapshots/{unknown}"), 404, "itemNotFound") == \
            f"Snapshot {unknown} could not be found."
    assert volume_fault(snapshot_of(nova, unknown), 404, "itemNotFound") == f"Volume {unknown} could not be found."


# -- microversions, projects, roles -------------------------------------------------------------------


def test_gone_from_2_36(nova, cinder):
    vid = cinder.create()["id"]
    snap = cinder.req("POST", "/snapshots", json={"snapshot": {"volume_id": vid}}).json["snapshot"]["id"]
    calls = [("GET", "/os-volumes", None), ("GET", "/os-volumes/detail", None), ("GET", f"/os-volumes/{vid}", None),
             ("POST", "/os-volumes", {"volume": {"size": 1}}), ("DELETE", f"/os-volumes/{vid}", None),
             ("GET", "/os-snapshots", None), ("GET", "/os-snapshots/detail", None),
             ("GET", f"/os-snapshots/{snap}", None), ("POST", "/os-snapshots", {"snapshot": {"volume_id": vid}}),
             ("DELETE", f"/os-snapshots/{snap}", None)]
    before = cinder_volume_ids(cinder)
    for version in ("2.36", "2.90", "latest"):
        for method, path, body in calls:
            resp = nova.req(method, path, version, json=body)
            assert volume_fault(resp, 404, "itemNotFound") == NOT_FOUND, (version, method, path)
    for method, path, body in calls[:3] + calls[5:8]:
        assert nova.req(method, path, "2.35", json=body).status_code == 200, (method, path)
    assert cinder_volume_ids(cinder) == before
    assert cinder.req("GET", f"/snapshots/{snap}").status_code == 200


def test_project_isolation(nova, compute, admin_token):
    alt = compute.token("alt_demo", "alt_demo")
    vid = made(nova, display_name="mine")["id"]
    sid = snapshot_of(nova, vid).json["snapshot"]["id"]
    wait(nova, "snapshots", sid, "available")
    for token in (alt, admin_token):  # Nova lists the caller's project only, for an admin too
        assert nova.req("GET", "/os-volumes/detail", token=token).json["volumes"] == []
        assert nova.req("GET", "/os-snapshots/detail", token=token).json["snapshots"] == []
    for method in ("GET", "DELETE"):
        assert volume_fault(nova.req(method, f"/os-volumes/{vid}", token=alt), 404, "itemNotFound") == \
            f"Volume {vid} could not be found."
        assert volume_fault(nova.req(method, f"/os-snapshots/{sid}", token=alt), 404, "itemNotFound") == \
            f"Snapshot {sid} could not be found."
    assert volume_fault(snapshot_of(nova, vid, token=alt), 404, "itemNotFound") == \
        f"Volume {vid} could not be found."
    assert volume_fault(create_volume(nova, token=alt, snapshot_id=sid), 404, "itemNotFound") == \
        f"Snapshot {sid} could not be found."
    shown = nova.req("GET", f"/os-volumes/{vid}", token=admin_token)  # an admin reaches any project's by id
    check(shown, "create_get_volume", module=volume_schemas)
    assert shown.json["volume"]["displayName"] == "mine"
    assert nova.req("GET", f"/os-volumes/{vid}").json["volume"]["status"] == "available"


def test_reader_reads_but_cannot_write(nova, reader_token):
    vid = made(nova)["id"]
    sid = snapshot_of(nova, vid).json["snapshot"]["id"]
    wait(nova, "snapshots", sid, "available")
    for path, schema, module in (("/os-volumes", "list_volumes", volume_schemas),
                                 (f"/os-volumes/{vid}", "create_get_volume", volume_schemas),
                                 ("/os-snapshots/detail", "list_snapshots", snapshot_schemas),
                                 (f"/os-snapshots/{sid}", "create_get_snapshot", snapshot_schemas)):
        check(nova.req("GET", path, token=reader_token), schema, module=module)
    for method, path, body in (("POST", "/os-volumes", {"volume": {"size": 1}}), ("DELETE", f"/os-volumes/{vid}", None),
                               ("POST", "/os-snapshots", {"snapshot": {"volume_id": vid}}),
                               ("DELETE", f"/os-snapshots/{sid}", None)):
        resp = nova.req(method, path, token=reader_token, json=body)
        assert "os_compute_api:os-volumes:" in volume_fault(resp, 403, "forbidden"), (method, path)
    assert wait(nova, "volumes", vid, "available")


@pytest.mark.parametrize(("rule", "method", "path"), [
    ("volume:get_all", "GET", "/os-volumes"),
    ("volume:get", "GET", "/os-volumes/{vid}"),
    ("volume:create", "POST", "/os-volumes"),
    ("volume:delete", "DELETE", "/os-volumes/{vid}"),
    ("volume:get_all_snapshots", "GET", "/os-snapshots/detail"),
    ("volume:get_snapshot", "GET", "/os-snapshots/{sid}"),
    ("volume:create_snapshot", "POST", "/os-snapshots"),
    ("volume:delete_snapshot", "DELETE", "/os-snapshots/{sid}"),
])
def test_cinder_policy_applies_through_nova(cloud, nova, cinder, monkeypatch, rule, method, path):
    """An operator who makes a Cinder rule admin-only closes the Nova proxy's way to it too."""
    vid = cinder.create()["id"]
    sid = cinder.req("POST", "/snapshots", json={"snapshot": {"volume_id": vid}}).json["snapshot"]["id"]
    cinder.wait(sid, "available", "snapshots")
    monkeypatch.setitem(cloud.app.policy.rules, rule, ADMIN)  # the operator's override, in this app's policy
    body = {"POST": {"volume": {"size": 1}} if "volumes" in path else {"snapshot": {"volume_id": vid}}}.get(method)
    resp = nova.req(method, path.format(vid=vid, sid=sid), json=body)
    assert volume_fault(resp, 403, "forbidden") == f"You are not authorized to perform the requested action: {rule}."
    monkeypatch.undo()
    assert cinder_volume_ids(cinder) == {vid}
    assert cinder.req("GET", f"/snapshots/{sid}").json["snapshot"]["status"] == "available"


def test_location_is_the_url_asked_for(nova, cinder):
    resp = nova.cloud.request("POST", f"/compute/v2.1/{cinder.project_id}/os-volumes", nova.token,
                              json={"volume": {"size": 1}})
    check(resp, "create_get_volume", module=volume_schemas)
    assert resp.headers["Location"] == \
        f"http://falconframework.org/compute/v2.1/{cinder.project_id}/os-volumes/{resp.json['volume']['id']}"


class TestTwoRegions:
    @pytest.fixture
    def settings(self, settings, tmp_path):  # noqa: ANN001, ANN201 - the top conftest's, with a second region
        config = tmp_path / "two-regions.toml"
        config.write_text('[clouds.RegionOne]\ndriver = "local"\n[clouds.lab]\ndriver = "noop"\n')
        return load_settings(config, data_dir=settings.data_dir, environ={}, identity={"bcrypt_rounds": 4})

    def test_volume_is_made_in_the_region_asked(self, nova):
        resp = nova.cloud.request("POST", "/regions/lab/compute/v2.1/os-volumes", nova.token,
                                  json={"volume": {"size": 1}})
        check(resp, "create_get_volume", module=volume_schemas)
        vid = resp.json["volume"]["id"]
        assert resp.headers["Location"] == f"http://falconframework.org/regions/lab/compute/v2.1/os-volumes/{vid}"
        with nova.cloud.app.volume.store.session() as session:
            assert session.scalars(select(Volume.cloud).where(Volume.id == vid)).one() == "lab"
