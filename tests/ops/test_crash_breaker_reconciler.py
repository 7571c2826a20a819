"""Crash safety (kill -9 a worker process), the per-cloud breaker, the reconciler lease, the schema."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from overcast.drivers.errors import Unavailable
from overcast.ops import (Breakers, CircuitBreaker, OpsSettings, Registry, WorkerPool, done, enqueue, events_for,
                          wait_for)
from overcast.ops.breaker import CLOSED, HALF_OPEN, OPEN
from overcast.ops.models import Operation, OpsLease
from overcast.ops.reconciler import Reconciler, acquire_lease
from tests.ops.helpers import setup as helpers_setup

ROOT = Path(__file__).resolve().parents[2]


def add(store, kind="test.op", cloud="RegionOne", **kwargs) -> str:  # noqa: ANN001
    with store.session() as session:
        return enqueue(session, kind=kind, cloud=cloud, resource_type="server", resource_id="srv-1",
                       action="create", **kwargs).id


def wait_until(predicate, timeout: float = 30.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        time.sleep(0.05)


def start_worker(db_url: str, tmp_path: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OVERCAST_")}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.Popen(
        [sys.executable, "-m", "overcast.ops.cli", "--database-url", db_url, "--handlers", "tests.ops.helpers:setup",
         "--threads", "1", "--poll-interval", "0.05", "--lease-seconds", "1", "--no-reconcile"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def test_kill_9_mid_operation_then_another_worker_finishes_it_once(store, db_url, tmp_path):
    backend, ready = tmp_path / "backend.txt", tmp_path / "ready"
    op_id = add(store, kind="test.create", params={"backend": str(backend), "ready": str(ready), "block_first": True})
    first = start_worker(db_url, tmp_path)
    try:
        wait_until(ready.exists)
        with store.session() as session:
            op = session.get(Operation, op_id)
            assert (op.state, op.attempts) == ("running", 1)
            assert op.lease_owner.split(":")[1] == str(first.pid)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    second = start_worker(db_url, tmp_path)
    try:
        op = wait_for(store, op_id, timeout=30)
    finally:
        second.send_signal(signal.SIGTERM)
        output = second.communicate(timeout=20)[0].decode()
    assert second.returncode == 0, output
    assert (op.state, op.attempts) == ("succeeded", 2)
    assert op.result == {"found_existing": True, "attempts": 2, "pid": second.pid}
    assert backend.read_text().split() == [op.idempotency_key]  # one backend resource, not two
    with store.session() as session:
        events = events_for(session, op_id)
        assert [(e.event, e.result) for e in events] == [("compute__do_build_and_run_instance", "Error"),
                                                         ("compute__do_build_and_run_instance", "Success")]
        assert "stopped" in events[0].message


def test_the_worker_command_runs_the_handlers_it_is_given(store, db_url, tmp_path):
    backend = tmp_path / "backend.txt"
    ids = [add(store, kind="test.create", params={"backend": str(backend)}) for _ in range(5)]
    proc = start_worker(db_url, tmp_path)
    try:
        ops = [wait_for(store, op_id, timeout=30) for op_id in ids]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)
    assert {op.state for op in ops} == {"succeeded"}
    assert sorted(backend.read_text().split()) == sorted(op.idempotency_key for op in ops)


def test_worker_processes_and_threads_share_the_queue_and_run_each_operation_once(store, db_url, tmp_path):
    backend, runs = tmp_path / "backend.txt", tmp_path / "runs.txt"
    procs = [start_worker(db_url, tmp_path) for _ in range(2)]
    with store.session() as session:  # due once the worker processes are up, so all compete
        ids = [enqueue(session, kind="test.create", cloud="RegionOne", resource_type="server", resource_id=f"s{i}",
                       params={"backend": str(backend), "runs": str(runs), "sleep": 0.01},
                       delay_seconds=4).id for i in range(150)]
    registry = Registry()
    helpers_setup(type("Runtime", (), {"registry": registry}))
    try:
        with WorkerPool(store, registry, OpsSettings(threads=2, poll_interval=0.02)):
            ops = [wait_for(store, op_id, timeout=120) for op_id in ids]
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=20)
    assert {op.state for op in ops} == {"succeeded"} and {op.attempts for op in ops} == {1}
    lines = [line.split() for line in runs.read_text().splitlines()]
    assert sorted(op_id for op_id, _ in lines) == sorted(ids)  # every operation ran exactly once
    assert len({pid for _, pid in lines}) >= 2  # and the work was shared between processes


# -- the breaker ----------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_breaker_opens_after_consecutive_retryable_failures_and_closes_after_a_trial():
    clock = Clock()
    breaker = CircuitBreaker("aws", threshold=3, reset_seconds=10, clock=clock)
    for _ in range(2):
        assert breaker.allow()
        breaker.record_failure()
    breaker.record_success()  # not consecutive: starts again
    for _ in range(3):
        assert breaker.allow()
        breaker.record_failure()
    assert breaker.state == OPEN and not breaker.allow()
    assert breaker.retry_in() == 10
    clock.now = 9.9
    assert not breaker.allow()
    clock.now = 10
    assert breaker.state == HALF_OPEN
    assert breaker.allow()       # one trial ...
    assert not breaker.allow()   # ... at a time
    breaker.record_failure()     # the trial failed: open again for another reset period
    assert breaker.state == OPEN
    clock.now = 20
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state == CLOSED and breaker.allow() and breaker.allow()


def test_breakers_are_per_cloud():
    breakers = Breakers(threshold=1, reset_seconds=60)
    breakers("aws").record_failure()
    assert breakers("aws").state == OPEN and breakers("gce").state == CLOSED
    assert breakers.states() == {"aws": OPEN, "gce": CLOSED}


def test_open_breaker_fails_operations_fast_and_closes_by_itself(store):
    registry = Registry()
    cloud_up = threading.Event()
    calls: list[str] = []
    errors: list[str] = []

    def handler(job, ctx):  # noqa: ANN001, ANN202
        calls.append(job.cloud)
        if job.cloud == "flaky" and not cloud_up.is_set():
            raise Unavailable("connection refused")
        return done()

    registry.register("test.op", handler, on_failure=lambda job, session: errors.append(job.id))
    settings = OpsSettings(threads=1, poll_interval=0.02, backoff_base=0.01, backoff_max=0.02,
                           breaker_threshold=3, breaker_reset_seconds=0.5)
    with WorkerPool(store, registry, settings) as pool:
        first = wait_for(store, add(store, cloud="flaky", max_attempts=3), timeout=20)
        assert (first.state, first.error_kind) == ("failed", "Unavailable")
        assert pool.breakers("flaky").state == OPEN
        # while open: no driver call, a clear error at once, the resource's hook runs
        before = len(calls)
        fast = wait_for(store, add(store, cloud="flaky"), timeout=20)
        assert (fast.state, fast.error_kind, fast.attempts) == ("failed", "CloudUnavailable", 1)
        assert fast.error.startswith("cloud flaky is unavailable: 3 consecutive failures")
        assert len(calls) == before and errors[-1] == fast.id
        # other clouds are not affected
        assert wait_for(store, add(store, cloud="RegionOne"), timeout=20).state == "succeeded"
        # the provider recovers; after the reset timeout one trial closes the breaker
        cloud_up.set()
        wait_until(lambda: pool.breakers("flaky").state == HALF_OPEN, timeout=5)
        assert wait_for(store, add(store, cloud="flaky"), timeout=20).state == "succeeded"
        assert pool.breakers("flaky").state == CLOSED


def test_deferred_kinds_wait_for_the_breaker_instead_of_failing(store):
    registry = Registry()
    cloud_up = threading.Event()
    calls = []

    def handler(job, ctx):  # noqa: ANN001, ANN202
        calls.append(job.attempts)
        if not cloud_up.is_set():
            raise Unavailable("503 from the provider")
        return done()

    registry.register("test.op", handler)
    registry.register("test.delete", handler, when_open="defer")
    settings = OpsSettings(threads=1, poll_interval=0.02, backoff_base=0.01, backoff_max=0.02,
                           breaker_threshold=2, breaker_reset_seconds=0.6)
    with WorkerPool(store, registry, settings) as pool:
        assert wait_for(store, add(store, cloud="flaky", max_attempts=2), timeout=20).state == "failed"
        assert pool.breakers("flaky").state == OPEN
        calls.clear()
        op_id = add(store, kind="test.delete", cloud="flaky", max_attempts=1)
        time.sleep(0.2)
        with store.session() as session:
            op = session.get(Operation, op_id)
            assert (op.state, op.attempts, op.error_kind) == ("pending", 0, "CloudUnavailable")
        assert calls == []
        cloud_up.set()
        op = wait_for(store, op_id, timeout=20)
    assert (op.state, op.attempts) == ("succeeded", 1)
    assert calls == [1]


# -- the reconciler ---------------------------------------------------------------------------------


def test_only_one_reconciler_runs_at_a_time_and_another_takes_over(store):
    seen: list[tuple[str, str]] = []
    lock = threading.Lock()

    def make(owner: str) -> Reconciler:
        rec = Reconciler(store, ["RegionOne", "aws"], interval=0.05, lease_seconds=0.5, owner=owner)

        def reconcile(cloud, ctx):  # noqa: ANN001, ANN202
            with lock:
                seen.append((owner, cloud))
            with ctx.session() as session:
                session.execute(select(1))

        rec.register("servers", reconcile)
        return rec

    a, b = make("a"), make("b")
    barrier = threading.Barrier(2)
    results = {}

    def race(rec: Reconciler) -> None:
        barrier.wait()
        results[rec.owner] = rec.run_once()

    threads = [threading.Thread(target=race, args=(r,)) for r in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(results.values()) == [False, True]
    winner = "a" if results["a"] else "b"
    assert seen == [(winner, "RegionOne"), (winner, "aws")]
    loser = b if winner == "a" else a
    assert loser.run_once() is False
    with store.session() as session:
        lease = session.get(OpsLease, "reconciler")
        assert lease.owner == winner and lease.last_run_at is not None
    # the winner dies (stops renewing); once its lease expires the other takes over
    time.sleep(0.6)
    seen.clear()
    assert loser.run_once() is True
    assert [owner for owner, _ in seen] == [loser.owner] * 2


def test_reconciler_loop_survives_failing_functions_and_skips_open_breakers(store):
    breakers = Breakers(threshold=1, reset_seconds=60)
    breakers("aws").record_failure()
    calls = []

    def reconcile(cloud, ctx):  # noqa: ANN001, ANN202
        calls.append(cloud)
        raise RuntimeError("driver.list() exploded")

    rec = Reconciler(store, ["RegionOne", "aws"], interval=0.05, breakers=breakers, owner="solo")
    rec.register("servers", reconcile)
    rec.start()
    try:
        wait_until(lambda: rec.runs >= 2, timeout=10)
    finally:
        rec.stop()
    assert set(calls) == {"RegionOne"}
    assert acquire_lease(store, "reconciler", "someone-else", 5)  # stop() released it


def test_reconcile_function_that_hangs_is_abandoned(store):
    release = threading.Event()
    rec = Reconciler(store, ["RegionOne"], interval=60, timeout=0.2, owner="solo")
    rec.register("hang", lambda cloud, ctx: release.wait(30))
    try:
        started = time.monotonic()
        assert rec.run_once() is True
        assert time.monotonic() - started < 15  # abandoned: not the function's 30 s
    finally:
        release.set()


# -- the schema -------------------------------------------------------------------------------------


def test_migration_0002_matches_the_models(store):
    from overcast.store.models import Base

    with store.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    def table_of(diff) -> str | None:  # noqa: ANN001
        diff = diff[0] if isinstance(diff, list) else diff  # column modifications come in lists
        for part in diff[1:]:
            if isinstance(part, str) and part:
                return part
            name = getattr(part, "name", None) if hasattr(part, "columns") else None
            table = getattr(part, "table", None)
            if table is not None:
                return table.name
            if name:
                return name
        return None

    ours = [d for d in diffs if table_of(d) in ("operation", "operation_event", "ops_lease")]
    assert ours == []
    with store.engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() >= "0002"


def test_helpers_setup_registers_the_test_handler():
    class Runtime:
        registry = Registry()

    helpers_setup(Runtime)
    assert "test.create" in Runtime.registry
    with pytest.raises(ValueError):
        Runtime.registry.register("test.create", lambda job, ctx: done())
