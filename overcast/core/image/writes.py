"""Glance's rules for changing images: create, JSON Patch updates, tags, deactivate/reactivate.

Messages and statuses follow Glance v2 (``glance/api/v2/images.py`` and the domain model): a
read-only attribute is 403 "Attribute 'x' is read-only.", an ``os_glance_*`` name 403 "reserved",
a replace or remove of a property that is not there 409, a bad JSON pointer 400.
"""

from __future__ import annotations

import re
import uuid
from typing import Any, Mapping, Sequence

from sqlalchemy.orm import Session

from overcast.core import policy
from overcast.core.context import AuthContext
from overcast.core.errors import Conflict, Forbidden, Invalid, NotFound
from overcast.core.image import get
from overcast.core.image.locations import Locations
from overcast.store.image import Image, ImageTag
from overcast.store.models import utcnow

DISK_FORMATS = ("ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop")
CONTAINER_FORMATS = ("ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed")
#: never accepted in a request body (create: 403 read-only)
DISALLOWED = ("direct_url", "self", "file", "schema", "stores")
READ_ONLY = ("created_at", "updated_at", "status", "checksum", "size", "virtual_size", "direct_url", "self",
             "file", "schema", "id", "os_hash_algo", "os_hash_value", "stores")
RESERVED = ("location", "deleted", "deleted_at")
RESERVED_NAMESPACE = "os_glance"
#: attributes that are record columns (the rest are additional properties)
BASE = ("id", "name", "status", "visibility", "protected", "os_hidden", "checksum", "os_hash_algo",
        "os_hash_value", "owner", "size", "virtual_size", "min_ram", "min_disk", "disk_format",
        "container_format", "created_at", "updated_at", "tags", "locations", "direct_url", "self", "file",
        "schema", "stores")
WRITABLE = ("name", "visibility", "protected", "os_hidden", "owner", "min_ram", "min_disk", "disk_format",
            "container_format", "tags")
#: Glance's image_tag_quota and image_property_quota defaults
TAG_QUOTA = 128
PROPERTY_QUOTA = 128
PATCH_TYPES = {"application/openstack-images-v2.0-json-patch": 4,
               "application/openstack-images-v2.1-json-patch": 10}
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class TooMany(Invalid):
    """A quota on tags or properties (Glance answers 413)."""

    status = 413


def _check_reserved(key: str) -> None:
    if key in RESERVED or key.startswith(RESERVED_NAMESPACE):
        raise Forbidden(f"Attribute '{key}' is reserved.")


def is_owner(ctx: AuthContext, image: Image) -> bool:
    return ctx.is_admin or (image.owner is not None and image.owner == ctx.project_id)


def require_member(ctx: AuthContext, rule: str = "add_image") -> None:
    """Glance's ``rule`` (core/image/policies.py) in the caller's own project: changing images
    needs the member (or admin) role; a reader only reads. :raises Forbidden:"""
    if not policy.allowed(rule, ctx, {"project_id": ctx.project_id}):
        raise Forbidden("You are not authorized to complete this action: the member role is required.")


def require(ctx: AuthContext, image: Image, rule: str, doing: str) -> None:
    """Glance's ``rule`` on ``image`` (the owner's members and admins).

    :raises Forbidden: another project's image ("not permitted to <doing>"), or a role that may
        not (a reader).
    """
    if policy.allowed(rule, ctx, {"project_id": image.owner}):
        return
    if not is_owner(ctx, image):
        raise Forbidden(f"You are not permitted to {doing} this image.")
    raise Forbidden("You are not authorized to complete this action: the member role is required.")


#: what :func:`writable` is asked to do -> Glance's rule for it
_RULES = {"modify": "modify_image", "deactivate": "deactivate", "reactivate": "reactivate",
          "upload data to": "upload_image", "stage data for": "upload_image", "import": "modify_image"}


def writable(session: Session, ctx: AuthContext, image_id: str, action: str = "modify", *, region: str) -> Image:
    """The image if the caller may ``action`` it. :raises NotFound: not visible.
    :raises Forbidden: not the owner, or not a member."""
    image = get(session, ctx, image_id, region=region)
    require(ctx, image, _RULES[action], action)
    return image


def _check_visibility(ctx: AuthContext, visibility: str) -> None:
    if visibility == "public" and not ctx.is_admin:
        raise Forbidden("You are not authorized to complete publicize_image action.")


def _check_owner(ctx: AuthContext, owner: Any) -> None:
    if not ctx.is_admin and owner != ctx.project_id:
        raise Forbidden(f"You are not permitted to create images owned by '{owner}'.")


def _tag(value: str) -> str:
    if not isinstance(value, str) or len(value) > 255:
        raise Invalid("Provided object does not match schema 'image': tags items must be strings of at most "
                      "255 characters")
    return value


def refuse_read_only(body: Mapping[str, Any]) -> None:
    """Glance checks these before the schema. :raises Forbidden: a read-only attribute in a create body."""
    for key in (*DISALLOWED, *READ_ONLY, "locations"):
        if key in body and key != "id":
            raise Forbidden(f"Attribute '{key}' is read-only.")


def create(session: Session, ctx: AuthContext, body: Mapping[str, Any]) -> Image:
    """A new queued image from a request body already validated against the image schema.

    :raises Forbidden: read-only, reserved, public without admin, someone else as owner.
    :raises Conflict: the id exists. :raises TooMany: too many tags or properties.
    """
    require_member(ctx)
    body = dict(body)
    refuse_read_only(body)
    extra = {k: v for k, v in body.items() if k not in BASE}
    for key in extra:
        if len(key) > 255:
            raise Invalid("Custom property should not be greater than 255 characters.")
        _check_reserved(key)
    if len(extra) > PROPERTY_QUOTA:
        raise TooMany(f"Maximum number of properties ({PROPERTY_QUOTA}) exceeded.")
    tags = list(dict.fromkeys(_tag(t) for t in body.get("tags") or []))
    if len(tags) > TAG_QUOTA:
        raise TooMany(f"Maximum number of tags ({TAG_QUOTA}) exceeded.")
    visibility = body.get("visibility") or "shared"
    _check_visibility(ctx, visibility)
    owner = body["owner"] if "owner" in body else ctx.project_id
    if "owner" in body:
        _check_owner(ctx, owner)
    image_id = body.get("id") or str(uuid.uuid4())
    if session.get(Image, image_id) is not None:
        raise Conflict(f"Image with identifier {image_id} already exists!")
    now = utcnow()
    image = Image(id=image_id, name=body.get("name"), status="queued", visibility=visibility, owner=owner,
                  protected=bool(body.get("protected", False)), os_hidden=bool(body.get("os_hidden", False)),
                  disk_format=body.get("disk_format"), container_format=body.get("container_format"),
                  min_disk=body.get("min_disk") or 0, min_ram=body.get("min_ram") or 0, properties=extra,
                  created_at=now, updated_at=now)
    image.tags = [ImageTag(image_id=image_id, value=t) for t in tags]
    session.add(image)
    session.flush()
    return image


# --- JSON Patch ---------------------------------------------------------------------------------------


def _pointer(pointer: Any) -> list[str]:
    """Glance's restricted JSON pointer, decoded. :raises Invalid:"""
    if not isinstance(pointer, str):
        raise Invalid(f"Pointer `{pointer}` does not start with \"/\".")
    if not pointer.startswith("/"):
        raise Invalid(f"Pointer `{pointer}` does not start with \"/\".")
    if re.search(r"/\s*?/", pointer[1:]):
        raise Invalid(f"Pointer `{pointer}` contains adjacent \"/\".")
    if len(pointer) > 1 and pointer.endswith("/"):
        raise Invalid(f"Pointer `{pointer}` end with \"/\".")
    if pointer[1:].strip() == "/":
        raise Invalid(f"Pointer `{pointer}` does not contains valid token.")
    if re.search("~[^01]", pointer) or pointer.endswith("~"):
        raise Invalid(f"Pointer `{pointer}` contains \"~\" not part of a recognized escape sequence.")
    return [part.replace("~1", "/").replace("~0", "~").strip() for part in pointer.lstrip("/").split("/")]


def parse_patch(body: Any, draft: int) -> list[dict[str, Any]]:
    """Glance's RequestDeserializer.update: ops, paths, values, read-only and reserved attributes.

    :raises Invalid: malformed. :raises Forbidden: read-only or reserved attribute.
    """
    if not isinstance(body, list):
        raise Invalid("Request body must be a JSON array of operation objects.")
    changes = []
    ops = ("add", "remove", "replace")
    for raw in body:
        if not isinstance(raw, dict):
            raise Invalid("Operations must be JSON objects.")
        if draft == 10:
            op = raw.get("op")
            if op is None:
                raise Invalid("Unable to find `op` in JSON Schema change. It must be one of the following: "
                              "add, remove, replace.")
            if op not in ops:
                raise Invalid(f"Invalid operation: `{op}`. It must be one of the following: add, remove, replace.")
            if "path" not in raw:
                raise Invalid("Unable to find 'path' in JSON Schema change")
            pointer = raw["path"]
        else:
            found = [k for k in ops if k in raw]
            if len(found) > 1:
                raise Invalid('Operation objects must contain only one member named "add", "remove", or '
                              '"replace".')
            if not found:
                raise Invalid('Operation objects must contain exactly one member named "add", "remove", or '
                              '"replace".')
            op = found[0]
            pointer = raw[op]
        path = _pointer(pointer)
        # a location's position (add, remove) is the one pointer of two tokens Glance takes
        at_location = path[0] == "locations" and op != "replace"
        if len(path) != (2 if at_location else 1):
            raise Invalid(f"Invalid JSON pointer for this resource: '/{'/'.join(path)}'")
        change: dict[str, Any] = {"op": op, "path": path[0], "draft": draft}
        if at_location:
            change["position"] = path[1]
        if op != "remove":
            if "value" not in raw:
                raise Invalid(f'Operation "{op}" requires a member named "value".')
            change["value"] = raw["value"]
        root = path[0]
        if root in READ_ONLY:
            raise Forbidden(f"Attribute '{root}' is read-only.")
        _check_reserved(root)
        changes.append(change)
    return changes


def _set_base(session: Session, ctx: AuthContext, image: Image, key: str, value: Any) -> None:
    if key == "tags":
        tags = list(dict.fromkeys(_tag(t) for t in value))
        if len(tags) > TAG_QUOTA:
            raise TooMany(f"Maximum number of tags ({TAG_QUOTA}) exceeded.")
        image.tags = [ImageTag(image_id=image.id, value=t) for t in tags]
        return
    if key == "owner" and not ctx.is_admin:
        raise Forbidden("Owner can't be updated by non admin.")
    if key == "visibility":
        _check_visibility(ctx, value)
    if key in ("min_ram", "min_disk") and value is None:
        value = 0
    setattr(image, key, value)


def apply_patch(session: Session, ctx: AuthContext, image_id: str, changes: Sequence[Mapping[str, Any]],
                validate: Any = None, *, region: str, locations: Locations | None = None) -> Image:
    """Apply parsed changes in order (all or nothing: the caller's transaction).

    ``validate(partial_body)`` checks a value against the image schema (raises Invalid).
    ``locations``: the location rules when locations are shown (Glance's show_multiple_locations);
    None: a change of ``/locations`` is refused.
    :raises NotFound: :raises Forbidden: :raises Conflict: :raises Invalid:
    """
    image = writable(session, ctx, image_id, region=region)
    props = dict(image.properties or {})
    for change in changes:
        op, key = change["op"], change["path"]
        if key == "locations":
            if locations is None:
                raise Forbidden("It's not allowed to update locations if locations are invisible.")
            _change_locations(ctx, image, change, locations, validate)
            continue
        if op != "remove" and validate is not None:
            validate({key: change["value"]})
        if op == "remove":
            if key in WRITABLE:
                raise Forbidden(f"Property {key} may not be removed.")
            if key not in props:
                raise Conflict(f"Property {key} does not exist.")
            del props[key]
        elif op == "add" and change.get("draft") == 4 and (key in WRITABLE or key in props):
            raise Conflict(f"Property {key} already present.")
        elif key in WRITABLE:
            _set_base(session, ctx, image, key, change["value"])
        elif op == "replace":
            if key not in props:
                raise Conflict(f"Property {key} does not exist.")
            props[key] = change["value"]
        else:  # add: Glance adds a new property or replaces an existing one's value
            props[key] = change["value"]
    if len(props) > PROPERTY_QUOTA:
        raise TooMany(f"Maximum number of properties ({PROPERTY_QUOTA}) exceeded.")
    image.properties = props
    image.updated_at = utcnow()
    session.flush()
    return image


def _change_locations(ctx: AuthContext, image: Image, change: Mapping[str, Any], locations: Locations,
                      validate: Any) -> None:
    """One change of ``/locations``, with Glance's rule for it (set_image_location, or
    delete_image_location to remove one). :raises Forbidden: :raises Conflict: :raises Invalid:"""
    op = change["op"]
    if op == "remove":
        require(ctx, image, "delete_image_location", "remove locations of")
        locations.remove(ctx, image, change["position"])
        return
    require(ctx, image, "set_image_location", "set locations of")
    value = change["value"]
    if validate is not None:
        validate({"locations": value if op == "replace" else [value]})
    if op == "replace":
        locations.replace(ctx, image, value)
    else:
        locations.add(ctx, image, change["position"], value)


# --- tags, actions ------------------------------------------------------------------------------------


def add_tag(session: Session, ctx: AuthContext, image_id: str, tag: str, *, region: str) -> None:
    """:raises NotFound: :raises Forbidden: :raises Invalid: too long. :raises TooMany:"""
    image = writable(session, ctx, image_id, region=region)
    if len(tag) > 255:
        raise Invalid(f"Provided object does not match schema 'image': '{tag}' is too long")
    if any(t.value == tag for t in image.tags):
        return
    if len(image.tags) >= TAG_QUOTA:
        raise TooMany(f"Maximum number of tags ({TAG_QUOTA}) exceeded.")
    image.tags.append(ImageTag(image_id=image.id, value=tag))
    image.updated_at = utcnow()


def delete_tag(session: Session, ctx: AuthContext, image_id: str, tag: str, *, region: str) -> None:
    """:raises NotFound: image or tag. :raises Forbidden:"""
    image = writable(session, ctx, image_id, region=region)
    for existing in list(image.tags):
        if existing.value == tag:
            image.tags.remove(existing)
            image.updated_at = utcnow()
            return
    raise NotFound(f"Tag {tag} not found.")


def deactivate(session: Session, ctx: AuthContext, image_id: str, *, region: str) -> None:
    """The owner (member role) or an admin, as Glance's defaults. :raises Forbidden: :raises NotFound:"""
    image = writable(session, ctx, image_id, "deactivate", region=region)
    if image.status == "deactivated":
        return
    if image.status != "active":
        raise Forbidden(f"Not allowed to deactivate image in status '{image.status}'")
    image.status = "deactivated"
    image.updated_at = utcnow()


def reactivate(session: Session, ctx: AuthContext, image_id: str, *, region: str) -> None:
    """The owner (member role) or an admin. :raises Forbidden: :raises NotFound:"""
    image = writable(session, ctx, image_id, "reactivate", region=region)
    if image.status == "active":
        return
    if image.status != "deactivated":
        raise Forbidden(f"Not allowed to reactivate image in status '{image.status}'")
    image.status = "active"
    image.updated_at = utcnow()


def valid_id(image_id: str) -> bool:
    return bool(_UUID.match(image_id))

