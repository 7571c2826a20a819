"""``overcast dashboard``: OpenStack's own dashboard (Horizon) over this Overcast, in one command.

Horizon pins Django and its own OpenStack clients, so it lives in a virtual environment of its own
(never Overcast's), installed once from PyPI with the versions in ``constraints.txt`` and shared by
every data directory (a user cache directory, keyed by Horizon's and Python's versions). What is
particular to one Overcast is written into its data directory, under ``dashboard/``:

- ``settings/local/local_settings.py``: Horizon's ``local_settings`` from Overcast's configuration
  (Keystone's URL, the default domain, signed-cookie sessions, logging to ``horizon.log``). It sits
  on ``PYTHONPATH`` before Horizon, so Horizon's ``from local.local_settings import *`` finds it and
  nothing is written inside Horizon's package.
- ``secret_key``: Django's secret key, made once (mode 0600) and read by the settings.
- ``settings/overcast_dashboard_wsgi.py``: Horizon's WSGI application behind whitenoise, which
  serves the collected and compressed static files.

It is served by gunicorn (a production WSGI server) on ``127.0.0.1:8781`` by default, next to
``overcast serve``.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from overcast.config import Settings

HORIZON_VERSION = "27.0.0"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8781
CONSTRAINTS = Path(__file__).with_name("constraints.txt")
#: the marker of a finished install (holds the constraints' hash, so a changed pin reinstalls)
INSTALLED = ".overcast-installed"
#: the marker of collected and compressed static files
STATIC_DONE = ".overcast-static"

Progress = Callable[[str], None]


class DashboardError(RuntimeError):
    """Installing, preparing or starting Horizon failed; the message says which step and why."""


def default_venv() -> Path:
    """``$OVERCAST_DASHBOARD_VENV``, else ``$XDG_CACHE_HOME/overcast/horizon-<version>-py<X.Y>``."""
    given = os.environ.get("OVERCAST_DASHBOARD_VENV")
    if given:
        return Path(given)
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "overcast" / f"horizon-{HORIZON_VERSION}-py{sys.version_info[0]}.{sys.version_info[1]}"


@dataclass(frozen=True)
class Dashboard:
    """Where one Overcast's dashboard lives and what it serves."""

    settings: Settings
    venv: Path
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    workers: int = 2

    @property
    def home(self) -> Path:
        return (self.settings.data_dir / "dashboard").resolve()

    @property
    def settings_dir(self) -> Path:
        return self.home / "settings"

    @property
    def secret_key_path(self) -> Path:
        return self.home / "secret_key"

    @property
    def log_path(self) -> Path:
        return self.home / "horizon.log"

    @property
    def static_root(self) -> Path:
        return self.venv / "static"

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def keystone_url(self) -> str:
        return f"{self.settings.public_url}/identity/v3"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    # -- the virtual environment ---------------------------------------------------------------

    def constraints_hash(self) -> str:
        return hashlib.sha256(CONSTRAINTS.read_bytes()).hexdigest()

    def installed(self) -> bool:
        marker = self.venv / INSTALLED
        return self.python.exists() and marker.exists() and marker.read_text().strip() == self.constraints_hash()

    def install(self, progress: Progress = print) -> None:
        """Make Horizon's virtual environment and install the pinned Horizon into it (once).

        :raises DashboardError: venv creation or pip failed (pip's output is in the message).
        """
        if self.installed():
            return
        self.venv.parent.mkdir(parents=True, exist_ok=True)
        if not self.python.exists():
            progress(f"creating Horizon's virtual environment in {self.venv}")
            _run([sys.executable, "-m", "venv", str(self.venv)], "python -m venv")
        progress(f"installing Horizon {HORIZON_VERSION} and its pinned dependencies (a minute or two)")
        _run([str(self.python), "-m", "pip", "install", "--disable-pip-version-check", "-q",
              "-c", str(CONSTRAINTS), f"horizon=={HORIZON_VERSION}", "gunicorn", "whitenoise"], "pip install")
        (self.venv / STATIC_DONE).unlink(missing_ok=True)
        (self.venv / INSTALLED).write_text(self.constraints_hash() + "\n")

    # -- settings ------------------------------------------------------------------------------

    def secret_key(self) -> str:
        """The data directory's Django secret key, made on first use (readable by its owner only)."""
        path = self.secret_key_path
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(".secret_key.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48) + "\n")
            os.replace(tmp, path)
        return path.read_text().strip()

    def write_settings(self) -> None:
        """Write ``local_settings.py`` and the WSGI module for this data directory (every start)."""
        self.secret_key()
        local = self.settings_dir / "local"
        local.mkdir(parents=True, exist_ok=True)
        (local / "__init__.py").write_text("")
        (local / "local_settings.py").write_text(self.local_settings())
        (self.settings_dir / "overcast_dashboard_wsgi.py").write_text(WSGI)
        (self.settings_dir / "overcast_dashboard_logging.py").write_text(LOGGING_FILTER)

    def local_settings(self) -> str:
        hosts = sorted({self.host, "127.0.0.1", "localhost"})
        return LOCAL_SETTINGS.format(
            keystone_url=self.keystone_url, secret_key_path=str(self.secret_key_path), allowed_hosts=hosts,
            static_root=str(self.static_root), log_path=str(self.log_path),
            session_timeout=self.settings.identity.token_expiration)

    def environ(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "PYTHON", "DJANGO_"))}
        env["PYTHONPATH"] = str(self.settings_dir)
        env["DJANGO_SETTINGS_MODULE"] = "openstack_dashboard.settings"
        env["PATH"] = f"{self.venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        return env

    def collect_static(self, progress: Progress = print) -> None:
        """Collect Horizon's static files and compress them offline (once per virtual environment).

        :raises DashboardError:
        """
        if (self.venv / STATIC_DONE).exists():
            return
        progress("collecting and compressing Horizon's static files (once)")
        admin = [str(self.python), "-m", "django"]
        _run(admin + ["collectstatic", "--noinput", "--clear", "-v", "0"], "django-admin collectstatic",
             env=self.environ())
        _run(admin + ["compress", "--force", "-v", "0"], "django-admin compress", env=self.environ())
        (self.venv / STATIC_DONE).write_text(HORIZON_VERSION + "\n")

    def prepare(self, progress: Progress = print) -> None:
        """Everything before serving: install, settings, static files. :raises DashboardError:"""
        self.install(progress)
        self.write_settings()
        self.collect_static(progress)

    def command(self) -> list[str]:
        """gunicorn serving the dashboard (threads: a page makes several slow API calls)."""
        return [str(self.venv / "bin" / "gunicorn"), "--bind", f"{self.host}:{self.port}",
                "--workers", str(self.workers), "--threads", "4", "--timeout", "120",
                "--chdir", str(self.settings_dir), "--error-logfile", "-", "--log-level", "warning",
                "overcast_dashboard_wsgi:application"]


def _run(argv: list[str], what: str, env: dict[str, str] | None = None) -> None:
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-30:])
        raise DashboardError(f"{what} failed (exit {proc.returncode}):\n{tail}")


WSGI = '''"""Horizon behind whitenoise (written by ``overcast dashboard``)."""

from django.conf import settings
from django.core.wsgi import get_wsgi_application
from whitenoise import WhiteNoise

application = WhiteNoise(get_wsgi_application(), root=settings.STATIC_ROOT, prefix=settings.STATIC_URL,
                         max_age=3600)
'''

LOGGING_FILTER = '''"""Horizon's log filter (written by ``overcast dashboard``)."""

import logging

#: (logger, start of message) of what openstack_auth logs at ERROR although nothing failed: with
#: signed-cookie sessions a user who also holds a domain role (Overcast's admin does) logs in with
#: the project token only, and openstack_auth says so at every login.
ADVISORIES = (("openstack_auth.backend", "Using signed cookies as SESSION_ENGINE"),)


class Advisories(logging.Filter):
    """Logs those records at WARNING, so ERROR in horizon.log always means something failed."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR and any(
                record.name == name and str(record.msg).startswith(start) for name, start in ADVISORIES):
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True
'''

LOCAL_SETTINGS = textwrap.dedent('''\
    """Horizon's settings for this Overcast, written by ``overcast dashboard`` at every start:
    edit Overcast's configuration instead of this file."""

    from pathlib import Path

    DEBUG = False
    WEBROOT = "/"
    ALLOWED_HOSTS = {allowed_hosts!r}
    SECRET_KEY = Path({secret_key_path!r}).read_text().strip()

    OPENSTACK_HOST = "127.0.0.1"
    OPENSTACK_KEYSTONE_URL = {keystone_url!r}
    OPENSTACK_KEYSTONE_MULTIDOMAIN_SUPPORT = False
    OPENSTACK_KEYSTONE_DEFAULT_DOMAIN = "Default"
    OPENSTACK_KEYSTONE_DEFAULT_ROLE = "member"
    OPENSTACK_API_VERSIONS = {{"identity": 3, "image": 2, "volume": 3, "compute": 2}}
    OPENSTACK_SSL_NO_VERIFY = False

    # sessions live in a signed cookie: no session store to run or share between workers
    SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_TIMEOUT = {session_timeout}
    CACHES = {{"default": {{"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}}}

    STATIC_ROOT = {static_root!r}
    COMPRESS_ROOT = STATIC_ROOT
    COMPRESS_OFFLINE = True

    LOGGING = {{
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {{"plain": {{"format": "%(asctime)s %(process)d %(levelname)s %(name)s %(message)s"}}}},
        "filters": {{"advisories": {{"()": "overcast_dashboard_logging.Advisories"}}}},
        "handlers": {{"file": {{"class": "logging.FileHandler", "filename": {log_path!r}, "formatter": "plain",
                              "level": "INFO", "filters": ["advisories"]}}}},
        "root": {{"handlers": ["file"], "level": "WARNING"}},
        "loggers": {{name: {{"handlers": ["file"], "level": "INFO", "propagate": False}}
                    for name in ("horizon", "openstack_dashboard", "openstack_auth", "django")}},
    }}
''')
