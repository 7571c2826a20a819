"""``/allocations``, ``/allocations/{consumer_uuid}``, ``/usages`` and ``/allocation_candidates``."""

from __future__ import annotations

import uuid as uuidlib
from typing import Any

import falcon

from overcast.api import faults
from overcast.api.placement import schemas
from overcast.api.placement.common import (Base, allowed_params, at_least, cache_headers, enforce, filters_from,
                                           newest, one, parse_resources, since)
from overcast.api.validation import read_json
from overcast.core.errors import NotFound
from overcast.core.placement import allocations as rules
from overcast.core.placement import catalog
from overcast.core.placement import providers as provider_rules


def _requests(req: falcon.Request, consumer: str, body: dict[str, Any]) -> rules.Request:
    """A client's body for one consumer, in either form, as the core's request."""
    raw = body["allocations"]
    if isinstance(raw, list):
        allocations: dict[str, dict[str, int]] = {}
        for item in raw:
            allocations.setdefault(str(uuidlib.UUID(item["resource_provider"]["uuid"])), {}).update(item["resources"])
    else:
        allocations = {str(uuidlib.UUID(rp)): dict(v["resources"]) for rp, v in raw.items()}
    ctx = req.context.auth
    return rules.Request(consumer=consumer, allocations=allocations,
                         project_id=body.get("project_id") or ctx.project_id or "",
                         user_id=body.get("user_id") or ctx.user_id,
                         generation=body.get("consumer_generation"), check_generation=at_least(req, "1.28"),
                         consumer_type=body.get("consumer_type") if at_least(req, "1.38") else None)


def _consumer(text: str) -> str:
    try:
        return str(uuidlib.UUID(text))
    except ValueError:
        raise faults.BadRequest(f"Malformed consumer_uuid: {text}") from None


class ConsumerAllocations(Base):
    def on_get(self, req: falcon.Request, resp: falcon.Response, consumer_uuid: str) -> None:
        enforce(req, "allocations:list")
        with self.store.session() as session:
            provider_rules.sync_compute(session, req.context.region)
            held = rules.held(session, req.context.region, consumer=consumer_uuid)
            allocations: dict[str, Any] = {}
            for item in held:
                entry = allocations.setdefault(item.provider.uuid, {"resources": {}})
                entry["resources"].update(item.resources)
                entry["generation"] = item.provider.generation
            body: dict[str, Any] = {"allocations": allocations}
            if held and at_least(req, "1.12"):
                body["project_id"], body["user_id"] = held[0].project_id, held[0].user_id
                if at_least(req, "1.28"):
                    body["consumer_generation"] = held[0].generation
                if at_least(req, "1.38"):
                    body["consumer_type"] = held[0].consumer_type
            resp.media = body
            cache_headers(req, resp, newest(h.created_at for h in held))

    def on_put(self, req: falcon.Request, resp: falcon.Response, consumer_uuid: str) -> None:
        enforce(req, "allocations:update")
        consumer = _consumer(consumer_uuid)
        body = read_json(req, schemas.consumer_allocations(req))
        with self.store.session() as session:
            provider_rules.sync_compute(session, req.context.region)
            rules.replace(session, req.context.region, [_requests(req, consumer, body)])
        resp.status = falcon.HTTP_204

    def on_delete(self, req: falcon.Request, resp: falcon.Response, consumer_uuid: str) -> None:
        enforce(req, "allocations:delete")
        with self.store.session() as session:
            rules.delete(session, req.context.region, consumer_uuid)
        resp.status = falcon.HTTP_204


class Allocations(Base):
    """``POST /allocations`` (1.13): several consumers' allocations replaced at once."""

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        since(req, "1.13")
        enforce(req, "allocations:manage")
        body = read_json(req, schemas.post_allocations(req))
        requests = [_requests(req, _consumer(consumer), data) for consumer, data in body.items()]
        with self.store.session() as session:
            provider_rules.sync_compute(session, req.context.region)
            rules.replace(session, req.context.region, requests)
        resp.status = falcon.HTTP_204


class Usages(Base):
    """``GET /usages?project_id=`` (1.9): a project's (or one of its users') usage in the region."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        since(req, "1.9")
        names = {"project_id", "user_id"} | ({"consumer_type"} if at_least(req, "1.38") else set())
        allowed_params(req, names)
        project_id = one(req, "project_id")
        if not project_id:
            raise faults.BadRequest("Invalid query string parameters: 'project_id' is a required property")
        enforce(req, "usages", {"project_id": project_id})
        with self.store.session() as session:
            provider_rules.sync_compute(session, req.context.region)
            grouped = rules.project_usages(session, req.context.region, project_id, one(req, "user_id"))
        if at_least(req, "1.38"):
            resp.media = {"usages": _by_type(grouped, one(req, "consumer_type"))}
        else:
            flat: dict[str, int] = {}
            for values in grouped.values():
                for key, amount in values.items():
                    if key != "consumer_count":
                        flat[key] = flat.get(key, 0) + amount
            resp.media = {"usages": flat}
        cache_headers(req, resp, None)


def _by_type(grouped: dict[str, dict[str, int]], wanted: str | None) -> dict[str, dict[str, int]]:
    """1.38: usages per consumer type; ``all`` adds them up, ``unknown`` is the consumers without one."""
    if wanted == "all":
        total: dict[str, int] = {"consumer_count": 0}
        for values in grouped.values():
            for key, amount in values.items():
                total[key] = total.get(key, 0) + amount
        return {"all": total}
    if wanted:
        return {k: v for k, v in grouped.items() if k == wanted}
    return grouped


class AllocationCandidates(Base):
    """``GET /allocation_candidates`` (1.10): single providers that can satisfy ``resources`` whole
    (Overcast's providers share nothing and nest nothing, so no combination is ever needed)."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        since(req, "1.10")
        enforce(req, "allocation_candidates:list")
        names = {"resources"}
        for first, name in (("1.16", "limit"), ("1.17", "required"), ("1.21", "member_of"), ("1.31", "in_tree"),
                            ("1.33", "group_policy")):
            if at_least(req, first):
                names.add(name)
        allowed_params(req, names)
        text = one(req, "resources")
        if not text:
            raise faults.BadRequest("Invalid query string parameters: 'resources' is a required property")
        resources = parse_resources(text)
        limit_text = one(req, "limit")
        limit = None
        if limit_text is not None:
            if not limit_text.isdigit() or int(limit_text) < 1:
                raise faults.BadRequest(f"Invalid query string parameters: Failed validating 'pattern': {limit_text}")
            limit = int(limit_text)
        filters = filters_from(req, member_of_since="1.21", required_since="1.17")
        region = req.context.region
        with self.store.session() as session:
            provider_rules.sync_compute(session, region)
            if filters.required or filters.forbidden:
                try:
                    catalog.check_traits(session, set(filters.required | filters.forbidden))
                except NotFound as exc:
                    raise faults.BadRequest(f"Invalid trait(s) in \"required\" parameter: {exc.message}") from None
            found, summarised, used = rules.candidates(session, region, resources, filters, limit)
            if at_least(req, "1.12"):
                requests = [{"allocations": {c.provider.uuid: {"resources": c.resources}}} for c in found]
                if at_least(req, "1.34"):
                    for request, candidate in zip(requests, found):
                        request["mappings"] = {"": [candidate.provider.uuid]}
            else:
                requests = [{"allocations": [{"resource_provider": {"uuid": c.provider.uuid},
                                              "resources": c.resources}]} for c in found]
            summaries: dict[str, Any] = {}
            for provider in summarised:
                inventories = {i.resource_class: i for i in provider.inventories}
                shown = inventories if at_least(req, "1.27") else {rc: inventories[rc] for rc in resources}
                summary: dict[str, Any] = {"resources": {
                    rc: {"capacity": provider_rules.capacity(inv), "used": used.get(provider.id, {}).get(rc, 0)}
                    for rc, inv in shown.items()}}
                if at_least(req, "1.17"):
                    summary["traits"] = [t.trait for t in provider.traits]
                if at_least(req, "1.29"):
                    summary["parent_provider_uuid"] = provider.parent_uuid
                    summary["root_provider_uuid"] = provider.root_uuid
                summaries[provider.uuid] = summary
            resp.media = {"allocation_requests": requests, "provider_summaries": summaries}
            cache_headers(req, resp, None)
