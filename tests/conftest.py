"""Shared fixtures for in-process tests: a bootstrapped Overcast behind Falcon's TestClient."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import uuid

import falcon.testing
import pytest
from sqlalchemy import event

from overcast.app import create_app
from overcast.core.identity import build_identity
from overcast.config import DatabaseSettings, Secret, load_settings
from overcast.bootstrap import prepare
from overcast.core.compute import build_compute
from overcast.core.image import ImageCore
from overcast.testing.cdn_servers import embedded_edge_settings
from overcast.testing.live import create_postgres_database, drop_postgres_database


@dataclasses.dataclass
class Cloud:
    """An in-process Overcast: the client, its settings, passwords and ready-made tokens."""

    client: falcon.testing.TestClient
    app: object
    passwords: dict[str, str]

    def token(self, username: str, project: str | None = None, *, system: bool = False,
              domain: str | None = None) -> str:
        scope: object = "unscoped"
        if project:
            scope = {"project": {"name": project, "domain": {"id": "default"}}}
        elif system:
            scope = {"system": {"all": True}}
        elif domain:
            scope = {"domain": {"id": domain}}
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": username, "domain": {"id": "default"}, "password": self.passwords[username]}}},
            "scope": scope}}
        resp = self.client.simulate_post("/identity/v3/auth/tokens", json=body)
        assert resp.status_code == 201, resp.text
        return resp.headers["X-Subject-Token"]

    def request(self, method: str, path: str, token: str | None = None, **kwargs):  # noqa: ANN201
        headers = dict(kwargs.pop("headers", {}) or {})
        if token:
            headers["X-Auth-Token"] = token
        return self.client.simulate_request(method, path, headers=headers, **kwargs)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest tests first (each Tempest run, then the crash test), so pytest-xdist starts them
    at once and its workers finish together instead of one running Tempest alone at the end."""
    tempest_order = ("compute", "volume", "network", "identity", "image")  # longest run first

    def weight(item: pytest.Item) -> tuple[int, int]:
        if item.get_closest_marker("tempest") and "allowlisted" in item.name:
            service = getattr(item, "callspec", None) and item.callspec.params.get("service")
            return 0, tempest_order.index(service) if service in tempest_order else len(tempest_order)
        return (1 if "crash_safety" in item.nodeid else 2), 0

    items.sort(key=weight)


@pytest.fixture
def settings(tmp_path, monkeypatch):
    for name in list(__import__("os").environ):
        if name.startswith("OVERCAST_"):
            monkeypatch.delenv(name)
    settings = load_settings(data_dir=tmp_path / "data", identity={"bcrypt_rounds": 4}, cdn=embedded_edge_settings())
    # server actions finish at once, for speed (the local cloud's default keeps REBOOT, REBUILD,
    # RESIZE visible for a poll: tests/compute/test_transitional_states.py)
    return dataclasses.replace(settings, clouds=tuple(
        dataclasses.replace(c, options={**c.options, "action_delay": 0}) for c in settings.clouds))


POSTGRES_ADMIN_URL = __import__("os").environ.get("OVERCAST_TEST_POSTGRES_URL", "")


def backend_settings(request: pytest.FixtureRequest, settings, prefix: str):  # noqa: ANN001, ANN201
    """For a ``settings`` fixture parametrized over ``["sqlite", "postgresql"]``: the shared
    settings as they are, or on a fresh PostgreSQL database (dropped afterwards; skipped without
    ``OVERCAST_TEST_POSTGRES_URL``)."""
    if request.param == "sqlite":
        yield settings
        return
    if not POSTGRES_ADMIN_URL:
        pytest.skip("OVERCAST_TEST_POSTGRES_URL is not set")
    if os.environ.get("OVERCAST_TEST_PG_TEMPLATE", "1") == "0":  # each test migrates its own
        url = create_postgres_database(POSTGRES_ADMIN_URL, prefix=prefix)
    else:
        url = request.getfixturevalue("postgres_migrated")(settings.regions[0], prefix)
    try:
        yield settings.replace(database=DatabaseSettings(url=Secret(url)))
    finally:
        drop_postgres_database(POSTGRES_ADMIN_URL, url)


@pytest.fixture(scope="session")
def postgres_migrated():  # noqa: ANN201
    """``postgres_migrated(region, prefix)`` -> the URL of a fresh PostgreSQL database already at the
    newest schema: ``CREATE DATABASE ... TEMPLATE`` of one database per worker and default region that
    the migrations ran on once (running them costs seconds on PostgreSQL for every test otherwise).
    The migrations themselves on PostgreSQL stay tested in tests/test_migrations.py and by every live
    server, which starts on an empty database."""
    import psycopg
    from psycopg import sql

    from overcast.store.db import Store
    from overcast.testing.live import _pg_connect_url, _with_database

    templates: dict[str, str] = {}

    def make(region: str, prefix: str) -> str:
        if region not in templates:
            url = create_postgres_database(POSTGRES_ADMIN_URL, prefix="overcast_tmpl")
            templates[region] = url
            store = Store(url)
            try:
                store.upgrade(region)
            finally:
                store.dispose()
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        template = templates[region].rsplit("/", 1)[1]
        with psycopg.connect(_pg_connect_url(POSTGRES_ADMIN_URL), autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name),
                                                                       sql.Identifier(template)))
        return _with_database(POSTGRES_ADMIN_URL, name)

    yield make
    for url in templates.values():
        drop_postgres_database(POSTGRES_ADMIN_URL, url)


@pytest.fixture
def cloud(settings) -> Cloud:
    identity = build_identity(settings)
    compute = build_compute(settings, identity)
    images = ImageCore(settings=settings, store=identity.store)
    accounts = prepare(identity, compute, images)
    app = create_app(settings, identity, compute, images)
    yield Cloud(client=falcon.testing.TestClient(app), app=app,
                passwords={a.username: a.password for a in accounts})
    app.cdn.close()
    compute.close()
    identity.store.dispose()


@pytest.fixture
def admin_token(cloud) -> str:
    return cloud.token("admin", "admin")


@pytest.fixture
def demo_token(cloud) -> str:
    return cloud.token("demo", "demo")


@contextlib.contextmanager
def statements_of(engine):  # noqa: ANN001, ANN201
    """The SQL statements ``engine`` sends while the block runs, into the list it yields."""
    seen: list[str] = []

    def record(conn, cursor, statement, *args):  # noqa: ANN001, ANN002
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def body(resp) -> dict:  # noqa: ANN001
    return json.loads(resp.text) if resp.text else {}


class Net:
    """``net("GET", "/networks", token)`` -> (status, body) against ``/network/v2.0``."""

    def __init__(self, cloud):  # noqa: ANN001
        self.cloud = cloud

    def __call__(self, method: str, path: str, token: str, body: dict | None = None, **kw):  # noqa: ANN201
        resp = self.cloud.request(method, "/network/v2.0" + path, token, json=body, **kw)
        return resp.status_code, (json.loads(resp.text) if resp.text else {})

    def make(self, token: str, collection: str, member: str, **attrs):  # noqa: ANN201
        """Create and return the resource (asserting 201)."""
        status, body = self("POST", f"/{collection}", token, {member: attrs})
        assert status == 201, body
        return body[member]


@pytest.fixture
def net(cloud) -> Net:  # noqa: ANN001
    return Net(cloud)
