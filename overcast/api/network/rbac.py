"""RBAC policies over the wire (api-ref "RBAC Policies", ``/v2.0/rbac-policies``) through the
generic collection and item responders: the wire form of :mod:`overcast.core.network.rbac`
(``target_tenant`` on the wire is the record's ``target_project``)."""

from __future__ import annotations

from typing import Any

import falcon
from sqlalchemy.orm import Session

from overcast.api.network.common import UUID, Collection, Item, Kind
from overcast.api.routing import Registry
from overcast.core.network import NetworkCore, rbac
from overcast.store.network import RbacPolicy

_TARGET = {"type": "string", "minLength": 1, "maxLength": 255}
RBAC_UPDATE: dict[str, Any] = {"target_tenant": _TARGET}
RBAC_CREATE = {**RBAC_UPDATE, "tenant_id": UUID, "project_id": UUID, "object_id": UUID,
               "object_type": {"type": "string", "maxLength": 255}, "action": {"type": "string", "maxLength": 255}}


def rbac_policy(req: falcon.Request, session: Session, entry: RbacPolicy) -> dict[str, Any]:
    return {"id": entry.id, "object_type": entry.object_type, "object_id": entry.object_id, "action": entry.action,
            "target_tenant": entry.target_project, "project_id": entry.project_id, "tenant_id": entry.project_id}


RBAC_POLICIES = Kind(
    "rbac_policies", "rbac_policy", rbac_policy, rbac, RBAC_CREATE, RBAC_UPDATE, url="rbac-policies",
    required=("object_type", "object_id", "action", "target_tenant"),
    columns={"id": RbacPolicy.id, "project_id": RbacPolicy.project_id, "tenant_id": RbacPolicy.project_id,
             "object_type": RbacPolicy.object_type, "object_id": RbacPolicy.object_id, "action": RbacPolicy.action,
             "target_tenant": RbacPolicy.target_project})


def declare(registry: Registry) -> None:
    registry.declare("network", "rbac_policies", "/v2.0/rbac-policies", ("GET", "POST"))
    registry.declare("network", "rbac_policy", "/v2.0/rbac-policies/{item_id}", ("GET", "PUT", "DELETE"))


def bind(registry: Registry, core: NetworkCore) -> None:
    registry.bind("network", "rbac_policies", Collection(core, RBAC_POLICIES))
    registry.bind("network", "rbac_policy", Item(core, RBAC_POLICIES))
