"""``POST /os-server-external-events`` (services and admins): the events Nova accepts per
microversion, and its per-event answer (see :mod:`overcast.core.compute.external_events`)."""

from __future__ import annotations

from typing import Any

import falcon

from overcast.api.compute.common import Links, at_least, caller, enforce
from overcast.api.routing import Registry
from overcast.api.validation import read_json
from overcast.core.compute import ComputeCore
from overcast.core.compute import external_events as rules

#: (first microversion, event name) in the order Nova added them
NAMES = (("2.1", "network-changed"), ("2.1", "network-vif-plugged"), ("2.1", "network-vif-unplugged"),
         ("2.1", "network-vif-deleted"), ("2.51", "volume-extended"), ("2.76", "power-update"),
         ("2.82", "accelerator-request-bound"))


def create_schema(req: falcon.Request) -> dict[str, Any]:
    event = {"type": "object", "required": ["server_uuid", "name"], "additionalProperties": False,
             "properties": {"server_uuid": {"type": "string", "format": "uuid"},
                            "name": {"type": "string", "enum": [n for first, n in NAMES if at_least(req, first)]},
                            "status": {"type": "string", "enum": ["failed", "completed", "in-progress"]},
                            "tag": {"type": "string", "maxLength": 255}}}
    return {"type": "object", "required": ["events"], "additionalProperties": False,
            "properties": {"events": {"type": "array", "minItems": 1, "items": event}}}


class ServerExternalEvents:
    def __init__(self, core: ComputeCore, links: Links):
        self.core, self.links = core, links

    def on_post(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        events = read_json(req, create_schema(req))["events"]
        enforce(req, "os_compute_api:os-server-external-events:create")
        with self.core.store.session() as session:
            outcomes = rules.deliver(session, events, region=req.context.region, request_id=req.context.request_id,
                                     user_id=caller(req).user_id)
        resp.status = falcon.HTTP_200 if all(o.accepted for o in outcomes) else falcon.HTTP_207
        resp.media = {"events": [{**o.event, "status": o.status, "code": o.code} for o in outcomes]}


def bind(registry: Registry, core: ComputeCore, links: Links) -> None:
    registry.bind("compute", "v2_os_server_external_events", ServerExternalEvents(core, links))
