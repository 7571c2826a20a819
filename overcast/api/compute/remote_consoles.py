"""Consoles: ``POST /servers/{id}/remote-consoles`` (2.6+; 2.8 adds the MKS console, 2.99 the
``spice-direct`` type: like any type the region's driver has not, it is answered "Unavailable
console type spice-direct." as a Nova without it enabled answers) and, up to 2.5,
the server actions ``os-getVNCConsole``, ``os-getSPICEConsole``, ``os-getRDPConsole`` and
``os-getSerialConsole``. Bodies are checked as Nova checks them, then the core asks the region's
driver (:mod:`overcast.core.compute.remote_consoles`)."""

from __future__ import annotations

from typing import Any, Callable

import falcon

from overcast.api.compute.common import Links, at_least, caller, enforce, served
from overcast.api.compute.servers import target
from overcast.api.routing import Registry
from overcast.api.validation import read_json, validate
from overcast.core.compute import ComputeCore
from overcast.core.compute import remote_consoles as rules
from overcast.core.compute import servers as core_servers
from overcast.drivers.context import CallContext

POLICY = "os_compute_api:os-remote-consoles"

#: the legacy actions (2.1-2.5) and the console types each accepts
LEGACY_ACTIONS: dict[str, tuple[str, ...]] = {
    "os-getVNCConsole": ("novnc", "xvpvnc"),
    "os-getSPICEConsole": ("spice-html5",),
    "os-getRDPConsole": ("rdp-html5",),
    "os-getSerialConsole": ("serial",),
}


def create_schema(req: falcon.Request) -> dict[str, Any]:
    protocols, types = ["vnc", "spice", "serial"], ["novnc", "xvpvnc", "spice-html5", "serial"]
    if at_least(req, "2.8"):
        protocols, types = protocols + ["mks"], types + ["webmks"]
    if at_least(req, "2.99"):  # SPICE straight to the hypervisor, for a native client
        types = types + ["spice-direct"]
    console = {"type": "object", "required": ["protocol", "type"], "additionalProperties": False,
               "properties": {"protocol": {"type": "string", "enum": protocols},
                              "type": {"type": "string", "enum": types}}}
    return {"type": "object", "required": ["remote_console"], "additionalProperties": False,
            "properties": {"remote_console": console}}


def legacy_schema(action: str) -> dict[str, Any]:
    console = {"type": "object", "required": ["type"], "additionalProperties": False,
               "properties": {"type": {"type": "string", "enum": list(LEGACY_ACTIONS[action])}}}
    return {"type": "object", "required": [action], "additionalProperties": False, "properties": {action: console}}


def legacy_action(resource: Any, req: falcon.Request, resp: falcon.Response, session: Any, server: Any,
                  name: str, body: dict[str, Any]) -> Callable[[], dict[str, Any]]:
    """A ``POST /servers/{id}/action`` handler for the four legacy console actions (Nova serves them
    up to 2.5): ``{"console": {"type", "url"}}``, or the fault Nova gives (the backend is asked
    once the action's transaction is over: the handler returns that read)."""
    served(req, last="2.5")
    console_type = validate(body, legacy_schema(name))[name]["type"]
    enforce(req, POLICY, target(server))
    resp.status = falcon.HTTP_200

    def read() -> dict[str, Any]:  # the dispatcher calls it once the action's transaction is over
        console = _console(resource.core, req, server, console_type)
        return {"console": {"type": console.console_type, "url": console.url}}
    return read


def _console(core: ComputeCore, req: falcon.Request, server: Any, console_type: str) -> Any:
    call = CallContext(project_id=server.project_id, user_id=caller(req).user_id, request_id=req.context.request_id)
    return rules.create(server, console_type, core.compute_driver(server.cloud), backends=core.backends, call=call)


class RemoteConsoles:
    def __init__(self, core: ComputeCore, links: Links):
        self.core, self.links = core, links

    def on_post(self, req: falcon.Request, resp: falcon.Response, server_id: str, **_: str) -> None:
        served(req, first="2.6")
        console = read_json(req, create_schema(req))["remote_console"]
        with self.core.store.session() as session:
            server = core_servers.get_server(session, caller(req), server_id, region=req.context.region)
            enforce(req, POLICY, target(server))
        made = _console(self.core, req, server, console["type"])  # asked of the backend after the transaction
        resp.media = {"remote_console": {"protocol": console["protocol"], "type": made.console_type,
                                         "url": made.url}}


def bind(registry: Registry, core: ComputeCore, links: Links) -> None:
    registry.bind("compute", "v2_server_remote_consoles", RemoteConsoles(core, links))
