"""Named endpoints: name -> service, verbs and URL template (Jumpgate's dispatcher, done strictly).

Each service package declares its endpoints; resources are bound to names; :meth:`Registry.mount`
adds every declared endpoint to the Falcon app, answering the unbound ones with the service's
"not implemented" fault so ``overcast coverage`` can list them.
"""

from __future__ import annotations

import functools
import logging
import random
import string
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import falcon

from overcast.api import faults
from overcast.store.db import is_transient

LOG = logging.getLogger(__name__)

#: how many times a request runs when the database keeps aborting its transaction (deadlocks)
TRANSIENT_ATTEMPTS = 4

#: Where each service is mounted under the public URL.
MOUNTS = {
    "identity": "/identity",
    "compute": "/compute",
    "image": "/image",
    "volume": "/volume",
    "network": "/network",
    "cdn": "/cdn",
    "placement": "/placement",
}

HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


class RoutingError(LookupError):
    """An unknown endpoint name, a duplicate declaration or a missing URL parameter."""


@dataclass(frozen=True)
class Endpoint:
    service: str
    name: str
    template: str
    methods: frozenset[str]
    #: further templates serving the same endpoint (e.g. Nova's /v2/{project_id}/... paths)
    aliases: tuple[str, ...] = ()

    @property
    def path(self) -> str:
        return MOUNTS[self.service] + self.template

    @property
    def paths(self) -> tuple[str, ...]:
        return (self.path, *(MOUNTS[self.service] + a for a in self.aliases))

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(f for _, f, _, _ in string.Formatter().parse(self.template) if f)


class _NotImplemented:
    """Stands in for an unbound endpoint: auth first, then the service's 501 fault."""

    def __init__(self, endpoint: Endpoint):
        self.endpoint = endpoint
        for method in endpoint.methods:
            setattr(self, f"on_{method.lower()}", self._answer)

    def _answer(self, req: falcon.Request, resp: falcon.Response, **_: Any) -> None:
        raise faults.NotImplementedFault(
            f"{req.method} {self.endpoint.template} ({self.endpoint.name}) is not implemented by Overcast yet."
        )


class _Unrouted:
    """A path under a service prefix that no endpoint matches: 401 without a valid token, else 404."""

    def __init__(self, service: str):
        self.service = service

    def __call__(self, req: falcon.Request, resp: falcon.Response, **_: Any) -> None:
        authenticate = getattr(req.context, "authenticate", None)
        if authenticate is not None:
            authenticate(req)
        raise faults.NotFound("The resource could not be found.")


class Registry:
    def __init__(self) -> None:
        self._endpoints: dict[str, Endpoint] = {}
        self._resources: dict[str, Any] = {}
        #: route template -> "service:name", filled by :meth:`mount`
        self._names: dict[str, str] = {}

    def declare(self, service: str, name: str, template: str, methods: Iterable[str],
                aliases: Iterable[str] = ()) -> Endpoint:
        """Declare an endpoint. :raises RoutingError: on a duplicate name or unknown service."""
        key = f"{service}:{name}"
        if key in self._endpoints:
            raise RoutingError(f"endpoint {key} declared twice")
        if service not in MOUNTS:
            raise RoutingError(f"unknown service {service!r}")
        endpoint = Endpoint(service, name, template, frozenset(m.upper() for m in methods), tuple(aliases))
        self._endpoints[key] = endpoint
        return endpoint

    def bind(self, service: str, name: str, resource: Any) -> None:
        """Serve ``name`` with ``resource``. :raises RoutingError: for an undeclared name."""
        key = f"{service}:{name}"
        if key not in self._endpoints:
            raise RoutingError(f"cannot bind undeclared endpoint {key}")
        self._resources[key] = resource

    def endpoint(self, service: str, name: str) -> Endpoint:
        try:
            return self._endpoints[f"{service}:{name}"]
        except KeyError:
            raise RoutingError(f"unknown endpoint {service}:{name}") from None

    def url_for(self, base_url: str, service: str, name: str, **params: Any) -> str:
        """Absolute URL of an endpoint. :raises RoutingError: unknown name or missing parameter."""
        endpoint = self.endpoint(service, name)
        missing = [f for f in endpoint.fields if f not in params]
        if missing:
            raise RoutingError(f"url_for({service}:{name}) is missing {', '.join(missing)}")
        return base_url.rstrip("/") + endpoint.path.format(**params)

    def endpoints(self, service: str | None = None) -> list[Endpoint]:
        return [e for e in self._endpoints.values() if service is None or e.service == service]

    def name_of(self, req: falcon.Request) -> str | None:
        """``service:name`` of the endpoint a routed request matched (None for other paths)."""
        return self._names.get(req.uri_template) if req.uri_template else None

    def is_implemented(self, endpoint: Endpoint) -> bool:
        resource = self._resources.get(f"{endpoint.service}:{endpoint.name}")
        return resource is not None and all(hasattr(resource, f"on_{m.lower()}") for m in endpoint.methods)

    def mount(self, app: falcon.App) -> None:
        """Add a route for every declared endpoint (one per distinct path)."""
        by_path: dict[str, Endpoint] = {}
        for endpoint in self._endpoints.values():
            for path in endpoint.paths:
                if path in by_path:
                    raise RoutingError(f"{path} declared by {by_path[path].name} and {endpoint.name}")
                by_path[path] = endpoint
        self._names = {path: f"{endpoint.service}:{endpoint.name}" for path, endpoint in by_path.items()}
        for endpoint in self._endpoints.values():
            stand_in = _NotImplemented(endpoint)
            resource = self._resources.get(f"{endpoint.service}:{endpoint.name}") or stand_in
            for method in endpoint.methods:
                responder = f"on_{method.lower()}"
                if not hasattr(resource, responder):
                    setattr(resource, responder, getattr(stand_in, responder))
                elif not getattr(getattr(resource, responder), "retries_transient", False):
                    setattr(resource, responder, retrying(getattr(resource, responder)))
            for path in endpoint.paths:
                app.add_route(path, resource)
        for service, prefix in MOUNTS.items():
            app.add_sink(_Unrouted(service), prefix + r"(/.*)?$")


def retrying(responder: Callable[..., Any]) -> Callable[..., Any]:
    """``responder`` run again, in a fresh transaction, when the database aborted the request's
    transaction to break a deadlock (PostgreSQL, a request against a worker): the request made
    nothing yet, so it runs again as Neutron's API does (oslo.db ``wrap_db_retry``), after a short
    random pause, up to :data:`TRANSIENT_ATTEMPTS` times. Requests without a transaction of their
    own (streamed uploads) are not run again."""
    @functools.wraps(responder)
    def run(req: falcon.Request, resp: falcon.Response, *args: Any, **kwargs: Any) -> Any:
        for attempt in range(1, TRANSIENT_ATTEMPTS + 1):
            try:
                return responder(req, resp, *args, **kwargs)
            except Exception as exc:
                started = getattr(req.context, "unit", None)
                if not is_transient(exc) or started is None or attempt == TRANSIENT_ATTEMPTS:
                    raise
                started[0].rollback()
                LOG.info("%s %s: the database aborted the transaction (deadlock); running it again (%d/%d)",
                         req.method, req.path, attempt + 1, TRANSIENT_ATTEMPTS)
                time.sleep(random.uniform(0.01, 0.05) * attempt)
        raise AssertionError("unreachable")

    run.retries_transient = True  # type: ignore[attr-defined]
    return run
