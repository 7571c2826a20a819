"""``os-volume_upload_image``: a volume's data into a new image (Cinder's copy_volume_to_image).

:func:`start` (in the request) checks that the region's driver can read volumes and that the
volume is ``available`` (or ``in-use`` with ``force``), records a queued image owned by the
volume's project through Glance's create rules (the volume's image metadata, less Glance's core
properties, becomes its properties, as Cinder copies it), moves the volume to ``uploading`` and
enqueues ``volume.upload_image``, all in one transaction.

:class:`Uploads` (in a worker) streams :meth:`VolumeDriver.read` into the image store through
Glance's upload path (``saving``, then ``active`` with size, checksum and os_hash) and gives the
volume its previous status back. The bytes are stored as the volume holds them: Overcast converts
no disk format, so ``disk_format`` only labels them. On failure the image is deleted (Cinder's
volume manager deletes a queued or saving image), the volume gets its previous status back and
the project a user message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from overcast.core.context import AuthContext
from overcast.core.errors import Gone, Invalid, NotImplementedYet
from overcast.core.image import ImageCore
from overcast.core.image import data as image_data
from overcast.core.image import writes as image_writes
from overcast.core.volume import UNSUPPORTED, VolumeCore, messages, states
from overcast.core.volume.volumes import find_volume, swap_status, touch
from overcast.drivers.errors import BuildFailed, Unavailable
from overcast.drivers.volume import Capability
from overcast.ops.engine import Job, done, enqueue
from overcast.store.image import Image
from overcast.store.volume import Volume

UPLOAD = "volume.upload_image"
#: Cinder's ``glance_core_properties``: volume image metadata not copied to the image
CORE_PROPERTIES = frozenset({"checksum", "container_format", "disk_format", "image_name", "image_id", "min_disk",
                             "min_ram", "name", "size"})
#: image statuses of an upload not yet finished
UNFINISHED = ("queued", "saving")


@dataclass(frozen=True)
class UploadSpec:
    """What the request asks for (the API checked the shapes)."""

    image_name: str
    disk_format: str = "raw"
    container_format: str = "bare"
    #: None leaves it to the image service (Cinder names none before 3.1)
    visibility: str | None = None
    protected: bool = False
    #: allow an ``in-use`` volume
    force: bool = False


def copied_properties(volume: Volume) -> dict[str, str]:
    """The volume's image metadata the image gets: not Glance's core properties, and nothing
    Glance keeps for itself (its attributes, reserved and ``os_glance_*`` names)."""
    return {k: v for k, v in (volume.image_metadata or {}).items()
            if k not in CORE_PROPERTIES and k not in image_writes.BASE and k not in image_writes.RESERVED
            and not k.startswith(image_writes.RESERVED_NAMESPACE)}


def start(session: Session, ctx: AuthContext, volume: Volume, spec: UploadSpec, *,
          capabilities: frozenset[Capability], request_id: str | None) -> Image:
    """Record the image and the volume ``uploading``, and enqueue the upload; returns the image.

    :raises NotImplementedYet: the volume's driver cannot read volumes.
    :raises Invalid: the volume is not available (or in-use, with ``force``), in Cinder's words.
    :raises Forbidden, TooMany: the image service refuses the image (see ``writes.create``).
    """
    if Capability.UPLOAD not in capabilities:
        raise NotImplementedYet(UNSUPPORTED)
    allowed = (states.AVAILABLE, states.IN_USE) if spec.force else (states.AVAILABLE,)
    previous = volume.status
    if previous not in allowed or not swap_status(session, volume, previous, states.UPLOADING):
        raise Invalid(f"Invalid volume: Volume {volume.id} status must be {' or '.join(allowed)}")
    body: dict[str, Any] = {**copied_properties(volume), "name": spec.image_name, "disk_format": spec.disk_format,
                            "container_format": spec.container_format, "owner": volume.project_id,
                            "protected": spec.protected}
    if spec.visibility is not None:
        body["visibility"] = spec.visibility
    image = image_writes.create(session, ctx, body)
    touch(volume)
    enqueue(session, kind=UPLOAD, cloud=volume.cloud, resource_type="volume", resource_id=volume.id,
            action="upload_image", params={"image_id": image.id, "previous_status": previous},
            request_id=request_id, user_id=ctx.user_id, project_id=volume.project_id)
    return image


def _give_back(volume: Volume | None, job: Job) -> None:
    """The volume's status before the upload, unless something else changed it since."""
    if volume is not None and volume.status == states.UPLOADING:
        volume.status = job.params["previous_status"]
        touch(volume)


class Uploads:
    """The ``volume.upload_image`` handler and its failure hook."""

    def __init__(self, core: VolumeCore, images: ImageCore):
        self.core = core
        self.images = images

    def run(self, job: Job, ctx: Any) -> Any:
        """Stream the volume into its image (again from the start after a crash).

        :raises BuildFailed: the volume has no backend volume, the image was deleted or is over
            ``[image] size_cap``. :raises Unavailable: the image store failed.
        """
        image_id = job.params["image_id"]
        with ctx.session() as session:
            volume = find_volume(session, job.resource_id)
            image = session.get(Image, image_id)
            if volume is None or volume.backend_id is None:
                raise BuildFailed(f"Volume {job.resource_id} has no backend volume to upload.")
            if image is None or image.status not in (*UNFINISHED, "active"):
                raise BuildFailed(f"Image {image_id} was deleted before volume {volume.id} was uploaded to it.")
            image_data.move(session, image_id, "queued", "saving")  # a retry finds it saving already
            backend_id, disk_format, finished = volume.backend_id, image.disk_format, image.status == "active"
        if not finished:
            self._write(job, backend_id, image_id, disk_format)
        with ctx.session() as session:
            _give_back(find_volume(session, job.resource_id), job)
        return done({"image_id": image_id})

    def _write(self, job: Job, backend_id: str, image_id: str, disk_format: str | None) -> None:
        chunks = self.core.volume_driver(job.cloud).read(job.call_context(), backend_id)
        try:
            written, virtual_size = image_data.write_data(self.images, image_id, chunks, disk_format)
            image_data.activate(self.images, image_id, "saving", written, virtual_size)
        except image_data.StoreUnavailable as exc:
            raise Unavailable(exc.message) from None
        except (image_data.TooLarge, Gone) as exc:
            raise BuildFailed(exc.message) from None

    def failed(self, job: Job, session: Session) -> None:
        """The unfinished image goes, the volume gets its status back, the project a message."""
        image = session.get(Image, job.params["image_id"])
        if image is not None and image.status in UNFINISHED:
            session.delete(image)
            self.images.data.delete(image.id)
        _give_back(find_volume(session, job.resource_id), job)
        messages.tell(session, job, messages.VOLUME, messages.COPY_VOLUME_TO_IMAGE, messages.FAILED_TO_UPLOAD_VOLUME)
