"""Nova's microversions past 2.90 (issue 17): 2.91 unshelve to a host
(tests/compute/test_unshelve_placement.py), 2.92 key pairs, 2.93 rebuild of a volume-backed server
(tests/compute/volumes/test_boot_from_volume.py), 2.94 FQDN hostnames, 2.95 evacuate (decision 0060),
2.96 ``pinned_availability_zone``, 2.97 share attachments (no shared file system service: none
is ever attached), 2.98 the image's properties in the server, 2.99 the ``spice-direct`` console
type (tests/compute/test_remote_consoles.py), 2.100 ``scheduler_hints`` (decision 0066).

Overcast advertises 2.100: the maximum only rises to the highest version whose whole list below it
is done; ``test_advertised_maximum`` holds the promise.
"""

from __future__ import annotations

import json

from overcast.api import compute as compute_api
from overcast.api.microversions import Version
from overcast.core.compute import keypairs as rules
from tests.compute.conftest import IMAGE_ID, OTHER_IMAGE_ID, check, new_uuid, tempest_schema

FQDN = "x" * 52 + "-guest-test.domaintest.com"  # Tempest's ServersV294TestFqdnHostnames: 78 characters


def test_advertised_maximum(demo):
    """2.100 until 2.101 is done."""
    assert compute_api.MICROVERSIONS.maximum == Version(2, 100)
    assert demo("GET", "/servers", "2.101").status_code == 406
    assert demo("GET", "/servers", "2.100").status_code == 200


def test_keypairs_2_92_import_only_and_wider_names(demo):
    _, public = rules.generate("ssh", "u")
    generated = demo("POST", "/os-keypairs", "2.92", json={"keypair": {"name": "gen"}})
    assert generated.status_code == 400 and "public_key" in generated.json["badRequest"]["message"]
    assert demo("GET", "/os-keypairs/gen", "2.92").status_code == 404  # nothing half-made
    name = "me@host.example"
    created = demo("POST", "/os-keypairs", "2.92", json={"keypair": {"name": name, "public_key": public}})
    assert created.status_code == 201, created.text
    assert "private_key" not in created.json["keypair"] and created.json["keypair"]["name"] == name
    assert demo("GET", f"/os-keypairs/{name}", "2.92").status_code == 200
    before = demo("POST", "/os-keypairs", "2.91", json={"keypair": {"name": "a@b", "public_key": public}})
    assert before.status_code == 400 and "unsafe characters" in before.json["badRequest"]["message"]
    assert demo("POST", "/os-keypairs", "2.91", json={"keypair": {"name": "gen291"}}).status_code == 201
    bad = demo("POST", "/os-keypairs", "2.92", json={"keypair": {"name": "a/b", "public_key": public}})
    assert bad.status_code == 400


def test_hostname_2_90_short_2_94_fqdn(nova, admin_nova):
    def post(hostname, version):  # noqa: ANN001, ANN202
        return nova.req("POST", "/servers", version, json={"server": {
            "name": "h", "flavorRef": "1", "imageRef": IMAGE_ID, "networks": "auto", "hostname": hostname}})

    for version in ("2.90", "2.93"):
        short_only = post(FQDN, version)
        assert short_only.status_code == 400 and "hostname" in short_only.json["badRequest"]["message"]
        assert post("a" * 64, version).status_code == 400
    assert post("a" * 256, "2.94").status_code == 400
    assert post("bad/host", "2.94").status_code == 400
    sid = nova.create("f", version="2.94", hostname=FQDN).json["server"]["id"]
    assert nova.req("GET", f"/servers/{sid}", "2.94").json["server"]["OS-EXT-SRV-ATTR:hostname"] == FQDN
    other = "other.example.org"
    resp = nova.req("PUT", f"/servers/{sid}", "2.94", json={"server": {"hostname": other}})
    assert resp.status_code == 200 and resp.json["server"]["OS-EXT-SRV-ATTR:hostname"] == other
    assert nova.req("PUT", f"/servers/{sid}", "2.90", json={"server": {"hostname": other}}).status_code == 400
    rebuilt = nova.action(sid, {"rebuild": {"imageRef": OTHER_IMAGE_ID, "hostname": "third.example.net"}}, "2.94")
    assert rebuilt.status_code == 202, rebuilt.text
    assert rebuilt.json["server"]["OS-EXT-SRV-ATTR:hostname"] == "third.example.net"
    nova.wait(sid, "ACTIVE")
    shown = admin_nova.req("GET", f"/servers/{sid}", "2.94").json["server"]
    assert shown["OS-EXT-SRV-ATTR:hostname"] == "third.example.net"


def test_pinned_availability_zone_2_96(nova):
    version = "2.96"
    schema = tempest_schema(version)
    unpinned = nova.create("u", version=version).json["server"]["id"]
    pinned = nova.create("p", version=version, availability_zone="nova").json["server"]["id"]
    shown = nova.req("GET", f"/servers/{pinned}", version)
    check(shown, "get_server", version, schema)
    assert shown.json["server"]["pinned_availability_zone"] == "nova"
    assert nova.req("GET", f"/servers/{unpinned}", version).json["server"]["pinned_availability_zone"] is None
    listed = nova.req("GET", "/servers/detail", version)
    check(listed, "list_servers_detail", version, schema)
    assert {s["id"]: s["pinned_availability_zone"] for s in listed.json["servers"]} == {
        pinned: "nova", unpinned: None}
    updated = nova.req("PUT", f"/servers/{pinned}", version, json={"server": {"name": "renamed"}})
    check(updated, "update_server", version, schema)
    assert updated.json["server"]["pinned_availability_zone"] == "nova"
    rebuilt = nova.action(pinned, {"rebuild": {"imageRef": OTHER_IMAGE_ID}}, version)
    check(rebuilt, "rebuild_server_with_admin_pass", version, schema)
    nova.wait(pinned, "ACTIVE")
    assert "pinned_availability_zone" not in nova.req("GET", f"/servers/{pinned}", "2.95").json["server"]


def test_evacuate_checks_then_not_supported_2_95(nova, admin_nova):
    """Decision 0060: evacuate is served with Nova's checks (admin, target host, state, the
    server's host down), then 501 as no driver rebuilds a server on another host; so 2.95's
    "stopped at the destination" changes nothing a client sees, at 2.94 as at 2.95."""
    sid = nova.create("e").json["server"]["id"]
    host = admin_nova.req("GET", f"/servers/{sid}", "2.95").json["server"]["OS-EXT-SRV-ATTR:host"]
    assert nova.action(sid, {"evacuate": {}}, "2.95").status_code == 403
    assert admin_nova.action(sid, {"evacuate": {}}, "2.13").status_code == 400  # onSharedStorage before 2.14
    assert admin_nova.action(sid, {"evacuate": {"force": True}}, "2.95").status_code == 400  # force to 2.67
    missing = admin_nova.action(sid, {"evacuate": {"host": "nowhere"}}, "2.95")
    assert missing.status_code == 404 and missing.json["itemNotFound"]["message"] == "Compute host nowhere not found."
    same = admin_nova.action(sid, {"evacuate": {"host": host}}, "2.95")
    assert same.status_code == 400 and same.json["badRequest"]["message"] == "The target host can't be the same one."
    assert admin_nova.action(sid, {"evacuate": None}, "2.95").status_code == 400  # an object, as in Nova
    up = admin_nova.action(sid, {"evacuate": {}}, "2.95")
    assert up.status_code == 400 and up.json["badRequest"]["message"] == f"Compute service of {host} is still in use."
    [service] = admin_nova.req("GET", f"/os-services?binary=nova-compute&host={host}", "2.53").json["services"]
    down = admin_nova.req("PUT", f"/os-services/{service['id']}", "2.53", json={"forced_down": True})
    assert down.status_code == 200, down.text
    for version in ("2.94", "2.95"):
        refused = admin_nova.action(sid, {"evacuate": {}}, version)
        assert refused.status_code == 501, refused.text
    assert nova.req("GET", f"/servers/{sid}").json["server"]["status"] == "ACTIVE"


def test_shares_2_97_none_attached(nova, admin_nova):
    """Nova's share attachments, answered as a cloud without any share: an empty list, a share to
    attach, show or detach not found, after Nova's own checks (version, body, server state)."""
    version, schema = "2.97", tempest_schema("2.97")
    sid = nova.create("s", version=version).json["server"]["id"]
    share = "3bcd5a0e-55f4-4d1a-9d2b-0f0f5c1e2a77"
    assert nova.req("GET", f"/servers/{sid}/shares", "2.96").status_code == 404
    listed = nova.req("GET", f"/servers/{sid}/shares", version)
    check(listed, "list_share_attachments", version, schema)
    assert listed.json == {"shares": []}
    assert nova.req("HEAD", f"/servers/{sid}/shares", version).status_code == 200
    assert nova.req("GET", f"/servers/{new_uuid()}/shares", version).status_code == 404
    bad = nova.req("POST", f"/servers/{sid}/shares", version, json={"share": {"tag": "x"}})
    assert bad.status_code == 400 and "share_id" in bad.json["badRequest"]["message"]
    running = nova.req("POST", f"/servers/{sid}/shares", version, json={"share": {"share_id": share}})
    assert running.status_code == 409, running.text
    assert running.json["conflictingRequest"]["message"] == (
        f"Cannot 'create share' instance {sid} while it is in vm_state active")
    nova.action(sid, {"os-stop": None})
    nova.wait(sid, "SHUTOFF")
    missing = nova.req("POST", f"/servers/{sid}/shares", version, json={"share": {"share_id": share, "tag": "t"}})
    assert missing.status_code == 404 and missing.json["itemNotFound"]["message"] == (
        f"Share {share} could not be found.")
    assert nova.req("GET", f"/servers/{sid}/shares/{share}", version).status_code == 404
    assert nova.req("DELETE", f"/servers/{sid}/shares/{share}", version).status_code == 404
    assert nova.req("GET", f"/servers/{sid}/shares", "2.100").json == {"shares": []}


def test_image_properties_2_98(nova, admin_nova):
    """From 2.98 ``image`` carries ``properties``: the image's as they were at boot (then at the
    last rebuild), with Nova's inherited attributes, every value a string; a volume-backed server
    still shows ``""``."""
    version, schema = "2.98", tempest_schema("2.98")
    sid = nova.create("i", version=version).json["server"]["id"]
    shown = nova.req("GET", f"/servers/{sid}", version)
    check(shown, "get_server", version, schema)
    props = shown.json["server"]["image"]["properties"]
    assert props["disk_format"] and props["container_format"] and props["min_disk"] == "0"
    assert all(v is None or isinstance(v, str) for v in props.values())
    assert "properties" not in nova.req("GET", f"/servers/{sid}", "2.97").json["server"]["image"]
    listed = nova.req("GET", "/servers/detail", version)
    check(listed, "list_servers_detail", version, schema)
    assert [s["image"]["properties"] for s in listed.json["servers"] if s["id"] == sid] == [props]
    updated = nova.req("PUT", f"/servers/{sid}", version, json={"server": {"name": "renamed"}})
    check(updated, "update_server", version, schema)
    with_prop = admin_nova.cloud.request(
        "PATCH", f"/image/v2/images/{OTHER_IMAGE_ID}", admin_nova.token,
        headers={"Content-Type": "application/openstack-images-v2.1-json-patch"},
        body=json.dumps([{"op": "add", "path": "/hw_rng_model", "value": "virtio"}]))
    assert with_prop.status_code == 200, with_prop.text
    rebuilt = nova.action(sid, {"rebuild": {"imageRef": OTHER_IMAGE_ID}}, version)
    check(rebuilt, "rebuild_server_with_admin_pass", version, schema)
    assert rebuilt.json["server"]["image"]["properties"]["hw_rng_model"] == "virtio"
    nova.wait(sid, "ACTIVE")
    assert nova.req("GET", f"/servers/{sid}", version).json["server"]["image"]["properties"]["hw_rng_model"] == (
        "virtio")


def test_scheduler_hints_2_100(nova):
    """From 2.100 a server shows the scheduler hints its create asked with ({} for none), in show,
    list detail, update and rebuild."""
    version, schema = "2.100", tempest_schema("2.100")
    plain = nova.create("p", version=version).json["server"]["id"]
    hints = {"same_host": [plain], "query": '["=", "$free_ram_mb", 1024]', "custom": "x"}
    resp = nova.req("POST", "/servers", version, json={
        "server": {"name": "h", "flavorRef": "1", "imageRef": IMAGE_ID, "networks": "auto"},
        "os:scheduler_hints": hints})
    assert resp.status_code == 202, resp.text
    hinted = resp.json["server"]["id"]
    nova.wait(hinted, "ACTIVE")
    shown = nova.req("GET", f"/servers/{hinted}", version)
    check(shown, "get_server", version, schema)
    assert shown.json["server"]["scheduler_hints"] == hints
    assert nova.req("GET", f"/servers/{plain}", version).json["server"]["scheduler_hints"] == {}
    assert "scheduler_hints" not in nova.req("GET", f"/servers/{plain}", "2.99").json["server"]
    listed = nova.req("GET", "/servers/detail", version)
    check(listed, "list_servers_detail", version, schema)
    assert {s["id"]: s["scheduler_hints"] for s in listed.json["servers"]} == {plain: {}, hinted: hints}
    updated = nova.req("PUT", f"/servers/{hinted}", version, json={"server": {"name": "renamed"}})
    check(updated, "update_server", version, schema)
    assert updated.json["server"]["scheduler_hints"] == hints
    rebuilt = nova.action(hinted, {"rebuild": {"imageRef": OTHER_IMAGE_ID}}, version)
    check(rebuilt, "rebuild_server_with_admin_pass", version, schema)
    assert rebuilt.json["server"]["scheduler_hints"] == hints
