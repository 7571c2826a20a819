"""The CDN provider driver interface: typed records in and out, capabilities, the exception model.

One interface for every CDN provider (mock, Varnish, CloudFront, Fastly, and third-party ones);
the conformance suite (:mod:`overcast.testing.conformance_cdn`) runs against every one of them, so
their signatures cannot drift from this class (Poppy's did: nothing ran each driver against its base).

A driver is plain synchronous Python, called from a worker (never from a request thread, except
:meth:`CdnDriver.is_alive` for ``/health`` and :meth:`CdnDriver.metrics` for analytics, both with a
timeout) with retries for :class:`~overcast.drivers.errors.Unavailable` and a circuit breaker per
provider. Every call takes a :class:`~overcast.drivers.context.CallContext`. Drivers never build
Poppy JSON: they get a :class:`ServiceSpec` and answer :class:`ProviderService` records.

Deploying is asynchronous at most providers: :meth:`CdnDriver.create` and :meth:`CdnDriver.update`
return as soon as the provider accepted the configuration, and the engine polls
:meth:`CdnDriver.get` until the service is ``DEPLOYED`` or ``FAILED``. Taking a service down may be
asynchronous too (CloudFront must disable a distribution and wait for that to deploy before it may
delete it): :meth:`CdnDriver.delete` answers ``True`` once the provider no longer has the service
and ``False`` while it is still being taken down (the engine calls it again).

Errors carry the provider's message (``str(exc)``) and say whether a retry may help
(``exc.retryable``: only :class:`~overcast.drivers.errors.Unavailable`).
"""

from __future__ import annotations

import abc
import datetime as dt
import enum
from dataclasses import dataclass, field
from typing import Any, Mapping

from overcast.drivers.context import CallContext
from overcast.drivers.errors import Conflict, NotSupported


class Capability(str, enum.Enum):
    """What a provider can do beyond deploying HTTP services; listed in ``capabilities``."""

    PURGE_URL = "purge_url"                  # purge one path (or a path prefix ending in /*)
    PURGE_ALL = "purge_all"                  # purge everything a service cached
    SOFT_PURGE = "soft_purge"                # mark stale instead of removing (hard=false)
    HTTPS = "https"                          # serve https domains (shared, san, sni or custom certificates)
    CERTIFICATES = "certificates"            # provision certificates through POST /ssl_certificate
    ANALYTICS = "analytics"                  # request counts and bytes per domain
    LOG_DELIVERY = "log_delivery"            # write each service's access log
    REFERRER_RESTRICTIONS = "referrer_restrictions"
    CLIENT_IP_RESTRICTIONS = "client_ip_restrictions"
    GEO_RESTRICTIONS = "geo_restrictions"


#: Which methods each capability brings (the conformance kit checks the two agree). The other
#: capabilities are carried by arguments (a PurgeRequest, a ServiceSpec's fields) rather than methods.
CAPABILITY_METHODS: Mapping[Capability, tuple[str, ...]] = {
    Capability.CERTIFICATES: ("create_certificate", "get_certificate", "delete_certificate"),
    Capability.ANALYTICS: ("metrics",),
}

#: restriction rule kind -> the capability a provider needs to enforce it
RESTRICTION_CAPABILITIES: Mapping[str, Capability] = {
    "referrer": Capability.REFERRER_RESTRICTIONS,
    "client_ip": Capability.CLIENT_IP_RESTRICTIONS,
    "geography": Capability.GEO_RESTRICTIONS,
}


# -- what a service is (the provider's input) ------------------------------------------------------
@dataclass(frozen=True)
class PathRule:
    """A named path a rule applies to: ``/images/*`` (a prefix), ``/index.html`` (one path)."""

    name: str
    request_url: str


@dataclass(frozen=True)
class Domain:
    domain: str
    protocol: str = "http"
    #: for https: ``shared``, ``san``, ``sni`` or ``custom``
    certificate: str | None = None


@dataclass(frozen=True)
class Origin:
    """Where the provider fetches content from. The first origin serves ``/*``; the others serve
    their ``rules``' paths."""

    origin: str
    port: int = 80
    ssl: bool = False
    rules: tuple[PathRule, ...] = ()
    #: the Host header sent to the origin: the requested ``domain``, the ``origin``'s name, or ``custom``
    host_header_type: str = "domain"
    host_header_value: str | None = None

    def host_header(self, requested: str) -> str:
        """The Host header to send for a request addressed to ``requested``."""
        if self.host_header_type == "origin":
            return self.origin
        if self.host_header_type == "custom" and self.host_header_value:
            return self.host_header_value
        return requested


@dataclass(frozen=True)
class CachingRule:
    """How long responses under the rules' paths are cached (seconds; 0: not cached)."""

    name: str
    ttl: int
    rules: tuple[PathRule, ...] = ()


@dataclass(frozen=True)
class RestrictionRule:
    """One entity allowed or blocked on a path: a ``referrer`` host, a ``client_ip`` CIDR or a
    ``geography`` (ISO country code or region name)."""

    name: str
    kind: str
    value: str
    request_url: str = "/*"


@dataclass(frozen=True)
class Restriction:
    name: str
    #: ``whitelist``: only these may; ``blacklist``: these may not
    access: str
    rules: tuple[RestrictionRule, ...] = ()


@dataclass(frozen=True)
class ServiceSpec:
    """Everything a provider needs to serve one service, as Overcast recorded it."""

    #: Overcast's id of the service; drivers tag or name what they create with it, so
    #: :meth:`CdnDriver.find` can find a service a crashed create made
    service_id: str
    project_id: str
    domains: tuple[Domain, ...]
    origins: tuple[Origin, ...]
    caching: tuple[CachingRule, ...] = ()
    restrictions: tuple[Restriction, ...] = ()
    log_delivery: bool = False
    #: False when an operator disabled the service: the provider keeps it but refuses its traffic
    enabled: bool = True

    @property
    def hosts(self) -> tuple[str, ...]:
        return tuple(d.domain for d in self.domains)


# -- what a provider answers ------------------------------------------------------------------------
class DeployState(str, enum.Enum):
    IN_PROGRESS = "in_progress"
    DEPLOYED = "deployed"
    FAILED = "failed"


class CertificateState(str, enum.Enum):
    """Poppy's certificate statuses."""

    CREATE_IN_PROGRESS = "create_in_progress"
    DEPLOYED = "deployed"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class AccessUrl:
    """The provider's hostname a domain's traffic goes to (what the operator's CNAME points at)."""

    domain: str
    provider_url: str


@dataclass(frozen=True)
class ProviderService:
    """What a provider reports about one deployed service."""

    provider_service_id: str
    state: DeployState
    access_urls: tuple[AccessUrl, ...] = ()
    #: domain -> certificate status, for https domains
    certificates: Mapping[str, CertificateState] = field(default_factory=dict)
    #: the provider's own words when ``state`` is FAILED
    message: str | None = None
    #: what the provider knows beyond the interface (ETag, version number, ...)
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PurgeRequest:
    """``url`` is a path (``/index.html``, or ``/images/*`` for a prefix); ``None`` purges everything."""

    url: str | None
    hard: bool = True

    @property
    def all(self) -> bool:
        return self.url is None


@dataclass(frozen=True)
class CertificateRequest:
    domain: str
    #: ``san``, ``sni`` or ``custom``
    cert_type: str
    project_id: str


@dataclass(frozen=True)
class CertificateInfo:
    domain: str
    cert_type: str
    state: CertificateState
    message: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DomainMetrics:
    """Traffic a provider served for one domain between ``start`` and ``end``."""

    domain: str
    request_count: int
    bandwidth_bytes: int


class CdnDriver(abc.ABC):
    """One CDN provider.

    Every method may raise :class:`~overcast.drivers.errors.Unavailable` (retryable: the provider
    could not be reached or answered a transient error) or
    :class:`~overcast.drivers.errors.DriverError` (the provider refused; its message is the
    error's text); the others it raises are named per method. Optional methods raise
    :class:`~overcast.drivers.errors.NotSupported` unless the driver lists their capability.
    """

    capabilities: frozenset[Capability] = frozenset()
    #: with ``CERTIFICATES``: the ``cert_type``s :meth:`create_certificate` issues (another is an
    #: ``InvalidRequest``; the API refuses it at once)
    certificate_types: tuple[str, ...] = ("san", "sni", "custom")
    #: a link for the flavor document (Poppy's ``provider_url``)
    provider_url: str = ""

    @abc.abstractmethod
    def create(self, ctx: CallContext, spec: ServiceSpec) -> ProviderService:
        """Start deploying ``spec``; returns the provider's service (usually ``IN_PROGRESS``).

        Idempotent on ``spec.service_id``: a second call returns the service the first made.

        :raises InvalidRequest: the provider refuses the configuration (a domain it will not
            serve, an origin it cannot reach, a restriction kind it lacks).
        :raises Conflict: a domain is already served by another of the provider's services.
        :raises BuildFailed: the provider could not create it.
        :raises QuotaExceeded: the provider's own quota refused it.
        """

    @abc.abstractmethod
    def update(self, ctx: CallContext, provider_service_id: str, spec: ServiceSpec) -> ProviderService:
        """Make the provider's service match ``spec`` (all of it, not a difference).

        :raises NotFound: the provider has no such service.
        :raises InvalidRequest: :raises Conflict: as for :meth:`create`.
        """

    @abc.abstractmethod
    def delete(self, ctx: CallContext, provider_service_id: str) -> bool:
        """Take the service down. ``True``: the provider no longer has it (also when it never had
        it, so a retried delete is safe); ``False``: it is being taken down, call again later.

        :raises DeleteFailed: the provider could not delete it.
        """

    @abc.abstractmethod
    def get(self, ctx: CallContext, provider_service_id: str) -> ProviderService:
        """The provider's view of one service. :raises NotFound: no such service."""

    @abc.abstractmethod
    def find(self, ctx: CallContext, service_id: str) -> ProviderService | None:
        """The provider's service made for Overcast's ``service_id``, if any (after a crash)."""

    @abc.abstractmethod
    def purge(self, ctx: CallContext, provider_service_id: str, request: PurgeRequest) -> str | None:
        """Start purging cached content; returns an id to pass to :meth:`purge_done`, or ``None``
        when the purge is effective already. A soft purge (``hard=False``) on a provider without
        ``SOFT_PURGE`` purges hard (the next request fetches from the origin either way).

        :raises NotFound: no such service.
        :raises NotSupported: ``request.all`` and the driver lacks ``PURGE_ALL``, or a path and it
            lacks ``PURGE_URL``.
        """

    def purge_done(self, ctx: CallContext, provider_service_id: str, purge_id: str) -> bool:
        """Whether the purge :meth:`purge` started is effective everywhere (default: it is)."""
        return True

    @abc.abstractmethod
    def is_alive(self) -> bool:
        """Whether the provider answers (for ``/health``); never raises."""

    def close(self) -> None:
        """Release connections, files and processes the driver started (default: nothing)."""

    def shutdown(self) -> None:
        """Stop what the provider runs on this machine for Overcast (a managed local edge and its
        log daemons), whichever process started it; ``overcast serve`` calls it once when it stops
        (default: nothing)."""

    # -- optional ------------------------------------------------------------------------------------
    def _unsupported(self, what: str) -> NotSupported:
        return NotSupported(f"{type(self).__name__} does not support {what}")

    def create_certificate(self, ctx: CallContext, request: CertificateRequest) -> CertificateInfo:
        """Start provisioning a certificate for ``request.domain`` (idempotent on the domain).

        :raises InvalidRequest: a certificate type the provider does not issue.
        """
        raise self._unsupported("certificates")

    def get_certificate(self, ctx: CallContext, domain: str) -> CertificateInfo:
        """:raises NotFound: no certificate for this domain."""
        raise self._unsupported("certificates")

    def delete_certificate(self, ctx: CallContext, domain: str) -> bool:
        """Remove the domain's certificate. ``True``: the provider no longer has it (also when it
        never had it, so a retried delete is safe); ``False``: the provider is still letting go of
        it (a CDN still serving it), call again later."""
        raise self._unsupported("certificates")

    def metrics(self, ctx: CallContext, provider_service_id: str, domains: tuple[str, ...],
                start: dt.datetime, end: dt.datetime) -> list[DomainMetrics]:
        """Requests and bytes served per domain between ``start`` and ``end`` (UTC), one record per
        domain asked. :raises NotFound: no such service."""
        raise self._unsupported("analytics")


def needed_capabilities(spec: ServiceSpec) -> set[Capability]:
    """The capabilities a provider needs to deploy ``spec`` as asked."""
    needed: set[Capability] = set()
    if any(d.protocol == "https" for d in spec.domains):
        needed.add(Capability.HTTPS)
    if spec.log_delivery:
        needed.add(Capability.LOG_DELIVERY)
    for restriction in spec.restrictions:
        for rule in restriction.rules:
            needed.add(RESTRICTION_CAPABILITIES[rule.kind])
    return needed


def spec_to_dict(spec: ServiceSpec) -> dict[str, Any]:
    """``spec`` as plain JSON (for drivers that keep what they deployed in a file of their own)."""
    import dataclasses

    return dataclasses.asdict(spec)


def spec_from_dict(data: Mapping[str, Any]) -> ServiceSpec:
    """The inverse of :func:`spec_to_dict`."""
    def rules(items: Any) -> tuple[PathRule, ...]:
        return tuple(PathRule(**r) for r in items or ())

    return ServiceSpec(
        service_id=data["service_id"], project_id=data["project_id"],
        domains=tuple(Domain(**d) for d in data["domains"]),
        origins=tuple(Origin(**{**o, "rules": rules(o.get("rules"))}) for o in data["origins"]),
        caching=tuple(CachingRule(**{**c, "rules": rules(c.get("rules"))}) for c in data.get("caching") or ()),
        restrictions=tuple(Restriction(name=r["name"], access=r["access"],
                                       rules=tuple(RestrictionRule(**x) for x in r.get("rules") or ()))
                           for r in data.get("restrictions") or ()),
        log_delivery=bool(data.get("log_delivery")), enabled=bool(data.get("enabled", True)))


def claim_domains(conn: Any, provider_service_id: str, hosts: tuple[str, ...] | list[str], provider: str) -> None:
    """Make ``hosts`` the domains of one service in a driver's own SQLite ``domain`` table (the
    mock's and the Varnish edge's): a domain is served by one service of a provider at most.

    :raises Conflict: a domain already belongs to another service of this provider.
    """
    for host in hosts:
        owner = conn.execute("SELECT provider_service_id FROM domain WHERE domain = ?", (host,)).fetchone()
        if owner is not None and owner[0] != provider_service_id:
            raise Conflict(f"The domain {host} is already served by another service of {provider}")
    conn.execute("DELETE FROM domain WHERE provider_service_id = ?", (provider_service_id,))
    conn.executemany("INSERT INTO domain (domain, provider_service_id) VALUES (?, ?)",
                     [(host, provider_service_id) for host in hosts])
