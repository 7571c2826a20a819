"""Neutron's rules, framework-free: networks, subnets with IPAM, ports, routers, floating IPs,
security groups, quotas and tags, per region.

Overcast's records are the source of truth. A request checks and records what it asks for and,
in the same transaction, enqueues a ``network.sync`` operation per record that changed
(:meth:`NetworkCore.realise`); after the commit a worker makes the region's backend match the
record (:mod:`overcast.core.network.operations`), with the region's timeout, retries and
breaker. No request waits for a backend, and a refusal rolls back records and operations
together, so nothing is left half-made anywhere. See ``docs/decisions/0023-network-realisation.md``.

Every record belongs to one region (``cloud``): a :class:`NetworkCore` acts in one region
(:meth:`NetworkCore.at`), and everything it reads or writes is of that region, as two separate
Neutron deployments would be.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Mapping

from sqlalchemy.orm import Session

from overcast.config import Settings
from overcast.core.errors import NotFound, ServiceUnavailable
from overcast.core.headroom import BackendQuotas
from overcast.core.network.errors import conflict
from overcast.drivers.headroom import Headroom
from overcast.drivers.network import AddressOwner, NetworkDriver
from overcast.drivers.registry import CloudDriver
from overcast.store.db import Store

#: the operation that makes a region's backend match one network record
SYNC = "network.sync"
#: told, inside the transaction, which devices' ports (or their floating IPs) changed
DeviceListener = Callable[[Session, set[str]], None]
#: record class name -> the resource type its operations name
RESOURCE_TYPES = {"Network": "network", "Subnet": "subnet", "Port": "port", "Router": "router",
                  "FloatingIp": "floating_ip", "SecurityGroup": "security_group"}
#: how long a sync may wait for what it refers to, or for a backend to free what it still holds
SYNC_DEADLINE_SECONDS = 600.0
#: a port's ``binding:profile``, kept in its ``extra`` as given
BINDING_PROFILE = "binding_profile"
#: a port's extra DHCP options (``extra_dhcp_opts``), kept in its ``extra``
EXTRA_DHCP_OPTS = "extra_dhcp_opts"
#: a network or subnet imported from the provider's own subnets (decision 0070), and one whose
#: provider subnet is no longer listed
PROVIDER_OWNED = "provider_owned"
PROVIDER_GONE = "provider_gone"
#: the keys of a record's ``extra`` Overcast owns (the rest is what its backend last reported)
OWN_EXTRA = ("requested_fixed_ips", BINDING_PROFILE, EXTRA_DHCP_OPTS, PROVIDER_OWNED, PROVIDER_GONE)


@dataclass
class NetworkCore:
    """What the network modules need: settings, the store, each region's drivers, and the region
    (and request) this core acts for."""

    settings: Settings
    store: Store
    #: region name -> that cloud's drivers
    clouds: Mapping[str, CloudDriver]
    #: who wants to hear of port changes (Neutron's ``network-changed`` event; compute refreshes
    #: the addresses a server shows)
    device_listeners: list[DeviceListener] = field(default_factory=list)
    #: the region every record read or written belongs to ("" : the first configured region)
    region: str = ""
    #: recorded on the operations this core enqueues
    request_id: str | None = None
    user_id: str | None = None
    #: region -> seconds until its network backend may be called again (0: now); set by the
    #: operations setup from the circuit breakers, None without an operations runtime
    backend_wait: Callable[[str], float] | None = None
    #: the process's backends (timeouts, breakers) for reads made from a request; set by the
    #: operations setup, None without an operations runtime
    backends: Any = None
    #: each region's network backend headroom, kept a few seconds (decision 0046); one per process
    backend_quotas: BackendQuotas = field(default_factory=BackendQuotas)
    #: for one request (:meth:`with_headroom`): what the region's backend still allows, and what
    #: this request's creates have taken of it so far
    headroom: Headroom | None = None
    headroom_taken: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.region:
            self.region = self.settings.regions[0]

    def at(self, region: str, *, request_id: str | None = None, user_id: str | None = None) -> "NetworkCore":
        """This core acting in ``region`` (for a request, when given).

        :raises NotFound: no such region is configured.
        """
        if region not in self.clouds and region not in self.settings.regions:
            raise NotFound(f"Region {region} is not configured.")
        return dataclasses.replace(self, region=region, request_id=request_id, user_id=user_id, headroom=None,
                                   headroom_taken={})

    # -- the backend's own quotas (decision 0046) ----------------------------------------------
    def with_headroom(self, project_id: str | None) -> "NetworkCore":
        """This core knowing what the region's network backend itself still allows: read now,
        before the request's transaction opens (a backend call, with the cloud's timeout and
        breaker). A driver that reports nothing costs nothing and is not checked.

        :raises overcast.ops.calls.BackendUnavailable: the backend did not answer (503).
        """
        headroom = self.backend_quotas.read(self.backends, self.region, "network", self.driver,
                                            project_id=project_id, user_id=self.user_id, request_id=self.request_id)
        return dataclasses.replace(self, headroom=headroom, headroom_taken={})

    def check_headroom(self, resource: str, count: int = 1) -> None:
        """``count`` more ``resource`` (a Neutron quota name) must fit the backend's headroom,
        counting what this request already took.

        :raises Conflict: OverQuota naming the resource, as the upstream Neutron would answer.
        """
        if self.headroom is None:
            return
        wanted = self.headroom_taken.get(resource, 0) + count
        if self.headroom.over({resource: wanted}):
            raise conflict("OverQuota", f"Quota exceeded for resources: ['{resource}'].")
        self.headroom_taken[resource] = wanted

    def headroom_spent(self) -> None:
        """The request committed: count what it took into the kept headroom of the region."""
        if self.headroom is not None and self.headroom_taken:
            self.backend_quotas.taken(self.region, "network", self.headroom_taken)

    @property
    def driver(self) -> NetworkDriver | None:
        """This region's network driver (None: a cloud without a network backend)."""
        cloud = self.clouds.get(self.region)
        return cloud.network if cloud is not None else None

    @property
    def provider_addresses(self) -> bool:
        """Whether this region's backend, not Overcast's IPAM, picks MACs and addresses."""
        driver = self.driver
        return driver is not None and driver.addresses is AddressOwner.PROVIDER

    def session(self) -> Iterator[Session]:
        """A store transaction (commits on success, rolls back records and operations on error)."""
        return self.store.session()

    def devices_changed(self, session: Session, device_ids: Iterable[str | None]) -> None:
        """Tell the listeners that the ports of these devices, or their floating IPs, changed."""
        changed = {d for d in device_ids if d}
        if changed:
            session.flush()
            for listener in self.device_listeners:
                listener(session, changed)

    # -- realisation -----------------------------------------------------------------------------
    def realise(self, session: Session, record: Any, *, action: str = "update") -> None:
        """Have the backend match ``record`` once this transaction commits (one operation per
        record and transaction; the worker applies whatever the record says by then)."""
        self._sync(session, record, action, None)

    def unrealise(self, session: Session, record: Any) -> None:
        """``record`` is being deleted: have the backend remove its object after the commit."""
        self._sync(session, record, "delete", {"backend_id": record.backend_id})

    def _sync(self, session: Session, record: Any, action: str, params: dict[str, Any] | None) -> None:
        """:raises ServiceUnavailable: a create while the region's network backend is known to be
        down (its circuit breaker is open); updates and deletes are recorded and wait for it."""
        if self.driver is None:
            return
        wait = self.backend_wait(self.region) if self.backend_wait is not None and action == "create" else 0.0
        if wait > 0:
            raise ServiceUnavailable(f"The network backend of region {self.region} is unavailable; retry in "
                                     f"{wait:.0f}s.", retry_after=wait)
        from overcast.ops.engine import enqueue

        resource_type = RESOURCE_TYPES[type(record).__name__]
        queued: dict[tuple[str, str], Any] = session.info.setdefault("network_sync", {})
        key = (resource_type, record.id)
        if key in queued:
            if params:
                queued[key].params = {**(queued[key].params or {}), **params}
            return
        queued[key] = enqueue(session, kind=SYNC, cloud=self.region, resource_type=resource_type,
                              resource_id=record.id, params=params or {}, action=action,
                              request_id=self.request_id, user_id=self.user_id, project_id=record.project_id or None,
                              idempotency_key=record.id, deadline_seconds=SYNC_DEADLINE_SECONDS)


def build_network(settings: Settings, store: Store, clouds: Mapping[str, CloudDriver]) -> NetworkCore:
    return NetworkCore(settings=settings, store=store, clouds=clouds,
                       backend_quotas=BackendQuotas(settings.ops.headroom_seconds))
