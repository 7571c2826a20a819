"""os-simple-tenant-usage from 2.40: servers paged by ``limit``/``marker`` inside the usage, with
``tenant_usage(s)_links`` to the next page; a client paging as Horizon does always stops."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest
from schemas import check
from sqlalchemy import select

from overcast.store.compute import Server
from overcast.store.models import Project

NOW = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
PERIOD = f"start={(NOW - dt.timedelta(days=1)):%Y-%m-%dT%H:%M:%S}&end={NOW:%Y-%m-%dT%H:%M:%S}"


def _servers(store, project: str, count: int, deleted: int = 0) -> tuple[str, list[str]]:  # noqa: ANN001
    """``count`` launched servers in ``project`` (the last ``deleted`` of them terminated an hour ago)."""
    with store.session() as session:
        owner = session.scalar(select(Project.id).where(Project.name == project))
        made = []
        for n in range(count):
            gone = n >= count - deleted
            server = Server(cloud="RegionOne", project_id=owner, user_id="u", name=f"vm{n}", flavor_id="1",
                            flavor={"vcpus": 1, "ram": 512, "disk": 1, "original_name": "m1.tiny"},
                            vm_state="deleted" if gone else "active", task_state=None, host="h",
                            launched_at=NOW - dt.timedelta(hours=3),
                            terminated_at=NOW - dt.timedelta(hours=1) if gone else None, deleted=gone)
            session.add(server)
            session.flush()
            made.append(server.id)
        return owner, made


def _next(body: dict, key: str) -> str | None:
    links = body.get(key)
    if not links:
        return None
    assert [link["rel"] for link in links] == ["next"]
    return links[0]["href"]


def _follow(api, href: str):  # noqa: ANN001, ANN202
    """The path and query of a next link, relative to /compute/v2.1."""
    parts = urlsplit(href)
    assert parts.path.startswith("/compute/v2.1/os-simple-tenant-usage")
    return parts.path[len("/compute/v2.1"):] + "?" + parts.query


def test_project_usage_pages_by_limit_and_marker(admin, demo, seeded):
    owner, made = _servers(seeded.app.compute.store, "demo", 5, deleted=1)
    seen, path, calls = [], f"/os-simple-tenant-usage/{owner}?{PERIOD}&limit=2", 0
    while path:
        calls += 1
        assert calls <= 4, "paging did not stop"
        body = check(demo("GET", path, "2.40"), "v2_1.tenant_usages", "get_tenant_usage")
        usage = body["tenant_usage"]
        page = [s["instance_id"] for s in usage["server_usages"]]
        assert len(page) <= 2
        # each page's totals add up its own servers only, as Nova's do
        assert usage["total_hours"] == pytest.approx(sum(s["hours"] for s in usage["server_usages"]))
        seen += page
        href = _next(body, "tenant_usage_links")
        if href:
            query = parse_qs(urlsplit(href).query)
            assert query["marker"] == [page[-1]] and query["limit"] == ["2"]
        path = _follow(demo, href) if href else None
    assert seen == sorted(made) and calls == 3
    # the last page is not full, so it has no link; a full last page has one, then an empty usage follows
    last = demo("GET", f"/os-simple-tenant-usage/{owner}?{PERIOD}&limit=5", "2.40").json
    assert len(last["tenant_usage"]["server_usages"]) == 5 and _next(last, "tenant_usage_links")
    empty = demo("GET", f"/os-simple-tenant-usage/{owner}?{PERIOD}&marker={sorted(made)[-1]}", "2.40").json
    assert empty == {"tenant_usage": {}}


def test_all_projects_page_across_projects(admin, seeded):
    store = seeded.app.compute.store
    demo_id, demo_servers = _servers(store, "demo", 3)
    alt_id, alt_servers = _servers(store, "alt_demo", 2)
    expected = [sid for _, sid in sorted([(demo_id, s) for s in demo_servers] + [(alt_id, s) for s in alt_servers])]
    seen, path, calls = [], f"/os-simple-tenant-usage?{PERIOD}&detailed=1&limit=2", 0
    while path:
        calls += 1
        assert calls <= 5, "paging did not stop"
        body = check(admin("GET", path, "2.40"), "v2_1.tenant_usages", "list_tenant_usage")
        seen += [s["instance_id"] for u in body["tenant_usages"] for s in u["server_usages"]]
        href = _next(body, "tenant_usages_links")
        path = _follow(admin, href) if href else None
    assert seen == expected
    # without detail the page still pages servers: two of them, one link on
    brief = admin("GET", f"/os-simple-tenant-usage?{PERIOD}&limit=2", "2.40").json
    assert "server_usages" not in brief["tenant_usages"][0] and _next(brief, "tenant_usages_links")
    assert sum(u["total_hours"] for u in brief["tenant_usages"]) == pytest.approx(2 * 3.0, abs=0.01)


def test_marker_and_limit_faults_and_older_versions(admin, demo, seeded):
    owner, made = _servers(seeded.app.compute.store, "demo", 2)
    unknown = "5c8b3e2a-0000-4000-8000-000000000000"
    bad = demo("GET", f"/os-simple-tenant-usage/{owner}?{PERIOD}&marker={unknown}", "2.40")
    assert bad.status_code == 400 and bad.json["badRequest"]["message"] == f"Marker {unknown} could not be found."
    assert admin("GET", f"/os-simple-tenant-usage?{PERIOD}&limit=x", "2.40").status_code == 400
    assert admin("GET", f"/os-simple-tenant-usage?{PERIOD}&limit=-1", "2.40").status_code == 400
    # before 2.40 Nova reads neither: everything, and no links
    old = demo("GET", f"/os-simple-tenant-usage/{owner}?{PERIOD}&limit=1&marker={made[0]}", "2.39").json
    assert len(old["tenant_usage"]["server_usages"]) == 2 and "tenant_usage_links" not in old


def test_horizon_style_paging_stops(demo, seeded):
    """The loop guard: Horizon asks again with the last server as marker until a page is empty
    (openstack_dashboard.api.nova.usage_get). It must stop after the servers run out."""
    owner, made = _servers(seeded.app.compute.store, "demo", 3)
    usage = demo("GET", f"/os-simple-tenant-usage/{owner}?{PERIOD}", "2.40").json["tenant_usage"]
    calls, seen = 1, [s["instance_id"] for s in usage["server_usages"]]
    marker = seen[-1] if seen else None
    while marker:
        calls += 1
        assert calls <= 3, "a client paging by marker never reached an empty page"
        nxt = demo("GET", f"/os-simple-tenant-usage/{owner}?{PERIOD}&marker={marker}", "2.40").json["tenant_usage"]
        servers = nxt.get("server_usages") or []
        seen += [s["instance_id"] for s in servers]
        marker = servers[-1]["instance_id"] if servers else None
    assert calls == 2 and sorted(seen) == sorted(made)
