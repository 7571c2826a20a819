"""One place per provider: how the ``[clouds.NAME]`` keys become that provider's libcloud
constructor (argument names, endpoints, regions, signature versions differ; users never learn them).

The keys are the same for every provider (``provider``, ``key``, ``secret``, ``region``,
``endpoint``, ``emulator``, ``images``, ``sizes``, ``auth_url``, ``project``, ``domain``,
``project_domain_id``, ``timeout``, ``page_size``, ``vpc``). Credentials arrive resolved (``env:``/``file:`` references are
resolved by the config loader) and are kept in :class:`~overcast.config.Secret`, whose repr never
shows them; they are revealed only into the libcloud constructor.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit

from overcast.config import Secret
from overcast.drivers.libcloud.redact import protect_debug_log
from overcast.drivers.registry import DriverConfigError, check_options

PROVIDERS = ("ec2", "openstack")
#: the providers whose compute calls (paging, find by key, states) are written (compute.py)
DIALECTS = ("ec2", "openstack")
EMULATORS = ("moto",)

_KNOWN: dict[str, Any] = {
    "provider": None, "key": None, "secret": None, "region": None, "endpoint": None, "emulator": None,
    "images": None, "sizes": None, "auth_url": None, "project": None, "domain": "Default",
    "timeout": 30.0, "page_size": 1000, "vpc": None, "project_domain_id": None,
}


@dataclass(frozen=True)
class LibcloudSettings:
    """A libcloud cloud's options, checked."""

    provider: str
    key: Secret
    secret: Secret
    region: str | None = None
    endpoint: str | None = None
    emulator: str | None = None
    #: machine images to show: ``owners`` (EC2 owner ids or aliases) and ``name`` (a pattern)
    image_owners: tuple[str, ...] = ()
    image_name: str | None = None
    #: size ids (globs) to offer as flavours; empty: every size the provider lists
    sizes: tuple[str, ...] = ()
    auth_url: str | None = None
    project: str | None = None
    domain: str = "Default"
    #: OpenStack: the id of the project's domain (libcloud's Keystone v3 scope takes an id);
    #: None: ``default`` for the Default domain, else the ``domain`` value itself
    project_domain_id: str | None = None
    timeout: float = 30.0
    #: how many items a list asks for per page (EC2's MaxResults: 5..1000)
    page_size: int = 1000
    #: EC2: the VPC whose subnets are the region's (None: the account's default VPC)
    vpc: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def secrets(self) -> tuple[str, ...]:
        """The values no log line may show (for the debug-log redaction)."""
        return tuple(v for v in (self.key.reveal(), self.secret.reveal()) if len(v) >= 4)


def _text(options: Mapping[str, Any], name: str, *, required: bool = False) -> str | None:
    value = options.get(name)
    if value is None:
        if required:
            raise DriverConfigError(f"Driver 'libcloud' needs option {name!r}")
        return None
    if not isinstance(value, str) or not value:
        raise DriverConfigError(f"Driver 'libcloud' option {name!r} must be a non-empty string")
    return value


def parse_options(options: Mapping[str, Any]) -> LibcloudSettings:
    """:raises DriverConfigError: an unknown key, a missing or bad value."""
    merged = check_options("libcloud", options, _KNOWN)
    provider = _text(merged, "provider", required=True)
    if provider not in PROVIDERS:
        raise DriverConfigError(f"Driver 'libcloud' option 'provider' must be one of {', '.join(PROVIDERS)}, "
                                f"not {provider!r}")
    emulator = _text(merged, "emulator")
    if emulator is not None and emulator not in EMULATORS:
        raise DriverConfigError(f"Driver 'libcloud' option 'emulator' must be one of {', '.join(EMULATORS)}")
    if emulator == "moto" and provider != "ec2":
        raise DriverConfigError("Driver 'libcloud' option emulator = 'moto' applies to provider 'ec2' only")
    endpoint = _text(merged, "endpoint")
    if endpoint is not None and urlsplit(endpoint).scheme not in ("http", "https"):
        raise DriverConfigError("Driver 'libcloud' option 'endpoint' must be an http(s) URL")
    images = merged.get("images") or {}
    if not isinstance(images, Mapping) or set(images) - {"owners", "name"}:
        raise DriverConfigError("Driver 'libcloud' option 'images' takes only 'owners' (a list) and 'name'")
    owners = images.get("owners") or ()
    sizes = merged.get("sizes") or ()
    if isinstance(owners, str) or isinstance(sizes, str):
        raise DriverConfigError("Driver 'libcloud' options images.owners and sizes are lists")
    if provider == "openstack":
        auth_url = _text(merged, "auth_url", required=True) or ""
        if urlsplit(auth_url).scheme not in ("http", "https"):
            raise DriverConfigError("Driver 'libcloud' option 'auth_url' must be an http(s) URL")
        _text(merged, "project", required=True)
        if emulator is not None or endpoint is not None:
            raise DriverConfigError("Driver 'libcloud' (openstack): the endpoints come from the catalog at 'auth_url'; "
                                    "'endpoint' and 'emulator' are not taken")
    try:
        timeout, page_size = float(merged["timeout"]), int(merged["page_size"])
    except (TypeError, ValueError):
        raise DriverConfigError("Driver 'libcloud' options 'timeout' and 'page_size' are numbers") from None
    if not 5 <= page_size <= 1000:
        raise DriverConfigError("Driver 'libcloud' option 'page_size' must be within 5..1000")
    return LibcloudSettings(
        provider=provider, key=Secret(_text(merged, "key", required=True) or ""),
        secret=Secret(_text(merged, "secret", required=True) or ""), region=_text(merged, "region"),
        endpoint=endpoint, emulator=emulator, image_owners=tuple(str(o) for o in owners),
        image_name=images.get("name"), sizes=tuple(str(s) for s in sizes), auth_url=_text(merged, "auth_url"),
        project=_text(merged, "project"), domain=str(merged["domain"]), timeout=timeout, page_size=page_size,
        vpc=_text(merged, "vpc"), project_domain_id=_text(merged, "project_domain_id"))


def _endpoint_kwargs(endpoint: str | None) -> dict[str, Any]:
    if not endpoint:
        return {}
    url = urlsplit(endpoint)
    secure = url.scheme == "https"
    return {"host": url.hostname, "port": url.port or (443 if secure else 80), "secure": secure}


def _ec2(settings: LibcloudSettings) -> Any:
    """EC2: ``region`` is the region, ``endpoint`` a host other than AWS's own; always SigV4."""
    from libcloud.compute.providers import get_driver
    from libcloud.compute.types import Provider

    cls = get_driver(Provider.EC2)
    if settings.emulator == "moto":
        from overcast.drivers.libcloud.emulators import moto_ec2_driver

        cls = moto_ec2_driver(cls)
    try:
        return cls(settings.key.reveal(), settings.secret.reveal(), region=settings.region or "us-east-1",
                   signature_version="4", timeout=settings.timeout, **_endpoint_kwargs(settings.endpoint))
    except ValueError as exc:  # "Invalid region: ..."
        raise DriverConfigError(f"Driver 'libcloud' (ec2): {exc}") from None


def keystone_root(auth_url: str) -> str:
    """The URL libcloud's Keystone v3 connection takes: it appends ``/v3/auth/tokens`` to the
    URL's path, so the ``/v3`` users write (as in clouds.yaml) is taken off."""
    url = auth_url.rstrip("/")
    return url[:-3] if url.endswith("/v3") else url


def _openstack(settings: LibcloudSettings) -> Any:
    """OpenStack: Keystone v3 password auth at ``auth_url`` (``/v3`` or not), user ``key`` and
    project ``project`` in ``domain``; ``region`` picks the catalog's region (RegionOne if unset:
    libcloud's default). Endpoints are the catalog's public ones, chosen by service type only
    (libcloud would also match the service *name*, ``nova``/``glance``/``cinderv3``/``neutron``,
    which a catalog need not use)."""
    from libcloud.compute.providers import get_driver
    from libcloud.compute.types import Provider

    cls = get_driver(Provider.OPENSTACK)
    kwargs: dict[str, Any] = {
        "api_version": "2.2", "ex_force_auth_url": keystone_root(settings.auth_url or ""),
        "ex_force_auth_version": "3.x_password",
        "ex_tenant_name": settings.project, "ex_domain_name": settings.domain,
        "ex_tenant_domain_id": settings.project_domain_id or ("default" if settings.domain == "Default"
                                                              else settings.domain),
        "timeout": settings.timeout, "secure": urlsplit(settings.auth_url or "").scheme == "https",
    }
    if settings.region:
        kwargs["ex_force_service_region"] = settings.region
    return cls(settings.key.reveal(), settings.secret.reveal(), **kwargs)


#: provider -> ``settings -> libcloud NodeDriver``
CONSTRUCTORS: Mapping[str, Callable[[LibcloudSettings], Any]] = {"ec2": _ec2, "openstack": _openstack}


class DriverPool:
    """One libcloud NodeDriver per thread (libcloud's connections are not thread-safe; the
    engine calls from several workers)."""

    def __init__(self, settings: LibcloudSettings) -> None:
        self._settings = settings
        self._local = threading.local()
        self.get()  # the constructor checks what it can (an unknown region) without a call: fail at start

    def get(self) -> Any:
        protect_debug_log(self._settings.secrets())  # debug logging may have been switched on since
        driver = getattr(self._local, "driver", None)
        if driver is None:
            driver = self._local.driver = CONSTRUCTORS[self._settings.provider](self._settings)
        return driver
