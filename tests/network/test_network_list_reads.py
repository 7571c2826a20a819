"""Neutron's kept list views (docs/decisions/0067-kept-neutron-and-flavor-views.md): ``GET ports``
and ``GET networks`` read their page as rows of every column the view reads and keep each record's
rendered JSON under (admin flag, row, related rows); each listed record is, key for key and in the
same order, what its show answers; a write to any column a row reads, or to a related row (an
address, a subnet, the network's QoS policy, an address scope), shows in the next list, and only
the changed record is rendered anew. Each test runs on SQLite, and on PostgreSQL when
``OVERCAST_TEST_POSTGRES_URL`` names an admin URL."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

import pytest
from netwait import settle
from sqlalchemy import update

from overcast.api.network import views
from overcast.core.network import networks as network_rules
from overcast.core.network import ports as port_rules
from overcast.store.network import IpAllocation, Network, Port, Subnet
from tests.conftest import backend_settings


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request: pytest.FixtureRequest, settings):  # noqa: ANN001, ANN201
    """The shared settings without the response cache (every list computed: the kept views are what is
    tested), on a fresh PostgreSQL database for the ``postgresql`` run."""
    uncached = settings.replace(server=dataclasses.replace(settings.server, response_cache=False))
    yield from backend_settings(request, uncached, "overcast_net_list_test")


def _counting(monkeypatch, name: str) -> list[str]:  # noqa: ANN001
    """The ids of the records ``views.<name>`` renders from now on (a list's miss, a show)."""
    rendered: list[str] = []
    real = getattr(views, name)

    def counting(req, record, *args):  # noqa: ANN001, ANN002, ANN202
        rendered.append(record.id)
        return real(req, record, *args)

    monkeypatch.setattr(views, name, counting)
    return rendered


def _listed(net, token: str, collection: str, member: str, rid: str) -> dict[str, Any]:  # noqa: ANN001
    """The record ``rid`` as the list shows it, asserted equal (keys in order) to its show."""
    status, body = net("GET", f"/{collection}", token)
    assert status == 200, body
    (found,) = [r for r in body[collection] if r["id"] == rid]
    status, shown = net("GET", f"/{collection}/{rid}", token)
    assert status == 200, shown
    assert list(found.items()) == list(shown[member].items())
    return found


@pytest.mark.parametrize("who", ["demo", "admin"])
def test_each_listed_port_and_network_is_its_show(cloud, net, demo_token, admin_token, who):
    network = net.make(demo_token, "networks", "network", name="n1", description="first")
    net.make(demo_token, "subnets", "subnet", network_id=network["id"], ip_version=4, cidr="10.1.0.0/24")
    net.make(demo_token, "subnets", "subnet", network_id=network["id"], ip_version=6, cidr="fd00:1::/64")
    made = [net.make(demo_token, "ports", "port", network_id=network["id"], name=f"p{i}") for i in range(3)]
    status, _ = net("PUT", f"/ports/{made[1]['id']}", demo_token, {"port": {
        "allowed_address_pairs": [{"ip_address": "10.1.0.200"}], "description": "second",
        "extra_dhcp_opts": [{"opt_name": "mtu", "opt_value": "1400"}]}})
    assert status == 200
    settle(cloud)
    token = admin_token if who == "admin" else demo_token
    for collection, member, ids in (("ports", "port", [p["id"] for p in made]), ("networks", "network",
                                                                                [network["id"]])):
        status, body = net("GET", f"/{collection}", token)
        listed = {r["id"]: r for r in body[collection]}
        assert set(ids) <= set(listed)
        for rid, record in listed.items():
            status, shown = net("GET", f"/{collection}/{rid}", token)
            assert list(record.items()) == list(shown[member].items()), (collection, rid)
        assert ("binding:host_id" in listed[ids[0]]) is (who == "admin") or collection == "networks"
    status, body = net("GET", "/ports", token)
    second = {p["id"]: p for p in body["ports"]}[made[1]["id"]]
    assert second["allowed_address_pairs"] == [{"ip_address": "10.1.0.200", "mac_address": second["mac_address"]}] \
        or second["allowed_address_pairs"][0]["ip_address"] == "10.1.0.200"
    assert [o["opt_name"] for o in second["extra_dhcp_opts"]] == ["mtu"]
    assert len(second["fixed_ips"]) == 2


def test_fields_filters_tags_and_paging_still_answer_as_before(cloud, net, demo_token):
    network = net.make(demo_token, "networks", "network", name="n1")
    net.make(demo_token, "subnets", "subnet", network_id=network["id"], ip_version=4, cidr="10.2.0.0/24")
    ids = [net.make(demo_token, "ports", "port", network_id=network["id"], name=f"p{i}", device_id="d")["id"]
           for i in range(4)]
    status, _ = net("PUT", f"/ports/{ids[2]}/tags/red", demo_token)
    assert status == 201
    status, first = net("GET", "/ports?device_id=d&limit=2&sort_key=name&sort_dir=asc", demo_token)
    assert [p["name"] for p in first["ports"]] == ["p0", "p1"]
    assert first["ports_links"][0]["rel"] == "next" and f"marker={ids[1]}" in first["ports_links"][0]["href"]
    status, rest = net("GET", f"/ports?device_id=d&limit=2&sort_key=name&sort_dir=asc&marker={ids[1]}", demo_token)
    assert [p["name"] for p in rest["ports"]] == ["p2", "p3"]
    assert {link["rel"] for link in rest["ports_links"]} == {"previous"}
    assert net("GET", "/ports?name=p3", demo_token)[1]["ports"][0]["id"] == ids[3]
    assert [p["id"] for p in net("GET", "/ports?tags=red", demo_token)[1]["ports"]] == [ids[2]]
    assert net("GET", "/ports?fields=id&fields=name&name=p1", demo_token)[1] == {"ports": [{"id": ids[1],
                                                                                            "name": "p1"}]}
    assert net("GET", "/networks?fields=name&name=n1", demo_token)[1] == {"networks": [{"name": "n1"}]}


#: a new value for each column a port list row reads (ports.LIST_COLUMNS), written with a Core UPDATE
_PORT_VALUES: dict[str, Any] = {
    "name": "renamed", "mac_address": "fa:16:3e:00:00:99", "admin_state_up": False, "status": "BUILD",
    "device_id": "a-device", "device_owner": "compute:nova", "port_security_enabled": False,
    "security_group_ids": ["sg-1"], "allowed_address_pairs": [{"ip_address": "10.3.0.99", "mac_address": "x"}],
    "extra": {"binding:profile": {"k": "v"}, "extra_dhcp_opts": [{"opt_name": "a", "opt_value": "b",
                                                                   "ip_version": 4}]},
    "qos_policy_id": str(uuid.uuid4()), "binding_host_id": "host-9", "binding_vif_type": "ovs",
    "binding_vnic_type": "direct", "description": "described", "project_id": None,
    "created_at": dt.datetime(2026, 1, 2, 3, 4, 5), "updated_at": dt.datetime(2026, 2, 3, 4, 5, 6),
    "revision_number": 41, "tags": ["a", "b"], "network_id": None,
}
#: the same for a network list row (networks.LIST_COLUMNS)
_NETWORK_VALUES: dict[str, Any] = {
    "name": "renamed", "admin_state_up": False, "status": "DOWN", "shared": True, "external": True,
    "is_default": True, "mtu": 1400, "port_security_enabled": False, "network_type": "vlan",
    "physical_network": "physnet9", "segmentation_id": 99, "qos_policy_id": str(uuid.uuid4()),
    "description": "described", "project_id": None, "created_at": dt.datetime(2026, 1, 2, 3, 4, 5),
    "updated_at": dt.datetime(2026, 2, 3, 4, 5, 6), "revision_number": 41, "tags": ["a", "b"],
}


def _write(cloud, model: Any, rid: str, **values: Any) -> None:  # noqa: ANN001
    with cloud.app.network.store.session() as session:
        session.execute(update(model.__table__).where(model.__table__.c.id == rid).values(**values))


def test_every_write_to_a_listed_port_shows_in_the_next_list(cloud, net, admin_token, monkeypatch):
    """A change to any column the row reads, to its addresses or to its network's QoS policy makes
    the next list show it, as the show does; only the changed port is rendered anew."""
    network = net.make(admin_token, "networks", "network", name="n1")
    other_network = net.make(admin_token, "networks", "network", name="n2")
    subnet = net.make(admin_token, "subnets", "subnet", network_id=network["id"], ip_version=4, cidr="10.3.0.0/24")
    pid, other = (net.make(admin_token, "ports", "port", network_id=network["id"], name=f"p{i}")["id"]
                  for i in range(2))
    settle(cloud)
    rendered = _counting(monkeypatch, "_port")
    before = _listed(net, admin_token, "ports", "port", pid)
    rendered.clear()
    assert _listed(net, admin_token, "ports", "port", pid) == before
    assert rendered == [pid]  # the show only: nothing in the list rendered anew
    names = {c.name for c in port_rules.LIST_COLUMNS} - {"id"}
    assert names == set(_PORT_VALUES)  # a new column in the row needs a case here
    values = {**_PORT_VALUES, "project_id": "another-project", "network_id": other_network["id"]}
    for name, value in values.items():
        previous = _listed(net, admin_token, "ports", "port", pid)
        _write(cloud, Port, pid, **{name: value})
        rendered.clear()
        assert _listed(net, admin_token, "ports", "port", pid) != previous, name
        assert rendered == [pid, pid], name  # the list renders the changed port only (not `other`), the show
    _write(cloud, Port, pid, network_id=network["id"])
    _listed(net, admin_token, "ports", "port", pid)
    with cloud.app.network.store.session() as session:  # an address more
        session.add(IpAllocation(subnet_id=subnet["id"], ip_address="10.3.0.250", port_id=pid,
                                 network_id=network["id"], position=5))
    rendered.clear()
    assert "10.3.0.250" in [a["ip_address"] for a in _listed(net, admin_token, "ports", "port", pid)["fixed_ips"]]
    assert rendered == [pid, pid]
    policy = str(uuid.uuid4())
    _write(cloud, Network, network["id"], qos_policy_id=policy)  # the network's policy: every port of it
    rendered.clear()
    assert _listed(net, admin_token, "ports", "port", pid)["qos_network_policy_id"] == policy
    assert sorted(rendered) == sorted([pid, other, pid])
    assert other in rendered


def test_every_write_to_a_listed_network_shows_in_the_next_list(cloud, net, admin_token, monkeypatch):
    """The same for a network: each column its row reads, a subnet more, an address scope."""
    nid, other = (net.make(admin_token, "networks", "network", name=f"n{i}")["id"] for i in range(2))
    settle(cloud)
    rendered = _counting(monkeypatch, "_network")
    before = _listed(net, admin_token, "networks", "network", nid)
    rendered.clear()
    assert _listed(net, admin_token, "networks", "network", nid) == before
    assert rendered == [nid]
    names = {c.name for c in network_rules.LIST_COLUMNS} - {"id"}
    assert names == set(_NETWORK_VALUES)
    for name, value in {**_NETWORK_VALUES, "project_id": "another-project"}.items():
        previous = _listed(net, admin_token, "networks", "network", nid)
        _write(cloud, Network, nid, **{name: value})
        rendered.clear()
        assert _listed(net, admin_token, "networks", "network", nid) != previous, name
        assert rendered == [nid, nid], name
    scope = net.make(admin_token, "address-scopes", "address_scope", name="s4", ip_version=4)
    pool = net.make(admin_token, "subnetpools", "subnetpool", name="pool", prefixes=["10.8.0.0/16"],
                    default_prefixlen=24)
    net.make(admin_token, "subnets", "subnet", network_id=nid, ip_version=4, subnetpool_id=pool["id"])
    rendered.clear()
    listed = _listed(net, admin_token, "networks", "network", nid)
    assert len(listed["subnets"]) == 1 and listed["ipv4_address_scope"] is None
    assert rendered == [nid, nid]
    status, _ = net("PUT", f"/subnetpools/{pool['id']}", admin_token, {"subnetpool": {"address_scope_id": scope["id"]}})
    assert status == 200
    rendered.clear()
    assert _listed(net, admin_token, "networks", "network", nid)["ipv4_address_scope"] == scope["id"]
    assert rendered == [nid, nid]
    with cloud.app.network.store.session() as session:  # a subnet made behind the API's back
        session.add(Subnet(network_id=nid, ip_version=6, cidr="fd00:9::/64", project_id="p", cloud="RegionOne"))
    rendered.clear()
    assert len(_listed(net, admin_token, "networks", "network", nid)["subnets"]) == 2
    assert rendered == [nid, nid]


def test_an_admins_kept_view_is_never_a_members(cloud, net, demo_token, admin_token):
    """The admin flag is in the key: one process lists for an admin and a member in either order."""
    network = net.make(demo_token, "networks", "network", name="n1")
    pid = net.make(demo_token, "ports", "port", network_id=network["id"], name="p")["id"]
    settle(cloud)
    for token in (admin_token, demo_token, admin_token):
        admin = token == admin_token
        ports = {p["id"]: p for p in net("GET", "/ports", token)[1]["ports"]}
        networks = {n["id"]: n for n in net("GET", "/networks", token)[1]["networks"]}
        assert ("binding:host_id" in ports[pid]) is admin
        assert ("provider:network_type" in networks[network["id"]]) is admin
