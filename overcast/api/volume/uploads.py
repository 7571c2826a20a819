"""``os-volume_upload_image`` (``POST /volumes/{id}/action``): its request schemas (Cinder's
volume_upload_image, with ``visibility`` and ``protected`` from 3.1) and its 202 answer."""

from __future__ import annotations

from typing import Any

import falcon
from sqlalchemy.orm import Session

from overcast.api.validation import validate
from overcast.api.volume import schemas
from overcast.api.volume.common import at_least, caller, enforce, parse_bool
from overcast.api.volume.views import VolumeViews, timestamp
from overcast.core.image.writes import CONTAINER_FORMATS
from overcast.core.volume import VolumeCore, uploads
from overcast.core.volume.volumes import volume_type
from overcast.store.image import Image
from overcast.store.volume import Volume, VolumeType

#: the microversion that adds ``visibility`` and ``protected``
UPLOAD_PARAMS = "3.1"
_PROPERTIES: dict[str, Any] = {
    "image_name": {"type": "string", "minLength": 1, "maxLength": 255},
    "force": schemas.BOOLEAN,
    "disk_format": {"type": "string", "enum": ["raw", "vmdk", "vdi", "qcow2", "vhd", "vhdx", "ploop"]},
    "container_format": {"type": ["string", "null"], "enum": [*CONTAINER_FORMATS, None]},
}
SCHEMA = {"type": "object", "properties": _PROPERTIES, "required": ["image_name"], "additionalProperties": False}
SCHEMA_31 = {**SCHEMA, "properties": {
    **_PROPERTIES, "visibility": {"type": "string", "enum": ["community", "public", "private", "shared"]},
    "protected": schemas.BOOLEAN}}


def _type(req: falcon.Request, vtype: VolumeType | None) -> dict[str, Any] | None:
    """The volume's type as Cinder serialises its record here (extra specs for admins only)."""
    if vtype is None:
        return None
    return {**VolumeViews.volume_type(req, vtype, access=False), "created_at": timestamp(vtype.created_at),
            "updated_at": None, "deleted": False, "deleted_at": None}


def view(req: falcon.Request, session: Session, volume: Volume, image: Image) -> dict[str, Any]:
    return {"os-volume_upload_image": {
        "id": volume.id, "updated_at": timestamp(volume.updated_at), "status": volume.status,
        "display_description": volume.description, "size": volume.size,
        "volume_type": _type(req, volume_type(session, volume)), "image_id": image.id,
        "container_format": image.container_format, "disk_format": image.disk_format, "image_name": image.name,
        "visibility": image.visibility, "protected": image.protected}}


def upload_image(req: falcon.Request, session: Session, core_: VolumeCore, volume: Volume,
                 args: dict[str, Any]) -> dict[str, Any]:
    """Start the upload; returns Cinder's answer.

    :raises faults.BadRequest: a body the schema refuses. :raises Forbidden: public without admin.
    :raises NotImplementedYet, Invalid: see :func:`uploads.start`.
    """
    v31 = at_least(req, UPLOAD_PARAMS)
    args = validate(args, SCHEMA_31 if v31 else SCHEMA)
    visibility = args.get("visibility", "private") if v31 else None
    if visibility == "public":
        enforce(req, "volume_extension:volume_actions:upload_public")
    spec = uploads.UploadSpec(
        image_name=args["image_name"], disk_format=args.get("disk_format", "raw"),
        container_format=args.get("container_format") or "bare", visibility=visibility,
        protected=parse_bool("protected", args.get("protected", False)),
        force=parse_bool("force", args.get("force", False)))
    image = uploads.start(session, caller(req), volume, spec,
                          capabilities=core_.volume_driver(volume.cloud).capabilities,
                          request_id=req.context.request_id)
    return view(req, session, volume, image)
