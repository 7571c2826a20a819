"""Driver discovery: a driver name in a cloud's config section -> a :class:`CloudDriver`.

Drivers are found through the ``overcast.drivers`` entry point group, so a third-party package
adds one by ``pip install`` and ``driver = "name"`` in a ``[clouds.NAME]`` section::

    [project.entry-points."overcast.drivers"]
    mycloud = "mycloud_overcast:create_driver"

The entry point names a *factory*: ``create_driver(options, data_dir) -> CloudDriver``.
``options`` is the cloud's config section without ``driver`` (secrets already resolved);
``data_dir`` is Overcast's data directory, where a driver may keep files of its own. Nothing is
imported until a driver is loaded (Libcloud's lazy provider map, done with entry points).

A driver package offers one object per resource family: ``compute``, ``volume``, ``network`` and
``cdn`` today; the image slot is there so a package can grow into it without a new discovery
mechanism. A family a driver does not offer is ``None`` and the API answers it as a cloud without
that service. CDN providers are configured apart from clouds (``[cdn.providers.NAME] driver =
...``, since a CDN flavor lists providers, not regions) and loaded through the same entry points:
the provider is the bundle's ``cdn`` slot (docs/decisions/0031-cdn.md).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from overcast.drivers import compute as compute_family
from overcast.drivers.cdn import base as cdn_family
from overcast.drivers import network as network_family
from overcast.drivers import volume as volume_family
from overcast.drivers.compute import ComputeDriver

GROUP = "overcast.drivers"

#: ``(options, data_dir) -> CloudDriver``
DriverFactory = Callable[[Mapping[str, Any], Path], "CloudDriver"]

FAMILIES = ("compute", "image", "volume", "network", "cdn")
#: each family's capability enum (the optional operations a driver may state it supports)
_CAPABILITIES: dict[str, Any] = {"compute": compute_family.Capability, "volume": volume_family.Capability,
                                 "network": network_family.Capability, "cdn": cdn_family.Capability}


class DriverLoadError(Exception):
    """A driver could not be found, imported or configured (a configuration problem, not a
    :class:`~overcast.drivers.errors.DriverError` raised while serving)."""


class UnknownDriver(DriverLoadError, LookupError):
    """No driver is registered under this name."""


class DriverConfigError(DriverLoadError, ValueError):
    """A driver refused its options (unknown key, bad value)."""


@dataclass
class CloudDriver:
    """Everything one configured cloud's driver offers, one object per resource family."""

    name: str
    compute: ComputeDriver | None = None
    image: Any | None = None      # ImageDriver, once that interface exists
    volume: Any | None = None     # VolumeDriver
    network: Any | None = None    # NetworkDriver
    cdn: Any | None = None        # CdnDriver
    #: free-form facts for `overcast drivers` / diagnostics (version, backend endpoint, ...)
    info: Mapping[str, Any] = field(default_factory=dict)

    def families(self) -> dict[str, Any]:
        """The families this driver offers: ``{"compute": <ComputeDriver>, ...}``."""
        return {name: obj for name in FAMILIES if (obj := getattr(self, name)) is not None}

    def capabilities(self) -> dict[str, tuple[frozenset[str], frozenset[str]]]:
        """Per family offered: (the capabilities its driver states, those its interface defines)."""
        out: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
        for family, driver in self.families().items():
            every: frozenset[str] = (frozenset(c.value for c in _CAPABILITIES[family]) if family in _CAPABILITIES
                                     else frozenset())
            stated: Iterable[Any] = getattr(driver, "capabilities", ())
            out[family] = (frozenset(getattr(c, "value", c) for c in stated), every)
        return out

    def close(self) -> None:
        """Close every family's driver (each once, even if one object serves several)."""
        seen: set[int] = set()
        for obj in self.families().values():
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            closer = getattr(obj, "close", None)
            if callable(closer):
                closer()


_lock = threading.Lock()
_registered: dict[str, DriverFactory] = {}


def register_driver(name: str, factory: DriverFactory) -> None:
    """Register a factory in-process (tests, embedding); it shadows an entry point of that name."""
    with _lock:
        _registered[name] = factory


def unregister_driver(name: str) -> None:
    with _lock:
        _registered.pop(name, None)


def _entry_points() -> dict[str, metadata.EntryPoint]:
    return {ep.name: ep for ep in metadata.entry_points(group=GROUP)}


def known_drivers() -> list[str]:
    """Every driver name that can be loaded, sorted (entry points plus in-process registrations)."""
    with _lock:
        names = set(_registered)
    return sorted(names | set(_entry_points()))


def driver_factory(name: str) -> DriverFactory:
    """The factory for ``name``, importing its module only now.

    :raises UnknownDriver: no such driver (the message lists the known ones).
    :raises DriverLoadError: the driver's module could not be imported.
    """
    with _lock:
        factory = _registered.get(name)
    if factory is not None:
        return factory
    entry = _entry_points().get(name)
    if entry is None:
        known = ", ".join(known_drivers()) or "none"
        raise UnknownDriver(
            f"Unknown driver {name!r}; known drivers: {known}. A third-party driver is added by "
            f"installing its package (it registers an {GROUP!r} entry point).")
    try:
        factory = entry.load()
    except Exception as exc:  # an ImportError or anything the module raises at import
        raise DriverLoadError(f"Driver {name!r} ({entry.value}) could not be imported: {exc}") from exc
    if not callable(factory):
        raise DriverLoadError(f"Driver {name!r} ({entry.value}) is not a callable factory")
    return factory


def load_driver(name: str, options: Mapping[str, Any] | None = None,
                data_dir: Path | str = Path(".overcast")) -> CloudDriver:
    """Build the driver ``name`` with a cloud's ``options``.

    :raises UnknownDriver: no such driver.
    :raises DriverConfigError: the driver refused its options.
    :raises DriverLoadError: it could not be imported or did not return a :class:`CloudDriver`.
    """
    factory = driver_factory(name)
    result = factory(dict(options or {}), Path(data_dir))
    if isinstance(result, ComputeDriver):  # a compute-only driver may return just that
        result = CloudDriver(name=name, compute=result)
    if not isinstance(result, CloudDriver):
        raise DriverLoadError(f"Driver {name!r} returned {type(result).__name__}, not a CloudDriver")
    return result


def check_options(driver: str, options: Mapping[str, Any], known: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``options`` over the defaults in ``known``; an unknown key is a :class:`DriverConfigError`
    naming the accepted ones (a helper for driver factories)."""
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise DriverConfigError(
            f"Driver {driver!r} does not take option(s) {', '.join(unknown)}; "
            f"it takes: {', '.join(sorted(known)) or 'none'}")
    return {**known, **options}
