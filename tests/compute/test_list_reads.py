"""The compute lists' read path (docs/decisions/0038-read-path.md): a server list's metadata, tags
and volumes come from one query per kind for the whole page, not a collection per server, and what
the list shows of each server is what its show answers; a flavor list reads extra specs only when
it shows them, access lists never."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import event

from compute.conftest import Nova
from overcast.store.compute import BlockDeviceMapping, ServerTag


def _make(compute, token: str, count: int) -> list[str]:  # noqa: ANN001
    nova = Nova(compute, token)
    ids = []
    for i in range(count):
        resp = nova.create(f"vm{i}", wait=None, metadata={"k": f"v{i}", "a": "first"} if i % 2 == 0 else {})
        ids.append(resp.json["server"]["id"])
    with compute.app.compute.store.session() as session:
        for i, sid in enumerate(ids):
            if i % 3 == 0:
                session.add_all([ServerTag(server_id=sid, tag="blue"), ServerTag(server_id=sid, tag="a-tag")])
            if i % 2 == 1:
                for n, delete in ((1, True), (2, False)):
                    session.add(BlockDeviceMapping(server_id=sid, volume_id=str(uuid.uuid4()), source_type="volume",
                                                   device_name=f"/dev/vd{'bc'[n - 1]}", delete_on_termination=delete))
    return ids


@pytest.mark.parametrize("version", ["2.1", "2.3", "2.26", "2.90"])
def test_the_list_shows_each_server_as_its_show_does(compute, demo_token, version):
    ids = _make(compute, demo_token, 5)
    nova = Nova(compute, demo_token)
    listed = nova.req("GET", "/servers/detail", version).json["servers"]
    assert sorted(s["id"] for s in listed) == sorted(ids)
    for server in listed:
        shown = nova.req("GET", f"/servers/{server['id']}", version).json["server"]
        shown.pop("server_groups", None)  # a show's only (Nova leaves it out of lists)
        assert server == shown
    by_name = {s["name"]: s for s in listed}
    assert by_name["vm0"]["metadata"] == {"a": "first", "k": "v0"}
    assert by_name["vm1"]["metadata"] == {}
    volumes = by_name["vm1"]["os-extended-volumes:volumes_attached"]
    assert len(volumes) == 2
    at_least = tuple(map(int, version.split(".")))
    if at_least >= (2, 3):
        assert [v["delete_on_termination"] for v in volumes] == [True, False]
    if at_least >= (2, 26):
        assert by_name["vm0"]["tags"] == ["a-tag", "blue"]
        assert by_name["vm1"]["tags"] == []


def _statements(compute, token: str, path: str = "/servers/detail", version: str = "2.26") -> list[str]:  # noqa: ANN001
    engine = compute.app.compute.store.engine
    seen: list[str] = []

    def count(conn, cursor, statement, *args):  # noqa: ANN001, ANN002
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        resp = Nova(compute, token).req("GET", path, version)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert resp.status_code == 200
    return seen


def test_the_list_reads_related_rows_in_a_fixed_number_of_queries(compute, demo_token):
    _make(compute, demo_token, 2)
    few = len(_statements(compute, demo_token))
    _make(compute, demo_token, 8)
    assert len(_statements(compute, demo_token)) == few


def test_a_flavor_list_reads_extra_specs_only_to_show_them(compute, admin_token):
    nova = Nova(compute, admin_token)
    assert nova.req("POST", "/flavors/1/os-extra_specs",
                    json={"extra_specs": {"hw:cpu_policy": "dedicated"}}).status_code == 200
    for path, version in (("/flavors", "2.61"), ("/flavors/detail", "2.60")):
        seen = _statements(compute, admin_token, path, version)
        assert not [s for s in seen if "flavor_extra_specs" in s or "flavor_access" in s], seen
    detail = nova.req("GET", "/flavors/detail", "2.61").json["flavors"]
    assert {f["id"]: f["extra_specs"] for f in detail}["1"] == {"hw:cpu_policy": "dedicated"}
