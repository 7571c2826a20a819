"""``/os-simple-tenant-usage`` (admin: every project) and ``/{project_id}``."""

from __future__ import annotations

import datetime as dt
from typing import Any

import falcon

from overcast.api import faults
from overcast.api.compute.common import Links, at_least, enforce
from overcast.api.compute.flavors import limit_marker, next_links, parse_bool
from overcast.api.routing import Registry
from overcast.core.compute import ComputeCore
from overcast.core.compute import usage as rules
from overcast.store.models import utcnow

_FORMATS = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S")


def _time(value: dt.datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f") if value is not None else None


def parse_time(text: str | None) -> dt.datetime:
    """Nova's _parse_datetime: absent means now. :raises faults.BadRequest:"""
    if not text:
        return utcnow()
    for fmt in _FORMATS:
        try:
            return dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise faults.BadRequest("Datetime is in invalid format") from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return parsed


def period(req: falcon.Request) -> tuple[dt.datetime, dt.datetime]:
    start, end = parse_time(req.get_param("start")), parse_time(req.get_param("end"))
    if start > end:
        raise faults.BadRequest("Invalid start time. The start time cannot occur after the end time.")
    return start, end


def usage_view(usage: rules.TenantUsage, detailed: bool) -> dict[str, Any]:
    view: dict[str, Any] = {
        "tenant_id": usage.tenant_id, "start": _time(usage.start), "stop": _time(usage.stop),
        "total_hours": usage.total_hours, "total_vcpus_usage": usage.total_vcpus_usage,
        "total_memory_mb_usage": usage.total_memory_mb_usage, "total_local_gb_usage": usage.total_local_gb_usage,
    }
    if detailed:
        view["server_usages"] = [{
            "instance_id": s.instance_id, "name": s.name, "tenant_id": s.tenant_id, "flavor": s.flavor,
            "vcpus": s.vcpus, "memory_mb": s.memory_mb, "local_gb": s.local_gb, "hours": s.hours,
            "started_at": _time(s.started_at), "ended_at": _time(s.ended_at), "state": s.state,
            "uptime": s.uptime} for s in usage.server_usages]
    return view


def _page(req: falcon.Request) -> dict[str, Any]:
    """From 2.40 a page of at most ``limit`` servers after ``marker`` (Nova's max_limit by default)."""
    if not at_least(req, "2.40"):
        return {}
    limit, marker = limit_marker(req)
    return {"limit": limit, "marker": marker}


def _links(req: falcon.Request, links: Links, collection: str, found: list[rules.TenantUsage],
           page: dict[str, Any]) -> list[dict[str, str]]:
    """Nova's next link: there when the page is full, its marker the page's last server."""
    if not page:
        return []
    servers = [s for usage in found for s in usage.server_usages]
    return next_links(req, links, collection, servers, page["limit"], lambda s: s.instance_id)


class Usages:
    def __init__(self, core: ComputeCore, links: Links):
        self.core, self.links = core, links

    def on_get(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        enforce(req, "compute:simple_tenant_usage:list")
        start, end = period(req)
        detailed = parse_bool(req.get_param("detailed") or "0", "detailed")
        page = _page(req)
        with self.core.store.session() as session:
            found = rules.usages(session, start, end, region=req.context.region, **page)
        body: dict[str, Any] = {"tenant_usages": [usage_view(u, detailed) for u in found]}
        next_page = _links(req, self.links, "os-simple-tenant-usage", found, page)
        if next_page:
            body["tenant_usages_links"] = next_page
        resp.media = body

    on_head = on_get


class ProjectUsage:
    def __init__(self, core: ComputeCore, links: Links):
        self.core, self.links = core, links

    def on_get(self, req: falcon.Request, resp: falcon.Response, project_id: str, **_: str) -> None:
        enforce(req, "compute:simple_tenant_usage:show", {"project_id": project_id})
        start, end = period(req)
        page = _page(req)
        with self.core.store.session() as session:
            found = rules.usages(session, start, end, project_id, region=req.context.region, **page)
        body: dict[str, Any] = {"tenant_usage": usage_view(found[0], True) if found else {}}
        next_page = _links(req, self.links, f"os-simple-tenant-usage/{project_id}", found, page)
        if next_page:
            body["tenant_usage_links"] = next_page
        resp.media = body

    on_head = on_get


def bind(registry: Registry, core: ComputeCore, links: Links) -> None:
    registry.bind("compute", "v2_tenants_usage", Usages(core, links))
    registry.bind("compute", "v2_tenant_usage", ProjectUsage(core, links))
