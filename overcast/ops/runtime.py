"""Everything the operations engine runs in one process, wired once: the handler registry, the
per-cloud limits and breakers, the worker pool and the reconciler. ``overcast serve`` and
``overcast worker`` build one of these, let each service's setup function register into it, then
start/stop it."""

from __future__ import annotations

import importlib
from typing import Any, Callable, Iterable

from overcast.config import OpsSettings, Settings
from overcast.ops.calls import Backends
from overcast.ops.engine import Registry, WorkerPool
from overcast.ops.reconciler import Reconciler
from overcast.store.db import Store

#: ``setup(runtime)``: registers handlers (runtime.registry) and reconcile functions (runtime.reconciler)
Setup = Callable[["OpsRuntime"], None]


class OpsRuntime:
    """``ops`` defaults to ``settings.ops`` (the ``[ops]`` section); ``backends`` to one made from
    ``settings`` (pass the one the request path uses, so both share breakers)."""

    def __init__(self, store: Store, settings: Settings, ops: OpsSettings | None = None, *,
                 setups: Iterable[Setup] = (), reconcile_interval: float | None = None, threads: int | None = None,
                 backends: Backends | None = None):
        self.store = store
        self.settings = settings
        self.ops = ops or settings.ops
        self.backends = backends or Backends.from_settings(settings, self.ops)
        self.breakers = self.backends.breakers
        self.registry = Registry()
        self.pool = WorkerPool(store, self.registry, self.ops, threads=threads, backends=self.backends)
        interval = reconcile_interval if reconcile_interval is not None else self.ops.reconcile_interval
        self.reconciler = Reconciler(store, settings.regions, interval, breakers=self.breakers)
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
