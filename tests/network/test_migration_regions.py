"""Migration 0019 with data present, on SQLite and PostgreSQL: existing network records belong to
the first configured region, nothing is lost (SQLite's rebuilds must not cascade to an address
or a default group), default security groups and quota limits become per region, and the
downgrade gives the old schema back with the rows."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from alembic import command
from sqlalchemy import inspect, text

from overcast.store.db import Store, alembic_config
from overcast.testing.live import create_postgres_database, drop_postgres_database

POSTGRES_ADMIN_URL = os.environ.get("OVERCAST_TEST_POSTGRES_URL", "")
NOW = dt.datetime(2026, 11, 1)
STANDARD = {"project_id": "p1", "description": "", "tags": "[]", "revision_number": 0, "created_at": NOW,
            "updated_at": NOW}
ROWS = [
    ("net_network", {"id": "n1", "name": "net", "admin_state_up": True, "shared": False, "external": False,
                     "mtu": 1442, "status": "ACTIVE", "port_security_enabled": True, **STANDARD}),
    ("net_subnet", {"id": "s1", "network_id": "n1", "name": "sub", "ip_version": 4, "cidr": "10.0.0.0/24",
                    "gateway_ip": "10.0.0.1", "enable_dhcp": True, "allocation_pools": "[]", "dns_nameservers": "[]",
                    "host_routes": "[]", **STANDARD}),
    ("net_port", {"id": "p1", "network_id": "n1", "name": "", "mac_address": "fa:16:3e:00:00:01",
                  "admin_state_up": True, "status": "ACTIVE", "device_id": "vm", "device_owner": "compute:nova",
                  "port_security_enabled": True, "security_group_ids": "[]", "allowed_address_pairs": "[]",
                  "binding_host_id": "h", "binding_vif_type": "ovs", "binding_vnic_type": "normal", **STANDARD}),
    ("net_ip_allocation", {"subnet_id": "s1", "ip_address": "10.0.0.5", "port_id": "p1", "network_id": "n1",
                           "position": 0}),
    ("net_security_group", {"id": "g1", "name": "default", "stateful": True, **STANDARD}),
    ("net_security_group_rule", {"id": "r1", "project_id": "p1", "security_group_id": "g1", "direction": "egress",
                                 "ethertype": "IPv4", "description": "", "revision_number": 0, "created_at": NOW,
                                 "updated_at": NOW}),
    ("net_default_security_group", {"project_id": "p1", "security_group_id": "g1"}),
    ("net_quota", {"project_id": "p1", "resource": "port", "hard_limit": 7}),
    ("net_router", {"id": "rt1", "name": "r", "admin_state_up": True, "status": "ACTIVE", "enable_snat": True,
                    "routes": "[]", **STANDARD}),
    ("net_floating_ip", {"id": "f1", "floating_network_id": "n1", "floating_ip_address": "10.0.0.9",
                         "floating_port_id": "p1", "status": "DOWN", **STANDARD}),
]


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path) -> str:  # noqa: ANN001
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrate.db'}"
        return
    if not POSTGRES_ADMIN_URL:
        pytest.skip("OVERCAST_TEST_POSTGRES_URL is not set")
    database = create_postgres_database(POSTGRES_ADMIN_URL, prefix="overcast_migration_test")
    yield database
    drop_postgres_database(POSTGRES_ADMIN_URL, database)


def _insert(store: Store, table: str, row: dict) -> None:
    names = ", ".join(row)
    with store.engine.begin() as conn:
        conn.execute(text(f"INSERT INTO {table} ({names}) VALUES ({', '.join(':' + k for k in row)})"), row)


def test_existing_rows_join_the_first_region_and_come_back_on_downgrade(url):
    store = Store(url)
    command.upgrade(alembic_config(url), "0018")
    for table, row in ROWS:
        _insert(store, table, row)
    store.upgrade("lab")
    with store.engine.connect() as conn:
        for table in ("net_network", "net_subnet", "net_port", "net_router", "net_floating_ip", "net_security_group",
                      "net_security_group_rule", "net_default_security_group", "net_quota"):
            assert conn.execute(text(f"SELECT DISTINCT cloud FROM {table}")).scalars().all() == ["lab"], table
        assert conn.execute(text("SELECT backend_id FROM net_port")).scalars().all() == [None]
        assert conn.execute(text("SELECT ip_address FROM net_ip_allocation")).scalars().all() == ["10.0.0.5"]
        assert conn.execute(text("SELECT security_group_id FROM net_default_security_group")).scalars().all() == ["g1"]
        assert conn.execute(text("SELECT hard_limit FROM net_quota")).scalars().all() == [7]
        pk = inspect(conn).get_pk_constraint("net_quota")["constrained_columns"]
        assert set(pk) == {"project_id", "cloud", "resource"}
    _insert(store, "net_quota", {"project_id": "p1", "cloud": "other", "resource": "port", "hard_limit": 9})
    command.downgrade(alembic_config(url), "0018")
    with store.engine.connect() as conn:
        assert "cloud" not in {c["name"] for c in inspect(conn).get_columns("net_port")}
        assert conn.execute(text("SELECT hard_limit FROM net_quota")).scalars().all() == [7]  # one row per key
        assert conn.execute(text("SELECT ip_address FROM net_ip_allocation")).scalars().all() == ["10.0.0.5"]
        assert conn.execute(text("SELECT count(*) FROM net_security_group_rule")).scalar() == 1
    store.dispose()
