"""``/servers/{id}/os-interface``: the server's ports, hot-plug and unplug. Wire format only."""

from __future__ import annotations

from typing import Any

import falcon

from overcast.api.compute.common import at_least, caller, enforce
from overcast.api.compute.servers import ServerResource, target
from overcast.api.routing import Registry
from overcast.api.validation import read_json
from overcast.core.compute import ComputeCore
from overcast.core.compute import interfaces as core_interfaces
from overcast.core.compute import networking
from overcast.core.compute import servers as core_servers
from overcast.store.compute import Server
from overcast.store.network import Port

_UUID = {"type": "string", "format": "uuid"}
ATTACH_BODY = {
    "type": "object",
    "properties": {"interfaceAttachment": {
        "type": "object",
        "properties": {
            "net_id": _UUID, "port_id": _UUID, "tag": {"type": "string", "maxLength": 60},
            "fixed_ips": {"type": "array", "maxItems": 1, "items": {
                "type": "object", "properties": {"ip_address": {"type": "string"}},
                "required": ["ip_address"], "additionalProperties": False}},
        },
        "additionalProperties": False}},
    "additionalProperties": False,
}


def view(req: falcon.Request, server: Server, port: Port) -> dict[str, Any]:
    """Nova's interfaceAttachment (``tag`` from 2.70: the NIC's, given at create or attach)."""
    out: dict[str, Any] = {
        "port_state": port.status, "port_id": port.id, "net_id": port.network_id, "mac_addr": port.mac_address,
        "fixed_ips": [{"subnet_id": a.subnet_id, "ip_address": a.ip_address} for a in port.fixed_ips],
    }
    if at_least(req, "2.70"):
        out["tag"] = networking.nic_tag(server, port.id)
    return out


class Interfaces(ServerResource):
    def on_get(self, req: falcon.Request, resp: falcon.Response, server_id: str, **_: str) -> None:
        with self.core.store.session() as session:
            server = core_servers.get_server(session, caller(req), server_id, region=req.context.region)
            enforce(req, "os_compute_api:os-attach-interfaces:list", target(server))
            ports = networking.server_ports(session, server.id)
            resp.media = {"interfaceAttachments": [view(req, server, p) for p in ports]}

    on_head = on_get

    def on_post(self, req: falcon.Request, resp: falcon.Response, server_id: str, **_: str) -> None:
        ctx = caller(req)
        body = read_json(req, ATTACH_BODY).get("interfaceAttachment") or {}
        with self.core.network.session() as session:
            server = core_servers.get_server(session, ctx, server_id, region=req.context.region)
            enforce(req, "os_compute_api:os-attach-interfaces:create", target(server))
            port = core_interfaces.attach(self.core.network.at(req.context.region), session, ctx, server, body,
                                          capabilities=self.capabilities(server), request_id=req.context.request_id)
            resp.media = {"interfaceAttachment": view(req, server, port)}


class Interface(ServerResource):
    def on_get(self, req: falcon.Request, resp: falcon.Response, server_id: str, port_id: str, **_: str) -> None:
        with self.core.store.session() as session:
            server = core_servers.get_server(session, caller(req), server_id, region=req.context.region)
            enforce(req, "os_compute_api:os-attach-interfaces:show", target(server))
            resp.media = {"interfaceAttachment": view(req, server, core_interfaces.get(session, server, port_id))}

    on_head = on_get

    def on_delete(self, req: falcon.Request, resp: falcon.Response, server_id: str, port_id: str, **_: str) -> None:
        ctx = caller(req)
        with self.core.network.session() as session:
            server = core_servers.get_server(session, ctx, server_id, region=req.context.region)
            enforce(req, "os_compute_api:os-attach-interfaces:delete", target(server))
            core_interfaces.detach(self.core.network.at(req.context.region), session, ctx, server, port_id,
                                   capabilities=self.capabilities(server), request_id=req.context.request_id)
        resp.status = falcon.HTTP_202


def bind(registry: Registry, core: ComputeCore, views: Any) -> None:
    registry.bind("compute", "v2_os_interfaces", Interfaces(core, views))
    registry.bind("compute", "v2_os_interface", Interface(core, views))
