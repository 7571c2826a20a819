"""What every driver call of a process shares: each cloud's limits (``[clouds.NAME.ops]`` over
``[ops]``), its circuit breakers (one per driver family), its rate limit, and the two ways a call
reaches a backend outside the operation table.

- :class:`Backends` is made once per process (``Backends.from_settings(settings)``) and handed to
  the worker pool (``OpsRuntime(..., backends=...)``) and to whatever makes backend reads from a
  request, so both see the same breakers.
- :func:`guard_cloud` guards a loaded :class:`~overcast.drivers.registry.CloudDriver` so that every
  driver method call waits for a token of the cloud's rate limit and passes the crash-injection
  point (:mod:`overcast.ops.crash`) when it returns.
- :func:`call_backend` runs one read from a request (console output, diagnostics) with the cloud's
  timeout and breaker, failing fast with :class:`BackendUnavailable` (the API answers it as the
  service's 503 with ``Retry-After``)::

      output = call_backend(backends, server.cloud, "compute",
                            lambda: driver.console_output(server.backend_id, length))

See docs/decisions/0007-operations-engine.md ("Limits per cloud").
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping, TypeVar

from overcast.config import CloudOpsSettings, OpsSettings, Settings
from overcast.drivers.errors import DriverError, Unavailable
from overcast.ops import crash
from overcast.ops.breaker import Breakers

T = TypeVar("T")


class RateLimited(Unavailable):
    """No token of the cloud's rate limit came within the allowed wait. The driver was not called;
    a worker reschedules the operation after ``retry_after`` without spending an attempt or
    counting a breaker failure."""


class BackendUnavailable(Exception):
    """A backend read made from a request could not be made: the breaker is open, the call timed
    out, or the driver raised ``Unavailable``. The API answers 503 with ``Retry-After``.

    Shaped like :class:`overcast.core.errors.ServiceUnavailable` (``status``, ``kind``, ``message``,
    ``retry_after``), which ``ops`` may not import (it sits below ``core``); the app maps it the same way.
    """

    status = 503
    kind = "ServiceUnavailable"

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


# --------------------------------------------------------------------------------------------
# limits


@dataclass(frozen=True)
class CloudLimits:
    """A cloud's effective limits: its ``[clouds.NAME.ops]`` values over ``[ops]``."""

    #: None: each kind's own timeout, else ``[ops] handler_timeout``
    timeout: float | None
    attempts: int
    breaker_threshold: int
    breaker_reset_seconds: float
    backend_timeout: float
    rate_limit: float
    rate_burst: int

    @classmethod
    def resolve(cls, ops: OpsSettings, cloud: CloudOpsSettings | None) -> "CloudLimits":
        cloud = cloud or CloudOpsSettings()
        rate = max(0.0, float(cloud.rate_limit or 0.0))
        return cls(
            timeout=cloud.timeout,
            attempts=cloud.attempts or ops.max_attempts,
            breaker_threshold=cloud.breaker_threshold or ops.breaker_threshold,
            breaker_reset_seconds=(cloud.breaker_reset_seconds if cloud.breaker_reset_seconds is not None
                                   else ops.breaker_reset_seconds),
            backend_timeout=cloud.timeout if cloud.timeout is not None else ops.backend_timeout,
            rate_limit=rate,
            rate_burst=cloud.rate_burst or max(1, int(rate)),
        )


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved up. :meth:`acquire` waits for one."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic):
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = float(rate)
        self.burst = max(1, int(burst))
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens = float(self.burst)
        self._at = clock()

    def reserve(self) -> float:
        """Take a token now or in the future; returns how long the caller must wait for it."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
            self._at = now
            self._tokens -= 1.0
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def cancel(self) -> None:
        """Give back a reserved token that will not be used."""
        with self._lock:
            self._tokens = min(self.burst, self._tokens + 1.0)

    def acquire(self, max_wait: float, sleep: Callable[[float], None] = time.sleep) -> float:
        """Wait for a token, at most ``max_wait`` seconds; returns the seconds waited.

        :raises RateLimited: no token within ``max_wait`` (nothing was taken); ``retry_after`` says
            when one would have come.
        """
        wait = self.reserve()
        if wait > max_wait:
            self.cancel()
            raise RateLimited(f"rate limit of {self.rate:g} calls/s: no token within {max_wait:g}s",
                              retry_after=wait)
        if wait > 0:
            sleep(wait)
        return wait


class Backends:
    """Per process: each cloud's limits, breakers (per cloud and family) and rate-limit bucket."""

    def __init__(self, ops: OpsSettings | None = None, clouds: Mapping[str, CloudOpsSettings] | None = None, *,
                 breakers: Breakers | None = None, clock: Callable[[], float] = time.monotonic):
        self.ops = ops or OpsSettings()
        self._cloud_settings = dict(clouds or {})
        self._limits: dict[str, CloudLimits] = {}
        self.breakers = breakers or Breakers(
            self.ops.breaker_threshold, self.ops.breaker_reset_seconds, clock,
            per_cloud={name: (self.limits(name).breaker_threshold, self.limits(name).breaker_reset_seconds)
                       for name in self._cloud_settings})
        self._buckets: dict[str, TokenBucket | None] = {}
        self._clock = clock
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, ops: OpsSettings | None = None) -> "Backends":
        return cls(ops or settings.ops, {cloud.name: cloud.ops for cloud in settings.clouds})

    def limits(self, cloud: str) -> CloudLimits:
        limits = self._limits.get(cloud)
        if limits is None:
            limits = self._limits[cloud] = CloudLimits.resolve(self.ops, self._cloud_settings.get(cloud))
        return limits

    def bucket(self, cloud: str) -> TokenBucket | None:
        """The cloud's rate-limit bucket; None when it has no rate limit."""
        with self._lock:
            if cloud not in self._buckets:
                limits = self.limits(cloud)
                self._buckets[cloud] = (TokenBucket(limits.rate_limit, limits.rate_burst, self._clock)
                                        if limits.rate_limit > 0 else None)
            return self._buckets[cloud]

    def throttle(self, cloud: str) -> None:
        """Wait for a token of ``cloud``'s rate limit, at most ``[ops] rate_limit_wait`` (or what is
        left of the current :func:`call_backend`'s timeout).

        :raises RateLimited: no token in time.
        """
        bucket = self.bucket(cloud)
        if bucket is None:
            return
        bound = self.ops.rate_limit_wait
        deadline = _CALL_DEADLINE.get()
        if deadline is not None:
            bound = min(bound, max(0.0, deadline - time.monotonic()))
        bucket.acquire(bound)


# --------------------------------------------------------------------------------------------
# the driver wrapper: rate limit before, crash point after


_IN_DRIVER_CALL: contextvars.ContextVar[bool] = contextvars.ContextVar("ops_in_driver_call", default=False)
_GUARD_MARK = "_overcast_guarded_by"


def guard_driver(driver: Any, backends: Backends, cloud: str, family: str) -> Any:
    """Make every public method call on ``driver`` first wait for a token of ``cloud``'s rate
    limit and, once it returns, pass :func:`overcast.ops.crash.after_driver_call`.

    The methods are wrapped on the instance itself (the object keeps its class, so ``isinstance``,
    ``type(driver)`` and attributes behave as before); a call the driver makes to its own methods
    from inside a guarded call is not counted again. Idempotent; returns ``driver``.
    """
    if getattr(driver, _GUARD_MARK, None) is not None:
        return driver
    cls = type(driver)
    for name in dir(cls):
        if name.startswith("_"):
            continue
        static = inspect.getattr_static(cls, name)
        if not (inspect.isfunction(static) or isinstance(static, (staticmethod, classmethod))):
            continue
        try:
            setattr(driver, name, _guarded(driver, backends, cloud, family, name))
        except (AttributeError, TypeError):  # __slots__ or a read-only attribute: leave it unguarded
            continue
    try:
        setattr(driver, _GUARD_MARK, (cloud, family))
    except (AttributeError, TypeError):
        pass
    return driver


def _class_method(driver: Any, name: str) -> Callable[..., Any]:
    """``driver.name`` as its class defines it now (the instance's own wrapper skipped), so a method
    replaced on the class later (a test's monkeypatch) is the one called."""
    cls = type(driver)
    for klass in cls.__mro__:
        if name in klass.__dict__:
            return klass.__dict__[name].__get__(driver, cls)
    raise AttributeError(name)


def _guarded(driver: Any, backends: Backends, cloud: str, family: str, name: str) -> Callable[..., Any]:
    label = f"{family}.{name}"

    @functools.wraps(_class_method(driver, name))
    def call(*args: Any, **kwargs: Any) -> Any:
        method = _class_method(driver, name)
        if _IN_DRIVER_CALL.get():
            return method(*args, **kwargs)
        backends.throttle(cloud)
        token = _IN_DRIVER_CALL.set(True)
        try:
            result = method(*args, **kwargs)
        finally:
            _IN_DRIVER_CALL.reset(token)
        crash.after_driver_call(label)
        return result

    return call


def guard_cloud(cloud_driver: Any, backends: Backends, cloud: str) -> Any:
    """Guard (:func:`guard_driver`) every family object of a loaded ``CloudDriver``; returns it."""
    for family in ("compute", "image", "volume", "network", "cdn"):
        driver = getattr(cloud_driver, family, None)
        if driver is not None:
            guard_driver(driver, backends, cloud, family)
    return cloud_driver


# --------------------------------------------------------------------------------------------
# backend reads from a request

_CALL_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar("ops_call_deadline", default=None)


@contextlib.contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    token = _CALL_DEADLINE.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _CALL_DEADLINE.reset(token)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def call_backend(backends: Backends, cloud: str, family: str | None, fn: Callable[[], T],
                 timeout: float | None = None, label: str | None = None) -> T:
    """Run ``fn()`` (one driver read made while answering a request) with ``cloud``'s timeout and
    its ``family`` breaker; no operation row is written.

    - Breaker open: fails at once, the driver is not called.
    - ``fn`` runs on its own daemon thread; after the timeout (the cloud's ``[clouds.NAME.ops]
      timeout``, else ``timeout``, else ``[ops] backend_timeout``) it is abandoned and counted as a
      breaker failure.
    - ``Unavailable`` (and a rate-limit wait that ran out) becomes :class:`BackendUnavailable`;
      the driver's ``retry_after`` is passed on.
    - Any other ``DriverError`` counts as the backend answering and is raised unchanged, for the
      caller to map (``NotFound`` -> 404, ...).

    ``label`` names what ``cloud`` is in the messages (default ``the backend of region CLOUD``;
    the CDN's ``the CDN provider NAME``).

    :raises BackendUnavailable: breaker open, timeout, or ``Unavailable``; ``retry_after`` set.
    """
    what = label or f"the backend of region {cloud}"
    limits = backends.limits(cloud)
    if limits.timeout is not None:
        seconds = limits.timeout
    elif timeout is not None:
        seconds = timeout
    else:
        seconds = limits.backend_timeout
    breaker = backends.breakers(cloud, family)
    if not breaker.allow():
        wait = breaker.retry_in()
        raise BackendUnavailable(f"{_capital(what)} is unavailable (circuit breaker open); "
                                 f"retry in {wait:.0f}s.", retry_after=max(1.0, wait))
    box: dict[str, Any] = {}
    finished = threading.Event()
    context = contextvars.copy_context()

    def run() -> None:
        try:
            with _deadline(seconds):
                box["result"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed back to the caller's thread
            box["error"] = exc
        finally:
            finished.set()

    threading.Thread(target=context.run, args=(run,), name=f"backend-call-{cloud}", daemon=True).start()
    if not finished.wait(seconds):
        breaker.record_failure()
        raise BackendUnavailable(f"{_capital(what)} did not answer within {seconds:g}s.",
                                 retry_after=max(1.0, breaker.retry_in() or 1.0))
    error = box.get("error")
    if error is None:
        breaker.record_success()
        return box["result"]
    if isinstance(error, RateLimited):
        breaker.release()
        raise BackendUnavailable(f"{_capital(what)} is busy: {error}",
                                 retry_after=max(1.0, error.retry_after or 1.0)) from None
    if isinstance(error, DriverError) and error.retryable:
        breaker.record_failure(getattr(error, "retry_after", None))
        after = getattr(error, "retry_after", None) or breaker.retry_in() or 1.0
        raise BackendUnavailable(f"{_capital(what)} is unavailable: {error}",
                                 retry_after=max(1.0, after)) from None
    if isinstance(error, DriverError):
        breaker.record_success()
    else:
        breaker.release()
    raise error
