"""The crash-injection hook: die right after a handler's driver call returns and before its record,
resume, and check that the records and the backend agree. In-process (``raise``: the worker drops
the operation as if its process had died) and with a real subprocess (``exit``: SIGKILL).

These are the patterns the services' handler tests follow (see overcast/ops/crash.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from overcast.config import OpsSettings
from overcast.ops import Registry, WorkerPool, crash, enqueue, events_for, wait_for
from overcast.ops.crash import CrashPoint
from overcast.ops.models import Operation
from tests.ops.helpers import FileBackend, two_step

ROOT = Path(__file__).resolve().parents[2]
RESUME = OpsSettings(threads=1, poll_interval=0.02, lease_seconds=0.5, backoff_base=0.01, backoff_max=0.02)


@pytest.fixture(autouse=True)
def _disarmed():
    crash.disarm()
    yield
    crash.disarm()


def add(store, kind: str, **params) -> str:  # noqa: ANN001
    with store.session() as session:
        return enqueue(session, kind=kind, cloud="RegionOne", resource_type="thing", resource_id="t-1",
                       params=params).id


def test_crash_point_specs():
    assert CrashPoint.parse("server.build") == CrashPoint("server.build", 1, "exit")
    assert CrashPoint.parse("server.build:3") == CrashPoint("server.build", 3, "exit")
    assert CrashPoint.parse("volume.create:2:raise") == CrashPoint("volume.create", 2, "raise")
    assert CrashPoint.parse("*:raise") == CrashPoint("*", 1, "raise")
    for bad in ("", ":1", "x:0", "x:1:explode", "x:1:raise:2"):
        with pytest.raises(ValueError):
            CrashPoint.parse(bad)


def test_recording_finds_every_crash_point_of_a_handler(store, tmp_path):
    registry = Registry()
    registry.register("test.twostep", two_step)
    with crash.recording() as runs, WorkerPool(store, registry, RESUME):
        assert wait_for(store, add(store, "test.twostep", backend=str(tmp_path / "b")), timeout=20).state == "succeeded"
    assert runs["test.twostep"] == [["compute.create", "compute.tag"]]


@pytest.mark.parametrize("call", [1, 2])
def test_crash_after_each_driver_call_in_process_then_resume(store, tmp_path, call):
    backend = tmp_path / "backend.txt"
    registry = Registry()
    registry.register("test.twostep", two_step)
    crash.arm(f"test.twostep:{call}:raise")
    with WorkerPool(store, registry, RESUME):
        op = wait_for(store, add(store, "test.twostep", backend=str(backend)), timeout=30)
    assert crash.armed() is None  # it fired
    assert (op.state, op.attempts) == ("succeeded", 2)  # the crashed run, then the resumed one
    lines = FileBackend(str(backend)).lines()
    assert lines == [[op.result["backend_id"], op.idempotency_key, "tagged"]]  # one resource, the recorded one
    with store.session() as session:
        assert [e.result for e in events_for(session, op.id)] == ["Error", "Success"]


def _worker(db_url: str, tmp_path: Path, env: dict[str, str]) -> subprocess.Popen:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OVERCAST_")}
    clean.update(env, PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        [sys.executable, "-m", "overcast.ops.cli", "--database-url", db_url, "--handlers",
         "tests.ops.helpers:setup_two_step", "--threads", "1", "--lease-seconds", "1", "--no-reconcile"],
        cwd=tmp_path, env=clean, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def test_crash_after_the_driver_call_kills_a_worker_process_and_another_resumes(store, db_url, tmp_path):
    backend = tmp_path / "backend.txt"
    op_id = add(store, "test.twostep", backend=str(backend))
    doomed = _worker(db_url, tmp_path, {"OVERCAST_OPS_CRASH_AFTER_DRIVER_CALL": "test.twostep:1"})
    output = doomed.communicate(timeout=60)[0].decode()
    assert doomed.returncode == -signal.SIGKILL, output  # it died like kill -9, right after create()
    assert "crash injection: dying after driver call 1 (compute.create) of test.twostep" in output
    with store.session() as session:
        op = session.get(Operation, op_id)
        assert (op.state, op.checkpoint) == ("running", {})  # nothing recorded after the call
        key = op.idempotency_key
    assert [line[1:] for line in FileBackend(str(backend)).lines()] == [[key]]  # made, not yet tagged
    resumer = _worker(db_url, tmp_path, {})
    try:
        op = wait_for(store, op_id, timeout=30)
    finally:
        resumer.send_signal(signal.SIGTERM)
        resumer.communicate(timeout=20)
    assert (op.state, op.attempts) == ("succeeded", 2)
    assert FileBackend(str(backend)).lines() == [[op.result["backend_id"], op.idempotency_key, "tagged"]]


# -- server.build with the local driver --------------------------------------------------------------

IMAGE_ID = "6f3c2b34-3c1d-4d5e-9f0a-00000000c4a5"


def _seed(cloud) -> None:  # noqa: ANN001
    from overcast.store.compute import Flavor
    from overcast.store.image import Image

    with cloud.app.compute.store.session() as session:
        if session.get(Flavor, "1") is None:
            session.add(Flavor(id="1", name="m1.tiny", vcpus=1, ram=512, disk=1))
        if session.get(Image, IMAGE_ID) is None:
            session.add(Image(id=IMAGE_ID, name="cirros-crash", status="active", visibility="public",
                              disk_format="qcow2", container_format="bare", size=1024))


def _create(cloud, token: str, name: str) -> str:  # noqa: ANN001
    resp = cloud.request("POST", "/compute/v2.1/servers", token, json={"server": {
        "name": name, "flavorRef": "1", "imageRef": IMAGE_ID, "networks": "none"}},
        headers={"OpenStack-API-Version": "compute 2.37"})
    assert resp.status_code == 202, resp.text
    return resp.json["server"]["id"]


def _wait_active(cloud, token: str, server_id: str, timeout: float = 60) -> dict:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while True:
        server = cloud.request("GET", f"/compute/v2.1/servers/{server_id}", token).json["server"]
        if server["status"] in ("ACTIVE", "ERROR") and server.get("OS-EXT-STS:task_state") is None:
            return server
        assert time.monotonic() < deadline, server
        time.sleep(0.05)


def _backend_servers(cloud, name: str) -> list:  # noqa: ANN001
    from overcast.drivers.context import CallContext

    return [info for info in cloud.app.compute.clouds["RegionOne"].compute.list(CallContext()) if info.name == name]


def _recorded_backend_id(cloud, server_id: str) -> str | None:  # noqa: ANN001
    from sqlalchemy import select

    from overcast.store.compute import Server

    with cloud.app.compute.store.session() as session:
        return session.scalars(select(Server.backend_id).where(Server.id == server_id)).one()


def test_server_build_crash_points_in_process(cloud, demo_token):
    from overcast.app import build_operations

    _seed(cloud)
    runtime = build_operations(cloud.app.compute, RESUME)
    runtime.start(reconcile=False)
    try:
        with crash.recording() as runs:
            _wait_active(cloud, demo_token, _create(cloud, demo_token, "crash-probe"))
        most = max(len(calls) for calls in runs["server.build"])
        assert most >= 1, runs
        for n in range(1, most + 1):
            name = f"crash-build-{n}"
            crash.arm(f"server.build:{n}:raise")
            server = _wait_active(cloud, demo_token, _create(cloud, demo_token, name))
            assert crash.armed() is None, f"crash point {n} never fired: {runs}"
            assert server["status"] == "ACTIVE", server
            backend = _backend_servers(cloud, name)
            assert len(backend) == 1, backend  # no second backend server, none left behind
            assert _recorded_backend_id(cloud, server["id"]) == backend[0].backend_id
    finally:
        runtime.stop()


def test_server_build_crash_kills_overcast_worker_and_a_new_one_finishes_it(cloud, settings, demo_token):
    _seed(cloud)
    server_id = _create(cloud, demo_token, "crash-subprocess")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OVERCAST_")}
    env.update(PYTHONPATH=str(ROOT), OVERCAST_OPS_LEASE_SECONDS="1", OVERCAST_OPS_POLL_INTERVAL="0.05")
    command = [sys.executable, "-m", "overcast", "--data-dir", str(settings.data_dir), "worker", "--threads", "1",
               "--no-reconcile"]
    doomed = subprocess.run(command, env={**env, "OVERCAST_OPS_CRASH_AFTER_DRIVER_CALL": "server.build:1"},
                            capture_output=True, timeout=120)
    output = (doomed.stdout + doomed.stderr).decode()
    assert doomed.returncode == -signal.SIGKILL, output
    assert "dying after driver call 1 (compute.build) of server.build" in output
    assert len(_backend_servers(cloud, "crash-subprocess")) == 1  # the backend made it; no record says so yet
    resumer = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        server = _wait_active(cloud, demo_token, server_id)
    finally:
        resumer.send_signal(signal.SIGTERM)
        resumer.wait(30)
    assert server["status"] == "ACTIVE", server
    backend = _backend_servers(cloud, "crash-subprocess")
    assert len(backend) == 1, backend
    assert _recorded_backend_id(cloud, server_id) == backend[0].backend_id
