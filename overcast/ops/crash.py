"""Crash injection, for tests: die right after a handler's driver call returns, before the handler
(or the engine) records what it did. That is the window where a real crash makes records and the
backend disagree; every handler must resume from it correctly.

Arm it with ``[ops] crash_after_driver_call`` (``OVERCAST_OPS_CRASH_AFTER_DRIVER_CALL`` for a
subprocess such as ``overcast worker``), or in-process with :func:`arm`. The spec is
``KIND[:N][:MODE]``:

- ``KIND``: the operation kind (``server.build``), or ``*`` for any;
- ``N``: the N-th driver call of one run of that handler (default 1), counting every method call on
  a guarded driver (:func:`overcast.ops.calls.guard_cloud`), in any family;
- ``MODE``: ``exit`` (default): the process kills itself with SIGKILL, exactly like ``kill -9``; or
  ``raise``: :class:`SimulatedCrash`, a ``BaseException`` that unwinds the handler (rolling back any
  open transaction) and makes the worker drop the operation without recording anything, as if its
  process had died; the worker then carries on under a new name (a restarted process) and the
  operation is resumed when its lease expires.

A plan fires once per process, in the first run of the kind that makes an N-th call (a handler
that polls runs several times; counting starts again at each run). To find the crash points of a
handler, run it once inside :func:`recording` and read the driver calls each run made::

    with crash.recording() as runs:
        ... create a server and wait for it ...
    most = max(len(calls) for calls in runs["server.build"])  # e.g. [["compute.build", "compute.get"], ...]
    for n in range(1, most + 1):
        crash.arm(f"server.build:{n}:raise"); ...; check that records and backend agree after the resume
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import signal
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

LOG = logging.getLogger(__name__)

MODES = ("exit", "raise")


class SimulatedCrash(BaseException):
    """Raised by an armed ``raise`` crash point; handlers must not catch it (it is not an Exception)."""


@dataclass(frozen=True)
class CrashPoint:
    kind: str
    call: int = 1
    mode: str = "exit"

    @classmethod
    def parse(cls, spec: str) -> "CrashPoint":
        """``"server.build"``, ``"server.build:2"``, ``"server.build:2:raise"``, ``"*:1:exit"``.

        :raises ValueError: a malformed spec.
        """
        parts = spec.strip().split(":")
        if not parts[0] or len(parts) > 3:
            raise ValueError(f"crash_after_driver_call {spec!r} is not KIND[:N][:exit|raise]")
        call = 1
        mode = "exit"
        for part in parts[1:]:
            if part.isdigit():
                call = int(part)
            elif part in MODES:
                mode = part
            else:
                raise ValueError(f"crash_after_driver_call {spec!r}: {part!r} is neither a number nor a mode")
        if call < 1:
            raise ValueError(f"crash_after_driver_call {spec!r}: calls are counted from 1")
        return cls(parts[0], call, mode)


@dataclass
class _Run:
    """The handler run on this thread: its kind and the driver calls it made so far."""

    kind: str
    calls: list[str] = field(default_factory=list)


_RUN: contextvars.ContextVar[_Run | None] = contextvars.ContextVar("ops_handler_run", default=None)
_lock = threading.Lock()
_armed: CrashPoint | None = None
_recorders: list[dict[str, list[list[str]]]] = []
def _die() -> None:
    """What ``exit`` does: SIGKILL to ourselves, exactly like ``kill -9``."""
    os.kill(os.getpid(), signal.SIGKILL)


def arm(spec: "str | CrashPoint | None") -> CrashPoint | None:
    """Arm (or with None / "" disarm) the process's crash point; returns it."""
    global _armed
    point = CrashPoint.parse(spec) if isinstance(spec, str) and spec else (spec or None)
    assert point is None or isinstance(point, CrashPoint)
    with _lock:
        _armed = point
    if point is not None:
        LOG.warning("crash injection armed: the process dies after driver call %d of %s (%s)",
                    point.call, point.kind, point.mode)
    return point


def disarm() -> None:
    arm(None)


def armed() -> CrashPoint | None:
    return _armed


@contextlib.contextmanager
def recording() -> Iterator[dict[str, list[list[str]]]]:
    """Collect ``{kind: [[driver call names of one run], ...]}`` for the runs made while the block runs."""
    seen: dict[str, list[list[str]]] = {}
    with _lock:
        _recorders.append(seen)
    try:
        yield seen
    finally:
        with _lock:
            _recorders.remove(seen)


def run_handler(kind: str, fn: Callable[..., Any], *args: Any) -> Any:
    """Call a handler with its driver calls counted for crash points (the engine does this)."""
    run = _Run(kind)
    token = _RUN.set(run)
    try:
        return fn(*args)
    finally:
        _RUN.reset(token)
        if _recorders:
            with _lock:
                for seen in _recorders:
                    seen.setdefault(kind, []).append(list(run.calls))


def after_driver_call(name: str) -> None:
    """Called by a guarded driver after each call returns: counts it and, if this is the armed
    point, crashes (once)."""
    global _armed
    run = _RUN.get()
    if run is None:
        return
    run.calls.append(name)
    point = _armed
    if point is None or point.kind not in ("*", run.kind) or len(run.calls) != point.call:
        return
    with _lock:
        if _armed is not point:
            return
        _armed = None
    LOG.warning("crash injection: dying after driver call %d (%s) of %s", point.call, name, run.kind)
    if point.mode == "exit":
        logging.shutdown()
        _die()
    raise SimulatedCrash(f"simulated crash after {name} (call {point.call} of {run.kind})")
