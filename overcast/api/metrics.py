"""``/metrics`` in Prometheus' text format (docs/decisions/0037-metrics.md).

- ``overcast_http_requests_total{endpoint,method,status}`` and
  ``overcast_http_request_duration_seconds{endpoint,method}``: every request, by named endpoint
  (``compute:v2_servers_detail``; ``-`` for a path no endpoint matches).
- ``overcast_token_issues_total{outcome}``, ``overcast_token_validations_total{outcome}``:
  ``issued``/``refused`` logins; ``valid``/``invalid`` tokens presented to an authenticated endpoint.
- ``overcast_operations{region,state}``: operations per region and state (``pending`` = queued,
  ``running``, ``failed``...), counted in the database when scraped, so every node agrees.
- ``overcast_breaker_state{region,family}``: 0 closed, 1 half-open, 2 open; the worst any process sees.

With several server processes, ``overcast serve`` points ``PROMETHEUS_MULTIPROC_DIR`` at
``<data-dir>/metrics`` before they start, and a scrape answered by any of them adds all of theirs
(prometheus_client's multiprocess mode). prometheus_client is imported here only, when the app is built.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any, Callable

import falcon

BREAKER_VALUES = {"closed": 0, "half-open": 1, "open": 2}
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
TOKEN_ISSUE = {("identity:v3_auth_tokens", "POST"), ("identity:v2_tokens", "POST")}


class Metrics:
    """This process's metrics (not registered anywhere global: each app has its own)."""

    def __init__(self, store: Any, endpoint_of: Callable[[falcon.Request], str | None]):
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.store = store
        self.endpoint_of = endpoint_of
        self.multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        self.registry = CollectorRegistry(auto_describe=True)
        target = None if self.multiprocess else self.registry
        self.requests = Counter("overcast_http_requests", "API requests answered", ["endpoint", "method", "status"],
                                registry=target)
        self.latency = Histogram("overcast_http_request_duration_seconds", "Time to answer an API request",
                                 ["endpoint", "method"], buckets=BUCKETS, registry=target)
        self.token_issues = Counter("overcast_token_issues", "Token requests (logins)", ["outcome"], registry=target)
        self.token_validations = Counter("overcast_token_validations", "Tokens presented to authenticated endpoints",
                                         ["outcome"], registry=target)
        self.breakers = Gauge("overcast_breaker_state", "Circuit breaker per region and family: 0 closed, "
                              "1 half-open, 2 open", ["region", "family"], registry=target,
                              multiprocess_mode="max")
        self._breaker_source: Any = None
        #: (endpoint, method, status) -> the request counter's and latency histogram's children
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._validations = {True: self.token_validations.labels("valid"),
                             False: self.token_validations.labels("invalid")}
        if self.multiprocess:
            from prometheus_client import multiprocess

            multiprocess.MultiProcessCollector(self.registry)
        self.registry.register(_OperationsCollector(store))

    # -- the middleware -------------------------------------------------------------------------
    def process_response(self, req: falcon.Request, resp: falcon.Response, resource: Any,
                         req_succeeded: bool) -> None:
        started = getattr(req.context, "started", None)
        if started is None:
            return
        endpoint = self.endpoint_of(req) or "-"
        status = resp.status_code
        key = (endpoint, req.method, status)
        children = self._children.get(key)
        if children is None:  # prometheus_client's labels() validates and hashes on every call
            children = (self.requests.labels(endpoint, req.method, str(status)),
                        self.latency.labels(endpoint, req.method))
            if len(self._children) < 10_000:
                self._children[key] = children
        children[0].inc()
        children[1].observe(time.perf_counter() - started)
        if (endpoint, req.method) in TOKEN_ISSUE:
            self.token_issues.labels("issued" if status < 300 else "refused").inc()
        elif req.get_header("X-Auth-Token") and req.method not in getattr(resource, "public_methods", ()):
            self._validations[getattr(req.context, "auth", None) is not None].inc()

    # -- breakers -------------------------------------------------------------------------------
    def watch_breakers(self, breakers: Any, interval: float = 1.0) -> None:
        """Keep this process's breaker gauges current (a daemon thread; the engine opens breakers
        between requests)."""
        self._breaker_source = breakers

        def loop() -> None:
            while True:
                self.update_breakers()
                time.sleep(interval)

        threading.Thread(target=loop, name="overcast-breaker-metrics", daemon=True).start()

    def update_breakers(self) -> None:
        source = self._breaker_source
        if source is None:
            return
        for key, state in source.states().items():  # "region" or "region/family" (overcast.ops.breaker)
            region, _, family = key.partition("/")
            family = family or "*"
            self.breakers.labels(str(region), str(family)).set(BREAKER_VALUES.get(state, 2))

    # -- the endpoint ---------------------------------------------------------------------------
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        self.update_breakers()
        resp.data = generate_latest(self.registry)
        resp.content_type = CONTENT_TYPE_LATEST

    public_methods = ("GET",)


class _OperationsCollector:
    """Operations per region and state, counted in the database at each scrape."""

    def __init__(self, store: Any):
        self.store = store

    def describe(self) -> list[Any]:
        return []

    def collect(self) -> Any:
        from prometheus_client.core import GaugeMetricFamily
        from sqlalchemy import func, select

        from overcast.ops.models import Operation

        family = GaugeMetricFamily("overcast_operations", "Operations per region and state (pending = queued)",
                                   labels=["region", "state"])
        with self.store.session() as session:
            rows = session.execute(select(Operation.cloud, Operation.state, func.count())
                                   .group_by(Operation.cloud, Operation.state)).all()
        for region, state, count in rows:
            family.add_metric([region, state], count)
        yield family


def clear_multiprocess_dir(path: Any) -> None:
    """Empty the multiprocess directory before the server processes start (stale files of dead
    processes would otherwise be added to every scrape)."""
    from pathlib import Path

    directory = Path(path)
    directory.mkdir(parents=True, exist_ok=True)
    for file in directory.glob("*.db"):
        file.unlink()
