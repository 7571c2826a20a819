"""The batch poller: many operations' polls, few backend calls, never an answer older than a call."""

from __future__ import annotations

import threading
import time

import pytest

from overcast.core.polling import BatchPoller, ReadyTimes, interval, max_age
from overcast.drivers.context import CallContext
from overcast.drivers.errors import NotFound

CTX = CallContext()


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_polls_within_a_window_share_one_fetch():
    clock, calls = Clock(), []
    poller = BatchPoller(lambda cloud, ctx, ids: calls.append(list(ids)) or {i: f"info-{i}" for i in ids},
                         window=1.0, keep=5.0, clock=clock)
    assert poller.get("r", CTX, "a") == "info-a"
    assert poller.get("r", CTX, "b") == "info-b"        # not fetched yet: a second call, with both ids
    clock.now += 0.5
    assert poller.get("r", CTX, "a") == "info-a" and poller.get("r", CTX, "b") == "info-b"  # shared
    assert calls == [["a"], ["a", "b"]]
    clock.now += 0.6
    poller.get("r", CTX, "a")                           # stale: one fetch for both again
    assert calls[-1] == ["a", "b"] and len(calls) == 3


def test_an_answer_from_before_a_call_is_not_used():
    clock, calls = Clock(), []
    poller = BatchPoller(lambda cloud, ctx, ids: calls.append(list(ids)) or {i: clock.now for i in ids},
                         window=1.0, clock=clock)
    first = poller.get("r", CTX, "a")
    clock.now += 0.1
    assert poller.get("r", CTX, "a", not_before=clock.now - 0.05) != first and len(calls) == 2


def test_unknown_ids_are_not_found_and_forgotten_ids_are_not_fetched():
    clock, calls = Clock(), []
    poller = BatchPoller(lambda cloud, ctx, ids: calls.append(list(ids)) or {"a": 1}, window=1.0, clock=clock)
    assert poller.get("r", CTX, "a") == 1
    with pytest.raises(NotFound):
        poller.get("r", CTX, "gone")
    poller.forget("r", ["a", "gone"])
    clock.now += 2
    with pytest.raises(NotFound):
        poller.get("r", CTX, "new")
    assert calls[-1] == ["new"]


def test_concurrent_polls_wait_for_the_fetch_under_way():
    started, release, calls = threading.Event(), threading.Event(), []

    def fetch(cloud, ctx, ids):  # noqa: ANN001, ANN202
        calls.append(list(ids))
        started.set()
        release.wait(5)
        return {i: i.upper() for i in ids}

    poller = BatchPoller(fetch, window=10.0)
    results: dict[str, str] = {}
    first = threading.Thread(target=lambda: results.setdefault("first", poller.get("r", CTX, "b")))
    first.start()
    assert started.wait(5)
    second = threading.Thread(target=lambda: results.setdefault("second", poller.get("r", CTX, "b")))
    second.start()
    release.set()
    first.join(5)
    second.join(5)
    assert results == {"first": "B", "second": "B"}
    assert len(calls) == 1, calls


def test_waits_start_at_a_tenth_and_double_to_the_ceiling():
    assert [interval(n, 1.0, 0.1) for n in range(7)] == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0]
    assert interval(3, 0.5, 0.1) == 0.5 and interval(10_000, 1.0, 0.1) == 1.0
    assert max_age(0, 1.0, 0.1) is None                 # the first poll follows the call: not_before
    assert max_age(1, 1.0, 0.1) == pytest.approx(0.09) and max_age(9, 1.0, 0.1) == pytest.approx(0.9)


def test_a_poll_reuses_only_an_answer_younger_than_its_wait():
    clock, calls = Clock(), []
    poller = BatchPoller(lambda cloud, ctx, ids: calls.append(list(ids)) or {i: clock.now for i in ids},
                         window=0.9, clock=clock)
    poller.get("r", CTX, "a")
    clock.now += 0.1
    assert poller.get("r", CTX, "a", max_age=0.09) == clock.now and len(calls) == 2   # a lone server's next poll
    clock.now += 0.3
    assert poller.get("r", CTX, "b", max_age=0.9) and len(calls) == 3    # b: not known yet
    clock.now += 0.2
    poller.get("r", CTX, "a", max_age=0.36)                           # fetched with b 0.2 s ago: shared
    assert len(calls) == 3 and calls[-1] == ["a", "b"]


def test_a_build_polls_soon_after_its_call_then_less_often(nova, compute, monkeypatch):
    """A lone build on a backend that takes 1.5 s: its waits are 0.1 (in the build's own run), 0.2,
    0.4 ... s (never more than POLL_SECONDS), and every poll reads the backend afresh (no answer
    older than its wait)."""
    from overcast.core.compute import operations

    driver = compute.app.compute.compute_driver("RegionOne")
    monkeypatch.setattr(driver, "build_delay", 1.5)
    waits: list[float] = []
    reads: list[list[str]] = []
    real_poll_again, real_get_many = operations.poll_again, driver.get_many

    def recording_poll_again(after_seconds, checkpoint=None):  # noqa: ANN001, ANN202
        waits.append(after_seconds)
        return real_poll_again(after_seconds, checkpoint)

    def counted_get_many(ctx, ids):  # noqa: ANN001, ANN202
        reads.append(list(ids))
        return real_get_many(ctx, ids)

    monkeypatch.setattr(operations, "poll_again", recording_poll_again)
    monkeypatch.setattr(driver, "get_many", counted_get_many)
    settled: list[float] = []
    real_pause = operations._pause
    monkeypatch.setattr(operations, "_pause", lambda seconds: settled.append(seconds) or real_pause(seconds))
    nova.create("lone", wait="ACTIVE")
    # a backend whose build time is not known yet: the first wait (0.1 s) is spent in the build's
    # own run, asking every 0.05 s (fewer times when an answer is slow); the rest is handed back
    assert len(settled) <= 2 and all(0 < s <= operations.SETTLE_STEP for s in settled), settled
    assert len(waits) >= 2, waits
    assert waits == [interval(n, operations.POLL_SECONDS) for n in range(1, len(waits) + 1)], waits  # the schedule
    assert max(waits) <= operations.POLL_SECONDS, waits
    # the poll after the call, one after each pause of the first wait, then one per wait
    assert len(reads) == len(waits) + 1 + len(settled), (reads, waits, settled)


def test_a_backends_build_time_is_learned_from_the_polls_around_it():
    ready = ReadyTimes(weight=0.5)
    assert ready.expected("r", "server.build") is None
    ready.observe("r", "server.build", 0.2, 0.3)            # building at 0.2 s, done at 0.3 s: 0.25
    assert ready.expected("r", "server.build") == pytest.approx(0.25)
    ready.observe("r", "server.build", 0.0, 0.25)           # done at the first poll: the figure drops
    assert ready.expected("r", "server.build") == pytest.approx(0.1875)
    ready.observe("r", "server.build", 0.19, 0.25)          # still building at the first poll: it rises
    assert ready.expected("r", "server.build") == pytest.approx(0.20375)
    assert ready.expected("other", "server.build") is None and ready.expected("r", "volume.create") is None


def test_a_builds_first_poll_is_timed_to_the_backends_build_time(nova, compute, ops, monkeypatch):
    """Where the backend is known to take about 0.25 s, a build asks it once, 0.25 s after its
    call (not at once and then every 0.05 s), finds the server done and learns from it."""
    from overcast.core.compute import operations
    from overcast.core.compute.servers import BUILD

    handlers = ops.registry.get(BUILD).handler.__self__
    handlers.ready.observe("RegionOne", BUILD, 0.2, 0.3)
    driver = compute.app.compute.compute_driver("RegionOne")
    monkeypatch.setattr(driver, "build_delay", 0.2)
    called: list[float] = []
    reads: list[float] = []
    real_build, real_get_many = driver.build, driver.get_many

    def timed_build(ctx, request):  # noqa: ANN001, ANN202
        backend_id = real_build(ctx, request)
        called.append(time.monotonic())
        return backend_id

    def timed_get_many(ctx, ids):  # noqa: ANN001, ANN202
        reads.append(time.monotonic())
        return real_get_many(ctx, ids)

    monkeypatch.setattr(driver, "build", timed_build)
    monkeypatch.setattr(driver, "get_many", timed_get_many)
    waits: list[float] = []
    real_poll_again = operations.poll_again
    monkeypatch.setattr(operations, "poll_again", lambda after, checkpoint=None: waits.append(after) or
                        real_poll_again(after, checkpoint))
    nova.create("timed", version="2.37", networks="none", wait="ACTIVE")
    assert len(called) == 1 and len(reads) == 1, (called, reads)
    assert reads[0] - called[0] >= 0.25 - 0.01       # not before the backend usually has it done
    assert waits == []                               # done in the build's own run
    learned = handlers.ready.expected("RegionOne", BUILD)
    assert learned is not None and learned < 0.25    # found done at its first poll: the figure drops
