"""Kill an operation between a driver call and its record, in-process, and let the engine resume it.

``CrashPlan.arm(kind, method, nth)`` makes the ``nth`` call of driver method ``method`` made by a
handler of ``kind`` raise :class:`SimulatedCrash` (a ``BaseException``) right after the call
returned: the backend did the work, the handler records nothing. ``method="checkpoint"`` crashes
right after the handler's ``nth`` checkpoint was saved instead (the other window in which a record
can miss what the backend did: saved in the checkpoint, not yet on the resource). The handler wrappers installed by
:func:`crashing_setup` turn that into what the engine sees when a worker's process dies: the
operation stays ``running`` under the dead worker's lease, nothing recorded (the wrapper raises the
engine's ``LeaseLost``, whose result the worker discards). With a short lease the engine hands the
operation to a worker again, as a fresh attempt that starts from the operation's checkpoint, which
is exactly a resume after ``kill -9``.

(The ops engine's own crash-injection hook does the same from inside the engine; this harness
needs nothing of it, so every handler can be driven through its crash window today.)
"""

from __future__ import annotations

import contextvars
import functools
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

from sqlalchemy import event as sa_event

from overcast.ops.engine import LeaseLost

#: the kind of the handler running on this thread (set by the wrappers)
_KIND: contextvars.ContextVar[str | None] = contextvars.ContextVar("crash_harness_kind", default=None)


class SimulatedCrash(BaseException):
    """The worker died right after a driver call returned (not an Exception: nothing may catch it)."""


@dataclass
class CrashPlan:
    armed: tuple[str, str, int] | None = None
    calls: int = 0
    fired: list[str] = field(default_factory=list)
    #: (kind, method) of every driver call made by a handler, for finding the crash points
    seen: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def arm(self, kind: str, method: str, nth: int = 1) -> None:
        with self.lock:
            self.armed, self.calls = (kind, method, nth), 0

    def after_call(self, method: str) -> None:
        kind = _KIND.get()
        if kind is None:
            return
        with self.lock:
            self.seen.append((kind, method))
            if self.armed is None or self.armed[:2] != (kind, method):
                return
            self.calls += 1
            if self.calls != self.armed[2]:
                return
            self.armed = None
            self.fired.append(f"{kind}:{method}")
        raise SimulatedCrash(f"crashed after {method} in {kind}")


def wrap_driver(driver: Any, plan: CrashPlan, methods: tuple[str, ...]) -> Any:
    """Wrap ``methods`` of a driver instance so the plan can crash right after one returns."""
    for name in methods:
        original = getattr(driver, name)

        @functools.wraps(original)
        def call(*args: Any, __original: Callable[..., Any] = original, __name: str = name, **kwargs: Any) -> Any:
            result = __original(*args, **kwargs)
            plan.after_call(__name)
            return result

        setattr(driver, name, call)
    return driver


class _Checkpointing:
    """A handler's context whose ``save_checkpoint`` is a crash point too."""

    def __init__(self, ctx: Any, plan: CrashPlan):
        self._ctx, self._plan = ctx, plan

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ctx, name)

    def save_checkpoint(self, data: Any, session: Any = None) -> None:
        if session is None:
            self._ctx.save_checkpoint(data)
            self._plan.after_call("checkpoint")
            return
        # saved with the handler's transaction: the crash point is its commit
        self._ctx.save_checkpoint(data, session=session)
        sa_event.listen(session, "after_commit", lambda _: self._plan.after_call("checkpoint"), once=True)


class _Registry:
    """What a service's setup sees as ``runtime.registry``: registers wrapped handlers."""

    def __init__(self, real: Any, plan: CrashPlan):
        self.real, self.plan = real, plan

    def register(self, kind: str, handler: Callable[..., Any], **kwargs: Any) -> Any:
        @functools.wraps(handler)
        def wrapped(job: Any, ctx: Any) -> Any:
            token = _KIND.set(kind)
            try:
                return handler(job, _Checkpointing(ctx, self.plan))
            except SimulatedCrash:
                raise LeaseLost(job.id) from None  # the engine records nothing, as after a kill -9
            finally:
                _KIND.reset(token)

        return self.real.register(kind, wrapped, **kwargs)


class _Runtime:
    def __init__(self, runtime: Any, plan: CrashPlan):
        self.registry = _Registry(runtime.registry, plan)
        self.reconciler = runtime.reconciler


def crashing_setup(setup: Callable[[Any], None], plan: CrashPlan) -> Callable[[Any], None]:
    """A service's ops setup whose handlers (and their checkpoints) the plan can crash."""
    return lambda runtime: setup(_Runtime(runtime, plan))
