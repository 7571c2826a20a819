"""A periodic task runner, one runner at a time across all processes sharing the store.

The compute core registers a function that compares ``driver.list()`` with the server records
of a cloud; every ``interval`` seconds the process holding the ``ops_lease`` row calls each
registered function once per configured cloud. The lease is renewed between calls and expires
by itself when its holder dies, so another process takes over.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as dt
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, cast

from sqlalchemy import Table, insert, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from overcast.ops.breaker import Breakers
from overcast.ops.engine import _CallThread, rowcount  # the same abandon-on-timeout runner
from overcast.ops.models import OpsLease
from overcast.store.db import Store
from overcast.store.models import new_id, utcnow

LOG = logging.getLogger(__name__)
LEASE = cast(Table, OpsLease.__table__)


@dataclass
class ReconcileContext:
    store: Store
    #: set when the call is abandoned (timeout) or the lease was lost: stop early
    abandoned: threading.Event

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        with self.store.session() as session:
            yield session


ReconcileFn = Callable[[str, ReconcileContext], None]


def acquire_lease(store: Store, name: str, owner: str, seconds: float) -> bool:
    """Take or renew the named lease for ``owner``; False while someone else holds it."""
    now = utcnow()
    expires = now + dt.timedelta(seconds=seconds)
    with store.session() as session:
        res = session.execute(update(LEASE).where(
            LEASE.c.name == name, or_(LEASE.c.owner == owner, LEASE.c.expires_at < now)).values(
            owner=owner, expires_at=expires))
        if rowcount(res) == 1:
            return True
    try:
        with store.session() as session:
            session.execute(insert(LEASE).values(name=name, owner=owner, expires_at=expires))
        return True
    except IntegrityError:
        return False


def release_lease(store: Store, name: str, owner: str) -> None:
    with store.session() as session:
        session.execute(update(LEASE).where(LEASE.c.name == name, LEASE.c.owner == owner)
                        .values(expires_at=utcnow() - dt.timedelta(seconds=1)))


class Reconciler:
    def __init__(self, store: Store, clouds: Iterable[str], interval: float = 60.0, *,
                 lease_name: str = "reconciler", lease_seconds: float | None = None, timeout: float = 300.0,
                 owner: str | None = None, breakers: Breakers | None = None):
        self.store = store
        self.clouds = list(clouds)
        self.interval = interval
        self.lease_name = lease_name
        #: long enough to survive one slow call between renewals
        self.lease_seconds = lease_seconds if lease_seconds is not None else max(30.0, 2 * interval)
        self.timeout = timeout
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{new_id()[:8]}"
        self.breakers = breakers
        self._functions: dict[str, ReconcileFn] = {}
        self._families: dict[str, str | None] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._caller: _CallThread | None = None
        self.runs = 0

    def register(self, name: str, fn: ReconcileFn, *, family: str | None = None) -> None:
        """``fn(cloud, ctx)`` is called once per cloud per round; exceptions are logged, not raised.
        A cloud is skipped while its ``family`` breaker (or its shared one) is open."""
        if name in self._functions:
            raise ValueError(f"a reconcile function {name!r} is already registered")
        self._functions[name] = fn
        self._families[name] = family

    @property
    def functions(self) -> list[str]:
        return list(self._functions)

    def run_once(self) -> bool:
        """One round if this process holds (or can take) the lease. Returns whether it ran."""
        if not self._functions or not acquire_lease(self.store, self.lease_name, self.owner, self.lease_seconds):
            return False
        for name, fn in self._functions.items():
            for cloud in self.clouds:
                if self._stop.is_set():
                    return True
                if self.breakers is not None and "open" in (self.breakers(cloud).state,
                                                            self.breakers(cloud, self._families[name]).state):
                    LOG.info("reconcile %s: skipping cloud %s, its circuit breaker is open", name, cloud)
                    continue
                self._call(name, fn, cloud)
                if not acquire_lease(self.store, self.lease_name, self.owner, self.lease_seconds):
                    LOG.warning("reconciler lease lost to another process; stopping this round")
                    return True
        with self.store.session() as session:
            session.execute(update(LEASE).where(LEASE.c.name == self.lease_name, LEASE.c.owner == self.owner)
                            .values(last_run_at=utcnow()))
        self.runs += 1
        return True

    def _call(self, name: str, fn: ReconcileFn, cloud: str) -> None:
        ctx = ReconcileContext(self.store, threading.Event())
        if self._caller is None:
            self._caller = _CallThread(f"reconcile-{name}")
        future = self._caller.submit(lambda: fn(cloud, ctx))
        done, _ = concurrent.futures.wait([future], timeout=self.timeout)
        if not done:
            ctx.abandoned.set()
            self._caller.close()
            self._caller = None
            LOG.error("reconcile %s on cloud %s did not finish within %gs; abandoned", name, cloud, self.timeout)
            return
        exc = future.exception()
        if exc is not None:
            LOG.error("reconcile %s on cloud %s failed: %s", name, cloud, exc, exc_info=exc)

    def _loop(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self.run_once()
            except Exception:  # noqa: BLE001 - keep the loop alive across database hiccups
                LOG.exception("reconciler round failed")
            self._stop.wait(max(0.0, self.interval - (time.monotonic() - started)))

    def start(self) -> "Reconciler":
        if self._thread is None and self._functions:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="ops-reconciler", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        with contextlib.suppress(Exception):
            release_lease(self.store, self.lease_name, self.owner)
        if self._caller is not None:
            self._caller.close()
            self._caller = None
