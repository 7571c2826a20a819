"""Overcast's WSGI app with a chosen number of operation worker threads, for ``benchmarks.compute``.

``overcast serve`` always runs the engine's default worker threads in each server process; the
create-throughput benchmark needs 1 and 4, so it serves this factory instead (same app, same
granian server)::

    OVERCAST_DATA_DIR=... OVERCAST_BENCH_OPS_THREADS=1 granian --interface wsgi --factory \\
        benchmarks.compute_app:application

The data directory must have been bootstrapped by one ``overcast serve`` start first.
"""

from __future__ import annotations

import atexit
import os


def application():  # noqa: ANN201 - a falcon.App
    from overcast import logs
    from overcast.app import build_operations, create_app
    from overcast.config import load_settings
    from overcast.ops.engine import OpsSettings

    settings = load_settings()
    logs.configure(settings.server.log_level)
    app = create_app(settings)
    threads = int(os.environ.get("OVERCAST_BENCH_OPS_THREADS", "4"))
    runtime = build_operations(app.compute, OpsSettings(threads=threads)).start()
    atexit.register(runtime.stop)
    return app
