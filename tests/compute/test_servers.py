"""Servers: create, build through the ops engine, list filters, show, update, delete; views per
microversion checked against Tempest's response schemas."""

from __future__ import annotations

import base64

import pytest

from tests.compute.conftest import IMAGE_ID, OTHER_IMAGE_ID, check, new_uuid, tempest_schema

VERSIONS = ["2.1", "2.3", "2.9", "2.16", "2.19", "2.26", "2.47", "2.63", "2.71", "2.73", "2.75", "2.90"]


def test_create_build_show_delete(nova):
    resp = nova.create("web", wait=None)
    check(resp, "create_server_with_admin_pass")
    server = resp.json["server"]
    assert resp.headers["Location"].endswith(f"/servers/{server['id']}")
    assert server["security_groups"] == [{"name": "default"}]
    shown = nova.wait(server["id"], "ACTIVE")
    assert shown["addresses"]["private"][0]["version"] == 4
    assert shown["OS-EXT-STS:power_state"] == 1
    assert shown["OS-SRV-USG:launched_at"]
    assert shown["hostId"]
    assert "OS-EXT-SRV-ATTR:host" not in shown  # admin only
    actions = nova.req("GET", f"/servers/{server['id']}/os-instance-actions")
    assert [a["action"] for a in actions.json["instanceActions"]] == ["create"]
    resp = nova.req("DELETE", f"/servers/{server['id']}")
    assert resp.status_code == 204
    nova.wait(server["id"], "GONE")
    resp = nova.req("GET", f"/servers/{server['id']}")
    assert resp.status_code == 404
    assert resp.json["itemNotFound"]["message"] == f"Instance {server['id']} could not be found."


@pytest.mark.parametrize("version", VERSIONS)
def test_views_match_tempest_schemas(nova, admin_nova, version):
    sid = nova.create("schema-vm", version=version).json["server"]["id"]
    for client in (nova, admin_nova):
        check(client.req("GET", f"/servers/{sid}", version), "get_server", version)
        check(client.req("GET", "/servers/detail", version), "list_servers_detail", version)
        check(client.req("GET", "/servers", version), "list_servers", version)
    resp = nova.req("PUT", f"/servers/{sid}", version, json={"server": {"name": "renamed"}})
    check(resp, "update_server", version)
    assert resp.json["server"]["name"] == "renamed"
    assert nova.req("GET", f"/servers/{sid}", version).headers["OpenStack-API-Version"] == f"compute {version}"


def test_view_fields_per_version(nova, admin_nova):
    sid = nova.create("v", version="2.90", description="d", tags=["a"], hostname="myhost").json["server"]["id"]
    old = nova.req("GET", f"/servers/{sid}", "2.1").json["server"]
    assert "locked" not in old and "description" not in old and "tags" not in old
    assert set(old["flavor"]) == {"id", "links"}
    new = nova.req("GET", f"/servers/{sid}", "2.90").json["server"]
    assert new["locked"] is False and new["description"] == "d" and new["tags"] == ["a"]
    assert new["flavor"]["original_name"] == "m1.tiny" and new["flavor"]["vcpus"] == 1
    assert new["OS-EXT-SRV-ATTR:hostname"] == "myhost"
    assert new["server_groups"] == [] and new["locked_reason"] is None
    admin = admin_nova.req("GET", f"/servers/{sid}", "2.16").json["server"]
    assert admin["host_status"] == "UP" and admin["OS-EXT-SRV-ATTR:reservation_id"].startswith("r-")


def test_create_validation(nova):
    def post(server, version=None):
        return nova.req("POST", "/servers", version, json={"server": {"flavorRef": "1", "imageRef": IMAGE_ID,
                                                                      **server}})

    resp = post({"name": " lead"})
    assert resp.status_code == 400 and "name" in resp.json["badRequest"]["message"]
    assert post({"name": "x" * 256}).status_code == 400
    assert post({"name": ""}).status_code == 400
    resp = post({"name": "a", "flavorRef": "nope"})
    assert resp.status_code == 400 and resp.json["badRequest"]["message"] == "Flavor nope could not be found."
    resp = post({"name": "a", "imageRef": new_uuid()})
    assert resp.status_code == 400 and "could not be found" in resp.json["badRequest"]["message"]
    assert post({"name": "a", "imageRef": "not-a-uuid"}).status_code == 400
    resp = post({"name": "a", "key_name": "missing"})
    assert resp.status_code == 400 and resp.json["badRequest"]["message"] == "Invalid key_name provided."
    assert post({"name": "a", "user_data": "!!notbase64"}).status_code == 400
    assert post({"name": "a", "availability_zone": "nowhere"}).status_code == 400
    assert post({"name": "a", "min_count": 3, "max_count": 2}).status_code == 400
    assert post({"name": "a", "unknown": 1}).status_code == 400
    assert post({"name": "a"}, version="2.37").status_code == 400  # networks required
    assert post({"name": "a", "description": "x"}, version="2.1").status_code == 400
    assert nova.req("POST", "/servers", body="{not json").status_code == 400
    assert nova.req("POST", "/servers", json={"server": "x"}).status_code == 400
    flavor_url = "http://example/compute/flavors/2"
    assert post({"name": "url", "flavorRef": flavor_url}).status_code == 202


def test_create_options(nova, admin_nova):
    made = nova.cloud.request("POST", "/network/v2.0/security-groups", nova.token,
                              json={"security_group": {"name": "web"}})
    assert made.status_code == 201, made.text
    user_data = base64.b64encode(b"#!/bin/sh\necho hi\n").decode()
    sid = nova.create("opts", wait="ACTIVE", metadata={"k": "v"}, user_data=user_data, config_drive=True,
                      security_groups=[{"name": "web"}], availability_zone="nova",
                      block_device_mapping_v2=[{"boot_index": 0, "uuid": IMAGE_ID, "source_type": "image",
                                                "destination_type": "local"}],
                      ).json["server"]["id"]
    server = nova.req("GET", f"/servers/{sid}").json["server"]
    assert server["metadata"] == {"k": "v"} and server["config_drive"] == "True"
    assert server["security_groups"] == [{"name": "web"}]
    assert server["OS-EXT-AZ:availability_zone"] == "nova"
    admin = admin_nova.req("GET", f"/servers/{sid}", "2.3").json["server"]
    assert admin["OS-EXT-SRV-ATTR:user_data"] == user_data


def test_bdm_boot_without_image_ref(nova):
    resp = nova.req("POST", "/servers", json={"server": {"name": "bdm", "flavorRef": "1", "block_device_mapping_v2": [
        {"boot_index": 0, "uuid": IMAGE_ID, "source_type": "image", "destination_type": "local"}]}})
    assert resp.status_code == 202
    nova.wait(resp.json["server"]["id"], "ACTIVE")
    resp = nova.req("POST", "/servers", json={"server": {"name": "novol", "flavorRef": "1"}})
    assert resp.status_code == 400


def test_multi_create_and_reservation(nova):
    resp = nova.req("POST", "/servers", json={"server": {"name": "multi", "flavorRef": "1", "imageRef": IMAGE_ID,
                                                         "min_count": 2, "max_count": 3,
                                                         "return_reservation_id": True}})
    assert resp.status_code == 202
    rid = resp.json["reservation_id"]
    listed = nova.req("GET", f"/servers/detail?reservation_id={rid}").json["servers"]
    assert sorted(s["name"] for s in listed) == ["multi-1", "multi-2", "multi-3"]


def test_quota_exceeded(nova):
    resp = nova.req("POST", "/servers", json={"server": {"name": "many", "flavorRef": "1", "imageRef": IMAGE_ID,
                                                         "min_count": 11, "max_count": 11}})
    assert resp.status_code == 403
    assert resp.json["forbidden"]["message"].startswith("Quota exceeded for instances: Requested 11")


def test_build_failure_goes_to_error_with_fault(nova, admin_nova):
    sid = nova.create("bad", wait="ERROR", metadata={"overcast:fail_build": "true"}).json["server"]["id"]
    for version in ("2.1", "2.47", "2.90"):
        resp = nova.req("GET", f"/servers/{sid}", version)
        check(resp, "get_server", version)
        fault = resp.json["server"]["fault"]
        assert fault["code"] == 500 and "Injected build failure" in fault["message"]
        assert "Traceback" not in fault["message"]
    rid = nova.req("GET", f"/servers/{sid}/os-instance-actions").json["instanceActions"][0]["request_id"]
    event = admin_nova.req("GET", f"/servers/{sid}/os-instance-actions/{rid}").json["instanceAction"]["events"][0]
    assert event["result"] == "Error" and event["event"] == "compute__do_build_and_run_instance"


def test_isolation_and_admin_all_tenants(nova, admin_nova, compute):
    sid = nova.create("mine").json["server"]["id"]
    admin_own = admin_nova.create("admins").json["server"]["id"]
    listed = [s["id"] for s in nova.req("GET", "/servers").json["servers"]]
    assert sid in listed and admin_own not in listed
    assert nova.req("GET", f"/servers/{admin_own}").status_code == 404
    assert nova.req("DELETE", f"/servers/{admin_own}").status_code == 404
    assert nova.req("PUT", f"/servers/{admin_own}", json={"server": {"name": "x"}}).status_code == 404
    assert nova.req("GET", "/servers?all_tenants=1").status_code == 403
    everyone = [s["id"] for s in admin_nova.req("GET", "/servers/detail?all_tenants=1").json["servers"]]
    assert sid in everyone and admin_own in everyone
    assert admin_nova.req("GET", f"/servers/{sid}").status_code == 200


def test_admin_tenant_id_needs_all_tenants(nova, admin_nova):
    """Without ``all_tenants`` Nova lists the caller's own project whatever ``tenant_id`` or
    ``project_id`` say (lp:#1185290); with it they pick the project."""
    theirs = nova.create("theirs").json["server"]["id"]
    mine = admin_nova.create("admins").json["server"]["id"]
    demo = nova.req("GET", f"/servers/{theirs}").json["server"]["tenant_id"]

    def listed(query):
        resp = admin_nova.req("GET", "/servers/detail" + query)
        check(resp, "list_servers_detail")
        return {s["id"] for s in resp.json["servers"]}

    assert listed(f"?tenant_id={demo}") == listed(f"?project_id={demo}") == {mine}
    assert listed(f"?all_tenants&tenant_id={demo}") == listed(f"?all_tenants=1&project_id={demo}") == {theirs}


def test_list_filters_sort_and_paging(nova, admin_nova):
    ids = [nova.create(f"f-{i}", tags=["even" if i % 2 == 0 else "odd"], version="2.52").json["server"]["id"]
           for i in range(4)]
    nova.create("other", flavorRef="2", imageRef=OTHER_IMAGE_ID)

    def names(query, version=None):
        resp = nova.req("GET", "/servers/detail" + query, version)
        assert resp.status_code == 200, resp.text
        return sorted(s["name"] for s in resp.json["servers"])

    assert names("?name=^f-[01]$") == ["f-0", "f-1"]
    assert names("?flavor=2") == ["other"]
    assert names(f"?image={OTHER_IMAGE_ID}") == ["other"]
    assert names("?status=ACTIVE") == ["f-0", "f-1", "f-2", "f-3", "other"]
    assert names("?status=SHUTOFF") == []
    assert names("?tags=even", "2.26") == ["f-0", "f-2"]
    assert names("?not-tags=even", "2.26") == ["f-1", "f-3", "other"]
    assert names("?tags-any=even,odd", "2.26") == ["f-0", "f-1", "f-2", "f-3"]
    assert names("?changes-since=2000-01-01T00:00:00Z") == ["f-0", "f-1", "f-2", "f-3", "other"]
    assert names("?changes-before=2000-01-01T00:00:00Z", "2.66") == []
    assert names("?ip=10.") == ["f-0", "f-1", "f-2", "f-3", "other"]
    assert names("?locked=false", "2.73") == ["f-0", "f-1", "f-2", "f-3", "other"]
    assert nova.req("GET", "/servers?changes-since=yesterday").status_code == 400
    page = nova.req("GET", "/servers?limit=2&sort_key=display_name&sort_dir=asc")
    check(page, "list_servers")
    assert [s["name"] for s in page.json["servers"]] == ["f-0", "f-1"]
    assert "marker=" in page.json["servers_links"][0]["href"]
    marker = page.json["servers"][-1]["id"]
    rest = nova.req("GET", f"/servers?limit=2&sort_key=display_name&sort_dir=asc&marker={marker}").json
    assert [s["name"] for s in rest["servers"]] == ["f-2", "f-3"]
    bad = nova.req("GET", "/servers?marker=nope")
    assert bad.status_code == 400 and bad.json["badRequest"]["message"] == "marker [nope] not found"
    assert nova.req("GET", "/servers?limit=x").status_code == 400
    assert nova.req("GET", "/servers?sort_key=bogus").status_code == 400
    nova.req("DELETE", f"/servers/{ids[0]}")
    nova.wait(ids[0], "GONE")
    deleted = admin_nova.req("GET", "/servers/detail?all_tenants=1&deleted=true").json["servers"]
    assert [s["id"] for s in deleted] == [ids[0]]
    assert deleted[0]["status"] == "DELETED"
    assert "f-0" in names("?changes-since=2000-01-01T00:00:00Z")


def test_update_and_description(nova):
    sid = nova.create("u").json["server"]["id"]
    resp = nova.req("PUT", f"/servers/{sid}", "2.19", json={"server": {"name": "u2", "description": "hello"}})
    assert resp.status_code == 200 and resp.json["server"]["description"] == "hello"
    check(resp, "update_server", "2.19")
    assert nova.req("PUT", f"/servers/{sid}", "2.1", json={"server": {"description": "x"}}).status_code == 400
    assert nova.req("PUT", f"/servers/{sid}", json={"server": {"name": " bad"}}).status_code == 400
    resp = nova.req("PUT", f"/servers/{sid}", "2.90", json={"server": {"hostname": "new-host"}})
    assert resp.json["server"]["OS-EXT-SRV-ATTR:hostname"] == "new-host"


def test_unknown_server_is_404(nova):
    for method in ("GET", "DELETE"):
        assert nova.req(method, f"/servers/{new_uuid()}").status_code == 404
    assert nova.req("GET", "/servers/not-a-uuid").status_code == 404


def test_legacy_paths(nova, compute):
    sid = nova.create("legacy").json["server"]["id"]
    project = nova.req("GET", f"/servers/{sid}").json["server"]["tenant_id"]
    resp = compute.request("GET", f"/compute/v2/{project}/servers/{sid}", nova.token)
    assert resp.status_code == 200


def test_schema_helper_picks_versions():
    from tempest.lib.api_schema.response.compute.v2_47 import servers as v247
    from tempest.lib.api_schema.response.compute.v2_1 import servers as v21

    assert tempest_schema("2.1") is v21 and tempest_schema("2.47") is v247


def test_build_resumed_after_crash_past_checkpoint_records_backend_id(compute, settings, demo_token):
    """A worker died after checkpointing the backend id but before writing it on the server: the
    re-run records it (an ACTIVE server always has its backend server) and builds nothing new."""
    from sqlalchemy import select

    from overcast.core.compute.operations import ServerHandlers, setup_for
    from overcast.drivers.context import CallContext
    from overcast.ops.models import Operation
    from overcast.ops.runtime import OpsRuntime
    from overcast.store.compute import Server
    from tests.compute.conftest import Nova

    nova = Nova(compute, demo_token)
    sid = nova.create("crashed", wait=None).json["server"]["id"]
    core, store = compute.app.compute, compute.app.compute.store
    driver = core.compute_driver("RegionOne")
    with store.session() as session:  # what the first attempt did before it died
        server = session.scalars(select(Server).where(Server.id == sid)).one()
        op = session.scalars(select(Operation).where(Operation.resource_id == sid)).one()
        job = type("J", (), {"params": dict(op.params)})()
        backend_id = driver.build(CallContext(), ServerHandlers(core)._build_request(session, server, job))
        op.checkpoint = {"backend_id": backend_id}
    from overcast.core.network.operations import setup_for as network_setup_for

    runtime = OpsRuntime(store, settings, threads=1, setups=[setup_for(core), network_setup_for(core.network)])
    runtime.start(reconcile=False)
    try:
        nova.wait(sid, "ACTIVE")
    finally:
        runtime.stop()
    with store.session() as session:
        assert session.scalars(select(Server.backend_id).where(Server.id == sid)).one() == backend_id
    key = driver.get(CallContext(), backend_id).idempotency_key
    assert [s.backend_id for s in driver.list(CallContext()) if s.idempotency_key == key] == [backend_id]


def test_access_ipv6_canonical_and_no_security_groups_key(nova):
    sid = nova.create("v6", accessIPv6="0000:0000:0000:0000:0000:babe:220.12.22.2").json["server"]["id"]
    assert nova.req("GET", f"/servers/{sid}").json["server"]["accessIPv6"] == "::babe:dc0c:1602"
    resp = nova.req("PUT", f"/servers/{sid}", json={"server": {"accessIPv6": "2001:0db8:0000::0001"}})
    assert resp.json["server"]["accessIPv6"] == "2001:db8::1"
    assert nova.action(sid, {"removeSecurityGroup": {"name": "default"}}).status_code == 202
    assert "security_groups" not in nova.req("GET", f"/servers/{sid}").json["server"]  # as Nova, when none


def _files(count: int, path_len: int = 10, content_bytes: int = 12) -> list[dict[str, str]]:
    content = base64.b64encode(b"x" * content_bytes).decode()
    return [{"path": f"/etc/{i}".ljust(path_len, "p"), "contents": content} for i in range(count)]


def test_personality_accepted_up_to_2_56_refused_from_2_57(nova, admin_nova):
    """Nova takes ``personality`` on create and rebuild up to 2.56, checks its base64 and the
    injected-file limits (5 files, 255-byte paths, 10240 bytes of base64 by default: 403s), and
    refuses the key from 2.57."""
    for version in (None, "2.56"):
        resp = nova.create("pers", version=version, wait=None, personality=_files(5))
        assert resp.status_code == 202, resp.text
        check(resp, "create_server_with_admin_pass")
    def post(personality, version=None):  # noqa: ANN001, ANN202
        server = {"name": "pers", "flavorRef": "1", "imageRef": IMAGE_ID, "personality": personality}
        if version == "2.57":
            server["networks"] = "auto"
        return nova.req("POST", "/servers", version, json={"server": server})

    resp = post(_files(1), "2.57")
    assert resp.status_code == 400 and "personality" in resp.json["badRequest"]["message"]
    for files, message in ((_files(6), "Personality file limit exceeded"),
                           (_files(1, path_len=256), "Personality file path exceeds maximum 255"),
                           (_files(1, content_bytes=7681), "Personality file content exceeds maximum 10240")):
        resp = post(files)
        assert resp.status_code == 403 and resp.json["forbidden"]["message"] == message
    resp = post([{"path": "/a", "contents": "not*base64"}])
    assert resp.status_code == 400 and "base64" in resp.json["badRequest"]["message"]
    resp = post([{"path": "/a", "contents": "eA==", "mode": "0600"}])
    assert resp.status_code == 400

    # an admin raises the limit for the project: the same files are then accepted
    project = nova.req("GET", "/servers/detail").json["servers"][0]["tenant_id"]
    assert admin_nova.req("PUT", f"/os-quota-sets/{project}",
                          json={"quota_set": {"injected_files": 6}}).status_code == 200
    assert post(_files(6)).status_code == 202

    sid = nova.create("rebuilt").json["server"]["id"]
    rebuild = {"rebuild": {"imageRef": IMAGE_ID, "personality": _files(2)}}
    assert nova.action(sid, rebuild, "2.56").status_code == 202
    nova.wait(sid, "ACTIVE")
    resp = nova.action(sid, rebuild, "2.57")
    assert resp.status_code == 400 and "personality" in resp.json["badRequest"]["message"]
    resp = nova.action(sid, {"rebuild": {"imageRef": IMAGE_ID, "personality": _files(7)}})
    assert resp.status_code == 403 and resp.json["forbidden"]["message"] == "Personality file limit exceeded"


def test_ip_filters_decode_each_rows_addresses_once(nova, monkeypatch):
    """``?ip=``/``?ip6=`` decode a row's addresses (its stored JSON text) once: for both filters and
    for its detail view rendered anew (the review found three decodes of one row)."""
    import collections
    import json

    from overcast.core.compute import servers as core_servers

    ids = [nova.create(f"ipf-{i}").json["server"]["id"] for i in range(3)]
    decoded: collections.Counter[str] = collections.Counter()

    class Counting:
        @staticmethod
        def loads(text, *args, **kwargs):  # noqa: ANN001, ANN205
            if isinstance(text, str) and '"addr"' in text:
                decoded[text] += 1
            return json.loads(text, *args, **kwargs)

    monkeypatch.setattr(core_servers, "json", Counting)
    resp = nova.req("GET", "/servers/detail?ip=10.&ip6=.*", "2.1")
    assert resp.status_code == 200, resp.text
    assert resp.json["servers"] == []  # no IPv6 address on the local network: both filters ran
    assert len(decoded) == 3 and set(decoded.values()) == {1}, decoded
    decoded.clear()
    resp = nova.req("GET", "/servers/detail?ip=10.&name=ipf-", "2.1")
    assert sorted(s["id"] for s in resp.json["servers"]) == sorted(ids)
    assert all(s["addresses"] for s in resp.json["servers"])
    assert len(decoded) == 3 and set(decoded.values()) == {1}, decoded
