"""Neutron's rules, framework-free: networks, subnets with IPAM, ports, routers, floating IPs,
security groups, quotas and tags. Overcast's records are the source of truth; the region's
:class:`~overcast.drivers.network.NetworkDriver` is told what to realise, inside the
transaction that records it, so a refusal leaves nothing half-made."""

from __future__ import annotations

import contextlib
import contextvars
import logging
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Mapping, TypeVar

from sqlalchemy.orm import Session

from overcast.config import Settings
from overcast.core.errors import Conflict, Invalid, NotFound, NotImplementedYet, OvercastError
from overcast.drivers import errors as driver_errors
from overcast.drivers.network import NetworkDriver
from overcast.drivers.registry import CloudDriver
from overcast.store.db import Store

T = TypeVar("T")
LOG = logging.getLogger(__name__)
DriverCall = Callable[[NetworkDriver], object]
#: told, inside the transaction, which devices' ports (or their floating IPs) changed
DeviceListener = Callable[[Session, set[str]], None]
#: undo calls for what the backend made during the current transaction
_UNDO: contextvars.ContextVar[list[DriverCall] | None] = contextvars.ContextVar("network_undo", default=None)

_DRIVER_FAULTS: tuple[tuple[type[driver_errors.DriverError], type[OvercastError]], ...] = (
    (driver_errors.NotFound, NotFound),
    (driver_errors.Conflict, Conflict),
    (driver_errors.InvalidRequest, Invalid),
    (driver_errors.NotSupported, NotImplementedYet),
)


class BackendError(OvercastError):
    """The backend failed (or was unreachable) while realising a change; nothing was recorded."""

    status = 503
    kind = "ServiceUnavailable"


@dataclass
class NetworkCore:
    """What the network modules need: settings, the store, and each region's drivers."""

    settings: Settings
    store: Store
    #: region name -> that cloud's drivers
    clouds: Mapping[str, CloudDriver]
    #: who wants to hear of port changes (Neutron's ``network-changed`` event; compute refreshes
    #: the addresses a server shows)
    device_listeners: list[DeviceListener] = field(default_factory=list)

    def devices_changed(self, session: Session, device_ids: Iterable[str | None]) -> None:
        """Tell the listeners that the ports of these devices, or their floating IPs, changed."""
        changed = {d for d in device_ids if d}
        if changed:
            session.flush()
            for listener in self.device_listeners:
                listener(session, changed)

    @property
    def driver(self) -> NetworkDriver | None:
        """The network driver of the first region (network records are shared by all regions)."""
        cloud = self.clouds.get(self.settings.regions[0])
        return cloud.network if cloud is not None else None

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """A store transaction whose backend creations are undone if it rolls back, so a refusal
        late in a request leaves nothing half-made on the backend either."""
        undo: list[DriverCall] = []
        token = _UNDO.set(undo)
        try:
            with self.store.session() as session:
                yield session
        except BaseException:
            for call in reversed(undo):
                try:
                    self.realise(call)
                except OvercastError:
                    LOG.warning("could not undo a backend change after a failed transaction", exc_info=True)
            raise
        finally:
            _UNDO.reset(token)

    def realise(self, call: Callable[[NetworkDriver], T], undo: DriverCall | None = None) -> T | None:
        """Run ``call`` on the driver (nothing without one), turning driver errors into core errors;
        ``undo`` runs if the surrounding :meth:`session` rolls back.

        :raises NotFound, Conflict, Invalid, NotImplementedYet: what the driver refused.
        :raises BackendError: anything else the driver raised.
        """
        driver = self.driver
        if driver is None:
            return None
        try:
            result = call(driver)
        except driver_errors.DriverError as exc:
            for source, target in _DRIVER_FAULTS:
                if isinstance(exc, source):
                    raise target(str(exc)) from exc
            raise BackendError(f"The network backend failed: {exc}") from exc
        pending = _UNDO.get()
        if undo is not None and pending is not None:
            pending.append(undo)
        return result


def build_network(settings: Settings, store: Store, clouds: Mapping[str, CloudDriver]) -> NetworkCore:
    return NetworkCore(settings=settings, store=store, clouds=clouds)
