"""The ``mock`` CDN provider: deterministic, in-process, with configurable delays and failures.

For tests and demos. It keeps what it "deployed" in a SQLite file of its own
(``<data_dir>/cdn/<provider>/mock.db``), so the API process and worker processes of one Overcast
agree, and a restart finds its services as they were. Nothing is random: a deployment is
``IN_PROGRESS`` for ``deploy_seconds`` after a create or update, computed at read time from a stored
time (no timer thread), then ``DEPLOYED``.

Faults are injected on purpose (Mimic's idea): :meth:`MockCdnDriver.inject` makes the next N calls
of one method fail, with the provider message given, as a retryable ``Unavailable`` or as the
method's own error; ``inject("deploy", ...)`` makes the next deployment end ``FAILED``. Injections
are stored in the file, so a worker in another process sees them.

Options: ``deploy_seconds``, ``delete_seconds``, ``purge_seconds`` and ``certificate_seconds``
(default 0), ``hostname`` (the suffix of access URLs, default ``mock.cdn.overcast.test``),
``capabilities`` (names to offer; default every one), ``clock`` is for tests only.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Mapping

from overcast.drivers.cdn.base import claim_domains
from overcast.drivers.cdn.base import (AccessUrl, Capability, CdnDriver, CertificateInfo, CertificateRequest,
                                       CertificateState, DeployState, DomainMetrics, ProviderService, PurgeRequest,
                                       ServiceSpec, needed_capabilities, spec_from_dict, spec_to_dict)
from overcast.drivers.context import CallContext
from overcast.drivers.errors import (BuildFailed, DeleteFailed, DriverError, InvalidRequest, NotFound,
                                     NotSupported, Unavailable)
from overcast.drivers.local.store import LocalStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS service (
    id TEXT PRIMARY KEY,
    service_id TEXT NOT NULL UNIQUE,
    spec TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    ready_at REAL NOT NULL,
    failed TEXT,
    deleting_until REAL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS domain (
    domain TEXT PRIMARY KEY,
    provider_service_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS purge (
    id TEXT PRIMARY KEY,
    provider_service_id TEXT NOT NULL,
    url TEXT,
    hard INTEGER NOT NULL,
    ready_at REAL NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS certificate (
    domain TEXT PRIMARY KEY,
    cert_type TEXT NOT NULL,
    ready_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS traffic (
    domain TEXT NOT NULL,
    at REAL NOT NULL,
    requests INTEGER NOT NULL,
    bytes INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS fault (
    method TEXT PRIMARY KEY,
    remaining INTEGER NOT NULL,
    message TEXT NOT NULL,
    retryable INTEGER NOT NULL
);
"""


class _MockCdnStore(LocalStore):
    """Its own tables, in a file of its own."""

    schema = SCHEMA


#: the error each method raises for an injected, non-retryable fault
_FAULT_ERRORS: Mapping[str, type[DriverError]] = {
    "create": BuildFailed, "update": BuildFailed, "delete": DeleteFailed, "purge": DriverError,
    "get": DriverError, "create_certificate": DriverError,
}
FAULT_METHODS = (*_FAULT_ERRORS, "deploy")

DEFAULTS: dict[str, Any] = {"deploy_seconds": 0.0, "delete_seconds": 0.0, "purge_seconds": 0.0,
                            "certificate_seconds": 0.0, "hostname": "mock.cdn.overcast.test",
                            "capabilities": None}


class MockCdnDriver(CdnDriver):
    """See the module docstring."""

    provider_url = "https://cdn.overcast.test/mock"

    def __init__(self, path: Path, *, deploy_seconds: float = 0.0, delete_seconds: float = 0.0,
                 purge_seconds: float = 0.0, certificate_seconds: float = 0.0,
                 hostname: str = "mock.cdn.overcast.test", capabilities: list[str] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = _MockCdnStore(path)
        self.deploy_seconds = float(deploy_seconds)
        self.delete_seconds = float(delete_seconds)
        self.purge_seconds = float(purge_seconds)
        self.certificate_seconds = float(certificate_seconds)
        self.hostname = hostname
        every = frozenset(Capability)
        self.capabilities = every if capabilities is None else frozenset(Capability(c) for c in capabilities)
        self.clock = clock

    # -- fault injection (not part of the interface) ----------------------------------------------
    def inject(self, method: str, times: int = 1, message: str = "injected failure", *,
               retryable: bool = False) -> None:
        """Make the next ``times`` calls of ``method`` fail with ``message`` (``deploy``: the next
        deployments end FAILED)."""
        if method not in FAULT_METHODS:
            raise ValueError(f"unknown method {method!r}; one of {', '.join(FAULT_METHODS)}")
        with self.store.write() as conn:
            conn.execute("INSERT OR REPLACE INTO fault (method, remaining, message, retryable) VALUES (?, ?, ?, ?)",
                         (method, times, message, int(retryable)))

    def set_alive(self, alive: bool) -> None:
        with self.store.write() as conn:
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('alive', ?)", ("1" if alive else "0",))

    def record_traffic(self, domain: str, requests: int, size: int, at: float | None = None) -> None:
        """Pretend the edge served ``requests`` requests and ``size`` bytes for ``domain``."""
        with self.store.write() as conn:
            conn.execute("INSERT INTO traffic (domain, at, requests, bytes) VALUES (?, ?, ?, ?)",
                         (domain, self.clock() if at is None else at, requests, size))

    def purges(self, provider_service_id: str) -> list[dict[str, Any]]:
        """The purges asked of one service, oldest first."""
        with self.store.read() as conn:
            rows = conn.execute("SELECT url, hard FROM purge WHERE provider_service_id = ? ORDER BY created_at, id",
                                (provider_service_id,)).fetchall()
        return [{"url": r["url"], "hard": bool(r["hard"])} for r in rows]

    def _fault(self, conn: Any, method: str) -> tuple[str, bool] | None:
        row = conn.execute("SELECT remaining, message, retryable FROM fault WHERE method = ?", (method,)).fetchone()
        if row is None or row["remaining"] <= 0:
            return None
        conn.execute("UPDATE fault SET remaining = remaining - 1 WHERE method = ?", (method,))
        return row["message"], bool(row["retryable"])

    def _check_fault(self, method: str) -> None:
        """Raise an injected fault for ``method`` (the counter is spent in its own transaction)."""
        with self.store.write() as conn:
            fault = self._fault(conn, method)
        if fault is not None:
            message, retryable = fault
            raise Unavailable(message) if retryable else _FAULT_ERRORS[method](message)

    # -- services -----------------------------------------------------------------------------------
    def _check_spec(self, spec: ServiceSpec) -> None:
        lacking = sorted(c.value for c in needed_capabilities(spec) - self.capabilities)
        if lacking:
            raise InvalidRequest(f"This provider does not offer {', '.join(lacking)}")

    def _info(self, row: Any) -> ProviderService:
        now = self.clock()
        spec = spec_from_dict(json.loads(row["spec"]))
        if row["failed"]:
            state, message = DeployState.FAILED, row["failed"]
        elif now < row["ready_at"]:
            state, message = DeployState.IN_PROGRESS, None
        else:
            state, message = DeployState.DEPLOYED, None
        certificates = {}
        for domain in spec.domains:
            if domain.protocol == "https":
                certificates[domain.domain] = (CertificateState.DEPLOYED if state is DeployState.DEPLOYED
                                               else CertificateState.CREATE_IN_PROGRESS)
        return ProviderService(
            provider_service_id=row["id"], state=state,
            access_urls=tuple(AccessUrl(d, f"{row['id'][:12]}.{self.hostname}") for d in spec.hosts),
            certificates=certificates, message=message,
            extra={"version": row["version"], "enabled": spec.enabled})

    def _deploy_fault(self, conn: Any) -> str | None:
        fault = self._fault(conn, "deploy")
        return fault[0] if fault else None

    def create(self, ctx: CallContext, spec: ServiceSpec) -> ProviderService:
        self._check_fault("create")
        self._check_spec(spec)
        now = self.clock()
        with self.store.write() as conn:
            row = conn.execute("SELECT * FROM service WHERE service_id = ?", (spec.service_id,)).fetchone()
            if row is None:
                provider_id = uuid.uuid4().hex
                claim_domains(conn, provider_id, spec.hosts, "this provider")
                conn.execute(
                    "INSERT INTO service (id, service_id, spec, ready_at, failed, created_at, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (provider_id, spec.service_id, json.dumps(spec_to_dict(spec)), now + self.deploy_seconds,
                     self._deploy_fault(conn), now, now))
                row = conn.execute("SELECT * FROM service WHERE id = ?", (provider_id,)).fetchone()
        return self._info(row)

    def update(self, ctx: CallContext, provider_service_id: str, spec: ServiceSpec) -> ProviderService:
        self._check_fault("update")
        self._check_spec(spec)
        now = self.clock()
        with self.store.write() as conn:
            if conn.execute("SELECT 1 FROM service WHERE id = ? AND deleting_until IS NULL",
                            (provider_service_id,)).fetchone() is None:
                raise NotFound(f"No service {provider_service_id}")
            claim_domains(conn, provider_service_id, spec.hosts, "this provider")
            conn.execute("UPDATE service SET spec = ?, version = version + 1, ready_at = ?, failed = ?, "
                         "updated_at = ? WHERE id = ?",
                         (json.dumps(spec_to_dict(spec)), now + self.deploy_seconds, self._deploy_fault(conn), now,
                          provider_service_id))
            row = conn.execute("SELECT * FROM service WHERE id = ?", (provider_service_id,)).fetchone()
        return self._info(row)

    def delete(self, ctx: CallContext, provider_service_id: str) -> bool:
        self._check_fault("delete")
        now = self.clock()
        with self.store.write() as conn:
            row = conn.execute("SELECT deleting_until FROM service WHERE id = ?", (provider_service_id,)).fetchone()
            if row is None:
                return True
            until = row["deleting_until"]
            if until is None:
                until = now + self.delete_seconds
                conn.execute("UPDATE service SET deleting_until = ? WHERE id = ?", (until, provider_service_id))
            if now < until:
                return False
            conn.execute("DELETE FROM service WHERE id = ?", (provider_service_id,))
            conn.execute("DELETE FROM domain WHERE provider_service_id = ?", (provider_service_id,))
            conn.execute("DELETE FROM purge WHERE provider_service_id = ?", (provider_service_id,))
        return True

    def get(self, ctx: CallContext, provider_service_id: str) -> ProviderService:
        self._check_fault("get")
        with self.store.read() as conn:
            row = conn.execute("SELECT * FROM service WHERE id = ?", (provider_service_id,)).fetchone()
        if row is None:
            raise NotFound(f"No service {provider_service_id}")
        return self._info(row)

    def find(self, ctx: CallContext, service_id: str) -> ProviderService | None:
        with self.store.read() as conn:
            row = conn.execute("SELECT * FROM service WHERE service_id = ?", (service_id,)).fetchone()
        return None if row is None else self._info(row)

    def list_services(self) -> list[ProviderService]:
        """Everything this provider serves (for tests: nothing is orphaned after a delete)."""
        with self.store.read() as conn:
            rows = conn.execute("SELECT * FROM service ORDER BY created_at").fetchall()
        return [self._info(r) for r in rows]

    def spec_of(self, provider_service_id: str) -> ServiceSpec:
        """What the provider was last asked to serve (for tests)."""
        with self.store.read() as conn:
            row = conn.execute("SELECT spec FROM service WHERE id = ?", (provider_service_id,)).fetchone()
        if row is None:
            raise NotFound(f"No service {provider_service_id}")
        return spec_from_dict(json.loads(row["spec"]))

    # -- purge --------------------------------------------------------------------------------------
    def purge(self, ctx: CallContext, provider_service_id: str, request: PurgeRequest) -> str | None:
        if request.all and Capability.PURGE_ALL not in self.capabilities:
            raise NotSupported("This provider cannot purge everything at once")
        if not request.all and Capability.PURGE_URL not in self.capabilities:
            raise NotSupported("This provider cannot purge a path")
        self._check_fault("purge")
        now = self.clock()
        purge_id = uuid.uuid4().hex
        hard = request.hard or Capability.SOFT_PURGE not in self.capabilities
        with self.store.write() as conn:
            if conn.execute("SELECT 1 FROM service WHERE id = ?", (provider_service_id,)).fetchone() is None:
                raise NotFound(f"No service {provider_service_id}")
            conn.execute("INSERT INTO purge (id, provider_service_id, url, hard, ready_at, created_at) "
                         "VALUES (?, ?, ?, ?, ?, ?)",
                         (purge_id, provider_service_id, request.url, int(hard), now + self.purge_seconds, now))
        return purge_id if self.purge_seconds > 0 else None

    def purge_done(self, ctx: CallContext, provider_service_id: str, purge_id: str) -> bool:
        with self.store.read() as conn:
            row = conn.execute("SELECT ready_at FROM purge WHERE id = ? AND provider_service_id = ?",
                               (purge_id, provider_service_id)).fetchone()
        if row is None:
            raise NotFound(f"No purge {purge_id}")
        return self.clock() >= row["ready_at"]

    # -- certificates and analytics ---------------------------------------------------------------
    def _require(self, capability: Capability) -> None:
        if capability not in self.capabilities:
            raise NotSupported(f"This provider is configured without {capability.value}")

    def create_certificate(self, ctx: CallContext, request: CertificateRequest) -> CertificateInfo:
        self._require(Capability.CERTIFICATES)
        self._check_fault("create_certificate")
        if request.cert_type not in ("san", "sni", "custom"):
            raise InvalidRequest(f"Certificate type {request.cert_type} is not issued by this provider")
        with self.store.write() as conn:
            conn.execute("INSERT OR IGNORE INTO certificate (domain, cert_type, ready_at) VALUES (?, ?, ?)",
                         (request.domain, request.cert_type, self.clock() + self.certificate_seconds))
        return self.get_certificate(ctx, request.domain)

    def get_certificate(self, ctx: CallContext, domain: str) -> CertificateInfo:
        self._require(Capability.CERTIFICATES)
        with self.store.read() as conn:
            row = conn.execute("SELECT * FROM certificate WHERE domain = ?", (domain,)).fetchone()
        if row is None:
            raise NotFound(f"No certificate for {domain}")
        state = (CertificateState.DEPLOYED if self.clock() >= row["ready_at"]
                 else CertificateState.CREATE_IN_PROGRESS)
        return CertificateInfo(domain=domain, cert_type=row["cert_type"], state=state,
                               details={"issuer": "Overcast mock CA"})

    def delete_certificate(self, ctx: CallContext, domain: str) -> bool:
        self._require(Capability.CERTIFICATES)
        with self.store.write() as conn:
            conn.execute("DELETE FROM certificate WHERE domain = ?", (domain,))
        return True

    def metrics(self, ctx: CallContext, provider_service_id: str, domains: tuple[str, ...],
                start: dt.datetime, end: dt.datetime) -> list[DomainMetrics]:
        self._require(Capability.ANALYTICS)
        lo = start.replace(tzinfo=dt.timezone.utc).timestamp() if start.tzinfo is None else start.timestamp()
        hi = end.replace(tzinfo=dt.timezone.utc).timestamp() if end.tzinfo is None else end.timestamp()
        with self.store.read() as conn:
            if conn.execute("SELECT 1 FROM service WHERE id = ?", (provider_service_id,)).fetchone() is None:
                raise NotFound(f"No service {provider_service_id}")
            out = []
            for domain in domains:
                row = conn.execute("SELECT coalesce(sum(requests), 0), coalesce(sum(bytes), 0) FROM traffic "
                                   "WHERE domain = ? AND at >= ? AND at <= ?", (domain, lo, hi)).fetchone()
                out.append(DomainMetrics(domain=domain, request_count=int(row[0]), bandwidth_bytes=int(row[1])))
        return out

    def is_alive(self) -> bool:
        try:
            with self.store.read() as conn:
                row = conn.execute("SELECT value FROM meta WHERE key = 'alive'").fetchone()
        except Exception:  # noqa: BLE001 - is_alive never raises
            return False
        return row is None or row[0] == "1"

    def close(self) -> None:
        self.store.close()


def create_driver(options: Mapping[str, Any], data_dir: Path) -> Any:
    """Entry point ``mock``: a provider bundle whose ``cdn`` slot is the mock provider."""
    from overcast.drivers.registry import CloudDriver, check_options

    opts = check_options("mock", options, DEFAULTS)
    driver = MockCdnDriver(Path(data_dir) / "mock.db", **opts)
    return CloudDriver(name="mock", cdn=driver, info={"database": str(Path(data_dir) / "mock.db")})
