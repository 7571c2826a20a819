"""The computed volume list (docs/decisions/0051-computed-list-path.md): rows of the shown columns
from one statement, attached attachments in one batched query only when some volume has one; and
what ``volumes/detail`` shows of each volume is, key for key and in the same order, what its show
(the ORM read) answers, in every microversion band, for a member and for an admin."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from types import SimpleNamespace

import pytest
from cinder_helpers import Cinder

from overcast.core.volume.listing import Page, _key, paginate
from overcast.store.volume import Volume, VolumeAttachment
from tests.conftest import statements_of

#: a version of each band of the volume view (api/volume/views.py _THRESHOLDS) and the ends
VERSIONS = ("3.0", "3.12", "3.13", "3.21", "3.47", "3.48", "3.61", "3.63", "3.65", "3.70")


def _make(cinder: Cinder, count: int) -> list[str]:
    return [cinder.create(name=f"v{i}", metadata={"k": f"v{i}", "a": "first"} if i % 2 == 0 else {})["id"]
            for i in range(count)]


def _vary(cloud, ids: list[str]) -> None:  # noqa: ANN001
    """Give the volumes what a list row must carry too: attachments (two attached and a reserved
    one that is not shown), bootable with image metadata, admin metadata, a group, a host, a source,
    multiattach, a description and no update time."""
    now = dt.datetime(2026, 12, 6, 10, 0, 0, 123456)
    with cloud.app.volume.store.session() as session:
        rows = {v.id: v for v in session.query(Volume).filter(Volume.id.in_(ids))}
        first, second, third, fourth = (rows[i] for i in ids[:4])
        first.status, first.attach_status = "in-use", "attached"
        first.admin_metadata = {"readonly": "False", "attached_mode": "rw"}
        for n in range(2):
            session.add(VolumeAttachment(volume_id=first.id, instance_uuid=str(uuid.uuid4()), attach_status="attached",
                                         attached_host=f"host{n}", mountpoint=f"/dev/vd{'bc'[n]}",
                                         attach_time=now + dt.timedelta(seconds=n),
                                         created_at=now + dt.timedelta(seconds=n)))
        session.add(VolumeAttachment(volume_id=second.id, instance_uuid=str(uuid.uuid4()), attach_status="reserved"))
        second.bootable, second.image_id = True, str(uuid.uuid4())
        second.image_metadata = {"image_name": "cirros", "min_ram": "0"}
        third.group_id, third.host, third.multiattach = str(uuid.uuid4()), "cinder@lvm#pool", True
        third.description, third.source_volid = "the third", ids[0]
        fourth.updated_at, fourth.snapshot_id = None, str(uuid.uuid4())


@pytest.mark.parametrize("who", ["demo", "admin"])
def test_the_list_shows_each_volume_as_its_show_does(cloud, cinder, admin_cinder, who):
    ids = _make(cinder, 5)
    _vary(cloud, ids)
    client = cinder if who == "demo" else admin_cinder
    query = "" if who == "demo" else "?all_tenants=1"
    for version in VERSIONS:
        listed = client.req("GET", f"/volumes/detail{query}", version).json["volumes"]
        assert sorted(v["id"] for v in listed) == sorted(ids)
        for volume in listed:
            shown = client.req("GET", f"/volumes/{volume['id']}", version).json["volume"]
            assert list(volume.items()) == list(shown.items()), version  # the same keys in the same order
        by_name = {v["name"]: v for v in listed}
        assert [(a["host_name"], a["device"]) for a in by_name["v0"]["attachments"]] == [("host0", "/dev/vdb"),
                                                                                          ("host1", "/dev/vdc")]
        assert by_name["v0"]["metadata"] == {"k": "v0", "a": "first", "readonly": "False", "attached_mode": "rw"}
        assert by_name["v1"]["attachments"] == [] and by_name["v1"]["bootable"] == "true"
        assert by_name["v1"]["volume_image_metadata"] == {"image_name": "cirros", "min_ram": "0"}
        assert by_name["v3"]["updated_at"] is None
        assert ("os-vol-host-attr:host" in by_name["v2"]) is (who == "admin")
        assert ("group_id" in by_name["v2"]) is (version >= "3.13")
        assert ("service_uuid" in by_name["v2"]) is (version >= "3.48")


def test_the_summary_list_and_its_paging_are_unchanged(cloud, cinder):
    ids = _make(cinder, 4)
    first = cinder.req("GET", "/volumes?limit=2&sort=name:asc", "3.45").json
    assert [v["name"] for v in first["volumes"]] == ["v0", "v1"]
    assert list(first["volumes"][0]) == ["id", "name", "links"]
    assert "marker=" + first["volumes"][1]["id"] in first["volumes_links"][0]["href"]
    rest = cinder.req("GET", f"/volumes/detail?limit=2&sort=name:asc&marker={first['volumes'][0]['id']}"
                             "&with_count=true&metadata={\"a\": \"first\"}", "3.45").json
    assert [v["name"] for v in rest["volumes"]] == ["v2"] and rest["count"] == 2
    assert sorted(ids) == sorted(v["id"] for v in cinder.req("GET", "/volumes").json["volumes"])


def _statements(cloud, cinder: Cinder, path: str = "/volumes/detail") -> list[str]:  # noqa: ANN001
    with statements_of(cloud.app.volume.store.engine) as seen:
        resp = cinder.req("GET", path, "3.70")
    assert resp.status_code == 200
    return seen


def test_attachments_are_read_only_for_volumes_that_have_one(cloud, cinder):
    ids = _make(cinder, 3)

    def reads_of_attachments() -> list[str]:  # besides the list's own EXISTS flag
        return [s for s in _statements(cloud, cinder) if not s.lstrip().upper().startswith("SELECT VOLUME.")
                and "volume_attachment" in s]

    assert reads_of_attachments() == []
    with cloud.app.volume.store.session() as session:
        session.add(VolumeAttachment(volume_id=ids[1], instance_uuid=str(uuid.uuid4()), attach_status="attached"))
    seen = reads_of_attachments()
    assert len(seen) == 1, seen
    _make(cinder, 4)
    with cloud.app.volume.store.session() as session:
        session.add(VolumeAttachment(volume_id=ids[2], instance_uuid=str(uuid.uuid4()), attach_status="attached"))
    assert len(reads_of_attachments()) == 1  # one batched query whatever the number of attached volumes


def test_the_list_reads_only_the_columns_it_shows(cloud, cinder):
    _make(cinder, 1)
    for path in ("/volumes/detail", "/volumes"):
        (listing,) = [s for s in _statements(cloud, cinder, path) if s.lstrip().upper().startswith("SELECT VOLUME.")]
        for unused in ("backend_extra", "backend_id", "idempotency_key", "fault", "image_id", "attach_status"):
            assert f"volume.{unused}" not in listing, (unused, listing)
        assert ("volume.admin_metadata" in listing) is (path == "/volumes/detail"), listing


def test_the_plain_sort_orders_as_the_none_aware_one_does():
    """listing.paginate sorts plain tuples when it can; the order is the wrappers' order."""
    rng = random.Random(15)
    items = [SimpleNamespace(id=f"{n:03d}", name=rng.choice(["a", "b", "B", None]), size=rng.randint(1, 3),
                             bootable=rng.random() < 0.5) for n in range(60)]
    for sort in ((("size", "desc"), ("id", "desc")), (("bootable", "asc"), ("size", "asc"), ("id", "asc")),
                 (("name", "asc"), ("id", "asc")), (("name", "desc"), ("id", "desc")),
                 (("size", "asc"), ("name", "desc"), ("id", "asc"))):
        expected = sorted(items, key=lambda i: _key(i, sort, {}))  # noqa: B023
        assert paginate(items, Page(sort=sort, limit=1000))[0] == expected, sort
    plain = [i for i in items if i.name is not None]
    sort = (("name", "desc"), ("size", "desc"), ("id", "desc"))
    assert paginate(plain, Page(sort=sort))[0] == sorted(plain, key=lambda i: _key(i, sort, {}))


#: a new value for each column a detail list row reads that the 3.70 admin view shows
#: (docs/decisions/0061-rendered-views-per-record.md), written with a Core UPDATE
_NEW_VALUES = {
    "name": "renamed", "size": 7, "status": "error", "created_at": dt.datetime(2026, 1, 2, 3, 4, 5),
    "updated_at": dt.datetime(2026, 2, 3, 4, 5, 6), "availability_zone": "zone-b", "bootable": True,
    "volume_type_id": None, "user_id": "someone-else", "metadata": {"colour": "red"},
    "description": "described", "snapshot_id": str(uuid.uuid4()), "source_volid": str(uuid.uuid4()),
    "admin_metadata": {"readonly": "True"}, "multiattach": True, "image_metadata": {"image_name": "x"},
    "host": "cinder@lvm#other", "group_id": str(uuid.uuid4()),
}


def test_every_write_to_a_listed_volume_shows_in_the_next_list(cloud, admin_cinder, monkeypatch):
    """volumes/detail keeps each volume's rendered view per (shape, row, attachments, type): a
    change to any column the row reads or an attachment makes the next list show it, as the show
    does, and only the changed volume is rendered anew."""
    from sqlalchemy import update

    from overcast.api.volume.views import VolumeViews
    from overcast.core.volume.volumes import _DETAIL_COLUMNS, _SUMMARY_COLUMNS

    rendered: list[str] = []
    real = VolumeViews.detail_in

    def counting(self, shape, volume, attached, types):  # noqa: ANN001, ANN202
        rendered.append(volume.id)
        return real(self, shape, volume, attached, types)

    monkeypatch.setattr(VolumeViews, "detail_in", counting)
    vid, other = (admin_cinder.create(name=f"v{i}")["id"] for i in range(2))

    def listed() -> dict:
        (volume,) = [v for v in admin_cinder.req("GET", "/volumes/detail?all_tenants=1", "3.70").json["volumes"]
                     if v["id"] == vid]
        shown = admin_cinder.req("GET", f"/volumes/{vid}", "3.70").json["volume"]
        assert list(volume.items()) == list(shown.items())
        return volume

    before = listed()
    rendered.clear()
    assert listed() == before
    names = {c.name for c in _SUMMARY_COLUMNS + _DETAIL_COLUMNS} - {"id", "has_attachments", "cloud", "project_id"}
    assert names - {"metadata_"} | {"metadata"} == set(_NEW_VALUES)  # a new column in the row needs a case here
    for name, value in _NEW_VALUES.items():
        previous = listed()
        with cloud.app.volume.store.session() as session:
            session.execute(update(Volume.__table__).where(Volume.__table__.c.id == vid).values(**{name: value}))
        rendered.clear()
        assert listed() != previous, name
        assert rendered == [vid, vid], name  # the list renders the changed volume only (not `other`), the show
    with cloud.app.volume.store.session() as session:
        session.add(VolumeAttachment(volume_id=vid, instance_uuid=str(uuid.uuid4()), attach_status="attached",
                                     attached_host="host9", mountpoint="/dev/vdb"))
    assert [a["host_name"] for a in listed()["attachments"]] == ["host9"]
