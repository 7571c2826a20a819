"""The ``varnish`` CDN provider: a real local edge, for the embedded default and for self-hosters.

The driver keeps the services it serves in a SQLite file of its own (``varnish.db`` in its data
directory) and renders one VCL from all of them (:mod:`.vcl`). Every change loads a new VCL into
the running varnishd with ``vcl.inline`` + ``vcl.use`` over its management CLI (:mod:`.cli`), which
switches without dropping a request; older VCLs are discarded once cold. The render and the load
happen inside the file's write transaction, so two workers (or processes) never load VCLs out of
order. A deployment is therefore done when ``create``/``update`` return.

Purges are bans on the objects' service and URL headers (lurker-friendly). Request counts and bytes
per domain come from a ``varnishncsa`` daemon the driver runs, writing one line per request
(``<host> <bytes> <epoch>``); with ``log_delivery`` each service also gets its own access log
(``varnishncsa -q`` on its service id) under ``<data_dir>/logs/<service_id>.log``.

Options:

- ``manage`` (false): Overcast starts varnishd itself (on first use) and stops it on close: the
  embedded default. Otherwise varnishd is run by someone else (systemd, the tests) and the driver
  only needs its ``admin`` address and ``secret_file``.
- ``listen`` (``127.0.0.1:6081``), ``admin`` (``127.0.0.1:6082``), ``secret_file``, ``workdir``
  (varnishd's ``-n``, which varnishstat and varnishncsa need too), ``storage`` (``malloc,256m``),
  ``user`` (the unprivileged user varnishd runs as when started by root; default ``varnish``).
- ``hostname``: what access URLs point at (default: the listen address).
- ``geo_header``: a request header a GeoIP source in front of Varnish sets to the client's ISO
  country code; without it geographic restrictions are refused (there is no GeoIP source).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import logging
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Mapping

from overcast.drivers.cdn.base import claim_domains
from overcast.drivers.cdn.base import (AccessUrl, Capability, CdnDriver, DeployState, DomainMetrics, ProviderService,
                                       PurgeRequest, ServiceSpec, needed_capabilities, spec_from_dict, spec_to_dict)
from overcast.drivers.cdn.varnish.cli import VarnishCli
from overcast.drivers.cdn.varnish.vcl import Renderer, ban_words
from overcast.drivers.context import CallContext
from overcast.drivers.errors import DriverError, InvalidRequest, NotFound, Unavailable
from overcast.drivers.local.store import LocalStore

LOG = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS service (
    id TEXT PRIMARY KEY,
    service_id TEXT NOT NULL UNIQUE,
    spec TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS domain (
    domain TEXT PRIMARY KEY,
    provider_service_id TEXT NOT NULL
);
"""


class _VarnishStore(LocalStore):
    """Its own tables, in a file of its own."""

    schema = SCHEMA


DEFAULTS: dict[str, Any] = {
    "manage": False, "listen": "127.0.0.1:6081", "admin": "127.0.0.1:6082", "secret_file": None,
    "workdir": None, "storage": "malloc,256m", "user": None, "hostname": None, "geo_header": None,
}

#: the metrics log's line format: host, body bytes, request time (epoch seconds)
METRICS_FORMAT = "%{X-Overcast-Host}i %b %{%s}t"


def _binary(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin")
    if not found:
        raise Unavailable(f"{name} is not installed (install Debian's varnish package)")
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def stop_pid(pid: int, timeout: float = 10.0) -> None:
    """SIGTERM ``pid`` and wait for it to go (SIGKILL after ``timeout``)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return
        time.sleep(0.02)
    if _alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


class VarnishCdnDriver(CdnDriver):
    """See the module docstring."""

    provider_url = "https://varnish-cache.org"

    def __init__(self, data_dir: Path, *, manage: bool = False, listen: str = "127.0.0.1:6081",
                 admin: str = "127.0.0.1:6082", secret_file: str | None = None, workdir: str | None = None,
                 storage: str = "malloc,256m", user: str | None = None, hostname: str | None = None,
                 geo_header: str | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.manage = bool(manage)
        self.listen = listen
        self.admin = admin
        self.secret_file = Path(secret_file) if secret_file else (self.data_dir / "secret" if self.manage else None)
        self.workdir = workdir or (self._default_workdir() if self.manage else None)
        self.storage = storage
        self.user = user
        self.hostname = hostname or listen
        self.geo_header = geo_header
        self.log_dir = self.data_dir / "logs"
        self.capabilities = frozenset({Capability.PURGE_URL, Capability.PURGE_ALL, Capability.ANALYTICS,
                                       Capability.LOG_DELIVERY, Capability.REFERRER_RESTRICTIONS,
                                       Capability.CLIENT_IP_RESTRICTIONS}
                                      | ({Capability.GEO_RESTRICTIONS} if geo_header else set()))
        self.renderer = Renderer(geo_header)
        self._store: LocalStore | None = None
        self._cli = VarnishCli(admin, self.secret_file)
        self._started_varnishd: int | None = None
        self._loggers: set[str] = set()
        self._lock = threading.Lock()
        self._metrics: dict[tuple[str, int], list[int]] = {}
        self._metrics_offset = 0
        self._metrics_lock = threading.Lock()

    def _default_workdir(self) -> str:
        # varnishd drops to an unprivileged user, which must reach its working directory: not under
        # a private data directory, so under the system's temporary directory, named after ours
        digest = hashlib.sha256(str(self.data_dir.resolve()).encode()).hexdigest()[:12]
        return str(Path(tempfile.gettempdir()) / f"overcast-varnish-{digest}")

    @property
    def store(self) -> LocalStore:
        if self._store is None:
            with self._lock:
                if self._store is None:
                    self._store = _VarnishStore(self.data_dir / "varnish.db")
        return self._store

    # -- varnishd (managed mode) -------------------------------------------------------------------
    @property
    def pidfile(self) -> Path:
        return self.data_dir / "varnishd.pid"

    def _ensure_running(self) -> None:
        """In managed mode, start varnishd if its CLI does not answer (one starter at a time)."""
        if not self.manage or self._cli.ping():
            return
        with open(self.data_dir / "varnishd.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if self._cli.ping():
                return
            self.start()

    def start(self) -> None:
        """Start varnishd as an unprivileged user on loopback, with no VCL of ours yet.

        :raises Unavailable: it did not start, or its CLI did not answer within 30 s.
        """
        assert self.secret_file is not None and self.workdir is not None
        if not self.secret_file.exists():
            self.secret_file.write_text(secrets.token_hex(32) + "\n")
            self.secret_file.chmod(0o600)
        Path(self.workdir).parent.mkdir(parents=True, exist_ok=True)
        args = [_binary("varnishd"), "-a", self.listen, "-T", self.admin, "-S", str(self.secret_file),
                "-n", self.workdir, "-b", "none", "-s", self.storage, "-P", str(self.pidfile)]
        if os.geteuid() == 0:
            user = self.user or "varnish"
            try:
                pwd.getpwnam(user)
            except KeyError:
                user = "nobody"
            args += ["-j", f"unix,user={user}"]
        errors = self.data_dir / "varnishd.err"
        with open(errors, "w") as err:  # as for varnishncsa: no pipes for a daemon
            # umask 022: Overcast runs with 077 (its data directory is private), but varnishd's
            # unprivileged compiler must write into the working directory varnishd makes
            result = subprocess.run(args, stdin=subprocess.DEVNULL, stdout=err, stderr=subprocess.STDOUT, timeout=60,
                                    umask=0o022)
        if result.returncode != 0:
            raise Unavailable(f"varnishd did not start: {errors.read_text().strip()}")
        self._started_varnishd = _read_pid(self.pidfile)
        deadline = time.monotonic() + 30
        while not self._cli.ping():
            if time.monotonic() > deadline:
                raise Unavailable("varnishd started but its CLI does not answer")
            time.sleep(0.05)
        LOG.info("started varnishd (pid %s) listening on %s", self._started_varnishd, self.listen)
        with self.store.write() as conn:
            self._apply(conn)

    def stop(self) -> None:
        """Stop the varnishd this driver started (managed mode)."""
        self._cli.close()
        pid = self._started_varnishd or (_read_pid(self.pidfile) if self.manage else None)
        if pid is not None and _alive(pid):
            stop_pid(pid)
        self._started_varnishd = None

    # -- the VCL -----------------------------------------------------------------------------------
    def _specs(self, conn: Any) -> list[ServiceSpec]:
        return [spec_from_dict(json.loads(r["spec"])) for r in conn.execute("SELECT spec FROM service")]

    def _apply(self, conn: Any) -> str:
        """Render every service and switch varnishd to it (inside the caller's write transaction)."""
        text = self.renderer.render(self._specs(conn))
        row = conn.execute("SELECT value FROM meta WHERE key = 'vcl_counter'").fetchone()
        counter = int(row[0]) + 1 if row else 1
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('vcl_counter', ?)", (str(counter),))
        name = f"overcast_{os.getpid()}_{counter}"
        self._cli.call("vcl.inline", name, heredoc=text)
        self._cli.call("vcl.use", name)
        self._discard_old(name)
        return name

    def _discard_old(self, active: str) -> None:
        try:
            listing = self._cli.call("vcl.list")
        except DriverError:
            return
        for line in listing.splitlines():
            words = line.split()
            if len(words) >= 5 and words[0] == "available" and words[-1].startswith("overcast_") \
                    and words[-1] != active:
                with contextlib.suppress(DriverError):
                    self._cli.call("vcl.discard", words[-1])

    def vcl(self) -> str:
        """The VCL the driver would load now (for operators and tests)."""
        with self.store.read() as conn:
            return self.renderer.render(self._specs(conn))

    # -- services ----------------------------------------------------------------------------------
    def _check(self, spec: ServiceSpec) -> None:
        lacking = sorted(c.value for c in needed_capabilities(spec) - self.capabilities)
        if lacking:
            raise InvalidRequest(f"The varnish provider does not offer {', '.join(lacking)}")
        self.renderer.render([spec])  # refuses what VCL cannot express (an https origin, a bad path)

    def _info(self, row: Any) -> ProviderService:
        spec = spec_from_dict(json.loads(row["spec"]))
        return ProviderService(provider_service_id=row["id"], state=DeployState.DEPLOYED,
                               access_urls=tuple(AccessUrl(h, self.hostname) for h in spec.hosts),
                               extra={"version": row["version"], "listen": self.listen})

    def create(self, ctx: CallContext, spec: ServiceSpec) -> ProviderService:
        self._check(spec)
        self._ensure_running()
        now = time.time()
        with self.store.write() as conn:
            row = conn.execute("SELECT * FROM service WHERE service_id = ?", (spec.service_id,)).fetchone()
            if row is None:
                provider_id = uuid.uuid4().hex
                claim_domains(conn, provider_id, spec.hosts, "this Varnish edge")
                conn.execute("INSERT INTO service (id, service_id, spec, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                             (provider_id, spec.service_id, json.dumps(spec_to_dict(spec)), now, now))
                self._apply(conn)
                row = conn.execute("SELECT * FROM service WHERE id = ?", (provider_id,)).fetchone()
        self._logs(spec)
        return self._info(row)

    def update(self, ctx: CallContext, provider_service_id: str, spec: ServiceSpec) -> ProviderService:
        self._check(spec)
        self._ensure_running()
        with self.store.write() as conn:
            if conn.execute("SELECT 1 FROM service WHERE id = ?", (provider_service_id,)).fetchone() is None:
                raise NotFound(f"The Varnish edge has no service {provider_service_id}")
            claim_domains(conn, provider_service_id, spec.hosts, "this Varnish edge")
            conn.execute("UPDATE service SET spec = ?, version = version + 1, updated_at = ? WHERE id = ?",
                         (json.dumps(spec_to_dict(spec)), time.time(), provider_service_id))
            self._apply(conn)
            row = conn.execute("SELECT * FROM service WHERE id = ?", (provider_service_id,)).fetchone()
        self._logs(spec)
        return self._info(row)

    def delete(self, ctx: CallContext, provider_service_id: str) -> bool:
        self._ensure_running()
        with self.store.write() as conn:
            row = conn.execute("SELECT service_id FROM service WHERE id = ?", (provider_service_id,)).fetchone()
            if row is None:
                return True
            conn.execute("DELETE FROM service WHERE id = ?", (provider_service_id,))
            conn.execute("DELETE FROM domain WHERE provider_service_id = ?", (provider_service_id,))
            self._apply(conn)
        self._stop_logger(f"service-{row['service_id']}")
        return True

    def get(self, ctx: CallContext, provider_service_id: str) -> ProviderService:
        with self.store.read() as conn:
            row = conn.execute("SELECT * FROM service WHERE id = ?", (provider_service_id,)).fetchone()
        if row is None:
            raise NotFound(f"The Varnish edge has no service {provider_service_id}")
        return self._info(row)

    def find(self, ctx: CallContext, service_id: str) -> ProviderService | None:
        with self.store.read() as conn:
            row = conn.execute("SELECT * FROM service WHERE service_id = ?", (service_id,)).fetchone()
        return None if row is None else self._info(row)

    def purge(self, ctx: CallContext, provider_service_id: str, request: PurgeRequest) -> str | None:
        with self.store.read() as conn:
            row = conn.execute("SELECT service_id FROM service WHERE id = ?", (provider_service_id,)).fetchone()
        if row is None:
            raise NotFound(f"The Varnish edge has no service {provider_service_id}")
        self._ensure_running()
        self._cli.call("ban", *ban_words(row["service_id"], request.url))
        return None  # a ban is effective for every lookup from now on

    def is_alive(self) -> bool:
        """Whether varnishd answers; a managed edge is started first if it is not running yet
        (it is part of Overcast, started on first use)."""
        if self.manage:
            try:
                self._ensure_running()
            except DriverError:
                return False
        return self._cli.ping()

    # -- logs and figures ----------------------------------------------------------------------------
    def _logger_pidfile(self, name: str) -> Path:
        return self.data_dir / "loggers" / f"{name}.pid"

    def _ensure_logger(self, name: str, output: Path, extra: list[str]) -> None:
        pidfile = self._logger_pidfile(name)
        pid = _read_pid(pidfile)
        if pid is not None and _alive(pid):
            return
        pidfile.parent.mkdir(parents=True, exist_ok=True)
        output.parent.mkdir(parents=True, exist_ok=True)
        args = [_binary("varnishncsa"), "-D", "-a", "-P", str(pidfile), "-w", str(output)]
        if self.workdir:
            args += ["-n", self.workdir]
        # the daemon keeps the descriptors it was started with: never pipes (a write to a pipe whose
        # reader is gone kills it with SIGPIPE), so /dev/null and a file of its own for its complaints
        errors = pidfile.with_suffix(".err")
        with open(errors, "w") as err:
            result = subprocess.run(args + extra, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                                    timeout=30)
        if result.returncode != 0:
            raise DriverError(f"varnishncsa did not start: {errors.read_text().strip()}")
        deadline = time.monotonic() + 10
        while _read_pid(pidfile) is None and time.monotonic() < deadline:
            time.sleep(0.01)
        self._loggers.add(name)

    def _stop_logger(self, name: str) -> None:
        pidfile = self._logger_pidfile(name)
        pid = _read_pid(pidfile)
        if pid is not None and _alive(pid):
            stop_pid(pid)
        with contextlib.suppress(OSError):
            pidfile.unlink()
        self._loggers.discard(name)

    @property
    def metrics_log(self) -> Path:
        return self.data_dir / "metrics.log"

    def service_log(self, service_id: str) -> Path:
        """Where a service with ``log_delivery`` has its access log (NCSA combined format)."""
        return self.log_dir / f"{service_id}.log"

    def _logs(self, spec: ServiceSpec) -> None:
        self._ensure_logger("metrics", self.metrics_log, ["-F", METRICS_FORMAT])
        name = f"service-{spec.service_id}"
        if spec.log_delivery:
            self._ensure_logger(name, self.service_log(spec.service_id),
                                ["-q", f'ReqHeader:X-Overcast-Service eq "{spec.service_id}"'])
        else:
            self._stop_logger(name)

    def _read_metrics(self) -> None:
        with self._metrics_lock:
            try:
                with open(self.metrics_log, "rb") as handle:
                    handle.seek(self._metrics_offset)
                    data = handle.read()
            except FileNotFoundError:
                return
            end = data.rfind(b"\n") + 1
            self._metrics_offset += end
            for line in data[:end].decode("utf-8", "replace").splitlines():
                parts = line.split()
                if len(parts) != 3 or parts[0] == "-":
                    continue
                host, size, when = parts
                try:
                    minute = int(when) // 60
                    count = self._metrics.setdefault((host.lower(), minute), [0, 0])
                    count[0] += 1
                    count[1] += 0 if size == "-" else int(size)
                except ValueError:
                    continue

    def metrics(self, ctx: CallContext, provider_service_id: str, domains: tuple[str, ...],
                start: dt.datetime, end: dt.datetime) -> list[DomainMetrics]:
        self.get(ctx, provider_service_id)
        self._read_metrics()
        utc = dt.timezone.utc
        lo = int((start if start.tzinfo else start.replace(tzinfo=utc)).timestamp()) // 60
        hi = int((end if end.tzinfo else end.replace(tzinfo=utc)).timestamp()) // 60
        out = []
        with self._metrics_lock:
            for domain in domains:
                counts = [v for (host, minute), v in self._metrics.items() if host == domain and lo <= minute <= hi]
                out.append(DomainMetrics(domain=domain, request_count=sum(c[0] for c in counts),
                                         bandwidth_bytes=sum(c[1] for c in counts)))
        return out

    def shutdown(self) -> None:
        """Stop every varnishncsa this provider's data directory records, and a managed varnishd."""
        for pidfile in sorted((self.data_dir / "loggers").glob("*.pid")):
            self._stop_logger(pidfile.stem)
        if self.manage:
            self.stop()
        self.close()

    def close(self) -> None:
        for name in list(self._loggers):
            self._stop_logger(name)
        if self.manage and self._started_varnishd is not None:
            self.stop()
        self._cli.close()
        if self._store is not None:
            self._store.close()
            self._store = None


def create_driver(options: Mapping[str, Any], data_dir: Path) -> Any:
    """Entry point ``varnish``: a provider bundle whose ``cdn`` slot is the Varnish edge."""
    from overcast.drivers.registry import CloudDriver, check_options

    opts = check_options("varnish", options, DEFAULTS)
    driver = VarnishCdnDriver(Path(data_dir), **opts)
    return CloudDriver(name="varnish", cdn=driver, info={"listen": driver.listen, "admin": driver.admin,
                                                          "managed": driver.manage})
