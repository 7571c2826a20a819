"""Cinder's volume reimage (``os-reimage``, 3.68), as Nova's rebuild of a volume-backed server
(2.93) asks it of the root volume: the region's volume driver writes the image over the volume,
whose ``volume_image_metadata`` then names the new image."""

from __future__ import annotations

from overcast.core.errors import NotFound
from overcast.core.image import ImageCore
from overcast.core.volume import VolumeCore
from overcast.core.volume.volumes import find_volume, image_metadata
from overcast.drivers.context import CallContext
from overcast.drivers.volume import Capability
from overcast.store.image import Image, ImageLocation
from overcast.store.models import utcnow


def supported(core: VolumeCore, region: str) -> bool:
    """Whether ``region``'s volume driver can reimage a volume."""
    return Capability.REIMAGE in core.volume_driver(region).capabilities


def reimage(core: VolumeCore, call: CallContext, volume_id: str, image_id: str) -> None:
    """Write image ``image_id`` over volume ``volume_id`` (Overcast's copy of the image's bytes when
    it has them, else the region's own copy), then record the image on the volume. Run outside
    any store transaction (the driver call); doing it twice gives the same volume.

    :raises NotFound: the volume or the image is gone. :raises DriverError: the backend failed it.
    """
    with core.store.session() as session:
        volume, image = find_volume(session, volume_id), session.get(Image, image_id)
        if volume is None or volume.backend_id is None or image is None:
            raise NotFound(f"Volume {volume_id} or image {image_id} could not be found.")
        backend_id, cloud = volume.backend_id, volume.cloud
        location = session.get(ImageLocation, (image_id, cloud))
        image_backend_id = location.backend_id if location is not None else None
    store = ImageCore(settings=core.settings, store=core.store).data
    data = store.get(image_id) if store.exists(image_id) else None
    core.volume_driver(cloud).reimage(call, backend_id, image_id, data, image_backend_id)
    with core.store.session() as session:
        volume, image = find_volume(session, volume_id), session.get(Image, image_id)
        if volume is not None and image is not None:
            volume.image_id = image.id
            volume.image_metadata = image_metadata(image)
            volume.updated_at = utcnow()
