"""``/os-hypervisors``: one hypervisor per backend host of every region (admin only)."""

from __future__ import annotations

import json
from typing import Any

import falcon

from overcast.api import faults
from overcast.api.compute.common import Links, at_least, enforce
from overcast.api.compute.flavors import limit_marker, next_links, parse_bool
from overcast.api.routing import Registry
from overcast.core.compute import ComputeCore
from overcast.core.compute import admin as rules

_CPU_INFO = {"arch": "x86_64", "model": "Overcast", "vendor": "Overcast", "features": [],
             "topology": {"cores": 1, "threads": 1, "sockets": rules.HOST_VCPUS}}


def _id(req: falcon.Request, hyper: rules.Hypervisor) -> Any:
    return hyper.service.uuid if at_least(req, "2.53") else hyper.id


def summary(req: falcon.Request, hyper: rules.Hypervisor, with_servers: bool = False) -> dict[str, Any]:
    view: dict[str, Any] = {"id": _id(req, hyper), "hypervisor_hostname": hyper.hostname,
                            "state": hyper.state, "status": hyper.status}
    if with_servers and hyper.servers:
        view["servers"] = [{"uuid": uuid, "name": name} for uuid, name in hyper.servers]
    return view


def detail(req: falcon.Request, hyper: rules.Hypervisor, with_servers: bool = False) -> dict[str, Any]:
    view = summary(req, hyper, with_servers)
    service = hyper.service
    view.update({
        "hypervisor_type": "QEMU", "hypervisor_version": 8002000, "host_ip": rules.HOST_IP,
        "service": {"host": service.host, "id": service.uuid if at_least(req, "2.53") else service.id,
                    "disabled_reason": service.disabled_reason},
    })
    if at_least(req, "2.88"):
        view["uptime"] = rules.uptime()
        return view
    view.update({
        "vcpus": rules.HOST_VCPUS, "vcpus_used": hyper.vcpus_used, "memory_mb": rules.HOST_MEMORY_MB,
        "memory_mb_used": hyper.memory_mb_used + 512, "local_gb": rules.HOST_LOCAL_GB,
        "local_gb_used": hyper.local_gb_used, "free_ram_mb": rules.HOST_MEMORY_MB - hyper.memory_mb_used - 512,
        "free_disk_gb": rules.HOST_LOCAL_GB - hyper.local_gb_used,
        "disk_available_least": rules.HOST_LOCAL_GB - hyper.local_gb_used, "current_workload": 0,
        "running_vms": hyper.running_vms,
        "cpu_info": _CPU_INFO if at_least(req, "2.28") else json.dumps(_CPU_INFO),
    })
    return view


class _Base:
    def __init__(self, core: ComputeCore, links: Links):
        self.core, self.links = core, links


class Hypervisors(_Base):
    detailed = False

    def on_get(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        enforce(req, "compute:hypervisors")
        pattern = req.get_param("hypervisor_hostname_pattern") if at_least(req, "2.53") else None
        with_servers = at_least(req, "2.53") and parse_bool(req.get_param("with_servers") or "false",
                                                            "with_servers")
        with self.core.store.session() as session:
            found = rules.hypervisors(session, region=req.context.region, hostname_pattern=pattern)
        if pattern is not None and not found:
            raise faults.NotFound(f"No hypervisor matching '{pattern}' could be found.")
        body: dict[str, Any] = {}
        if at_least(req, "2.33") and pattern is None:
            limit, marker = limit_marker(req)
            if marker is not None:
                ids = [str(_id(req, h)) for h in found]
                if marker not in ids:
                    raise faults.BadRequest(f"marker [{marker}] not found")
                found = found[ids.index(marker) + 1:]
            found = found[:limit]
            links = next_links(req, self.links, "os-hypervisors/detail" if self.detailed else "os-hypervisors",
                               found, limit, lambda h: str(_id(req, h)))
            if links:
                body["hypervisors_links"] = links
        render = detail if self.detailed else summary
        body["hypervisors"] = [render(req, h, with_servers) for h in found]
        resp.media = body

    on_head = on_get


class HypervisorsDetail(Hypervisors):
    detailed = True


class Statistics(_Base):
    def on_get(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        enforce(req, "compute:hypervisors")
        if at_least(req, "2.88"):
            raise faults.NotFound("The resource could not be found.")
        with self.core.store.session() as session:
            found = rules.hypervisors(session, region=req.context.region)
        views = [detail(req, h) for h in found]
        keys = ("current_workload", "disk_available_least", "free_disk_gb", "free_ram_mb", "local_gb",
                "local_gb_used", "memory_mb", "memory_mb_used", "running_vms", "vcpus", "vcpus_used")
        stats = {k: sum(v[k] for v in views) for k in keys}
        stats["count"] = len(views)
        resp.media = {"hypervisor_statistics": stats}

    on_head = on_get


class Hypervisor(_Base):
    def on_get(self, req: falcon.Request, resp: falcon.Response, hypervisor_id: str, **_: str) -> None:
        enforce(req, "compute:hypervisors")
        if at_least(req, "2.53"):
            try:
                import uuid as _uuid
                _uuid.UUID(hypervisor_id)
            except ValueError:
                raise faults.BadRequest(f"Invalid uuid {hypervisor_id}") from None
        elif not hypervisor_id.isdigit():
            raise faults.NotFound(f"Hypervisor with ID '{hypervisor_id}' could not be found.")
        with_servers = at_least(req, "2.53") and parse_bool(req.get_param("with_servers") or "false",
                                                            "with_servers")
        with self.core.store.session() as session:
            hyper = rules.find_hypervisor(session, hypervisor_id, region=req.context.region)
        resp.media = {"hypervisor": detail(req, hyper, with_servers)}

    on_head = on_get


class Uptime(_Base):
    """``/os-hypervisors/{id}/uptime`` (below 2.88; from 2.88 the detail view carries it)."""

    def on_get(self, req: falcon.Request, resp: falcon.Response, hypervisor_id: str, **_: str) -> None:
        enforce(req, "compute:hypervisors")
        if at_least(req, "2.88"):
            raise faults.NotFound("The resource could not be found.")
        with self.core.store.session() as session:
            hyper = rules.find_hypervisor(session, hypervisor_id, region=req.context.region)
        resp.media = {"hypervisor": {**summary(req, hyper), "uptime": rules.uptime()}}

    on_head = on_get


class Search(_Base):
    with_servers = False

    def on_get(self, req: falcon.Request, resp: falcon.Response, hypervisor_id: str, **_: str) -> None:
        enforce(req, "compute:hypervisors")
        if at_least(req, "2.53"):
            raise faults.NotFound("The resource could not be found.")
        with self.core.store.session() as session:
            found = rules.hypervisors(session, region=req.context.region, hostname_pattern=hypervisor_id)
        if not found:
            raise faults.NotFound(f"No hypervisor matching '{hypervisor_id}' could be found.")
        resp.media = {"hypervisors": [summary(req, h, self.with_servers) for h in found]}

    on_head = on_get


class Servers(Search):
    with_servers = True


def bind(registry: Registry, core: ComputeCore, links: Links) -> None:
    registry.bind("compute", "v2_os_hypervisors", Hypervisors(core, links))
    registry.bind("compute", "v2_os_hypervisors_detail", HypervisorsDetail(core, links))
    registry.bind("compute", "v2_os_hypervisors_statistics", Statistics(core, links))
    registry.bind("compute", "v2_os_hypervisor", Hypervisor(core, links))
    registry.bind("compute", "v2_os_hypervisor_uptime", Uptime(core, links))
    registry.bind("compute", "v2_os_hypervisor_search", Search(core, links))
    registry.bind("compute", "v2_os_hypervisor_servers", Servers(core, links))
