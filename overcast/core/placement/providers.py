"""Resource providers of one region: one per compute host (made from its nova-compute service, with
the host's inventory as the compute service would report it), and any an admin adds; their
inventories, traits and aggregates, each change bumping the provider's generation."""

from __future__ import annotations

import uuid as uuidlib
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from overcast.core.compute import admin as compute_admin
from overcast.core.errors import Conflict, Invalid, NotFound
from overcast.core.placement import catalog
from overcast.store.compute import ComputeService
from overcast.store.models import utcnow
from overcast.store.placement import Allocation, Inventory, ProviderAggregate, ProviderTrait, ResourceProvider

MAX_INT = 2147483647
#: what Placement fills in for an inventory field a client leaves out
INVENTORY_DEFAULTS: Mapping[str, Any] = {"reserved": 0, "min_unit": 1, "max_unit": MAX_INT, "step_size": 1,
                                         "allocation_ratio": 1.0}
#: a compute host's inventory as nova-compute reports it: Nova's initial allocation ratios (CPU 4.0,
#: RAM and disk 1.0) and reserved_host_memory_mb (512, also in os-hypervisors' memory_mb_used)
COMPUTE_INVENTORY: Mapping[str, Mapping[str, Any]] = {
    "VCPU": {"total": compute_admin.HOST_VCPUS, "reserved": 0, "allocation_ratio": 4.0},
    "MEMORY_MB": {"total": compute_admin.HOST_MEMORY_MB, "reserved": 512, "allocation_ratio": 1.0},
    "DISK_GB": {"total": compute_admin.HOST_LOCAL_GB, "reserved": 0, "allocation_ratio": 1.0},
}
#: traits every compute node's provider has (Nova adds COMPUTE_NODE to each)
COMPUTE_TRAITS = ("COMPUTE_NODE",)
CONCURRENT = "placement.concurrent_update"


@dataclass(frozen=True)
class Filters:
    name: str | None = None
    uuid: str | None = None
    #: each entry: providers in any of these aggregates
    member_of: tuple[frozenset[str], ...] = ()
    #: providers in none of these
    forbidden_aggregates: frozenset[str] = frozenset()
    #: resource class -> amount that must still fit
    resources: Mapping[str, int] | None = None
    in_tree: str | None = None
    required: frozenset[str] = frozenset()
    forbidden: frozenset[str] = frozenset()
    #: each entry: the provider has at least one of these traits (1.39 ``in:``)
    any_traits: tuple[frozenset[str], ...] = ()


def new_inventory(resource_class: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """A full inventory from a client's fields. :raises Invalid: fields that cannot hold together."""
    inv = {**INVENTORY_DEFAULTS, **{k: v for k, v in values.items() if k != "resource_class"}}
    if "max_unit" not in values:
        inv["max_unit"] = MAX_INT
    if inv["min_unit"] > inv["max_unit"]:
        raise Invalid(f"Unable to update inventory: min_unit {inv['min_unit']} exceeds max_unit {inv['max_unit']} "
                      f"for {resource_class}")
    return inv


# -- compute hosts -------------------------------------------------------------------------------

def sync_compute(session: Session, region: str) -> None:
    """Make the region's providers match its compute services: one per nova-compute host (same
    UUID, named after the host, with the compute inventory and traits), gone with its service.
    Concurrent syncs are harmless: a provider someone else just made is left to them."""
    services = {s.uuid: s for s in session.scalars(select(ComputeService).where(
        ComputeService.cloud == region, ComputeService.binary == "nova-compute"))}
    existing = {p.uuid: p for p in session.scalars(select(ResourceProvider).where(
        ResourceProvider.cloud == region, ResourceProvider.host.is_not(None)))}
    for stale in set(existing) - set(services):
        provider = existing[stale]
        session.execute(delete(Allocation).where(Allocation.provider_id == provider.id))
        session.delete(provider)
    for missing in set(services) - set(existing):
        service = services[missing]
        try:
            with session.begin_nested():
                now = utcnow()
                provider = ResourceProvider(uuid=service.uuid, cloud=region, name=service.host, generation=1,
                                            root_uuid=service.uuid, host=service.host, created_at=now, updated_at=now)
                session.add(provider)
                session.flush()
                for resource_class, values in COMPUTE_INVENTORY.items():
                    fields = new_inventory(resource_class, {**values, "max_unit": values["total"]})
                    session.add(Inventory(provider_id=provider.id, resource_class=resource_class, created_at=now,
                                          updated_at=now, **fields))
                for trait in COMPUTE_TRAITS:
                    session.add(ProviderTrait(provider_id=provider.id, trait=trait))
                session.flush()
        except IntegrityError:
            continue
    session.flush()


# -- providers ------------------------------------------------------------------------------------

def find(session: Session, region: str, provider_uuid: str) -> ResourceProvider | None:
    return session.scalar(select(ResourceProvider).where(ResourceProvider.cloud == region,
                                                         ResourceProvider.uuid == provider_uuid))


def get(session: Session, region: str, provider_uuid: str, message: str | None = None) -> ResourceProvider:
    """:raises NotFound:"""
    provider = find(session, region, provider_uuid)
    if provider is None:
        raise NotFound(message or f"No resource provider with uuid {provider_uuid} found")
    return provider


def bump(provider: ResourceProvider) -> None:
    provider.generation += 1
    provider.updated_at = utcnow()


def check_generation(provider: ResourceProvider, generation: int, what: str = "resource provider") -> None:
    """:raises Conflict: (placement.concurrent_update) a stale generation."""
    if generation != provider.generation:
        raise Conflict(f"{what} generation conflict", kind=CONCURRENT)


def _normal_uuid(text: str, field: str = "uuid") -> str:
    try:
        return str(uuidlib.UUID(text))
    except ValueError:
        raise Invalid(f"JSON does not validate: {text!r} is not a '{field}'") from None


def _descendants(session: Session, region: str, provider_uuid: str) -> set[str]:
    found, frontier = set(), {provider_uuid}
    while frontier:
        children = set(session.scalars(select(ResourceProvider.uuid).where(
            ResourceProvider.cloud == region, ResourceProvider.parent_uuid.in_(frontier))))
        frontier = children - found
        found |= children
    return found


def create(session: Session, region: str, name: str, provider_uuid: str | None = None,
           parent_uuid: str | None = None) -> ResourceProvider:
    """:raises Conflict: the name or UUID is taken. :raises Invalid: an unknown parent."""
    provider_uuid = _normal_uuid(provider_uuid) if provider_uuid else str(uuidlib.uuid4())
    if session.scalar(select(ResourceProvider.id).where(ResourceProvider.uuid == provider_uuid)) is not None:
        raise Conflict(f"Conflicting resource provider uuid: {provider_uuid} already exists.",
                       kind="placement.duplicate_name")
    if session.scalar(select(ResourceProvider.id).where(ResourceProvider.cloud == region,
                                                        ResourceProvider.name == name)) is not None:
        raise Conflict(f"Conflicting resource provider name: {name} already exists.",
                       kind="placement.duplicate_name")
    root = provider_uuid
    if parent_uuid is not None:
        parent = find(session, region, parent_uuid)
        if parent is None:
            raise Invalid(f"Unable to create resource provider \"{name}\", {provider_uuid}: No such resource "
                          f"provider {parent_uuid}.")
        root = parent.root_uuid
    now = utcnow()
    provider = ResourceProvider(uuid=provider_uuid, cloud=region, name=name, generation=0, parent_uuid=parent_uuid,
                                root_uuid=root, created_at=now, updated_at=now)
    session.add(provider)
    session.flush()
    return provider


def update(session: Session, region: str, provider: ResourceProvider, values: Mapping[str, Any], *,
           reparent: bool) -> ResourceProvider:
    """Rename and (1.14+) set the parent: once set, only ``reparent`` (1.37) may change or clear it.

    :raises Conflict: the name is taken. :raises Invalid: a parent change not allowed, or a loop.
    """
    name = values["name"]
    if name != provider.name and session.scalar(select(ResourceProvider.id).where(
            ResourceProvider.cloud == region, ResourceProvider.name == name)) is not None:
        raise Conflict(f"Conflicting resource provider {name} already exists.", kind="placement.duplicate_name")
    provider.name = name
    if "parent_provider_uuid" in values:
        parent_uuid = values["parent_provider_uuid"]
        if parent_uuid != provider.parent_uuid:
            if provider.parent_uuid is not None and parent_uuid is not None and not reparent:
                raise Invalid(f"Unable to save resource provider {provider.uuid}: Object action update failed "
                              "because: re-parenting a provider is not currently allowed.")
            if parent_uuid is None:
                if not reparent:
                    raise Invalid(f"Unable to save resource provider {provider.uuid}: Object action update failed "
                                  "because: un-parenting a provider is not currently allowed.")
                _set_root(session, region, provider, provider.uuid)
                provider.parent_uuid = None
            else:
                parent = find(session, region, parent_uuid)
                if parent is None:
                    raise Invalid(f"Unable to save resource provider {provider.uuid}: Object action update failed "
                                  f"because: parent provider UUID does not exist.")
                if parent_uuid == provider.uuid or parent_uuid in _descendants(session, region, provider.uuid):
                    raise Invalid(f"Unable to save resource provider {provider.uuid}: Object action update failed "
                                  "because: creating loop in the provider tree is not allowed.")
                provider.parent_uuid = parent_uuid
                _set_root(session, region, provider, parent.root_uuid)
    bump(provider)
    session.flush()
    return provider


def _set_root(session: Session, region: str, provider: ResourceProvider, root: str) -> None:
    provider.root_uuid = root
    for child in _descendants(session, region, provider.uuid):
        found = find(session, region, child)
        if found is not None:
            found.root_uuid = root


def delete_provider(session: Session, region: str, provider: ResourceProvider, in_use: bool) -> None:
    """:raises Conflict: it has children, or allocations (``in_use``)."""
    if session.scalar(select(ResourceProvider.id).where(ResourceProvider.cloud == region,
                                                        ResourceProvider.parent_uuid == provider.uuid)) is not None:
        raise Conflict(f"Unable to delete parent resource provider {provider.uuid}: It has child resource "
                       "providers.", kind="placement.resource_provider.cannot_delete_parent")
    if in_use:
        raise Conflict(f"Unable to delete resource provider {provider.uuid}: Resource provider has allocations.",
                       kind="placement.resource_provider.inuse")
    session.delete(provider)


def providers(session: Session, region: str) -> list[ResourceProvider]:
    return list(session.scalars(select(ResourceProvider).where(ResourceProvider.cloud == region)
                                .order_by(ResourceProvider.id)))


def matches(session: Session, region: str, provider: ResourceProvider, filters: Filters,
            tree_root: str | None, used: Mapping[str, int]) -> bool:
    """Whether ``provider`` passes every filter (``used``: its current usage by class)."""
    if filters.name is not None and provider.name != filters.name:
        return False
    if filters.uuid is not None and provider.uuid != filters.uuid:
        return False
    if filters.in_tree is not None and provider.root_uuid != tree_root:
        return False
    aggregates = {a.aggregate for a in provider.aggregates}
    if any(not (wanted & aggregates) for wanted in filters.member_of):
        return False
    if filters.forbidden_aggregates & aggregates:
        return False
    traits = {t.trait for t in provider.traits}
    if not filters.required <= traits or filters.forbidden & traits:
        return False
    if any(not (wanted & traits) for wanted in filters.any_traits):
        return False
    if filters.resources:
        inventories = {i.resource_class: i for i in provider.inventories}
        for resource_class, amount in filters.resources.items():
            inv = inventories.get(resource_class)
            if inv is None or not fits(inv, used.get(resource_class, 0), amount):
                return False
    return True


def capacity(inv: Inventory) -> int:
    return int((inv.total - inv.reserved) * inv.allocation_ratio)


def fits(inv: Inventory, used: int, amount: int) -> bool:
    """Whether ``amount`` more fits: within min/max unit, on the step, under capacity."""
    return (inv.min_unit <= amount <= inv.max_unit and amount % inv.step_size == 0
            and used + amount <= capacity(inv))


def tree_root(session: Session, region: str, provider_uuid: str) -> str | None:
    provider = find(session, region, provider_uuid)
    return provider.root_uuid if provider is not None else None


# -- inventories ----------------------------------------------------------------------------------

def _known_classes(session: Session, provider: ResourceProvider, names: set[str], context: str) -> None:
    """:raises Invalid: an unknown resource class, as Placement words it for the call."""
    try:
        catalog.check_classes(session, names)
    except NotFound as exc:
        raise Invalid(f"{context} {provider.uuid}: {exc.message}") from None


def _check_inventory(provider: ResourceProvider, resource_class: str, inv: Mapping[str, Any],
                     reserved_may_equal_total: bool) -> None:
    room = inv["total"] - inv["reserved"]
    if room < 0 or (room == 0 and not reserved_may_equal_total):
        raise Invalid(f"Unable to update inventory for resource provider {provider.uuid}: Invalid inventory for "
                      f"'{resource_class}' on resource provider '{provider.uuid}'. The reserved value is greater "
                      f"than {'total' if reserved_may_equal_total else 'or equal to total'}.")


def set_inventories(session: Session, provider: ResourceProvider, generation: int,
                    inventories: Mapping[str, Mapping[str, Any]], used: Mapping[str, int], *,
                    reserved_may_equal_total: bool) -> None:
    """Replace every inventory. :raises Conflict: stale generation, or a removed class in use.
    :raises Invalid: an unknown class or bad numbers."""
    check_generation(provider, generation)
    _known_classes(session, provider, set(inventories), "Unknown resource class in inventory for resource provider")
    full = {rc: new_inventory(rc, values) for rc, values in inventories.items()}
    for rc, inv in full.items():
        _check_inventory(provider, rc, inv, reserved_may_equal_total)
    current = {i.resource_class: i for i in provider.inventories}
    gone = [rc for rc in current if rc not in full]
    in_use = [rc for rc in gone if used.get(rc)]
    if in_use:
        raise Conflict(f"update conflict: Inventory for '{', '.join(sorted(in_use))}' on resource provider "
                       f"'{provider.uuid}' in use.", kind="placement.inventory.inuse")
    now = utcnow()
    for rc in gone:
        provider.inventories.remove(current[rc])
    for rc, inv in full.items():
        row = current.get(rc)
        if row is None:
            provider.inventories.append(Inventory(resource_class=rc, created_at=now, updated_at=now, **inv))
        else:
            for key, value in inv.items():
                setattr(row, key, value)
            row.updated_at = now
    bump(provider)
    session.flush()


def put_inventory(session: Session, provider: ResourceProvider, generation: int, resource_class: str,
                  values: Mapping[str, Any], *, reserved_may_equal_total: bool, create_only: bool = False) -> Inventory:
    """One inventory: ``create_only`` (POST) refuses an existing one, PUT refuses a missing one.

    :raises Conflict: stale generation or (POST) already there. :raises NotFound: (PUT) no such inventory.
    :raises Invalid: bad numbers.
    """
    check_generation(provider, generation)
    _known_classes(session, provider, {resource_class}, "Unable to create inventory for resource provider")
    current = {i.resource_class: i for i in provider.inventories}
    inv = new_inventory(resource_class, values)
    _check_inventory(provider, resource_class, inv, reserved_may_equal_total)
    now = utcnow()
    row = current.get(resource_class)
    if create_only:
        if row is not None:
            raise Conflict(f"Update conflict: Inventory for '{resource_class}' on resource provider "
                           f"'{provider.uuid}' already exists.", kind=CONCURRENT)
        row = Inventory(resource_class=resource_class, created_at=now, updated_at=now, **inv)
        provider.inventories.append(row)
    else:
        if row is None:
            raise NotFound(f"No inventory record with resource class for resource provider {provider.uuid}")
        for key, value in inv.items():
            setattr(row, key, value)
        row.updated_at = now
    bump(provider)
    session.flush()
    return row


def delete_inventory(session: Session, provider: ResourceProvider, resource_class: str, used: int) -> None:
    """:raises NotFound: :raises Conflict: allocations use it."""
    row = next((i for i in provider.inventories if i.resource_class == resource_class), None)
    if row is None:
        raise NotFound(f"No inventory of class {resource_class} found for delete")
    if used:
        raise Conflict(f"Unable to delete inventory of class {resource_class}: Inventory for '{resource_class}' on "
                       f"resource provider '{provider.uuid}' in use.", kind="placement.inventory.inuse")
    provider.inventories.remove(row)
    bump(provider)
    session.flush()


# -- traits and aggregates ------------------------------------------------------------------------

def set_traits(session: Session, provider: ResourceProvider, generation: int, traits: Iterable[str]) -> None:
    """:raises Conflict: stale generation. :raises NotFound: an unknown trait."""
    check_generation(provider, generation)
    wanted = set(traits)
    catalog.check_traits(session, wanted)
    current = {t.trait: t for t in provider.traits}
    for name in set(current) - wanted:
        provider.traits.remove(current[name])
    for name in sorted(wanted - set(current)):
        provider.traits.append(ProviderTrait(trait=name))
    bump(provider)
    session.flush()


def clear_traits(session: Session, provider: ResourceProvider) -> None:
    provider.traits.clear()
    bump(provider)
    session.flush()


def set_aggregates(session: Session, provider: ResourceProvider, aggregates: Iterable[str],
                   generation: int | None) -> None:
    """``generation`` None: before 1.19, no check and no bump (Placement's behaviour then).

    :raises Conflict: stale generation.
    """
    if generation is not None:
        check_generation(provider, generation)
    wanted = {_normal_uuid(a) for a in aggregates}
    current = {a.aggregate: a for a in provider.aggregates}
    for name in set(current) - wanted:
        provider.aggregates.remove(current[name])
    for name in sorted(wanted - set(current)):
        provider.aggregates.append(ProviderAggregate(aggregate=name))
    if generation is not None:
        bump(provider)
    else:
        provider.updated_at = utcnow()
    session.flush()
