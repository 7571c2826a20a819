"""openstacksdk's block_storage proxy against a live ``overcast serve`` (volumes, snapshots, types, quotas)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from overcast.testing.live import wait_for

pytestmark = pytest.mark.live


def test_volume_snapshot_flow(connect: Callable[..., Any], unique) -> None:
    conn = connect("overcast")
    bs = conn.block_storage
    volume = bs.create_volume(size=1, name=unique("vol"), metadata={"k": "v"})
    volume = bs.wait_for_status(volume, "available", wait=60, interval=0.2)
    assert volume.size == 1 and volume.metadata == {"k": "v"}
    assert volume.id in {v.id for v in bs.volumes()}
    bs.extend_volume(volume, 2)
    volume = wait_for(lambda: (v := bs.get_volume(volume)).size == 2 and v.status == "available" and v, 60,
                      description="volume extended")
    snapshot = bs.create_snapshot(volume_id=volume.id, name=unique("snap"))
    snapshot = bs.wait_for_status(snapshot, "available", wait=60, interval=0.2)
    assert snapshot.size == 2 and snapshot.id in {s.id for s in bs.snapshots()}
    clone = bs.create_volume(snapshot_id=snapshot.id, name=unique("vol"))
    clone = bs.wait_for_status(clone, "available", wait=60, interval=0.2)
    bs.delete_volume(clone)
    bs.wait_for_delete(clone, interval=0.2, wait=60)
    bs.delete_snapshot(snapshot)
    bs.wait_for_delete(snapshot, interval=0.2, wait=60)
    bs.delete_volume(volume)
    bs.wait_for_delete(volume, interval=0.2, wait=60)


def test_from_image_types_and_quotas(connect: Callable[..., Any], unique) -> None:
    conn, admin = connect("overcast"), connect("overcast-admin")
    image = conn.image.find_image("cirros")
    volume = conn.block_storage.create_volume(size=1, image_id=image.id, name=unique("vol"))
    volume = conn.block_storage.wait_for_status(volume, "available", wait=60, interval=0.2)
    assert volume.is_bootable
    vtype = admin.block_storage.create_type(name=unique("type"), extra_specs={"tier": "1"})
    assert vtype.name in {t.name for t in admin.block_storage.types()}
    admin.block_storage.delete_type(vtype)
    project = conn.current_project_id
    quota = admin.block_storage.get_quota_set(project, usage=True)
    assert quota.usage["volumes"] >= 1
    conn.block_storage.delete_volume(volume)
    conn.block_storage.wait_for_delete(volume, interval=0.2, wait=60)
