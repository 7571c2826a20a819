"""What the driver contract for remote clouds promises Overcast's core (0025), checked in-process:

- no request asks a backend what it offers: zones, pools, flavors and images come from the
  region's inventory, refreshed from the drivers at start and by a reconciler task;
- a region whose backend lists its own flavors only runs those (400 when the API takes the
  request), shows its own images in that region's image list (marked as such), and a backend that
  boots only its own images refuses another with Nova's 400;
- reads a request needs from a backend (console output, diagnostics) answer 503 with Retry-After
  when the backend is unavailable or its breaker open, never 409 or 500;
- the polls of many operations reach the backend together (``get_many``);
- the reconciler confirms with ``get`` before it declares a server lost.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from overcast.config import CloudSettings
from overcast.core.image import BACKEND_PROPERTY
from overcast.core.image.seed import CIRROS_ID
from overcast.drivers import compute as dc
from overcast.drivers.context import CallContext
from overcast.drivers.errors import Unavailable
from overcast.drivers.local import LocalComputeDriver, create_driver as create_local
from overcast.drivers.registry import register_driver, unregister_driver
from overcast.store.compute import Server

PICKY = "picky"


class PickyCompute(LocalComputeDriver):
    """A backend like an upstream cloud: its own flavors and images only (a test double of the
    contract, on the local cloud's simulation)."""

    boots_overcast_images = False
    built: list[dc.BuildRequest] = []

    def flavors(self, ctx: CallContext) -> list[dc.Flavor]:
        return [dc.Flavor(id="2", name="m1.small", vcpus=1, ram_mb=2048, disk_gb=20)]

    def images(self, ctx: CallContext) -> list[dc.Image]:
        return [dc.Image(id="ami-123", name="backend-linux", backend_id="ami-123", size=4096,
                         properties={"os_distro": "linux"}, extra={"owner": "provider"})]

    def build(self, ctx: CallContext, request: dc.BuildRequest) -> str:
        PickyCompute.built.append(request)
        return super().build(ctx, request)


def picky_driver(options: Any, data_dir: Path) -> Any:
    bundle = create_local({}, data_dir)
    compute = bundle.compute
    bundle.compute = PickyCompute(compute.store.path)
    compute.close()
    return bundle


@pytest.fixture
def settings(settings):  # noqa: ANN001, ANN201 - RegionOne (local) and a picky second region
    register_driver("picky-test", picky_driver)
    yield settings.replace(clouds=(CloudSettings(name="RegionOne"), CloudSettings(name=PICKY, driver="picky-test")))
    unregister_driver("picky-test")


@pytest.fixture
def ops(compute):  # noqa: ANN001, ANN201
    from overcast.app import build_operations

    runtime = build_operations(compute.app.compute)
    runtime.start(reconcile=False)
    yield runtime
    runtime.stop()


def _server(cloud, token: str, prefix: str = "", **server: Any):  # noqa: ANN001, ANN201
    body = {"name": "s", "flavorRef": "1", "imageRef": CIRROS_ID, **server}
    return cloud.request("POST", f"{prefix}/compute/v2.1/servers", token, json={"server": body})


def test_requests_never_ask_the_backend_what_it_offers(compute, ops, demo_token, monkeypatch):
    driver = compute.app.compute.compute_driver("RegionOne")
    volumes = compute.app.compute.clouds["RegionOne"].volume

    def asked(*_: Any, **__: Any) -> Any:
        raise AssertionError("a request asked the backend what it offers")

    for target, name in ((driver, "zones"), (driver, "flavors"), (driver, "images"), (volumes, "zones"),
                         (volumes, "pools")):
        monkeypatch.setattr(target, name, asked)
    assert _server(compute, demo_token, availability_zone="nova").status_code == 202
    assert _server(compute, demo_token, availability_zone="nowhere").status_code == 400
    project = compute.request("GET", "/identity/v3/auth/tokens", demo_token,
                              headers={"X-Subject-Token": demo_token}).json["token"]["project"]["id"]
    volume = compute.request("POST", f"/volume/v3/{project}/volumes", demo_token,
                             json={"volume": {"size": 1, "availability_zone": "nova"}})
    assert volume.status_code == 202, volume.text
    zones = compute.request("GET", f"/volume/v3/{project}/os-availability-zone", demo_token)
    assert [z["zoneName"] for z in zones.json["availabilityZoneInfo"]] == ["nova"]


def test_a_backend_with_its_own_flavors_and_images(compute, ops, demo_token, admin_token):
    prefix = f"/regions/{PICKY}"
    # its images are listed in its region only, marked as the backend's
    listed = compute.request("GET", f"{prefix}/image/v2/images", demo_token).json["images"]
    backend = [i for i in listed if i["name"] == "backend-linux"]
    assert len(backend) == 1 and backend[0][BACKEND_PROPERTY] == PICKY and backend[0]["visibility"] == "public"
    assert "backend-linux" not in {i["name"] for i in compute.request("GET", "/image/v2/images", demo_token)
                                   .json["images"]}
    image_id = backend[0]["id"]
    assert compute.request("GET", f"/image/v2/images/{image_id}", demo_token).status_code == 404
    # only its own flavors, refused when the API takes the request
    refused = _server(compute, demo_token, prefix, imageRef=image_id, flavorRef="1")
    assert refused.status_code == 400 and "Flavor 1 could not be found" in refused.text
    # only its own images: Overcast's cirros is not one it can boot
    refused = _server(compute, demo_token, prefix, flavorRef="2")
    assert refused.status_code == 400 and "unacceptable" in refused.text
    PickyCompute.built.clear()
    made = _server(compute, demo_token, prefix, imageRef=image_id, flavorRef="2")
    assert made.status_code == 202, made.text
    sid = made.json["server"]["id"]
    deadline = time.monotonic() + 15
    while not PickyCompute.built:
        assert time.monotonic() < deadline, "never built"
        time.sleep(0.02)
    assert PickyCompute.built[0].image.backend_id == "ami-123"
    assert PickyCompute.built[0].project_id is not None
    # a backend's own image is not Overcast's to delete
    deleted = compute.request("DELETE", f"{prefix}/image/v2/images/{image_id}", admin_token)
    assert deleted.status_code == 403
    # the first region is as it was: Overcast's images, Overcast's flavors
    assert _server(compute, demo_token).status_code == 202
    assert compute.request("DELETE", f"{prefix}/compute/v2.1/servers/{sid}", demo_token).status_code == 204


def test_backend_images_follow_the_backend(compute):
    """The inventory refresh adds a backend's new images and drops the ones it no longer has."""
    from overcast.core import inventory

    core = compute.app.compute
    cloud = core.clouds[PICKY]
    original = PickyCompute.images
    try:
        PickyCompute.images = lambda self, ctx: [dataclasses.replace(original(self, ctx)[0], backend_id="ami-456",
                                                                     name="newer")]
        inventory.refresh(core.store.session, PICKY, cloud)
    finally:
        PickyCompute.images = original
    token = compute.token("demo", "demo")
    names = {i["name"] for i in compute.request("GET", f"/regions/{PICKY}/image/v2/images", token).json["images"]}
    assert "newer" in names and "backend-linux" not in names


def test_console_output_of_an_unavailable_backend_is_503(compute, ops, demo_token, monkeypatch):
    from tests.compute.conftest import Nova

    nova = Nova(compute, demo_token)
    sid = nova.create("console").json["server"]["id"]
    driver = compute.app.compute.compute_driver("RegionOne")
    calls = []

    def unavailable(*_: Any, **__: Any) -> str:
        calls.append(1)
        raise Unavailable("the provider is down", retry_after=7)

    monkeypatch.setattr(driver, "console_output", unavailable)
    resp = nova.action(sid, {"os-getConsoleOutput": {"length": 5}})
    assert resp.status_code == 503 and resp.headers["Retry-After"] == "7", resp.text
    for _ in range(6):  # enough failures to open the region's breaker
        nova.action(sid, {"os-getConsoleOutput": {"length": 5}})
    before = len(calls)
    resp = nova.action(sid, {"os-getConsoleOutput": {}})
    assert resp.status_code == 503 and int(resp.headers["Retry-After"]) >= 1
    assert len(calls) == before, "the breaker is open: the backend is not asked"
    resp = nova.req("GET", f"/servers/{sid}/diagnostics", token=compute.token("admin", "admin"))
    assert resp.status_code == 503


def test_polls_reach_the_backend_together(compute, demo_token, monkeypatch):
    """Builds that poll a slow backend share ``get_many`` calls (not one ``get`` per server per poll).

    Measured without timing: every poll (each :meth:`BatchPoller.get`, also a build's in-run polls
    of ``_settle``, which the operation's ``polls`` column does not count: the old measure against
    that column failed under load, "25 backend calls for 20 polls") makes at most one backend call,
    and calls carry several servers (an id stays in the batch for ``keep`` seconds after its last
    poll, so each new build's first call carries the builds before it)."""
    from overcast.app import build_operations
    from overcast.core.polling import BatchPoller
    from tests.compute.conftest import Nova

    driver = compute.app.compute.compute_driver("RegionOne")
    monkeypatch.setattr(driver, "build_delay", 1.5)
    batches: list[int] = []
    polls: list[str] = []
    real = driver.get_many
    real_get = BatchPoller.get

    def counted(ctx: CallContext, ids: Any) -> Any:
        ids = list(ids)
        batches.append(len(ids))
        return real(ctx, ids)

    def counted_poll(self: Any, cloud: str, ctx: CallContext, backend_id: str, **kw: Any) -> Any:
        polls.append(backend_id)
        return real_get(self, cloud, ctx, backend_id, **kw)

    monkeypatch.setattr(driver, "get_many", counted)
    monkeypatch.setattr(driver, "get", lambda *a, **k: pytest.fail("a poll asked for one server"))
    monkeypatch.setattr(BatchPoller, "get", counted_poll)
    runtime = build_operations(compute.app.compute)
    runtime.start(reconcile=False)
    try:
        nova = Nova(compute, demo_token)
        ids = [nova.create(f"poll-{i}", wait=None).json["server"]["id"] for i in range(8)]
        for sid in ids:
            nova.wait(sid, "ACTIVE", timeout=60)
    finally:
        runtime.stop()
    assert len(set(polls)) == 8, "every build polled its server through the batch poller"
    assert len(batches) <= len(polls), f"{len(batches)} backend calls for {len(polls)} polls"
    assert max(batches) > 1, batches


def test_the_reconciler_confirms_before_declaring_a_server_lost(compute, ops, demo_token, monkeypatch):
    from overcast.core.compute.operations import ServerHandlers
    from tests.compute.conftest import Nova

    nova = Nova(compute, demo_token)
    sid = nova.create("listed-or-not").json["server"]["id"]
    core = compute.app.compute
    driver = core.compute_driver("RegionOne")
    real_list = driver.list
    monkeypatch.setattr(driver, "list", lambda ctx: [])  # a listing cut short (or eventually consistent)
    handlers = ServerHandlers(core)
    handlers.reconcile("RegionOne", _Context(core.store))
    assert nova.req("GET", f"/servers/{sid}").json["server"]["status"] == "ACTIVE"
    with core.store.session() as session:
        backend_id = session.scalar(select(Server.backend_id).where(Server.id == sid))
    driver.delete(CallContext(), backend_id)  # really gone, behind Overcast's back
    monkeypatch.setattr(driver, "list", real_list)
    handlers.reconcile("RegionOne", _Context(core.store))
    shown = nova.req("GET", f"/servers/{sid}").json["server"]
    assert shown["status"] == "ERROR" and "no longer exists" in shown["fault"]["message"]


def test_the_reconciler_leaves_the_servers_of_hosts_the_listing_could_not_ask(compute, ops, demo_token, monkeypatch):
    """A listing that names unreached hosts (a host down) says nothing of their servers: the
    reconciler leaves them as they are, without asking each one (0068)."""
    from overcast.core.compute.operations import ServerHandlers
    from tests.compute.conftest import Nova

    nova = Nova(compute, demo_token)
    sid = nova.create("on-an-unreached-host").json["server"]["id"]
    core = compute.app.compute
    driver = core.compute_driver("RegionOne")
    with core.store.session() as session:
        host = session.scalar(select(Server.host).where(Server.id == sid))
    assert host
    monkeypatch.setattr(driver, "list", lambda ctx: dc.ServerListing([], unreached=[host]))
    monkeypatch.setattr(driver, "get", lambda *a, **k: pytest.fail("a server of an unreached host was asked"))
    ServerHandlers(core).reconcile("RegionOne", _Context(core.store))
    assert nova.req("GET", f"/servers/{sid}").json["server"]["status"] == "ACTIVE"


def test_strays_are_only_servers_overcast_never_had(compute, ops, demo_token, caplog):
    """The backend may still list a server whose delete Overcast has finished (a listing taken
    before the delete completed, a delete still running there, EC2's ``terminated``): it is not a
    stranger and is not logged; a server Overcast never had is, once."""
    import logging

    from overcast.core.compute.operations import ServerHandlers
    from tests.compute.conftest import Nova

    nova = Nova(compute, demo_token)
    sid = nova.create("deleted-soon").json["server"]["id"]
    core = compute.app.compute
    with core.store.session() as session:
        backend_id, key = session.execute(select(Server.backend_id, Server.idempotency_key).where(
            Server.id == sid)).one()
    # the listing the reconciler took while the delete was still under way
    listing = {backend_id: dc.ServerInfo(backend_id=backend_id, name="deleted-soon", state=dc.ServerState.ACTIVE,
                                         idempotency_key=key),
               "stranger": dc.ServerInfo(backend_id="stranger", name="nobody's", state=dc.ServerState.ACTIVE),
               "going": dc.ServerInfo(backend_id="going", name="terminated", state=dc.ServerState.DELETED)}
    assert nova.req("DELETE", f"/servers/{sid}").status_code == 204
    nova.wait(sid, "GONE")
    handlers = ServerHandlers(core)
    with caplog.at_level(logging.WARNING, logger="overcast.core.compute.operations"):
        for _ in range(2):
            with core.store.session() as session:
                handlers.log_strays(session, "RegionOne", listing)
    logged = [r.getMessage() for r in caplog.records if "not in Overcast" in r.getMessage()]
    assert len(logged) == 1 and "stranger" in logged[0], logged


def test_a_rebuild_whose_image_went_fails_with_nova_s_fault(compute):
    """A rebuild job whose image was deleted after the API took it fails as Nova's compute does
    (the image could not be found), not by handing the driver no image."""
    from overcast.core.compute.operations import ServerHandlers
    from overcast.drivers.errors import Conflict

    core = compute.app.compute
    handlers = ServerHandlers(core)
    job = dataclasses.make_dataclass("Job", ["params"])({"action": "rebuild", "image_id": "gone-image"})
    with pytest.raises(Conflict, match="Image gone-image could not be found"):
        handlers._call(core.compute_driver("RegionOne"), CallContext(), "backend-id", "rebuild", job, None, None)


class _Context:
    """What a reconcile function gets from the reconciler: sessions and an abandoned flag."""

    def __init__(self, store: Any):
        import threading

        self.store, self.abandoned = store, threading.Event()

    def session(self) -> Any:
        return self.store.session()


def test_creates_answer_503_while_the_regions_compute_breaker_is_open(compute, ops, demo_token):
    """0043: a server create in a region whose compute breaker is open is Nova's 503 with
    Retry-After (as network creates are), and the other regions are not affected."""
    breaker = compute.app.compute.backends.breakers(PICKY, "compute")
    for _ in range(breaker.threshold):
        breaker.record_failure()
    refused = _server(compute, demo_token, f"/regions/{PICKY}", flavorRef="2")
    assert refused.status_code == 503, refused.text
    assert float(refused.headers["Retry-After"]) > 0
    assert _server(compute, demo_token).status_code == 202


def test_a_backend_that_cannot_boot_from_volumes_refuses_them_when_taking_the_request(compute, ops, demo_token,
                                                                                       monkeypatch):
    monkeypatch.setattr(PickyCompute, "boots_from_volume", False)
    refused = _server(compute, demo_token, f"/regions/{PICKY}", flavorRef="2", imageRef="",
                      block_device_mapping_v2=[{"boot_index": 0, "uuid": CIRROS_ID, "source_type": "image",
                                                "destination_type": "volume", "volume_size": 1}])
    assert refused.status_code == 400 and "cannot boot from a volume" in refused.text, refused.text


def test_an_accepted_build_waits_for_the_breaker_instead_of_failing(compute, demo_token):
    """0043: a create accepted while the region's breaker was closed, whose build then finds the
    breaker open (breakers are per process: another server process accepted it, or the cloud
    failed again just after it came back), waits for the breaker's trial and becomes ACTIVE; it
    does not fail at once to ERROR (CI: the libcloud fault drill's create after moto came back)."""
    from overcast.app import build_operations
    from tests.compute.conftest import Nova

    runtime = build_operations(compute.app.compute)  # not started yet: the create is only recorded
    nova = Nova(compute, demo_token)
    sid = nova.create("after-the-outage", wait=None).json["server"]["id"]
    breaker = runtime.breakers("RegionOne", "compute")
    breaker.reset_seconds = 1.0
    for _ in range(breaker.threshold):
        breaker.record_failure()
    assert breaker.state == "open"
    runtime.start(reconcile=False)
    try:
        shown = nova.wait(sid, "ACTIVE", timeout=30)
    finally:
        runtime.stop()
    assert shown["status"] == "ACTIVE"
    assert breaker.state == "closed"
