"""Throughput of the operations engine with a no-op handler.

    python -m overcast.ops.bench --url sqlite:////tmp/ops-bench.db -n 2000 --threads 1
    python -m overcast.ops.bench --url postgresql://user:pass@127.0.0.1:5432/db -n 2000 --threads 4

Enqueues N operations (one transaction per 100, as API requests would), then starts a pool and
times until every one has succeeded. Prints enqueue and run rates.
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
    args = parser.parse_args(argv)

    store = Store(args.url)
    store.upgrade()
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


if __name__ == "__main__":
    main()
