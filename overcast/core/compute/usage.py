"""os-simple-tenant-usage: hours and sizes per server in a period, from the server records."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from overcast.core.errors import Invalid
from overcast.store.compute import Flavor, Server


@dataclass
class ServerUsage:
    instance_id: str
    name: str
    tenant_id: str
    flavor: str
    vcpus: int
    memory_mb: int
    local_gb: int
    hours: float
    started_at: dt.datetime
    ended_at: dt.datetime | None
    state: str
    uptime: int


@dataclass
class TenantUsage:
    tenant_id: str
    start: dt.datetime
    stop: dt.datetime
    total_hours: float = 0.0
    total_vcpus_usage: float = 0.0
    total_memory_mb_usage: float = 0.0
    total_local_gb_usage: float = 0.0
    server_usages: list[ServerUsage] = field(default_factory=list)


def hours_in(launched: dt.datetime | None, terminated: dt.datetime | None, start: dt.datetime,
             stop: dt.datetime) -> float:
    """Nova's _hours_for: the part of [launched, terminated) inside [start, stop), in hours."""
    if launched is None or (terminated is not None and terminated < start) or launched > stop:
        return 0.0
    begin = max(launched, start)
    end = min(stop, terminated) if terminated is not None else stop
    return max((end - begin).total_seconds(), 0.0) / 3600.0


def _size(server: Server, flavors: dict[str, Flavor]) -> dict[str, Any]:
    embedded = server.flavor or {}
    known = flavors.get(server.flavor_id)
    def pick(key: str, column: str) -> Any:
        value = embedded.get(key)
        return value if value is not None else (getattr(known, column) if known else 0)
    return {"name": embedded.get("original_name") or embedded.get("name") or (known.name if known else
                                                                                server.flavor_id),
            "vcpus": int(pick("vcpus", "vcpus")), "ram": int(pick("ram", "ram")),
            "disk": int(pick("disk", "disk")) + int(pick("ephemeral", "ephemeral"))}


def usages(session: Session, start: dt.datetime, stop: dt.datetime, project_id: str | None = None, *,
           region: str, limit: int | None = None, marker: str | None = None,
           now: dt.datetime | None = None) -> list[TenantUsage]:
    """Usage per project for ``region``'s servers running at some time in [start, stop) (deleted
    ones too); from 2.40 for at most ``limit`` servers after the server ``marker``, in Nova's order
    (project, then server id, as ``instance_get_active_by_window_joined`` pages them).

    :raises Invalid: "Marker <id> could not be found." (a deleted server is still a marker).
    """
    now = now or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    query = (select(Server).where(Server.cloud == region, Server.launched_at.is_not(None),
                                  Server.launched_at < stop,
                                  or_(Server.terminated_at.is_(None), Server.terminated_at > start))
             .order_by(Server.project_id, Server.id))
    if project_id is not None:
        query = query.where(Server.project_id == project_id)
    if marker is not None:
        after = session.scalar(select(Server.project_id).where(Server.id == marker))
        if after is None:
            raise Invalid(f"Marker {marker} could not be found.")
        query = query.where(or_(Server.project_id > after, and_(Server.project_id == after, Server.id > marker)))
    if limit is not None:
        query = query.limit(limit)
    servers = list(session.scalars(query))
    flavors = {f.id: f for f in session.scalars(select(Flavor).where(
        Flavor.id.in_({s.flavor_id for s in servers})))} if servers else {}
    result: dict[str, TenantUsage] = {}
    for server in servers:
        size = _size(server, flavors)
        hours = hours_in(server.launched_at, server.terminated_at, start, stop)
        ended = server.terminated_at
        state = "terminated" if ended is not None else server.vm_state
        uptime = int(((ended if ended is not None else now) - server.launched_at).total_seconds())
        item = ServerUsage(instance_id=server.id, name=server.name, tenant_id=server.project_id,
                           flavor=size["name"], vcpus=size["vcpus"], memory_mb=size["ram"], local_gb=size["disk"],
                           hours=hours, started_at=server.launched_at, ended_at=ended, state=state, uptime=uptime)
        total = result.setdefault(server.project_id, TenantUsage(server.project_id, start, stop))
        total.server_usages.append(item)
        total.total_hours += hours
        total.total_vcpus_usage += hours * item.vcpus
        total.total_memory_mb_usage += hours * item.memory_mb
        total.total_local_gb_usage += hours * item.local_gb
    return list(result.values())
