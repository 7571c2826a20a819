"""Typed settings: one TOML file plus ``OVERCAST_*`` environment overrides.

Secrets may be given by reference (``env:NAME`` or ``file:PATH``) so they never sit in the
file; they are held in :class:`Secret`, whose repr never shows the value.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping


class ConfigError(ValueError):
    """Raised for an unreadable file, an unknown key, a bad value or an unresolved secret."""


class Secret:
    """A value that must never be printed or logged."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def resolve_reference(value: str, environ: Mapping[str, str] = os.environ) -> str:
    """Resolve ``env:NAME`` and ``file:PATH`` references; other strings pass through.

    :raises ConfigError: the variable is unset or the file unreadable.
    """
    if value.startswith("env:"):
        name = value[4:]
        if name not in environ:
            raise ConfigError(f"secret reference {value!r}: environment variable {name} is not set")
        return environ[name]
    if value.startswith("file:"):
        try:
            return Path(value[5:]).expanduser().read_text().strip()
        except OSError as exc:
            raise ConfigError(f"secret reference {value!r}: {exc.strerror}") from None
    return value


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8780
    #: server processes; 0: one per CPU core
    workers: int = 0
    threads: int = 4
    #: seconds a stop (Ctrl-C, SIGTERM) waits for requests in flight before the processes end
    stop_grace: float = 1.5
    #: keep rendered answers to reads until the database changes (SQLite only; docs/decisions/0038)
    response_cache: bool = True
    #: The URL clients reach us at; by default http://host:port.
    public_url: str = ""
    #: Largest JSON request body accepted (bytes); larger answers 413.
    max_body_bytes: int = 1024 * 1024
    #: Deepest nesting of arrays and objects a JSON request body may have; deeper answers 400
    #: naming the field (docs/decisions/0026-request-limits-and-transactions.md).
    max_json_depth: int = 32
    log_level: str = "INFO"


@dataclass(frozen=True)
class DatabaseSettings:
    #: SQLAlchemy URL; by default a SQLite file under the data directory.
    url: Secret | None = None


@dataclass(frozen=True)
class IdentitySettings:
    token_expiration: int = 3600
    #: How long a node may trust its cached copy of the revocation list (seconds).
    revocation_cache_seconds: float = 1.0
    #: How long a node may serve its cached service catalog after another node changed it.
    catalog_cache_seconds: float = 5.0
    #: Primary + secondary keys kept by ``keys rotate`` (Keystone's max_active_keys).
    max_active_keys: int = 3
    #: Lock a user out after this many failed logins in a row (0: never).
    lockout_failure_attempts: int = 0
    lockout_duration: int = 1800
    bcrypt_rounds: int = 12
    # Keystone's [security_compliance] password rules (see core/identity/security_compliance.py)
    #: a password must match this regular expression (empty: any password)
    password_regex: str = ""
    #: what the regex asks for, in words, shown when a password does not match it
    password_regex_description: str = ""
    #: a self-service password change may not reuse the last N passwords, the current one included (0: any)
    unique_last_password_count: int = 0
    #: days a password must be kept before its owner may change it again (0: any time)
    minimum_password_age: int = 0
    #: days a password is valid for (0: forever)
    password_expires_days: int = 0
    #: a password an administrator set must be changed by the user before it lets them log in
    change_password_upon_first_use: bool = False


@dataclass(frozen=True)
class BootstrapSettings:
    """Passwords for the DevStack-style accounts; generated once per data directory when unset."""

    admin_password: Secret | None = None
    demo_password: Secret | None = None
    alt_demo_password: Secret | None = None
    region: str = "RegionOne"


@dataclass(frozen=True)
class ImageSettings:
    """Where image data lives (Glance's store) and what an upload or import may do."""

    #: ``file`` (under ``<data_dir>/images``) or ``s3``
    store: str = "file"
    #: largest image accepted, in bytes (Glance's image_size_cap; default 1 TiB)
    size_cap: int = 1099511627776
    s3_bucket: str = ""
    s3_prefix: str = "images/"
    #: an S3-compatible endpoint (empty: AWS)
    s3_endpoint_url: str = ""
    s3_region: str = ""
    s3_access_key_id: Secret | None = None
    s3_secret_access_key: Secret | None = None
    #: bytes per multipart part (S3's minimum is 5 MiB)
    s3_part_size: int = 8 * 1024 * 1024
    # What ``web-download`` and import tasks may fetch from: Glance's [import_filtering_opts], with
    # its defaults (comma-separated lists; an allow list, when set, wins over the deny list). An
    # address that is not globally routable (loopback, private, link-local ...) is refused unless
    # ``web_download_hosts`` names the host or a network holding it (docs/decisions/0030).
    #: allowed_schemes
    web_download_schemes: str = "http,https"
    #: disallowed_schemes (used when ``web_download_schemes`` is empty)
    web_download_disallowed_schemes: str = ""
    #: allowed_hosts: names, addresses or networks (``127.0.0.1``, ``10.0.0.0/8``); empty: any host
    web_download_hosts: str = ""
    #: disallowed_hosts (used when ``web_download_hosts`` is empty)
    web_download_disallowed_hosts: str = ""
    #: allowed_ports; ``*``: any
    web_download_ports: str = "80,443"
    #: disallowed_ports (used when ``web_download_ports`` is empty)
    web_download_disallowed_ports: str = ""
    #: Glance's ``show_multiple_locations``: images show ``locations`` and PATCH may add, replace
    #: and remove them (http/https URLs, fetched through the filter above; docs/decisions/0074)
    show_multiple_locations: bool = False


@dataclass(frozen=True)
class TestingSettings:
    """What test suites use Overcast for (docs/decisions/0035 and 0036)."""

    #: serve /_overcast/reset, /_overcast/states and /_overcast/faults to admins (off: those paths 404)
    admin_api: bool = False


@dataclass(frozen=True)
class NetworkSettings:
    """Neutron's deployment choices (docs/decisions/0050-auto-allocated-topology.md)."""

    #: the IPv4 CIDR of every auto-allocated topology's subnet (Neutron takes one from its default
    #: subnet pool; Overcast has no subnet pools yet: each project gets this one, as projects'
    #: networks may overlap). DevStack's pool would give the demo project the /26 after its private one.
    auto_allocated_cidr: str = "10.0.0.64/26"


@dataclass(frozen=True)
class MetricsSettings:
    #: serve Prometheus metrics at /metrics (no token needed; no secrets in them)
    enabled: bool = True


@dataclass(frozen=True)
class OpsSettings:
    """``[ops]``: the operations engine (workers, leases, retries, breakers). The defaults suit the
    embedded single-process cloud; see docs/decisions/0007-operations-engine.md."""

    #: worker threads per process (``overcast worker``, and ``overcast serve`` when serve_workers)
    threads: int = 4
    #: whether ``overcast serve`` runs workers in its own processes; false for API-only nodes of a
    #: scale-out deployment whose work is done by ``overcast worker`` processes
    serve_workers: bool = True
    #: an idle process re-checks for due work after this long, doubling up to idle_poll_max; an
    #: enqueue in the same process, a PostgreSQL NOTIFY, or a known due time wakes it sooner
    poll_interval: float = 0.2
    idle_poll_max: float = 2.0
    #: LISTEN/NOTIFY on PostgreSQL: enqueues in other processes wake idle workers at once
    notify: bool = True
    #: a claimed operation is the worker's for this long; a heartbeat renews it every quarter of it
    #: while the handler runs, so a dead worker's operations are taken over within about this long
    lease_seconds: float = 6.0
    #: a handler call still running after this is abandoned and counted as a retryable timeout
    #: (a kind may declare its own; a cloud's ``[clouds.NAME.ops] timeout`` wins over both)
    handler_timeout: float = 120.0
    #: the retry budget of an operation (a cloud's ``attempts`` wins; enqueue may fix its own)
    max_attempts: int = 5
    #: exponential backoff: base * 2**(attempt-1), capped, with jitter (half fixed, half random)
    backoff_base: float = 1.0
    backoff_max: float = 60.0
    #: an operation polling an asynchronous backend or waiting behind an open breaker fails after
    #: this long since it was enqueued (unless enqueue gave its own deadline)
    deadline_seconds: float = 3600.0
    #: consecutive retryable failures that open a breaker, and how long it stays open (per cloud
    #: and driver family; a cloud's own values win)
    breaker_threshold: int = 5
    breaker_reset_seconds: float = 30.0
    #: timeout of a backend read made from a request (console output, diagnostics)
    backend_timeout: float = 10.0
    #: longest a driver call waits for a token of its cloud's rate limit before giving up (a worker
    #: then reschedules the operation without spending an attempt; a request answers 503)
    rate_limit_wait: float = 30.0
    #: how often the reconciler runs (one process at a time)
    reconcile_interval: float = 60.0
    #: how long a backend's own quotas, read when a create is accepted, are reused (decision 0046)
    headroom_seconds: float = 5.0
    #: how long stop() waits for handlers in flight before leaving their leases to expire
    stop_grace: float = 10.0
    #: tests only: die right after a handler's driver call returns, before its record
    #: ("kind[:n][:exit|raise]", see overcast/ops/crash.py); empty: never
    crash_after_driver_call: str = ""


@dataclass(frozen=True)
class CloudOpsSettings:
    """``[clouds.NAME.ops]``: how the engine treats this cloud; the driver never sees these keys.
    Unset values fall back to ``[ops]``."""

    #: seconds a handler run (or a backend read from a request) may take on this cloud
    timeout: float | None = None
    #: retry budget of this cloud's operations
    attempts: int | None = None
    breaker_threshold: int | None = None
    breaker_reset_seconds: float | None = None
    #: driver calls per second to this cloud, per process (0: unlimited); a call waits for a token
    rate_limit: float = 0.0
    #: calls that may go at once after a quiet spell (default: max(1, rate_limit))
    rate_burst: int | None = None


@dataclass(frozen=True)
class CloudSettings:
    """One configured cloud; it becomes a region in the catalog."""

    name: str
    driver: str = "local"
    options: Mapping[str, Any] = field(default_factory=dict)
    ops: CloudOpsSettings = CloudOpsSettings()


@dataclass(frozen=True)
class CdnProviderSettings:
    """One CDN provider (``[cdn.providers.NAME]``): a driver name and its options. Flavors list
    providers by ``name``."""

    name: str
    driver: str
    options: Mapping[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:  # options may hold credentials: never show them
        return f"CdnProviderSettings(name={self.name!r}, driver={self.driver!r}, options=<{len(self.options)} keys>)"


@dataclass(frozen=True)
class CdnFlavorSettings:
    """A flavor made from the configuration (``[cdn.flavors.ID] providers = [...]``)."""

    id: str
    providers: tuple[str, ...]


@dataclass(frozen=True)
class CdnSettings:
    """The CDN service (Poppy's API at ``/cdn/v1.0``): see docs/decisions/0031-cdn.md.

    With no ``[cdn.providers.*]`` the embedded default offers one provider: ``varnish`` (a local
    Varnish edge Overcast runs itself) when ``varnishd`` is on the PATH, else ``mock``; with no
    ``[cdn.flavors.*]`` a flavor ``default`` deploys to the first provider.
    """

    #: access URLs are ``<domain>.<operator_domain>``, the CNAME an operator points at the provider
    operator_domain: str = "cdn.overcast.test"
    #: services per project unless an admin set another limit (Poppy's default 20)
    service_limit: int = 20
    #: the largest ``limit`` of GET /services (Poppy's max_services_per_page)
    max_services_per_page: int = 20
    #: seconds a synchronous provider call (health, analytics) may take
    provider_call_timeout: float = 10.0
    providers: tuple[CdnProviderSettings, ...] = ()
    flavors: tuple[CdnFlavorSettings, ...] = ()


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path(".overcast")
    server: ServerSettings = ServerSettings()
    database: DatabaseSettings = DatabaseSettings()
    identity: IdentitySettings = IdentitySettings()
    bootstrap: BootstrapSettings = BootstrapSettings()
    image: ImageSettings = ImageSettings()
    testing: TestingSettings = TestingSettings()
    metrics: MetricsSettings = MetricsSettings()
    network: NetworkSettings = NetworkSettings()
    ops: OpsSettings = OpsSettings()
    cdn: CdnSettings = CdnSettings()
    clouds: tuple[CloudSettings, ...] = (CloudSettings(name="RegionOne"),)
    #: ``[[faults]]`` tables: faults injected from the start (see overcast.core.faults)
    faults: tuple[Mapping[str, Any], ...] = ()

    @property
    def database_url(self) -> str:
        if self.database.url is not None:
            return self.database.url.reveal()
        return f"sqlite:///{(self.data_dir / 'overcast.db').resolve()}"

    @property
    def public_url(self) -> str:
        if self.server.public_url:
            return self.server.public_url.rstrip("/")
        return f"http://{self.server.host}:{self.server.port}"

    @property
    def key_repository(self) -> Path:
        return self.data_dir / "fernet-keys"

    @property
    def credential_key_repository(self) -> Path:
        return self.data_dir / "credential-keys"

    @property
    def regions(self) -> list[str]:
        return [cloud.name for cloud in self.clouds]

    def replace(self, **changes: Any) -> "Settings":
        return dataclasses.replace(self, **changes)


_SECTIONS = {
    "server": ServerSettings,
    "database": DatabaseSettings,
    "identity": IdentitySettings,
    "bootstrap": BootstrapSettings,
    "image": ImageSettings,
    "testing": TestingSettings,
    "metrics": MetricsSettings,
    "network": NetworkSettings,
    "ops": OpsSettings,
    "cdn": CdnSettings,
}
#: sections holding tables of their own (``[cdn.providers.NAME]``), read apart from the scalar keys
_TABLES = {"cdn": ("providers", "flavors")}


def _coerce(section: str, cls: type, key: str, raw: Any, environ: Mapping[str, str]) -> Any:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    if key not in fields:
        raise ConfigError(f"[{section}] has no setting {key!r}")
    kind = fields[key].type
    try:
        if "Secret" in str(kind):
            return Secret(resolve_reference(str(raw), environ))
        if kind in ("int", int, "int | None"):
            return int(raw)
        if kind in ("float", float, "float | None"):
            return float(raw)
        if kind in ("bool", bool):
            return raw if isinstance(raw, bool) else str(raw).lower() in ("1", "true", "yes", "on")
        return resolve_reference(str(raw), environ)
    except ValueError as exc:
        raise ConfigError(f"[{section}] {key}: {exc}") from None


def _cloud_ops(name: str, table: Any, environ: Mapping[str, str]) -> CloudOpsSettings:
    """``[clouds.NAME.ops]`` -> :class:`CloudOpsSettings` (unknown keys are errors)."""
    section = f"clouds.{name}.ops"
    if not isinstance(table, Mapping):
        raise ConfigError(f"[{section}] must be a table")
    values = {k: _coerce(section, CloudOpsSettings, k, v, environ) for k, v in table.items()}
    for key in ("timeout", "breaker_reset_seconds", "rate_limit"):
        if values.get(key) is not None and values[key] < 0:
            raise ConfigError(f"[{section}] {key}: must not be negative")
    for key in ("attempts", "breaker_threshold", "rate_burst"):
        if values.get(key) is not None and values[key] < 1:
            raise ConfigError(f"[{section}] {key}: must be at least 1")
    return CloudOpsSettings(**values)


def _env_overrides(environ: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """``OVERCAST_<SECTION>_<KEY>=value`` -> {section: {key: value}}."""
    found: dict[str, dict[str, str]] = {}
    for name, value in environ.items():
        if not name.startswith("OVERCAST_"):
            continue
        rest = name[len("OVERCAST_"):].lower()
        for section in _SECTIONS:
            if rest.startswith(section + "_"):
                found.setdefault(section, {})[rest[len(section) + 1:]] = value
    return found


def _cdn_tables(tables: Mapping[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """``[cdn.providers.NAME]`` and ``[cdn.flavors.ID]`` -> typed settings (secrets resolved)."""
    providers = []
    for name, body in tables["providers"].items():
        if not isinstance(body, Mapping) or "driver" not in body:
            raise ConfigError(f"[cdn.providers.{name}] needs a driver (mock, varnish, cloudfront, fastly, ...)")
        providers.append(CdnProviderSettings(
            name=name, driver=str(body["driver"]),
            options={k: resolve_reference(v, environ) if isinstance(v, str) else v
                     for k, v in body.items() if k != "driver"}))
    flavors = []
    known = {p.name for p in providers}
    for flavor_id, body in tables["flavors"].items():
        names = body.get("providers") if isinstance(body, Mapping) else None
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise ConfigError(f"[cdn.flavors.{flavor_id}] needs providers = [\"name\", ...]")
        unknown = [n for n in names if known and n not in known]
        if unknown:
            raise ConfigError(f"[cdn.flavors.{flavor_id}] names provider(s) {', '.join(unknown)} that no "
                              f"[cdn.providers.*] section configures")
        flavors.append(CdnFlavorSettings(id=flavor_id, providers=tuple(names)))
    return {"providers": tuple(providers), "flavors": tuple(flavors)}


def load_settings(
    path: str | os.PathLike[str] | None = None,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    **section_overrides: Mapping[str, Any],
) -> Settings:
    """Build settings from defaults, then the TOML file, then the environment, then overrides.

    :raises ConfigError: on an unreadable file, unknown key, bad value or unresolved secret.
    """
    environ = os.environ if environ is None else environ
    raw: dict[str, Any] = {}
    path = path or environ.get("OVERCAST_CONFIG")
    if path:
        try:
            raw = tomllib.loads(Path(path).read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read config {path}: {exc}") from None

    unknown = set(raw) - set(_SECTIONS) - {"data_dir", "clouds", "faults"}
    if unknown:
        raise ConfigError(f"unknown config section(s): {', '.join(sorted(unknown))}")

    merged: dict[str, dict[str, Any]] = {s: dict(raw.get(s, {})) for s in _SECTIONS}
    for section, values in _env_overrides(environ).items():
        merged[section].update(values)
    for section, values in section_overrides.items():
        merged[section].update(values)
    tables = {s: {t: merged[s].pop(t, {}) for t in names} for s, names in _TABLES.items()}

    built = {
        section: cls(**{k: _coerce(section, cls, k, v, environ) for k, v in merged[section].items()})
        for section, cls in _SECTIONS.items()
    }
    built["cdn"] = dataclasses.replace(built["cdn"], **_cdn_tables(tables["cdn"], environ))
    clouds = tuple(
        CloudSettings(
            name=name,
            driver=str(body.get("driver", "local")),
            options={k: resolve_reference(v, environ) if isinstance(v, str) else v
                     for k, v in body.items() if k not in ("driver", "ops")},
            ops=_cloud_ops(name, body.get("ops", {}), environ),
        )
        for name, body in raw.get("clouds", {}).items()
    ) or (CloudSettings(name=built["bootstrap"].region),)

    faults = raw.get("faults", [])
    if not isinstance(faults, list) or not all(isinstance(f, dict) for f in faults):
        raise ConfigError("faults must be an array of tables ([[faults]])")
    chosen_dir = data_dir or environ.get("OVERCAST_DATA_DIR") or raw.get("data_dir") or ".overcast"
    return Settings(data_dir=Path(chosen_dir), clouds=clouds, faults=tuple(dict(f) for f in faults), **built)
