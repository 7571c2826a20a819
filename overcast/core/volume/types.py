"""Volume types: the default ones DevStack has, admin create/update/delete, extra specs, access.
A type's per-type quota limits follow it when it is renamed and go when it is deleted."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Mapping, TypeVar

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from overcast.core.context import AuthContext
from overcast.core.errors import Conflict, Invalid, NotFound
from overcast.core.volume import quotas
from overcast.store.volume import GroupType, Volume, VolumeType, VolumeTypeAccess, VolumeTypeEncryption

#: Cinder's built-in type (since Train) and DevStack's LVM backend type, which DevStack makes the default.
BUILTIN_TYPE = "__DEFAULT__"
DEFAULT_TYPE = "lvmdriver-1"

#: what :func:`lookup` finds by id or name: a volume type or a group type
NamedType = TypeVar("NamedType", VolumeType, GroupType)


#: built once: the statement cache finds it without walking a new statement
_NAMES = select(VolumeType.__table__.c.id, VolumeType.__table__.c.name)


def names(session: Session) -> dict[str, str]:
    """Every volume type's name by id (what volume views show as ``volume_type``)."""
    return dict(session.connection().execute(_NAMES).all())


#: the extra spec that makes a type's volumes attachable to several servers, and its one true value
MULTIATTACH_SPEC, MULTIATTACH_TRUE = "multiattach", "<is> True"


def multiattach(vtype: VolumeType) -> bool:
    """Whether volumes of ``vtype`` are multiattach: Cinder's extra spec ``multiattach="<is> True"``."""
    return (vtype.extra_specs or {}).get(MULTIATTACH_SPEC) == MULTIATTACH_TRUE


@dataclass(frozen=True)
class Catalog:
    """What a volume's view shows of its type: the name (``volume_type``) and whether the type asks
    for encryption (``encrypted``: Cinder gives a volume of such a type an encryption key when it makes
    it, and a type's encryption cannot change while volumes use it, so the type decides)."""

    names: dict[str, str] = field(default_factory=dict)
    encrypted: frozenset[str] = frozenset()


_types, _encryption = VolumeType.__table__, VolumeTypeEncryption.__table__
#: built once, as :data:`_NAMES`: every type with its encryption's type id (None: not encrypted)
_CATALOG = select(_types.c.id, _types.c.name, _encryption.c.volume_type_id).select_from(
    _types.outerjoin(_encryption, _encryption.c.volume_type_id == _types.c.id))


def catalog(session: Session) -> Catalog:
    """Every volume type's :class:`Catalog` entry, in one query."""
    rows = session.connection().execute(_CATALOG).all()
    return Catalog(names={tid: name for tid, name, _ in rows},
                   encrypted=frozenset(tid for tid, _, enc in rows if enc is not None))


def seed(session: Session) -> None:
    """Create the default types once (idempotent). Types serve every region, so the default one
    names no backend (DevStack's pins ``volume_backend_name``, which only the local cloud's pool has)."""
    existing = set(session.scalars(select(VolumeType.name)))
    if BUILTIN_TYPE not in existing:
        session.add(VolumeType(name=BUILTIN_TYPE, description="Default Volume Type", extra_specs={}))
    if DEFAULT_TYPE not in existing:
        session.add(VolumeType(name=DEFAULT_TYPE, description=None, extra_specs={}))


def is_uuid(value: str) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def visible(ctx: AuthContext, vtype: VolumeType) -> bool:
    return vtype.is_public or ctx.is_admin or ctx.project_id in {p.project_id for p in vtype.projects}


def get(session: Session, ctx: AuthContext, type_id: str) -> VolumeType:
    """:raises NotFound: unknown, or private and not shared with the caller."""
    vtype = session.get(VolumeType, type_id)
    if vtype is None or not visible(ctx, vtype):
        raise NotFound(f"Volume type {type_id} could not be found.")
    return vtype


def lookup(session: Session, model: type[NamedType], ref: str) -> NamedType | None:
    """The volume or group type (``model``) with id (a UUID) or name ``ref``, whoever may see it
    (Cinder's elevated lookup)."""
    if is_uuid(ref):
        return session.get(model, ref)
    return session.scalar(select(model).where(model.name == ref))


def not_found(label: str, ref: str) -> NotFound:
    """Cinder's message for a ``label`` ("Volume type", "Group type") asked for by id or by name."""
    return NotFound(f"{label} {ref} could not be found." if is_uuid(ref)
                    else f"{label} with name {ref} could not be found.")


def by_name_or_id(session: Session, ctx: AuthContext, ref: str) -> VolumeType:
    """Cinder's get_by_name_or_id. :raises NotFound: with Cinder's message for a name or an id."""
    vtype = lookup(session, VolumeType, ref)
    if vtype is None or not visible(ctx, vtype):
        raise not_found("Volume type", ref)
    return vtype


def default(session: Session) -> VolumeType:
    """The type a volume gets when it names none. :raises NotFound: no default type."""
    vtype = session.scalar(select(VolumeType).where(VolumeType.name == DEFAULT_TYPE)) or session.scalar(
        select(VolumeType).where(VolumeType.name == BUILTIN_TYPE))
    if vtype is None:
        raise NotFound("Default volume type can not be found.")
    return vtype


def list_types(session: Session, ctx: AuthContext, is_public: bool | None = None) -> list[VolumeType]:
    """Public types, plus private ones the caller can use (admins: all, or filtered by ``is_public``)."""
    query = select(VolumeType).order_by(VolumeType.created_at, VolumeType.name)
    if ctx.is_admin:
        if is_public is not None:
            query = query.where(VolumeType.is_public.is_(is_public))
    else:
        query = query.where(or_(VolumeType.is_public.is_(True), VolumeType.id.in_(
            select(VolumeTypeAccess.volume_type_id).where(VolumeTypeAccess.project_id == ctx.project_id))))
    return list(session.scalars(query))


def create(session: Session, *, name: str, description: str | None, is_public: bool,
           extra_specs: Mapping[str, Any]) -> VolumeType:
    """:raises Conflict: the name exists."""
    if session.scalar(select(VolumeType).where(VolumeType.name == name)) is not None:
        raise Conflict(f"Volume Type {name} already exists.")
    vtype = VolumeType(name=name, description=description, is_public=is_public,
                       extra_specs={k: str(v) for k, v in extra_specs.items()})
    session.add(vtype)
    session.flush()
    return vtype


def update(session: Session, vtype: VolumeType, *, name: str | None = None, description: str | None = None,
           is_public: bool | None = None) -> VolumeType:
    """:raises Conflict: the new name exists. :raises Invalid: renaming the built-in type."""
    if name is not None and name != vtype.name:
        if vtype.name == BUILTIN_TYPE:
            raise Invalid(f"Invalid volume type: The type {BUILTIN_TYPE} cannot be renamed.")
        if session.scalar(select(VolumeType).where(VolumeType.name == name)) is not None:
            raise Conflict(f"Volume Type {name} already exists.")
        quotas.rename_type(session, vtype.name, name)
        vtype.name = name
    if description is not None:
        vtype.description = description
    if is_public is not None:
        vtype.is_public = is_public
    return vtype


def delete(session: Session, vtype: VolumeType) -> None:
    """:raises Invalid: the default type, or volumes still use it."""
    if vtype.name in (BUILTIN_TYPE, DEFAULT_TYPE):
        raise Invalid("Default volume type can not be deleted.")
    if in_use(session, vtype):
        raise Invalid(f"Volume Type {vtype.id} deletion is not allowed with volumes present with the type.")
    quotas.drop_type(session, vtype.name)
    session.delete(vtype)


def in_use(session: Session, vtype: VolumeType) -> bool:
    """Whether any volume has the type."""
    return session.scalar(select(Volume.id).where(Volume.volume_type_id == vtype.id).limit(1)) is not None


def missing_spec(vtype: VolumeType, key: str) -> str:
    """Cinder's message for an extra spec the type does not have."""
    return f"Volume Type {vtype.id} has no extra specs with key {key}."


def add_access(vtype: VolumeType, project_id: str) -> None:
    """:raises Invalid: a public type. :raises Conflict: already shared."""
    if vtype.is_public:
        raise Invalid("Invalid volume type: Type access modification is not applicable to public volume type.")
    if project_id in {p.project_id for p in vtype.projects}:
        raise Conflict(f"Volume type access for {vtype.id} / {project_id} combination already exists.")
    vtype.projects.append(VolumeTypeAccess(volume_type_id=vtype.id, project_id=project_id))


def remove_access(vtype: VolumeType, project_id: str) -> None:
    """:raises Invalid: a public type. :raises NotFound: not shared with that project."""
    if vtype.is_public:
        raise Invalid("Invalid volume type: Type access modification is not applicable to public volume type.")
    rows = [p for p in vtype.projects if p.project_id == project_id]
    if not rows:
        raise NotFound(f"Volume type access not found for {vtype.id} / {project_id} combination.")
    vtype.projects.remove(rows[0])
