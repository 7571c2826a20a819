"""The network operations: ``network.sync`` makes a region's backend match one record, and the
``network.objects`` reconciler keeps every backend in step with the store.

``network.sync`` is level-triggered: whatever the operation's action was, the handler reads the
record as it is now. A record that exists is applied (created or updated, idempotently on its
Overcast id) once everything it refers to has a backend id, and what the backend answered is
recorded: its id and extras, a port's binding and status (DOWN -> ACTIVE), and, where the
provider owns addresses, the MAC, fixed IPs and floating IP address it chose. A record that no
longer exists is removed from the backend (gone already is fine). A record changed while the
call ran is applied again, so the backend ends with the newest state.

What the backend refuses for a while (a MAC or address a port being removed still holds, a
network whose ports are still going, an object its parent's re-creation has not caught up with)
is tried again with growing pauses until the operation's deadline; any other refusal puts the
record in ERROR where Neutron has a status for it.

The reconciler, per region: removes from the backend every object whose Overcast id the store
does not know (in any region: two regions may share one backend), and enqueues a sync for every
record the backend lacks or that has no backend id yet, leaving alone anything an operation is
still working on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import ObjectDeletedError, StaleDataError

from overcast.store.db import take_write_lock
from overcast.core.network import OWN_EXTRA, PROVIDER_OWNED, RESOURCE_TYPES, SYNC, NetworkCore
from overcast.core.network import routers as router_rules
from overcast.core.network.seed import refresh_provider_subnets
from overcast.drivers import network as dn
from overcast.drivers.context import CallContext
from overcast.drivers.errors import Conflict, NotFound
from overcast.ops.engine import Job, done, poll_again
from overcast.ops.models import PENDING, RUNNING, Operation
from overcast.store.network import (FloatingIp, IpAllocation, Network, Port, Router, SecurityGroup,
                                    Subnet)

LOG = logging.getLogger(__name__)

MODELS: dict[str, type] = {"network": Network, "subnet": Subnet, "port": Port, "router": Router,
                           "floating_ip": FloatingIp, "security_group": SecurityGroup}
#: the reconciler removes children before their parents
REMOVAL_ORDER = ("floating_ip", "router", "port", "subnet", "security_group", "network")
#: first pause before trying again what the backend refused for now (doubles, capped)
WAIT_SECONDS, WAIT_MAX_SECONDS = 0.1, 5.0


class _Waiting(Exception):
    """The record refers to something the backend does not have yet."""


def _ref(record: Any) -> dn.Ref:
    return dn.Ref(record.id, record.backend_id)


def _needed(session: Session, model: type, item_id: str | None, waiting: list[str]) -> dn.Ref | None:
    """A reference to a record this one may refer to (None if it refers to none, or to one that
    no longer exists); notes it in ``waiting`` while the backend has not made it yet."""
    if not item_id:
        return None
    record = session.get(model, item_id)
    if record is None:
        return None
    if record.backend_id is None:
        waiting.append(f"{RESOURCE_TYPES[model.__name__]} {item_id}")
    return _ref(record)


def _parent(session: Session, model: type, item_id: str, waiting: list[str]) -> dn.Ref:
    """A reference to the record this one belongs to (a subnet's or port's network). One deleted
    since this record was read means this one is going too: noted in ``waiting``, so the sync
    looks again (and finds the record gone)."""
    ref = _needed(session, model, item_id, waiting)
    if ref is None:
        waiting.append(f"{RESOURCE_TYPES[model.__name__]} {item_id} (deleted)")
        return dn.Ref(item_id)
    return ref


# -- specs: a record as the driver sees it ------------------------------------------------------------
def network_spec(session: Session, network: Network, waiting: list[str]) -> dn.NetworkSpec:
    return dn.NetworkSpec(id=network.id, name=network.name, mtu=network.mtu, external=network.external,
                          admin_state_up=network.admin_state_up, shared=network.shared,
                          project_id=network.project_id, backend_id=network.backend_id)


def subnet_spec(session: Session, subnet: Subnet, waiting: list[str]) -> dn.SubnetSpec:
    return dn.SubnetSpec(id=subnet.id, network=_parent(session, Network, subnet.network_id, waiting),
                         cidr=subnet.cidr, ip_version=subnet.ip_version, gateway_ip=subnet.gateway_ip,
                         enable_dhcp=subnet.enable_dhcp,
                         allocation_pools=tuple((p["start"], p["end"]) for p in subnet.allocation_pools or []),
                         project_id=subnet.project_id, backend_id=subnet.backend_id)


def port_spec(session: Session, port: Port, waiting: list[str]) -> dn.PortSpec:
    if port.fixed_ips or not (port.extra or {}).get("requested_fixed_ips"):
        wanted = [(a.subnet_id, a.ip_address) for a in port.fixed_ips]
    else:  # provider IPAM, not realised yet: the subnets (and addresses) asked for
        wanted = [(r["subnet_id"], r.get("ip_address")) for r in port.extra["requested_fixed_ips"]]
    fixed = tuple(dn.FixedIp(ref, address) for subnet_id, address in wanted
                  if (ref := _needed(session, Subnet, subnet_id, waiting)) is not None)
    groups = tuple(ref for group_id in port.security_group_ids or []
                   if (ref := _needed(session, SecurityGroup, group_id, waiting)) is not None)
    return dn.PortSpec(id=port.id, network=_parent(session, Network, port.network_id, waiting),
                       mac_address=port.mac_address or None, fixed_ips=fixed, device_id=port.device_id,
                       device_owner=port.device_owner, security_groups=groups,
                       port_security_enabled=port.port_security_enabled, admin_state_up=port.admin_state_up,
                       host=port.binding_host_id or None, project_id=port.project_id, backend_id=port.backend_id)


def router_spec(session: Session, router: Router, waiting: list[str]) -> dn.RouterSpec:
    gateway = router_rules.gateway_port(session, router)
    subnets = dict.fromkeys(a.subnet_id for p in router_rules.interface_ports(session, router.id) for a in p.fixed_ips)
    return dn.RouterSpec(
        id=router.id, name=router.name,
        external_network=_needed(session, Network, router.external_network_id, waiting),
        gateway_ips=tuple(a.ip_address for a in gateway.fixed_ips) if gateway else (),
        subnets=tuple(ref for s in subnets if (ref := _needed(session, Subnet, s, waiting)) is not None),
        routes=tuple((r["destination"], r["nexthop"]) for r in router.routes or []),
        enable_snat=router.enable_snat, admin_state_up=router.admin_state_up, project_id=router.project_id,
        backend_id=router.backend_id)


def floating_ip_spec(session: Session, fip: FloatingIp, waiting: list[str]) -> dn.FloatingIpSpec:
    return dn.FloatingIpSpec(
        id=fip.id, floating_network=_parent(session, Network, fip.floating_network_id, waiting),
        floating_ip_address=fip.floating_ip_address or None, port=_needed(session, Port, fip.port_id, waiting),
        fixed_ip_address=fip.fixed_ip_address, router=_needed(session, Router, fip.router_id, waiting),
        project_id=fip.project_id, backend_id=fip.backend_id)


def security_group_spec(session: Session, group: SecurityGroup, waiting: list[str]) -> dn.SecurityGroupSpec:
    def remote(group_id: str | None) -> dn.Ref | None:
        # not waited for: two groups may name each other (and a default group names itself)
        other = session.get(SecurityGroup, group_id) if group_id else None
        return _ref(other) if other is not None else None

    return dn.SecurityGroupSpec(
        id=group.id, name=group.name, stateful=group.stateful, project_id=group.project_id,
        backend_id=group.backend_id, rules=tuple(dn.SecurityGroupRuleSpec(
            id=r.id, direction=r.direction, ethertype=r.ethertype, protocol=r.protocol,
            port_range_min=r.port_range_min, port_range_max=r.port_range_max, remote_ip_prefix=r.remote_ip_prefix,
            remote_group=remote(r.remote_group_id), backend_id=r.backend_id) for r in group.rules))


# -- what the backend answered, recorded ------------------------------------------------------------
def _record(record: Any, result: dn.Realised) -> None:
    record.backend_id = result.backend_id
    record.extra = {**{k: v for k, v in (record.extra or {}).items() if k in OWN_EXTRA},
                    **dict(result.extra)}


def port_realised(core: NetworkCore, session: Session, port: Port, binding: dn.PortBinding) -> None:
    """The binding, the status it gives, and (provider IPAM) the MAC and addresses chosen."""
    _record(port, binding)
    devices = []
    if core.provider_addresses:
        if binding.mac_address and binding.mac_address != port.mac_address:
            port.mac_address = binding.mac_address
        wanted = [(f.subnet.id, f.ip_address) for f in binding.fixed_ips if f.ip_address]
        if wanted != [(a.subnet_id, a.ip_address) for a in port.fixed_ips]:
            port.fixed_ips.clear()
            session.flush()
            for subnet_id, address in wanted:
                port.fixed_ips.append(IpAllocation(subnet_id=subnet_id, ip_address=address,
                                                   network_id=port.network_id, position=len(port.fixed_ips)))
            devices.append(port.device_id)
        port.extra = {k: v for k, v in port.extra.items() if k != "requested_fixed_ips"}
    port.status = "ACTIVE" if port.device_owner and port.admin_state_up and binding.active else "DOWN"
    if port.device_owner and not port.device_owner.startswith("network:"):
        port.binding_host_id, port.binding_vif_type = binding.host, binding.vif_type
    elif not port.device_owner:
        port.binding_vif_type = "unbound"
    core.devices_changed(session, devices)


def router_realised(core: NetworkCore, session: Session, router: Router, result: dn.Realised) -> None:
    """The router and its ports, ACTIVE once the backend has them (as OVN reports a router's ports,
    whatever the router's own admin state: Tempest waits for it with routers made down)."""
    _record(router, result)
    router.status = "ACTIVE"
    ports = router_rules.interface_ports(session, router.id)
    gateway = router_rules.gateway_port(session, router)
    for port in [*ports, *([gateway] if gateway else [])]:
        port.status = "ACTIVE" if port.admin_state_up else "DOWN"


def floating_ip_realised(core: NetworkCore, session: Session, fip: FloatingIp,
                         result: dn.FloatingIpRealised) -> None:
    _record(fip, result)
    if result.floating_ip_address and result.floating_ip_address != fip.floating_ip_address:
        fip.floating_ip_address = result.floating_ip_address
        if fip.port_id:
            core.devices_changed(session, session.scalars(select(Port.device_id).where(Port.id == fip.port_id)))
    fip.status = "ACTIVE" if fip.port_id else "DOWN"


def security_group_realised(core: NetworkCore, session: Session, group: SecurityGroup,
                            result: dn.SecurityGroupRealised) -> None:
    _record(group, result)
    for rule in group.rules:
        rule.backend_id = result.rules.get(rule.id, rule.backend_id)


def network_realised(core: NetworkCore, session: Session, network: Network, result: dn.Realised) -> None:
    _record(network, result)
    network.status = "ACTIVE"


def subnet_realised(core: NetworkCore, session: Session, subnet: Subnet, result: dn.Realised) -> None:
    _record(subnet, result)


@dataclass(frozen=True)
class Kind:
    """How one resource type is realised."""

    spec: Callable[[Session, Any, list[str]], Any]
    apply: Callable[[dn.NetworkDriver, CallContext, Any], dn.Realised]
    remove: Callable[[dn.NetworkDriver, CallContext, dn.Ref], None]
    realised: Callable[[NetworkCore, Session, Any, Any], None]
    #: the capability the driver needs for it (None: every driver)
    capability: dn.Capability | None = None


KINDS: dict[str, Kind] = {
    "network": Kind(network_spec, lambda d, c, s: d.apply_network(c, s), lambda d, c, r: d.remove_network(c, r),
                    network_realised),
    "subnet": Kind(subnet_spec, lambda d, c, s: d.apply_subnet(c, s), lambda d, c, r: d.remove_subnet(c, r),
                   subnet_realised),
    "port": Kind(port_spec, lambda d, c, s: d.bind_port(c, s), lambda d, c, r: d.unbind_port(c, r), port_realised),
    "router": Kind(router_spec, lambda d, c, s: d.apply_router(c, s), lambda d, c, r: d.remove_router(c, r),
                   router_realised, dn.Capability.ROUTERS),
    "floating_ip": Kind(floating_ip_spec, lambda d, c, s: d.apply_floating_ip(c, s),
                        lambda d, c, r: d.remove_floating_ip(c, r), floating_ip_realised, dn.Capability.FLOATING_IPS),
    "security_group": Kind(security_group_spec, lambda d, c, s: d.apply_security_group(c, s),
                           lambda d, c, r: d.remove_security_group(c, r), security_group_realised,
                           dn.Capability.SECURITY_GROUPS),
}


def owned_by_the_backend(port: Port) -> bool:
    """A router's or floating IP's port: the backend makes it with its router or floating IP (as
    an upstream Neutron makes router ports), so it is not a port of its own there."""
    return port.device_owner.startswith("network:") and port.backend_id is None


def supported(driver: dn.NetworkDriver, kind: str) -> bool:
    capability = KINDS[kind].capability
    return capability is None or capability in driver.capabilities


class Realiser:
    """The ``network.sync`` handler and the ``network.objects`` reconciler for every region."""

    def __init__(self, core: NetworkCore):
        self.core = core

    # -- the handler -------------------------------------------------------------------------------------
    def sync(self, job: Job, ctx: Any) -> Any:
        core = self.core.at(job.cloud, request_id=job.request_id, user_id=job.user_id)
        driver, kind = core.driver, KINDS[job.resource_type]
        if driver is None or not supported(driver, job.resource_type):
            return done({"skipped": "the region's backend has no such objects"})
        call = job.call_context()
        model = MODELS[job.resource_type]
        try:
            with ctx.session() as session:
                record = self._record(session, model, job)
                if record is None:
                    ref = dn.Ref(job.resource_id, (job.params or {}).get("backend_id"))
                elif isinstance(record, Port) and owned_by_the_backend(record):
                    return done({"skipped": "made by the backend with its router or floating IP"})
                else:
                    waiting: list[str] = []
                    spec = kind.spec(session, record, waiting)
                    revision = record.revision_number
        except ObjectDeletedError:  # deleted while it was read: look again
            return poll_again(0.0)
        if record is None:
            return self._remove(job, kind, driver, call, ref)
        # what the backend has no family for (a router where the provider has none) is Overcast's
        # alone: never made there, so not waited for
        waiting = [w for w in waiting if supported(driver, w.split(" ", 1)[0])]
        if waiting:
            return poll_again(self._pause(job), {"waiting_for": waiting})
        try:
            result = kind.apply(driver, call, spec)
        except (Conflict, NotFound) as exc:  # a removal or re-creation is on its way
            LOG.info("network.sync %s %s: the backend refused it for now (%s); trying again",
                     job.resource_type, job.resource_id, exc)
            return poll_again(self._pause(job), {"refused": str(exc)[:200]})
        try:
            with ctx.session() as session:
                record = self._record(session, model, job, lock=True)
                if record is not None:
                    kind.realised(core, session, record, result)
                    changed = record.revision_number != revision
        except (StaleDataError, ObjectDeletedError):  # a row it writes was deleted meanwhile: look again
            return poll_again(0.0)
        if record is None:  # deleted while the call ran: take it off again
            return self._remove(job, kind, driver, call, dn.Ref(job.resource_id, result.backend_id))
        if changed:  # changed while the call ran: apply the newer state
            return poll_again(0.0)
        return done({"backend_id": result.backend_id})

    @staticmethod
    def _record(session: Session, model: type, job: Job, lock: bool = False) -> Any:
        """The job's record (``lock``: held until the transaction ends, as read after any request
        that changed it committed: on SQLite the database's write lock is taken first, else a
        request's change to the record's own ``extra`` keys between this read and the write
        would be lost)."""
        if lock:
            take_write_lock(session, model.__table__)
        record = session.get(model, job.resource_id, with_for_update=lock, populate_existing=lock)
        return record if record is not None and record.cloud == job.cloud else None

    def _remove(self, job: Job, kind: Kind, driver: dn.NetworkDriver, call: CallContext, ref: dn.Ref) -> Any:
        try:
            kind.remove(driver, call, ref)
        except Conflict as exc:  # children still on the backend: their removals are on their way
            return poll_again(self._pause(job), {"refused": str(exc)[:200]})
        return done({"removed": ref.backend_id or ref.id})

    @staticmethod
    def _pause(job: Job) -> float:
        return min(WAIT_MAX_SECONDS, WAIT_SECONDS * 2 ** min(job.polls, 10))

    def failed(self, job: Job, session: Session) -> None:
        """The backend would not make it: ERROR where Neutron shows a status."""
        record = self._record(session, MODELS[job.resource_type], job)
        if record is not None and hasattr(record, "status"):
            record.status = "ERROR"

    # -- the reconciler --------------------------------------------------------------------------------
    def reconcile(self, cloud: str, ctx: Any) -> None:
        core = self.core.at(cloud)
        driver = core.driver
        if driver is None:
            return
        call = CallContext(request_id="network-reconciler")
        for kind_name in REMOVAL_ORDER:
            if ctx.abandoned.is_set() or not supported(driver, kind_name):
                continue
            held = {o.id: o for o in driver.list_objects(call, kind_name)}
            with ctx.session() as session:
                model = MODELS[kind_name]
                busy = _busy(session, kind_name)
                known = _known(session, model, held)
                for record in _lacking(session, model, cloud, held, busy):
                    LOG.info("reconcile: %s %s (region %s) is missing from the backend; applying it again",
                             kind_name, record.id, cloud)
                    core.realise(session, record, action="reconcile")
            for obj in held.values():
                if obj.id in known or obj.id in busy:
                    continue
                LOG.info("reconcile: removing %s %s (backend id %s) from region %s: Overcast does not know it",
                         kind_name, obj.id, obj.backend_id, cloud)
                try:
                    KINDS[kind_name].remove(driver, call, dn.Ref(obj.id, obj.backend_id))
                except Conflict as exc:
                    LOG.warning("reconcile: could not remove %s %s yet: %s", kind_name, obj.id, exc)


def _lacking(session: Session, model: type, cloud: str, held: dict[str, dn.BackendObject],
             busy: set[str]) -> list[Any]:
    """The records of the region the backend lacks (or that have no backend id yet), but for
    those an operation is working on and the ports the backend makes with their router."""
    columns = [model.id, model.backend_id] + ([Port.device_owner] if model is Port else [])
    ids = [row.id for row in session.execute(select(*columns).where(model.cloud == cloud))
           if row.id not in busy and (row.id not in held or row.backend_id is None)
           and not (model is Port and row.device_owner.startswith("network:") and row.backend_id is None)]
    # the provider's own subnets (and their networks) are not Overcast's to make again: the
    # provider-subnet round marks them when the provider no longer lists them (decision 0070)
    return [r for start in range(0, len(ids), 500)
            for r in session.scalars(select(model).where(model.id.in_(ids[start:start + 500])))
            if not (getattr(r, "extra", None) or {}).get(PROVIDER_OWNED)]


def _busy(session: Session, kind: str) -> set[str]:
    """The ids of ``kind`` an operation is still working on."""
    return set(session.scalars(select(Operation.resource_id).where(
        Operation.kind == SYNC, Operation.resource_type == kind, Operation.state.in_((PENDING, RUNNING)))))


def _known(session: Session, model: type, held: Iterable[str]) -> set[str]:
    """Which of these ids the store knows, in any region."""
    ids = list(held)
    found: set[str] = set()
    for start in range(0, len(ids), 500):
        found.update(session.scalars(select(model.id).where(model.id.in_(ids[start:start + 500]))))
    return found


def setup_for(core: NetworkCore) -> Callable[[Any], None]:
    """The ops setup for the network service: ``OpsRuntime(..., setups=[setup_for(core)])``."""
    realiser = Realiser(core)

    def setup(runtime: Any) -> None:
        runtime.registry.register(SYNC, realiser.sync, on_failure=realiser.failed, event="network_sync",
                                  timeout=60, when_open="defer", family="network")
        runtime.reconciler.register("network.objects", realiser.reconcile)
        # the provider's own subnets made (or removed) after the bootstrap (decision 0070)
        runtime.reconciler.register("network.provider_subnets",
                                    lambda cloud, ctx: refresh_provider_subnets(core.at(cloud)), family="network")
        # creates answer 503 while this process has found the region's backend down
        core.backend_wait = lambda region: runtime.breakers(region, "network").retry_in()
        # reads from a request (the backend's headroom) share the workers' breakers and limits
        core.backends = runtime.backends

    return setup
