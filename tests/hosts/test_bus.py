"""The bus RPC over a real RabbitMQ: round trips, timeouts, errors, idempotency keys, reports."""

from __future__ import annotations

import threading
import time

import pytest

from overcast.drivers import errors
from overcast.drivers.agent.bus import Bus, BusTimeout, CommandServer, ReportListener, ResultCache, redact

from .conftest import unique_host, wait_for

pytestmark = pytest.mark.hosts


@pytest.fixture
def region() -> str:
    return f"r{unique_host()}"


def test_call_round_trip_errors_and_timeout(rabbitmq, region):
    calls: list[str] = []

    def handler(method, args):
        calls.append(method)
        if method == "echo":
            return {"echo": args["x"]}
        if method == "missing":
            raise errors.NotFound("no such guest")
        if method == "busy":
            raise errors.Unavailable("libvirt is busy", retry_after=3)
        raise RuntimeError("a bug")

    bus = Bus(rabbitmq.url, region)
    server = CommandServer(bus, "h1", handler).start()
    try:
        assert server.ready.wait(30)
        assert bus.call("h1", "echo", {"x": [1, "a"]}, timeout=20) == {"echo": [1, "a"]}
        with pytest.raises(errors.NotFound, match="no such guest"):
            bus.call("h1", "missing", timeout=20)
        with pytest.raises(errors.Unavailable) as info:
            bus.call("h1", "busy", timeout=20)
        assert info.value.retry_after == 3
        with pytest.raises(errors.DriverError, match="RuntimeError on host: a bug"):
            bus.call("h1", "bug", timeout=20)
        # a host nobody serves: a retryable timeout, on time
        start = time.monotonic()
        with pytest.raises(BusTimeout):
            bus.call("nobody", "echo", {"x": 1}, timeout=1.5)
        assert time.monotonic() - start < 15  # timed out: it would wait forever otherwise
        # many threads share the bus (a connection each)
        results = []

        def worker(i: int) -> None:
            results.append(bus.call("h1", "echo", {"x": i}, timeout=30)["echo"])

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results) == list(range(8))
    finally:
        server.stop()
        bus.close()


def test_a_command_delivered_again_answers_what_it_did_the_first_time(rabbitmq, region, tmp_path):
    made: list[str] = []

    def handler(method, args):
        made.append(args["name"])
        return {"made": args["name"], "n": len(made)}

    bus = Bus(rabbitmq.url, region)
    cache_file = str(tmp_path / "results.json")
    server = CommandServer(bus, "h1", handler, cache=ResultCache(cache_file)).start()
    assert server.ready.wait(30)
    first = bus.call("h1", "make", {"name": "vm"}, timeout=20, idempotency_key="key-1")
    again = bus.call("h1", "make", {"name": "vm"}, timeout=20, idempotency_key="key-1")
    assert first == again == {"made": "vm", "n": 1}
    server.stop()
    # a restarted agent (a new server on the same results file) still remembers it
    server = CommandServer(bus, "h1", handler, cache=ResultCache(cache_file)).start()
    try:
        assert server.ready.wait(30)
        assert bus.call("h1", "make", {"name": "vm"}, timeout=20, idempotency_key="key-1")["n"] == 1
        assert bus.call("h1", "make", {"name": "vm2"}, timeout=20, idempotency_key="key-2")["n"] == 2
        assert made == ["vm", "vm2"]
    finally:
        server.stop()
        bus.close()


def test_commands_wait_in_the_queue_of_a_host_that_is_down(rabbitmq, region):
    seen: list[str] = []
    bus = Bus(rabbitmq.url, region)
    # the host's queue exists once the host has run once
    server = CommandServer(bus, "h2", lambda m, a: seen.append(a["v"])).start()
    assert server.ready.wait(30)
    server.stop()
    bus.cast("h2", "set", {"v": "while-down"})
    bus.cast(None, "set", {"v": "to-all"})
    server = CommandServer(bus, "h2", lambda m, a: seen.append(a["v"])).start()
    try:
        wait_for(lambda: len(seen) == 2, 30, "queued commands delivered")
        assert seen == ["while-down", "to-all"]
    finally:
        server.stop()
        bus.close()


def test_ordered_commands_run_one_at_a_time_in_the_order_sent(rabbitmq, region):
    seen: list[int] = []
    running: list[int] = []

    def handler(method, args):
        running.append(1)
        overlap = len(running) > 1
        time.sleep(0.05 if args["i"] % 2 == 0 else 0)   # an even command takes longer
        seen.append(-1 if overlap else args["i"])
        running.pop()

    bus = Bus(rabbitmq.url, region)
    server = CommandServer(bus, "h3", handler, threads=8, ordered=lambda m: m.startswith("set_")).start()
    try:
        assert server.ready.wait(30)
        for i in range(12):
            bus.cast(None, "set_thing", {"i": i})
        wait_for(lambda: len(seen) == 12, 30, "all ordered commands ran")
        assert seen == list(range(12))
    finally:
        server.stop()
        bus.close()


def test_reports_reach_every_listener(rabbitmq, region):
    bus = Bus(rabbitmq.url, region)
    got_a: list[dict] = []
    got_b: list[dict] = []
    a = ReportListener(bus, got_a.append).start()
    b = ReportListener(bus, got_b.append).start()
    try:
        assert a.ready.wait(30) and b.ready.wait(30)
        bus.publish_report({"type": "heartbeat", "host": "h1"})
        wait_for(lambda: got_a and got_b, 20, "both listeners got the report")
        assert got_a[0]["host"] == got_b[0]["host"] == "h1"
    finally:
        a.stop()
        b.stop()
        bus.close()


def test_the_broker_password_is_never_shown():
    assert redact("amqp://overcast:s3cret@broker:5672//") == "amqp://overcast:***@broker:5672//"
    assert "s3cret" not in repr(Bus("amqp://overcast:s3cret@127.0.0.1:1//", "r"))
