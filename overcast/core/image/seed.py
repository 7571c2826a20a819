"""The ``cirros`` image every first start has, so ``openstack server create --image cirros`` works.

The payload is a small stand-in (a QCOW2 header and padding), written once under
``<data_dir>/images/<id>``; the record carries its real size, MD5 checksum and SHA-512 hash. Like
DevStack's, the image belongs to the admin project (Horizon shows its owner and looks it up).
"""

from __future__ import annotations

import hashlib
import os
import struct

from sqlalchemy import select

from overcast.core.context import AuthContext
from overcast.core.image import ImageCore
from overcast.core.image.metadefs import namespaces as metadef_namespaces
from overcast.core.image.metadefs.shipped import NAMESPACES
from overcast.store.metadefs import MetadefNamespace
from overcast.store.image import Image
from overcast.store.models import DEFAULT_DOMAIN_ID, Project

CIRROS_NAME = "cirros"
#: the project that owns it, as DevStack's images belong to its admin project
OWNER_PROJECT = "admin"
#: a fixed id, so every Overcast (and every test) knows the seeded image
CIRROS_ID = "b7c6b0a4-6e3e-4d8d-9c3b-2f0c6b6e7a11"
CIRROS_VIRTUAL_SIZE = 117440512  # 112 MiB, as cirros 0.6's disk
PAYLOAD_SIZE = 65536


def payload() -> bytes:
    """A QCOW2 v3 header announcing the virtual size, then deterministic padding."""
    # magic, version, backing file offset (8) and size (4), cluster bits, then the virtual size at 24
    header = b"QFI\xfb" + struct.pack(">I", 3) + b"\x00" * 12 + struct.pack(">I", 16) + \
        struct.pack(">Q", CIRROS_VIRTUAL_SIZE)
    body = (b"overcast cirros stand-in\n" * (PAYLOAD_SIZE // 25 + 1))
    return (header + body)[:PAYLOAD_SIZE]


def seed(core: ImageCore) -> Image:
    """Idempotent: the record and file are made once; an existing ``cirros`` is left alone, except
    that the seeded one gets its owner if an older Overcast made it without one."""
    data = payload()
    image_dir = core.image_dir
    image_dir.mkdir(parents=True, exist_ok=True)
    path = image_dir / CIRROS_ID
    if not path.exists():
        tmp = path.with_name(f".{CIRROS_ID}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    with core.store.session() as session:
        owner = session.scalar(select(Project.id).where(Project.name == OWNER_PROJECT,
                                                        Project.domain_id == DEFAULT_DOMAIN_ID))
        image = session.get(Image, CIRROS_ID) or session.scalar(
            select(Image).where(Image.name == CIRROS_NAME, Image.visibility == "public"))
        if image is None:
            image = Image(id=CIRROS_ID, name=CIRROS_NAME, status="active", visibility="public", owner=owner,
                          protected=False, os_hidden=False, disk_format="qcow2", container_format="bare",
                          size=len(data), virtual_size=CIRROS_VIRTUAL_SIZE,
                          checksum=hashlib.md5(data, usedforsecurity=False).hexdigest(),
                          os_hash_algo="sha512", os_hash_value=hashlib.sha512(data).hexdigest(),
                          min_disk=0, min_ram=0, location=f"file://{path}",
                          properties={"hw_rng_model": "virtio", "owner_specified.openstack.object": "images/cirros"})
            session.add(image)
        elif image.id == CIRROS_ID and image.owner is None:
            image.owner = owner
        return image


#: who loads the shipped metadefs: the cloud administrator (Glance's loader runs as the operator)
_LOADER = AuthContext(user_id="overcast-bootstrap", user_domain_id="default", methods=(), roles=frozenset({"admin"}),
                      audit_ids=(), issued_at=0.0, expires_at=0.0, system=True)


def seed_metadefs(core: ImageCore) -> list[str]:
    """Load each shipped namespace the catalog lacks (as ``glance-manage db_load_metadefs`` skips those
    present); returns the names loaded. One transaction per namespace, so one an admin changed is kept."""
    loaded = []
    for body in NAMESPACES:
        with core.store.session() as session:
            if session.scalar(select(MetadefNamespace.id).where(MetadefNamespace.namespace == body["namespace"])):
                continue
            metadef_namespaces.create(session, _LOADER, body)
            loaded.append(body["namespace"])
    return loaded
