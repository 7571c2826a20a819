"""``POST /servers/{id}/remote-consoles`` (2.6+; 2.8 adds the MKS console): the body checked as
Nova checks it, then the core's answer (no driver offers a console, see
:mod:`overcast.core.compute.remote_consoles`)."""

from __future__ import annotations

from typing import Any

import falcon

from overcast.api.compute.common import Links, at_least, caller, enforce, served
from overcast.api.compute.servers import target
from overcast.api.routing import Registry
from overcast.api.validation import read_json
from overcast.core.compute import ComputeCore
from overcast.core.compute import remote_consoles as rules
from overcast.core.compute import servers as core_servers


def create_schema(req: falcon.Request) -> dict[str, Any]:
    protocols, types = ["vnc", "spice", "serial"], ["novnc", "xvpvnc", "spice-html5", "serial"]
    if at_least(req, "2.8"):
        protocols, types = protocols + ["mks"], types + ["webmks"]
    console = {"type": "object", "required": ["protocol", "type"], "additionalProperties": False,
               "properties": {"protocol": {"type": "string", "enum": protocols},
                              "type": {"type": "string", "enum": types}}}
    return {"type": "object", "required": ["remote_console"], "additionalProperties": False,
            "properties": {"remote_console": console}}


class RemoteConsoles:
    def __init__(self, core: ComputeCore, links: Links):
        self.core, self.links = core, links

    def on_post(self, req: falcon.Request, resp: falcon.Response, server_id: str, **_: str) -> None:
        served(req, first="2.6")
        console = read_json(req, create_schema(req))["remote_console"]
        with self.core.store.session() as session:
            server = core_servers.get_server(session, caller(req), server_id, region=req.context.region)
            enforce(req, "os_compute_api:os-remote-consoles", target(server))
            rules.create(server, console["type"])


def bind(registry: Registry, core: ComputeCore, links: Links) -> None:
    registry.bind("compute", "v2_server_remote_consoles", RemoteConsoles(core, links))
