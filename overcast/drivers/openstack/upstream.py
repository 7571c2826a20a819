"""The upstream connection and its faults, shared by every family of the ``openstack`` driver.

One openstacksdk :class:`~openstack.connection.Connection` per configured cloud, made lazily on
the first call and reused by every family and thread (keystoneauth's session pools its HTTP
connections and renews the token itself). Credentials come from the cloud's config section (the
``env:``/``file:`` references are resolved by the config loader before the driver sees them) or a
``clouds.yaml`` entry; they are never logged and never put in a fault.

:func:`call` runs one upstream call and maps whatever openstacksdk or keystoneauth raises onto the
driver exception model, keeping the upstream's own message but scrubbed of URLs, tokens and
anything that names the upstream's endpoints (:func:`scrub`).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any, Callable, Mapping, TypeVar

from overcast.drivers.errors import (BuildFailed, Conflict, DriverError, InvalidRequest, NotFound, QuotaExceeded,
                                     Unavailable)
from overcast.drivers.headroom import UNLIMITED
from overcast.drivers.registry import DriverConfigError

T = TypeVar("T")

#: the config keys of ``[clouds.NAME]`` with ``driver = "openstack"`` (issue 10's interface) and their defaults
OPTIONS: Mapping[str, Any] = {
    "auth_url": None, "username": None, "password": None, "project_name": None,
    "user_domain_name": "Default", "project_domain_name": "Default", "region_name": None,
    # the alternative: a named cloud of a clouds.yaml (``clouds_yaml``: its path, else the usual places)
    "cloud": None, "clouds_yaml": None,
    # seconds for one upstream HTTP call; TLS verification (a CA bundle path, or false for a lab)
    "timeout": 30.0, "verify": True,
    # which of the upstream catalog's endpoints to use
    "interface": "public",
    # items per page asked of the upstream's lists (None: the upstream's default); every page is followed
    "page_size": None,
}
#: what every tag, metadata key and description the driver writes upstream starts with
PREFIX = "overcast"
KEY_TAG = "overcast-key:"          # Nova server tag / Neutron tag carrying the idempotency key or Overcast id
PROJECT_TAG = "overcast-project:"  # the Overcast project a resource is for
KEY_META = "overcast_key"          # volume metadata carrying the idempotency key
PROJECT_META = "overcast_project"

_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s'\"<>)]+", re.I)
_TOKEN = re.compile(r"\b(gAAAA[\w-]{20,}|[A-Za-z0-9_-]{40,}|[0-9a-f]{32,}(?![0-9a-f-]))")
#: host:port (an address without a port stays: "10.0.0.5 is already allocated" is the client's business)
_HOSTPORT = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}:\d{1,5}\b|\b[\w-]+(?:\.[\w-]+)+:\d{1,5}\b")
_HEADERS = re.compile(r"(X-(?:Auth|Subject)-Token|Authorization)\s*[:=]\s*\S+", re.I)


def scrub(message: str, secrets: tuple[str, ...] = ()) -> str:
    """The upstream's message without URLs, host:port pairs, tokens, auth headers or ``secrets``."""
    text = str(message or "")
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    text = _HEADERS.sub(r"\1: ***", text)
    text = _URL.sub("<upstream>", text)
    text = _HOSTPORT.sub("<upstream>", text)
    text = _TOKEN.sub("***", text)
    return " ".join(text.split())[:500]


@dataclass(frozen=True)
class Settings:
    """The checked options of one upstream cloud."""

    auth: Mapping[str, Any]
    region_name: str | None
    cloud: str | None
    clouds_yaml: str | None
    timeout: float
    verify: Any
    interface: str
    page_size: int | None = None

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> "Settings":
        cloud = options.get("cloud")
        if not cloud:
            missing = [k for k in ("auth_url", "username", "password", "project_name") if not options.get(k)]
            if missing:
                raise DriverConfigError(
                    f"Driver 'openstack' needs {', '.join(missing)} (or cloud = \"name\" of a clouds.yaml)")
        try:
            timeout = float(options.get("timeout") or 30.0)
        except (TypeError, ValueError):
            raise DriverConfigError("Driver 'openstack': timeout must be a number of seconds") from None
        page_size = options.get("page_size")
        if page_size is not None and (not isinstance(page_size, int) or page_size < 1):
            raise DriverConfigError("Driver 'openstack': page_size must be a positive integer")
        auth = {k: options[k] for k in ("auth_url", "username", "password", "project_name",
                                         "user_domain_name", "project_domain_name") if options.get(k)}
        return cls(auth=auth, region_name=options.get("region_name"), cloud=cloud,
                   clouds_yaml=options.get("clouds_yaml"), timeout=timeout, verify=options.get("verify", True),
                   interface=str(options.get("interface") or "public"), page_size=page_size)

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(str(v) for k, v in self.auth.items() if k == "password" and v)

    def describe(self) -> dict[str, Any]:
        """What `overcast drivers` may show: never the password."""
        return {"cloud": self.cloud, "auth_url": self.auth.get("auth_url"), "username": self.auth.get("username"),
                "project_name": self.auth.get("project_name"), "region_name": self.region_name}


class Upstream:
    """One lazily made, shared openstacksdk connection and the fault mapping around its calls."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._conn: Any = None

    @property
    def conn(self) -> Any:
        with self._lock:
            if self._conn is None:
                self._conn = self._connect()
            return self._conn

    def _connect(self) -> Any:
        import openstack.config
        import openstack.connection

        s = self.settings
        try:
            if s.cloud:
                files = [s.clouds_yaml] if s.clouds_yaml else None
                config = openstack.config.OpenStackConfig(config_files=files, load_envvars=False)
                region = config.get_one(cloud=s.cloud, region_name=s.region_name, api_timeout=s.timeout)
            else:
                config = openstack.config.OpenStackConfig(load_yaml_config=False, load_envvars=False)
                region = config.get_one(auth=dict(s.auth), auth_type="password", region_name=s.region_name,
                                        api_timeout=s.timeout, verify=s.verify, interface=s.interface,
                                        identity_api_version="3")
            return openstack.connection.Connection(config=region)
        except Exception as exc:  # noqa: BLE001 - a config error must not leak the credentials
            raise Unavailable(f"Cannot connect to the upstream cloud: {scrub(str(exc), s.secrets)}") from None

    def paged(self) -> dict[str, Any]:
        """The ``limit`` to list with (openstacksdk follows every page it leads to)."""
        return {"limit": self.settings.page_size} if self.settings.page_size else {}

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass

    def call(self, fn: Callable[..., T], *args: Any, what: str = "call", **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` with openstacksdk's and keystoneauth's exceptions mapped."""
        try:
            return fn(*args, **kwargs)
        except DriverError:
            raise
        except Exception as exc:  # noqa: BLE001 - mapped below, never passed on raw
            raise self.fault(exc, what) from None

    def fault(self, exc: BaseException, what: str) -> DriverError:
        """The driver exception for an upstream failure, its message scrubbed."""
        from keystoneauth1 import exceptions as ks
        from openstack import exceptions as sdk

        secrets = self.settings.secrets
        if isinstance(exc, sdk.HttpException):
            status = exc.status_code or 0
            detail = scrub(exc.details or exc.message or "", secrets) or f"HTTP {status}"
            headers = getattr(getattr(exc, "response", None), "headers", None) or {}
            if status == 404:
                return NotFound(f"Upstream {what}: {detail}")
            if status == 409:
                return Conflict(f"Upstream {what}: {detail}")
            if status == 413 or (status == 403 and "quota" in detail.lower()):
                return QuotaExceeded(detail)
            if status in (400, 403, 422):
                return InvalidRequest(detail)
            if status in (401,) or status == 429 or status >= 500:
                retry = _retry_after(headers.get("Retry-After"))
                return Unavailable(f"Upstream {what} failed ({status}): {detail}", retry_after=retry)
            return DriverError(f"Upstream {what} failed ({status}): {detail}")
        if isinstance(exc, (ks.ConnectionError, ks.ClientException, sdk.EndpointNotFound, ConnectionError,
                            TimeoutError, OSError)):
            return Unavailable(f"The upstream cloud is unreachable ({type(exc).__name__})")
        if isinstance(exc, sdk.ResourceTimeout):
            return BuildFailed(f"Upstream {what} timed out")
        return DriverError(f"Upstream {what} failed: {scrub(str(exc), secrets)}")


def _retry_after(value: Any) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None


def key_tag(key: str) -> str:
    return f"{KEY_TAG}{key}"


def project_tag(project_id: str | None) -> str:
    return f"{PROJECT_TAG}{project_id or '-'}"


def tag_value(tags: Any, prefix: str) -> str | None:
    for tag in tags or ():
        if isinstance(tag, str) and tag.startswith(prefix):
            return tag[len(prefix):]
    return None


def as_limit(value: Any) -> int:
    """An upstream limit as a number; absent or negative: unlimited."""
    try:
        limit = int(value)
    except (TypeError, ValueError):
        return UNLIMITED
    return limit if limit >= 0 else UNLIMITED
