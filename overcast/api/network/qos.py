"""QoS over the wire (api-ref "QoS"): ``/v2.0/qos/policies`` through the generic collection and
item responders, the rules under a policy (``bandwidth_limit_rules``, ``dscp_marking_rules``,
``minimum_bandwidth_rules``) and ``/v2.0/qos/rule-types``: the wire form of
:mod:`overcast.core.network.qos`."""

from __future__ import annotations

from typing import Any

import falcon
from sqlalchemy.orm import Session

from overcast.api.network.common import BOOL, NAME, UUID, Collection, Item, Kind, caller, read_body, regional, \
    select_fields, standard
from overcast.api.network.resources import _columns
from overcast.api.routing import Registry
from overcast.core.network import NetworkCore, qos
from overcast.store.network import QosPolicy, QosRule

POLICY_UPDATE: dict[str, Any] = {"name": NAME, "description": {"type": "string", "maxLength": 255},
                                 "shared": BOOL, "is_default": BOOL}
POLICY_CREATE = {**POLICY_UPDATE, "tenant_id": UUID, "project_id": UUID}
_INTEGER = {"type": "integer"}
_RULE_PROPERTIES: dict[str, dict[str, Any]] = {
    rule_type.name: {p.name: ({"type": "string"} if p.name == "direction" else _INTEGER)
                     for p in rule_type.parameters}
    for rule_type in qos.RULE_TYPES.values()}


def rule(r: QosRule) -> dict[str, Any]:
    """A rule as its own endpoints show it: its id and its type's parameters."""
    kind = qos.RULE_TYPES[r.type]
    return {"id": r.id, **{p.name: getattr(r, p.name) for p in kind.parameters}}


def policy(req: falcon.Request, session: Session, p: QosPolicy) -> dict[str, Any]:
    return {"id": p.id, "name": p.name, "shared": p.shared, "is_default": p.is_default,
            "rules": [{**rule(r), "qos_policy_id": p.id, "type": r.type} for r in p.rules], **standard(p)}


POLICIES = Kind("policies", "policy", policy, qos, POLICY_CREATE, POLICY_UPDATE, url="qos/policies",
                columns=_columns(QosPolicy, "name", "shared", "is_default"))


class Rules:
    """``/qos/policies/{id}/<type>_rules``: list and create."""

    def __init__(self, core: NetworkCore, kind: qos.RuleType):
        self.core, self.kind = core, kind

    def on_get(self, req: falcon.Request, resp: falcon.Response, item_id: str) -> None:
        core = regional(self.core, req)
        with core.session() as session:
            found = qos.rules(core, session, caller(req), item_id, self.kind)
            resp.media = {self.kind.collection: [select_fields(req, rule(r)) for r in found]}

    def on_post(self, req: falcon.Request, resp: falcon.Response, item_id: str) -> None:
        body = read_body(req, self.kind.member, _RULE_PROPERTIES[self.kind.name], read_only=("id",))
        core = regional(self.core, req)
        with core.session() as session:
            made = qos.create_rule(core, session, caller(req), item_id, self.kind, body)
            resp.media = {self.kind.member: rule(made)}
        resp.status = falcon.HTTP_201


class RuleItem:
    """``/qos/policies/{id}/<type>_rules/{rule_id}``: show, update, delete."""

    def __init__(self, core: NetworkCore, kind: qos.RuleType):
        self.core, self.kind = core, kind

    def on_get(self, req: falcon.Request, resp: falcon.Response, item_id: str, rule_id: str) -> None:
        core = regional(self.core, req)
        with core.session() as session:
            found = qos.get_rule(core, session, caller(req), item_id, self.kind, rule_id)
            resp.media = {self.kind.member: select_fields(req, rule(found))}

    def on_put(self, req: falcon.Request, resp: falcon.Response, item_id: str, rule_id: str) -> None:
        changes = read_body(req, self.kind.member, _RULE_PROPERTIES[self.kind.name], read_only=("id",))
        core = regional(self.core, req)
        with core.session() as session:
            changed = qos.update_rule(core, session, caller(req), item_id, self.kind, rule_id, changes)
            resp.media = {self.kind.member: rule(changed)}

    def on_delete(self, req: falcon.Request, resp: falcon.Response, item_id: str, rule_id: str) -> None:
        core = regional(self.core, req)
        with core.session() as session:
            qos.delete_rule(core, session, caller(req), item_id, self.kind, rule_id)
        resp.status = falcon.HTTP_204


def _parameter(p: qos.Parameter) -> dict[str, Any]:
    if p.values is not None:
        return {"parameter_name": p.name, "parameter_type": "choices", "parameter_values": list(p.values)}
    return {"parameter_name": p.name, "parameter_type": "range",
            "parameter_values": {"start": p.start, "end": p.end}}


class RuleTypes:
    def __init__(self, core: NetworkCore):
        self.core = core

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        core = regional(self.core, req)
        resp.media = {"rule_types": [{"type": t.name} for t in qos.rule_types(core, caller(req))]}


class RuleType:
    def __init__(self, core: NetworkCore):
        self.core = core

    def on_get(self, req: falcon.Request, resp: falcon.Response, rule_type: str) -> None:
        core = regional(self.core, req)
        found = qos.rule_type(core, caller(req), rule_type)
        resp.media = {"rule_type": {"type": found.name, "drivers": [{
            "name": qos.backend_name(core), "supported_parameters": [_parameter(p) for p in found.parameters]}]}}


def declare(registry: Registry) -> None:
    registry.declare("network", "qos_policies", "/v2.0/qos/policies", ("GET", "POST"))
    registry.declare("network", "qos_policy", "/v2.0/qos/policies/{item_id}", ("GET", "PUT", "DELETE"))
    for kind in qos.RULE_TYPES.values():
        registry.declare("network", f"qos_{kind.collection}", f"/v2.0/qos/policies/{{item_id}}/{kind.collection}",
                         ("GET", "POST"))
        registry.declare("network", f"qos_{kind.member}", f"/v2.0/qos/policies/{{item_id}}/{kind.collection}"
                         "/{rule_id}", ("GET", "PUT", "DELETE"))
    registry.declare("network", "qos_rule_types", "/v2.0/qos/rule-types", ("GET",))
    registry.declare("network", "qos_rule_type", "/v2.0/qos/rule-types/{rule_type}", ("GET",))


def bind(registry: Registry, core: NetworkCore) -> None:
    registry.bind("network", "qos_policies", Collection(core, POLICIES))
    registry.bind("network", "qos_policy", Item(core, POLICIES))
    for kind in qos.RULE_TYPES.values():
        registry.bind("network", f"qos_{kind.collection}", Rules(core, kind))
        registry.bind("network", f"qos_{kind.member}", RuleItem(core, kind))
    registry.bind("network", "qos_rule_types", RuleTypes(core))
    registry.bind("network", "qos_rule_type", RuleType(core))
