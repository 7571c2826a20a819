"""Concurrent IP allocation on one subnet: the way Overcast allocates against the alternatives.

    .venv/bin/python -m benchmarks.ipam --url postgresql://USER:PASS@127.0.0.1:PORT/postgres \\
        [--threads 16] [--ports 400] [--cidr 10.200.0.0/22] [--strategy random lowest lock]

Each run makes a fresh database (PostgreSQL: a new database through the admin URL; SQLite: a
temporary file), bootstraps Overcast in it, then ``--threads`` threads create ``--ports`` ports
on one network through the network core (the request path without HTTP: checks, IPAM, records,
the sync operation), each in its own transaction, as concurrent API requests do.

Strategies (``docs/decisions/0024-concurrent-ip-allocation.md``):

- ``random``: what Overcast does: one of the 32 lowest free addresses at random, and on a clash
  (another transaction inserted it first) try again without that address.
- ``lowest``: the lowest free address, retried the same way (the order users see on a /24).
- ``lock``: the lowest free address under a per-subnet row lock (``SELECT ... FOR UPDATE``) held
  to the end of the transaction, so allocations on a subnet never clash (and never overlap).

Printed per strategy: ports/s, failures, clashes (retried picks), p50/p99 of one create.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

from sqlalchemy import select

from benchmarks.common import table
from overcast.config import load_settings

STRATEGIES = ("random", "lowest", "lock")


@contextlib.contextmanager
def _database(admin_url: str | None) -> Iterator[str]:
    if admin_url and admin_url.startswith("postgresql"):
        from overcast.testing.live import postgres_database

        with postgres_database(admin_url) as url:
            yield url
        return
    with tempfile.TemporaryDirectory(prefix="overcast-ipam-") as tmp:
        yield f"sqlite:///{Path(tmp) / 'ipam.db'}"


@contextlib.contextmanager
def _strategy(name: str) -> Iterator[list[int]]:
    """Patch the allocator for ``name``; yields a one-item counter of picks made."""
    from overcast.core.network import ipam, ports
    from overcast.store.network import Subnet

    picks = [0]
    saved = ipam.WINDOW, ports.allocate, ports.add_addresses
    real_allocate, real_add = ports.allocate, ports.add_addresses

    def counted(*args: Any, **kw: Any) -> Any:
        picks[0] += 1
        return real_allocate(*args, **kw)

    def locked(core: Any, session: Any, port: Any, network: Any, requests: Any) -> None:
        session.execute(select(Subnet.id).where(Subnet.network_id == network.id).order_by(Subnet.id)
                        .with_for_update())
        real_add(core, session, port, network, requests)

    ports.allocate = counted
    if name in ("lowest", "lock"):
        ipam.WINDOW = 1
    if name == "lock":
        ports.add_addresses = locked
    try:
        yield picks
    finally:
        ipam.WINDOW, ports.allocate, ports.add_addresses = saved


def run(url: str, strategy: str, threads: int, count: int, cidr: str, data_dir: Path) -> dict[str, Any]:
    from overcast.bootstrap import prepare
    from overcast.core.compute import build_compute
    from overcast.core.context import AuthContext
    from overcast.core.errors import OvercastError
    from overcast.core.identity import build_identity
    from overcast.core.image import ImageCore
    from overcast.core.network import networks, ports, quotas, subnets
    from overcast.store.models import Project

    settings = load_settings(data_dir=data_dir, environ={}, identity={"bcrypt_rounds": 4}, database={"url": url})
    identity = build_identity(settings)
    compute = build_compute(settings, identity)
    prepare(identity, compute, ImageCore(settings=settings, store=identity.store))
    core = compute.network
    with core.session() as session:
        project = session.scalar(select(Project.id).where(Project.name == "demo"))
    ctx = AuthContext(user_id="bench", user_domain_id="default", methods=("password",),
                      roles=frozenset({"member", "reader", "admin"}), audit_ids=(), issued_at=0.0, expires_at=0.0,
                      project_id=project)
    with core.session() as session:
        quotas.update(core, session, project, {"port": -1})
        network = networks.create(core, session, ctx, {"name": "bench"})
        subnets.create(core, session, ctx, {"network_id": network.id, "ip_version": 4, "cidr": cidr})
        network_id = network.id
    durations: list[float] = []
    failures: list[str] = []

    def one(_: int) -> None:
        began = time.perf_counter()
        try:
            with core.session() as session:
                ports.create(core, session, ctx, {"network_id": network_id})
        except OvercastError as exc:
            failures.append(exc.kind or type(exc).__name__)
        durations.append(time.perf_counter() - began)

    with _strategy(strategy) as picks:
        began = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(threads) as pool:
            list(pool.map(one, range(count)))
        elapsed = time.perf_counter() - began
    compute.close()
    identity.store.dispose()
    durations.sort()
    made = count - len(failures)
    return {"strategy": strategy, "ports/s": f"{count / elapsed:.0f}", "made": made, "failed": len(failures),
            "clashes": picks[0] - made - len(failures),
            "p50 ms": f"{statistics.median(durations) * 1000:.1f}",
            "p99 ms": f"{durations[int(len(durations) * 0.99) - 1] * 1000:.1f}"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default=None, help="PostgreSQL admin URL (default: SQLite)")
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--ports", type=int, default=400)
    parser.add_argument("--cidr", default="10.200.0.0/22")
    parser.add_argument("--strategy", nargs="+", choices=STRATEGIES, default=list(STRATEGIES))
    args = parser.parse_args(argv)
    rows = []
    for strategy in args.strategy:
        with _database(args.url) as url, tempfile.TemporaryDirectory(prefix="overcast-ipam-data-") as data:
            rows.append(run(url, strategy, args.threads, args.ports, args.cidr, Path(data)))
    columns = list(rows[0])
    print(table(columns, [[str(r[c]) for c in columns] for r in rows]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
