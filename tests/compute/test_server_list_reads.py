"""The server list's read path (docs/decisions/0038-read-path.md): metadata, tags and volumes come
from one query per kind for the whole page, not a collection per server; what the list shows of
each server is what its show answers."""

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


def _statements(compute, token: str) -> int:  # noqa: ANN001
    engine = compute.app.compute.store.engine
    seen: list[str] = []

    def count(conn, cursor, statement, *args):  # noqa: ANN001, ANN002
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        resp = Nova(compute, token).req("GET", "/servers/detail", "2.26")
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert resp.status_code == 200
    return len(seen)


def test_the_list_reads_related_rows_in_a_fixed_number_of_queries(compute, demo_token):
    _make(compute, demo_token, 2)
    few = _statements(compute, demo_token)
    _make(compute, demo_token, 8)
    assert _statements(compute, demo_token) == few
