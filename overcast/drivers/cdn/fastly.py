"""The ``fastly`` CDN provider: Fastly's configuration API over HTTP (requests).

A service becomes a Fastly service named ``overcast-<service id>``; each deployment builds a new
version (domains, one backend per origin, request conditions routing paths to origins, cache
settings per path with cache conditions, the default TTL in the version's settings, restrictions as
request conditions with a 403 response object, as Poppy's Fastly driver did) and activates it. An
operator-disabled service has its active version deactivated. Purges use Fastly's purge API
(``purge_all``, or one URL per domain; ``Fastly-Soft-Purge: 1`` for a soft purge); Fastly purges
single URLs, so a path prefix is refused.

The driver writes down (in ``fastly.db`` in its data directory) that it is about to create a
service before it asks Fastly, and the id Fastly gave it after; :meth:`find` answers from that
record, and asks Fastly by name only for a create that was interrupted before its id was recorded.

Options: ``api_key`` (a secret, by ``env:``/``file:`` reference), ``api_url``
(``https://api.fastly.com``; an emulator's in tests), ``timeout`` (seconds), ``edge_suffix`` (what
access URLs end with, ``global.prod.fastly.net``).
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import quote

from overcast.drivers.cdn.base import (AccessUrl, Capability, CdnDriver, DeployState, ProviderService, PurgeRequest,
                                       ServiceSpec, needed_capabilities)
from overcast.drivers.context import CallContext
from overcast.drivers.errors import BuildFailed, Conflict, DeleteFailed, DriverError, InvalidRequest, NotFound, Unavailable
from overcast.drivers.local.store import LocalStore

DEFAULTS: dict[str, Any] = {"api_key": None, "api_url": "https://api.fastly.com", "timeout": 30,
                            "edge_suffix": "global.prod.fastly.net"}
NAME_PREFIX = "overcast-"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS service (
    service_id TEXT PRIMARY KEY,
    fastly_id TEXT,
    name TEXT NOT NULL,
    created_at REAL NOT NULL,
    deleted_at REAL
);
"""


class _FastlyStore(LocalStore):
    """Its own tables, in a file of its own."""

    schema = SCHEMA



def _regex(url: str) -> str:
    body = url[:-1] if url.endswith("*") else url
    escaped = re.escape(body).replace('"', '\\"')
    return f'"^{escaped}"' if url.endswith("*") else f'"^{escaped}([?#]|$)"'


class FastlyCdnDriver(CdnDriver):
    """See the module docstring."""

    provider_url = "https://www.fastly.com"
    capabilities = frozenset({Capability.PURGE_URL, Capability.PURGE_ALL, Capability.SOFT_PURGE,
                              Capability.REFERRER_RESTRICTIONS, Capability.GEO_RESTRICTIONS})

    def __init__(self, data_dir: Path, *, api_key: str | None = None, api_url: str = "https://api.fastly.com",
                 timeout: float = 30, edge_suffix: str = "global.prod.fastly.net") -> None:
        import requests

        self.api_url = api_url.rstrip("/")
        self.timeout = float(timeout)
        self.edge_suffix = edge_suffix
        self.session = requests.Session()
        self.session.headers.update({"Accept": "application/json", "User-Agent": "overcast-cdn"})
        if api_key:
            self.session.headers["Fastly-Key"] = api_key
        self.store = _FastlyStore(Path(data_dir) / "fastly.db")
        self._customer: str | None = None

    # -- HTTP ----------------------------------------------------------------------------------------
    def _request(self, method: str, path: str, data: Mapping[str, Any] | None = None, *,
                 error: type[DriverError] = DriverError, headers: Mapping[str, str] | None = None) -> Any:
        import requests

        try:
            resp = self.session.request(method, self.api_url + path, data=data, headers=headers,
                                        timeout=self.timeout)
        except requests.RequestException as exc:
            raise Unavailable(f"Fastly could not be reached: {exc}") from None
        if resp.status_code >= 400:
            try:
                body = resp.json()
                message = body.get("msg") or body.get("detail") or body.get("message") or resp.text
                if isinstance(body.get("detail"), str) and body.get("msg"):
                    message = f"{body['msg']}: {body['detail']}"
            except ValueError:
                message = resp.text.strip()[:500] or resp.reason
            text = f"Fastly answered {resp.status_code}: {message}"
            if resp.status_code == 404:
                raise NotFound(text)
            if resp.status_code == 409:
                raise Conflict(text)
            if resp.status_code == 429 or resp.status_code >= 500:
                retry = resp.headers.get("Retry-After")
                raise Unavailable(text, retry_after=float(retry) if retry and retry.isdigit() else None)
            if resp.status_code == 400:
                raise InvalidRequest(text)
            raise error(text)
        if not resp.content:
            return None
        try:
            return resp.json()
        except ValueError:
            return resp.text

    def _customer_id(self) -> str:
        if self._customer is None:
            self._customer = self._request("GET", "/current_customer")["id"]
        return self._customer

    # -- building a version ----------------------------------------------------------------------------
    def _check(self, spec: ServiceSpec) -> None:
        lacking = sorted(c.value for c in needed_capabilities(spec) - self.capabilities)
        if lacking:
            raise InvalidRequest(f"The fastly provider does not offer {', '.join(lacking)}")
        for restriction in spec.restrictions:
            for rule in restriction.rules:
                if rule.kind == "geography" and not re.fullmatch(r"[A-Z]{2}", rule.value):
                    raise InvalidRequest(f"Fastly matches geography by ISO 3166 country code, not {rule.value!r}")

    def _build(self, fastly_id: str, version: int, spec: ServiceSpec, error: type[DriverError]) -> None:
        base = f"/service/{fastly_id}/version/{version}"

        def post(what: str, data: Mapping[str, Any]) -> Any:
            return self._request("POST", f"{base}/{what}", data, error=error)

        for host in spec.hosts:
            post("domain", {"name": host, "comment": f"overcast {spec.service_id}"})
        for i, origin in enumerate(spec.origins):
            backend = {"name": f"o{i}", "address": origin.origin, "port": origin.port,
                       "use_ssl": "true" if origin.ssl else "false", "hostname": origin.origin}
            header = (origin.origin if origin.host_header_type == "origin"
                      else origin.host_header_value if origin.host_header_type == "custom" else None)
            if header:
                backend["override_host"] = header
            paths = [r.request_url for r in origin.rules if r.request_url != "/*"]
            if i > 0 and paths:
                name = f"route o{i}"
                post("condition", {"name": name, "type": "REQUEST", "priority": 10,
                                   "statement": " || ".join(f"req.url ~ {_regex(p)}" for p in paths)})
                backend["request_condition"] = name
            post("backend", backend)
        for restriction in spec.restrictions:
            statements = []
            for rule in restriction.rules:
                where = f"req.url ~ {_regex(rule.request_url)}"
                if rule.kind == "referrer":
                    match = f'req.http.referer ~ "^[a-z]+://([^/]+\\\\.)?{re.escape(rule.value)}(:[0-9]+)?(/|$)"'
                else:
                    match = f'client.geo.country_code == "{rule.value}"'
                statements.append((where, match, rule.kind))
            if restriction.access == "blacklist":
                statement = " || ".join(f"({w} && {m})" for w, m, _ in statements)
            else:
                statement = " || ".join(f"({w} && {'req.http.referer && ' if k == 'referrer' else ''}!({m}))"
                                        for w, m, k in statements)
            name = f"restriction {restriction.name}"[:200]
            post("condition", {"name": name, "type": "REQUEST", "priority": 10, "statement": statement})
            post("response_object", {"name": f"{name} refusal"[:200], "status": 403, "response": "Forbidden",
                                     "content": "Forbidden by a restriction", "request_condition": name})
        default_ttl = 86400
        for caching in spec.caching:
            paths = [r.request_url for r in caching.rules]
            if "/*" in paths:
                default_ttl = caching.ttl
                continue
            name = f"cache {caching.name}"[:200]
            post("condition", {"name": name, "type": "CACHE", "priority": 10,
                               "statement": " || ".join(f"req.url ~ {_regex(p)}" for p in paths)})
            post("cache_settings", {"name": name, "ttl": caching.ttl, "stale_ttl": 0, "action": "cache",
                                    "cache_condition": name})
        self._request("PUT", f"{base}/settings", {"general.default_ttl": default_ttl}, error=error)

    def _new_version(self, fastly_id: str, error: type[DriverError]) -> int:
        return int(self._request("POST", f"/service/{fastly_id}/version", error=error)["number"])

    def _deploy(self, fastly_id: str, version: int, spec: ServiceSpec, error: type[DriverError]) -> ProviderService:
        self._build(fastly_id, version, spec, error)
        if spec.enabled:
            self._request("PUT", f"/service/{fastly_id}/version/{version}/activate", error=error)
        else:
            active = self._active_version(self._details(fastly_id))
            if active is not None:
                self._request("PUT", f"/service/{fastly_id}/version/{active}/deactivate", error=error)
        return self.get(CallContext(), fastly_id)

    # -- services ------------------------------------------------------------------------------------
    def create(self, ctx: CallContext, spec: ServiceSpec) -> ProviderService:
        self._check(spec)
        found = self.find(ctx, spec.service_id)
        if found is not None:
            return found
        name = NAME_PREFIX + spec.service_id
        with self.store.write() as conn:  # the intent, written before Fastly is asked
            conn.execute("INSERT OR REPLACE INTO service (service_id, name, created_at) VALUES (?, ?, ?)",
                         (spec.service_id, name, time.time()))
        answer = self._request("POST", "/service", {"name": name, "customer_id": self._customer_id(),
                                                    "comment": f"Overcast CDN service {spec.service_id}"},
                               error=BuildFailed)
        fastly_id = answer["id"]
        with self.store.write() as conn:
            conn.execute("UPDATE service SET fastly_id = ? WHERE service_id = ?", (fastly_id, spec.service_id))
        versions = answer.get("versions") or []
        version = int(versions[0]["number"]) if versions else self._new_version(fastly_id, BuildFailed)
        return self._deploy(fastly_id, version, spec, BuildFailed)

    def update(self, ctx: CallContext, provider_service_id: str, spec: ServiceSpec) -> ProviderService:
        self._check(spec)
        self._details(provider_service_id)  # NotFound when it is gone
        version = self._new_version(provider_service_id, BuildFailed)
        return self._deploy(provider_service_id, version, spec, BuildFailed)

    def delete(self, ctx: CallContext, provider_service_id: str) -> bool:
        with self.store.read() as conn:
            gone = conn.execute("SELECT 1 FROM service WHERE fastly_id = ? AND deleted_at IS NOT NULL",
                                (provider_service_id,)).fetchone()
        if gone is not None:  # this driver deleted it already: a retried delete
            return True
        try:
            details = self._details(provider_service_id, DeleteFailed)
        except NotFound:
            self._forget(provider_service_id)
            return True
        active = self._active_version(details)
        if active is not None:
            self._request("PUT", f"/service/{provider_service_id}/version/{active}/deactivate", error=DeleteFailed)
        try:
            self._request("DELETE", f"/service/{provider_service_id}", error=DeleteFailed)
        except NotFound:
            pass
        self._forget(provider_service_id)
        return True

    def _forget(self, fastly_id: str) -> None:
        with self.store.write() as conn:
            conn.execute("UPDATE service SET deleted_at = ? WHERE fastly_id = ?", (time.time(), fastly_id))

    def _details(self, fastly_id: str, error: type[DriverError] = DriverError) -> Mapping[str, Any]:
        return self._request("GET", f"/service/{quote(fastly_id, safe='')}/details", error=error)

    @staticmethod
    def _active_version(details: Mapping[str, Any]) -> int | None:
        active = details.get("active_version")
        if isinstance(active, Mapping):
            return int(active["number"])
        for version in details.get("versions") or []:
            if version.get("active") in (True, "1", 1):
                return int(version["number"])
        return None

    def get(self, ctx: CallContext, provider_service_id: str) -> ProviderService:
        with self.store.read() as conn:
            row = conn.execute("SELECT service_id, deleted_at FROM service WHERE fastly_id = ?",
                               (provider_service_id,)).fetchone()
        if row is not None and row["deleted_at"] is not None:
            raise NotFound(f"Fastly service {provider_service_id} was deleted")
        details = self._details(provider_service_id)
        hosts = self._hosts(provider_service_id, details)
        active = self._active_version(details)
        return ProviderService(provider_service_id=provider_service_id, state=DeployState.DEPLOYED,
                               access_urls=tuple(AccessUrl(h, f"{h}.{self.edge_suffix}") for h in hosts),
                               extra={"active_version": active, "name": details.get("name"),
                                      "service_id": row["service_id"] if row else None})

    def _hosts(self, fastly_id: str, details: Mapping[str, Any]) -> list[str]:
        version = self._active_version(details)
        if version is None:
            versions = details.get("versions") or []
            version = int(versions[-1]["number"]) if versions else None
        if version is None:
            return []
        try:
            checks = self._request("GET", f"/service/{fastly_id}/version/{version}/domain/check_all")
        except NotFound:
            return []
        hosts = []
        for check in checks or []:
            domain = check[0] if isinstance(check, list) else check
            name = domain.get("name") if isinstance(domain, Mapping) else None
            if name and name not in hosts:
                hosts.append(name)
        return hosts

    def find(self, ctx: CallContext, service_id: str) -> ProviderService | None:
        with self.store.read() as conn:
            row = conn.execute("SELECT fastly_id, name FROM service WHERE service_id = ? AND deleted_at IS NULL",
                               (service_id,)).fetchone()
        if row is None:
            return None  # this driver never began to create it
        fastly_id = row["fastly_id"]
        if fastly_id is None:  # a create interrupted before its id was written down: ask by name
            try:
                found = self._request("GET", f"/service/search?name={quote(row['name'], safe='')}")
            except NotFound:
                return None
            fastly_id = found.get("id") or (found.get("service_details") or {}).get("service_id")
            if not fastly_id:
                return None
            with self.store.write() as conn:
                conn.execute("UPDATE service SET fastly_id = ? WHERE service_id = ?", (fastly_id, service_id))
        try:
            return self.get(ctx, fastly_id)
        except NotFound:
            return None

    # -- purge -----------------------------------------------------------------------------------------
    def purge(self, ctx: CallContext, provider_service_id: str, request: PurgeRequest) -> str | None:
        headers = {} if request.hard else {"Fastly-Soft-Purge": "1"}
        if request.all:
            self._request("POST", f"/service/{provider_service_id}/purge_all", headers=headers)
            return None
        url = request.url or "/"
        if url.endswith("*"):
            raise InvalidRequest("Fastly purges single URLs, not a path prefix; purge all instead")
        hosts = self._hosts(provider_service_id, self._details(provider_service_id))
        for host in hosts:
            self._request("POST", f"/purge/{host}{url}", headers=headers)
        return None

    def is_alive(self) -> bool:
        try:
            self._request("GET", "/current_customer")
        except DriverError:
            return False
        return True

    def close(self) -> None:
        self.session.close()
        self.store.close()


def create_driver(options: Mapping[str, Any], data_dir: Path) -> Any:
    """Entry point ``fastly``: a provider bundle whose ``cdn`` slot is Fastly."""
    from overcast.drivers.registry import CloudDriver, check_options

    opts = check_options("fastly", options, DEFAULTS)
    driver = FastlyCdnDriver(Path(data_dir), **opts)
    return CloudDriver(name="fastly", cdn=driver, info={"api_url": driver.api_url})
