"""The operations engine on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

import collections
import datetime as dt
import threading
import time

import pytest
from sqlalchemy import select, text

from overcast.drivers.errors import BuildFailed, NotFound, Unavailable
from overcast.ops import (OpsSettings, Registry, Worker, WorkerPool, cancel, claim, done, enqueue, events_for,
                          operations_for, poll_again, requeue_expired, wait_for)
from overcast.ops.models import Operation
from overcast.store.models import utcnow

FAST = OpsSettings(threads=2, poll_interval=0.05, lease_seconds=5, handler_timeout=5, backoff_base=0.02,
                   backoff_max=0.1, breaker_threshold=100)


def add(store, kind="test.op", cloud="RegionOne", **kwargs) -> str:  # noqa: ANN001
    with store.session() as session:
        op = enqueue(session, kind=kind, cloud=cloud, resource_type="server",
                     resource_id=kwargs.pop("resource_id", "srv-1"), action=kwargs.pop("action", "create"),
                     request_id="req-1", user_id="u1", project_id="p1", **kwargs)
        return op.id


def test_enqueue_commits_with_the_callers_transaction(store):
    with pytest.raises(RuntimeError):
        with store.session() as session:
            enqueue(session, kind="test.op", cloud="RegionOne", resource_type="server", resource_id="gone")
            raise RuntimeError("the request failed after enqueue")
    op_id = add(store, params={"flavor": "m1.tiny"})
    with store.session() as session:
        ops = list(session.scalars(select(Operation)))
        assert [o.id for o in ops] == [op_id]
        op = ops[0]
        # max_attempts 0: the budget configured for the cloud, applied when a worker claims it
        assert (op.state, op.attempts, op.max_attempts, op.params) == ("pending", 0, 0, {"flavor": "m1.tiny"})
        assert op.idempotency_key == op.id and op.action == "create" and op.request_id == "req-1"


def test_done_records_result_event_and_times(store):
    registry = Registry()
    seen = []

    @registry.register("test.op", event="compute__do_build_and_run_instance")
    def handler(job, ctx):  # noqa: ANN001, ANN202
        seen.append((job.attempts, job.params, job.request_id))
        with ctx.session() as session:  # handlers may use the store
            session.execute(text("SELECT 1"))
        return done({"backend_id": "b-1"})

    with WorkerPool(store, registry, FAST):
        op_id = add(store, params={"x": 1})
        op = wait_for(store, op_id, timeout=10)
    assert seen == [(1, {"x": 1}, "req-1")]
    assert (op.state, op.result, op.attempts, op.error) == ("succeeded", {"backend_id": "b-1"}, 1, None)
    assert op.started_at and op.finished_at and op.finished_at >= op.started_at >= op.created_at
    assert op.lease_owner is None
    with store.session() as session:
        events = events_for(session, op_id)
        assert [(e.event, e.result) for e in events] == [("compute__do_build_and_run_instance", "Success")]
        assert events[0].finish_time >= events[0].start_time
        assert [o.id for o in operations_for(session, "server", "srv-1")] == [op_id]


def test_enqueue_wakes_an_idle_worker_at_once(store):
    registry = Registry()
    registry.register("test.op", lambda job, ctx: done())
    slow_poll = OpsSettings(threads=1, poll_interval=30, idle_poll_max=30)
    with WorkerPool(store, registry, slow_poll):
        time.sleep(0.2)  # let the worker go idle on its 30 s wait
        started = time.monotonic()
        op_id = add(store)
        assert wait_for(store, op_id, timeout=10).state == "succeeded"
        assert time.monotonic() - started < 10  # woken: an idle worker would re-poll only after 30 s


def test_each_operation_runs_once_with_many_workers(store):
    registry = Registry()
    runs = collections.Counter()
    lock = threading.Lock()

    def handler(job, ctx):  # noqa: ANN001, ANN202
        with lock:
            runs[job.id] += 1
        return done()

    registry.register("test.op", handler)
    with store.session() as session:
        ids = [enqueue(session, kind="test.op", cloud="RegionOne", resource_type="server",
                       resource_id=f"s{i}").id for i in range(200)]
    with WorkerPool(store, registry, FAST, threads=8):
        for op_id in ids:
            assert wait_for(store, op_id, timeout=60).state == "succeeded"
    assert runs == {op_id: 1 for op_id in ids}


def test_concurrent_claims_never_hand_out_the_same_operation(store):
    with store.session() as session:
        ids = {enqueue(session, kind="test.op", cloud="c", resource_type="server", resource_id=f"s{i}").id
               for i in range(120)}
    claimed: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def claimer(n: int) -> None:
        barrier.wait()
        while True:
            with store.session() as session:
                jobs = claim(session, f"owner-{n}", 60, ["test.op"], limit=3)
            if not jobs:
                return
            with lock:
                claimed.extend(job.id for job in jobs)

    threads = [threading.Thread(target=claimer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(claimed) == sorted(ids)
    with store.session() as session:
        assert {o.state for o in session.scalars(select(Operation))} == {"running"}


def test_claim_takes_only_registered_kinds_and_due_operations(store):
    add(store, kind="other.kind")
    later = add(store, delay_seconds=60)
    with store.session() as session:
        assert claim(session, "me", 30, ["test.op"]) == []
        assert claim(session, "me", 30, []) == []
        assert session.get(Operation, later).state == "pending"


def test_retryable_errors_are_retried_with_backoff(store):
    registry = Registry()
    calls = []

    def handler(job, ctx):  # noqa: ANN001, ANN202
        calls.append(time.monotonic())
        if job.attempts < 3:
            raise Unavailable(f"backend busy (attempt {job.attempts})")
        return done({"ok": True})

    registry.register("test.op", handler)
    settings = OpsSettings(threads=1, poll_interval=0.02, backoff_base=0.2, backoff_max=1, breaker_threshold=100)
    with WorkerPool(store, registry, settings):
        op = wait_for(store, add(store), timeout=20)
    assert (op.state, op.attempts, op.result) == ("succeeded", 3, {"ok": True})
    # backoff: attempt 1 -> >= 0.1 s (half of 0.2), attempt 2 -> >= 0.2 s (half of 0.4)
    assert calls[1] - calls[0] >= 0.1 and calls[2] - calls[1] >= 0.2
    with store.session() as session:
        assert [e.result for e in events_for(session, op.id)] == ["Error", "Error", "Success"]
        assert events_for(session, op.id)[0].message == "backend busy (attempt 1)"


def test_backoff_grows_exponentially_with_jitter_and_a_cap():
    worker = Worker(None, Registry(), OpsSettings(backoff_base=1, backoff_max=10))  # type: ignore[arg-type]
    for attempt, ceiling in [(1, 1), (2, 2), (3, 4), (4, 8), (5, 10), (9, 10)]:
        delays = [worker.backoff(attempt) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 100  # jittered
    assert worker.backoff(3, retry_after=7) == 7


def test_retryable_errors_give_up_after_max_attempts(store):
    registry = Registry()
    failed = []

    def on_failure(job, session):  # noqa: ANN001, ANN202
        failed.append((job.id, job.attempts))
        session.execute(text("SELECT 1"))  # the hook writes the resource's ERROR in the same transaction

    registry.register("test.op", lambda job, ctx: (_ for _ in ()).throw(Unavailable("connection refused")),
                      on_failure=on_failure)
    with WorkerPool(store, registry, FAST):
        op = wait_for(store, add(store, max_attempts=3), timeout=20)
    assert (op.state, op.attempts, op.error_kind) == ("failed", 3, "Unavailable")
    assert op.error == "connection refused (gave up after 3 attempts)"
    assert failed == [(op.id, 3)]


@pytest.mark.parametrize("exc", [BuildFailed("no valid host was found"), NotFound("image gone")])
def test_non_retryable_driver_errors_fail_at_once(store, exc):
    registry = Registry()
    calls, failed = [], []

    def handler(job, ctx):  # noqa: ANN001, ANN202
        calls.append(job.attempts)
        raise exc

    registry.register("test.op", handler, on_failure=lambda job, session: failed.append(job.id))
    with WorkerPool(store, registry, FAST):
        op = wait_for(store, add(store), timeout=20)
    assert calls == [1]
    assert (op.state, op.error, op.error_kind) == ("failed", str(exc), type(exc).__name__)
    assert failed == [op.id]
    with store.session() as session:
        assert [(e.result, e.message) for e in events_for(session, op.id)] == [("Error", str(exc))]


def test_a_bug_in_a_handler_fails_the_operation_without_its_text(store, caplog):
    """What a handler bug says (SQL, paths, values) goes to the log, not into the operation's
    error, which users see as a server's fault."""
    registry = Registry()

    def handler(job, ctx):  # noqa: ANN001, ANN202
        return {"oops": 1}["secret-key-name"]

    registry.register("test.op", handler)
    with WorkerPool(store, registry, FAST):
        op = wait_for(store, add(store), timeout=20)
    assert (op.state, op.error_kind) == ("failed", "KeyError")
    assert op.error == "Unexpected KeyError while running test.op; the details are in the server log."
    assert "secret-key-name" in caplog.text


def test_a_failing_on_failure_hook_still_fails_the_operation(store):
    registry = Registry()

    def bad_hook(job, session):  # noqa: ANN001, ANN202
        raise RuntimeError("resource row locked")

    registry.register("test.op", lambda job, ctx: (_ for _ in ()).throw(BuildFailed("boom")), on_failure=bad_hook)
    with WorkerPool(store, registry, FAST):
        op = wait_for(store, add(store), timeout=20)
    assert op.state == "failed"
    assert op.error.startswith("boom (and marking the resource failed raised: resource row locked")


def test_poll_again_continues_without_spending_attempts(store):
    registry = Registry()
    calls = []

    def handler(job, ctx):  # noqa: ANN001, ANN202
        calls.append((job.attempts, job.polls, job.polling, dict(job.checkpoint)))
        if job.polls < 3:
            return poll_again(0.01, checkpoint={"backend_id": "b-7", "seen": job.polls})
        return done({"backend_id": job.checkpoint["backend_id"]})

    registry.register("test.op", handler)
    with WorkerPool(store, registry, FAST):
        op = wait_for(store, add(store, max_attempts=1), timeout=20)
    assert (op.state, op.attempts, op.polls, op.result) == ("succeeded", 1, 3, {"backend_id": "b-7"})
    assert calls[0] == (1, 0, False, {})
    assert calls[-1] == (1, 3, True, {"backend_id": "b-7", "seen": 2})
    with store.session() as session:  # one event for the whole attempt, polls included
        assert [e.result for e in events_for(session, op.id)] == ["Success"]


def test_poll_again_is_bounded_by_the_deadline(store):
    registry = Registry()
    registry.register("test.op", lambda job, ctx: poll_again(0.05))
    with WorkerPool(store, registry, FAST):
        op = wait_for(store, add(store, deadline_seconds=0.5), timeout=20)
    assert (op.state, op.error_kind) == ("failed", "DeadlineExceeded")
    assert op.polls >= 1 and op.attempts == 1


def test_a_hanging_handler_is_abandoned_and_retried(store):
    registry = Registry()
    release = threading.Event()

    def handler(job, ctx):  # noqa: ANN001, ANN202
        if job.attempts == 1:
            release.wait(30)  # a driver call that hangs
        return done({"attempt": job.attempts})

    registry.register("test.op", handler, timeout=0.3)
    registry.register("test.other", lambda job, ctx: done())
    try:
        with WorkerPool(store, registry, FAST, threads=1) as pool:
            op = wait_for(store, add(store), timeout=20)
            # the worker is not wedged: it goes on to other work
            assert wait_for(store, add(store, kind="test.other"), timeout=20).state == "succeeded"
            assert pool.stats()["abandoned_calls"] == 1
    finally:
        release.set()
    assert (op.state, op.attempts, op.result) == ("succeeded", 2, {"attempt": 2})
    with store.session() as session:
        events = events_for(session, op.id)
        assert [e.result for e in events] == ["Error", "Success"]
        assert events[0].message == "test.op on cloud RegionOne did not answer within 0.3s"


def test_long_calls_renew_their_lease(store):
    registry = Registry()
    registry.register("test.op", lambda job, ctx: time.sleep(1.0) or done())
    settings = OpsSettings(threads=2, poll_interval=0.02, lease_seconds=0.3, handler_timeout=10)
    runs = []
    registry2 = Registry()
    registry2.register("test.op", lambda job, ctx: runs.append(job.id) or done())
    with WorkerPool(store, registry, settings):
        op_id = add(store)
        time.sleep(0.2)
        # a second worker elsewhere finds nothing to take while the lease is renewed
        other = Worker(store, registry2, settings, name="other")
        deadline = time.monotonic() + 0.8
        while time.monotonic() < deadline:
            other.run_once()
            time.sleep(0.05)
        assert wait_for(store, op_id, timeout=10).attempts == 1
    assert runs == []


def test_an_expired_lease_is_claimed_again_and_counts_as_an_attempt(store):
    op_id = add(store, max_attempts=2)
    for n in range(2):  # two workers die holding it
        with store.session() as session:
            assert [j.id for j in claim(session, f"dead-{n}", -1, ["test.op"])] == [op_id]
        with store.session() as session:
            assert claim(session, "too-early", 30, ["test.op"]) == []  # running, lease not yet swept
            assert requeue_expired(session) == 1
    registry = Registry()
    calls = []
    registry.register("test.op", lambda job, ctx: calls.append(job.id) or done(),
                      on_failure=lambda job, session: calls.append("on_failure"))
    Worker(store, registry, FAST).run_once()
    with store.session() as session:
        op = session.get(Operation, op_id)
        assert (op.state, op.error_kind) == ("failed", "WorkerLost")
    assert calls == ["on_failure"]


def test_cancel_only_what_has_not_started(store):
    pending = add(store)
    running = add(store, resource_id="srv-2")
    with store.session() as session:
        session.execute(Operation.__table__.update().where(Operation.id == running).values(state="running"))
    with store.session() as session:
        assert cancel(session, pending) is True
        assert cancel(session, running) is False
        assert cancel(session, pending) is False
    op = wait_for(store, pending, timeout=1)
    assert op.state == "cancelled" and op.finished_at is not None


def test_wait_for_times_out_and_reports_unknown_ids(store):
    op_id = add(store)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        wait_for(store, op_id, timeout=0.3)
    assert time.monotonic() - started < 10  # gave up: it would wait forever otherwise
    with pytest.raises(LookupError):
        wait_for(store, "nope", timeout=0.1)


def test_stop_returns_promptly_when_idle(store):
    registry = Registry()
    registry.register("test.op", lambda job, ctx: done())
    pool = WorkerPool(store, registry, OpsSettings(threads=4, poll_interval=30, idle_poll_max=30)).start()
    started = time.monotonic()
    pool.stop()
    assert time.monotonic() - started < 10  # not the 30 s idle wait


def test_worker_survives_database_errors(store, monkeypatch):
    registry = Registry()
    registry.register("test.op", lambda job, ctx: done())
    worker = Worker(store, registry, OpsSettings(poll_interval=0.01))
    real = worker.run_once
    failures = iter([RuntimeError("database is locked")])

    def flaky():  # noqa: ANN202
        for exc in failures:
            raise exc
        return real()

    monkeypatch.setattr(worker, "run_once", flaky)
    op_id = add(store)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        assert wait_for(store, op_id, timeout=10).state == "succeeded"
    finally:
        worker.stop_event.set()
        worker.wake.set()
        thread.join(5)


def test_operations_for_lists_a_resources_history_in_order(store):
    first = add(store, action="create")
    second = add(store, action="reboot")
    add(store, resource_id="srv-9")
    with store.session() as session:
        session.execute(Operation.__table__.update().where(Operation.id == second).values(
            created_at=utcnow() + dt.timedelta(seconds=1)))
    with store.session() as session:
        assert [(o.id, o.action) for o in operations_for(session, "server", "srv-1")] == [
            (first, "create"), (second, "reboot")]


def test_a_worker_that_lost_its_lease_cannot_record_a_late_result(store):
    op_id = add(store)
    with store.session() as session:
        (stale,) = claim(session, "slow", -1, ["test.op"])  # a worker that stalled past its lease
    with store.session() as session:
        assert requeue_expired(session) == 1
    registry = Registry()
    registry.register("test.op", lambda job, ctx: done({"by": "second"}))
    assert Worker(store, registry, FAST, name="second").run_once()
    slow = Worker(store, registry, FAST, name="slow")
    slow._finish_done(stale, done({"by": "slow"}))  # noqa: SLF001 - what the stalled worker would do next
    assert not slow._renew(stale)  # noqa: SLF001
    op = wait_for(store, op_id, timeout=1)
    assert (op.state, op.result, op.attempts) == ("succeeded", {"by": "second"}, 2)


class _Aborted(Exception):
    """What psycopg raises for a transaction PostgreSQL aborted: its SQLSTATE on ``sqlstate``."""

    def __init__(self, sqlstate: str):
        super().__init__(f"SQLSTATE {sqlstate}")
        self.sqlstate = sqlstate


def aborted(sqlstate: str = "40P01"):  # noqa: ANN201
    from sqlalchemy.exc import OperationalError

    return OperationalError("UPDATE net_port SET status=%(status)s", {}, _Aborted(sqlstate))


def test_a_handler_whose_transaction_the_database_aborted_runs_again(store):
    """A deadlock (or serialization failure) aborts the handler's transaction; nothing of it was
    kept, so the operation is retried rather than failed; any other database error fails it."""
    registry = Registry()
    calls = collections.Counter()

    def handler(job, ctx):  # noqa: ANN001, ANN202
        calls[job.resource_id] += 1
        if job.resource_id == "deadlocked" and calls[job.resource_id] < 3:
            raise aborted("40P01" if calls[job.resource_id] == 1 else "40001")
        if job.resource_id == "broken":
            raise aborted("42P01")  # undefined table: a bug, not a transient abort
        return done()

    registry.register("test.op", handler)
    with WorkerPool(store, registry, FAST):
        retried = wait_for(store, add(store, resource_id="deadlocked"), timeout=20)
        failed = wait_for(store, add(store, resource_id="broken"), timeout=20)
    assert (retried.state, retried.attempts, calls["deadlocked"]) == ("succeeded", 3, 3)
    assert (failed.state, failed.error_kind, calls["broken"]) == ("failed", "OperationalError", 1)
