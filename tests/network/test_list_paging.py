"""Lists paged in SQL: a page costs its own rows, not the project's, and every answer (records,
order, ``<collection>_links``, faults) is the one filtering, sorting and paging the rendered views
gives. A tag filter that matches everything forces that second path, so each query is asked
both ways and the answers compared. Each test runs on SQLite, and on PostgreSQL (whose text
collation and null ordering differ) when ``OVERCAST_TEST_POSTGRES_URL`` names an admin URL."""

from __future__ import annotations

import datetime as dt
import uuid
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from netwait import loaded, settle

from overcast.api.network.resources import KINDS, RULES
from overcast.store.network import IpAllocation, Port, SecurityGroupRule
from tests.conftest import backend_settings, statements_of


#: a tag filter every record passes: only the rendered-view path can do it
FORCE = ("not-tags-any", "never-used")
NAMES = ("a", "B", "b", "é", "", "port-1", "port-10", "port-2")
PORTS = 500


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request: pytest.FixtureRequest, settings):  # noqa: ANN001, ANN201
    """The shared settings, on a fresh PostgreSQL database for the ``postgresql`` run."""
    yield from backend_settings(request, settings, "overcast_paging_test")


statements = statements_of  # the SQL statements the engine sends while the block runs


@pytest.fixture
def many_ports(cloud, net, demo_token) -> dict:
    """500 ports in the demo project, straight into the store: repeated names, device ids and
    creation times (25 ports a second), so sorts and pages meet many ties; every tenth has an address."""
    network = net.make(demo_token, "networks", "network", name="paged")
    subnet = net.make(demo_token, "subnets", "subnet", network_id=network["id"], ip_version=4, cidr="10.77.0.0/16")
    start = dt.datetime(2026, 1, 1)
    with cloud.app.network.session() as session:
        for i in range(PORTS):
            port = Port(id=str(uuid.uuid4()), cloud=cloud.app.network.region, project_id=network["project_id"],
                        network_id=network["id"],
                        name=NAMES[i % len(NAMES)], mac_address=f"fa:16:3e:00:{i >> 8:02x}:{i & 255:02x}",
                        admin_state_up=i % 3 != 0, status="ACTIVE" if i % 4 == 0 else "DOWN",
                        device_id=f"dev-{i % 7}" if i % 5 else "", device_owner="compute:nova" if i % 5 else "",
                        tags=[], security_group_ids=[], allowed_address_pairs=[],
                        created_at=start + dt.timedelta(seconds=i // 25), updated_at=start)
            if i % 10 == 0:
                port.fixed_ips.append(IpAllocation(subnet_id=subnet["id"], ip_address=f"10.77.{i >> 8}.{i & 255}",
                                                   network_id=network["id"]))
            session.add(port)
    settle(cloud)  # nothing left for the workers to load while a test counts what a list loads
    return {"network": network, "subnet": subnet}


def _forced(url: str) -> str:
    return url + ("&" if "?" in url else "?") + urlencode([FORCE])


def _unforced(body: dict) -> dict:
    """``body`` with the forcing filter taken out of its links."""
    for key, links in body.items():
        if key.endswith("_links"):
            for link in links:
                parts = urlsplit(link["href"])
                query = urlencode([p for p in parse_qsl(parts.query, keep_blank_values=True) if p != FORCE])
                link["href"] = parts._replace(query=query).geturl()
    return body


def _same_either_way(net, token: str, url: str) -> tuple[int, dict]:  # noqa: ANN001
    """The answer to ``url``, asserted equal to the rendered-view path's answer."""
    status, body = net("GET", url, token)
    assert (status, body) == (lambda s, b: (s, _unforced(b)))(*net("GET", _forced(url), token)), url
    return status, body


def _follow(net, token: str, collection: str, url: str) -> list[str]:  # noqa: ANN001
    """Every id reachable from ``url``: its page, the pages its ``next`` links lead to and those its
    ``previous`` links lead to, in list order; each page asked both ways."""
    status, first = _same_either_way(net, token, url)
    assert status == 200, first
    pages = [[r["id"] for r in first[collection]]]
    for rel in ("next", "previous"):
        body = first
        while url := _relative(body, collection, rel):
            _, body = _same_either_way(net, token, url)
            page = [r["id"] for r in body[collection]]
            pages.append(page) if rel == "next" else pages.insert(0, page)
            assert len(pages) <= PORTS, f"{rel} links loop"
    return [i for page in pages for i in page]


def _relative(body: dict, collection: str, rel: str) -> str:
    hrefs = [link["href"] for link in body.get(f"{collection}_links", []) if link["rel"] == rel]
    if not hrefs:
        return ""
    parts = urlsplit(hrefs[0])
    return "/" + parts.path.split("/v2.0/", 1)[1] + "?" + parts.query


def test_a_page_loads_only_its_rows(cloud, net, demo_token, many_ports):
    engine = cloud.app.network.store.engine
    _, body = net("GET", "/ports", demo_token)
    ids = [p["id"] for p in body["ports"]]
    assert len(ids) >= PORTS
    for url, expected in (("/ports?limit=10", ids[:10]), (f"/ports?limit=10&marker={ids[250]}", ids[251:261]),
                          (f"/ports?limit=10&marker={ids[250]}&page_reverse=True", ids[240:250]),
                          ("/ports?limit=10&device_owner=compute:nova&sort_key=name&sort_dir=desc", None),
                          ("/ports?limit=10&fields=id&fields=name", ids[:10])):
        with loaded(Port) as rows, statements(engine) as sql:
            status, body = net("GET", url, demo_token)
        assert status == 200 and len(body["ports"]) == 10, url
        if expected is not None:
            assert [p["id"] for p in body["ports"]] == expected
        # the page and one more, to know whether there is a next page: rows of the viewed columns (no
        # records) on the kept path, records with fields= (docs/decisions/0067-kept-neutron-and-flavor-views.md)
        assert len(rows) == (11 if "fields=" in url else 0), url
        port_queries = [s for s in sql if "FROM net_port" in s]
        assert len(port_queries) == (2 if "marker" in url else 1), port_queries  # the marker's row, the page
        assert "LIMIT" in port_queries[-1]
    with loaded(Port) as rows:
        net("GET", _forced("/ports?limit=10"), demo_token)
    assert len(rows) >= PORTS  # the rendered-view path loads every port


QUERIES = (
    "", "limit=100", "limit=0", "limit=137", "limit=60&page_reverse=True", "limit=0&page_reverse=True",
    "sort_key=name&sort_dir=desc&limit=70", "sort_key=name&sort_dir=desc&limit=90&page_reverse=true",
    "sort_key=name&sort_key=device_id&sort_dir=asc&sort_dir=desc&limit=130",
    "sort_key=admin_state_up&sort_key=status&sort_dir=desc&limit=110", "sort_key=id&limit=250",
    "sort_key=name&sort_dir=asc", "device_id=dev-3&limit=5", "device_id=&limit=7", "name=a&name=b&limit=11",
    "admin_state_up=FALSE&limit=30", "admin_state_up=1&name=B&sort_key=mac_address&sort_dir=desc&limit=6",
    "status=ACTIVE&device_owner=compute:nova&limit=3", "revision_number=0&limit=200", "revision_number=00&limit=3",
    "name=no-such-name&limit=5", "limit=100&fields=id&fields=name", "marker=whatever", "limit=150&marker=bogus",
)


@pytest.mark.parametrize("query", QUERIES)
def test_ports_pages_are_those_of_the_rendered_views(net, demo_token, many_ports, query):
    network = f"network_id={many_ports['network']['id']}"
    with loaded(Port) as rows:
        _, body = net("GET", f"/ports?{query}&{network}", demo_token)
    assert len(rows) <= len(body["ports"]) + 1  # the SQL path: the page, and one more row at most
    everything = _follow(net, demo_token, "ports", f"/ports?{query}&{network}")
    _, body = net("GET", f"/ports?{query}&{network}&limit=0", demo_token)
    assert everything == [p["id"] for p in body["ports"]]  # the pages, one after another, are the whole list


def test_markers_in_the_middle_of_ties_both_ways(net, demo_token, many_ports):
    _, body = net("GET", "/ports?sort_key=name&sort_dir=desc&sort_key=admin_state_up", demo_token)
    ids = [p["id"] for p in body["ports"]]
    for at in (0, 1, 24, 25, 26, 249, len(ids) - 2, len(ids) - 1):
        for reverse in ("", "&page_reverse=True"):
            url = f"/ports?sort_key=name&sort_dir=desc&sort_key=admin_state_up&limit=12&marker={ids[at]}{reverse}"
            _same_either_way(net, demo_token, url)


def test_admin_lists_every_project(net, admin_token, many_ports):
    for query in ("limit=25", "sort_key=tenant_id&sort_key=name&sort_dir=desc&limit=40", "tenant_id=nobody&limit=1"):
        _follow(net, admin_token, "ports", f"/ports?{query}")


def test_nullable_columns_sort_null_first_ascending(cloud, net, demo_token):
    group = net.make(demo_token, "security-groups", "security_group", name="paged")
    start = dt.datetime(2026, 1, 1)
    with cloud.app.network.session() as session:
        for i in range(60):
            session.add(SecurityGroupRule(
                id=str(uuid.uuid4()), cloud=cloud.app.network.region, project_id=group["project_id"],
                security_group_id=group["id"],
                direction="ingress" if i % 2 else "egress", ethertype="IPv4" if i % 3 else "IPv6",
                protocol=(None, "tcp", "6", "udp")[i % 4], port_range_min=(None, 22, 80)[i % 3],
                remote_group_id=group["id"] if i % 5 == 0 else None, created_at=start + dt.timedelta(seconds=i // 10),
                updated_at=start))
    base = f"/security-group-rules?security_group_id={group['id']}"
    for query in ("sort_key=remote_group_id&limit=7", "sort_key=remote_group_id&sort_dir=desc&limit=7",
                  "sort_key=protocol&sort_key=port_range_min&sort_dir=desc&sort_dir=asc&limit=5",
                  "sort_key=port_range_min&sort_dir=desc&limit=6&page_reverse=True", "protocol=null&limit=4",
                  "remote_group_id=&sort_key=protocol&limit=9", "port_range_min=22&port_range_min=None&limit=10",
                  "port_range_min=022", "protocol=6&protocol=udp&sort_key=protocol&sort_dir=desc"):
        _follow(net, demo_token, "security_group_rules", f"{base}&{query}")
    _, body = net("GET", f"{base}&sort_key=remote_group_id&sort_key=port_range_min&sort_dir=desc&sort_dir=desc",
                  demo_token)
    shown = [(r["remote_group_id"], r["port_range_min"]) for r in body["security_group_rules"]]
    assert shown[0][0] == group["id"] and shown[-1] == (None, None)


@pytest.mark.parametrize("collection", ["networks", "subnets", "routers", "floatingips", "security-groups"])
def test_every_collection_pages_in_sql_as_before(cloud, net, demo_token, collection):
    _, body = net("GET", "/networks?name=private", demo_token)
    private = body["networks"][0]["id"]
    _, body = net("GET", "/networks?name=public", demo_token)
    public = body["networks"][0]["id"]
    for i in range(6):
        network = net.make(demo_token, "networks", "network", name=f"n{i % 3}")
        net.make(demo_token, "subnets", "subnet", network_id=network["id"], ip_version=4, cidr=f"10.5{i}.0.0/24",
                 name=f"s{i % 2}")
        net.make(demo_token, "routers", "router", name=f"r{i % 2}", external_gateway_info={"network_id": public})
        port = net.make(demo_token, "ports", "port", network_id=private)
        net.make(demo_token, "floatingips", "floatingip", floating_network_id=public,
                 **({"port_id": port["id"]} if i % 2 else {}))
        net.make(demo_token, "security-groups", "security_group", name=f"g{i % 2}")
    settle(cloud)  # each page is asked twice: a status the workers change in between would differ
    member = collection.replace("-", "_")
    for query in ("limit=2", "limit=3&page_reverse=True", "sort_key=id&sort_dir=desc&limit=4",
                  "tenant_id=nobody&limit=1", "fields=id&limit=5"):
        assert len(_follow(net, demo_token, member, f"/{collection}?{query}")) >= 4 or "nobody" in query
    key = {"floatingips": "floating_ip_address", "routers": "name"}.get(collection, "name")
    _follow(net, demo_token, member, f"/{collection}?sort_key={key}&sort_dir=desc&sort_key=id&limit=3")


@pytest.mark.parametrize("query", ["limit=x", "limit=-1", "sort_key=name&sort_dir=up", "sort_key=bogus",
                                   "sort_key=name&sort_key=bogus&sort_dir=sideways", "limit=-2&sort_dir=up&sort_key=id"])
def test_faults_are_the_same_either_way(net, demo_token, query):
    status, body = _same_either_way(net, demo_token, f"/networks?{query}")
    assert status == 400 and body["NeutronError"]["type"] == "HTTPBadRequest"


def test_the_columns_are_what_the_views_show(cloud, net, demo_token, admin_token):
    """A kind's SQL columns are attributes its view shows as they are stored, for any caller, so a
    filter or sort on them means the same in SQL as on the view."""
    _, body = net("GET", "/networks?name=public", demo_token)
    port = net.make(demo_token, "ports", "port", network_id=net("GET", "/networks?name=private", demo_token)[1]
                    ["networks"][0]["id"])
    net.make(demo_token, "floatingips", "floatingip", floating_network_id=body["networks"][0]["id"],
             port_id=port["id"])
    settle(cloud)  # a status the workers are still changing would differ between the list and the read
    for kind in (*KINDS, RULES):
        model = next(iter(kind.columns.values())).class_
        for token in (demo_token, admin_token):
            _, listed = net("GET", f"/{kind.url or kind.collection}", token)
            assert listed[kind.collection], kind.collection
            for view in listed[kind.collection]:
                with cloud.app.network.session() as session:
                    record = session.get(model, view["id"])
                    assert {name: getattr(record, column.key) for name, column in kind.columns.items()} == \
                        {name: view[name] for name in kind.columns}, kind.collection


def test_lists_of_routers_and_floating_ips_load_their_ports_at_once(cloud, net, demo_token):
    _, body = net("GET", "/networks?name=public", demo_token)
    public = body["networks"][0]["id"]
    private = net("GET", "/networks?name=private", demo_token)[1]["networks"][0]["id"]
    for _ in range(5):
        net.make(demo_token, "routers", "router", external_gateway_info={"network_id": public})
        port = net.make(demo_token, "ports", "port", network_id=private)
        net.make(demo_token, "floatingips", "floatingip", floating_network_id=public, port_id=port["id"])
    settle(cloud)  # the workers realising them share the engine: count only the lists' statements
    engine = cloud.app.network.store.engine
    for collection in ("routers", "floatingips"):
        with statements(engine) as sql:
            status, body = net("GET", f"/{collection}", demo_token)
        assert status == 200 and len(body[collection]) >= 5
        assert len([s for s in sql if "FROM net_port" in s]) == 1, sql
    with statements(engine) as sql:
        _, body = net("GET", "/floatingips", demo_token)
    assert not [s for s in sql if "net_ip_allocation" in s]  # a floating IP shows no port addresses
    assert all(f["port_details"]["network_id"] == private for f in body["floatingips"] if f["port_id"])
