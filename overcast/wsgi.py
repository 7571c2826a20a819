"""WSGI entry point for server processes: settings come from the environment ``overcast serve`` set."""

from __future__ import annotations

import atexit
import threading
import time
from typing import Any, Callable

from overcast import logs
from overcast.app import build_operations, create_app
from overcast.config import load_settings
from overcast.datadir import make_private
from overcast.serving import Drain


def application() -> Callable[..., Any]:
    """Factory called once in each server process: the app, (``[ops] serve_workers``) this
    process's operation workers, and the drain that lets a stop signal end the process once its
    requests in flight are answered."""
    settings = load_settings()
    make_private(settings.data_dir)
    logs.configure(settings.server.log_level)
    app = create_app(settings)
    atexit.register(app.cdn.close)  # atexit runs in reverse: the workers stop first, then the CDN's drivers
    runtime = None
    if settings.ops.serve_workers:  # else an API-only node: `overcast worker` processes do the work
        runtime = build_operations(app.compute, cdn=app.cdn).start()
        if app.metrics is not None:
            app.metrics.watch_breakers(runtime.breakers)
    stopped = threading.Lock()

    def stop(left: float = settings.server.stop_grace) -> None:
        """Stop the reconciler and the operation workers side by side, within ``left`` seconds (an
        operation cut short resumes elsewhere when its lease expires)."""
        if runtime is None or not stopped.acquire(blocking=False):
            return
        deadline = time.monotonic() + left
        reconciler = threading.Thread(target=runtime.reconciler.stop, kwargs={"timeout": left}, daemon=True)
        reconciler.start()
        runtime.pool.stop(grace=left)
        reconciler.join(max(0.0, deadline - time.monotonic()))

    atexit.register(stop)
    drain = Drain(app, stop, grace=settings.server.stop_grace)
    if threading.current_thread() is threading.main_thread():
        drain.install()
    app.drain = drain
    return drain
