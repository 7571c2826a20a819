"""Migration 0021 (the CDN's tables) with data present, on SQLite and PostgreSQL: it follows 0020,
leaves earlier rows alone, makes tables that take a service with its provider row and domain claim
(one domain, one claim), and its downgrade removes them and nothing else."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from alembic import command
from sqlalchemy import exc, inspect, text

from overcast.store.db import Store, alembic_config
from overcast.testing.live import create_postgres_database, drop_postgres_database

POSTGRES_ADMIN_URL = os.environ.get("OVERCAST_TEST_POSTGRES_URL", "")
NOW = dt.datetime(2026, 12, 1)
CDN_TABLES = {"cdn_flavor", "cdn_service", "cdn_provider_detail", "cdn_domain", "cdn_project", "cdn_certificate"}


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path) -> str:  # noqa: ANN001
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrate.db'}"
        return
    if not POSTGRES_ADMIN_URL:
        pytest.skip("OVERCAST_TEST_POSTGRES_URL is not set")
    database = create_postgres_database(POSTGRES_ADMIN_URL, prefix="overcast_cdn_migration_test")
    yield database
    drop_postgres_database(POSTGRES_ADMIN_URL, database)


def _insert(conn, table: str, row: dict) -> None:  # noqa: ANN001
    conn.execute(text(f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join(':' + k for k in row)})"), row)


def test_0021_with_data_present_and_its_downgrade(url):
    store = Store(url)
    config = alembic_config(url)
    command.upgrade(config, "0020")
    with store.engine.begin() as conn:
        _insert(conn, "net_quota", {"project_id": "p1", "cloud": "RegionOne", "resource": "port", "hard_limit": 7})
    command.upgrade(config, "0021")
    with store.engine.begin() as conn:
        assert CDN_TABLES <= set(inspect(conn).get_table_names())
        _insert(conn, "cdn_flavor", {"id": "f1", "providers": '["mock"]', "managed": True, "created_at": NOW})
        _insert(conn, "cdn_service", {"id": "s1", "project_id": "p1", "name": "site", "flavor_id": "f1",
                                      "document": "{}", "status": "deployed", "operator_status": "enabled",
                                      "created_at": NOW, "updated_at": NOW})
        _insert(conn, "cdn_provider_detail", {"service_id": "s1", "provider": "mock", "position": 0,
                                              "status": "deployed", "access_urls": "[]", "certificates": "{}",
                                              "updated_at": NOW})
        _insert(conn, "cdn_domain", {"domain": "www.example.org", "service_id": "s1", "project_id": "p1"})
    with pytest.raises(exc.IntegrityError), store.engine.begin() as conn:
        _insert(conn, "cdn_domain", {"domain": "www.example.org", "service_id": "s1", "project_id": "p2"})
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT hard_limit FROM net_quota")).scalars().all() == [7]
        assert conn.execute(text("SELECT provider FROM cdn_provider_detail")).scalars().all() == ["mock"]
    command.downgrade(config, "0020")
    with store.engine.connect() as conn:
        assert not CDN_TABLES & set(inspect(conn).get_table_names())
        assert conn.execute(text("SELECT hard_limit FROM net_quota")).scalars().all() == [7]
    store.upgrade()
    with store.engine.connect() as conn:
        assert CDN_TABLES <= set(inspect(conn).get_table_names())
    store.engine.dispose()
