"""``GET``/``DELETE /v2.0/auto-allocated-topology/{project_id}`` (the ``auto-allocated-topology``
extension): the wire form of :mod:`overcast.core.network.auto_allocation`. ``?fields=dry-run``
checks the requirements instead; any other field is Neutron's 400."""

from __future__ import annotations

import falcon

from overcast.api import faults
from overcast.api.network.common import caller, regional, requested_fields
from overcast.api.routing import Registry
from overcast.core.network import NetworkCore, auto_allocation


class AutoAllocatedTopology:
    def __init__(self, core: NetworkCore):
        self.core = core

    def on_get(self, req: falcon.Request, resp: falcon.Response, project_id: str) -> None:
        fields = requested_fields(req)
        if fields and auto_allocation.DRY_RUN not in fields:
            raise faults.BadRequest("Bad auto_allocate request: Unrecognized field.", kind="BadRequest")
        core = regional(self.core, req)
        rule = auto_allocation.check if fields else auto_allocation.get
        with core.session() as session:
            found = rule(core, session, caller(req), project_id)
        resp.media = {"auto_allocated_topology": {"id": found.network_id, "tenant_id": found.project_id,
                                                  "project_id": found.project_id}}

    def on_delete(self, req: falcon.Request, resp: falcon.Response, project_id: str) -> None:
        core = regional(self.core, req)
        with core.session() as session:
            auto_allocation.delete(core, session, caller(req), project_id)
        resp.status = falcon.HTTP_204


def bind(registry: Registry, core: NetworkCore) -> None:
    registry.bind("network", "auto_allocated_topology", AutoAllocatedTopology(core))
