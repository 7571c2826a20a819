"""The drain that ends a server process after a stop signal: requests in flight first, bounded."""

from __future__ import annotations

import threading
import time

from overcast.serving import Drain


def test_drain_finishes_requests_in_flight_then_stops():
    release = threading.Event()
    entered = threading.Event()
    order: list[str] = []

    def app(environ, start_response):
        entered.set()
        release.wait(5)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"done"]

    drain = Drain(app, lambda left: order.append("stopped"), grace=5)
    answers: list[bytes] = []

    def serve_one() -> None:
        body = drain({}, lambda *a: None)
        answers.append(b"".join(body))
        order.append("answered")
        body.close()

    client = threading.Thread(target=serve_one)
    client.start()
    assert entered.wait(5)
    stopper = threading.Thread(target=drain.stop, kwargs={"exit_process": False})
    stopper.start()
    stopper.join(0.2)
    assert stopper.is_alive() and drain.in_flight == 1 and order == []
    release.set()
    client.join(5)
    stopper.join(5)
    assert answers == [b"done"] and order == ["answered", "stopped"]


def test_drain_gives_up_after_its_grace():
    entered = threading.Event()
    never = threading.Event()

    def app(environ, start_response):
        entered.set()
        never.wait(10)
        return [b""]

    stopped: list[bool] = []
    drain = Drain(app, lambda left: stopped.append(left), grace=0.3)
    threading.Thread(target=drain, args=({}, lambda *a: None), daemon=True).start()
    assert entered.wait(5)
    began = time.monotonic()
    drain.stop(exit_process=False)
    assert stopped == [0.2] and 0.25 < time.monotonic() - began < 10  # the grace, not the app's 10 s
    never.set()
