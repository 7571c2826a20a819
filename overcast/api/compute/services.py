"""``/os-services``: list, enable/disable (legacy actions and 2.53's PUT by UUID), force down, delete."""

from __future__ import annotations

from typing import Any, Collection

import falcon

from overcast.api import faults
from overcast.api.compute.common import Links, at_least, enforce
from overcast.api.routing import Registry
from overcast.api.validation import read_json
from overcast.core.compute import ComputeCore
from overcast.core.compute import admin as rules
from overcast.store.compute import ComputeService

_HOST_BINARY = {"type": "object", "required": ["host", "binary"], "additionalProperties": False,
                "properties": {"host": {"type": "string", "minLength": 1, "maxLength": 255},
                               "binary": {"type": "string", "minLength": 1, "maxLength": 255}}}
_REASON = {"type": "string", "minLength": 1, "maxLength": 255}
LEGACY_SCHEMAS = {
    "enable": _HOST_BINARY,
    "disable": _HOST_BINARY,
    "disable-log-reason": {**_HOST_BINARY, "required": ["host", "binary"],
                           "properties": {**_HOST_BINARY["properties"], "disabled_reason": _REASON}},
    "force-down": {**_HOST_BINARY, "required": ["host", "binary", "forced_down"],
                   "properties": {**_HOST_BINARY["properties"], "forced_down": {"type": "boolean"}}},
}
UPDATE_SCHEMA = {"type": "object", "additionalProperties": False, "minProperties": 1,
                 "properties": {"status": {"type": "string", "enum": ["enabled", "disabled"]},
                                "disabled_reason": _REASON, "forced_down": {"type": "boolean"}}}


def _time(service: ComputeService) -> str:
    return service.updated_at.isoformat(timespec="microseconds")


def service_view(req: falcon.Request, service: ComputeService, down: Collection[str]) -> dict[str, Any]:
    """``down``: the region's hosts that missed their heartbeats (:func:`rules.down_hosts`)."""
    view: dict[str, Any] = {
        "id": service.uuid if at_least(req, "2.53") else service.id, "binary": service.binary,
        "host": service.host, "zone": service.zone, "status": "disabled" if service.disabled else "enabled",
        "state": "up" if rules.service_is_up(service, down) else "down", "updated_at": _time(service),
        "disabled_reason": service.disabled_reason,
    }
    if at_least(req, "2.11"):
        view["forced_down"] = service.forced_down
    return view


class _Base:
    def __init__(self, core: ComputeCore, links: Links):
        self.core, self.links = core, links


class Services(_Base):
    def on_get(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        enforce(req, "compute:services")
        with self.core.store.session() as session:
            found = rules.list_services(session, region=req.context.region, host=req.get_param("host"),
                                        binary=req.get_param("binary"))
            down = rules.down_hosts(session, region=req.context.region)
            resp.media = {"services": [service_view(req, s, down) for s in found]}

    on_head = on_get


def legacy_action(core: ComputeCore, req: falcon.Request, action: str) -> dict[str, Any]:
    if at_least(req, "2.53"):
        raise faults.NotFound("The resource could not be found.")
    if action == "force-down" and not at_least(req, "2.11"):
        raise faults.NotFound(f"Unknown action {action}")
    schema = LEGACY_SCHEMAS.get(action)
    if schema is None:
        raise faults.NotFound(f"Unknown action {action}")
    body = read_json(req, schema)
    with core.store.session() as session:
        service = rules.find_service_by_host(session, body["host"], body["binary"], region=req.context.region)
        view: dict[str, Any] = {"host": service.host, "binary": service.binary}
        if action == "force-down":
            rules.set_service(service, forced_down=body["forced_down"])
            view["forced_down"] = service.forced_down
            return view
        rules.set_service(service, disabled=action != "enable", reason=body.get("disabled_reason"))
        view["status"] = "disabled" if service.disabled else "enabled"
        if action == "disable-log-reason":
            view["disabled_reason"] = service.disabled_reason
        return view


class LegacyAction(_Base):
    def __init__(self, core: ComputeCore, links: Links, action: str):
        super().__init__(core, links)
        self.action = action

    def on_put(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        enforce(req, "compute:services")
        resp.media = {"service": legacy_action(self.core, req, self.action)}


class ServiceItem(_Base):
    def on_put(self, req: falcon.Request, resp: falcon.Response, service_id: str, **_: str) -> None:
        enforce(req, "compute:services")
        if not at_least(req, "2.53"):
            resp.media = {"service": legacy_action(self.core, req, service_id)}
            return
        body = read_json(req, UPDATE_SCHEMA)
        if "disabled_reason" in body and body.get("status") != "disabled":
            raise faults.BadRequest("Specifying 'disabled_reason' with status 'enabled' is invalid.")
        with self.core.store.session() as session:
            service = rules.find_service(session, service_id, region=req.context.region)
            if service.binary != "nova-compute" and "forced_down" in body:
                raise faults.BadRequest("Updating a nova-compute service is only supported for 'nova-compute'.")
            if "status" in body:
                rules.set_service(service, disabled=body["status"] == "disabled",
                                  reason=body.get("disabled_reason"))
            if "forced_down" in body:
                rules.set_service(service, forced_down=body["forced_down"])
            resp.media = {"service": service_view(req, service, rules.down_hosts(session, region=req.context.region))}

    def on_delete(self, req: falcon.Request, resp: falcon.Response, service_id: str, **_: str) -> None:
        enforce(req, "compute:services")
        if at_least(req, "2.53"):
            import uuid as _uuid
            try:
                _uuid.UUID(service_id)
            except ValueError:
                raise faults.BadRequest(f"Invalid uuid {service_id}") from None
        with self.core.store.session() as session:
            rules.delete_service(session, rules.find_service(session, service_id, region=req.context.region))
        resp.status = falcon.HTTP_204


def bind(registry: Registry, core: ComputeCore, links: Links) -> None:
    registry.bind("compute", "v2_os_services", Services(core, links))
    registry.bind("compute", "v2_os_services_enable", LegacyAction(core, links, "enable"))
    registry.bind("compute", "v2_os_services_disable", LegacyAction(core, links, "disable"))
    registry.bind("compute", "v2_os_service", ServiceItem(core, links))
