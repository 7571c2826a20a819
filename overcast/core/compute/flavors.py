"""Flavors: Nova's defaults, visibility (public, or private with an access list), extra specs."""

from __future__ import annotations

import functools
import uuid
from typing import Any, Mapping

from sqlalchemy import bindparam, false, or_, select, true
from sqlalchemy.orm import Session

from overcast.core.errors import Conflict, Invalid, NotFound
from overcast.store.compute import Flavor, FlavorAccess, FlavorExtraSpec

#: Nova's default flavors: (id, name, vcpus, ram MB, disk GB).
DEFAULT_FLAVORS: tuple[tuple[str, str, int, int, int], ...] = (
    ("1", "m1.tiny", 1, 512, 1),
    ("2", "m1.small", 1, 2048, 20),
    ("3", "m1.medium", 2, 4096, 40),
    ("4", "m1.large", 4, 8192, 80),
    ("5", "m1.xlarge", 8, 16384, 160),
)

#: Nova's sort keys for flavors -> our columns.
SORT_KEYS = {
    "created_at": Flavor.created_at, "description": Flavor.description, "disabled": Flavor.disabled,
    "ephemeral_gb": Flavor.ephemeral, "flavorid": Flavor.id, "id": Flavor.id, "is_public": Flavor.is_public,
    "memory_mb": Flavor.ram, "name": Flavor.name, "root_gb": Flavor.disk, "rxtx_factor": Flavor.rxtx_factor,
    "swap": Flavor.swap, "updated_at": Flavor.created_at, "vcpu_weight": Flavor.id, "vcpus": Flavor.vcpus,
}


def _visible(query: Any, project_id: Any) -> Any:
    """``query`` narrowed to the public flavors and those shared with ``project_id`` (an id or a bound parameter)."""
    return query.where(or_(Flavor.is_public.is_(True), Flavor.projects.any(FlavorAccess.project_id == project_id)))


def get(session: Session, flavor_id: str, *, is_admin: bool = True, project_id: str | None = None) -> Flavor:
    """A flavor the caller can see (admins see all). :raises NotFound:"""
    flavor = session.get(Flavor, flavor_id)
    if flavor is None or (not is_admin and not flavor.is_public
                          and all(p.project_id != project_id for p in flavor.projects)):
        raise NotFound(f"Flavor {flavor_id} could not be found.")
    return flavor


#: the columns a flavor's view reads: a list reads these rows, not records, and keeps each flavor's
#: rendered view under its row (docs/decisions/0067-kept-neutron-and-flavor-views.md)
LIST_COLUMNS: tuple[Any, ...] = tuple(Flavor.__table__.c[name] for name in (
    "id", "name", "vcpus", "ram", "disk", "ephemeral", "swap", "rxtx_factor", "is_public", "disabled", "description"))


@functools.cache
def _list_statement(is_admin: bool, is_public: bool | None, min_ram: bool, min_disk: bool, sort_key: str,
                    sort_dir: str) -> Any:
    """:func:`list_flavors`' statement for one shape of its arguments, with the project and the
    minimums as bound parameters: built once, so SQLAlchemy's statement cache finds it without
    building and walking a new statement (its EXISTS) on every request
    (docs/decisions/0051-computed-list-path.md). It reads :data:`LIST_COLUMNS`, not records."""
    query = select(*LIST_COLUMNS)
    if is_admin:
        if is_public is not None:
            query = query.where(Flavor.is_public.is_(true() if is_public else false()))
    else:
        query = _visible(query.where(Flavor.disabled.is_(False)), bindparam("project"))
    if min_ram:
        query = query.where(Flavor.ram >= bindparam("min_ram"))
    if min_disk:
        query = query.where(Flavor.disk >= bindparam("min_disk"))
    column = SORT_KEYS[sort_key]
    order = [column.asc() if sort_dir == "asc" else column.desc()]
    if column is not Flavor.id:
        order.append(Flavor.id.asc() if sort_dir == "asc" else Flavor.id.desc())
    return query.order_by(*order)


def list_flavors(session: Session, *, is_admin: bool, project_id: str | None, is_public: bool | None = True,
                 min_ram: int | None = None, min_disk: int | None = None, sort_key: str = "flavorid",
                 sort_dir: str = "asc", limit: int | None = None, marker: str | None = None) -> list[Any]:
    """Nova's flavor listing: rows of :data:`LIST_COLUMNS` (the access lists are not read: visibility
    is decided in SQL; extra specs: :func:`extra_specs_of`).

    Administrators filter by ``is_public`` (``None``: both); everyone else sees the enabled
    public flavors and the private ones shared with their project.

    :raises Invalid: bad sort key/direction, unknown marker.
    """
    if sort_key not in SORT_KEYS:
        raise Invalid("Invalid sort key")
    if sort_dir not in ("asc", "desc"):
        raise Invalid("Invalid sort direction")
    statement = _list_statement(is_admin, is_public if is_admin else None, min_ram is not None, min_disk is not None,
                                sort_key, sort_dir)
    params = {name: value for name, value in (("project", None if is_admin else project_id or ""),
                                              ("min_ram", min_ram), ("min_disk", min_disk)) if value is not None}
    flavors = list(session.connection().execute(statement, params).all())
    if marker is not None:
        ids = [f.id for f in flavors]
        if marker not in ids:
            raise Invalid(f"Marker {marker} could not be found.")
        flavors = flavors[ids.index(marker) + 1:]
    if limit is not None:
        flavors = flavors[:limit]
    return flavors


#: built once: the statement cache then only expands the id list
_EXTRA_SPECS_OF = (select(FlavorExtraSpec.flavor_id, FlavorExtraSpec.key, FlavorExtraSpec.value)
                   .where(FlavorExtraSpec.flavor_id.in_(bindparam("ids", expanding=True))))


def extra_specs_of(session: Session, flavor_ids: list[str]) -> dict[str, tuple[tuple[str, str], ...]]:
    """The extra specs of these flavors ((key, value) sorted by key) by flavor id, for those that
    have some: one statement per thousand flavors."""
    found: dict[str, list[tuple[str, str]]] = {}
    for start in range(0, len(flavor_ids), 1000):
        for flavor_id, key, value in session.connection().execute(_EXTRA_SPECS_OF,
                                                                  {"ids": flavor_ids[start:start + 1000]}):
            found.setdefault(flavor_id, []).append((key, value))
    return {flavor_id: tuple(sorted(specs)) for flavor_id, specs in found.items()}  # as extra_specs() sorts


def create(session: Session, values: Mapping[str, Any]) -> Flavor:
    """A new flavor. ``values``: name, vcpus, ram, disk and optional id (a UUID when absent),
    ephemeral, swap, rxtx_factor, is_public, description.

    :raises Conflict: name or id taken.
    """
    flavor_id = values.get("id") or str(uuid.uuid4())
    if session.get(Flavor, flavor_id) is not None:
        raise Conflict(f"Flavor with ID {flavor_id} already exists.")
    if session.scalar(select(Flavor.id).where(Flavor.name == values["name"])) is not None:
        raise Conflict(f"Flavor with name {values['name']} already exists.")
    flavor = Flavor(id=flavor_id, name=values["name"], vcpus=values["vcpus"], ram=values["ram"],
                    disk=values["disk"], ephemeral=values.get("ephemeral") or 0, swap=values.get("swap") or 0,
                    rxtx_factor=values.get("rxtx_factor", 1.0), is_public=values.get("is_public", True),
                    description=values.get("description"))
    session.add(flavor)
    session.flush()
    return flavor


def update_description(session: Session, flavor_id: str, description: str | None) -> Flavor:
    flavor = get(session, flavor_id)
    flavor.description = description
    session.flush()
    return flavor


def delete(session: Session, flavor_id: str) -> None:
    """:raises NotFound:"""
    session.delete(get(session, flavor_id))
    session.flush()


# -- access lists -------------------------------------------------------------------------------

def access_list(session: Session, flavor_id: str) -> list[str]:
    """:raises NotFound: no such flavor or a public one (Nova has no list for those)."""
    flavor = get(session, flavor_id)
    if flavor.is_public:
        raise NotFound("Access list not available for public flavors.")
    return sorted(p.project_id for p in flavor.projects)


def add_access(session: Session, flavor_id: str, project_id: str) -> list[str]:
    """:raises NotFound: :raises Conflict: public flavor or existing grant."""
    flavor = get(session, flavor_id)
    if flavor.is_public:
        raise Conflict("Can not add access to a public flavor.")
    if any(p.project_id == project_id for p in flavor.projects):
        raise Conflict(f"Flavor access already exists for flavor {flavor_id} and project {project_id} "
                       "combination.")
    flavor.projects.append(FlavorAccess(flavor_id=flavor.id, project_id=project_id))
    session.flush()
    return sorted(p.project_id for p in flavor.projects)


def remove_access(session: Session, flavor_id: str, project_id: str) -> list[str]:
    """:raises NotFound: no flavor or no such grant."""
    flavor = get(session, flavor_id)
    grant = next((p for p in flavor.projects if p.project_id == project_id), None)
    if grant is None:
        raise NotFound(f"Flavor access not found for {flavor_id} / {project_id} combination.")
    flavor.projects.remove(grant)
    session.flush()
    return sorted(p.project_id for p in flavor.projects)


# -- extra specs --------------------------------------------------------------------------------

def extra_specs(flavor: Flavor) -> dict[str, str]:
    return {s.key: s.value for s in sorted(flavor.extra_specs, key=lambda s: s.key)}


def set_extra_specs(session: Session, flavor_id: str, specs: Mapping[str, Any]) -> dict[str, str]:
    """Create or replace the given keys; returns them as stored. :raises NotFound:"""
    flavor = get(session, flavor_id)
    existing = {s.key: s for s in flavor.extra_specs}
    stored = {}
    for key, value in specs.items():
        text = str(value).lower() if isinstance(value, bool) else str(value)
        if len(text) > 255:
            raise Invalid(f"Invalid input for field/attribute extra_specs. Value of {key} is too long.")
        if key in existing:
            existing[key].value = text
        else:
            flavor.extra_specs.append(FlavorExtraSpec(flavor_id=flavor.id, key=key, value=text))
        stored[key] = text
    session.flush()
    return stored


def get_extra_spec(session: Session, flavor_id: str, key: str) -> str:
    flavor = get(session, flavor_id)
    value = extra_specs(flavor).get(key)
    if value is None:
        raise NotFound(f"Flavor {flavor_id} has no extra specs with key {key}.")
    return value


def delete_extra_spec(session: Session, flavor_id: str, key: str) -> None:
    flavor = get(session, flavor_id)
    spec = next((s for s in flavor.extra_specs if s.key == key), None)
    if spec is None:
        raise NotFound(f"Flavor {flavor_id} has no extra specs with key {key}.")
    flavor.extra_specs.remove(spec)
    session.flush()


def ensure_defaults(session: Session) -> None:
    """Nova's default flavors, added once (idempotent: existing ids and names are left alone)."""
    for flavor_id, name, vcpus, ram, disk in DEFAULT_FLAVORS:
        if session.get(Flavor, flavor_id) is None and \
                session.scalar(select(Flavor.id).where(Flavor.name == name)) is None:
            session.add(Flavor(id=flavor_id, name=name, vcpus=vcpus, ram=ram, disk=disk, ephemeral=0, swap=0,
                               rxtx_factor=1.0, is_public=True, disabled=False))
    session.flush()
