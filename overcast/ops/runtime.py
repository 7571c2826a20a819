"""Everything the operations engine runs in one process, wired once: the handler registry, the
per-cloud breakers, the worker pool and the reconciler. ``overcast serve`` and ``overcast worker``
build one of these, let each service's setup function register into it, then start/stop it."""

from __future__ import annotations

import importlib
from typing import Any, Callable, Iterable

from overcast.config import Settings
from overcast.ops.breaker import Breakers
from overcast.ops.engine import OpsSettings, Registry, WorkerPool
from overcast.ops.reconciler import Reconciler
from overcast.store.db import Store

#: ``setup(runtime)``: registers handlers (runtime.registry) and reconcile functions (runtime.reconciler)
Setup = Callable[["OpsRuntime"], None]


class OpsRuntime:
    def __init__(self, store: Store, settings: Settings, ops: OpsSettings | None = None, *,
                 setups: Iterable[Setup] = (), reconcile_interval: float = 60.0, threads: int | None = None):
        self.store = store
        self.settings = settings
        self.ops = ops or OpsSettings()
        self.registry = Registry()
        self.breakers = Breakers(self.ops.breaker_threshold, self.ops.breaker_reset_seconds)
        self.pool = WorkerPool(store, self.registry, self.ops, threads=threads, breakers=self.breakers)
        self.reconciler = Reconciler(store, settings.regions, reconcile_interval, breakers=self.breakers)
        for setup in setups:
            setup(self)

    def start(self, *, reconcile: bool = True) -> "OpsRuntime":
        self.pool.start()
        if reconcile:
            self.reconciler.start()
        return self

    def stop(self) -> None:
        self.reconciler.stop()
        self.pool.stop()

    def stats(self) -> dict[str, Any]:
        return {**self.pool.stats(), "reconciler_runs": self.reconciler.runs}


def load_setup(spec: str) -> Setup:
    """``"package.module:function"`` -> the function."""
    module, _, attr = spec.partition(":")
    if not module or not attr:
        raise ValueError(f"handler setup {spec!r} is not of the form module:function")
    return getattr(importlib.import_module(module), attr)
