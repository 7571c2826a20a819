"""WSGI entry point for server processes: settings come from the environment ``overcast serve`` set."""

from __future__ import annotations

import atexit

import falcon

from overcast import logs
from overcast.app import build_operations, create_app
from overcast.config import load_settings
from overcast.datadir import make_private


def application() -> falcon.App:
    """Factory called once in each server process: the app, and (``[ops] serve_workers``) this
    process's operation workers."""
    settings = load_settings()
    make_private(settings.data_dir)
    logs.configure(settings.server.log_level)
    app = create_app(settings)
    if settings.ops.serve_workers:  # else an API-only node: `overcast worker` processes do the work
        runtime = build_operations(app.compute).start()
        atexit.register(runtime.stop)
    return app
