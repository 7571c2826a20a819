"""Group types (3.11): the kinds of generic volume groups, admin managed, with group specs.
Everyone sees the public ones; admins see (and filter by) all."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.core.context import AuthContext
from overcast.core.errors import Conflict, Invalid
from overcast.core.volume.listing import Page, paginate
from overcast.core.volume.types import lookup, not_found
from overcast.store.models import utcnow
from overcast.store.volume import GroupType, VolumeGroup

SORT_KEYS = ("id", "name", "description", "is_public", "created_at")


def get(session: Session, ctx: AuthContext, ref: str) -> GroupType:
    """The group type with id (a UUID) or name ``ref``. :raises NotFound: unknown or private to others."""
    gtype = lookup(session, GroupType, ref)
    if gtype is None or not (gtype.is_public or ctx.is_admin):
        raise not_found("Group type", ref)
    return gtype


def list_types(session: Session, ctx: AuthContext, page: Page, is_public: bool | None) -> tuple[list[GroupType], bool]:
    """Public types (admins: all, or those ``is_public`` asks for). :raises NotFound: bad marker."""
    stmt = select(GroupType)
    if not ctx.is_admin:
        stmt = stmt.where(GroupType.is_public.is_(True))
    elif is_public is not None:
        stmt = stmt.where(GroupType.is_public.is_(is_public))
    return paginate(list(session.scalars(stmt)), page)


def create(session: Session, *, name: str, description: str | None, is_public: bool,
           group_specs: dict[str, str]) -> GroupType:
    """:raises Conflict: the name exists."""
    if session.scalar(select(GroupType.id).where(GroupType.name == name)) is not None:
        raise Conflict(f"Group Type {name} already exists.")
    gtype = GroupType(id=str(uuid.uuid4()), name=name, description=description, is_public=is_public,
                      group_specs={k: str(v) for k, v in group_specs.items()}, created_at=utcnow())
    session.add(gtype)
    session.flush()
    return gtype


def update(session: Session, gtype: GroupType, *, name: str | None, description: str | None,
           is_public: bool | None) -> GroupType:
    """:raises Conflict: the new name exists."""
    if name is not None and name != gtype.name:
        if session.scalar(select(GroupType.id).where(GroupType.name == name)) is not None:
            raise Conflict(f"Group Type {name} already exists.")
        gtype.name = name
    if description is not None:
        gtype.description = description
    if is_public is not None:
        gtype.is_public = is_public
    return gtype


def delete(session: Session, gtype: GroupType) -> None:
    """:raises Invalid: groups still have the type (Cinder's GroupTypeInUse)."""
    if session.scalar(select(VolumeGroup.id).where(VolumeGroup.group_type_id == gtype.id).limit(1)) is not None:
        raise Invalid(f"Group Type {gtype.id} deletion is not allowed with groups present with the type.")
    session.delete(gtype)


def missing_spec(gtype: GroupType, key: str) -> str:
    """Cinder's message for a group spec the type does not have."""
    return f"Group Type {gtype.id} has no specs with key {key}."
