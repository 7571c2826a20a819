"""Two regions of the local driver behave as two separate OpenStack regions (decision 0008/0025):
every region-scoped record is made in the region of the URL, shown with that region's links, and is
a 404 (or simply absent from lists) under the other region; identity is global."""

from __future__ import annotations

import time

import pytest

from overcast.config import CloudSettings
from overcast.drivers.context import CallContext
from overcast.store.compute import KeyPair, Server, ServerGroup
from overcast.store.volume import Snapshot, Volume

SECOND = "/regions/second"


@pytest.fixture
def settings(settings):  # noqa: ANN001, ANN201 - the shared settings, with a second local region
    return settings.replace(clouds=(CloudSettings(name="RegionOne"), CloudSettings(name="second")))


@pytest.fixture
def ops(compute, settings):  # noqa: ANN001, ANN201 - every service's handlers, both regions
    from overcast.app import build_operations

    runtime = build_operations(compute.app.compute)
    runtime.start(reconcile=False)
    yield runtime
    runtime.stop()


class Region:
    """Requests to one region's compute and volume endpoints."""

    def __init__(self, cloud, token: str, prefix: str):  # noqa: ANN001
        self.cloud, self.token, self.prefix = cloud, token, prefix
        resp = cloud.request("GET", "/identity/v3/auth/tokens", token, headers={"X-Subject-Token": token})
        self.project_id = resp.json["token"]["project"]["id"]

    def nova(self, method: str, path: str, **kw):  # noqa: ANN201
        return self.cloud.request(method, f"{self.prefix}/compute/v2.1{path}", self.token, **kw)

    def cinder(self, method: str, path: str, **kw):  # noqa: ANN201
        return self.cloud.request(method, f"{self.prefix}/volume/v3/{self.project_id}{path}", self.token, **kw)

    def wait(self, get, status: str, key: str, timeout: float = 15.0) -> dict:  # noqa: ANN001
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = get().json[key]
            if last["status"] == status and last.get("OS-EXT-STS:task_state") is None:
                return last
            time.sleep(0.02)
        raise AssertionError(f"never {status}: {last}")


@pytest.fixture
def root(compute, ops, demo_token) -> Region:  # noqa: ANN001
    return Region(compute, demo_token, "")


@pytest.fixture
def second(compute, ops, demo_token) -> Region:  # noqa: ANN001
    return Region(compute, demo_token, SECOND)


def _server(region: Region, name: str) -> dict:
    resp = region.nova("POST", "/servers", json={"server": {"name": name, "flavorRef": "1",
                                                            "imageRef": "6f3c2b34-3c1d-4d5e-9f0a-000000000001"}})
    assert resp.status_code == 202, resp.text
    return resp


def test_a_server_lives_in_the_region_of_its_url(root, second, compute):
    made = _server(second, "far")
    sid = made.json["server"]["id"]
    assert made.headers["Location"].endswith(f"{SECOND}/compute/v2.1/servers/{sid}")
    assert f"{SECOND}/compute/v2.1/servers/{sid}" in made.json["server"]["links"][0]["href"]
    shown = second.wait(lambda: second.nova("GET", f"/servers/{sid}"), "ACTIVE", "server")
    assert all(f"{SECOND}/compute/" in link["href"] for link in shown["links"])
    with compute.app.compute.store.session() as session:
        assert session.query(Server).filter_by(id=sid).one().cloud == "second"
    # the other region: not found, not listed, not counted
    assert root.nova("GET", f"/servers/{sid}").status_code == 404
    assert root.nova("POST", f"/servers/{sid}/action", json={"os-stop": None}).status_code == 404
    assert root.nova("DELETE", f"/servers/{sid}").status_code == 404
    assert root.nova("GET", f"/servers/{sid}/os-instance-actions").status_code == 404
    assert second.nova("GET", f"/servers/{sid}/os-instance-actions").status_code == 200
    assert sid not in {s["id"] for s in root.nova("GET", "/servers/detail").json["servers"]}
    assert sid in {s["id"] for s in second.nova("GET", "/servers/detail").json["servers"]}
    absolute = root.nova("GET", "/limits").json["limits"]["absolute"]
    assert absolute["totalInstancesUsed"] == 0
    assert second.nova("GET", "/limits").json["limits"]["absolute"]["totalInstancesUsed"] == 1
    # each region's hypervisors, services and zones are its own
    assert second.nova("DELETE", f"/servers/{sid}").status_code == 204


def test_each_region_builds_on_its_own_backend(root, second, compute):
    one = _server(root, "here").json["server"]["id"]
    two = _server(second, "there").json["server"]["id"]
    root.wait(lambda: root.nova("GET", f"/servers/{one}"), "ACTIVE", "server")
    second.wait(lambda: second.nova("GET", f"/servers/{two}"), "ACTIVE", "server")
    clouds = compute.app.compute.clouds
    assert {s.name for s in clouds["RegionOne"].compute.list(CallContext())} == {"here"}
    assert {s.name for s in clouds["second"].compute.list(CallContext())} == {"there"}


def test_key_pairs_are_kept_per_region(root, second, compute):
    assert second.nova("POST", "/os-keypairs", json={"keypair": {"name": "k"}}).status_code == 200
    assert root.nova("GET", "/os-keypairs/k").status_code == 404
    assert root.nova("GET", "/os-keypairs").json["keypairs"] == []
    # the same name in the first region is another key pair, not a conflict
    assert root.nova("POST", "/os-keypairs", json={"keypair": {"name": "k"}}).status_code == 200
    assert root.nova("DELETE", "/os-keypairs/k").status_code == 202
    assert second.nova("GET", "/os-keypairs/k").status_code == 200
    with compute.app.compute.store.session() as session:
        assert [k.cloud for k in session.query(KeyPair).all()] == ["second"]
    # a server in one region cannot use the other region's key pair
    resp = root.nova("POST", "/servers", json={"server": {"name": "x", "flavorRef": "1", "key_name": "k",
                                                          "imageRef": "6f3c2b34-3c1d-4d5e-9f0a-000000000001"}})
    assert resp.status_code == 400 and "key_name" in resp.text


def test_server_groups_are_per_region(root, second, compute):
    made = second.nova("POST", "/os-server-groups", json={"server_group": {"name": "g", "policies": ["affinity"]}})
    gid = made.json["server_group"]["id"]
    assert root.nova("GET", f"/os-server-groups/{gid}").status_code == 404
    assert root.nova("GET", "/os-server-groups").json["server_groups"] == []
    assert root.nova("DELETE", f"/os-server-groups/{gid}").status_code == 404
    with compute.app.compute.store.session() as session:
        assert session.get(ServerGroup, gid).cloud == "second"
    # a server of the first region cannot join the second region's group
    resp = root.nova("POST", "/servers", json={
        "server": {"name": "x", "flavorRef": "1", "imageRef": "6f3c2b34-3c1d-4d5e-9f0a-000000000001"},
        "os:scheduler_hints": {"group": gid}})
    assert resp.status_code == 404
    assert second.nova("DELETE", f"/os-server-groups/{gid}").status_code == 204


def test_volumes_and_snapshots_are_per_region(root, second, compute):
    made = second.cinder("POST", "/volumes", json={"volume": {"size": 1, "name": "v"}})
    assert made.status_code == 202, made.text
    vid = made.json["volume"]["id"]
    assert f"{SECOND}/volume/v3/" in made.json["volume"]["links"][0]["href"]
    second.wait(lambda: second.cinder("GET", f"/volumes/{vid}"), "available", "volume")
    assert root.cinder("GET", f"/volumes/{vid}").status_code == 404
    assert root.cinder("GET", "/volumes").json["volumes"] == []
    assert root.cinder("POST", f"/volumes/{vid}/action", json={"os-extend": {"new_size": 2}}).status_code == 404
    # Nova's proxy and os-volume_attachments see only their region's Cinder
    assert root.nova("GET", f"/os-volumes/{vid}").status_code == 404
    snap = second.cinder("POST", "/snapshots", json={"snapshot": {"volume_id": vid, "name": "s"}})
    assert snap.status_code == 202, snap.text
    sid = snap.json["snapshot"]["id"]
    second.wait(lambda: second.cinder("GET", f"/snapshots/{sid}"), "available", "snapshot")
    assert root.cinder("GET", f"/snapshots/{sid}").status_code == 404
    # a snapshot of the other region is not a source here
    resp = root.cinder("POST", "/volumes", json={"volume": {"size": 1, "snapshot_id": sid}})
    assert resp.status_code == 404
    used = root.cinder("GET", f"/os-quota-sets/{root.project_id}?usage=True").json["quota_set"]
    assert used["volumes"]["in_use"] == 0
    used = second.cinder("GET", f"/os-quota-sets/{second.project_id}?usage=True").json["quota_set"]
    assert used["volumes"]["in_use"] == 1 and used["snapshots"]["in_use"] == 1
    with compute.app.compute.store.session() as session:
        assert session.query(Volume).filter_by(id=vid).one().cloud == "second"
        assert session.query(Snapshot).filter_by(id=sid).one().cloud == "second"
    assert {v.backend_id for v in compute.app.compute.clouds["RegionOne"].volume.list(CallContext())} == set()
    assert len(compute.app.compute.clouds["second"].volume.list(CallContext())) == 1


def test_a_volume_attaches_only_to_a_server_of_its_region(root, second):
    vid = root.cinder("POST", "/volumes", json={"volume": {"size": 1}}).json["volume"]["id"]
    root.wait(lambda: root.cinder("GET", f"/volumes/{vid}"), "available", "volume")
    sid = _server(second, "far").json["server"]["id"]
    second.wait(lambda: second.nova("GET", f"/servers/{sid}"), "ACTIVE", "server")
    resp = second.nova("POST", f"/servers/{sid}/os-volume_attachments", json={"volumeAttachment": {"volumeId": vid}})
    assert resp.status_code == 404


def test_every_service_but_identity_has_an_endpoint_per_region(root, compute):
    catalog = compute.request("GET", "/identity/v3/auth/catalog", root.token).json["catalog"]
    by_type = {entry["type"]: entry["endpoints"] for entry in catalog}
    for service in ("compute", "image", "volumev3", "network"):
        urls = {e["region"]: e["url"] for e in by_type[service] if e["interface"] == "public"}
        assert set(urls) == {"RegionOne", "second"}, service
        assert "/regions/second/" in urls["second"] and "/regions/" not in urls["RegionOne"], service
    identity = {e["url"] for e in by_type["identity"] if e["interface"] == "public"}
    assert len(identity) == 1 and "/regions/" not in identity.pop()


def test_version_documents_point_at_the_region(root, compute):
    for path, key in (("/compute/", "versions"), ("/image/versions", "versions"), ("/volume/", "versions")):
        doc = compute.request("GET", SECOND + path).json[key]
        hrefs = [link["href"] for v in doc for link in v.get("links", []) if link.get("rel") == "self"]
        assert hrefs and all("/regions/second/" in h for h in hrefs), (path, hrefs)


def test_an_unknown_region_is_not_found(root, compute):
    assert compute.request("GET", "/regions/nowhere/compute/v2.1/servers", root.token).status_code == 404


def test_a_snapshot_is_an_image_of_its_region_only(root, second, compute):
    """The backend that made a snapshot keeps it: the image is shown (and bootable) in that region
    only; Overcast's own images (cirros) are shown in every region."""
    sid = _server(second, "snapped").json["server"]["id"]
    second.wait(lambda: second.nova("GET", f"/servers/{sid}"), "ACTIVE", "server")
    made = second.nova("POST", f"/servers/{sid}/action", json={"createImage": {"name": "far-snap"}},
                       headers={"OpenStack-API-Version": "compute 2.45"})
    assert made.status_code == 202, made.text
    image_id = made.json["image_id"]
    second.wait(lambda: second.nova("GET", f"/servers/{sid}"), "ACTIVE", "server")

    def glance(region: Region, path: str):  # noqa: ANN202
        return compute.request("GET", f"{region.prefix}/image/v2{path}", region.token)

    assert glance(second, f"/images/{image_id}").json["status"] == "active"
    assert glance(root, f"/images/{image_id}").status_code == 404
    assert image_id not in {i["id"] for i in glance(root, "/images").json["images"]}
    for region in (root, second):
        assert "cirros" in {i["name"] for i in glance(region, "/images").json["images"]}
    refused = root.nova("POST", "/servers", json={"server": {"name": "x", "flavorRef": "1", "imageRef": image_id}})
    assert refused.status_code == 400
    booted = second.nova("POST", "/servers", json={"server": {"name": "from-snap", "flavorRef": "1",
                                                              "imageRef": image_id}})
    assert booted.status_code == 202, booted.text
