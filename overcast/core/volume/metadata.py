"""Metadata of volumes and snapshots (a JSON column ``metadata_`` on each record), and a volume's
image metadata (Cinder's volume_glance_metadata: copied from the image, changed by os-set_image_metadata)."""

from __future__ import annotations

from typing import Any, Mapping

from overcast.core.errors import NotFound
from overcast.store.models import utcnow
from overcast.store.volume import Snapshot, Volume

Record = Volume | Snapshot


def _what(record: Record) -> str:
    return "Volume" if isinstance(record, Volume) else "Snapshot"


def item(record: Record, key: str) -> str:
    """:raises NotFound: no such key (Cinder's VolumeMetadataNotFound / SnapshotMetadataNotFound)."""
    try:
        return record.metadata_[key]
    except KeyError:
        raise NotFound(f"{_what(record)} {record.id} has no metadata with key {key}.") from None


def update(record: Record, values: Mapping[str, Any], *, replace: bool = False) -> dict[str, str]:
    """Merge ``values`` into the metadata (or replace it all); returns the new metadata."""
    new = {k: str(v) for k, v in values.items()}
    record.metadata_ = new if replace else {**(record.metadata_ or {}), **new}
    record.updated_at = utcnow()
    return dict(record.metadata_)


def delete_item(record: Record, key: str) -> None:
    """:raises NotFound: no such key."""
    item(record, key)
    record.metadata_ = {k: v for k, v in record.metadata_.items() if k != key}
    record.updated_at = utcnow()


def matches(record: Record, wanted: Mapping[str, Any]) -> bool:
    """The metadata filter of list calls: every wanted key has the wanted value."""
    return all((record.metadata_ or {}).get(k) == str(v) for k, v in wanted.items())


def set_image_metadata(volume: Volume, values: Mapping[str, Any]) -> dict[str, str]:
    """Merge ``values`` into the volume's image metadata; returns all of it."""
    volume.image_metadata = {**(volume.image_metadata or {}), **{k: str(v) for k, v in values.items()}}
    volume.updated_at = utcnow()
    return dict(volume.image_metadata)


def unset_image_metadata(volume: Volume, key: str) -> None:
    """:raises NotFound: no such key (Cinder's GlanceMetadataNotFound)."""
    if key not in (volume.image_metadata or {}):
        raise NotFound(f"Glance metadata for volume/snapshot {volume.id} cannot be found.")
    volume.image_metadata = {k: v for k, v in volume.image_metadata.items() if k != key}
    volume.updated_at = utcnow()
