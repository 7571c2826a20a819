"""Resource classes and traits: the standard ones OpenStack publishes (``os-resource-classes``,
``os-traits``, the libraries Placement itself reads them from) and the ``CUSTOM_*`` ones an admin adds."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache

import os_resource_classes
import os_traits
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from overcast.core.errors import Conflict, Invalid, NotFound
from overcast.store.models import utcnow
from overcast.store.placement import Allocation, CustomResourceClass, CustomTrait, Inventory, ProviderTrait

CUSTOM = "CUSTOM_"
_CUSTOM_RE = re.compile(r"^CUSTOM_[A-Z0-9_]+$")
#: when the standard names were "made" (Placement shows the time its database row was written)
_EPOCH = dt.datetime(2026, 1, 1)


@dataclass(frozen=True)
class Named:
    """A resource class or trait, standard or custom."""

    name: str
    created_at: dt.datetime | None
    updated_at: dt.datetime | None
    custom: bool


@lru_cache(maxsize=1)
def standard_classes() -> tuple[str, ...]:
    return tuple(os_resource_classes.STANDARDS)


@lru_cache(maxsize=1)
def standard_traits() -> frozenset[str]:
    return frozenset(os_traits.get_traits())


def is_custom_name(name: str) -> bool:
    return bool(_CUSTOM_RE.match(name))


# -- resource classes -----------------------------------------------------------------------------

def list_classes(session: Session) -> list[Named]:
    standard = [Named(name, _EPOCH, None, False) for name in standard_classes()]
    custom = [Named(row.name, row.created_at, row.updated_at, True)
              for row in session.scalars(select(CustomResourceClass).order_by(CustomResourceClass.name))]
    return standard + custom


def find_class(session: Session, name: str) -> Named | None:
    if name in standard_classes():
        return Named(name, _EPOCH, None, False)
    row = session.get(CustomResourceClass, name)
    return Named(row.name, row.created_at, row.updated_at, True) if row else None


def get_class(session: Session, name: str) -> Named:
    """:raises NotFound:"""
    found = find_class(session, name)
    if found is None:
        raise NotFound(f"No such resource class {name}.")
    return found


def create_class(session: Session, name: str) -> Named:
    """:raises Invalid: not CUSTOM_*. :raises Conflict: it exists."""
    if not is_custom_name(name):
        raise Invalid(f"JSON does not validate: '{name}' does not match '^CUSTOM_[A-Z0-9_]+$'")
    if find_class(session, name) is not None:
        raise Conflict(f"Conflicting resource class already exists: {name}", kind="placement.duplicate_name")
    now = utcnow()
    session.add(CustomResourceClass(name=name, created_at=now, updated_at=now))
    session.flush()
    return Named(name, now, now, True)


def ensure_class(session: Session, name: str) -> tuple[Named, bool]:
    """PUT (1.7+): make it if missing; returns (class, made). :raises Invalid: not CUSTOM_*."""
    found = find_class(session, name)
    if found is not None and found.custom:
        return found, False
    if found is not None or not is_custom_name(name):
        raise Invalid(f"JSON does not validate: '{name}' does not match '^CUSTOM_[A-Z0-9_]+$'")
    return create_class(session, name), True


def rename_class(session: Session, name: str, new_name: str) -> Named:
    """1.2-1.6 ``PUT``: a custom class renamed, its inventories and allocations with it.

    :raises NotFound: :raises Invalid: a standard class. :raises Conflict: the new name exists.
    """
    found = get_class(session, name)
    if not found.custom:
        raise Invalid(f"Cannot update standard resource class {name}")
    if find_class(session, new_name) is not None:
        raise Conflict(f"Resource class already exists: {new_name}", kind="placement.duplicate_name")
    row = session.get(CustomResourceClass, name)
    now = utcnow()
    session.add(CustomResourceClass(name=new_name, created_at=row.created_at, updated_at=now))
    session.flush()
    session.execute(update(Inventory).where(Inventory.resource_class == name).values(resource_class=new_name))
    session.execute(update(Allocation).where(Allocation.resource_class == name).values(resource_class=new_name))
    session.delete(row)
    session.flush()
    return Named(new_name, row.created_at, now, True)


def delete_class(session: Session, name: str) -> None:
    """:raises NotFound: :raises Invalid: a standard class. :raises Conflict: inventories use it."""
    found = get_class(session, name)
    if not found.custom:
        raise Invalid(f"Cannot delete standard resource class {name}: Cannot delete standard resource class "
                      f"{name}")
    if session.scalar(select(Inventory.provider_id).where(Inventory.resource_class == name).limit(1)) is not None:
        raise Conflict(f"Unable to delete resource class {name}: Cannot delete resource class {name}. "
                       "Class is in use in inventory.")
    session.delete(session.get(CustomResourceClass, name))


def check_classes(session: Session, names: set[str]) -> None:
    """:raises NotFound: the first unknown class (sorted)."""
    for name in sorted(names):
        if find_class(session, name) is None:
            raise NotFound(f"No such resource class {name}.")


# -- traits ---------------------------------------------------------------------------------------

def list_traits(session: Session, *, names: list[str] | None = None, prefix: str | None = None,
                associated: bool | None = None) -> list[str]:
    """Every trait (standard, then custom) matching the filters, sorted by name."""
    every = set(standard_traits()) | set(session.scalars(select(CustomTrait.name)))
    if names is not None:
        every &= set(names)
    if prefix is not None:
        every = {t for t in every if t.startswith(prefix)}
    if associated is not None:
        used = set(session.scalars(select(ProviderTrait.trait).distinct()))
        every = every & used if associated else every - used
    return sorted(every)


def trait_exists(session: Session, name: str) -> bool:
    return name in standard_traits() or session.get(CustomTrait, name) is not None


def check_traits(session: Session, names: set[str]) -> None:
    """:raises NotFound: "No such trait(s): A, B." for every unknown one."""
    missing = sorted(n for n in names if not trait_exists(session, n))
    if missing:
        raise NotFound(f"No such trait(s): {', '.join(missing)}.")


def put_trait(session: Session, name: str) -> bool:
    """Make a custom trait; returns whether it was new. :raises Invalid: not CUSTOM_*."""
    if trait_exists(session, name):
        return False
    if not is_custom_name(name):
        raise Invalid("The trait is invalid. A valid trait must include prefix 'CUSTOM_' and use following "
                      "characters: 'A'-'Z', '0'-'9' and '_'")
    now = utcnow()
    session.add(CustomTrait(name=name, created_at=now, updated_at=now))
    session.flush()
    return True


def delete_trait(session: Session, name: str) -> None:
    """:raises NotFound: :raises Invalid: a standard trait. :raises Conflict: providers have it."""
    if name in standard_traits():
        raise Invalid(f"Cannot delete standard trait {name}.")
    row = session.get(CustomTrait, name)
    if row is None:
        raise NotFound(f"No such trait(s): {name}.")
    if session.scalar(select(ProviderTrait.provider_id).where(ProviderTrait.trait == name).limit(1)) is not None:
        raise Conflict(f"The trait {name} is in use by a resource provider.")
    session.delete(row)
