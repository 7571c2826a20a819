"""Allocations and usages in one region.

A server on a host holds its flavor's VCPU, MEMORY_MB and DISK_GB on that host's provider, computed
from the server record whenever it is read (Nova's scheduler writes the same into Placement at
boot and removes it at delete; computing it means it can never drift from the servers). Those
consumers belong to Nova: a client cannot change them here. Any other consumer's allocations are
stored as a client writes them, checked against the inventories as Placement checks them.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.core.errors import Conflict, Invalid, NotFound
from overcast.core.placement import catalog
from overcast.core.placement import providers as rules
from overcast.store.compute import Server
from overcast.store.models import utcnow
from overcast.store.placement import Allocation, Consumer, ResourceProvider

#: Placement's consumer type for a consumer that names none (1.38), and Nova's for its servers
UNKNOWN_TYPE = "unknown"
INSTANCE_TYPE = "INSTANCE"


@dataclass
class Held:
    """One consumer's resources on one provider."""

    consumer: str
    provider: ResourceProvider
    resources: dict[str, int]
    project_id: str
    user_id: str
    generation: int
    consumer_type: str
    created_at: dt.datetime
    #: an Overcast server's (computed, read-only)
    server: bool = False


@dataclass
class ConsumerAllocations:
    consumer: str
    held: list[Held] = field(default_factory=list)

    @property
    def first(self) -> Held | None:
        return self.held[0] if self.held else None


def server_resources(server: Server) -> dict[str, int]:
    """What Nova's scheduler claims for a server: its flavor's vCPUs and RAM, and its local disk
    (root unless booted from a volume, plus ephemeral and swap rounded up to GB); zero amounts left out."""
    flavor = server.flavor or {}
    root = 0 if not server.image_id else int(flavor.get("disk") or 0)
    disk = root + int(flavor.get("ephemeral") or 0) + math.ceil(int(flavor.get("swap") or 0) / 1024)
    wanted = {"VCPU": int(flavor.get("vcpus") or 0), "MEMORY_MB": int(flavor.get("ram") or 0), "DISK_GB": disk}
    return {rc: amount for rc, amount in wanted.items() if amount}


def _compute_providers(session: Session, region: str) -> dict[str, ResourceProvider]:
    return {p.host: p for p in session.scalars(select(ResourceProvider).where(
        ResourceProvider.cloud == region, ResourceProvider.host.is_not(None))) if p.host}


def _servers(session: Session, region: str, hosts: Iterable[str] | None = None, consumer: str | None = None,
             project_id: str | None = None, user_id: str | None = None) -> list[Server]:
    query = select(Server).where(Server.cloud == region, Server.deleted.is_(False), Server.host.is_not(None))
    if hosts is not None:
        query = query.where(Server.host.in_(list(hosts)))
    if consumer is not None:
        query = query.where(Server.id == consumer)
    if project_id is not None:
        query = query.where(Server.project_id == project_id)
    if user_id is not None:
        query = query.where(Server.user_id == user_id)
    return list(session.scalars(query.order_by(Server.seq)))


def held(session: Session, region: str, *, provider: ResourceProvider | None = None, consumer: str | None = None,
         project_id: str | None = None, user_id: str | None = None) -> list[Held]:
    """Every allocation in the region matching the filters: servers' first, then stored ones."""
    computes = _compute_providers(session, region)
    if provider is not None:
        computes = {h: p for h, p in computes.items() if p.id == provider.id}
    found: list[Held] = []
    if computes:
        for server in _servers(session, region, hosts=computes, consumer=consumer, project_id=project_id,
                               user_id=user_id):
            resources = server_resources(server)
            if resources:
                found.append(Held(server.id, computes[server.host], resources, server.project_id, server.user_id,
                                  1, INSTANCE_TYPE, server.launched_at or server.created_at, server=True))
    query = (select(Allocation, Consumer).join(Consumer, Consumer.uuid == Allocation.consumer_uuid)
             .where(Consumer.cloud == region))
    if provider is not None:
        query = query.where(Allocation.provider_id == provider.id)
    if consumer is not None:
        query = query.where(Consumer.uuid == consumer)
    if project_id is not None:
        query = query.where(Consumer.project_id == project_id)
    if user_id is not None:
        query = query.where(Consumer.user_id == user_id)
    grouped: dict[tuple[str, int], Held] = {}
    for allocation, owner in session.execute(query.order_by(Consumer.created_at, Allocation.resource_class)):
        key = (owner.uuid, allocation.provider_id)
        entry = grouped.get(key)
        if entry is None:
            entry = grouped[key] = Held(owner.uuid, allocation.provider, {}, owner.project_id, owner.user_id,
                                        owner.generation, owner.consumer_type or UNKNOWN_TYPE, allocation.created_at)
        entry.resources[allocation.resource_class] = allocation.used
    return found + list(grouped.values())


def used_by_provider(session: Session, region: str) -> dict[int, dict[str, int]]:
    """provider id -> resource class -> amount allocated."""
    totals: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for item in held(session, region):
        for resource_class, amount in item.resources.items():
            totals[item.provider.id][resource_class] += amount
    return totals


def provider_usages(session: Session, region: str, provider: ResourceProvider) -> dict[str, int]:
    """Every inventory's class with what is allocated of it (0 when nothing), as Placement shows usages."""
    usage = {i.resource_class: 0 for i in provider.inventories}
    for item in held(session, region, provider=provider):
        for resource_class, amount in item.resources.items():
            usage[resource_class] = usage.get(resource_class, 0) + amount
    return usage


def project_usages(session: Session, region: str, project_id: str, user_id: str | None = None
                   ) -> dict[str, dict[str, int]]:
    """consumer type -> resource class -> amount, for ``GET /usages`` (1.38 groups by type)."""
    grouped: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    counts: dict[str, set[str]] = defaultdict(set)
    for item in held(session, region, project_id=project_id, user_id=user_id):
        counts[item.consumer_type].add(item.consumer)
        for resource_class, amount in item.resources.items():
            grouped[item.consumer_type][resource_class] += amount
    return {kind: {**dict(values), "consumer_count": len(counts[kind])} for kind, values in grouped.items()}


def for_consumer(session: Session, region: str, consumer: str) -> ConsumerAllocations:
    return ConsumerAllocations(consumer, held(session, region, consumer=consumer))


# -- writes ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Request:
    """One consumer's allocations as a client writes them."""

    consumer: str
    #: provider uuid -> resource class -> amount; empty: remove them all
    allocations: Mapping[str, Mapping[str, int]]
    project_id: str
    user_id: str
    #: 1.28+: the generation the client saw (None: it believes the consumer is new); absent before
    generation: int | None = None
    check_generation: bool = False
    consumer_type: str | None = None


def _refuse_servers(session: Session, consumers: Iterable[str]) -> None:
    """:raises Conflict: a consumer is one of Overcast's servers."""
    for consumer in consumers:
        if session.scalar(select(Server.id).where(Server.id == consumer, Server.deleted.is_(False))) is not None:
            raise Conflict(f"Unable to allocate inventory: the allocations of server {consumer} follow the server "
                           "and change only with it.", kind=rules.CONCURRENT)


def replace(session: Session, region: str, requests: list[Request]) -> None:
    """Replace each consumer's stored allocations at once (one transaction): the providers must exist
    and hold inventory of each class, with room for the amounts (the consumer's old allocations
    freed first). Every provider touched gets a new generation, and so does each consumer.

    :raises Invalid: an unknown provider or resource class, or an amount outside min/max unit or step.
    :raises Conflict: no such inventory, no room, a stale consumer generation, or a server's consumer.
    """
    _refuse_servers(session, [r.consumer for r in requests])
    wanted_providers: dict[str, ResourceProvider] = {}
    for request in requests:
        for provider_uuid in request.allocations:
            if provider_uuid not in wanted_providers:
                provider = rules.find(session, region, provider_uuid)
                if provider is None:
                    raise Invalid(f"Allocation for resource provider '{provider_uuid}' that does not exist.")
                wanted_providers[provider_uuid] = provider
        for resources in request.allocations.values():
            try:
                catalog.check_classes(session, set(resources))
            except NotFound as exc:
                raise Invalid(f"Unable to allocate inventory: {exc.message}") from None
    consumers: dict[str, Consumer | None] = {r.consumer: session.get(Consumer, r.consumer) for r in requests}
    for request in requests:
        existing = consumers[request.consumer]
        if request.check_generation:
            have = existing.generation if existing is not None else None
            if have != request.generation:
                raise Conflict(f"consumer generation conflict - expected {_shown(request.generation)} but got "
                               f"{_shown(have)}", kind=rules.CONCURRENT)
    replaced = set(consumers)
    used = used_by_provider(session, region)
    for item in held(session, region):
        if item.consumer in replaced and not item.server:
            for resource_class, amount in item.resources.items():
                used[item.provider.id][resource_class] -= amount
    touched: dict[int, ResourceProvider] = {}
    for request in requests:
        for provider_uuid, resources in request.allocations.items():
            provider = wanted_providers[provider_uuid]
            inventories = {i.resource_class: i for i in provider.inventories}
            for resource_class, amount in resources.items():
                inv = inventories.get(resource_class)
                if inv is None:
                    raise Conflict(f"Unable to allocate inventory: Inventory for '{resource_class}' on resource "
                                   f"provider '{provider_uuid}' invalid.")
                if not (inv.min_unit <= amount <= inv.max_unit and amount % inv.step_size == 0):
                    raise Invalid(f"Unable to allocate inventory: Unable to allocate {amount} {resource_class} on "
                                  f"resource provider '{provider_uuid}': outside min_unit {inv.min_unit}, max_unit "
                                  f"{inv.max_unit} or step_size {inv.step_size}.")
                if used[provider.id][resource_class] + amount > rules.capacity(inv):
                    raise Conflict(f"Unable to allocate inventory: Unable to create allocation for '{resource_class}'"
                                   f" on resource provider '{provider_uuid}'. The requested amount would exceed the "
                                   "capacity.")
                used[provider.id][resource_class] += amount
            touched[provider.id] = provider
    now = utcnow()
    for request in requests:
        consumer = consumers[request.consumer]
        if consumer is not None:
            for allocation in consumer.allocations:
                touched.setdefault(allocation.provider_id, allocation.provider)
            consumer.allocations.clear()
            session.flush()
        if not any(request.allocations.values()):
            if consumer is not None:
                session.delete(consumer)
            continue
        if consumer is None:
            consumer = Consumer(uuid=request.consumer, cloud=region, project_id=request.project_id,
                                user_id=request.user_id, consumer_type=request.consumer_type, generation=0,
                                created_at=now, updated_at=now)
            session.add(consumer)
        consumer.project_id, consumer.user_id = request.project_id, request.user_id
        if request.consumer_type is not None:
            consumer.consumer_type = request.consumer_type
        consumer.generation += 1
        consumer.updated_at = now
        for provider_uuid, resources in request.allocations.items():
            provider = wanted_providers[provider_uuid]
            for resource_class, amount in resources.items():
                consumer.allocations.append(Allocation(provider_id=provider.id, provider=provider,
                                                       resource_class=resource_class, used=amount, created_at=now))
    for provider in touched.values():
        rules.bump(provider)
    session.flush()


def _shown(generation: int | None) -> str:
    return "null" if generation is None else str(generation)


def delete(session: Session, region: str, consumer: str) -> None:
    """:raises NotFound: no stored allocations. :raises Conflict: a server's."""
    _refuse_servers(session, [consumer])
    row = session.get(Consumer, consumer)
    if row is None or row.cloud != region or not row.allocations:
        raise NotFound(f"No allocations for consumer '{consumer}'")
    for allocation in row.allocations:
        rules.bump(allocation.provider)
    session.delete(row)
    session.flush()


# -- allocation candidates -------------------------------------------------------------------------

@dataclass
class Candidate:
    provider: ResourceProvider
    resources: dict[str, int]


def candidates(session: Session, region: str, resources: Mapping[str, int], filters: rules.Filters,
               limit: int | None) -> tuple[list[Candidate], list[ResourceProvider], dict[int, dict[str, int]]]:
    """Providers that alone can satisfy ``resources`` (no sharing or nested combinations), and the
    providers to summarise; with the usage by provider.

    :raises Invalid: an unknown resource class.
    """
    try:
        catalog.check_classes(session, set(resources))
    except NotFound as exc:
        raise Invalid(f"Invalid resource class in resources parameter: {exc.message}") from None
    used = used_by_provider(session, region)
    tree = rules.tree_root(session, region, filters.in_tree) if filters.in_tree else None
    wanted = rules.Filters(member_of=filters.member_of, forbidden_aggregates=filters.forbidden_aggregates,
                           resources=resources, in_tree=filters.in_tree, required=filters.required,
                           forbidden=filters.forbidden, any_traits=filters.any_traits)
    found = [Candidate(p, dict(resources)) for p in rules.providers(session, region)
             if rules.matches(session, region, p, wanted, tree, used.get(p.id, {}))]
    if limit is not None:
        found = found[:limit]
    return found, [c.provider for c in found], used
