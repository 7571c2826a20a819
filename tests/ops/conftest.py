"""Stores for the operations engine tests: SQLite always; PostgreSQL when
``OVERCAST_TEST_POSTGRES_URL`` names an admin URL (a fresh database is made for the session)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy import delete

from overcast.ops.models import Operation, OperationEvent, OpsLease
from overcast.store.db import Store
from overcast.testing.live import create_postgres_database, drop_postgres_database

POSTGRES_ADMIN_URL = os.environ.get("OVERCAST_TEST_POSTGRES_URL", "")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    if not POSTGRES_ADMIN_URL:
        pytest.skip("OVERCAST_TEST_POSTGRES_URL is not set")
    url = create_postgres_database(POSTGRES_ADMIN_URL, prefix="overcast_ops_test")
    store = Store(url)
    store.upgrade()
    store.dispose()
    yield url
    drop_postgres_database(POSTGRES_ADMIN_URL, url)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path) -> str:  # noqa: ANN001
    if request.param == "postgresql":
        return request.getfixturevalue("postgres_url")
    url = f"sqlite:///{tmp_path / 'ops.db'}"
    Store(url).upgrade()
    return url


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    store = Store(db_url)
    with store.session() as session:  # PostgreSQL's database is shared by the session's tests
        session.execute(delete(OperationEvent))
        session.execute(delete(Operation))
        session.execute(delete(OpsLease))
    yield store
    store.dispose()
