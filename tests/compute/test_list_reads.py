"""The compute lists' read path (docs/decisions/0038-read-path.md): a server list's metadata, tags
and volumes come from one query per kind for the whole page, not a collection per server, and what
the list shows of each server is what its show answers; a flavor list reads extra specs only when
it shows them, access lists never."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from schemas import Api
from sqlalchemy import select

from compute.conftest import Nova
from overcast.store.compute import BlockDeviceMapping, Server, ServerTag
from overcast.store.models import Project
from tests.conftest import statements_of


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


def _vary(compute, ids: list[str]) -> None:  # noqa: ANN001
    """Give the servers what a list row must carry too: a fault in ERROR, a lock with a reason,
    launch and termination times, security groups, a server group, no image (booted from a volume)."""
    with compute.app.compute.store.session() as session:
        rows = {s.id: s for s in session.query(Server).filter(Server.id.in_(ids))}
        rows[ids[0]].vm_state, rows[ids[0]].task_state = "error", None
        rows[ids[0]].fault = {"code": 500, "message": "boom", "details": "trace", "created": "2026-12-06T10:00:00Z"}
        rows[ids[1]].locked, rows[ids[1]].locked_reason = True, "maintenance"
        rows[ids[2]].launched_at = dt.datetime(2026, 12, 6, 10, 0, 1, 123456)
        rows[ids[2]].terminated_at = dt.datetime(2026, 12, 6, 11, 0, 2)
        rows[ids[3]].security_groups = [{"name": "default"}, {"name": "web"}]
        rows[ids[3]].server_group_id = str(uuid.uuid4())
        rows[ids[4]].image_id = None
        rows[ids[4]].host, rows[ids[4]].progress = "compute-2", 40


@pytest.mark.parametrize("version", ["2.1", "2.3", "2.9", "2.16", "2.19", "2.26", "2.47", "2.63", "2.73", "2.90",
                                     "latest"])
@pytest.mark.parametrize("who", ["demo", "admin"])
def test_the_list_shows_each_server_as_its_show_does(compute, demo_token, admin_token, version, who):
    ids = _make(compute, demo_token, 5)
    _vary(compute, ids)
    nova = Nova(compute, demo_token if who == "demo" else admin_token)
    query = "" if who == "demo" else "?all_tenants=1"
    listed = nova.req("GET", f"/servers/detail{query}", version).json["servers"]
    assert sorted(s["id"] for s in listed) == sorted(ids)
    for server in listed:
        shown = nova.req("GET", f"/servers/{server['id']}", version).json["server"]
        shown.pop("server_groups", None)  # a show's only (Nova leaves it out of lists)
        assert server == shown
    by_name = {s["name"]: s for s in listed}
    assert by_name["vm0"]["fault"]["message"] == "boom"
    assert by_name["vm3"]["security_groups"] == [{"name": "default"}, {"name": "web"}]
    assert by_name["vm4"]["image"] == ""
    assert ("OS-EXT-SRV-ATTR:host" in by_name["vm4"]) is (who == "admin")
    assert by_name["vm0"]["metadata"] == {"a": "first", "k": "v0"}
    assert by_name["vm1"]["metadata"] == {}
    volumes = by_name["vm1"]["os-extended-volumes:volumes_attached"]
    assert len(volumes) == 2
    at_least = (99, 0) if version == "latest" else tuple(map(int, version.split(".")))
    if at_least >= (2, 3):
        assert [v["delete_on_termination"] for v in volumes] == [True, False]
    if at_least >= (2, 26):
        assert by_name["vm0"]["tags"] == ["a-tag", "blue"]
        assert by_name["vm1"]["tags"] == []


def _statements(compute, token: str, path: str = "/servers/detail", version: str = "2.26") -> list[str]:  # noqa: ANN001
    with statements_of(compute.app.compute.store.engine) as seen:
        resp = Nova(compute, token).req("GET", path, version)
    assert resp.status_code == 200
    return seen


def test_the_list_reads_related_rows_in_a_fixed_number_of_queries(compute, demo_token):
    def of_servers() -> list[str]:  # not the token checks' reads (a revocation list read now and then)
        return [s for s in _statements(compute, demo_token) if re.search(r"\bserver", s)]

    _make(compute, demo_token, 2)
    few = of_servers()
    assert len(few) == 4, few  # the list, then metadata, tags and volumes (each kind is on some server)
    _make(compute, demo_token, 8)
    assert len(of_servers()) == len(few)


def test_related_rows_are_read_only_for_servers_that_have_some(compute, demo_token):
    nova = Nova(compute, demo_token)
    ids = [nova.create(f"plain{i}", wait=None).json["server"]["id"] for i in range(3)]
    related = ("server_metadata", "server_tag", "block_device_mapping")

    def reads_of_related() -> list[str]:  # statements reading related rows, besides the list's own EXISTS flags
        return [s for s in _statements(compute, demo_token) if not s.lstrip().upper().startswith("SELECT SERVER.")
                and any(t in s for t in related)]

    assert reads_of_related() == []
    with compute.app.compute.store.session() as session:
        session.add(ServerTag(server_id=ids[1], tag="only-one"))
    seen = reads_of_related()
    assert len(seen) == 1 and "server_tag" in seen[0], seen
    tags = {s["id"]: s["tags"] for s in nova.req("GET", "/servers/detail", "2.26").json["servers"]}
    assert tags == {ids[0]: [], ids[1]: ["only-one"], ids[2]: []}


def test_the_list_reads_only_the_columns_it_shows(compute, demo_token):
    Nova(compute, demo_token).create("vm", wait=None, metadata={"k": "v"})
    for version, flavor in (("2.46", False), ("2.47", True)):
        (listing,) = [s for s in _statements(compute, demo_token, version=version)
                      if s.lstrip().upper().startswith("SELECT SERVER.")]
        for unused in ("backend_extra", "requested_networks", "block_devices", "key_data", "new_flavor",
                       "idempotency_key", "backend_id"):
            assert f"server.{unused}" not in listing, (unused, listing)
        assert bool(re.search(r"server\.flavor\b", listing)) is flavor, listing


def test_a_flavor_list_reads_extra_specs_only_to_show_them(compute, admin_token):
    nova = Nova(compute, admin_token)
    assert nova.req("POST", "/flavors/1/os-extra_specs",
                    json={"extra_specs": {"hw:cpu_policy": "dedicated"}}).status_code == 200
    for path, version in (("/flavors", "2.61"), ("/flavors/detail", "2.60")):
        seen = _statements(compute, admin_token, path, version)
        assert not [s for s in seen if "flavor_extra_specs" in s or "flavor_access" in s], seen
    detail = nova.req("GET", "/flavors/detail", "2.61").json["flavors"]
    assert {f["id"]: f["extra_specs"] for f in detail}["1"] == {"hw:cpu_policy": "dedicated"}


def test_the_prepared_flavor_list_binds_each_callers_project_and_minimums(seeded, admin, demo, demo_project):
    """The flavor list statement is built once per shape (0051): each caller's project and the
    minimums are parameters, never the first caller's values baked in."""
    alt = Api(seeded, seeded.token("alt_demo", "alt_demo"))
    for fid, ram in (("for-demo", 128), ("for-alt", 256)):
        body = {"flavor": {"name": fid, "ram": ram, "vcpus": 1, "disk": 0, "id": fid,
                           "os-flavor-access:is_public": False}}
        assert admin("POST", "/flavors", json=body).status_code == 200
    with seeded.app.compute.store.session() as session:
        alt_project = session.scalar(select(Project.id).where(Project.name == "alt_demo"))
    for fid, project in (("for-demo", demo_project), ("for-alt", alt_project)):
        assert admin("POST", f"/flavors/{fid}/action", json={"addTenantAccess": {"tenant": project}}).status_code == 200
    for _ in range(2):  # the second round runs the statements the first built
        for client, mine, theirs in ((demo, "for-demo", "for-alt"), (alt, "for-alt", "for-demo")):
            listed = [f["id"] for f in client("GET", "/flavors/detail").json["flavors"]]
            assert mine in listed and theirs not in listed, listed
            low = [f["id"] for f in client("GET", "/flavors/detail", params={"minRam": "200"}).json["flavors"]]
            assert ("for-alt" in low) is (mine == "for-alt") and "for-demo" not in low and "1" in low, low
            small = [f["id"] for f in client("GET", "/flavors", params={"minRam": "100", "minDisk": "1"}).json[
                "flavors"]]
            assert mine not in small and "1" in small, small  # disk 0 is under minDisk
        assert [f["id"] for f in admin("GET", "/flavors", params={"is_public": "false"}).json["flavors"]] == [
            "for-alt", "for-demo"]


# -- rendered views kept per record (docs/decisions/0061-rendered-views-per-record.md) ---------------

#: a new value for every column a detail list row reads (written with a Core UPDATE, as the operations
#: engine, a driver sync or another process may write), and whether the latest admin view shows it
_NEW_VALUES = {
    "progress": 77, "name": "renamed", "description": "described", "hostname": "new-hostname", "key_name": "other-key",
    "vm_state": "stopped", "task_state": "powering-on", "power_state": 4, "host": "compute-9",
    "availability_zone": "zone-b", "config_drive": True, "auto_disk_config": True,
    "user_data": "dXNlcg==", "access_ipv4": "10.9.9.9", "access_ipv6": "fd00::9", "locked": True,
    "locked_reason": "why not", "reservation_id": "r-changed", "launch_index": 3,
    "user_id": "someone-else",
    "image_properties": {"hw_rng_model": "virtio", "min_disk": "1"},  # image.properties from 2.98 (before no image)
    "image_id": None,
    "created_at": dt.datetime(2026, 1, 2, 3, 4, 5), "updated_at": dt.datetime(2026, 2, 3, 4, 5, 6),
    "launched_at": dt.datetime(2026, 3, 4, 5, 6, 7, 89), "terminated_at": dt.datetime(2026, 4, 5, 6, 7, 8),
    "addresses": {"net-b": [{"version": 4, "addr": "10.1.2.3", "OS-EXT-IPS:type": "fixed",
                             "OS-EXT-IPS-MAC:mac_addr": "fa:16:3e:00:00:01"}]},
    "security_groups": [{"name": "web"}],
    "flavor": {"vcpus": 8, "ram": 1024, "disk": 3, "ephemeral": 0, "swap": 0, "name": "resized", "extra_specs": {}},
    "scheduler_hints": {"same_host": ["5c8b3e2a-0000-4000-8000-000000000000"]},  # from 2.100
    "requested_zone": "zone-b:host-1",  # pinned_availability_zone from 2.96
}
#: columns a list row reads that the latest admin view of a server does not show
#: (the embedded flavor from 2.47; groups in a show only)
_NOT_SHOWN_AT_LATEST = {"flavor_id", "server_group_id"}


def test_every_write_to_a_listed_server_shows_in_the_next_list(compute, admin_token, monkeypatch):
    """Lists keep each server's rendered view per (shape, row, related rows): the second list of an
    unchanged page renders nothing, and a change to any column the view reads, a fault, metadata,
    a tag or a volume attached makes the next list show it, exactly as the show does."""
    from overcast.api.compute.server_views import ServerViews
    from overcast.core.compute.servers import _DETAIL_COLUMNS, JSON_TEXT
    from sqlalchemy import update

    rendered: list[str] = []
    real = ServerViews.detail_in

    def counting(self, server, shape, **kw):  # noqa: ANN001, ANN202
        if kw.get("related") is not None:
            rendered.append(server.id)
        return real(self, server, shape, **kw)

    monkeypatch.setattr(ServerViews, "detail_in", counting)
    nova = Nova(compute, admin_token)
    sid, other = (nova.create(f"vm{i}", wait=None).json["server"]["id"] for i in range(2))

    def listed() -> dict:
        servers = {s["id"]: s for s in nova.req("GET", "/servers/detail?all_tenants=1", "latest").json["servers"]}
        shown = nova.req("GET", f"/servers/{sid}", "latest").json["server"]
        shown.pop("server_groups", None)
        assert servers[sid] == shown
        return servers[sid]

    before = listed()
    rendered.clear()
    assert listed() == before and rendered == []  # nothing changed: both views are the kept bytes

    def write(**values) -> None:  # noqa: ANN003
        with compute.app.compute.store.session() as session:
            session.execute(update(Server).where(Server.id == sid).values(**values))

    columns = {c.name for c in _DETAIL_COLUMNS if c.name not in ("has_metadata", "has_tags", "has_volumes")}
    columns |= set(JSON_TEXT) | {"name"}
    assert columns - {"project_id", "fault"} - _NOT_SHOWN_AT_LATEST == set(_NEW_VALUES)  # a new column needs a case
    for name, value in _NEW_VALUES.items():
        previous = listed()
        rendered.clear()
        write(**{name: value})
        now = listed()
        assert now != previous, name
        assert rendered == [sid], (name, rendered)  # only the changed server is rendered again
    previous = listed()
    write(vm_state="error", task_state=None, fault={"code": 500, "message": "it broke", "created": "2026-12-07"})
    assert listed()["fault"]["message"] == "it broke"
    for name, value in (("flavor_id", "2"), ("server_group_id", str(uuid.uuid4()))):
        write(**{name: value})
        assert listed() is not None  # still the show's view
    write(vm_state="active", task_state=None, locked=False, fault=None)
    assert listed()["status"] == "ACTIVE"
    assert nova.req("PUT", f"/servers/{sid}/metadata/colour", "latest",
                    json={"meta": {"colour": "red"}}).status_code == 200
    assert listed()["metadata"] == {"colour": "red"}
    assert nova.req("PUT", f"/servers/{sid}/tags/blue", "latest").status_code == 201
    assert listed()["tags"] == ["blue"]
    with compute.app.compute.store.session() as session:
        session.add(BlockDeviceMapping(server_id=sid, volume_id=str(uuid.uuid4()), source_type="volume",
                                       device_name="/dev/vdb", delete_on_termination=True))
    assert len(listed()["os-extended-volumes:volumes_attached"]) == 1
    assert nova.req("DELETE", f"/servers/{sid}/tags/blue", "latest").status_code == 204
    assert listed()["tags"] == []
    rendered.clear()
    nova.req("GET", "/servers/detail?all_tenants=1", "2.1")  # another microversion: another shape
    assert sorted(rendered) == sorted([sid, other])


def test_rendered_views_are_bounded_by_their_bytes():
    from overcast.api.fragments import Fragments, json_list

    fragments = Fragments(budget=64 * 1024)
    for i in range(2000):
        assert fragments.render(("shape", i, "x" * 100), lambda i=i: {"id": i}) == b'{"id":%d}' % i
    assert 0 < fragments.size <= fragments.budget and len(fragments) < 2000
    assert fragments.render(("shape", 1999, "x" * 100), lambda: {"id": "not rendered"}) == b'{"id":1999}'
    huge = fragments.render(("huge",), lambda: {"data": "y" * 64 * 1024})
    assert huge.startswith(b'{"data":"yyy') and ("huge",) not in fragments._items  # never kept: too big
    assert json_list("servers", [b'{"id":1}', b'{"id":2}'], {"servers_links": [{"rel": "next"}]}) == (
        b'{"servers":[{"id":1},{"id":2}],"servers_links":[{"rel":"next"}]}')
