"""The WSGI application factory: one function builds everything; nothing at import time."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import falcon

from overcast.api import faults, media, testing
from overcast.api.metrics import Metrics
from overcast.api.response_cache import ResponseCache
from overcast.api.root import Root
from overcast.api.middleware import (AuthMiddleware, NoTrailingSlash, PolicyMiddleware, RequestContextMiddleware,
                                     TransactionMiddleware)
from overcast.api.microversions import MicroversionMiddleware
from overcast.api.routing import Registry
from overcast.config import Settings
from overcast.core import policy
from overcast.core.cdn import CdnCore, build_cdn
from overcast.core.compute import ComputeCore, build_compute
from overcast.core import faults as core_faults
from overcast.core.errors import OvercastError, ServiceUnavailable
from overcast.drivers.errors import Unavailable as DriverUnavailable
from overcast.core.faults import FaultBook
from overcast.core.identity import IdentityCore, build_identity
from overcast.core.image import ImageCore
from overcast.core.network import NetworkCore
from overcast.core.volume import VolumeCore, build_volume
from overcast.ops.calls import BackendUnavailable

if TYPE_CHECKING:
    from overcast.config import OpsSettings
    from overcast.ops.runtime import OpsRuntime

LOG = logging.getLogger(__name__)


def _core_error(req: falcon.Request, resp: falcon.Response, exc: OvercastError | BackendUnavailable,
                params: dict) -> None:
    retry_after = getattr(exc, "retry_after", None)
    headers = {"Retry-After": str(max(1, round(retry_after)))} if retry_after is not None else None
    raise faults.Fault(exc.status, exc.message, kind=exc.kind, headers=headers)


def _driver_unavailable(req: falcon.Request, resp: falcon.Response, exc: Exception, params: dict) -> None:
    """A driver called while serving a request found its backend unavailable: 503, not 500."""
    _core_error(req, resp, ServiceUnavailable(f"The cloud behind region {req.context.region} is unavailable; "
                                              f"try again later.", retry_after=getattr(exc, "retry_after", None)
                                              or 1), params)


def build_operations(compute: ComputeCore, ops: "OpsSettings | None" = None,
                     cdn: CdnCore | None = None) -> "OpsRuntime":
    """The operations runtime (workers and reconciler) with every service's handlers; not started."""
    from overcast.core.cdn.operations import setup_for as cdn_setup_for
    from overcast.core.compute.operations import setup_for
    from overcast.core.compute.volume_operations import setup_for as server_volumes_setup_for
    from overcast.core.network.operations import setup_for as network_setup_for
    from overcast.core.volume.operations import setup_for as volume_setup_for
    from overcast.ops.runtime import OpsRuntime

    return OpsRuntime(compute.store, compute.settings, ops, backends=compute.backends,
                      setups=[setup_for(compute), server_volumes_setup_for(compute),
                              volume_setup_for(build_volume(compute)), network_setup_for(compute.network),
                              cdn_setup_for(cdn or build_cdn(compute.settings, compute.store, compute.backends))])


def preload() -> None:
    """Import every service's modules and configure the ORM mappers now. ``overcast serve`` calls
    this before it forks its server processes, which then share the work instead of each repeating
    it (docs/decisions/0034-serving.md)."""
    from sqlalchemy.orm import configure_mappers

    import overcast.api.cdn  # noqa: F401
    import overcast.api.compute  # noqa: F401
    import overcast.api.identity  # noqa: F401
    import overcast.api.image  # noqa: F401
    import overcast.api.network  # noqa: F401
    import overcast.api.volume  # noqa: F401
    import overcast.ops.runtime  # noqa: F401

    configure_mappers()


class OvercastApp(falcon.App):
    """The Falcon app, carrying its endpoint registry and cores for tools and tests."""

    registry: Registry
    policy: policy.Policy
    metrics: Metrics | None
    response_cache: ResponseCache | None
    faults: FaultBook | None
    identity: IdentityCore
    compute: ComputeCore
    images: ImageCore
    network: NetworkCore
    volume: VolumeCore
    cdn: CdnCore


def create_app(settings: Settings, identity: IdentityCore | None = None,
               compute: ComputeCore | None = None, images: ImageCore | None = None,
               cdn: CdnCore | None = None) -> OvercastApp:
    """Build the Falcon app serving every service for ``settings``."""
    from overcast.api.cdn import register as register_cdn
    from overcast.api.compute import MICROVERSIONS as COMPUTE_VERSIONS
    from overcast.api.compute import register as register_compute
    from overcast.api.identity import register as register_identity
    from overcast.api.image import register as register_image
    from overcast.api.network import register as register_network
    from overcast.api.placement import MICROVERSIONS as PLACEMENT_VERSIONS
    from overcast.api.placement import register as register_placement
    from overcast.api.volume import MICROVERSIONS as VOLUME_VERSIONS
    from overcast.api.volume import register as register_volume

    identity = identity or build_identity(settings)
    compute = compute or build_compute(settings, identity)
    images = images or ImageCore(settings=settings, store=identity.store)
    network = compute.network
    volume = build_volume(compute)
    cdn = cdn or build_cdn(settings, identity.store, compute.backends)
    rules = policy.load()
    registry = Registry()
    book = FaultBook(settings, identity.store) if core_faults.enabled(settings) else None
    metrics = Metrics(identity.store, registry.name_of) if settings.metrics.enabled else None
    middleware: list[Any] = [RequestContextMiddleware(settings.server.max_body_bytes, settings.regions,
                                                      settings.server.max_json_depth)]
    if metrics is not None:
        middleware.append(metrics)
    middleware += [PolicyMiddleware(rules), TransactionMiddleware()]
    middleware += [MicroversionMiddleware({"compute": COMPUTE_VERSIONS, "volume": VOLUME_VERSIONS,
                                            "placement": PLACEMENT_VERSIONS}),
                   AuthMiddleware(identity.tokens)]
    if book is not None:
        middleware.append(testing.FaultMiddleware(book, registry.name_of))
    middleware.append(NoTrailingSlash({"compute", "image", "volume"}))
    cache = None
    if settings.server.response_cache and identity.store.changes is not None:
        cache = ResponseCache(identity.store.changes, registry.name_of)
        middleware.append(cache)
    app = OvercastApp(middleware=middleware, cors_enable=False)
    app.req_options.strip_url_path_trailing_slash = True
    app.req_options.auto_parse_qs_csv = False
    handler = media.JSONHandler()
    app.req_options.media_handlers = falcon.media.Handlers({falcon.MEDIA_JSON: handler})
    app.resp_options.media_handlers = falcon.media.Handlers({falcon.MEDIA_JSON: handler})
    app.set_error_serializer(faults.serialize)
    app.add_error_handler(Exception, faults.handle_unexpected)
    app.add_error_handler(OvercastError, _core_error)
    app.add_error_handler(DriverUnavailable, _driver_unavailable)
    app.add_error_handler(BackendUnavailable, _core_error)  # a backend read from a request: 503

    register_identity(registry, identity)
    register_compute(registry, compute)
    register_image(registry, images)
    register_network(registry, network)
    register_volume(registry, volume)
    register_placement(registry, identity.store, settings)
    register_cdn(registry, cdn)
    registry.mount(app)
    if metrics is not None:
        app.add_route("/metrics", metrics)
    if book is not None:
        book.endpoints = frozenset(f"{e.service}:{e.name}" for e in registry.endpoints())
    if settings.testing.admin_api:
        testing.mount(app, settings, identity.store, book)
    app.add_route("/", Root(settings), compile=True)  # the last route: compile the router now, not on a request
    app.registry = registry
    app.policy = rules
    app.metrics = metrics
    app.response_cache = cache
    app.faults = book
    app.identity = identity
    app.compute = compute
    app.images = images
    app.network = network
    app.volume = volume
    app.cdn = cdn
    return app
