"""``/os-aggregates``: host aggregates (admin): CRUD and the add_host/remove_host/set_metadata actions."""

from __future__ import annotations

from typing import Any

import falcon

from overcast.api import faults
from overcast.api.compute.common import Links, at_least, enforce
from overcast.api.routing import Registry
from overcast.api.validation import read_json
from overcast.core.compute import ComputeCore
from overcast.core.compute import admin as rules
from overcast.store.compute import Aggregate

_NAME = {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^(?! )[^\x00-\x1f\x7f]+(?<! )$"}
_ZONE = {"type": ["string", "null"], "minLength": 1, "maxLength": 255, "pattern": r"^[^:]*$"}
CREATE_SCHEMA = {"type": "object", "required": ["aggregate"], "additionalProperties": False,
                 "properties": {"aggregate": {"type": "object", "required": ["name"], "additionalProperties": False,
                                              "properties": {"name": _NAME, "availability_zone": _ZONE}}}}
UPDATE_SCHEMA = {"type": "object", "required": ["aggregate"], "additionalProperties": False,
                 "properties": {"aggregate": {"type": "object", "minProperties": 1, "additionalProperties": False,
                                              "properties": {"name": _NAME, "availability_zone": _ZONE}}}}
_HOST = {"type": "object", "required": ["host"], "additionalProperties": False,
         "properties": {"host": {"type": "string", "minLength": 1, "maxLength": 255}}}
ACTION_SCHEMA = {"type": "object", "minProperties": 1, "maxProperties": 1, "additionalProperties": False,
                 "properties": {
                     "add_host": _HOST, "remove_host": _HOST,
                     "set_metadata": {"type": "object", "required": ["metadata"], "additionalProperties": False,
                                      "properties": {"metadata": {
                                          "type": "object", "minProperties": 1,
                                          "patternProperties": {r"^[a-zA-Z0-9-_:. ]{1,255}$": {
                                              "type": ["string", "null"], "maxLength": 255}},
                                          "additionalProperties": False}}}}}


def _time(value: Any) -> str | None:
    return value.isoformat(timespec="microseconds") if value is not None else None


def aggregate_view(req: falcon.Request, aggregate: Aggregate, *, full: bool = True) -> dict[str, Any]:
    view: dict[str, Any] = {"id": aggregate.id, "name": aggregate.name,
                            "availability_zone": aggregate.availability_zone,
                            "created_at": _time(aggregate.created_at), "updated_at": _time(aggregate.updated_at),
                            "deleted": False, "deleted_at": None}
    if full:
        view.update(hosts=list(aggregate.hosts or []), metadata=dict(aggregate.metadata_ or {}))
    if at_least(req, "2.41"):
        view["uuid"] = aggregate.uuid
    return view


class _Base:
    def __init__(self, core: ComputeCore, links: Links):
        self.core, self.links = core, links


class Aggregates(_Base):
    def on_get(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        enforce(req, "compute:aggregates")
        from sqlalchemy import select

        with self.core.store.session() as session:
            found = session.scalars(select(Aggregate).order_by(Aggregate.id))
            resp.media = {"aggregates": [aggregate_view(req, a) for a in found]}

    on_head = on_get

    def on_post(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        enforce(req, "compute:aggregates")
        ref = read_json(req, CREATE_SCHEMA)["aggregate"]
        with self.core.store.session() as session:
            aggregate = rules.create_aggregate(session, ref["name"], ref.get("availability_zone"))
            resp.media = {"aggregate": aggregate_view(req, aggregate, full=False)}


class AggregateItem(_Base):
    def on_get(self, req: falcon.Request, resp: falcon.Response, aggregate_id: str, **_: str) -> None:
        enforce(req, "compute:aggregates")
        with self.core.store.session() as session:
            resp.media = {"aggregate": aggregate_view(req, rules.find_aggregate(session, aggregate_id))}

    on_head = on_get

    def on_put(self, req: falcon.Request, resp: falcon.Response, aggregate_id: str, **_: str) -> None:
        enforce(req, "compute:aggregates")
        ref = read_json(req, UPDATE_SCHEMA)["aggregate"]
        with self.core.store.session() as session:
            aggregate = rules.update_aggregate(session, rules.find_aggregate(session, aggregate_id), ref)
            resp.media = {"aggregate": aggregate_view(req, aggregate)}

    def on_delete(self, req: falcon.Request, resp: falcon.Response, aggregate_id: str, **_: str) -> None:
        enforce(req, "compute:aggregates")
        with self.core.store.session() as session:
            rules.delete_aggregate(session, rules.find_aggregate(session, aggregate_id))
        resp.status = falcon.HTTP_200


class AggregateAction(_Base):
    def on_post(self, req: falcon.Request, resp: falcon.Response, aggregate_id: str, **_: str) -> None:
        enforce(req, "compute:aggregates")
        body = read_json(req, ACTION_SCHEMA)
        with self.core.store.session() as session:
            aggregate = rules.find_aggregate(session, aggregate_id)
            if "add_host" in body:
                rules.add_host(session, aggregate, body["add_host"]["host"])
            elif "remove_host" in body:
                rules.remove_host(session, aggregate, body["remove_host"]["host"])
            elif "set_metadata" in body:
                rules.set_metadata(session, aggregate, body["set_metadata"]["metadata"])
            else:  # pragma: no cover - the schema admits nothing else
                raise faults.BadRequest("Unknown aggregate action")
            resp.media = {"aggregate": aggregate_view(req, aggregate)}


def bind(registry: Registry, core: ComputeCore, links: Links) -> None:
    registry.bind("compute", "v2_os_aggregates", Aggregates(core, links))
    registry.bind("compute", "v2_os_aggregate", AggregateItem(core, links))
    registry.bind("compute", "v2_os_aggregate_action", AggregateAction(core, links))
