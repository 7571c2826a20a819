"""The administrator's view of the cloud: compute services, hypervisors and host aggregates.

Every region's backend hosts are nova-compute services and, one each, hypervisors. A backend
does not report capacity in the driver interface, so each host advertises a fixed, generous
size and its usage is counted from the server records placed on it.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from dataclasses import dataclass, field
from typing import Any, Collection, Mapping

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from overcast.core import inventory
from overcast.core.errors import Conflict, Invalid, NotFound
from overcast.store.compute import Aggregate, ComputeService, Server
from overcast.store.models import utcnow

#: What each simulated hypervisor offers.
HOST_VCPUS = 64
HOST_MEMORY_MB = 262144
HOST_LOCAL_GB = 4096
#: the address a simulated hypervisor reports (its ``host_ip``, a migration's ``dest_host``)
HOST_IP = "127.0.0.1"


# -- services -------------------------------------------------------------------------------------

def list_services(session: Session, *, region: str, host: str | None = None,
                  binary: str | None = None) -> list[ComputeService]:
    """``region``'s services (each region's Nova lists its own)."""
    query = select(ComputeService).where(ComputeService.cloud == region).order_by(ComputeService.id)
    if host:
        query = query.where(ComputeService.host == host)
    if binary:
        query = query.where(ComputeService.binary == binary)
    return list(session.scalars(query))


def find_service(session: Session, service_id: str, *, region: str) -> ComputeService:
    """By UUID (2.53) or integer id, in ``region``. :raises NotFound:"""
    row = session.scalar(select(ComputeService).where(ComputeService.uuid == service_id))
    if row is None and service_id.isdigit():
        row = session.get(ComputeService, int(service_id))
    if row is None or row.cloud != region:
        raise NotFound(f"Service {service_id} could not be found.")
    return row


def find_service_by_host(session: Session, host: str, binary: str, *, region: str) -> ComputeService:
    """:raises NotFound:"""
    row = session.scalar(select(ComputeService).where(ComputeService.cloud == region, ComputeService.host == host,
                                                      ComputeService.binary == binary))
    if row is None:
        raise NotFound(f"Host '{host}' is not mapped to any cell" if binary == "nova-compute"
                       else f"Service {binary} on host {host} could not be found.")
    return row


def down_hosts(session: Session, *, region: str) -> frozenset[str]:
    """The region's hosts that missed their heartbeats (as its driver last said)."""
    return inventory.down_hosts(session, region)


def service_is_up(service: ComputeService, down: Collection[str]) -> bool:
    """Nova's servicegroup check: not forced down, and (a compute service) its host has not
    missed its heartbeats (``down``: :func:`down_hosts`)."""
    return not service.forced_down and not (service.binary == "nova-compute" and service.host in down)


def host_statuses(session: Session, *, region: str) -> dict[str, str]:
    """Host -> a server's ``host_status`` (2.16) on it, as Nova gives it: ``DOWN`` forced down,
    ``MAINTENANCE`` disabled, ``UP`` or, its host having missed its heartbeats, ``UNKNOWN``."""
    down = down_hosts(session, region=region)
    out: dict[str, str] = {}
    for service in list_services(session, region=region, binary="nova-compute"):
        out[service.host] = ("DOWN" if service.forced_down else "MAINTENANCE" if service.disabled
                             else "UP" if service_is_up(service, down) else "UNKNOWN")
    return out


def set_service(service: ComputeService, *, disabled: bool | None = None, reason: str | None = None,
                forced_down: bool | None = None) -> ComputeService:
    if disabled is not None:
        service.disabled = disabled
        service.disabled_reason = reason if disabled else None
    if forced_down is not None:
        service.forced_down = forced_down
    service.updated_at = utcnow()
    return service


def delete_service(session: Session, service: ComputeService) -> None:
    """:raises Conflict: a compute service that still hosts servers."""
    if service.binary == "nova-compute":
        hosted = session.scalar(select(func.count()).select_from(Server).where(
            Server.cloud == service.cloud, Server.host == service.host, Server.deleted.is_(False)))
        if hosted:
            raise Conflict(f"Unable to delete compute service that has in-progress migrations or is hosting "
                           f"instances. Host {service.host} has {hosted} instances.")
    session.delete(service)


# -- hypervisors ----------------------------------------------------------------------------------

@dataclass
class Hypervisor:
    service: ComputeService
    vcpus_used: int = 0
    memory_mb_used: int = 0
    local_gb_used: int = 0
    running_vms: int = 0
    servers: list[tuple[str, str]] = field(default_factory=list)  # (uuid, name)
    #: its service is up (:func:`service_is_up`)
    up: bool = True

    @property
    def id(self) -> int:
        return self.service.id

    @property
    def hostname(self) -> str:
        return self.service.host

    @property
    def state(self) -> str:
        return "up" if self.up else "down"

    @property
    def status(self) -> str:
        return "disabled" if self.service.disabled else "enabled"


def hypervisors(session: Session, *, region: str, hostname_pattern: str | None = None) -> list[Hypervisor]:
    """``region``'s hypervisors (one per nova-compute service) with what runs on them."""
    query = select(ComputeService).where(ComputeService.cloud == region,
                                         ComputeService.binary == "nova-compute").order_by(ComputeService.id)
    rows = [s for s in session.scalars(query) if hostname_pattern is None or hostname_pattern in s.host]
    down = down_hosts(session, region=region)
    found = {(s.cloud, s.host): Hypervisor(s, up=service_is_up(s, down)) for s in rows}
    if not found:
        return []
    servers = session.execute(select(Server.cloud, Server.host, Server.id, Server.name, Server.flavor,
                                     Server.seq).where(Server.deleted.is_(False), Server.cloud == region,
                                                       Server.host.is_not(None))
                              .order_by(Server.seq))
    for cloud, host, server_id, name, flavor, _ in servers:
        hyper = found.get((cloud, host))
        if hyper is None:
            continue
        flavor = flavor or {}
        hyper.running_vms += 1
        hyper.vcpus_used += int(flavor.get("vcpus") or 0)
        hyper.memory_mb_used += int(flavor.get("ram") or 0)
        hyper.local_gb_used += int(flavor.get("disk") or 0) + int(flavor.get("ephemeral") or 0)
        hyper.servers.append((server_id, name))
    return list(found.values())


def find_hypervisor(session: Session, hypervisor_id: str, *, region: str) -> Hypervisor:
    """By service UUID (2.53) or integer id, in ``region``. :raises NotFound:"""
    for hyper in hypervisors(session, region=region):
        if hypervisor_id in (hyper.service.uuid, str(hyper.service.id)):
            return hyper
    raise NotFound(f"Hypervisor with ID '{hypervisor_id}' could not be found.")


def uptime(now: dt.datetime | None = None) -> str:
    """What ``uptime`` prints on the machine the embedded hypervisors run on (Nova shows the host's)."""
    now = now or utcnow()
    seconds = int(time.clock_gettime(time.CLOCK_BOOTTIME) if hasattr(time, "CLOCK_BOOTTIME") else time.monotonic())
    days, rest = divmod(seconds, 86400)
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return (f" {now:%H:%M:%S} up {days} days, {rest // 3600:2d}:{rest % 3600 // 60:02d},  0 users,  "
            f"load average: {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f}")


# -- os-hosts (Nova's deprecated host API) ------------------------------------------------------------

#: Nova's os-hosts ``service`` is the service's RPC topic.
TOPICS = {"nova-compute": "compute", "nova-conductor": "conductor", "nova-scheduler": "scheduler"}


def find_compute_host(session: Session, host: str, *, region: str) -> ComputeService:
    """:raises NotFound: no nova-compute service on ``host`` in ``region``."""
    row = session.scalar(select(ComputeService).where(ComputeService.cloud == region, ComputeService.host == host,
                                                      ComputeService.binary == "nova-compute"))
    if row is None:
        raise NotFound(f"Compute host {host} could not be found.")
    return row


def host_resources(session: Session, service: ComputeService) -> list[tuple[str, int, int, int]]:
    """(project, cpu, memory_mb, disk_gb) rows as Nova's os-hosts show: ``(total)``, ``(used_now)``,
    ``(used_max)``, then one per project with servers on the host."""
    per_project: dict[str, list[int]] = {}
    for project, flavor in session.execute(select(Server.project_id, Server.flavor).where(
            Server.deleted.is_(False), Server.cloud == service.cloud, Server.host == service.host)):
        flavor = flavor or {}
        used = per_project.setdefault(project, [0, 0, 0])
        used[0] += int(flavor.get("vcpus") or 0)
        used[1] += int(flavor.get("ram") or 0)
        used[2] += int(flavor.get("disk") or 0) + int(flavor.get("ephemeral") or 0)
    total = [sum(u[i] for u in per_project.values()) for i in range(3)]
    rows = [("(total)", HOST_VCPUS, HOST_MEMORY_MB, HOST_LOCAL_GB), ("(used_now)", *total), ("(used_max)", *total)]
    return rows + [(project, *used) for project, used in sorted(per_project.items())]


# -- aggregates -----------------------------------------------------------------------------------

def find_aggregate(session: Session, aggregate_id: str) -> Aggregate:
    row = session.get(Aggregate, int(aggregate_id)) if str(aggregate_id).isdigit() else None
    if row is None:
        raise NotFound(f"Aggregate {aggregate_id} could not be found.")
    return row


def _check_zone(zone: str | None) -> None:
    if zone is not None and zone == "internal":
        raise Invalid("Aggregate availability zone cannot be the internal zone.")


def create_aggregate(session: Session, name: str, zone: str | None) -> Aggregate:
    """:raises Conflict: name taken."""
    if session.scalar(select(Aggregate.id).where(Aggregate.name == name)) is not None:
        raise Conflict(f"Aggregate {name} already exists.")
    _check_zone(zone)
    aggregate = Aggregate(name=name, availability_zone=zone, hosts=[],
                          metadata_={"availability_zone": zone} if zone else {})
    session.add(aggregate)
    session.flush()
    return aggregate


def update_aggregate(session: Session, aggregate: Aggregate, values: Mapping[str, Any]) -> Aggregate:
    if "name" in values and values["name"] != aggregate.name:
        if session.scalar(select(Aggregate.id).where(Aggregate.name == values["name"])) is not None:
            raise Conflict(f"Aggregate {values['name']} already exists.")
        aggregate.name = values["name"]
    if "availability_zone" in values:
        _check_zone(values["availability_zone"])
        aggregate.availability_zone = values["availability_zone"]
        meta = dict(aggregate.metadata_ or {})
        if values["availability_zone"]:
            meta["availability_zone"] = values["availability_zone"]
        else:
            meta.pop("availability_zone", None)
        aggregate.metadata_ = meta
    aggregate.updated_at = utcnow()
    session.flush()
    return aggregate


def delete_aggregate(session: Session, aggregate: Aggregate) -> None:
    """:raises Invalid: it still has hosts."""
    if aggregate.hosts:
        raise Invalid(f"Cannot remove aggregate {aggregate.id}: it still has hosts.")
    session.delete(aggregate)


def add_host(session: Session, aggregate: Aggregate, host: str) -> Aggregate:
    """:raises NotFound: no compute on that host. :raises Conflict: already a member."""
    if session.scalar(select(ComputeService.id).where(ComputeService.host == host,
                                                      ComputeService.binary == "nova-compute")) is None:
        raise NotFound(f"Compute host {host} could not be found.")
    if host in (aggregate.hosts or []):
        raise Conflict(f"Aggregate {aggregate.id} already has host {host}.")
    aggregate.hosts = [*(aggregate.hosts or []), host]
    aggregate.updated_at = utcnow()
    session.flush()
    return aggregate


def remove_host(session: Session, aggregate: Aggregate, host: str) -> Aggregate:
    """:raises NotFound: not a member."""
    if host not in (aggregate.hosts or []):
        raise NotFound(f"Cannot remove host {host} in aggregate {aggregate.id}")
    aggregate.hosts = [h for h in aggregate.hosts if h != host]
    aggregate.updated_at = utcnow()
    session.flush()
    return aggregate


def set_metadata(session: Session, aggregate: Aggregate, metadata: Mapping[str, Any]) -> Aggregate:
    """Set keys; a null value removes the key."""
    meta = dict(aggregate.metadata_ or {})
    for key, value in metadata.items():
        if value is None:
            meta.pop(key, None)
        else:
            meta[key] = str(value)
    if "availability_zone" in metadata:
        _check_zone(metadata["availability_zone"])
        aggregate.availability_zone = metadata["availability_zone"]
    aggregate.metadata_ = meta
    aggregate.updated_at = utcnow()
    session.flush()
    return aggregate


def now() -> dt.datetime:
    return utcnow()
