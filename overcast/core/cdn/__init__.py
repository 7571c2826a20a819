"""The CDN's rules (Poppy's), framework-free: services and the document each was asked to be,
their state on every provider of their flavor, domain claims, limits, flavors, SSL certificates,
purges and analytics. Provider work runs in the operations engine (:mod:`.operations`).

Providers are configured in ``[cdn.providers.NAME]`` (``driver`` plus its options) and loaded by
the same registry as clouds (the driver bundle's ``cdn`` slot); a flavor lists providers, not
regions. See docs/decisions/0031-cdn.md.
"""

from __future__ import annotations

import logging
import shutil
import threading
from dataclasses import dataclass, field
from typing import Mapping

from overcast.config import CdnFlavorSettings, CdnProviderSettings, Settings
from overcast.core.errors import Invalid, NotFound
from overcast.drivers.cdn.base import CdnDriver
from overcast.ops.calls import Backends
from overcast.store.db import Store

LOG = logging.getLogger(__name__)

#: the operations' family and the breakers' (one per provider): ``(provider, FAMILY)``
FAMILY = "cdn"
#: the flavor the embedded default makes when the configuration names none
DEFAULT_FLAVOR = "default"


def provider_settings(settings: Settings) -> tuple[CdnProviderSettings, ...]:
    """The configured providers, or the embedded default: ``varnish`` when ``varnishd`` is on the
    PATH (Overcast runs a local edge itself), else ``mock``."""
    if settings.cdn.providers:
        return settings.cdn.providers
    if shutil.which("varnishd"):
        return (CdnProviderSettings(name="varnish", driver="varnish", options={"manage": True}),)
    return (CdnProviderSettings(name="mock", driver="mock", options={}),)


def flavor_settings(settings: Settings) -> tuple[CdnFlavorSettings, ...]:
    """The configured flavors, or ``default`` over the first provider."""
    if settings.cdn.flavors:
        return settings.cdn.flavors
    return (CdnFlavorSettings(id=DEFAULT_FLAVOR, providers=(provider_settings(settings)[0].name,)),)


def describe_default(settings: Settings) -> str:
    """One line for ``overcast serve``: which providers the CDN uses, and why."""
    chosen = provider_settings(settings)
    if settings.cdn.providers:
        return "providers " + ", ".join(f"{p.name} ({p.driver})" for p in chosen)
    if chosen[0].driver == "varnish":
        return f"provider varnish: a local Varnish edge (varnishd found at {shutil.which('varnishd')})"
    return "provider mock (varnishd is not on the PATH, so no local edge; install varnish for one)"


@dataclass
class CdnCore:
    """What the CDN modules need: settings, the store and the providers' drivers (loaded on first use)."""

    settings: Settings
    store: Store
    providers: Mapping[str, CdnProviderSettings]
    #: limits and breakers per (provider, "cdn"), shared with the operations that deploy to them
    backends: Backends = field(default_factory=Backends)
    _drivers: dict[str, CdnDriver] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def operator_domain(self) -> str:
        return self.settings.cdn.operator_domain

    def driver(self, provider: str) -> CdnDriver:
        """The provider's driver, loaded the first time it is asked for.

        :raises NotFound: no such provider is configured.
        """
        driver = self._drivers.get(provider)
        if driver is not None:
            return driver
        config = self.providers.get(provider)
        if config is None:
            raise NotFound(f"CDN provider {provider} is not configured.")
        with self._lock:
            driver = self._drivers.get(provider)
            if driver is None:
                driver = load_provider(config, self.settings)
                self._drivers[provider] = driver
        return driver

    def require_provider(self, provider: str, field_name: str) -> None:
        """:raises Invalid: ``provider`` is not configured (naming the field that named it)."""
        if provider not in self.providers:
            known = ", ".join(sorted(self.providers)) or "none"
            raise Invalid(f"{field_name}: provider {provider} is not configured; configured providers: {known}")

    def shutdown(self) -> None:
        """Stop what every provider runs on this machine (``overcast serve`` calls it when it stops:
        its server processes may end without running their exit handlers)."""
        for name in self.providers:
            try:
                self.driver(name).shutdown()
            except Exception:  # noqa: BLE001 - one provider must not keep the others running
                LOG.exception("stopping CDN provider %s failed", name)
        self.close()

    def close(self) -> None:
        with self._lock:
            drivers, self._drivers = dict(self._drivers), {}
        for name, driver in drivers.items():
            try:
                driver.close()
            except Exception:  # noqa: BLE001 - closing one provider must not stop the others
                LOG.exception("closing CDN provider %s failed", name)


def load_provider(config: CdnProviderSettings, settings: Settings) -> CdnDriver:
    """Build one provider's driver; its data directory is ``<data_dir>/cdn/<name>``.

    :raises overcast.drivers.registry.DriverLoadError: unknown driver, bad options, or a driver
        bundle without a CDN.
    """
    from overcast.drivers.registry import DriverConfigError, load_driver

    bundle = load_driver(config.driver, config.options, settings.data_dir / "cdn" / config.name)
    if bundle.cdn is None:
        raise DriverConfigError(f"Driver {config.driver!r} (provider {config.name}) offers no CDN")
    return bundle.cdn


def build_cdn(settings: Settings, store: Store, backends: Backends | None = None) -> CdnCore:
    """The CDN core over ``store``; no provider is loaded until one is used. ``backends``: the
    process's limits and breakers (the compute core's), so a provider read while answering a request
    and the operations that deploy to it count against one breaker."""
    return CdnCore(settings=settings, store=store, providers={p.name: p for p in provider_settings(settings)},
                   backends=backends or Backends.from_settings(settings))
