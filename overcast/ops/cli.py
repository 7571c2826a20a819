"""A generic worker process for any handler set: ``python -m overcast.ops.cli --handlers pkg.mod:setup``.

``overcast worker`` (overcast/cli.py) runs Overcast's own handlers through :func:`run_until_signalled`;
this command serves the engine's own tests and anyone embedding the engine with other handlers.
"""

from __future__ import annotations

import dataclasses
import logging
import signal
import threading
from typing import Any

import click

from overcast.config import ConfigError, load_settings
from overcast.ops.runtime import OpsRuntime, load_setup
from overcast.store.db import Store

LOG = logging.getLogger(__name__)


@click.command("worker")
@click.option("--threads", type=int, default=None, help="Worker threads (default: [ops] threads).")
@click.option("--poll-interval", type=float, default=None, help="First idle re-check (default: [ops] poll_interval).")
@click.option("--lease-seconds", type=float, default=None, help="Lease on a claimed operation "
              "(default: [ops] lease_seconds).")
@click.option("--handlers", "handlers", multiple=True, metavar="MODULE:FUNCTION",
              help="Setup function called with the runtime to register handlers; repeatable.")
@click.option("--reconcile-interval", type=float, default=None,
              help="Seconds between reconciler rounds (default: [ops] reconcile_interval).")
@click.option("--no-reconcile", is_flag=True, help="Do not take part in reconciling.")
@click.option("--database-url", default=None, help="Overrides the configured database (env: references allowed).")
@click.option("--log-level", default=None, help="Default: the server's configured level.")
@click.pass_context
def worker(ctx: click.Context, threads: int | None, poll_interval: float | None, lease_seconds: float | None,
           handlers: tuple[str, ...], reconcile_interval: float | None, no_reconcile: bool, database_url: str | None,
           log_level: str | None) -> None:
    """Run operation workers until SIGTERM/SIGINT."""
    opts: dict[str, Any] = ctx.obj or {}
    try:
        database = {"url": database_url} if database_url else {}
        settings = load_settings(opts.get("config"), data_dir=opts.get("data_dir"), database=database)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    from overcast.datadir import make_private
    from overcast.logs import configure

    make_private(settings.data_dir)

    configure(log_level or settings.server.log_level)
    changes: dict[str, Any] = {k: v for k, v in {"threads": threads, "poll_interval": poll_interval,
                                 "lease_seconds": lease_seconds}.items() if v is not None}
    ops = dataclasses.replace(settings.ops, **changes)
    try:
        setups = [load_setup(spec) for spec in handlers]
    except (ValueError, ImportError, AttributeError) as exc:
        raise click.ClickException(f"cannot load handler setup: {exc}") from None
    store = Store(settings.database_url)
    runtime = OpsRuntime(store, settings, ops, setups=setups, reconcile_interval=reconcile_interval)
    if not runtime.registry.kinds:
        click.echo("warning: no operation handlers registered (use --handlers)", err=True)
    run_until_signalled(runtime, reconcile=not no_reconcile)
    store.dispose()


def run_until_signalled(runtime: OpsRuntime, *, reconcile: bool = True) -> None:
    stop = threading.Event()

    def _stop(signum: int, _frame: Any) -> None:
        LOG.info("signal %d: stopping workers", signum)
        stop.set()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    runtime.start(reconcile=reconcile)
    LOG.info("worker running: kinds %s", ", ".join(runtime.registry.kinds) or "(none)")
    try:
        while not stop.wait(1.0):
            pass
    finally:
        runtime.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


if __name__ == "__main__":  # pragma: no cover
    worker()
