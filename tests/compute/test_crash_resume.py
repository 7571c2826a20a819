"""Every operation handler survives its worker dying between a driver call and its record (16.3).

For each handler and each driver call it makes that changes the backend (and the poll after it),
the worker is killed right after the call returned (:mod:`crash_harness`: nothing is recorded, the
operation keeps the dead worker's lease); the engine then resumes it as a fresh attempt, and the
test checks that the records and the local cloud agree afterwards: no orphan on the backend, no
duplicate, no lost disk, and the resource in the state the request asked for.
"""

from __future__ import annotations

import time
from typing import Any, Callable

import falcon.testing
import pytest
from sqlalchemy import select

from overcast.bootstrap import prepare
from overcast.config import load_settings
from overcast.core.compute import build_compute
from overcast.core.compute import quotas as compute_quotas
from overcast.core.compute.operations import setup_for as compute_setup
from overcast.core.compute.volume_operations import setup_for as server_volumes_setup
from overcast.core.identity import build_identity
from overcast.core.image import ImageCore
from overcast.core.image.seed import CIRROS_ID, payload
from overcast.core.volume import build_volume
from overcast.core.volume import quotas as volume_quotas
from overcast.core.volume.operations import setup_for as volume_setup
from overcast.drivers.context import CallContext
from overcast.config import OpsSettings
from overcast.ops.models import Operation
from overcast.ops.runtime import OpsRuntime
from overcast.store.compute import BlockDeviceMapping, Server
from overcast.store.image import Image, ImageLocation
from overcast.store.volume import Snapshot, Volume
from tests.compute.crash_harness import CrashPlan, crashing_setup, wrap_driver
from tests.conftest import Cloud

REGION = "RegionOne"
CTX = CallContext()
COMPUTE_CALLS = ("build", "delete", "get_many", "stop", "start", "pause", "reboot", "resize", "confirm_resize",
                 "snapshot", "shelve", "attach_volume", "detach_volume", "delete_image")
VOLUME_CALLS = ("create", "delete", "get_many", "extend", "create_snapshot", "delete_snapshot", "attach", "detach",
                "read")


class Env:
    def __init__(self, cloud: Cloud, plan: CrashPlan):
        self.cloud, self.plan = cloud, plan
        self.core = cloud.app.compute
        self.store = self.core.store
        self.token = cloud.token("demo", "demo")
        resp = cloud.request("GET", "/identity/v3/auth/tokens", self.token, headers={"X-Subject-Token": self.token})
        self.project = resp.json["token"]["project"]["id"]
        self.compute = self.core.compute_driver(REGION)
        self.volumes = cloud.app.volume.volume_driver(REGION)
        with self.store.session() as session:  # every test leaves its resources behind: no quota in the way
            compute_quotas.update(session, self.project, {"instances": -1, "cores": -1, "ram": -1}, region=REGION)
            volume_quotas.update(session, self.project, {"volumes": -1, "snapshots": -1, "gigabytes": -1},
                                 region=REGION)

    def nova(self, method: str, path: str, **kw: Any) -> Any:
        headers = {"OpenStack-API-Version": "compute 2.79", **kw.pop("headers", {})}
        return self.cloud.request(method, f"/compute/v2.1{path}", self.token, headers=headers, **kw)

    def cinder(self, method: str, path: str, **kw: Any) -> Any:
        headers = {"OpenStack-API-Version": "volume 3.60", **kw.pop("headers", {})}
        return self.cloud.request(method, f"/volume/v3/{self.project}{path}", self.token, headers=headers, **kw)

    # -- waiting ------------------------------------------------------------------------------------
    def until(self, condition: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.05)

    def operation(self, resource_id: str, kind: str) -> Operation:
        """The resource's newest operation of ``kind``, once it finished; it must have succeeded."""
        def finished() -> Operation | None:
            with self.store.session() as session:
                op = session.scalars(select(Operation).where(Operation.resource_id == resource_id,
                                                             Operation.kind == kind)
                                     .order_by(Operation.created_at.desc())).first()
                if op is not None and op.state in ("succeeded", "failed"):
                    session.expunge(op)
                    return op
            return None
        op = self.until(finished, f"{kind} of {resource_id}")
        assert op.state == "succeeded", f"{kind} failed after the crash: {op.error_kind}: {op.error}"
        return op

    def crashed_and_resumed(self, op: Operation, kind: str, method: str) -> None:
        assert f"{kind}:{method}" in self.plan.fired, f"the crash after {method} never happened ({self.plan.fired})"
        assert op.attempts >= 2, f"{kind} was not resumed as a new attempt (attempts {op.attempts})"

    # -- the two sides ------------------------------------------------------------------------------
    def agree(self) -> None:
        """Every backend object has its record and every record its backend object: no orphan, no
        duplicate, nothing lost."""
        backend_servers = self.compute.list(CTX)
        keys = [s.idempotency_key for s in backend_servers]
        assert len(keys) == len(set(keys)), "two backend servers were built for one server"
        with self.store.session() as session:
            live = {s.backend_id for s in session.scalars(select(Server).where(
                Server.cloud == REGION, Server.deleted.is_(False), Server.backend_id.is_not(None)))}
            volumes = {v.backend_id for v in session.scalars(select(Volume).where(Volume.cloud == REGION))}
            snapshots = {s.backend_id for s in session.scalars(select(Snapshot).where(Snapshot.cloud == REGION))}
            images = {loc.backend_id for loc in session.scalars(select(ImageLocation).where(
                ImageLocation.cloud == REGION))}
            mapped = {(server_backend, volume_backend) for server_backend, volume_backend in session.execute(
                select(Server.backend_id, Volume.backend_id).select_from(BlockDeviceMapping)
                .join(Server, Server.id == BlockDeviceMapping.server_id)
                .join(Volume, Volume.id == BlockDeviceMapping.volume_id).where(Server.deleted.is_(False)))}
        assert {s.backend_id for s in backend_servers} == live
        assert {v.backend_id for v in self.volumes.list(CTX)} == volumes
        with self.volumes.store.read() as conn:
            assert {row["id"] for row in conn.execute("SELECT id FROM volume_snapshot")} == snapshots
        assert {i.backend_id for i in self.compute.images(CTX)} == images
        attached = {(server_id, volume_id) for server_id in live
                    for volume_id in (a.volume_id for a in self.compute.volume_attachments(CTX, server_id))}
        assert attached == mapped

    # -- resources ------------------------------------------------------------------------------------
    def server(self, name: str, wait: str | None = "ACTIVE") -> str:
        resp = self.nova("POST", "/servers", json={"server": {"name": name, "flavorRef": "1", "imageRef": CIRROS_ID,
                                                              "networks": "none"}})
        assert resp.status_code == 202, resp.text
        sid = resp.json["server"]["id"]
        if wait:
            self.server_status(sid, wait)
        return sid

    def server_status(self, sid: str, status: str) -> dict:
        def reached() -> dict | None:
            body = self.nova("GET", f"/servers/{sid}").json["server"]
            return body if body["status"] == status and body["OS-EXT-STS:task_state"] is None else None
        return self.until(reached, f"server {sid} {status}")

    def volume(self, **body: Any) -> str:
        resp = self.cinder("POST", "/volumes", json={"volume": {"size": 1, **body}})
        assert resp.status_code == 202, resp.text
        vid = resp.json["volume"]["id"]
        self.volume_status(vid, "available")
        return vid

    def volume_status(self, vid: str, status: str, collection: str = "volumes") -> dict:
        key = collection[:-1]

        def reached() -> dict | None:
            body = self.cinder("GET", f"/{collection}/{vid}").json[key]
            assert body["status"] not in ("error", "error_extending", "error_deleting"), body
            return body if body["status"] == status else None
        return self.until(reached, f"{key} {vid} {status}")


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Env:
    settings = load_settings(data_dir=tmp_path_factory.mktemp("crash") / "data", identity={"bcrypt_rounds": 4},
                             environ={})
    identity = build_identity(settings)
    compute = build_compute(settings, identity)
    images = ImageCore(settings=settings, store=identity.store)
    accounts = prepare(identity, compute, images)
    from overcast.app import create_app

    app = create_app(settings, identity, compute, images)
    plan = CrashPlan()
    wrap_driver(compute.compute_driver(REGION), plan, COMPUTE_CALLS)
    wrap_driver(compute.clouds[REGION].volume, plan, VOLUME_CALLS)
    runtime = OpsRuntime(compute.store, settings, OpsSettings(lease_seconds=1.0, poll_interval=0.05, backoff_base=0.05,
                                                              backoff_max=0.2), threads=2, backends=compute.backends,
                         setups=[crashing_setup(s, plan) for s in (
                             compute_setup(compute), server_volumes_setup(compute),
                             volume_setup(build_volume(compute)))])
    runtime.start(reconcile=False)
    yield Env(Cloud(client=falcon.testing.TestClient(app), app=app,
                    passwords={a.username: a.password for a in accounts}), plan)
    runtime.stop()
    compute.close()
    identity.store.dispose()


@pytest.fixture(autouse=True)
def _disarmed(env: Env):
    yield
    env.plan.armed = None


# -- servers ------------------------------------------------------------------------------------------


#: checkpoint 1 is saved before the build call ("calling"), checkpoint 2 after it (the backend id)
@pytest.mark.parametrize("method,nth", [("build", 1), ("checkpoint", 1), ("checkpoint", 2), ("get_many", 1)])
def test_server_build(env: Env, method: str, nth: int) -> None:
    env.plan.arm("server.build", method, nth)
    sid = env.server(f"build-{method}", wait=None)
    env.crashed_and_resumed(env.operation(sid, "server.build"), "server.build", method)
    env.server_status(sid, "ACTIVE")
    env.agree()


def test_server_delete(env: Env) -> None:
    sid = env.server("gone")
    env.plan.arm("server.delete", "delete")
    assert env.nova("DELETE", f"/servers/{sid}").status_code == 204
    env.crashed_and_resumed(env.operation(sid, "server.delete"), "server.delete", "delete")
    assert env.nova("GET", f"/servers/{sid}").status_code == 404
    env.agree()


#: (the actions that lead there, the action under test, its driver call, the status it ends in)
ACTIONS = [
    ([], {"os-stop": None}, "stop", "SHUTOFF"),
    ([], {"os-stop": None}, "checkpoint", "SHUTOFF"),
    ([{"os-stop": None}], {"os-start": None}, "start", "ACTIVE"),
    ([], {"pause": None}, "pause", "PAUSED"),
    ([], {"reboot": {"type": "HARD"}}, "reboot", "ACTIVE"),
    ([], {"resize": {"flavorRef": "2"}}, "resize", "VERIFY_RESIZE"),
    ([{"resize": {"flavorRef": "2"}}], {"confirmResize": None}, "confirm_resize", "ACTIVE"),
    ([], {"createImage": {"name": "snap"}}, "snapshot", "ACTIVE"),
    ([], {"shelve": None}, "snapshot", "SHELVED_OFFLOADED"),
    ([], {"shelve": None}, "shelve", "SHELVED_OFFLOADED"),
]


@pytest.mark.parametrize("before,action,method,status", ACTIONS,
                         ids=[f"{next(iter(a))}-{m}" for _, a, m, _ in ACTIONS])
def test_server_action(env: Env, before: list[dict], action: dict, method: str, status: str) -> None:
    sid = env.server(f"act-{method}")
    for step in before:
        assert env.nova("POST", f"/servers/{sid}/action", json=step).status_code in (202, 204)
        env.operation(sid, "server.action")
        env.until(lambda: env.nova("GET", f"/servers/{sid}").json["server"]["OS-EXT-STS:task_state"] is None, "idle")
    env.plan.arm("server.action", method)
    resp = env.nova("POST", f"/servers/{sid}/action", json=action)
    assert resp.status_code in (202, 204), resp.text
    env.crashed_and_resumed(env.operation(sid, "server.action"), "server.action", method)
    env.server_status(sid, status)
    env.agree()
    if "createImage" in action:
        image_id = resp.json["image_id"]
        with env.store.session() as session:
            assert session.get(Image, image_id).status == "active"
            assert session.get(ImageLocation, (image_id, REGION)) is not None


@pytest.mark.parametrize("kind,method", [("server.attach_volume", "attach"),
                                         ("server.attach_volume", "attach_volume"),
                                         ("server.detach_volume", "detach_volume"),
                                         ("server.detach_volume", "detach")])
def test_server_volume_attach_and_detach(env: Env, kind: str, method: str) -> None:
    sid, vid = env.server(f"vol-{method}"), env.volume(name=f"vol-{method}")
    attach = {"volumeAttachment": {"volumeId": vid}}
    if kind == "server.attach_volume":
        env.plan.arm(kind, method)
    assert env.nova("POST", f"/servers/{sid}/os-volume_attachments", json=attach).status_code == 200
    op = env.operation(sid, "server.attach_volume")
    env.volume_status(vid, "in-use")
    if kind == "server.detach_volume":
        env.plan.arm(kind, method)
        assert env.nova("DELETE", f"/servers/{sid}/os-volume_attachments/{vid}").status_code == 202
        op = env.operation(sid, kind)
        env.volume_status(vid, "available")
    env.crashed_and_resumed(op, kind, method)
    env.agree()


# -- volumes ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["create", "checkpoint", "get_many"])
def test_volume_create_keeps_its_disk(env: Env, method: str) -> None:
    """16.3: the create resumed after a crash records the backend volume it made (and its data)."""
    env.plan.arm("volume.create", method)
    resp = env.cinder("POST", "/volumes", json={"volume": {"size": 1, "imageRef": CIRROS_ID}})
    vid = resp.json["volume"]["id"]
    env.crashed_and_resumed(env.operation(vid, "volume.create"), "volume.create", method)
    env.volume_status(vid, "available")
    with env.store.session() as session:
        backend_id = session.scalar(select(Volume.backend_id).where(Volume.id == vid))
    assert backend_id, "the volume lost its disk"
    assert b"".join(env.volumes.read(CTX, backend_id)) == payload()
    env.agree()
    # what 16.3 broke next: extend, snapshot and a clone from it
    assert env.cinder("POST", f"/volumes/{vid}/action", json={"os-extend": {"new_size": 2}}).status_code == 202
    env.volume_status(vid, "available")
    snap = env.cinder("POST", "/snapshots", json={"snapshot": {"volume_id": vid}}).json["snapshot"]["id"]
    env.volume_status(snap, "available", "snapshots")
    clone = env.volume(snapshot_id=snap, size=2)
    with env.store.session() as session:
        clone_backend = session.scalar(select(Volume.backend_id).where(Volume.id == clone))
    assert b"".join(env.volumes.read(CTX, clone_backend)) == payload()
    env.agree()


def test_volume_delete(env: Env) -> None:
    vid = env.volume(name="doomed")
    env.plan.arm("volume.delete", "delete")
    assert env.cinder("DELETE", f"/volumes/{vid}").status_code == 202
    env.crashed_and_resumed(env.operation(vid, "volume.delete"), "volume.delete", "delete")
    env.until(lambda: env.cinder("GET", f"/volumes/{vid}").status_code == 404, "volume gone")
    env.agree()


def test_volume_extend(env: Env) -> None:
    vid = env.volume(name="grows")
    env.plan.arm("volume.extend", "extend")
    assert env.cinder("POST", f"/volumes/{vid}/action", json={"os-extend": {"new_size": 3}}).status_code == 202
    env.crashed_and_resumed(env.operation(vid, "volume.extend"), "volume.extend", "extend")
    assert env.volume_status(vid, "available")["size"] == 3
    with env.store.session() as session:
        backend_id = session.scalar(select(Volume.backend_id).where(Volume.id == vid))
    assert env.volumes.get(CTX, backend_id).size_gb == 3
    env.agree()


def test_snapshot_create_and_delete(env: Env) -> None:
    vid = env.volume(name="snapped")
    env.plan.arm("snapshot.create", "create_snapshot")
    sid = env.cinder("POST", "/snapshots", json={"snapshot": {"volume_id": vid}}).json["snapshot"]["id"]
    env.crashed_and_resumed(env.operation(sid, "snapshot.create"), "snapshot.create", "create_snapshot")
    env.volume_status(sid, "available", "snapshots")
    env.agree()
    env.plan.arm("snapshot.delete", "delete_snapshot")
    assert env.cinder("DELETE", f"/snapshots/{sid}").status_code == 202
    env.crashed_and_resumed(env.operation(sid, "snapshot.delete"), "snapshot.delete", "delete_snapshot")
    env.until(lambda: env.cinder("GET", f"/snapshots/{sid}").status_code == 404, "snapshot gone")
    env.agree()


def test_volume_export_and_unexport(env: Env) -> None:
    """os-initialize_connection waits for its export, which a worker finishes after the crash."""
    vid = env.volume(name="exported")
    env.plan.arm("volume.export", "attach")
    resp = env.cinder("POST", f"/volumes/{vid}/action",
                      json={"os-initialize_connection": {"connector": {"host": "crash-host"}}})
    assert resp.status_code == 200, resp.text
    assert resp.json["connection_info"]["driver_volume_type"] == "local"
    env.crashed_and_resumed(env.operation(vid, "volume.export"), "volume.export", "attach")
    with env.store.session() as session:
        backend_id = session.scalar(select(Volume.backend_id).where(Volume.id == vid))
    exports = "SELECT host FROM volume_export WHERE volume_id = ?"
    with env.volumes.store.read() as conn:
        assert [row["host"] for row in conn.execute(exports, (backend_id,))] == ["crash-host"]
    env.plan.arm("volume.unexport", "detach")
    resp = env.cinder("POST", f"/volumes/{vid}/action",
                      json={"os-terminate_connection": {"connector": {"host": "crash-host"}}})
    assert resp.status_code == 202, resp.text
    env.crashed_and_resumed(env.operation(vid, "volume.unexport"), "volume.unexport", "detach")
    with env.volumes.store.read() as conn:
        assert conn.execute(exports, (backend_id,)).fetchall() == []


def test_volume_upload_to_image(env: Env) -> None:
    vid = env.volume(imageRef=CIRROS_ID)
    env.plan.arm("volume.upload_image", "read")
    resp = env.cinder("POST", f"/volumes/{vid}/action",
                      json={"os-volume_upload_image": {"image_name": "uploaded", "disk_format": "qcow2"}})
    assert resp.status_code == 202, resp.text
    image_id = resp.json["os-volume_upload_image"]["image_id"]
    env.crashed_and_resumed(env.operation(vid, "volume.upload_image"), "volume.upload_image", "read")
    env.volume_status(vid, "available")
    with env.store.session() as session:
        image = session.get(Image, image_id)
        assert image.status == "active" and image.size == len(payload())


def test_backend_image_delete(env: Env) -> None:
    sid = env.server("imaged")
    image_id = env.nova("POST", f"/servers/{sid}/action", json={"createImage": {"name": "x"}}).json["image_id"]
    env.operation(sid, "server.action")
    env.plan.arm("image.delete_backend", "delete_image")
    assert env.cloud.request("DELETE", f"/image/v2/images/{image_id}", env.token).status_code == 204
    env.crashed_and_resumed(env.operation(image_id, "image.delete_backend"), "image.delete_backend", "delete_image")
    env.agree()
