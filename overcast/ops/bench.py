"""Throughput of the operations engine with a no-op handler.

    python -m overcast.ops.bench --url sqlite:////tmp/ops-bench.db -n 2000 --threads 1
    python -m overcast.ops.bench --url postgresql://user:pass@127.0.0.1:5432/db -n 2000 --threads 4
    python -m overcast.ops.bench --url sqlite:////tmp/ops-bench.db --idle 10 --threads 4

Enqueues N operations (one transaction per 100, as API requests would), then starts a pool and
times until every one has succeeded. Prints enqueue and run rates. With ``--idle SECONDS``: counts
the SQL statements an idle pool runs over that long (after 3 s of warm-up) instead.
"""

from __future__ import annotations

import argparse
import time

from sqlalchemy import delete, func, select

from overcast.ops.engine import OpsSettings, Registry, WorkerPool, done, enqueue
from overcast.ops.models import Operation, OperationEvent
from overcast.store.db import Store


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--idle", type=float, default=0.0, help="measure an idle pool for this many seconds")
    args = parser.parse_args(argv)

    store = Store(args.url)
    store.upgrade()
    if args.idle:
        idle(store, args.url, args.threads, args.idle)
        return
    with store.session() as session:
        session.execute(delete(OperationEvent))
        session.execute(delete(Operation))

    started = time.perf_counter()
    for start in range(0, args.n, 100):
        with store.session() as session:
            for i in range(start, min(args.n, start + 100)):
                enqueue(session, kind="bench.noop", cloud="RegionOne", resource_type="server", resource_id=f"s{i}")
    enqueued = time.perf_counter() - started

    registry = Registry()
    registry.register("bench.noop", lambda job, ctx: done())
    pool = WorkerPool(store, registry, OpsSettings(threads=args.threads, poll_interval=0.01))
    started = time.perf_counter()
    pool.start()
    while True:
        with store.session() as session:
            left = session.scalar(select(func.count()).select_from(Operation).where(Operation.state != "succeeded"))
        if not left:
            break
        time.sleep(0.01)
    ran = time.perf_counter() - started
    pool.stop()
    store.dispose()
    backend = args.url.split(":", 1)[0]
    print(f"{backend} threads={args.threads} n={args.n}: enqueue {args.n / enqueued:,.0f} ops/s; "
          f"run {args.n / ran:,.0f} ops/s ({ran:.2f}s)")


def idle(store: Store, url: str, threads: int, seconds: float) -> None:
    from sqlalchemy import event

    registry = Registry()
    registry.register("bench.noop", lambda job, ctx: done())
    count = [0]

    def one(*_: object) -> None:
        count[0] += 1

    with WorkerPool(store, registry, OpsSettings(threads=threads)):
        time.sleep(3.0)
        event.listen(store.engine, "before_cursor_execute", one)
        time.sleep(seconds)
        event.remove(store.engine, "before_cursor_execute", one)
    store.dispose()
    print(f"{url.split(':', 1)[0]} threads={threads}: {count[0] / seconds:.2f} statements/s while idle")


if __name__ == "__main__":
    main()
