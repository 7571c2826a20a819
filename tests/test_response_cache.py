"""Rendered reads kept until the database changes (docs/decisions/0038-read-path.md): a copy is
served only while no write has committed, in any process; never across callers or microversions."""

from __future__ import annotations

from overcast.api.response_cache import CACHEABLE
from overcast.store import changes
from overcast.store.db import Store
from tests.conftest import body


def _get(cloud, path, token, **headers):
    return cloud.request("GET", path, token, headers=headers)


def test_every_listed_endpoint_exists(cloud):
    names = {f"{e.service}:{e.name}" for e in cloud.app.registry.endpoints()}
    assert CACHEABLE <= names, sorted(CACHEABLE - names)


def test_a_repeated_read_is_served_from_the_copy(cloud):
    cache = cloud.app.response_cache
    token = cloud.token("demo", "demo")
    first = _get(cloud, "/network/v2.0/networks", token)
    hits = cache.hits
    again = _get(cloud, "/network/v2.0/networks", token)
    assert cache.hits == hits + 1
    assert again.status_code == 200 and again.content == first.content
    assert again.headers["content-type"] == first.headers["content-type"]
    assert again.headers["X-OpenStack-Request-ID"] != first.headers["X-OpenStack-Request-ID"]


def test_a_write_is_seen_by_the_next_read(cloud):
    token = cloud.token("demo", "demo")
    before = {n["name"] for n in body(_get(cloud, "/network/v2.0/networks", token))["networks"]}
    made = cloud.request("POST", "/network/v2.0/networks", token, json={"network": {"name": "fresh"}})
    assert made.status_code == 201
    after = {n["name"] for n in body(_get(cloud, "/network/v2.0/networks", token))["networks"]}
    assert after == before | {"fresh"}


def test_a_write_by_another_process_is_seen(cloud):
    token = cloud.token("demo", "demo")
    _get(cloud, "/network/v2.0/networks", token)
    other = Store(cloud.app.identity.store.url)  # another engine: what another process would hold
    try:
        with other.session() as session:
            from sqlalchemy import update

            from overcast.store.network import Network
            session.execute(update(Network).where(Network.name == "private").values(name="renamed-elsewhere"))
    finally:
        other.dispose()
    names = {n["name"] for n in body(_get(cloud, "/network/v2.0/networks", token))["networks"]}
    assert "renamed-elsewhere" in names and "private" not in names


def test_a_rolled_back_write_does_not_move_the_stamp(cloud):
    stamp = cloud.app.identity.store.changes
    before = changes.read(stamp)
    try:
        with cloud.app.identity.store.session() as session:
            from overcast.store.network import Network
            session.add(Network(name="never", project_id="p", cloud="RegionOne"))
            session.flush()
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    assert changes.read(stamp) == before


def test_callers_and_microversions_do_not_share(cloud):
    demo, alt = cloud.token("demo", "demo"), cloud.token("alt_demo", "alt_demo")
    mine = body(_get(cloud, "/network/v2.0/networks", demo))["networks"]
    theirs = body(_get(cloud, "/network/v2.0/networks", alt))["networks"]
    assert {n["project_id"] for n in theirs} != {n["project_id"] for n in mine}
    old = _get(cloud, "/compute/v2.1/flavors/1", demo)
    new = _get(cloud, "/compute/v2.1/flavors/1", demo, **{"OpenStack-API-Version": "compute 2.61"})
    assert old.headers["OpenStack-API-Version"] == "compute 2.1"
    assert new.headers["OpenStack-API-Version"] == "compute 2.61"
    assert "extra_specs" in body(new)["flavor"] and "extra_specs" not in body(old)["flavor"]


def test_errors_and_other_endpoints_are_not_kept(cloud):
    cache = cloud.app.response_cache
    token = cloud.token("demo", "demo")
    for _ in range(2):
        assert _get(cloud, "/network/v2.0/networks/nope", token).status_code == 404
        _get(cloud, "/identity/v3/auth/projects", token)
    assert all(key[1] in CACHEABLE for key in cache._entries)
    assert not any(key[2].endswith("/nope") for key in cache._entries)


def test_a_bad_token_never_reaches_a_copy(cloud):
    token = cloud.token("demo", "demo")
    _get(cloud, "/network/v2.0/networks", token)
    _get(cloud, "/network/v2.0/networks", token)
    assert _get(cloud, "/network/v2.0/networks", "garbage").status_code == 401
    assert cloud.client.simulate_get("/network/v2.0/networks").status_code == 401


def test_off_for_postgresql_and_when_configured_off(settings):
    from overcast.app import create_app

    assert changes.stamp_path("postgresql://u:p@127.0.0.1/db") is None
    app = create_app(settings.replace(server=settings.server.__class__(response_cache=False)))
    try:
        assert app.response_cache is None
    finally:
        app.compute.close()
        app.identity.store.dispose()


def test_a_write_that_changes_no_row_is_no_change(cloud):
    """Operation workers look for due work with an UPDATE that usually matches nothing."""
    from sqlalchemy import update

    from overcast.store.network import Network

    stamp = cloud.app.identity.store.changes
    before = changes.read(stamp)
    with cloud.app.identity.store.session() as session:
        session.execute(update(Network).where(Network.id == "no-such-network").values(name="x"))
    assert changes.read(stamp) == before
    with cloud.app.identity.store.session() as session:
        session.execute(update(Network).where(Network.name == "private").values(description="touched"))
    assert changes.read(stamp) > before
