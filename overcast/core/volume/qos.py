"""QoS specs (Cinder's ``/qos-specs``): named key-value limits, enforced by the hypervisor
(``front-end``), the storage (``back-end``) or both, and the volume types they are associated
with (a type has at most one). Admin only. Overcast records them; no driver enforces them yet.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.core.errors import Conflict, Invalid, NotFound
from overcast.core.volume import specs
from overcast.core.volume.listing import Page, paginate
from overcast.store.models import utcnow
from overcast.store.volume import QosSpecs, VolumeType, VolumeTypeQos

CONSUMERS = ("front-end", "back-end", "both")
SORT_KEYS = ("id", "name", "consumer", "created_at")
FILTERS = ("id", "name", "consumer")


def get(session: Session, qos_id: str) -> QosSpecs:
    """:raises NotFound: no such QoS specs (Cinder's QoSSpecsNotFound)."""
    qos = session.get(QosSpecs, qos_id)
    if qos is None:
        raise NotFound(f"No such QoS spec {qos_id}.")
    return qos


def list_specs(session: Session, page: Page, filters: Mapping[str, str]) -> tuple[list[QosSpecs], bool]:
    """The specs whose ``id``/``name``/``consumer`` equal ``filters``. :raises NotFound: bad marker."""
    stmt = select(QosSpecs).where(*(getattr(QosSpecs, key) == value for key, value in filters.items()))
    return paginate(list(session.scalars(stmt)), page)


def _consumer(value: str) -> str:
    """:raises Invalid: not one of :data:`CONSUMERS` (Cinder's InvalidQoSSpecs)."""
    if value not in CONSUMERS:
        raise Invalid(f"Invalid qos specs: Valid consumer of QoS specs are: {list(CONSUMERS)}")
    return value


def create(session: Session, name: str, values: Mapping[str, Any]) -> QosSpecs:
    """``values``: the specs, and ``consumer`` (``back-end`` when absent).

    :raises Conflict: the name exists. :raises Invalid: an unknown consumer.
    """
    if session.scalar(select(QosSpecs.id).where(QosSpecs.name == name)) is not None:
        raise Conflict(f"QoS Specs {name} already exists.")
    qos = QosSpecs(name=name, consumer=_consumer(values.get("consumer", "back-end")),
                   specs={k: v for k, v in values.items() if k != "consumer"}, created_at=utcnow())
    session.add(qos)
    session.flush()
    return qos


def update(qos: QosSpecs, values: Mapping[str, Any]) -> None:
    """Set specs (and ``consumer``, if given). :raises Invalid: an unknown consumer."""
    if "consumer" in values:
        qos.consumer = _consumer(values["consumer"])
    specs.merge(qos, "specs", {k: v for k, v in values.items() if k != "consumer"})
    qos.updated_at = utcnow()


def delete_keys(qos: QosSpecs, keys: Sequence[str]) -> None:
    """Drop specs; the caller's transaction makes it all or nothing.

    :raises NotFound: a key the specs do not have (Cinder's QoSSpecsKeyNotFound).
    """
    for key in keys:
        specs.remove(qos, "specs", key, f"QoS spec {qos.id} has no spec with key {key}.")
    qos.updated_at = utcnow()


def associations(session: Session, qos: QosSpecs) -> list[VolumeType]:
    """The volume types associated with ``qos``."""
    return list(session.scalars(select(VolumeType).join(VolumeTypeQos).where(VolumeTypeQos.qos_specs_id == qos.id)
                                .order_by(VolumeType.name)))


def associate(qos: QosSpecs, vtype: VolumeType) -> None:
    """Associate ``vtype`` with ``qos`` (again is a no-op).

    :raises Invalid: the type is associated with other specs (Cinder's InvalidVolumeType).
    """
    if vtype.qos is None:
        vtype.qos = VolumeTypeQos(volume_type_id=vtype.id, qos_specs_id=qos.id)
    elif vtype.qos.qos_specs_id != qos.id:
        raise Invalid(f"Invalid volume type: Type {vtype.id} is already associated with another qos specs: "
                      f"{vtype.qos.qos_specs_id}")


def disassociate(qos: QosSpecs, vtype: VolumeType) -> None:
    """Drop the type's association with ``qos``, if it has that one."""
    if vtype.qos is not None and vtype.qos.qos_specs_id == qos.id:
        vtype.qos = None


def disassociate_all(session: Session, qos: QosSpecs) -> None:
    for vtype in associations(session, qos):
        vtype.qos = None


def delete(session: Session, qos: QosSpecs, force: bool) -> None:
    """Delete ``qos``; with ``force`` its associations go too (the database cascades the delete).

    :raises Invalid: volume types are associated with it and not ``force`` (Cinder's QoSSpecsInUse).
    """
    if not force and associations(session, qos):
        raise Invalid("Qos specs still in use.")
    session.delete(qos)
