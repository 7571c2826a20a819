"""RPC over RabbitMQ: Overcast's bus (kombu, direct reply-to) against oslo.messaging's RPC, on one
broker started for the run (loopback, as the tests start it: :mod:`overcast.testing.hostd`).

Both sides answer an ``echo`` command on one server with a thread pool. Measured: the round trip
of one call at a time (median, p95) and calls per second with 8 callers at once; the time to
import each library. oslo.messaging is not a dependency of Overcast; it is installed in the test
virtual environment (Tempest brings it).

    .venv/bin/python -m benchmarks.bus --calls 300

Prints one line per library.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import threading
import time
import uuid
from typing import Callable

from overcast.testing import hostd


def measure(call: Callable[[int], object], calls: int, callers: int = 8) -> tuple[float, float, float]:
    for i in range(10):            # warm: connections, queues
        call(i)
    times = []
    for i in range(calls):
        start = time.perf_counter()
        call(i)
        times.append(time.perf_counter() - start)
    times.sort()
    per_thread = calls // callers

    def worker() -> None:
        for i in range(per_thread):
            call(i)

    threads = [threading.Thread(target=worker) for _ in range(callers)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rate = per_thread * callers / (time.perf_counter() - start)
    return statistics.median(times) * 1000, times[int(len(times) * 0.95)] * 1000, rate


def import_ms(module: str) -> float:
    code = f"import time; s = time.perf_counter(); import {module}; print((time.perf_counter() - s) * 1000)"
    return float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)


def bench_kombu(url: str, calls: int) -> tuple[float, float, float]:
    from overcast.drivers.agent.bus import Bus, CommandServer

    bus = Bus(url, f"bench{uuid.uuid4().hex[:6]}")
    server = CommandServer(bus, "h1", lambda method, args: args, threads=8).start()
    try:
        assert server.ready.wait(30)
        return measure(lambda i: bus.call("h1", "echo", {"i": i}, timeout=30), calls)
    finally:
        server.stop()
        bus.close()


def bench_oslo(url: str, calls: int) -> tuple[float, float, float]:
    import oslo_messaging
    from oslo_config import cfg

    conf = cfg.CONF            # oslo.messaging registers some of its options there only
    conf([], project="overcast-bench")
    transport = oslo_messaging.get_rpc_transport(conf, url="rabbit" + url[len("amqp"):])
    topic = f"bench{uuid.uuid4().hex[:6]}"
    target = oslo_messaging.Target(topic=topic, server="h1")

    class Endpoint:
        def echo(self, ctxt: dict, **kwargs: object) -> object:
            return kwargs

    server = oslo_messaging.get_rpc_server(transport, target, [Endpoint()], executor="threading")
    server.start()
    client = oslo_messaging.get_rpc_client(transport, oslo_messaging.Target(topic=topic, server="h1"), timeout=30)
    try:
        return measure(lambda i: client.call({}, "echo", i=i), calls)
    finally:
        server.stop()
        server.wait()
        transport.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    daemon, address = hostd.rabbit_daemon()
    daemon.acquire()
    try:
        url = address().url
        for name, bench, module in (("kombu (overcast bus)", bench_kombu, "kombu"),
                                    ("oslo.messaging", bench_oslo, "oslo_messaging")):
            median, p95, rate = bench(url, args.calls)
            print(f"{name:22s} round trip median {median:6.2f} ms  p95 {p95:6.2f} ms  "
                  f"8 callers {rate:7.0f} calls/s  import {import_ms(module):6.0f} ms", flush=True)
    finally:
        daemon.release()


if __name__ == "__main__":
    main()
