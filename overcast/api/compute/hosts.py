"""``/os-hosts`` (deprecated, gone from 2.43): the services' hosts, a compute host's resources, and
Nova's answers for what an embedded hypervisor cannot do (maintenance mode, power actions: 501)."""

from __future__ import annotations

from typing import Any

import falcon

from overcast.api import faults
from overcast.api.compute.common import Links, at_least, enforce
from overcast.api.routing import Registry
from overcast.api.validation import read_json
from overcast.core.compute import ComputeCore
from overcast.core.compute import admin as rules

_ENABLE = {"type": "string", "enum": ["enable", "disable", "Enable", "Disable", "ENABLE", "DISABLE"]}
UPDATE_SCHEMA = {"type": "object", "additionalProperties": False,
                 "properties": {"status": _ENABLE, "maintenance_mode": _ENABLE},
                 "anyOf": [{"required": ["status"]}, {"required": ["maintenance_mode"]}]}
POWER_ACTIONS = ("startup", "shutdown", "reboot")


def _gone(req: falcon.Request) -> None:
    if at_least(req, "2.43"):
        raise faults.NotFound("The resource could not be found.")


class _Base:
    def __init__(self, core: ComputeCore, links: Links):
        self.core, self.links = core, links


class Hosts(_Base):
    def on_get(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        _gone(req)
        enforce(req, "compute:hosts")
        zone = req.get_param("zone")
        with self.core.store.session() as session:
            services = rules.list_services(session, region=req.context.region)
            hosts = [{"host_name": s.host, "service": rules.TOPICS.get(s.binary, s.binary), "zone": s.zone}
                     for s in services if not zone or s.zone == zone]
        resp.media = {"hosts": hosts}

    on_head = on_get


class Host(_Base):
    def on_get(self, req: falcon.Request, resp: falcon.Response, host_name: str, **_: str) -> None:
        _gone(req)
        enforce(req, "compute:hosts")
        with self.core.store.session() as session:
            rows = rules.host_resources(session, rules.find_compute_host(session, host_name, region=req.context.region))
        resp.media = {"host": [{"resource": {"host": host_name, "project": project, "cpu": cpu,
                                             "memory_mb": memory_mb, "disk_gb": disk_gb}}
                               for project, cpu, memory_mb, disk_gb in rows]}

    on_head = on_get

    def on_put(self, req: falcon.Request, resp: falcon.Response, host_name: str, **_: str) -> None:
        _gone(req)
        enforce(req, "compute:hosts")
        body = read_json(req, UPDATE_SCHEMA)
        answer: dict[str, Any] = {"host": host_name}
        with self.core.store.session() as session:
            service = rules.find_compute_host(session, host_name, region=req.context.region)
            if "maintenance_mode" in body:  # Nova asks the virt driver first; libvirt's cannot
                raise faults.NotImplementedFault("Virt driver does not implement host maintenance mode.")
            rules.set_service(service, disabled=body["status"].lower() == "disable")
            answer["status"] = "disabled" if service.disabled else "enabled"
        resp.media = answer


class PowerAction(_Base):
    def on_get(self, req: falcon.Request, resp: falcon.Response, host_name: str, action: str, **_: str) -> None:
        _gone(req)
        if action not in POWER_ACTIONS:
            raise faults.NotFound("The resource could not be found.")
        enforce(req, "compute:hosts")
        with self.core.store.session() as session:
            rules.find_compute_host(session, host_name, region=req.context.region)
        raise faults.NotImplementedFault("Virt driver does not implement host power management.")

    on_head = on_get


def bind(registry: Registry, core: ComputeCore, links: Links) -> None:
    registry.bind("compute", "v2_os_hosts", Hosts(core, links))
    registry.bind("compute", "v2_os_host", Host(core, links))
    registry.bind("compute", "v2_os_host_power_action", PowerAction(core, links))
