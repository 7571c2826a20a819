"""The Placement API at ``/placement`` (and ``/regions/<name>/placement``): resource providers,
inventories, usages, allocations, traits, aggregates and resource classes, microversions 1.0-1.39.
``/reshaper`` is declared and not implemented (no driver reshapes inventories)."""

from __future__ import annotations

from overcast.api.placement import allocations, catalog, endpoints, providers
from overcast.api.placement.common import MICROVERSIONS
from overcast.api.routing import Registry
from overcast.config import Settings
from overcast.store.db import Store

__all__ = ["MICROVERSIONS", "register"]


def register(registry: Registry, store: Store, settings: Settings) -> None:
    endpoints.declare(registry)
    args = (store, settings.regions[0])
    bind = registry.bind
    bind("placement", "root", catalog.Root(*args))
    bind("placement", "resource_providers", providers.Providers(*args))
    bind("placement", "resource_provider", providers.Provider(*args))
    bind("placement", "resource_provider_inventories", providers.Inventories(*args))
    bind("placement", "resource_provider_inventory", providers.InventoryItem(*args))
    bind("placement", "resource_provider_usages", providers.Usages(*args))
    bind("placement", "resource_provider_aggregates", providers.Aggregates(*args))
    bind("placement", "resource_provider_traits", providers.Traits(*args))
    bind("placement", "resource_provider_allocations", providers.ProviderAllocations(*args))
    bind("placement", "resource_classes", catalog.ResourceClasses(*args))
    bind("placement", "resource_class", catalog.ResourceClass(*args))
    bind("placement", "traits", catalog.Traits(*args))
    bind("placement", "trait", catalog.Trait(*args))
    bind("placement", "allocations", allocations.Allocations(*args))
    bind("placement", "consumer_allocations", allocations.ConsumerAllocations(*args))
    bind("placement", "usages", allocations.Usages(*args))
    bind("placement", "allocation_candidates", allocations.AllocationCandidates(*args))
