"""``/servers/{id}/shares`` (Nova 2.97): share attachments. Bodies and policies as Nova's; what
follows is the core's (:mod:`overcast.core.compute.shares`: no shared file system service, so
no share is ever attached)."""

from __future__ import annotations

from typing import Any

import falcon

from overcast.api.compute.common import caller, enforce, served
from overcast.api.compute.server_schemas import UUID
from overcast.api.compute.servers import target
from overcast.api.routing import Registry
from overcast.api.validation import read_json
from overcast.core.compute import ComputeCore
from overcast.core.compute import servers as core_servers
from overcast.core.compute import shares as core

FIRST = "2.97"
POLICY = "os_compute_api:os-server-shares:"

CREATE = {"type": "object", "required": ["share"], "additionalProperties": False, "properties": {
    "share": {"type": "object", "required": ["share_id"], "additionalProperties": False, "properties": {
        "share_id": UUID,
        "tag": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[a-zA-Z0-9_-]+$"}}}}}


class _Base:
    def __init__(self, core: ComputeCore):
        self.core = core

    def _server(self, req: falcon.Request, session: Any, server_id: str, rule: str) -> Any:
        served(req, first=FIRST)
        server = core_servers.get_server(session, caller(req), server_id, region=req.context.region)
        enforce(req, POLICY + rule, target(server))
        return server


class Shares(_Base):
    def on_get(self, req: falcon.Request, resp: falcon.Response, server_id: str, **_: str) -> None:
        with self.core.store.session() as session:
            server = self._server(req, session, server_id, "index")
            resp.media = {"shares": core.listed(server)}

    on_head = on_get

    def on_post(self, req: falcon.Request, resp: falcon.Response, server_id: str, **_: str) -> None:
        served(req, first=FIRST)
        body = read_json(req, CREATE)  # Nova's schema is checked before the server is looked up
        with self.core.store.session() as session:
            core.attach(self._server(req, session, server_id, "create"), body["share"]["share_id"])


class Share(_Base):
    def on_get(self, req: falcon.Request, resp: falcon.Response, server_id: str, share_id: str, **_: str) -> None:
        with self.core.store.session() as session:
            core.show(self._server(req, session, server_id, "show"), share_id)

    on_head = on_get

    def on_delete(self, req: falcon.Request, resp: falcon.Response, server_id: str, share_id: str,
                  **_: str) -> None:
        with self.core.store.session() as session:
            core.detach(self._server(req, session, server_id, "delete"), share_id)


def bind(registry: Registry, core: ComputeCore) -> None:
    registry.bind("compute", "v2_server_shares", Shares(core))
    registry.bind("compute", "v2_server_share", Share(core))
