"""The WSGI application factory: one function builds everything; nothing at import time."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import falcon

from overcast.api import faults, media
from overcast.api.middleware import (AuthMiddleware, NoTrailingSlash, PolicyMiddleware, RequestContextMiddleware,
                                     TransactionMiddleware)
from overcast.api.microversions import MicroversionMiddleware
from overcast.api.routing import Registry
from overcast.config import Settings
from overcast.core import policy
from overcast.core.compute import ComputeCore, build_compute
from overcast.core.errors import OvercastError
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


def build_operations(compute: ComputeCore, ops: "OpsSettings | None" = None) -> "OpsRuntime":
    """The operations runtime (workers and reconciler) with every service's handlers; not started."""
    from overcast.core.compute.operations import setup_for
    from overcast.core.compute.volume_operations import setup_for as server_volumes_setup_for
    from overcast.core.network.operations import setup_for as network_setup_for
    from overcast.core.volume.operations import setup_for as volume_setup_for
    from overcast.ops.runtime import OpsRuntime

    return OpsRuntime(compute.store, compute.settings, ops, backends=compute.backends,
                      setups=[setup_for(compute), server_volumes_setup_for(compute),
                              volume_setup_for(build_volume(compute)), network_setup_for(compute.network)])


class OvercastApp(falcon.App):
    """The Falcon app, carrying its endpoint registry and cores for tools and tests."""

    registry: Registry
    policy: policy.Policy
    identity: IdentityCore
    compute: ComputeCore
    images: ImageCore
    network: NetworkCore
    volume: VolumeCore


def create_app(settings: Settings, identity: IdentityCore | None = None,
               compute: ComputeCore | None = None, images: ImageCore | None = None) -> OvercastApp:
    """Build the Falcon app serving every service for ``settings``."""
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
    rules = policy.load()
    app = OvercastApp(
        middleware=[RequestContextMiddleware(settings.server.max_body_bytes, settings.regions,
                                             settings.server.max_json_depth),
                    PolicyMiddleware(rules), TransactionMiddleware(),
                    MicroversionMiddleware({"compute": COMPUTE_VERSIONS, "volume": VOLUME_VERSIONS,
                                            "placement": PLACEMENT_VERSIONS}),
                    AuthMiddleware(identity.tokens), NoTrailingSlash({"compute", "image", "volume"})],
        cors_enable=False,
    )
    app.req_options.strip_url_path_trailing_slash = True
    app.req_options.auto_parse_qs_csv = False
    handler = media.JSONHandler()
    app.req_options.media_handlers = falcon.media.Handlers({falcon.MEDIA_JSON: handler})
    app.resp_options.media_handlers = falcon.media.Handlers({falcon.MEDIA_JSON: handler})
    app.set_error_serializer(faults.serialize)
    app.add_error_handler(Exception, faults.handle_unexpected)
    app.add_error_handler(OvercastError, _core_error)
    app.add_error_handler(BackendUnavailable, _core_error)  # a backend read from a request: 503

    registry = Registry()
    register_identity(registry, identity)
    register_compute(registry, compute)
    register_image(registry, images)
    register_network(registry, network)
    register_volume(registry, volume)
    register_placement(registry, identity.store, settings)
    registry.mount(app)
    app.registry = registry
    app.policy = rules
    app.identity = identity
    app.compute = compute
    app.images = images
    app.network = network
    app.volume = volume
    return app
