"""Trunks over the wire (api-ref "Trunk networking", the ``trunk`` extension): ``/v2.0/trunks``
through the generic collection and item responders, and the item actions ``add_subports``,
``remove_subports`` (PUT, the trunk back) and ``get_subports`` (GET); the wire form of
:mod:`overcast.core.network.trunks`."""

from __future__ import annotations

from typing import Any

import falcon
from sqlalchemy.orm import Session

from overcast.api.network.common import BOOL, NAME, UUID, Collection, Item, Kind, caller, regional, standard
from overcast.api.routing import Registry
from overcast.api.validation import read_json, validate
from overcast.core.network import NetworkCore, trunks
from overcast.store.network import Trunk

_SUB_PORT = {"type": "object", "required": ["port_id"], "additionalProperties": False,
             "properties": {"port_id": UUID, "segmentation_type": {"type": "string", "maxLength": 32},
                            "segmentation_id": {"type": ["integer", "string"]}}}
SUB_PORTS = {"type": "array", "items": _SUB_PORT}
TRUNK_UPDATE: dict[str, Any] = {"name": NAME, "admin_state_up": BOOL,
                                "description": {"type": "string", "maxLength": 255}}
TRUNK_CREATE = {**TRUNK_UPDATE, "port_id": UUID, "sub_ports": SUB_PORTS, "tenant_id": UUID, "project_id": UUID}


def sub_ports(trunk: Trunk) -> list[dict[str, Any]]:
    return [{"port_id": s.port_id, "segmentation_type": s.segmentation_type, "segmentation_id": s.segmentation_id}
            for s in trunk.sub_ports]


def trunk(req: falcon.Request, session: Session, record: Trunk) -> dict[str, Any]:
    return {"id": record.id, "name": record.name, "admin_state_up": record.admin_state_up,
            "status": trunks.status(session, record), "port_id": record.port_id, "sub_ports": sub_ports(record),
            **standard(record)}


TRUNKS = Kind("trunks", "trunk", trunk, trunks, TRUNK_CREATE, TRUNK_UPDATE, required=("port_id",),
              columns={"id": Trunk.id, "name": Trunk.name, "admin_state_up": Trunk.admin_state_up,
                       "port_id": Trunk.port_id, "description": Trunk.description, "project_id": Trunk.project_id,
                       "tenant_id": Trunk.project_id, "revision_number": Trunk.revision_number})


class SubPorts:
    """``PUT /v2.0/trunks/{id}/add_subports`` and ``remove_subports`` (``{"sub_ports": [...]}``, the
    trunk back), ``GET /v2.0/trunks/{id}/get_subports``."""

    def __init__(self, core: NetworkCore, action: str):
        self.core, self.action = core, action

    def on_put(self, req: falcon.Request, resp: falcon.Response, item_id: str) -> None:
        given = _sub_ports(req)
        core = regional(self.core, req)
        with core.session() as session:
            record = getattr(trunks, self.action)(core, session, caller(req), item_id, given)
            resp.media = trunk(req, session, record)


def _sub_ports(req: falcon.Request) -> list[dict[str, Any]]:
    """The ``sub_ports`` list of the body. :raises faults.BadRequest: none, or malformed."""
    return validate(read_json(req), {"type": "object", "required": ["sub_ports"],
                                     "properties": {"sub_ports": SUB_PORTS}})["sub_ports"]


class GetSubPorts:
    def __init__(self, core: NetworkCore):
        self.core = core

    def on_get(self, req: falcon.Request, resp: falcon.Response, item_id: str) -> None:
        core = regional(self.core, req)
        with core.session() as session:
            resp.media = {"sub_ports": sub_ports(trunks.get(core, session, caller(req), item_id))}


def declare(registry: Registry) -> None:
    registry.declare("network", "trunks", "/v2.0/trunks", ("GET", "POST"))
    registry.declare("network", "trunks_item", "/v2.0/trunks/{item_id}", ("GET", "PUT", "DELETE"))
    for action in ("add_subports", "remove_subports"):
        registry.declare("network", f"trunk_{action}", f"/v2.0/trunks/{{item_id}}/{action}", ("PUT",))
    registry.declare("network", "trunk_get_subports", "/v2.0/trunks/{item_id}/get_subports", ("GET",))


def bind(registry: Registry, core: NetworkCore) -> None:
    registry.bind("network", "trunks", Collection(core, TRUNKS))
    registry.bind("network", "trunks_item", Item(core, TRUNKS))
    for action in ("add_subports", "remove_subports"):
        registry.bind("network", f"trunk_{action}", SubPorts(core, action))
    registry.bind("network", "trunk_get_subports", GetSubPorts(core))
