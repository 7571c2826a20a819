"""The WSGI application factory: one function builds everything; nothing at import time."""

from __future__ import annotations

import logging

import falcon

from overcast.api import faults, media
from overcast.api.middleware import AuthMiddleware, RequestContextMiddleware
from overcast.api.microversions import MicroversionMiddleware
from overcast.api.routing import Registry
from overcast.config import Settings
from overcast.core.compute import ComputeCore
from overcast.core.errors import OvercastError
from overcast.core.identity import IdentityCore, build_identity
from overcast.drivers.registry import load_driver

LOG = logging.getLogger(__name__)


def _core_error(req: falcon.Request, resp: falcon.Response, exc: OvercastError, params: dict) -> None:
    raise faults.Fault(exc.status, exc.message, kind=exc.kind)


def build_compute(settings: Settings, identity: IdentityCore) -> ComputeCore:
    """The compute core: every configured cloud's drivers, loaded by name.

    :raises overcast.drivers.registry.DriverLoadError: an unknown driver or bad options.
    """
    clouds = {cloud.name: load_driver(cloud.driver, cloud.options, settings.data_dir) for cloud in settings.clouds}
    return ComputeCore(settings=settings, store=identity.store, identity=identity, clouds=clouds)


class OvercastApp(falcon.App):
    """The Falcon app, carrying its endpoint registry and cores for tools and tests."""

    registry: Registry
    identity: IdentityCore
    compute: ComputeCore


def create_app(settings: Settings, identity: IdentityCore | None = None,
               compute: ComputeCore | None = None) -> OvercastApp:
    """Build the Falcon app serving every service for ``settings``."""
    from overcast.api.compute import MICROVERSIONS as COMPUTE_VERSIONS
    from overcast.api.compute import register as register_compute
    from overcast.api.identity import register as register_identity

    identity = identity or build_identity(settings)
    compute = compute or build_compute(settings, identity)
    app = OvercastApp(
        middleware=[RequestContextMiddleware(settings.server.max_body_bytes),
                    MicroversionMiddleware({"compute": COMPUTE_VERSIONS}),
                    AuthMiddleware(identity.tokens)],
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

    registry = Registry()
    register_identity(registry, identity)
    register_compute(registry, compute)
    registry.mount(app)
    app.registry = registry
    app.identity = identity
    app.compute = compute
    return app
