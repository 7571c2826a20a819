"""``/ping``, ``/health`` and analytics: the few places the CDN API asks something synchronously.

Health asks the store (``SELECT 1``) and each provider (``is_alive``); analytics asks the
providers for their traffic figures, which Overcast does not record (like Nova's diagnostics and
console output, 0009). Each provider call goes through :func:`overcast.ops.calls.call_backend`
(a daemon thread, ``[cdn] provider_call_timeout``, the provider's ``cdn`` breaker), so a provider
that hangs costs the request a bounded wait and never a thread of the server's pool.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any, Callable, TypeVar

from sqlalchemy import text

from overcast.core.cdn import FAMILY, CdnCore
from overcast.core.cdn.services import Caller, spec_of
from overcast.core.errors import Invalid, ServiceUnavailable
from overcast.drivers.cdn.base import Capability
from overcast.drivers.context import CallContext
from overcast.drivers.errors import DriverError
from overcast.ops.calls import BackendUnavailable, call_backend
from overcast.store.cdn import CdnService

T = TypeVar("T")

STORAGE = "sqlalchemy"
METRIC_TYPES = ("requestCount", "bandwidthOut")
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"


def _ask(core: CdnCore, provider: str, fn: Callable[[], T]) -> T:
    """``fn()``, one read of ``provider`` made while answering a request.

    :raises BackendUnavailable: its breaker is open, it did not answer within ``[cdn]
        provider_call_timeout``, or it said it is unavailable.
    """
    return call_backend(core.backends, provider, FAMILY, fn, timeout=core.settings.cdn.provider_call_timeout,
                        label=f"the CDN provider {provider}")


def storage_alive(core: CdnCore) -> bool:
    try:
        with core.store.session() as session:
            session.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure means the store is down
        return False
    return True


def provider_alive(core: CdnCore, provider: str) -> bool:
    """:raises NotFound: no such provider."""
    driver = core.driver(provider)
    try:
        return bool(_ask(core, provider, driver.is_alive))
    except Exception:  # noqa: BLE001 - a provider that cannot answer is not alive
        return False


def health(core: CdnCore) -> tuple[bool, dict[str, dict[str, bool]]]:
    """(all alive, {"storage": {name: alive}, "providers": {name: alive}}); providers asked at once."""
    results: dict[str, bool] = {}
    threads = [threading.Thread(target=lambda p=p: results.__setitem__(p, provider_alive(core, p)), daemon=True)
               for p in core.providers]
    for thread in threads:
        thread.start()
    storage = storage_alive(core)
    for thread in threads:
        thread.join()
    report = {"storage": {STORAGE: storage}, "providers": {p: results.get(p, False) for p in core.providers}}
    return storage and all(report["providers"].values()), report


def parse_time(name: str, value: str | None, default: dt.datetime) -> dt.datetime:
    if value is None:
        return default
    try:
        return dt.datetime.strptime(value, TIME_FORMAT)
    except ValueError:
        raise Invalid(f"{name}: startTime or endTime is not in valid format; the format is YYYY-mm-ddTHH:MM:SS") \
            from None


def analytics(core: CdnCore, caller: Caller, service: CdnService, domain: str | None, start: dt.datetime,
              end: dt.datetime, metric: str | None) -> dict[str, Any]:
    """Requests and bytes per domain, summed over the providers that report them.

    :raises Invalid: a domain the service does not have, start after end, an unknown metric.
    :raises ServiceUnavailable: a provider did not answer.
    """
    if start > end:
        raise Invalid("startTime cannot be later than endTime")
    if metric is not None and metric not in METRIC_TYPES:
        raise Invalid(f"metricType: Valid metric types are: {list(METRIC_TYPES)}")
    spec = spec_of(service)
    domains = spec.hosts
    if domain is not None:
        if domain.lower() not in domains:
            raise Invalid(f"domain: {domain} is not a domain of service {service.id}")
        domains = (domain.lower(),)
    totals = {d: {"requestCount": 0, "bandwidthOut": 0} for d in domains}
    per_provider: dict[str, Any] = {}
    ctx = CallContext(project_id=caller.project_id, user_id=caller.user_id, request_id=caller.request_id)
    for detail in service.providers:
        driver = core.driver(detail.provider)
        if Capability.ANALYTICS not in driver.capabilities or not detail.provider_service_id:
            per_provider[detail.provider] = None
            continue
        provider_id = detail.provider_service_id
        try:
            figures = _ask(core, detail.provider,
                           lambda d=driver, p=provider_id: d.metrics(ctx, p, domains, start, end))
        except (BackendUnavailable, DriverError) as exc:
            raise ServiceUnavailable(f"Provider {detail.provider} did not report its figures: {exc}",
                                     retry_after=getattr(exc, "retry_after", None)) from None
        per_provider[detail.provider] = {}
        for figure in figures:
            entry = {"requestCount": figure.request_count, "bandwidthOut": figure.bandwidth_bytes}
            per_provider[detail.provider][figure.domain] = entry
            if figure.domain in totals:
                totals[figure.domain]["requestCount"] += figure.request_count
                totals[figure.domain]["bandwidthOut"] += figure.bandwidth_bytes
    return {"totals": totals, "providers": per_provider, "domains": domains}
