"""Overcast's WSGI app for the server comparison (docs/decisions/0001-wsgi-server.md).

Builds ``create_app(load_settings(data_dir=$OVERCAST_BENCH_DATA_DIR))`` at import, the way a
WSGI server's ``module:app`` target needs. The data directory must already hold Fernet keys and
a migrated database: ``python -m benchmarks.overcast_app prepare DIR`` makes them. ``overcast
serve`` does this itself; this module exists so any WSGI server can be pointed at Overcast.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def _settings(data_dir: str):
    from overcast.config import load_settings

    return load_settings(data_dir=data_dir)


def prepare(data_dir: str) -> None:
    from overcast.core.keys import KeyRepository
    from overcast.store.db import Store

    settings = _settings(data_dir)
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    KeyRepository(settings.key_repository, settings.identity.max_active_keys).setup()
    store = Store(settings.database_url)
    store.upgrade()
    store.dispose()


def _build():
    from overcast.app import create_app

    data_dir = os.environ.get("OVERCAST_BENCH_DATA_DIR")
    if not data_dir:
        raise RuntimeError("set OVERCAST_BENCH_DATA_DIR (see python -m benchmarks.overcast_app prepare DIR)")
    return create_app(_settings(data_dir))


def __getattr__(name: str):
    # ``module:app`` is built on first access, so importing ``prepare`` needs no data directory.
    if name == "app":
        globals()["app"] = built = _build()
        return built
    raise AttributeError(name)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "prepare":
        sys.exit("usage: python -m benchmarks.overcast_app prepare DATA_DIR")
    prepare(sys.argv[2])
