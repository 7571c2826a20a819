"""Idle workers wait on signals, not a poll loop; leases are short and renewed by a heartbeat, so a
dead worker's operations are taken over within seconds; [ops] settings reach `overcast worker`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import event

from overcast.config import OpsSettings
from overcast.ops import Registry, WorkerPool, done, enqueue, poll_again, wait_for
from overcast.ops.engine import Heartbeat, _unregister_wake, claim
from overcast.ops.models import Operation

ROOT = Path(__file__).resolve().parents[2]


def add(store, kind="test.op", resource_id="srv-1", **kwargs) -> str:  # noqa: ANN001
    with store.session() as session:
        return enqueue(session, kind=kind, cloud="RegionOne", resource_type="server", resource_id=resource_id,
                       **kwargs).id


class Statements:
    """Counts the SQL statements an engine runs."""

    def __init__(self, engine) -> None:  # noqa: ANN001
        self.engine = engine
        self.count = 0
        self._lock = threading.Lock()

    def __enter__(self) -> "Statements":
        event.listen(self.engine, "before_cursor_execute", self._one)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._one)

    def _one(self, *args: object) -> None:
        with self._lock:
            self.count += 1


def test_an_idle_pool_runs_at_most_one_statement_a_second(store):
    """Was ~20 claim statements a second per idle process (4 threads polling every 0.2 s)."""
    registry = Registry()
    registry.register("test.op", lambda job, ctx: done())
    with WorkerPool(store, registry, OpsSettings(threads=4)) as pool:
        assert wait_for(store, add(store), timeout=10).state == "succeeded"
        time.sleep(2.5)  # let the ticker back off to its idle pace
        with Statements(store.engine) as seen:
            time.sleep(4.0)
        assert seen.count <= 4, seen.count
        assert pool.stats()["busy"] == 0


def test_enqueue_wakes_an_idle_worker_at_once(store):
    registry = Registry()
    registry.register("test.op", lambda job, ctx: done())
    with WorkerPool(store, registry, OpsSettings(threads=2, poll_interval=30, idle_poll_max=30)):
        time.sleep(0.2)
        started = time.monotonic()
        assert wait_for(store, add(store), timeout=10).state == "succeeded"
        assert time.monotonic() - started < 10  # woken: not the 30 s poll (a loose bound: CI is loaded)


def test_an_enqueue_in_another_process_wakes_idle_workers_through_notify(store):
    if store.engine.dialect.name != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    registry = Registry()
    registry.register("test.op", lambda job, ctx: done())
    pool = WorkerPool(store, registry, OpsSettings(threads=2, poll_interval=30, idle_poll_max=30)).start()
    try:
        _unregister_wake(pool)  # as if the enqueue came from another process: only NOTIFY can wake it
        deadline = time.monotonic() + 10
        while not pool.listening:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        time.sleep(0.2)
        started = time.monotonic()
        assert wait_for(store, add(store), timeout=10).state == "succeeded"
        assert time.monotonic() - started < 10  # woken by NOTIFY: not the 30 s poll
        assert pool.notifications >= 1
    finally:
        pool.stop()


def test_an_idle_pool_wakes_when_known_work_falls_due(store):
    registry = Registry()
    registry.register("test.op", lambda job, ctx: done() if job.polls else poll_again(0.4))
    with WorkerPool(store, registry, OpsSettings(threads=2, poll_interval=30, idle_poll_max=30)):
        time.sleep(0.2)
        started = time.monotonic()
        delayed = add(store, delay_seconds=0.5)
        polled = add(store)
        assert wait_for(store, polled, timeout=10).polls == 1
        assert wait_for(store, delayed, timeout=10).state == "succeeded"
        assert time.monotonic() - started < 10  # not the 30 s poll


def test_heartbeat_renews_running_leases_and_reports_lost_ones(store):
    first, second = add(store), add(store, resource_id="srv-2")
    with store.session() as session:
        jobs = claim(session, "me", 0.5, ["test.op"], limit=2)
    heartbeat = Heartbeat(store, lease_seconds=30)
    lost = {job.id: heartbeat.track(job.id, "me") for job in jobs}
    with store.session() as session:  # another worker took the second over (our lease had lapsed)
        session.execute(Operation.__table__.update().where(Operation.id == second).values(lease_owner="other"))
    heartbeat.beat()
    with store.session() as session:
        op = session.get(Operation, first)
        assert (op.lease_expires_at - op.updated_at).total_seconds() == pytest.approx(30, abs=1)
    assert not lost[first].is_set() and lost[second].is_set()


def _worker(db_url: str, tmp_path: Path, config: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OVERCAST_")}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.Popen(
        [sys.executable, "-m", "overcast.ops.cli", "--database-url", db_url, "--handlers", "tests.ops.helpers:setup",
         "--threads", "1", "--no-reconcile"],
        cwd=tmp_path, env={**env, "OVERCAST_CONFIG": str(config)}, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT)


def test_kill_9_a_worker_and_another_takes_over_within_its_lease(store, db_url, tmp_path):
    """With the default lease (6 s, renewed every 1.5 s) a dead worker's operation is running again
    elsewhere within a few seconds; the old fixed 30 s lease made that ~33 s."""
    config = tmp_path / "overcast.toml"
    config.write_text("[ops]\nthreads = 1\n")  # lease_seconds: the default
    backend, ready = tmp_path / "backend.txt", tmp_path / "ready"
    op_id = add(store, kind="test.create", params={"backend": str(backend), "ready": str(ready), "block_first": True})
    first = _worker(db_url, tmp_path, config)
    second = None
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert time.monotonic() < deadline and first.poll() is None
            time.sleep(0.05)
        second = _worker(db_url, tmp_path, config)
        time.sleep(2 * OpsSettings().lease_seconds)  # the heartbeat keeps the lease while it runs
        with store.session() as session:
            op = session.get(Operation, op_id)
            assert (op.state, op.attempts) == ("running", 1), "taken over from a live worker"
        os.kill(first.pid, signal.SIGKILL)
        killed = time.monotonic()
        first.wait(10)
        op = wait_for(store, op_id, timeout=30)
        took = time.monotonic() - killed
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.communicate(timeout=20)
    assert (op.state, op.attempts) == ("succeeded", 2)
    assert took < OpsSettings().lease_seconds + 3, took
    print(f"taken over {took:.1f}s after kill -9 (lease {OpsSettings().lease_seconds:g}s)")
