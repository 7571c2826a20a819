"""The batch poller: many operations' polls, few backend calls, never an answer older than a call."""

from __future__ import annotations

import threading

import pytest

from overcast.core.polling import BatchPoller
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
