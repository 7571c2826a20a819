"""Volume type encryption (Cinder's ``/types/{id}/encryption``): how volumes of a type are to be
encrypted, admin only. A type's encryption cannot change while volumes use the type, and a
retype may not change it. Overcast records it; it has no key manager, so its volumes are not
themselves encrypted.
"""

from __future__ import annotations

from typing import Any, Mapping

from sqlalchemy.orm import Session

from overcast.core.errors import Invalid, NotFound
from overcast.core.volume import types
from overcast.store.models import utcnow
from overcast.store.volume import VolumeType, VolumeTypeEncryption

FIELDS = ("provider", "cipher", "key_size", "control_location")


def get(vtype: VolumeType) -> VolumeTypeEncryption:
    """:raises NotFound: the type has no encryption (Cinder's VolumeTypeEncryptionNotFound)."""
    if vtype.encryption is None:
        raise NotFound(f"Volume type encryption for type {vtype.id} does not exist.")
    return vtype.encryption


def spec(vtype: VolumeType, key: str) -> Any:
    """One field of the type's encryption. :raises NotFound: no encryption, or no such field."""
    encryption = get(vtype)
    if key not in FIELDS:
        raise NotFound(f"Volume type encryption for type {vtype.id} does not exist.")
    return getattr(encryption, key)


def _unused(session: Session, vtype: VolumeType, action: str) -> None:
    if types.in_use(session, vtype):
        raise Invalid(f"Cannot {action} encryption specs. Volume type in use.")


def create(session: Session, vtype: VolumeType, values: Mapping[str, Any]) -> VolumeTypeEncryption:
    """:raises Invalid: the type is encrypted already, or volumes use it."""
    if vtype.encryption is not None:
        raise Invalid(f"Volume type encryption for type {vtype.id} already exists.")
    _unused(session, vtype, "create")
    vtype.encryption = VolumeTypeEncryption(volume_type_id=vtype.id, provider=values["provider"],
                                            cipher=values.get("cipher"), key_size=values.get("key_size"),
                                            control_location=values.get("control_location", "front-end"),
                                            created_at=utcnow())
    session.flush()
    return vtype.encryption


def update(session: Session, vtype: VolumeType, encryption_id: str, values: Mapping[str, Any]) -> None:
    """:raises NotFound: no such encryption. :raises Invalid: volumes use the type."""
    encryption = _named(vtype, encryption_id)
    _unused(session, vtype, "update")
    for key, value in values.items():
        setattr(encryption, key, value)
    encryption.updated_at = utcnow()


def delete(session: Session, vtype: VolumeType, encryption_id: str) -> None:
    """:raises NotFound: no such encryption. :raises Invalid: volumes use the type."""
    _named(vtype, encryption_id)
    _unused(session, vtype, "delete")
    vtype.encryption = None


def _named(vtype: VolumeType, encryption_id: str) -> VolumeTypeEncryption:
    encryption = get(vtype)
    if encryption.encryption_id != encryption_id:
        raise NotFound(f"Volume type encryption for type {vtype.id} does not exist.")
    return encryption


def same(a: VolumeType | None, b: VolumeType | None) -> bool:
    """Whether two types ask for the same encryption (both none counts)."""
    def fields(vtype: VolumeType | None) -> tuple | None:
        enc = vtype.encryption if vtype is not None else None
        return None if enc is None else tuple(getattr(enc, f) for f in FIELDS)
    return fields(a) == fields(b)
