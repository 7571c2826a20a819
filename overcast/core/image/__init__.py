"""Glance's rules for reading images: who sees what, filters, sorting and paging; the ImageCore.

The write side lives beside this module: ``writes`` (create, JSON Patch, tags, actions, delete),
``members`` (sharing), ``data`` (upload, download, stage, import) and ``stores`` (where the bytes live).
"""

from __future__ import annotations

import collections
import datetime as dt
import functools
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from sqlalchemy import Select, and_, bindparam, exists, or_, select
from sqlalchemy.orm import Session

from overcast.config import Settings
from overcast.core.context import AuthContext
from overcast.core.errors import Forbidden, Invalid, NotFound
from overcast.core.image import paging
from overcast.core.image.stores import FilesystemStore, ImageStore, from_settings
from overcast.store.db import Store
from overcast.ops.engine import enqueue
from overcast.store.image import Image, ImageLocation, ImageMember, ImageTag

VISIBILITIES = ("public", "private", "shared", "community")
STATUSES = ("queued", "saving", "uploading", "importing", "active", "deactivated", "killed", "deleted",
            "pending_delete")
#: Glance's sortable attributes
SORT_KEYS = ("name", "status", "container_format", "disk_format", "size", "id", "created_at", "updated_at",
             "visibility", "owner", "min_disk", "min_ram", "virtual_size", "protected", "os_hidden")
DEFAULT_LIMIT, MAX_LIMIT = paging.DEFAULT_LIMIT, paging.MAX_LIMIT


@dataclass
class ImageCore:
    settings: Settings
    store: Store
    #: where new image data goes: ``[image] store`` (the filesystem under ``<data_dir>/images`` by default)
    data: ImageStore = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        self.files = FilesystemStore(self.image_dir)
        if self.data is None:
            self.data = from_settings(self.settings)
        #: ``PUT /stage`` keeps data here until ``POST /import`` (glance-direct) moves it to the store
        self.staging = FilesystemStore(self.settings.data_dir / "image-staging")
        self._imports: ThreadPoolExecutor | None = None

    @property
    def image_dir(self) -> Path:
        return self.settings.data_dir / "images"

    def store_for(self, image: Image) -> ImageStore:
        """The store holding ``image``'s data: by its location's scheme, else the default store.

        (The cirros seed always writes to the filesystem store.)
        """
        location = image.location or ""
        if location.startswith("file://"):
            return self.files
        return self.data

    def submit(self, work: Callable[[], None]) -> None:
        """Run an import in the background (a small pool: imports are I/O-bound), once the
        request that asked for it has committed (the import reads what the request recorded)."""
        if self._imports is None:
            self._imports = ThreadPoolExecutor(max_workers=2, thread_name_prefix="image-import")
        pool = self._imports
        self.store.after_commit(lambda: pool.submit(work))

    def close(self) -> None:
        if self._imports is not None:
            self._imports.shutdown(wait=True)


def _owner(ctx: AuthContext) -> str | None:
    return ctx.project_id


def _member_of(project: Any, statuses: Sequence[str] | None = None) -> Any:
    """A member of the image is ``project`` (a value or a bound parameter), in one of ``statuses`` (None: any)."""
    cond = [ImageMember.image_id == Image.id, ImageMember.member == project]
    if statuses:
        cond.append(ImageMember.status.in_(statuses))
    return exists().where(and_(*cond))


def can_see(session: Session, ctx: AuthContext, image: Image) -> bool:
    """Glance's is_image_visible: admin, public, community, own, or a member of a shared image."""
    return ctx.is_admin or project_sees(session, _owner(ctx), image)


def project_sees(session: Session, project_id: str | None, image: Image) -> bool:
    """Whether a project (not an admin) sees ``image``: public, community, its own, or a member of a
    shared image (the rule of :func:`can_see` without the caller's roles)."""
    if image.visibility in ("public", "community"):
        return True
    if image.owner is not None and image.owner == project_id:
        return True
    if image.visibility == "shared" and project_id:
        return session.get(ImageMember, (image.id, project_id)) is not None
    return False


def in_region(region: Any) -> Any:
    """Images shown in ``region``: Overcast's own (``cloud`` None: every region) and the ones only
    that region's backend holds (0025)."""
    return or_(Image.cloud.is_(None), Image.cloud == region)


def get(session: Session, ctx: AuthContext, image_id: str, *, region: str) -> Image:
    """:raises NotFound: no such image, one only another region's backend holds, or one the caller cannot see."""
    image = session.get(Image, image_id)
    if (image is None or image.status in ("deleted", "pending_delete") or image.cloud not in (None, region)
            or not can_see(session, ctx, image)):
        raise NotFound(f"No image found with ID {image_id}")
    return image


def parse_in(value: str) -> list[str]:
    """Glance's ``in:`` operator: ``in:a,b`` or ``in:"a,1","b"``. :raises Invalid:"""
    body = value[3:]
    items: list[str] = []
    current, quoted, i = "", False, 0
    while i < len(body):
        ch = body[i]
        if ch == '"':
            quoted = not quoted
        elif ch == "\\" and quoted and i + 1 < len(body):
            i += 1
            current += body[i]
        elif ch == "," and not quoted:
            items.append(current)
            current = ""
        else:
            current += ch
        i += 1
    if quoted:
        raise Invalid("Invalid filter value " + value + ". The quote is not closed.")
    items.append(current)
    if any(item == "" for item in items):
        raise Invalid(f"Invalid filter value {value}. There is a comma before the closing quotation mark "
                      "or an empty value.")
    return items


def _match(column: Any, value: str) -> Any:
    if value.startswith("in:"):
        return column.in_(parse_in(value))
    if value.startswith("eq:"):
        value = value[3:]
    return column == value


def _bool(name: str, value: str) -> bool:
    lowered = value.lower()
    if lowered in ("true", "1", "yes", "on", "t", "y"):
        return True
    if lowered in ("false", "0", "no", "off", "f", "n"):
        return False
    raise Invalid(f"Invalid value '{value}' for parameter '{name}': Unrecognized value '{value}', acceptable "
                  "values are: '0', '1', 'f', 'false', 'n', 'no', 'off', 'on', 't', 'true', 'y', 'yes'")


def _int(name: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise Invalid(f"Invalid value for {name}: {value}") from None
    if number < 0:
        raise Invalid(f"Invalid value for {name}: {value}")
    return number


_TIME_OPERATORS = ("gt", "gte", "lt", "lte", "eq", "neq")


def _time_filter(column: Any, name: str, value: str) -> Any:
    """Glance's ``created_at=gte:2016-04-18T21:38:54Z`` (operator optional: eq). :raises Invalid:

    Times are shown to the second, so a given time stands for that whole second.
    """
    op, sep, when = value.partition(":")
    if not sep or op not in _TIME_OPERATORS:
        op, when = "eq", value
    try:
        moment = dt.datetime.fromisoformat(when.replace("Z", "+00:00"))
    except ValueError:
        raise Invalid(f"Invalid time format for {name}.") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    start = moment.replace(microsecond=0)
    end = start + dt.timedelta(seconds=1)
    return {"gt": column >= end, "gte": column >= start, "lt": column < start, "lte": column < end,
            "eq": and_(column >= start, column < end), "neq": or_(column < start, column >= end)}[op]


_REGION, _PROJECT = bindparam("region"), bindparam("project")


@functools.cache
def _seen(is_admin: bool, visibility: str | None, statuses: tuple[str, ...] | None, hidden: bool) -> tuple[Any, ...]:
    """The conditions of the images of a region (``region``) a caller (``project``: the caller's
    project or "") sees with this visibility filter and these member statuses (None: any), built
    once per shape with those two as bound parameters (docs/decisions/0051-computed-list-path.md)."""
    found = [Image.status.not_in(("deleted", "pending_delete")), in_region(_REGION)]
    if visibility in (None, "all"):
        if not is_admin:
            visible = [Image.visibility == "public", Image.owner == _PROJECT,
                       and_(Image.visibility == "shared", _member_of(_PROJECT, statuses))]
            if visibility == "all":
                visible.append(Image.visibility == "community")
            found.append(or_(*visible))
        elif visibility is None:
            found.append(or_(Image.visibility != "community", Image.owner == _PROJECT))
    else:
        found.append(Image.visibility == visibility)
        if not is_admin:
            if visibility == "private":
                found.append(Image.owner == _PROJECT)
            elif visibility == "shared":
                found.append(or_(Image.owner == _PROJECT, _member_of(_PROJECT, statuses)))
    found.append(Image.os_hidden.is_(hidden))
    return tuple(found)


def _matching(ctx: AuthContext, filters: dict[str, str]) -> tuple[list[Any], Callable[[Any], bool] | None]:
    """The conditions of the images the caller may see that match ``filters`` (see
    :func:`list_images`), and the test of what SQL cannot check (additional properties: free-form
    JSON) or None. :raises Invalid: a bad filter value."""
    filters = dict(filters)
    visibility = filters.pop("visibility", None)
    member_status = filters.pop("member_status", "accepted")
    if member_status not in ("accepted", "pending", "rejected", "all"):
        raise Invalid(f"Invalid status value: {member_status}")
    if visibility is not None and visibility not in (*VISIBILITIES, "all"):
        raise Invalid(f"Invalid visibility value: {visibility}")
    hidden = filters.pop("os_hidden", None)
    found = [*_seen(ctx.is_admin, visibility, None if member_status == "all" else (member_status,),
                    _bool("os_hidden", hidden) if hidden is not None else False)]
    for name in ("name", "status", "owner", "id", "disk_format", "container_format"):
        if name in filters:
            found.append(_match(getattr(Image, name), filters.pop(name)))
    if "protected" in filters:
        found.append(Image.protected.is_(_bool("protected", filters.pop("protected"))))
    if "size" in filters:
        found.append(Image.size == _int("size", filters.pop("size")))
    if "size_min" in filters:
        found.append(Image.size >= _int("size_min", filters.pop("size_min")))
    if "size_max" in filters:
        found.append(Image.size <= _int("size_max", filters.pop("size_max")))
    for name in ("created_at", "updated_at"):
        if name in filters:
            found.append(_time_filter(getattr(Image, name), name, filters.pop(name)))
    if "tag" in filters:
        for tag in filters.pop("tag").split("\x00"):
            found.append(exists().where(ImageTag.image_id == Image.id, ImageTag.value == tag))
    # what is left: additional properties, matched in Python (they are free-form JSON)
    keep = (lambda i: all(str((i.properties or {}).get(k)) == v for k, v in filters.items())) if filters else None
    return found, keep


def _missing(marker: str) -> Invalid:
    return Invalid(f"Invalid marker. Image {marker} could not be found.")


def list_images(session: Session, ctx: AuthContext, filters: dict[str, str], *, region: str,
                limit: int | None = None, marker: str | None = None,
                sort: Iterable[tuple[str, str]] = (("created_at", "desc"),)) -> tuple[list[Image], str | None]:
    """Images of ``region`` (:func:`in_region`) the caller may see matching ``filters``; returns
    (page, next marker or None).

    Filters: name, status, visibility, owner, id, disk_format, container_format (each takes
    ``in:``), tag, size, size_min, size_max, protected, os_hidden, member_status, created_at and
    updated_at (``gt:``/``gte:``/``lt:``/``lte:``/``eq:``/``neq:`` a time); anything else is an
    additional property. :raises Invalid: bad filter, sort, limit or marker.
    """
    found, keep = _matching(ctx, filters)
    return paging.page(session, select(Image).where(*found), Image, sort=sort, sort_keys=SORT_KEYS, limit=limit, marker=marker,
                       missing=_missing, keep=keep, params={"region": region, "project": _owner(ctx) or ""})


_I = Image.__table__.c  # table columns: a cached statement's result map then matches them by identity
#: what a row of the Glance list carries: the columns the image view reads, and whether it has tags
_ROW_COLUMNS = tuple(_I[name] for name in (
    "id", "name", "status", "visibility", "protected", "os_hidden", "checksum", "os_hash_algo", "os_hash_value",
    "owner", "size", "virtual_size", "min_ram", "min_disk", "disk_format", "container_format", "location",
    "locations", "properties", "created_at", "updated_at")) + (
    select(ImageTag.image_id).where(ImageTag.image_id == _I.id).exists().label("has_tags"),)
ListedImage = collections.namedtuple("ListedImage", [c.name for c in _ROW_COLUMNS])
#: built once: the statement cache then only expands the id list
_TAGS_OF = (select(ImageTag.image_id, ImageTag.value).where(ImageTag.image_id.in_(bindparam("ids", expanding=True)))
            .order_by(ImageTag.value))


@functools.lru_cache(maxsize=256)  # a sort may repeat its keys: no unbounded cache
def _rows_statement(is_admin: bool, sort: tuple[tuple[str, str], ...]) -> Select[Any]:
    """The list of rows sorted by ``sort``, before any filter (one per shape)."""
    return select(*_ROW_COLUMNS).order_by(*paging.order_by(_I, sort, SORT_KEYS))


def list_image_rows(session: Session, ctx: AuthContext, filters: dict[str, str], *, region: str,
                    limit: int | None = None, marker: str | None = None,
                    sort: Iterable[tuple[str, str]] = (("created_at", "desc"),)
                    ) -> tuple[list[Any], dict[str, list[str]], str | None]:
    """:func:`list_images` as rows, not ORM objects (docs/decisions/0051-computed-list-path.md):
    the same images in the same order and page; returns (rows, tags by image id, next marker or
    None). Each row (:data:`ListedImage`) has the attributes of :class:`Image` the image view
    reads; the tags are read by one statement for the rows of the page that have any (none when
    no row has one). :raises Invalid: as :func:`list_images`."""
    found, keep = _matching(ctx, filters)  # a bad filter's fault before a bad sort's, as list_images
    query = _rows_statement(ctx.is_admin, tuple(sort)).where(*found)
    size = paging.page_size(limit)
    if marker is None and keep is None and size is not None:  # the first page, all in SQL: only its rows
        query = query.limit(size)
    result = session.connection().execute(query, {"region": region, "project": _owner(ctx) or ""})
    rows = [ListedImage._make(row) for row in result.all()]  # a named tuple's attributes read faster than a Row's
    if keep is not None:
        rows = [row for row in rows if keep(row)]
    page, next_marker = paging.cut(rows, limit=limit, marker=marker, missing=_missing)
    tags: dict[str, list[str]] = {}
    with_tags = [row.id for row in page if row.has_tags]
    for start in range(0, len(with_tags), paging.MAX_LIMIT):
        for image_id, value in session.connection().execute(_TAGS_OF, {"ids": with_tags[start:start + paging.MAX_LIMIT]}):
            tags.setdefault(image_id, []).append(value)
    return page, tags, next_marker


def delete(session: Session, ctx: AuthContext, image_id: str,
           image_dir: "Path | ImageStore | None" = None, *, region: str, request_id: str | None = None) -> Image:
    """Delete an image the caller owns (admins: any); returns the deleted record. Copies a
    region's backend made for Overcast (snapshots) are deleted there by ``image.delete_backend``
    operations, after this commits.

    With ``image_dir`` (a store, or as Nova's proxy passes it the filesystem store's folder) the
    data goes too; otherwise the caller removes it (``ImageCore.store_for``) once this commits.
    :raises NotFound: :raises Forbidden: not the owner, the image is protected, or it is one of a
        backend's own images (Overcast lists it, the backend owns it).
    """
    from overcast.core.image.writes import require

    image = get(session, ctx, image_id, region=region)
    require(ctx, image, "delete_image", "delete")
    if image.protected:
        raise Forbidden(f"Image {image_id} is protected and cannot be deleted.")
    if (image.properties or {}).get(BACKEND_PROPERTY):
        raise Forbidden(f"Image {image_id} is an image of the backend of region {image.cloud}; it cannot be "
                        "deleted through Overcast.")
    delete_backend_images(session, [image], request_id=request_id, user_id=ctx.user_id)
    session.flush()
    if image_dir is not None:
        data = image_dir if isinstance(image_dir, ImageStore) else FilesystemStore(Path(image_dir))
        data.delete(image.id)
    return image


# -- images a region's backend holds -------------------------------------------------------------

#: the operation that deletes a backend's copy of an image Overcast no longer has
BACKEND_DELETE = "image.delete_backend"
#: in ``ImageLocation.extra``: the backend made this copy for Overcast (a snapshot), so Overcast deletes it
OWNED = "overcast:made"
#: the property that marks an image as one of a region's backend's own images (its value: the region)
BACKEND_PROPERTY = "overcast_backend_region"


def delete_backend_images(session: Session, images: Iterable[Image], *, request_id: str | None = None,
                          user_id: str | None = None) -> None:
    """Delete ``images``' records; the copies backends made of them for Overcast go by
    ``image.delete_backend`` operations (one per region holding one), after this transaction."""
    for image in images:
        for location in session.scalars(select(ImageLocation).where(ImageLocation.image_id == image.id)):
            if (location.extra or {}).get(OWNED):
                enqueue(session, kind=BACKEND_DELETE, cloud=location.cloud, resource_type="image",
                        resource_id=image.id, params={"backend_id": location.backend_id}, action="delete",
                        request_id=request_id, user_id=user_id, project_id=image.owner)
        session.delete(image)


def backend_image_id(region: str, backend_id: str) -> str:
    """The Overcast id of a backend's own image: the same for the same image at every refresh."""
    import uuid

    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"overcast:{region}:image:{backend_id}"))


def sync_backend_images(session: Session, region: str, offered: Iterable[Any]) -> None:
    """Keep ``region``'s own backend images (``ComputeDriver.images()``, each with its backend id)
    as public images of that region, marked with :data:`BACKEND_PROPERTY`: new ones appear, gone
    ones go. An image Overcast already knows by its location there (a snapshot it made) is left as it is."""
    known = {loc.backend_id: loc.image_id for loc in session.scalars(
        select(ImageLocation).where(ImageLocation.cloud == region))}
    listed = {}
    for item in offered:
        if not item.backend_id:
            continue
        listed[item.backend_id] = item
        if item.backend_id in known:
            continue
        image_id = backend_image_id(region, item.backend_id)
        if session.get(Image, image_id) is not None:
            continue
        session.add(Image(id=image_id, name=item.name, status="active", visibility="public", owner=None,
                          cloud=region, disk_format=item.disk_format, container_format=item.container_format,
                          size=item.size, min_disk=item.min_disk_gb, min_ram=item.min_ram_mb,
                          properties={**{k: str(v) for k, v in item.properties.items()}, BACKEND_PROPERTY: region}))
        session.flush()
        session.add(ImageLocation(image_id=image_id, cloud=region, backend_id=item.backend_id,
                                  extra=dict(item.extra)))
    for backend_id, image_id in known.items():
        image = session.get(Image, image_id)
        if backend_id not in listed and image is not None and (image.properties or {}).get(BACKEND_PROPERTY):
            session.delete(image)  # the backend no longer has it; it was never Overcast's
