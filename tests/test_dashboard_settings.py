"""``overcast dashboard`` without Horizon: where things go and what the settings say (0022)."""

from __future__ import annotations

import importlib.util
import logging
import stat
import sys

import pytest
from click.testing import CliRunner

from overcast.config import load_settings
from overcast.dashboard import CONSTRAINTS, DEFAULT_PORT, HORIZON_VERSION, Dashboard, default_venv


@pytest.fixture
def board(tmp_path, monkeypatch):  # noqa: ANN001, ANN201
    monkeypatch.delenv("OVERCAST_DASHBOARD_VENV", raising=False)
    settings = load_settings(data_dir=tmp_path / "data", server={"port": 9999}, environ={})
    return Dashboard(settings, tmp_path / "venv")


def _module(path, name):  # noqa: ANN001, ANN202
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_settings_follow_overcast_and_keep_the_secret(board):
    board.write_settings()
    key = board.secret_key_path
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and len(key.read_text().strip()) >= 40
    first = key.read_text()
    board.write_settings()
    assert key.read_text() == first  # made once
    local = _module(board.settings_dir / "local" / "local_settings.py", "overcast_test_local_settings")
    assert local.OPENSTACK_KEYSTONE_URL == "http://127.0.0.1:9999/identity/v3"
    assert local.SESSION_ENGINE == "django.contrib.sessions.backends.signed_cookies"
    assert local.SECRET_KEY == first.strip() and local.DEBUG is False
    assert local.OPENSTACK_KEYSTONE_DEFAULT_DOMAIN == "Default"
    assert local.LOGGING["handlers"]["file"]["filename"] == str(board.log_path)
    assert (board.settings_dir / "overcast_dashboard_wsgi.py").exists()
    assert board.url == f"http://127.0.0.1:{DEFAULT_PORT}/"
    command = board.command()
    assert command[0].endswith("/bin/gunicorn") and f"127.0.0.1:{DEFAULT_PORT}" in command


def test_the_advisory_filter_only_lowers_openstack_auths_signed_cookie_notice(board):
    board.write_settings()
    sys.path.insert(0, str(board.settings_dir))
    try:
        module = _module(board.settings_dir / "overcast_dashboard_logging.py", "overcast_dashboard_logging")
    finally:
        sys.path.remove(str(board.settings_dir))
    advisory = logging.LogRecord("openstack_auth.backend", logging.ERROR, "", 0,
                                 "Using signed cookies as SESSION_ENGINE with ...", (), None)
    real = logging.LogRecord("openstack_dashboard.api.rest.utils", logging.ERROR, "", 0, "error invoking", (), None)
    assert module.Advisories().filter(advisory) and advisory.levelname == "WARNING"
    assert module.Advisories().filter(real) and real.levelname == "ERROR"


def test_horizon_is_pinned_and_lives_outside_overcasts_venv(monkeypatch, tmp_path):
    pins = CONSTRAINTS.read_text()
    assert f"horizon=={HORIZON_VERSION}" in pins and "Django==" in pins and "gunicorn==" in pins
    monkeypatch.delenv("OVERCAST_DASHBOARD_VENV", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_venv() == tmp_path / "overcast" / (f"horizon-{HORIZON_VERSION}-py{sys.version_info[0]}."
                                                      f"{sys.version_info[1]}")
    assert sys.prefix not in str(default_venv())


def test_cli_reports_a_failed_install(tmp_path, monkeypatch):
    from overcast import cli, dashboard

    def fail(self, progress=print):  # noqa: ANN001, ANN202
        raise dashboard.DashboardError("pip install failed (exit 1):\nno network")

    monkeypatch.setattr(dashboard.Dashboard, "install", fail)
    result = CliRunner().invoke(cli.main, ["--data-dir", str(tmp_path), "dashboard", "--prepare-only",
                                           "--venv", str(tmp_path / "v")])
    assert result.exit_code == 1 and "pip install failed" in result.output
