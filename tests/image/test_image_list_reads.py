"""The Glance image list's computed path (docs/decisions/0051-computed-list-path.md): rows of the
columns the view shows, visibility conditions built once per shape with the caller's project and
the region bound per request, tags read only for the images of the page that have some; each
image shows in the list what its show answers. Each test runs on SQLite, and on PostgreSQL when
``OVERCAST_TEST_POSTGRES_URL`` names an admin URL."""

from __future__ import annotations

import dataclasses

import pytest

from tests.conftest import backend_settings, statements_of


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request: pytest.FixtureRequest, settings):  # noqa: ANN001, ANN201
    """The shared settings, on a fresh PostgreSQL database for the ``postgresql`` run."""
    yield from backend_settings(request, settings, "overcast_image_list_test")


def _create(api, token: str, **body) -> dict:  # noqa: ANN001, ANN003
    body.setdefault("disk_format", "raw")
    body.setdefault("container_format", "bare")
    resp = api("POST", "/images", token, json=body)
    assert resp.status_code == 201, resp.text
    return resp.json


def _list(api, token: str, query: str = "") -> dict:  # noqa: ANN001
    resp = api("GET", "/images" + query, token)
    assert resp.status_code == 200, resp.text
    return resp.json


def _engine(cloud):  # noqa: ANN001, ANN202
    return cloud.app.images.store.engine


@pytest.mark.parametrize("who", ["demo", "admin"])
def test_the_list_shows_each_image_as_its_show_does(api, demo_token, admin_token, who):
    made = [_create(api, demo_token, name="tagged", tags=["b", "a"], hw_disk_bus="scsi", min_ram=64),
            _create(api, demo_token, name="private", visibility="private", protected=True),
            _create(api, demo_token, name="plain")]
    token = admin_token if who == "admin" else demo_token
    listed = {i["id"]: i for i in _list(api, token, "?limit=1000")["images"]}
    for image in made:
        shown = api("GET", f"/images/{image['id']}", token).json
        assert list(listed[image["id"]].items()) == list(shown.items())  # key for key, in the same order
    assert listed[made[0]["id"]]["tags"] == ["a", "b"] and listed[made[0]["id"]]["hw_disk_bus"] == "scsi"
    seeded = [i for i in listed.values() if i["status"] == "active"]
    assert seeded and all(i["stores"] == api("GET", f"/images/{i['id']}", token).json["stores"] for i in seeded)


def test_tags_are_read_only_for_images_that_have_some(cloud, api, demo_token):
    _create(api, demo_token, name="one")
    _create(api, demo_token, name="two")

    def reads_of_tags() -> list[str]:
        with statements_of(_engine(cloud)) as seen:
            _list(api, demo_token)
        return [s for s in seen if "FROM image_tag" in s and "EXISTS" not in s.upper()]

    assert reads_of_tags() == []
    for n in range(3):
        _create(api, demo_token, name=f"tagged{n}", tags=["x", f"t{n}"])
    assert len(reads_of_tags()) == 1


def test_the_list_reads_only_the_columns_it_shows(cloud, api, demo_token):
    with statements_of(_engine(cloud)) as seen:
        _list(api, demo_token)
    (listing,) = [s for s in seen if "FROM image" in s and "image_tag.value" not in s]
    assert "image.cloud," not in listing and "image.location" in listing


def test_the_prepared_list_binds_each_callers_project_and_region(api, demo_token, alt_token):
    mine = _create(api, demo_token, name="demo-private", visibility="private")
    theirs = _create(api, alt_token, name="alt-private", visibility="private")
    for _ in range(2):  # the second round runs the statement the first built
        demo = {i["id"] for i in _list(api, demo_token, "?visibility=private")["images"]}
        alt = {i["id"] for i in _list(api, alt_token, "?visibility=private")["images"]}
        assert (mine["id"] in demo, theirs["id"] in demo) == (True, False)
        assert (mine["id"] in alt, theirs["id"] in alt) == (False, True)
        demo = {i["id"] for i in _list(api, demo_token)["images"]}
        alt = {i["id"] for i in _list(api, alt_token)["images"]}
        assert (mine["id"] in demo, theirs["id"] in demo, mine["id"] in alt, theirs["id"] in alt) == (
            True, False, False, True)


def test_filters_sort_and_marker_over_rows(api, demo_token):
    ids = [_create(api, demo_token, name=f"page{n}", tags=["paged"], min_disk=n)["id"] for n in range(5)]
    first = _list(api, demo_token, "?tag=paged&sort=min_disk:asc&limit=2")
    assert [i["id"] for i in first["images"]] == ids[:2] and "marker=" in first["next"]
    rest = _list(api, demo_token, f"?tag=paged&sort=min_disk:asc&marker={ids[1]}")
    assert [i["id"] for i in rest["images"]] == ids[2:] and "next" not in rest
    assert api("GET", "/images?sort_key=nope", demo_token).status_code == 400
    assert api("GET", "/images?marker=nope", demo_token).status_code == 400


def test_a_bad_filter_is_refused_before_a_bad_sort_as_before(api, demo_token):
    resp = api("GET", "/images?visibility=nope&sort_key=nope", demo_token)
    assert resp.status_code == 400 and "Invalid visibility value: nope" in resp.text


#: a new value for each column an image list row reads (docs/decisions/0061-rendered-views-per-record.md)
_NEW_VALUES = {
    "name": "renamed", "status": "active", "visibility": "public", "protected": True,
    "checksum": "c" * 32, "os_hash_algo": "sha512", "os_hash_value": "d" * 128, "owner": "someone",
    "size": 77, "virtual_size": 88, "min_ram": 5, "min_disk": 6, "disk_format": "qcow2", "container_format": "ovf",
    "location": "file:///x", "locations": [{"url": "http://x/y", "metadata": {}}],
    "properties": {"hw_disk_bus": "virtio"},
    "created_at": __import__("datetime").datetime(2026, 1, 2, 3, 4, 5),
    "updated_at": __import__("datetime").datetime(2026, 2, 3, 4, 5, 6),
    "os_hidden": True,  # last: listed with ?os_hidden=true from then on
}


def test_every_write_to_a_listed_image_shows_in_the_next_list(api, cloud, admin_token, monkeypatch):
    """Image lists keep each image's rendered view per (row, tags): a Core UPDATE of any column the
    row reads, or a tag, makes the next list show it as the show does; only that image is rendered anew."""
    from sqlalchemy import update

    from overcast.api.image import views
    from overcast.core.image import _ROW_COLUMNS
    from overcast.store.image import Image, ImageTag

    rendered: list[str] = []
    real = views._view

    def counting(image, tags, locations=False):  # noqa: ANN001, ANN202
        rendered.append(image.id)
        return real(image, tags, locations)

    monkeypatch.setattr(views, "_view", counting)
    settings = cloud.app.images.settings  # locations shown: every column the row reads is seen
    monkeypatch.setattr(cloud.app.images, "settings", settings.replace(
        image=dataclasses.replace(settings.image, show_multiple_locations=True)))
    iid = _create(api, admin_token, name="one")["id"]
    _create(api, admin_token, name="two")
    assert {c.name for c in _ROW_COLUMNS} - {"id", "has_tags"} == set(_NEW_VALUES)  # a new column needs a case

    def listed() -> dict:
        hidden = "?os_hidden=true" if hidden_now else ""
        (image,) = [i for i in _list(api, admin_token, hidden)["images"] if i["id"] == iid]
        resp = api("GET", f"/images/{iid}", admin_token)
        assert resp.status_code == 200 and list(image.items()) == list(resp.json.items())
        return image

    table = Image.__table__
    hidden_now = False
    for name, value in _NEW_VALUES.items():
        previous = listed()
        hidden_now = name == "os_hidden"
        with cloud.app.images.store.session() as session:
            session.execute(update(table).where(table.c.id == iid).values(**{name: value}))
        rendered.clear()
        assert listed() != previous, name
        assert rendered == [iid, iid], name  # the list renders the changed image only, then the show
    with cloud.app.images.store.session() as session:
        session.add(ImageTag(image_id=iid, value="fresh"))
    assert listed()["tags"] == ["fresh"]
