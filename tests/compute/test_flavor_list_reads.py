"""``flavors/detail``'s kept views (docs/decisions/0067-kept-neutron-and-flavor-views.md): the list
reads rows of the columns a flavor's view reads, extra specs in one statement when the view shows
them, and keeps each flavor's rendered JSON under (microversion thresholds, compute URL, row, extra
specs). Each listed flavor is, key for key and in order, its show; a write to any column the row
reads or to an extra spec shows in the next list, and only the changed flavor is rendered anew."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import update

from compute.conftest import Nova
from overcast.api.compute import flavors as flavor_api
from overcast.core.compute.flavors import LIST_COLUMNS
from overcast.store.compute import Flavor, FlavorExtraSpec

VERSIONS = ("2.1", "2.54", "2.55", "2.60", "2.61", "2.74", "2.75")


@pytest.fixture
def settings(settings):  # noqa: ANN001, ANN201
    """Without the response cache: every list is computed (the kept views are what is tested)."""
    return settings.replace(server=dataclasses.replace(settings.server, response_cache=False))


def _listed(nova: Nova, fid: str, version: str = "2.75") -> dict:
    """The flavor ``fid`` as ``flavors/detail`` shows it, asserted equal (keys in order) to its show."""
    resp = nova.req("GET", "/flavors/detail?is_public=none", version)
    assert resp.status_code == 200, resp.text
    (found,) = [f for f in resp.json["flavors"] if f["id"] == fid]
    shown = nova.req("GET", f"/flavors/{fid}", version).json["flavor"]
    assert list(found.items()) == list(shown.items()), version
    return found


def test_each_listed_flavor_is_its_show_in_every_band(compute, admin_token, demo_token):
    admin = Nova(compute, admin_token)
    assert admin.req("POST", "/flavors/2/os-extra_specs", json={"extra_specs": {"b": "2", "a": "1"}}).status_code == 200
    assert admin.req("POST", "/flavors", "2.55", json={"flavor": {
        "name": "with-swap", "id": "swap", "ram": 64, "vcpus": 1, "disk": 0, "swap": 512,
        "description": "has swap"}}).status_code == 200
    for version in VERSIONS:
        for fid in ("1", "2", "swap"):
            _listed(admin, fid, version)
        demo = Nova(compute, demo_token)
        listed = demo.req("GET", "/flavors/detail", version).json["flavors"]
        assert [f["id"] for f in listed] == ["1", "2", "3", "4", "5", "swap"]
        for flavor in listed:
            assert flavor == demo.req("GET", f"/flavors/{flavor['id']}", version).json["flavor"]
        by_id = {f["id"]: f for f in listed}
        assert ("extra_specs" in by_id["2"]) is (version >= "2.61")
        if version >= "2.61":
            assert list(by_id["2"]["extra_specs"].items()) == [("a", "1"), ("b", "2")]
        assert by_id["1"]["swap"] == (0 if version >= "2.75" else "")
    page = admin.req("GET", "/flavors/detail?limit=2", "2.75").json
    assert [f["id"] for f in page["flavors"]] == ["1", "2"]
    assert "marker=2" in page["flavors_links"][0]["href"]


#: a new value for each column a flavor list row reads, written with a Core UPDATE
_NEW_VALUES = {"name": "renamed", "vcpus": 9, "ram": 999, "disk": 99, "ephemeral": 5, "swap": 7, "rxtx_factor": 2.5,
               "is_public": False, "disabled": True, "description": "described"}


def test_every_write_to_a_listed_flavor_shows_in_the_next_list(compute, admin_token, monkeypatch):
    rendered: list[str] = []
    real = flavor_api.flavor_view

    def counting(req, links, flavor, *args):  # noqa: ANN001, ANN002, ANN202
        rendered.append(flavor.id)
        return real(req, links, flavor, *args)

    monkeypatch.setattr(flavor_api, "flavor_view", counting)
    nova = Nova(compute, admin_token)
    before = _listed(nova, "1")
    rendered.clear()
    assert _listed(nova, "1") == before
    assert rendered == ["1"]  # the show only: the list rendered nothing anew
    assert {c.name for c in LIST_COLUMNS} - {"id"} == set(_NEW_VALUES)  # a new column in the row needs a case
    for name, value in _NEW_VALUES.items():
        previous = _listed(nova, "1")
        with compute.app.compute.store.session() as session:
            session.execute(update(Flavor.__table__).where(Flavor.__table__.c.id == "1").values(**{name: value}))
        rendered.clear()
        assert _listed(nova, "1") != previous, name
        assert rendered == ["1", "1"], name  # the changed flavor only (not 2 to 5), and its show
    for version in ("2.61", "2.60"):  # the thresholds are in the key
        rendered.clear()
        _listed(nova, "1", version)
        assert sorted(rendered) == ["1", "1", "2", "3", "4", "5"], version
    with compute.app.compute.store.session() as session:
        session.add(FlavorExtraSpec(flavor_id="1", key="hw:cpu_policy", value="dedicated"))
    rendered.clear()
    assert _listed(nova, "1", "2.61")["extra_specs"] == {"hw:cpu_policy": "dedicated"}
    assert rendered == ["1", "1"]
    with compute.app.compute.store.session() as session:
        session.execute(update(FlavorExtraSpec.__table__).values(value="shared"))
    rendered.clear()
    assert _listed(nova, "1", "2.61")["extra_specs"] == {"hw:cpu_policy": "shared"}
    assert rendered == ["1", "1"]
