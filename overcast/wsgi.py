"""WSGI entry point for server processes: settings come from the environment ``overcast serve`` set."""

from __future__ import annotations

import falcon

from overcast import logs
from overcast.app import create_app
from overcast.config import load_settings


def application() -> falcon.App:
    """Factory called once in each server process."""
    settings = load_settings()
    logs.configure(settings.server.log_level)
    return create_app(settings)
