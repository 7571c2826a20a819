"""WSGI entry point for server processes: settings come from the environment ``overcast serve`` set."""

from __future__ import annotations

import atexit

import falcon

from overcast import logs
from overcast.app import build_operations, create_app
from overcast.config import load_settings


def application() -> falcon.App:
    """Factory called once in each server process: the app, and (``[ops] serve_workers``) this
    process's operation workers."""
    settings = load_settings()
    logs.configure(settings.server.log_level)
    app = create_app(settings)
    atexit.register(app.cdn.close)  # atexit runs in reverse: the workers stop first, then the CDN's drivers
    if settings.ops.serve_workers:  # else an API-only node: `overcast worker` processes do the work
        runtime = build_operations(app.compute, cdn=app.cdn).start()
        atexit.register(runtime.stop)
    return app
