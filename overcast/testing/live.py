"""A live ``overcast serve`` for tests and tools: real process, real port, real clients.

Usage::

    with LiveServer(env={"OVERCAST_DATABASE_URL": url}) as server:
        server.base_url            # http://127.0.0.1:PORT
        server.auth_url            # http://127.0.0.1:PORT/identity
        server.clouds_yaml         # Path to DIR/clouds.yaml
        server.cloud("overcast")   # that cloud's entry from clouds.yaml, parsed

The server is started as ``python -m overcast serve`` on a free loopback port with its own
data directory. Start-up is detected by polling ``/identity`` until it answers (any HTTP
status), never by sleeping a fixed time; if the process dies or the deadline passes, the
error carries the tail of the server's output. Stopping sends SIGTERM to the server's
process group, then SIGKILL if it has not exited within a grace period.

PostgreSQL: :func:`create_postgres_database` makes a fresh, uniquely named database from an
admin URL (``postgresql://user:pass@127.0.0.1:5432/postgres``) and returns its URL, to pass
as ``OVERCAST_DATABASE_URL``; :func:`drop_postgres_database` removes it again.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, TypeVar

import yaml

__all__ = [
    "CLIError",
    "LiveServer",
    "OpenStackCLI",
    "LiveServerError",
    "create_postgres_database",
    "drop_postgres_database",
    "free_port",
    "wait_for",
]

LOOPBACK = "127.0.0.1"
T = TypeVar("T")
#: how long :meth:`LiveServer.start` waits, by default, for the server to answer: generous, since a
#: loaded 2-core CI machine took more than 30 s (the old default) to start one twice. The wait is a
#: condition (polled every 20 ms at first), so a server that answers sooner is not waited for any
#: longer, and one that exits fails the start at once, whatever the deadline.
STARTUP_TIMEOUT = 180.0


class LiveServerError(RuntimeError):
    """The server could not be started (or a condition was not met in time)."""


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port on ``host`` that was free a moment ago (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def wait_for(
    condition: Callable[[], T],
    timeout: float = 30.0,
    *,
    interval: float = 0.02,
    max_interval: float = 0.5,
    description: str = "condition",
    on_timeout: Callable[[], str] | None = None,
) -> T:
    """Call ``condition`` until it returns a truthy value; return that value.

    Polls with a short interval that backs off (x1.5) up to ``max_interval``.
    ``condition`` may raise :class:`LiveServerError` to give up early.

    :raises LiveServerError: the deadline passed; the message ends with ``on_timeout()``.
    """
    deadline = time.monotonic() + timeout
    delay = interval
    while True:
        value = condition()
        if value:
            return value
        now = time.monotonic()
        if now >= deadline:
            detail = on_timeout() if on_timeout else ""
            raise LiveServerError(f"timed out after {timeout:.0f}s waiting for {description}" +
                                  (f"\n{detail}" if detail else ""))
        time.sleep(min(delay, deadline - now))
        delay = min(delay * 1.5, max_interval)


class LiveServer:
    """One ``overcast serve`` subprocess on a free loopback port with its own data directory.

    :param data_dir: use this directory (created if missing) instead of a fresh temporary one;
        a temporary directory is removed on :meth:`stop`, a given one is kept.
    :param env: extra environment for the server, e.g. ``{"OVERCAST_DATABASE_URL": ...}``.
    :param config: path of an ``overcast.toml`` passed as ``--config``.
    :param workers: ``--workers``.
    :param bcrypt_rounds: set as ``OVERCAST_IDENTITY_BCRYPT_ROUNDS`` unless ``env`` sets it
        (4 keeps tests fast; ``None`` leaves the server's default).
    :param startup_timeout: seconds to wait at most for ``/identity`` to answer (and its
        clouds.yaml to be written); :data:`STARTUP_TIMEOUT` by default.
    """

    def __init__(
        self,
        data_dir: str | os.PathLike[str] | None = None,
        *,
        env: Mapping[str, str] | None = None,
        config: str | os.PathLike[str] | None = None,
        workers: int | None = None,
        host: str = LOOPBACK,
        port: int | None = None,
        bcrypt_rounds: int | None = 4,
        startup_timeout: float = STARTUP_TIMEOUT,
        stop_timeout: float = 10.0,
        python: str = sys.executable,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        if host not in (LOOPBACK, "localhost"):
            raise ValueError("a live test server only ever listens on loopback")
        self.host = LOOPBACK
        self._requested_port = port
        self.port: int = 0
        self._given_data_dir = Path(data_dir) if data_dir is not None else None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.data_dir: Path = Path()
        self.env = dict(env or {})
        if bcrypt_rounds is not None:
            self.env.setdefault("OVERCAST_IDENTITY_BCRYPT_ROUNDS", str(bcrypt_rounds))
        self.config = Path(config) if config is not None else None
        self.workers = workers
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self.python = python
        self.extra_args = tuple(extra_args)
        self.process: subprocess.Popen[bytes] | None = None
        self._log_file: Any = None
        self._clouds: dict[str, Any] | None = None
        self.startup_seconds: float | None = None

    # -- properties -----------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def auth_url(self) -> str:
        """Keystone's root (version discovery), as written into clouds.yaml."""
        return f"{self.base_url}/identity"

    @property
    def identity_v3_url(self) -> str:
        return f"{self.auth_url}/v3"

    @property
    def identity_v2_url(self) -> str:
        return f"{self.auth_url}/v2.0"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "serve.log"

    @property
    def clouds_yaml(self) -> Path:
        return self.data_dir / "clouds.yaml"

    @property
    def clouds(self) -> dict[str, Any]:
        """The ``clouds:`` mapping of clouds.yaml (read once, after start-up)."""
        if self._clouds is None:
            self._clouds = self._read_clouds()
        return self._clouds

    def cloud(self, name: str = "overcast") -> dict[str, Any]:
        """A deep copy of one cloud's entry from clouds.yaml."""
        try:
            return copy.deepcopy(self.clouds[name])
        except KeyError:
            raise KeyError(f"cloud {name!r} not in {self.clouds_yaml} (have: {sorted(self.clouds)})") from None

    def password(self, cloud: str) -> str:
        return self.clouds[cloud]["auth"]["password"]

    @property
    def admin_password(self) -> str:
        return self.password("overcast-admin")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    # -- lifecycle --------------------------------------------------------------------------

    def command(self) -> list[str]:
        cmd = [self.python, "-m", "overcast", "serve", "--host", self.host, "--port", str(self.port),
               "--data-dir", str(self.data_dir)]
        if self.config is not None:
            cmd += ["--config", str(self.config)]
        if self.workers is not None:
            cmd += ["--workers", str(self.workers)]
        return cmd + list(self.extra_args)

    def start(self) -> "LiveServer":
        """Start the server and wait until ``/identity`` answers.

        A port taken between picking and binding is retried with another port (unless the
        caller fixed the port).

        :raises LiveServerError: the server exited or did not answer in time.
        """
        if self.process is not None:
            raise LiveServerError("already started")
        if self._given_data_dir is not None:
            self._given_data_dir.mkdir(parents=True, exist_ok=True)
            self.data_dir = self._given_data_dir.resolve()
        else:
            self._tmp = tempfile.TemporaryDirectory(prefix="overcast-live-")
            self.data_dir = Path(self._tmp.name)
        attempts = 1 if self._requested_port else 3
        for attempt in range(attempts):
            self.port = self._requested_port or free_port(self.host)
            try:
                self._spawn_and_wait()
                return self
            except LiveServerError as exc:
                text = str(exc).lower()
                in_use = "address already in use" in text or "address in use" in text
                self._terminate()
                if not in_use or attempt == attempts - 1:
                    self._cleanup_dir()
                    raise
        raise AssertionError("unreachable")

    def _spawn_and_wait(self) -> None:
        env = dict(os.environ)
        # The parent's OVERCAST_* settings must not leak into a test server unless asked for.
        for key in list(env):
            if key.startswith("OVERCAST_"):
                del env[key]
        env.update(self.env)
        env.setdefault("PYTHONUNBUFFERED", "1")
        self._log_file = open(self.log_path, "ab")
        self._log_offset = self._log_file.tell()
        began = time.monotonic()
        self.process = subprocess.Popen(
            self.command(), env=env, stdin=subprocess.DEVNULL, stdout=self._log_file,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
        wait_for(self._answers, self.startup_timeout, description=f"{self.auth_url} to answer",
                 on_timeout=lambda: self.output_tail())
        self.startup_seconds = time.monotonic() - began
        self._clouds = None
        # the same deadline (at least 5 s more), not a short one of its own
        wait_for(self.clouds_yaml.exists, max(5.0, self.startup_timeout - self.startup_seconds),
                 description=f"{self.clouds_yaml}", on_timeout=lambda: self.output_tail())

    def _answers(self) -> bool:
        assert self.process is not None
        code = self.process.poll()
        if code is not None:
            raise LiveServerError(f"overcast serve exited with status {code} before answering\n"
                                  f"{self.output_tail()}")
        try:
            with urllib.request.urlopen(self.auth_url, timeout=2):
                return True
        except urllib.error.HTTPError:
            return True  # any HTTP answer (Keystone says 300 here) means it is serving
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            return False

    def output(self) -> str:
        """Everything the server wrote to stdout/stderr since the last start."""
        try:
            with open(self.log_path, "rb") as fh:
                fh.seek(getattr(self, "_log_offset", 0))
                return fh.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def leaked_secrets(self) -> list[str]:
        """Lines of the server's whole log that carry a secret: a password of its clouds.yaml, one
        of its Fernet or credential keys, or anything shaped like a token (Fernet tokens start
        ``gAAAAA``). The drills' log scan, run over every live server's log (tests/live/conftest.py)."""
        try:
            text = self.log_path.read_text("utf-8", "replace")
        except OSError:
            return []
        secrets: dict[str, str] = {}
        if self.clouds_yaml.exists():
            for name, cloud in self.clouds.items():
                password = cloud.get("auth", {}).get("password")
                if password:
                    secrets[f"the password of cloud {name}"] = password
        for folder in ("fernet-keys", "credential-keys"):
            for key in sorted((self.data_dir / folder).glob("*")):
                if key.is_file():
                    secrets[f"{folder}/{key.name}"] = key.read_text().strip()
        token = re.compile(r"gAAAAA[A-Za-z0-9_\-]{20,}")
        found = []
        for line in text.splitlines():
            named = [name for name, value in secrets.items() if len(value) >= 8 and value in line]
            if token.search(line):
                named.append("a token")
            if named:
                found.append(f"{', '.join(named)}: {line[:200]}")
        return found

    def loose_paths(self) -> list[str]:
        """What in the data directory others than its owner may read or enter (group or other
        permission bits): everything the server and its drivers made there must be private
        (docs/decisions/0029-secrets-at-rest.md). The server's own log, opened by this harness
        before the server started, is tightened by the server at start like any older file."""
        loose = []
        for path in [self.data_dir, *self.data_dir.rglob("*")]:
            try:
                info = path.lstat()
            except OSError:  # removed meanwhile
                continue
            if not stat.S_ISLNK(info.st_mode) and stat.S_IMODE(info.st_mode) & 0o077:
                loose.append(f"{oct(stat.S_IMODE(info.st_mode))} {path.relative_to(self.data_dir)}")
        return loose

    def output_tail(self, lines: int = 60) -> str:
        text = self.output().rstrip("\n").splitlines()[-lines:]
        cmd = " ".join(self.command()) if self.data_dir != Path() else ""
        return (f"--- overcast serve output (last {len(text)} lines; {cmd}) ---\n"
                + "\n".join(text) + "\n--- end ---")

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after ``stop_timeout``; remove a temporary data directory."""
        self._terminate()
        self._cleanup_dir()

    def restart(self) -> "LiveServer":
        """Stop the process (keeping the data directory) and start it again on the same port."""
        self._terminate()
        self._requested_port = self.port
        self._given_data_dir = self.data_dir
        self.process = None
        return self.start()

    def _terminate(self) -> None:
        proc = self.process
        if proc is not None and proc.poll() is None:
            self._signal(proc, signal.SIGTERM)
            try:
                proc.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                self._signal(proc, signal.SIGKILL)
                proc.wait(5)
        if proc is not None:
            # Reap anything left in the server's own process group (WSGI workers).
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        self.process = None
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    @staticmethod
    def _signal(proc: subprocess.Popen[bytes], sig: int) -> None:
        # start_new_session=True made the server the leader of its own process group.
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(sig)

    def _cleanup_dir(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> "LiveServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- helpers ---------------------------------------------------------------------------

    def _read_clouds(self) -> dict[str, Any]:
        data = yaml.safe_load(self.clouds_yaml.read_text())
        if not isinstance(data, dict) or not isinstance(data.get("clouds"), dict):
            raise LiveServerError(f"{self.clouds_yaml} has no 'clouds' mapping")
        return data["clouds"]

    def write_clouds_yaml(self, path: str | os.PathLike[str], extra: Mapping[str, Any]) -> Path:
        """Write a clouds.yaml holding the server's clouds plus ``extra`` entries; return its path."""
        clouds = copy.deepcopy(self.clouds)
        clouds.update(copy.deepcopy(dict(extra)))
        path = Path(path)
        path.write_text(yaml.safe_dump({"clouds": clouds}, sort_keys=False))
        return path

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<LiveServer {self.base_url} {state} data_dir={self.data_dir}>"


# -- real clients ---------------------------------------------------------------------------

class CLIError(AssertionError):
    """The ``openstack`` CLI exited non-zero (the message carries the command and its stderr)."""

    def __init__(self, argv: list[str], returncode: int, stdout: str, stderr: str) -> None:
        self.argv, self.returncode, self.stdout, self.stderr = argv, returncode, stdout, stderr
        super().__init__(f"`{' '.join(argv)}` exited {returncode}\nstdout:\n{stdout}\nstderr:\n{stderr}")


def openstack_executable() -> str:
    """The ``openstack`` console script installed beside this Python (the venv's, unmodified)."""
    return str(Path(sys.executable).parent / "openstack")


class OpenStackCLI:
    """Runs the unmodified ``openstack`` CLI against a clouds.yaml.

    ``cli("project", "list")`` runs ``openstack --os-cloud overcast project list -f json``
    and returns the parsed JSON; ``cli.run(...)`` runs without ``-f json`` (for commands that
    print nothing) and returns the completed process. Both raise :class:`CLIError` on a
    non-zero exit unless ``check=False``. The caller's ``OS_*`` environment is dropped so
    only the clouds.yaml speaks.
    """

    def __init__(self, clouds_yaml: str | os.PathLike[str], cloud: str = "overcast",
                 executable: str | None = None, timeout: float = 120.0) -> None:
        self.clouds_yaml = Path(clouds_yaml)
        self.cloud = cloud
        self.executable = executable or openstack_executable()
        self.timeout = timeout

    def using(self, cloud: str, clouds_yaml: str | os.PathLike[str] | None = None) -> "OpenStackCLI":
        """The same CLI for another cloud (and optionally another clouds.yaml)."""
        return OpenStackCLI(clouds_yaml or self.clouds_yaml, cloud, self.executable, self.timeout)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        env["OS_CLIENT_CONFIG_FILE"] = str(self.clouds_yaml)
        return env

    def argv(self, args: tuple[str, ...], cloud: str | None) -> list[str]:
        cloud = self.cloud if cloud is None else cloud
        return [self.executable] + (["--os-cloud", cloud] if cloud else []) + [str(a) for a in args]

    def run(self, *args: str, cloud: str | None = None, check: bool = True,
            env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        argv = self.argv(args, cloud)
        full_env = self.env()
        full_env.update(env or {})
        proc = subprocess.run(argv, env=full_env, capture_output=True, text=True, timeout=self.timeout,
                              stdin=subprocess.DEVNULL)
        if check and proc.returncode != 0:
            raise CLIError(argv, proc.returncode, proc.stdout, proc.stderr)
        return proc

    def __call__(self, *args: str, cloud: str | None = None, env: Mapping[str, str] | None = None) -> Any:
        proc = self.run(*args, "-f", "json", cloud=cloud, env=env)
        try:
            return json.loads(proc.stdout)
        except ValueError:
            raise CLIError(self.argv(args, cloud), proc.returncode,
                           proc.stdout, "(output is not JSON)\n" + proc.stderr) from None

    def fails(self, *args: str, cloud: str | None = None) -> CLIError:
        """Run a command that must fail; return the error (stdout/stderr) for inspection."""
        proc = self.run(*args, cloud=cloud, check=False)
        argv = self.argv(args, cloud)
        if proc.returncode == 0:
            raise AssertionError(f"`{' '.join(argv)}` succeeded but should have failed:\n{proc.stdout}")
        return CLIError(argv, proc.returncode, proc.stdout, proc.stderr)


def in_region(cli: OpenStackCLI, region: str) -> Callable[..., Any]:
    """``cli`` with ``--os-region-name region`` before every command."""
    def run(*args: str) -> Any:
        return cli("--os-region-name", region, *args)
    return run


def sdk_connect(clouds_yaml: str | os.PathLike[str], cloud: str = "overcast", **kwargs: Any) -> Any:
    """An ``openstack.connection.Connection`` for one cloud of ``clouds_yaml`` (env ignored)."""
    import openstack
    from openstack.config import loader

    config = loader.OpenStackConfig(config_files=[str(clouds_yaml)], load_envvars=False,
                                    secure_files=[], vendor_files=[])
    region = config.get_one(cloud=cloud, **kwargs)
    return openstack.connection.Connection(config=region)


# -- PostgreSQL -----------------------------------------------------------------------------

def _pg_connect_url(url: str) -> str:
    """psycopg wants a libpq URL: drop any SQLAlchemy driver suffix (postgresql+psycopg://)."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme.split('+', 1)[0]}{sep}{rest}"


def _with_database(url: str, database: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + database))


def create_postgres_database(admin_url: str, prefix: str = "overcast_test") -> str:
    """Create a fresh database through ``admin_url``; return a URL for it (same credentials)."""
    import psycopg
    from psycopg import sql

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_pg_connect_url(admin_url), autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return _with_database(admin_url, name)


def drop_postgres_database(admin_url: str, database_url: str) -> None:
    """Drop the database named in ``database_url`` (connections to it are terminated first)."""
    import psycopg
    from psycopg import sql

    name = urllib.parse.urlsplit(database_url).path.lstrip("/")
    with psycopg.connect(_pg_connect_url(admin_url), autocommit=True, connect_timeout=10) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                     "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


@contextlib.contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """A fresh database for the duration of the block."""
    url = create_postgres_database(admin_url)
    try:
        yield url
    finally:
        drop_postgres_database(admin_url, url)


class CreateBurst:
    """Server creates POSTed from many threads while the server is killed with -9 midway (the
    crash drills): what each answered, the ids of the 202s, and how many were in before the kill."""

    def __init__(self) -> None:
        import collections
        import threading

        self.accepted: list[str] = []
        self.outcomes: collections.Counter[str] = collections.Counter()
        self.killed_at = 0
        self.seconds = 0.0
        self._lock = threading.Lock()

    def run(self, server: "LiveServer", url: str, headers: Mapping[str, str], bodies: list[dict[str, Any]], *,
            kill_after: int, threads: int, allowance: float) -> "CreateBurst":
        """POST every body to ``url``/servers from ``threads`` threads; once ``kill_after`` were
        accepted (within ``allowance`` seconds), kill ``server``'s process group (granian's main
        process and its workers) with SIGKILL, then let the other requests fail or finish."""
        import threading
        from concurrent.futures import ThreadPoolExecutor

        import requests

        enough = threading.Event()

        def create(body: dict[str, Any]) -> None:
            try:
                resp = requests.post(f"{url}/servers", json=body, timeout=30, headers=dict(headers))
            except requests.RequestException as exc:
                with self._lock:
                    self.outcomes[type(exc).__name__] += 1
                return
            with self._lock:
                self.outcomes[str(resp.status_code)] += 1
                if resp.status_code == 202:
                    self.accepted.append(resp.json()["server"]["id"])
                    if len(self.accepted) >= kill_after:
                        enough.set()

        began = time.monotonic()
        with ThreadPoolExecutor(max_workers=threads) as pool:
            futures = [pool.submit(create, body) for body in bodies]
            if not enough.wait(allowance):
                raise AssertionError(f"fewer than {kill_after} creates were accepted in {allowance:g} s: "
                                     f"{dict(self.outcomes)}")
            assert server.process is not None
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait(10)
            self.killed_at = len(self.accepted)
            for future in futures:
                future.result(timeout=60)
        self.seconds = time.monotonic() - began
        return self

    def check(self, total: int) -> None:
        """No 5xx during the burst, and the kill came before every create had answered."""
        assert not any(code.startswith("5") for code in self.outcomes), f"5xx during the burst: {dict(self.outcomes)}"
        assert len(self.accepted) < total, "the kill came after every create had answered: nothing was tested"

    def __str__(self) -> str:
        return (f"burst: {dict(self.outcomes)}; 202s before the kill: {self.killed_at}, in all: {len(self.accepted)} "
                f"({self.seconds:.1f}s)")
