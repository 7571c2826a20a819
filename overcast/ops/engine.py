"""The durable operations engine: enqueue inside the caller's transaction, claim with a lease, run a
registered handler with a timeout, retry what is retryable, record the outcome.

The compute core uses it like this::

    registry = Registry()
    registry.register("server.build", build_server, on_failure=server_to_error,
                      event="compute__do_build_and_run_instance", timeout=120)

    with store.session() as session:          # the API's write transaction
        session.add(server)                    # the resource record ...
        enqueue(session, kind="server.build", cloud="RegionOne", resource_type="server",
                resource_id=server.id, params={...}, action="create", request_id=..., user_id=...,
                project_id=...)               # ... and its operation commit together

    def build_server(op: Job, ctx: HandlerContext) -> Outcome:
        backend_id = driver.build(..., idempotency_key=op.idempotency_key)
        ...
        return done({"backend_id": backend_id})     # or poll_again(2.0), or raise a DriverError

    pool = WorkerPool(store, registry, OpsSettings(threads=4)); pool.start(); ...; pool.stop()
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import contextvars
import dataclasses
import datetime as dt
import logging
import os
import queue
import random
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Mapping, cast

from sqlalchemy import Table, and_, delete, func, insert, select, text, update
from sqlalchemy.engine import CursorResult, Result
from sqlalchemy.orm import Session

from overcast.config import OpsSettings
from overcast.drivers.context import CallContext
from overcast.drivers.errors import DriverError
from overcast.logs import REQUEST_ID as _REQUEST_ID
from overcast.ops import crash
from overcast.ops.breaker import Breakers
from overcast.ops.calls import Backends, RateLimited
from overcast.ops.models import (CANCELLED, FAILED, PENDING, RUNNING, SUCCEEDED, TERMINAL_STATES,
                                 Operation, OperationEvent)
from overcast.store.db import Store, is_transient
from overcast.store.models import new_id, utcnow

LOG = logging.getLogger(__name__)

OP = cast(Table, Operation.__table__)
EV = cast(Table, OperationEvent.__table__)



# --------------------------------------------------------------------------------------------
# outcomes and the handler contract


@dataclass(frozen=True)
class Done:
    result: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class PollAgain:
    after_seconds: float
    #: merged into the operation's checkpoint before the next call
    checkpoint: Mapping[str, Any] | None = None


Outcome = Done | PollAgain


def done(result: Mapping[str, Any] | None = None) -> Done:
    """The operation succeeded; ``result`` (JSON) is stored on it."""
    return Done(dict(result) if result is not None else None)


def poll_again(after_seconds: float, checkpoint: Mapping[str, Any] | None = None) -> PollAgain:
    """Call the handler again after ``after_seconds`` (an asynchronous backend is still working).

    Polls count against the operation's deadline, not its retry budget.
    """
    return PollAgain(max(0.0, float(after_seconds)), dict(checkpoint) if checkpoint else None)


class OperationTimeout(DriverError):
    """The handler did not return within its timeout; the call was abandoned (retryable)."""

    retryable = True


class CloudUnavailable(DriverError):
    """The cloud's circuit breaker is open: the driver was not called."""


@dataclass(frozen=True)
class Job:
    """What a handler sees of its operation (a snapshot; the row belongs to the engine)."""

    id: str
    kind: str
    cloud: str
    resource_type: str
    resource_id: str
    action: str
    params: dict[str, Any]
    #: pass this to the driver's create call: a re-run finds what an earlier attempt made
    idempotency_key: str
    #: 1 on the first run; > 1 means an earlier run failed or its worker died
    attempts: int
    max_attempts: int
    #: how many poll_again continuations preceded this call
    polls: int
    #: True when this call continues after a poll_again
    polling: bool
    checkpoint: dict[str, Any]
    request_id: str | None
    user_id: str | None
    project_id: str | None
    created_at: dt.datetime
    deadline_at: dt.datetime | None

    def call_context(self) -> CallContext:
        """The typed context to pass to the driver for this operation."""
        return CallContext(project_id=self.project_id, user_id=self.user_id, request_id=self.request_id,
                           idempotency_key=self.idempotency_key, deadline=self.deadline_at)

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> "Job":
        values: dict[str, Any] = {f.name: (bool(row[f.name]) if f.name == "polling" else row[f.name])
                                  for f in dataclasses.fields(cls)}
        return cls(**values)


Handler = Callable[[Job, "HandlerContext"], "Outcome | None"]
FailureHook = Callable[[Job, Session], None]


@dataclass(frozen=True)
class HandlerSpec:
    kind: str
    handler: Handler
    on_failure: FailureHook | None = None
    #: seconds before the call is abandoned; None: OpsSettings.handler_timeout
    timeout: float | None = None
    #: Nova's instance-action event name recorded per run; None: the kind
    event: str | None = None
    #: what happens while the cloud's breaker is open: "fail" (fail fast, the resource goes to
    #: ERROR) or "defer" (wait for the breaker without calling the driver, until the deadline);
    #: kinds named ``*.delete`` defer unless they say otherwise
    when_open: str = "fail"
    #: the driver family the handler calls ("compute", "volume", "network", "image", "cdn"): one
    #: circuit breaker per (cloud, family), so a provider's failing volume API does not stop builds
    family: str | None = None


def is_delete(kind: str) -> bool:
    """Whether ``kind`` names a delete (``server.delete``, ``volume.delete``, ``port.delete``...)."""
    return kind.endswith(".delete")


class Registry:
    """kind -> handler. Build one per process and hand it to the workers."""

    def __init__(self) -> None:
        self._specs: dict[str, HandlerSpec] = {}

    def register(self, kind: str, handler: Handler | None = None, *, on_failure: FailureHook | None = None,
                 timeout: float | None = None, event: str | None = None, when_open: str | None = None,
                 family: str | None = None):  # noqa: ANN201
        """Register ``handler`` for ``kind``; usable as a decorator when ``handler`` is omitted.

        ``when_open`` defaults to ``"defer"`` for deletes (kinds ending in ``.delete``: the user
        wants them to happen eventually, and failing one leaves a resource in ERROR_DELETING for
        a provider's hiccup) and ``"fail"`` for everything else.
        """
        if when_open is None:
            when_open = "defer" if is_delete(kind) else "fail"
        if when_open not in ("fail", "defer"):
            raise ValueError("when_open must be 'fail' or 'defer'")

        def _add(fn: Handler) -> Handler:
            if kind in self._specs:
                raise ValueError(f"a handler for {kind!r} is already registered")
            self._specs[kind] = HandlerSpec(kind, fn, on_failure, timeout, event, when_open, family)
            return fn

        return _add(handler) if handler is not None else _add

    def get(self, kind: str) -> HandlerSpec | None:
        return self._specs.get(kind)

    @property
    def kinds(self) -> list[str]:
        return sorted(self._specs)

    def __contains__(self, kind: str) -> bool:
        return kind in self._specs


# --------------------------------------------------------------------------------------------
# in-process signals: wake idle workers on commit, wake waiters on completion

def rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE/DELETE matched (``Session.execute`` is typed as returning a plain Result)."""
    return cast(CursorResult[Any], result).rowcount


#: the PostgreSQL channel enqueue NOTIFYs and idle workers LISTEN on
NOTIFY_CHANNEL = "overcast_ops"

_wake_events: set[Any] = set()  # anything with .set(): a worker's Event, a pool's wake-up
_wake_lock = threading.Lock()
_finished = threading.Condition()


def _register_wake(event: Any) -> None:
    with _wake_lock:
        _wake_events.add(event)


def _unregister_wake(event: Any) -> None:
    with _wake_lock:
        _wake_events.discard(event)


def wake_workers() -> None:
    """Tell idle workers in this process that there is new work (called after commit)."""
    with _wake_lock:
        events = list(_wake_events)
    for event in events:
        event.set()


def _wake_after_commit(session: Session) -> None:
    wake_workers()


def _notify_finished() -> None:
    with _finished:
        _finished.notify_all()


# --------------------------------------------------------------------------------------------
# the API used inside request transactions


def enqueue(session: Session, *, kind: str, cloud: str, resource_type: str, resource_id: str,
            params: Mapping[str, Any] | None = None, action: str = "", request_id: str | None = None,
            user_id: str | None = None, project_id: str | None = None, max_attempts: int | None = None,
            idempotency_key: str | None = None, delay_seconds: float = 0.0,
            deadline_seconds: float | None = None, secret_params: Iterable[str] = ()) -> Operation:
    """Record an operation in the caller's transaction; it commits (or not) with the caller's rows.

    Workers in this process are woken when the transaction commits; on PostgreSQL the transaction
    also NOTIFYs ``overcast_ops``, which wakes idle workers of other processes. ``idempotency_key``
    defaults to the operation id. ``max_attempts`` left unset stores 0: the worker applies the
    cloud's configured budget (``[clouds.NAME.ops] attempts``, else ``[ops] max_attempts``) when it
    claims the operation. ``secret_params`` name params that must not outlive their use (an admin
    password): they are removed when the operation finishes, whatever its outcome. Returns the
    pending :class:`Operation` (its id is set already).
    """
    now = utcnow()
    op_id = new_id()
    params = dict(params or {})
    secret = sorted(set(secret_params) & params.keys())
    if secret:
        params[SECRET_KEY] = secret
    op = Operation(
        id=op_id, kind=kind, cloud=cloud, resource_type=resource_type, resource_id=resource_id,
        action=action, params=params, idempotency_key=idempotency_key or op_id, state=PENDING,
        attempts=0, max_attempts=max_attempts or 0, polls=0, polling=0,
        next_attempt_at=now + dt.timedelta(seconds=delay_seconds),
        deadline_at=(now + dt.timedelta(seconds=deadline_seconds)) if deadline_seconds is not None else None,
        checkpoint={}, request_id=request_id, user_id=user_id, project_id=project_id, created_at=now,
        updated_at=now)
    session.add(op)  # flushed with the caller's rows (autoflush makes it visible to their queries)
    if not session.info.get("_ops_wake"):
        session.info["_ops_wake"] = True
        from sqlalchemy import event as sa_event

        sa_event.listen(session, "after_commit", _wake_after_commit, once=True)

        def _reset(sess: Session, *_: Any) -> None:
            sess.info.pop("_ops_wake", None)

        sa_event.listen(session, "after_commit", _reset, once=True)
        sa_event.listen(session, "after_rollback", _reset, once=True)
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text(f"NOTIFY {NOTIFY_CHANNEL}"))  # delivered at commit, deduplicated per transaction
    return op


#: where an operation's params list the names of its secret params (see :func:`enqueue`)
SECRET_KEY = "_secret"


def without_secrets(params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """``params`` less the secret ones (None when there were none, so nothing needs writing)."""
    if not params or SECRET_KEY not in params:
        return None
    secret = set(params[SECRET_KEY]) | {SECRET_KEY}
    return {k: v for k, v in params.items() if k not in secret}


def cancel(session: Session, operation_id: str) -> bool:
    """Cancel an operation no worker has started yet (or one waiting between retries).

    Returns False when it is running, polling or finished; those cannot be cancelled safely.
    """
    now = utcnow()
    values: dict[str, Any] = dict(state=CANCELLED, finished_at=now, updated_at=now, lease_owner=None,
                                  lease_expires_at=None)
    scrubbed = without_secrets(session.execute(select(OP.c.params).where(OP.c.id == operation_id)).scalar())
    if scrubbed is not None:
        values["params"] = scrubbed
    res = session.execute(update(OP).where(OP.c.id == operation_id, OP.c.state == PENDING, OP.c.polling == 0)
                          .values(**values))
    return rowcount(res) == 1


def _scrubbed(job: "Job") -> dict[str, Any]:
    """The ``params`` value of a finishing operation, when it had secret params to drop."""
    scrubbed = without_secrets(job.params)
    return {} if scrubbed is None else {"params": scrubbed}


def operations_for(session: Session, resource_type: str, resource_id: str) -> list[Operation]:
    """A resource's operations, oldest first (what ``os-instance-actions`` lists)."""
    return list(session.scalars(select(Operation).where(
        Operation.resource_type == resource_type, Operation.resource_id == resource_id)
        .order_by(Operation.created_at, Operation.id)))


def events_for(session: Session, operation_id: str) -> list[OperationEvent]:
    return list(session.scalars(select(OperationEvent).where(OperationEvent.operation_id == operation_id)
                                .order_by(OperationEvent.start_time, OperationEvent.id)))


def wait_for(store: Store, operation_id: str, timeout: float = 30.0, poll: float = 0.1) -> Operation:
    """Block until the operation is finished; return it. Woken at once by workers in this process,
    otherwise re-reads the store every ``poll`` seconds.

    :raises TimeoutError: not finished within ``timeout``.
    :raises LookupError: no such operation.
    """
    deadline = time.monotonic() + timeout
    while True:
        with store.session() as session:
            op = session.get(Operation, operation_id, populate_existing=True)  # a request's session may hold it
            if op is None:
                raise LookupError(f"no operation {operation_id}")
            if op.state in TERMINAL_STATES:
                session.expunge(op)
                return op
            state = op.state
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"operation {operation_id} still {state} after {timeout}s")
        with _finished:
            _finished.wait(min(poll, remaining))


# --------------------------------------------------------------------------------------------
# claiming


def claim(session: Session, owner: str, lease_seconds: float, kinds: list[str] | None = None,
          limit: int = 1) -> list[Job]:
    """Atomically take up to ``limit`` due pending operations for ``owner``; many processes may race.

    PostgreSQL: ``WITH due AS MATERIALIZED (SELECT id ... FOR UPDATE SKIP LOCKED) UPDATE ... FROM due``.
    SQLite: ``UPDATE ... WHERE id IN (SELECT id ... LIMIT n)``; SQLite runs one writer at a time
    and a statement that writes takes the write lock before it reads, so two claimers never see
    the same row as due. Either way the lease is set by the statement that picks the row, and the
    pick is an ordered range scan of the ``(state, next_attempt_at)`` index.
    """
    now = utcnow()
    expires = now + dt.timedelta(seconds=lease_seconds)
    due = select(OP.c.id).where(OP.c.state == PENDING, OP.c.next_attempt_at <= now)
    if kinds is not None:
        if not kinds:
            return []
        due = due.where(OP.c.kind.in_(kinds))
    due = due.order_by(OP.c.next_attempt_at).limit(limit)
    values = dict(
        state=RUNNING, lease_owner=owner, lease_expires_at=expires, next_attempt_at=expires, updated_at=now,
        attempts=OP.c.attempts + (1 - OP.c.polling), started_at=func.coalesce(OP.c.started_at, now))
    if session.get_bind().dialect.name == "postgresql":
        due_cte = due.with_for_update(skip_locked=True).cte("due").prefix_with("MATERIALIZED")
        stmt = update(OP).where(OP.c.id == due_cte.c.id)
    else:
        stmt = update(OP).where(OP.c.id.in_(due.scalar_subquery()))
    rows = session.execute(stmt.values(**values).returning(*OP.c)).mappings().all()
    return [Job.from_row(row) for row in rows]


def next_due(session: Session, kinds: list[str] | None = None) -> tuple[dt.datetime | None, dt.datetime | None]:
    """``(earliest next_attempt_at of a pending operation of these kinds, earliest lease expiry of a
    running one)``: when an idle process next has something to do. One statement, two ordered
    index lookups on ``(state, next_attempt_at)``."""
    pending = select(OP.c.next_attempt_at).where(OP.c.state == PENDING)
    if kinds is not None:
        pending = pending.where(OP.c.kind.in_(kinds) if kinds else OP.c.id.is_(None))
    first_pending = pending.order_by(OP.c.next_attempt_at).limit(1).scalar_subquery()
    first_running = (select(OP.c.next_attempt_at).where(OP.c.state == RUNNING).order_by(OP.c.next_attempt_at)
                     .limit(1).scalar_subquery())
    row = session.execute(select(first_pending, first_running)).one()
    return row[0], row[1]


def requeue_expired(session: Session) -> int:
    """Put operations whose worker's lease ran out back to pending (their worker died or hung).

    While running, ``next_attempt_at`` mirrors the lease expiry, so this is an index range scan.
    A late result from the old worker is then refused: every write it makes is fenced on
    ``lease_owner`` and ``state = running``.
    """
    now = utcnow()
    return rowcount(session.execute(update(OP).where(OP.c.state == RUNNING, OP.c.next_attempt_at <= now).values(
        state=PENDING, lease_owner=None, lease_expires_at=None, updated_at=now)))


# --------------------------------------------------------------------------------------------
# running


class _CallThread:
    """A daemon thread that runs one call at a time. A call that hangs past its timeout is
    abandoned with its thread (a new one takes over); daemon, so it never blocks process exit,
    which concurrent.futures' pools would."""

    def __init__(self, name: str):
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            fn, future = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn())
            except BaseException as exc:  # noqa: BLE001 - handed to the worker
                future.set_exception(exc)

    def submit(self, fn: Callable[[], Any]) -> concurrent.futures.Future:
        future: concurrent.futures.Future = concurrent.futures.Future()
        self._queue.put((fn, future))
        return future

    def close(self) -> None:
        self._queue.put(None)


class LeaseLost(Exception):
    """Another worker owns the operation now (ours expired); our result is discarded."""


class HandlerContext:
    """What a handler may use besides its :class:`Job`."""

    def __init__(self, store: Store, worker: "Worker", job: Job, deadline: dt.datetime):
        self.store = store
        self.worker_name = worker.name
        self.settings = worker.settings
        self.deadline = deadline
        #: set when the engine abandons this call (timeout, lost lease, shutdown): stop early
        self.abandoned = threading.Event()
        self._job = job
        self._owner = worker.name

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction on the store (commits on success)."""
        with self.store.session() as session:
            yield session

    def save_checkpoint(self, data: Mapping[str, Any], session: Session | None = None) -> None:
        """Merge ``data`` into the operation's checkpoint now, so a re-run after a crash sees it;
        with ``session`` (one of :meth:`session`), in that transaction: saved when it commits.

        :raises LeaseLost: the operation is no longer ours.
        """
        if session is None:
            with self.store.session() as own:
                self.save_checkpoint(data, own)
            return
        row = session.execute(select(OP.c.checkpoint).where(
            OP.c.id == self._job.id, OP.c.lease_owner == self._owner, OP.c.state == RUNNING)).first()
        if row is None:
            raise LeaseLost(self._job.id)
        merged = {**(row.checkpoint or {}), **dict(data)}
        session.execute(update(OP).where(OP.c.id == self._job.id, OP.c.lease_owner == self._owner)
                        .values(checkpoint=merged, updated_at=utcnow()))


def _one_line(exc: BaseException, limit: int = 1000) -> str:
    text = str(exc).strip() or type(exc).__name__
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Heartbeat:
    """Renews the leases of the operations a process's workers are running: one ``UPDATE`` per
    beat for all of them, every ``lease_seconds / 4``, from its own thread in a pool (so a handler
    that holds its worker, or a slow record, never lets a lease lapse). A lease that could not be
    renewed (another worker took the operation over) sets that operation's ``lost`` event."""

    def __init__(self, store: Store, lease_seconds: float):
        self.store = store
        self.lease_seconds = lease_seconds
        self.interval = max(0.02, lease_seconds / 4)
        #: True when a thread beats; a standalone Worker beats from its own wait loop instead
        self.threaded = False
        self.beats = 0
        self._lock = threading.Lock()
        self._jobs: dict[str, tuple[str, threading.Event]] = {}

    def track(self, job_id: str, owner: str) -> threading.Event:
        lost = threading.Event()
        with self._lock:
            self._jobs[job_id] = (owner, lost)
        return lost

    def untrack(self, job_id: str) -> None:
        with self._lock:
            self._jobs.pop(job_id, None)

    def beat(self) -> None:
        with self._lock:
            jobs = dict(self._jobs)
        if not jobs:
            return
        now = utcnow()
        expires = now + dt.timedelta(seconds=self.lease_seconds)
        with self.store.session() as session:
            rows = session.execute(update(OP).where(
                OP.c.id.in_(list(jobs)), OP.c.state == RUNNING,
                OP.c.lease_owner.in_(sorted({owner for owner, _ in jobs.values()}))).values(
                lease_expires_at=expires, next_attempt_at=expires, updated_at=now)
                .returning(OP.c.id, OP.c.lease_owner)).all()
        self.beats += 1
        renewed = {(row.id, row.lease_owner) for row in rows}
        with self._lock:
            for job_id, (owner, lost) in jobs.items():
                if (job_id, owner) not in renewed and self._jobs.get(job_id, (None, None))[1] is lost:
                    lost.set()

    def run(self, stop: threading.Event) -> None:
        while not stop.wait(self.interval):
            try:
                self.beat()
            except Exception:  # noqa: BLE001 - a database hiccup; the next beat tries again
                LOG.warning("lease heartbeat failed; retrying in %.1fs", self.interval, exc_info=True)


class Wakeup:
    """How idle workers of a pool wait: each :meth:`set` lets one of them go and claim (permits
    are kept, up to the number of threads, so a wake-up that arrives while every worker is busy
    is not lost)."""

    def __init__(self, cap: int):
        self.cap = max(1, cap)
        self.idle = 0
        self._permits = 0
        self._closed = False
        self._cond = threading.Condition()

    def set(self) -> None:
        with self._cond:
            self._permits = min(self.cap, self._permits + 1)
            self._cond.notify()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def wait(self, timeout: float) -> bool:
        """Wait for a permit; True if one was taken (go and claim), False on timeout or close."""
        with self._cond:
            self.idle += 1
            try:
                self._cond.wait_for(lambda: self._permits > 0 or self._closed, timeout)
                if self._permits > 0 and not self._closed:
                    self._permits -= 1
                    return True
                return False
            finally:
                self.idle -= 1


class Worker:
    """Claims and runs operations one at a time. ``run()`` loops until ``stop_event`` is set;
    ``run_once()`` does one claim (tests and benchmarks drive it directly).

    In a :class:`WorkerPool` an idle worker sleeps until the pool wakes it (an enqueue in this
    process, a PostgreSQL NOTIFY, a due time the pool's ticker knows of) and leases are renewed by
    the pool's heartbeat thread. On its own it polls every ``poll_interval`` and renews its
    lease from its wait loop.
    """

    def __init__(self, store: Store, registry: Registry, settings: OpsSettings | None = None, *,
                 breakers: Breakers | None = None, backends: Backends | None = None, name: str | None = None,
                 wake: threading.Event | None = None, stop_event: threading.Event | None = None,
                 pool: "WorkerPool | None" = None):
        self.store = store
        self.registry = registry
        self.settings = settings or OpsSettings()
        self.backends = backends or Backends(self.settings, breakers=breakers)
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{new_id()[:8]}"
        self.wake = wake or threading.Event()
        self.stop_event = stop_event or threading.Event()
        self.pool = pool
        self.heartbeat = pool.heartbeat if pool is not None else Heartbeat(store, self.settings.lease_seconds)
        self._caller: _CallThread | None = None
        self.abandoned_calls = 0
        self.claims = 0
        self.busy = False
        self._next_sweep = 0.0
        self._incarnation = 0

    @property
    def breakers(self) -> Breakers:
        return self.backends.breakers

    # -- loop ---------------------------------------------------------------------------------

    def run(self) -> None:
        if self.pool is None:
            _register_wake(self.wake)
        try:
            while not self.stop_event.is_set():
                try:
                    ran = self.run_once()
                except crash.SimulatedCrash as exc:
                    self._reincarnate(exc)
                    continue
                except Exception:  # noqa: BLE001 - a database hiccup must not kill the worker
                    LOG.exception("worker %s: claim/run failed; retrying after the poll interval", self.name)
                    ran = False
                if not ran and not self.stop_event.is_set():
                    self._idle()
        finally:
            if self.pool is None:
                _unregister_wake(self.wake)
            if self._caller is not None:
                self._caller.close()

    def _idle(self) -> None:
        if self.pool is not None:
            while not self.stop_event.is_set():
                if self.pool.wakeup.wait(1.0):
                    return
            return
        # capped so a stop() racing with another worker's clear() is seen within 1 s
        self.wake.wait(min(self.settings.poll_interval, 1.0))
        if not self.stop_event.is_set():
            self.wake.clear()

    def _reincarnate(self, exc: BaseException) -> None:
        """After a simulated crash: forget the operation (its lease expires, someone resumes it)
        and go on as a new worker, as a restarted process would."""
        self._incarnation += 1
        base = self.name.split("~", 1)[0]
        self.name = f"{base}~{self._incarnation}"
        if self._caller is not None:
            self._caller.close()  # the crashed call has returned: its thread ends; a fresh one takes over
        self._caller = None
        LOG.warning("worker died (simulated: %s); continuing as %s", exc, self.name)

    def run_once(self) -> bool:
        """Claim one due operation and run it. False when nothing was due."""
        kinds = self.registry.kinds
        if self.pool is None and time.monotonic() >= self._next_sweep:
            self._next_sweep = time.monotonic() + min(5.0, max(0.05, self.settings.lease_seconds / 2))
            with self.store.session() as session:
                if requeue_expired(session):
                    LOG.info("requeued operations whose worker stopped renewing its lease")
        self.claims += 1
        with self.store.session() as session:
            jobs = claim(session, self.name, self.settings.lease_seconds, kinds)
            if not jobs:
                if self.pool is not None:
                    self.pool.nudge()
                return False
            job = jobs[0]
            if not job.max_attempts:
                job = dataclasses.replace(job, max_attempts=self.backends.limits(job.cloud).attempts)
            spec = self.registry.get(job.kind)
            assert spec is not None
            verdict = self._precheck(session, job, spec)
            if verdict is None:
                self._open_event(session, job, spec)
        if self.pool is not None:
            self.pool.claimed = True
            self.pool.wakeup.set()  # there may be more: let another idle worker look
        if verdict is not None:
            _notify_finished()
            return True
        self.busy = True
        token = _REQUEST_ID.set(job.request_id or "-")
        lost = self.heartbeat.track(job.id, self.name)
        try:
            self._run(job, spec, lost)
        finally:
            self.heartbeat.untrack(job.id)
            _REQUEST_ID.reset(token)
            self.busy = False
        return True

    # -- before the call ------------------------------------------------------------------------

    def deadline_of(self, job: Job) -> dt.datetime:
        return job.deadline_at or job.created_at + dt.timedelta(seconds=self.settings.deadline_seconds)

    def _precheck(self, session: Session, job: Job, spec: HandlerSpec) -> str | None:
        """Decide in the claim transaction whether to call the handler. Returns None to call it."""
        now = utcnow()
        if job.attempts > job.max_attempts:
            self._fail(session, job, spec, "WorkerLost",
                       f"gave up after {job.max_attempts} attempts: the last worker running it stopped "
                       f"before finishing (lease expired)")
            return "failed"
        deadline = self.deadline_of(job)
        if job.polling and now >= deadline:
            self._fail(session, job, spec, "DeadlineExceeded",
                       f"{job.kind} did not finish before its deadline ({deadline.isoformat()}Z)")
            return "failed"
        breaker = self.breakers(job.cloud, spec.family)
        if breaker.allow():
            return None
        wait = breaker.retry_in()
        message = (f"cloud {job.cloud} is unavailable: {breaker.threshold} consecutive failures; "
                   f"the circuit breaker retries it in {wait:.0f}s")
        if (job.polling or spec.when_open == "defer") and now + dt.timedelta(seconds=wait) < deadline:
            # Not a run: give the attempt back and come back when the breaker half-opens.
            at = now + dt.timedelta(seconds=max(wait, self.settings.poll_interval))
            session.execute(update(OP).where(OP.c.id == job.id, OP.c.lease_owner == self.name).values(
                state=PENDING, lease_owner=None, lease_expires_at=None, next_attempt_at=at, updated_at=now,
                attempts=OP.c.attempts - (1 - OP.c.polling), error=message, error_kind="CloudUnavailable"))
            return "deferred"
        self._fail(session, job, spec, "CloudUnavailable", message)
        return "failed"

    def _open_event(self, session: Session, job: Job, spec: HandlerSpec) -> None:
        if job.polling:
            return  # a continuation: the event opened by this attempt stays open
        now = utcnow()
        if job.attempts > 1:  # an earlier attempt whose worker died left its event open
            session.execute(update(EV).where(EV.c.operation_id == job.id, EV.c.finish_time.is_(None)).values(
                finish_time=now, result="Error", message="the worker running this attempt stopped (lease expired)"))
        session.execute(insert(EV).values(operation_id=job.id, event=spec.event or job.kind, start_time=now,
                                          host=self.name))

    # -- the call -----------------------------------------------------------------------------------

    def _caller_thread(self) -> _CallThread:
        if self._caller is None:
            self._caller = _CallThread(f"{self.name}-call")
        return self._caller

    def timeout_of(self, job: Job, spec: HandlerSpec) -> float:
        """The cloud's ``timeout``, else the kind's, else ``[ops] handler_timeout``."""
        cloud = self.backends.limits(job.cloud).timeout
        if cloud is not None:
            return cloud
        return spec.timeout if spec.timeout is not None else self.settings.handler_timeout

    def _run(self, job: Job, spec: HandlerSpec, lost: threading.Event) -> None:
        ctx = HandlerContext(self.store, self, job, self.deadline_of(job))
        timeout = self.timeout_of(job, spec)
        context = contextvars.copy_context()
        future = self._caller_thread().submit(lambda: context.run(crash.run_handler, job.kind, spec.handler, job, ctx))
        started = time.monotonic()
        beat_every = self.heartbeat.interval
        breaker = self.breakers(job.cloud, spec.family)
        while True:
            remaining = timeout - (time.monotonic() - started)
            concurrent.futures.wait([future], timeout=max(0.0, min(beat_every, remaining)))
            if future.done():
                break
            if time.monotonic() - started >= timeout:
                self._abandon(ctx)
                breaker.record_failure()
                self._finish_error(job, spec, OperationTimeout(
                    f"{job.kind} on cloud {job.cloud} did not answer within {timeout:g}s"), retryable=True)
                return
            if not self.heartbeat.threaded:
                self.heartbeat.beat()
            if lost.is_set():
                self._abandon(ctx)
                LOG.warning("operation %s: lease lost while running; another worker has it", job.id)
                breaker.release()
                return
        exc = future.exception()
        if exc is None:
            outcome = future.result()
        elif isinstance(exc, crash.SimulatedCrash):
            breaker.release()
            raise exc
        elif isinstance(exc, LeaseLost):
            LOG.warning("operation %s: lease lost while running; result discarded", job.id)
            breaker.release()
            return
        elif isinstance(exc, RateLimited):
            breaker.release()
            self._reschedule(job, exc)
            return
        elif isinstance(exc, DriverError):
            if exc.retryable:
                breaker.record_failure(getattr(exc, "retry_after", None))
            else:
                breaker.record_success()
            self._finish_error(job, spec, exc, retryable=exc.retryable)
            return
        elif is_transient(exc):
            # the database aborted the handler's transaction (a deadlock with a request on
            # PostgreSQL): nothing of it was kept, the next attempt runs it again
            breaker.release()
            self._finish_error(job, spec, exc, retryable=True, kind="DBDeadlock",
                               message="the database aborted the transaction (deadlock); retried")
            return
        else:
            # a bug in a handler fails its operation only; its text (SQL, paths) stays in the log
            LOG.error("operation %s (%s): handler raised", job.id, job.kind, exc_info=exc)
            breaker.release()
            self._finish_error(job, spec, exc, retryable=False, message=(
                f"Unexpected {type(exc).__name__} while running {job.kind}; the details are in the server log."))
            return
        breaker.record_success()
        if outcome is None:
            outcome = Done()
        if isinstance(outcome, PollAgain):
            self._finish_poll(job, spec, outcome)
        elif isinstance(outcome, Done):
            self._finish_done(job, outcome)
        else:
            self._finish_error(job, spec, TypeError(f"handler returned {type(outcome).__name__}, "
                                                    f"not done() or poll_again()"), retryable=False)

    def _abandon(self, ctx: HandlerContext) -> None:
        ctx.abandoned.set()
        if self._caller is not None:
            self._caller.close()  # its thread exits when (if) the hung call returns
        self._caller = None
        self.abandoned_calls += 1

    def _renew(self, job: Job) -> bool:
        now = utcnow()
        expires = now + dt.timedelta(seconds=self.settings.lease_seconds)
        with self.store.session() as session:
            res = session.execute(update(OP).where(
                OP.c.id == job.id, OP.c.lease_owner == self.name, OP.c.state == RUNNING).values(
                lease_expires_at=expires, next_attempt_at=expires, updated_at=now))
            return rowcount(res) == 1

    # -- recording the outcome ----------------------------------------------------------------------

    def _mine(self, job: Job) -> Any:
        return and_(OP.c.id == job.id, OP.c.lease_owner == self.name, OP.c.state == RUNNING)

    def _finish_done(self, job: Job, outcome: Done) -> None:
        now = utcnow()
        with self.store.session() as session:
            res = session.execute(update(OP).where(self._mine(job)).values(
                state=SUCCEEDED, result=dict(outcome.result) if outcome.result is not None else None,
                error=None, error_kind=None, lease_owner=None, lease_expires_at=None, polling=0,
                finished_at=now, updated_at=now, **_scrubbed(job)))
            if rowcount(res) != 1:
                LOG.warning("operation %s: lease lost before recording success", job.id)
                return
            self._close_event(session, job, "Success", None, now)
        _notify_finished()

    def _finish_poll(self, job: Job, spec: HandlerSpec, outcome: PollAgain) -> None:
        now = utcnow()
        at = now + dt.timedelta(seconds=outcome.after_seconds)
        deadline = self.deadline_of(job)
        if at >= deadline:
            self._finish_error(job, spec, DriverError(
                f"{job.kind} did not finish before its deadline ({deadline.isoformat()}Z)"),
                retryable=False, kind="DeadlineExceeded")
            return
        values: dict[str, Any] = dict(state=PENDING, lease_owner=None, lease_expires_at=None, next_attempt_at=at,
                                      polls=OP.c.polls + 1, polling=1, updated_at=now)
        if outcome.checkpoint:
            values["checkpoint"] = {**job.checkpoint, **outcome.checkpoint}
        with self.store.session() as session:
            if outcome.checkpoint:  # a save_checkpoint() during the call is newer than job.checkpoint
                row = session.execute(select(OP.c.checkpoint).where(self._mine(job))).first()
                if row is not None:
                    values["checkpoint"] = {**(row.checkpoint or {}), **outcome.checkpoint}
            res = session.execute(update(OP).where(self._mine(job)).values(**values))
            if rowcount(res) != 1:
                LOG.warning("operation %s: lease lost before recording poll_again", job.id)
        self._due_at(outcome.after_seconds)

    def _due_at(self, seconds: float) -> None:
        """This process just made an operation due in ``seconds``: tell whoever waits for it."""
        if self.pool is not None:
            self.pool.nudge()
        elif seconds <= self.settings.poll_interval:
            self.wake.set()

    def _reschedule(self, job: Job, exc: RateLimited) -> None:
        """The cloud's rate limit had no token in time: back to pending, attempt given back."""
        now = utcnow()
        delay = max(self.settings.poll_interval, float(exc.retry_after or 0.0))
        message = _one_line(exc)
        with self.store.session() as session:
            res = session.execute(update(OP).where(self._mine(job)).values(
                state=PENDING, lease_owner=None, lease_expires_at=None, polling=0,
                attempts=OP.c.attempts - (1 - OP.c.polling),
                next_attempt_at=now + dt.timedelta(seconds=delay), error=message, error_kind="RateLimited",
                updated_at=now))
            if rowcount(res) == 1 and not job.polling:
                self._close_event(session, job, "Error", message, now)
        LOG.info("operation %s (%s): %s; again in %.2fs", job.id, job.kind, message, delay)
        self._due_at(delay)

    def _finish_error(self, job: Job, spec: HandlerSpec, exc: BaseException, *, retryable: bool,
                      kind: str | None = None, message: str | None = None) -> None:
        if message is None:
            message = _one_line(exc)
            if not isinstance(exc, DriverError):
                message = f"{type(exc).__name__}: {message}"
        error_kind = kind or type(exc).__name__
        now = utcnow()
        if retryable and job.attempts < job.max_attempts:
            delay = self.backoff(job.attempts, getattr(exc, "retry_after", None))
            with self.store.session() as session:
                res = session.execute(update(OP).where(self._mine(job)).values(
                    state=PENDING, lease_owner=None, lease_expires_at=None, polling=0,
                    next_attempt_at=now + dt.timedelta(seconds=delay), error=message, error_kind=error_kind,
                    updated_at=now))
                if rowcount(res) == 1:
                    self._close_event(session, job, "Error", message, now)
            LOG.info("operation %s (%s) attempt %d/%d: %s: %s; retrying in %.2fs", job.id, job.kind,
                     job.attempts, job.max_attempts, error_kind, message, delay)
            self._due_at(delay)
            return
        if retryable:
            message = f"{message} (gave up after {job.attempts} attempts)"
        LOG.info("operation %s (%s) failed: %s: %s", job.id, job.kind, error_kind, message)
        try:
            with self.store.session() as session:
                self._fail(session, job, spec, error_kind, message)
        except Exception as hook_exc:  # noqa: BLE001 - the hook failed; record the failure without it
            LOG.exception("operation %s: on_failure hook failed", job.id)
            with self.store.session() as session:
                self._fail(session, job, None, error_kind,
                           f"{message} (and marking the resource failed raised: {_one_line(hook_exc, 200)})")
        _notify_finished()

    def _fail(self, session: Session, job: Job, spec: HandlerSpec | None, error_kind: str, message: str) -> None:
        """Mark the operation failed and run the handler's on_failure hook in the same transaction."""
        now = utcnow()
        res = session.execute(update(OP).where(self._mine(job)).values(
            state=FAILED, error=message, error_kind=error_kind, lease_owner=None, lease_expires_at=None,
            finished_at=now, updated_at=now, **_scrubbed(job)))
        if rowcount(res) != 1:
            LOG.warning("operation %s: lease lost before recording failure", job.id)
            return
        self._close_event(session, job, "Error", message, now)
        if spec is not None and spec.on_failure is not None:
            spec.on_failure(job, session)

    def _close_event(self, session: Session, job: Job, result: str, message: str | None, now: dt.datetime) -> None:
        session.execute(update(EV).where(EV.c.operation_id == job.id, EV.c.finish_time.is_(None)).values(
            finish_time=now, result=result, message=message))

    def backoff(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds before retry number ``attempt`` + 1: exponential, capped, half of it jittered."""
        if retry_after is not None:
            return max(0.0, float(retry_after))
        ceiling = min(self.settings.backoff_max, self.settings.backoff_base * (2 ** max(0, attempt - 1)))
        return ceiling / 2 + random.uniform(0, ceiling / 2)


# --------------------------------------------------------------------------------------------
# the pool the app (and `overcast worker`) runs


class WorkerPool:
    """N worker threads in this process, plus three helpers: a heartbeat (renews the leases of
    what the workers run), a ticker (wakes an idle worker when an operation it knows of falls due,
    hands back expired leases, and polls slowly in case a wake-up was missed) and, on PostgreSQL,
    a listener (LISTEN ``overcast_ops``: an enqueue in any process wakes an idle worker at once).
    ``start()`` / ``stop()`` from the app's lifecycle."""

    def __init__(self, store: Store, registry: Registry, settings: OpsSettings | None = None, *,
                 threads: int | None = None, breakers: Breakers | None = None, backends: Backends | None = None,
                 name: str | None = None):
        self.store = store
        self.registry = registry
        self.settings = settings or OpsSettings()
        self.threads = threads if threads is not None else self.settings.threads
        self.backends = backends or Backends(self.settings, breakers=breakers)
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.heartbeat = Heartbeat(store, self.settings.lease_seconds)
        self.wakeup = Wakeup(self.threads)
        self.ticks = 0
        #: set by a worker that claimed something (the ticker's last wake-up was not in vain)
        self.claimed = False
        self.notifications = 0
        self.listening = False
        self._nudge = threading.Event()
        self._stop = threading.Event()
        self.workers: list[Worker] = []
        self._threads: list[threading.Thread] = []

    @property
    def breakers(self) -> Breakers:
        return self.backends.breakers

    @property
    def wake(self) -> "WorkerPool":
        """Compatibility: ``pool.wake.set()`` wakes an idle worker."""
        return self

    def set(self) -> None:
        """Wake one idle worker (enqueue's commit hook and the NOTIFY listener call this)."""
        self.wakeup.set()

    def nudge(self) -> None:
        """Ask the ticker to look at due times again now (a worker found nothing, or scheduled work)."""
        self._nudge.set()

    def start(self) -> "WorkerPool":
        if self._threads:
            return self
        self._stop.clear()
        self.wakeup = Wakeup(self.threads)
        if self.settings.crash_after_driver_call:
            crash.arm(self.settings.crash_after_driver_call)
        for n in range(self.threads):
            worker = Worker(self.store, self.registry, self.settings, backends=self.backends,
                            name=f"{self.name}:w{n}", stop_event=self._stop, pool=self)
            self.workers.append(worker)
            self._spawn(worker.run, f"ops-worker-{n}")
        if self.threads:
            self.heartbeat.threaded = True
            self._spawn(lambda: self.heartbeat.run(self._stop), "ops-heartbeat")
            self._spawn(self._tick_loop, "ops-ticker")
            if self.settings.notify and self.store.engine.dialect.name == "postgresql":
                self._spawn(self._listen_loop, "ops-listener")
            _register_wake(self)
        LOG.info("operations: %d worker thread(s) started for %s", self.threads, ", ".join(self.registry.kinds))
        return self

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def stop(self, grace: float | None = None) -> None:
        """Stop claiming; wait up to ``grace`` seconds for calls in flight (their leases expire
        otherwise and another worker resumes them)."""
        _unregister_wake(self)
        self._stop.set()
        self.wakeup.close()
        self._nudge.set()
        deadline = time.monotonic() + (self.settings.stop_grace if grace is None else grace)
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads.clear()
        self.workers.clear()
        self.heartbeat.threaded = False

    # -- the ticker: due times, expired leases, the slow poll ----------------------------------

    def _tick_loop(self) -> None:
        kinds = self.registry.kinds
        delay = self.settings.poll_interval
        woke_before = False
        ceiling = max(self.settings.poll_interval, self.settings.idle_poll_max)
        while not self._stop.is_set():
            self._nudge.clear()
            woke = False
            pending_at = running_at = None
            now = utcnow()
            try:
                with self.store.session() as session:
                    pending_at, running_at = next_due(session, kinds)
                self.ticks += 1
                now = utcnow()
                if running_at is not None and running_at <= now:
                    with self.store.session() as session:
                        if requeue_expired(session):
                            LOG.info("requeued operations whose worker stopped renewing its lease")
                            pending_at = now
                    running_at = None
                # wake an idle worker for due work, unless the last one woken found nothing to claim
                # (rows another process is claiming right now): then back off like an idle poll
                if pending_at is not None and pending_at <= now and self.wakeup.idle and (
                        not woke_before or self.claimed):
                    self.claimed = False
                    self.wakeup.set()
                    woke = True
            except Exception:  # noqa: BLE001 - keep ticking across database hiccups
                LOG.warning("operations ticker: could not read due times", exc_info=True)
            delay = self.settings.poll_interval if woke else min(ceiling, delay * 2)
            sleep = delay
            for at in (pending_at, running_at):
                if at is not None and at > now:
                    sleep = min(sleep, (at - now).total_seconds() + 0.001)
            woke_before = woke
            if woke:  # give the woken worker time to claim before looking again
                self._stop.wait(min(self.settings.poll_interval, 0.05))
                continue
            self._nudge.wait(max(0.001, sleep))

    # -- LISTEN on PostgreSQL ----------------------------------------------------------------------

    def _listen_loop(self) -> None:
        import psycopg

        url = self.store.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        backoff = 0.5
        while not self._stop.is_set():
            try:
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    self.listening = True
                    backoff = 0.5
                    self.wakeup.set()  # anything enqueued while we were not listening
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=1.0):
                            self.notifications += 1
                            self.wakeup.set()
                            if self._stop.is_set():
                                break
            except Exception as exc:  # noqa: BLE001 - reconnect; the ticker's slow poll covers the gap
                LOG.warning("operations: LISTEN %s failed (%s); retrying in %.1fs", NOTIFY_CHANNEL,
                            type(exc).__name__, backoff)
                self._stop.wait(backoff)
                backoff = min(30.0, backoff * 2)
            finally:
                self.listening = False

    def wait_for(self, operation_id: str, timeout: float = 30.0) -> Operation:
        return wait_for(self.store, operation_id, timeout)

    def stats(self) -> dict[str, Any]:
        return {"threads": self.threads, "busy": sum(w.busy for w in self.workers),
                "abandoned_calls": sum(w.abandoned_calls for w in self.workers),
                "claims": sum(w.claims for w in self.workers), "ticks": self.ticks,
                "notifications": self.notifications, "listening": self.listening,
                "breakers": self.breakers.states()}

    def __enter__(self) -> "WorkerPool":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def purge_finished(session: Session, older_than: dt.timedelta) -> int:
    """Delete finished operations (and their events) older than ``older_than``; returns how many."""
    cutoff = utcnow() - older_than
    ids = select(OP.c.id).where(OP.c.state.in_(TERMINAL_STATES), OP.c.finished_at < cutoff).scalar_subquery()
    session.execute(delete(EV).where(EV.c.operation_id.in_(ids)))
    return rowcount(session.execute(delete(OP).where(OP.c.state.in_(TERMINAL_STATES), OP.c.finished_at < cutoff)))
