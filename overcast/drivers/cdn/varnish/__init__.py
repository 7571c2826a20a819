"""The ``varnish`` CDN provider: a local Varnish edge (see :mod:`.driver`)."""

from overcast.drivers.cdn.varnish.driver import VarnishCdnDriver, create_driver

__all__ = ["VarnishCdnDriver", "create_driver"]
