"""``/resource_providers`` and what hangs off one: inventories, usages, aggregates, traits, allocations."""

from __future__ import annotations

from typing import Any

import falcon

from overcast.api import faults
from overcast.api.placement import schemas
from overcast.api.placement.common import (Base, allowed_params, at_least, cache_headers, check_uuid, enforce,
                                           filters_from, newest, one, params_for, parse_resources, since)
from overcast.api.validation import read_json
from overcast.core.errors import NotFound
from overcast.core.placement import allocations as usage_rules
from overcast.core.placement import catalog
from overcast.core.placement import providers as rules
from overcast.store.placement import Inventory, ResourceProvider

INVENTORY_FIELDS = ("total", "reserved", "min_unit", "max_unit", "step_size", "allocation_ratio")


def provider_view(req: falcon.Request, prefix: str, provider: ResourceProvider) -> dict[str, Any]:
    url = f"{prefix}/resource_providers/{provider.uuid}"
    rels = ["inventories", "usages"]
    if at_least(req, "1.1"):
        rels.append("aggregates")
    if at_least(req, "1.6"):
        rels.append("traits")
    if at_least(req, "1.11"):
        rels.append("allocations")
    view: dict[str, Any] = {"uuid": provider.uuid, "name": provider.name, "generation": provider.generation,
                            "links": [{"rel": "self", "href": url}] + [{"rel": r, "href": f"{url}/{r}"} for r in rels]}
    if at_least(req, "1.14"):
        view["parent_provider_uuid"] = provider.parent_uuid
        view["root_provider_uuid"] = provider.root_uuid
    return view


def inventory_view(inv: Inventory, generation: int | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {f: getattr(inv, f) for f in INVENTORY_FIELDS}
    view["allocation_ratio"] = float(inv.allocation_ratio)
    if generation is not None:
        view["resource_provider_generation"] = generation
    return view


class _Provider(Base):
    def provider(self, session: Any, req: falcon.Request, provider_uuid: str,
                 message: str | None = None) -> ResourceProvider:
        """The region's provider (compute hosts synced first). :raises NotFound:"""
        rules.sync_compute(session, req.context.region)
        return rules.get(session, req.context.region, provider_uuid, message)


class Providers(_Provider):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        enforce(req, "resource_providers:list")
        allowed_params(req, params_for(req))
        filters = filters_from(req)
        name, wanted_uuid = one(req, "name"), one(req, "uuid")
        if wanted_uuid is not None:
            wanted_uuid = check_uuid(wanted_uuid, "uuid")
        resources = parse_resources(one(req, "resources")) if one(req, "resources") and at_least(req, "1.4") else None
        region = req.context.region
        with self.store.session() as session:
            rules.sync_compute(session, region)
            if resources:
                try:
                    catalog.check_classes(session, set(resources))
                except NotFound as exc:
                    raise faults.BadRequest(f"Invalid resource class in resources parameter: {exc.message}") from None
            if filters.required or filters.forbidden:
                try:
                    catalog.check_traits(session, set(filters.required | filters.forbidden))
                except NotFound as exc:
                    raise faults.BadRequest(f"Invalid trait(s) in \"required\" parameter: {exc.message}") from None
            used = usage_rules.used_by_provider(session, region) if resources else {}
            tree = rules.tree_root(session, region, filters.in_tree) if filters.in_tree else None
            wanted = rules.Filters(name=name, uuid=wanted_uuid, member_of=filters.member_of,
                                   forbidden_aggregates=filters.forbidden_aggregates, resources=resources,
                                   in_tree=filters.in_tree, required=filters.required, forbidden=filters.forbidden,
                                   any_traits=filters.any_traits)
            found = [p for p in rules.providers(session, region)
                     if rules.matches(session, region, p, wanted, tree, used.get(p.id, {}))]
            resp.media = {"resource_providers": [provider_view(req, self.prefix(req), p) for p in found]}
            cache_headers(req, resp, newest(p.updated_at for p in found))

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        enforce(req, "resource_providers:create")
        body = read_json(req, schemas.provider(req, create=True))
        with self.store.session() as session:
            provider = rules.create(session, req.context.region, body["name"], body.get("uuid"),
                                    body.get("parent_provider_uuid") if at_least(req, "1.14") else None)
            url = f"{self.prefix(req)}/resource_providers/{provider.uuid}"
            resp.set_header("Location", self.location(req, url))
            if at_least(req, "1.20"):
                resp.media = provider_view(req, self.prefix(req), provider)
                cache_headers(req, resp, provider.updated_at)
            else:
                resp.status = falcon.HTTP_201


class Provider(_Provider):
    def on_get(self, req: falcon.Request, resp: falcon.Response, uuid: str) -> None:
        enforce(req, "resource_providers:show")
        with self.store.session() as session:
            provider = self.provider(session, req, uuid)
            resp.media = provider_view(req, self.prefix(req), provider)
            cache_headers(req, resp, provider.updated_at)

    def on_put(self, req: falcon.Request, resp: falcon.Response, uuid: str) -> None:
        enforce(req, "resource_providers:update")
        body = read_json(req, schemas.provider(req, create=False))
        with self.store.session() as session:
            provider = self.provider(session, req, uuid)
            rules.update(session, req.context.region, provider, body, reparent=at_least(req, "1.37"))
            resp.media = provider_view(req, self.prefix(req), provider)
            cache_headers(req, resp, provider.updated_at)

    def on_delete(self, req: falcon.Request, resp: falcon.Response, uuid: str) -> None:
        enforce(req, "resource_providers:delete")
        with self.store.session() as session:
            provider = self.provider(session, req, uuid, f"No resource provider with uuid {uuid} found for delete")
            in_use = bool(usage_rules.held(session, req.context.region, provider=provider))
            rules.delete_provider(session, req.context.region, provider, in_use)
        resp.status = falcon.HTTP_204


class Inventories(_Provider):
    def _send(self, req: falcon.Request, resp: falcon.Response, provider: ResourceProvider) -> None:
        resp.media = {"resource_provider_generation": provider.generation,
                      "inventories": {i.resource_class: inventory_view(i) for i in provider.inventories}}
        cache_headers(req, resp, newest(i.updated_at for i in provider.inventories))

    def on_get(self, req: falcon.Request, resp: falcon.Response, uuid: str) -> None:
        enforce(req, "resource_providers:inventories:list")
        with self.store.session() as session:
            self._send(req, resp, self.provider(session, req, uuid))

    def on_post(self, req: falcon.Request, resp: falcon.Response, uuid: str) -> None:
        enforce(req, "resource_providers:inventories:create")
        body = read_json(req, schemas.POST_INVENTORY)
        with self.store.session() as session:
            provider = self.provider(session, req, uuid)
            resource_class = body["resource_class"]
            inv = rules.put_inventory(session, provider, provider.generation, resource_class, body,
                                      reserved_may_equal_total=at_least(req, "1.26"), create_only=True)
            resp.status = falcon.HTTP_201
            path = f"{self.prefix(req)}/resource_providers/{uuid}/inventories/{resource_class}"
            resp.set_header("Location", self.location(req, path))
            resp.media = inventory_view(inv, provider.generation)
            cache_headers(req, resp, inv.updated_at)

    def on_put(self, req: falcon.Request, resp: falcon.Response, uuid: str) -> None:
        enforce(req, "resource_providers:inventories:update")
        body = read_json(req, schemas.PUT_INVENTORIES)
        region = req.context.region
        with self.store.session() as session:
            provider = self.provider(session, req, uuid)
            used = usage_rules.provider_usages(session, region, provider)
            rules.set_inventories(session, provider, body["resource_provider_generation"], body["inventories"], used,
                                  reserved_may_equal_total=at_least(req, "1.26"))
            self._send(req, resp, provider)

    def on_delete(self, req: falcon.Request, resp: falcon.Response, uuid: str) -> None:
        since(req, "1.5", status=405)
        enforce(req, "resource_providers:inventories:delete")
        region = req.context.region
        with self.store.session() as session:
            provider = self.provider(session, req, uuid)
            used = usage_rules.provider_usages(session, region, provider)
            rules.set_inventories(session, provider, provider.generation, {}, used, reserved_may_equal_total=True)
        resp.status = falcon.HTTP_204


class InventoryItem(_Provider):
    def _find(self, provider: ResourceProvider, resource_class: str) -> Inventory:
        inv = next((i for i in provider.inventories if i.resource_class == resource_class), None)
        if inv is None:
            raise faults.NotFound(f"No inventory of class {resource_class} for {provider.uuid}")
        return inv

    def on_get(self, req: falcon.Request, resp: falcon.Response, uuid: str, resource_class: str) -> None:
        enforce(req, "resource_providers:inventories:show")
        with self.store.session() as session:
            provider = self.provider(session, req, uuid)
            inv = self._find(provider, resource_class)
            resp.media = inventory_view(inv, provider.generation)
            cache_headers(req, resp, inv.updated_at)

    def on_put(self, req: falcon.Request, resp: falcon.Response, uuid: str, resource_class: str) -> None:
        enforce(req, "resource_providers:inventories:update")
        body = read_json(req, schemas.PUT_INVENTORY)
        with self.store.session() as session:
            provider = self.provider(session, req, uuid)
            inv = rules.put_inventory(session, provider, body["resource_provider_generation"], resource_class, body,
                                      reserved_may_equal_total=at_least(req, "1.26"))
            resp.media = inventory_view(inv, provider.generation)
            cache_headers(req, resp, inv.updated_at)

    def on_delete(self, req: falcon.Request, resp: falcon.Response, uuid: str, resource_class: str) -> None:
        enforce(req, "resource_providers:inventories:delete")
        with self.store.session() as session:
            provider = self.provider(session, req, uuid)
            used = usage_rules.provider_usages(session, req.context.region, provider).get(resource_class, 0)
            rules.delete_inventory(session, provider, resource_class, used)
        resp.status = falcon.HTTP_204


class Usages(_Provider):
    def on_get(self, req: falcon.Request, resp: falcon.Response, uuid: str) -> None:
        enforce(req, "resource_providers:usages")
        with self.store.session() as session:
            provider = self.provider(session, req, uuid)
            usages = usage_rules.provider_usages(session, req.context.region, provider)
            resp.media = {"resource_provider_generation": provider.generation, "usages": usages}
            cache_headers(req, resp, None)


class Aggregates(_Provider):
    def _send(self, req: falcon.Request, resp: falcon.Response, provider: ResourceProvider) -> None:
        body: dict[str, Any] = {"aggregates": [a.aggregate for a in provider.aggregates]}
        if at_least(req, "1.19"):
            body["resource_provider_generation"] = provider.generation
        resp.media = body
        cache_headers(req, resp, provider.updated_at)

    def on_get(self, req: falcon.Request, resp: falcon.Response, uuid: str) -> None:
        since(req, "1.1")
        enforce(req, "resource_providers:aggregates:list")
        with self.store.session() as session:
            self._send(req, resp, self.provider(session, req, uuid))

    def on_put(self, req: falcon.Request, resp: falcon.Response, uuid: str) -> None:
        since(req, "1.1")
        enforce(req, "resource_providers:aggregates:update")
        with_generation = at_least(req, "1.19")
        body = read_json(req, schemas.PUT_AGGREGATES_1_19 if with_generation else schemas.PUT_AGGREGATES)
        with self.store.session() as session:
            provider = self.provider(session, req, uuid)
            if with_generation:
                rules.set_aggregates(session, provider, body["aggregates"], body["resource_provider_generation"])
            else:
                rules.set_aggregates(session, provider, body, None)
            self._send(req, resp, provider)


class Traits(_Provider):
    def _send(self, req: falcon.Request, resp: falcon.Response, provider: ResourceProvider) -> None:
        resp.media = {"resource_provider_generation": provider.generation,
                      "traits": [t.trait for t in provider.traits]}
        cache_headers(req, resp, provider.updated_at)

    def on_get(self, req: falcon.Request, resp: falcon.Response, uuid: str) -> None:
        since(req, "1.6")
        enforce(req, "resource_providers:traits:list")
        with self.store.session() as session:
            self._send(req, resp, self.provider(session, req, uuid))

    def on_put(self, req: falcon.Request, resp: falcon.Response, uuid: str) -> None:
        since(req, "1.6")
        enforce(req, "resource_providers:traits:update")
        body = read_json(req, schemas.PUT_PROVIDER_TRAITS)
        with self.store.session() as session:
            provider = self.provider(session, req, uuid)
            try:
                rules.set_traits(session, provider, body["resource_provider_generation"], body["traits"])
            except NotFound as exc:
                raise faults.BadRequest(exc.message) from None
            self._send(req, resp, provider)

    def on_delete(self, req: falcon.Request, resp: falcon.Response, uuid: str) -> None:
        since(req, "1.6")
        enforce(req, "resource_providers:traits:delete")
        with self.store.session() as session:
            rules.clear_traits(session, self.provider(session, req, uuid))
        resp.status = falcon.HTTP_204


class ProviderAllocations(_Provider):
    def on_get(self, req: falcon.Request, resp: falcon.Response, uuid: str) -> None:
        enforce(req, "resource_providers:allocations:list")
        with self.store.session() as session:
            provider = self.provider(session, req, uuid, f"Resource provider '{uuid}' not found: No resource "
                                                         f"provider with uuid {uuid} found")
            allocations: dict[str, Any] = {}
            held = usage_rules.held(session, req.context.region, provider=provider)
            for item in held:
                entry = allocations.setdefault(item.consumer, {"resources": {}})
                entry["resources"].update(item.resources)
                if at_least(req, "1.28"):
                    entry["consumer_generation"] = item.generation
            resp.media = {"resource_provider_generation": provider.generation, "allocations": allocations}
            cache_headers(req, resp, newest(h.created_at for h in held))
