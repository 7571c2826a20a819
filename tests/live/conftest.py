"""Live-server fixtures: a real ``overcast serve`` driven by the real ``openstack`` CLI and SDK.

One server per backend per pytest(-xdist) worker, for the whole session. The backend is a
fixture parameter, so every live test runs once on SQLite and, when
``OVERCAST_TEST_POSTGRES_URL`` names a PostgreSQL admin URL
(``postgresql://user:pass@127.0.0.1:5432/postgres``), once more on a fresh PostgreSQL
database created for that server (and dropped afterwards).

Tests share a server, so they must make uniquely named resources (see ``unique``) and must
not assume a list holds only what they made.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from overcast.testing.live import LiveServer, create_postgres_database, drop_postgres_database, sdk_connect
from forked_cli import OpenStackCLI

POSTGRES_ADMIN_URL = os.environ.get("OVERCAST_TEST_POSTGRES_URL", "")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_ADMIN_URL else [])


@pytest.fixture(scope="session", params=BACKENDS)
def live_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A running ``overcast serve`` on a free loopback port with its own data directory."""
    backend: str = request.param
    env: dict[str, str] = {}
    database_url = None
    if backend == "postgresql":
        database_url = create_postgres_database(POSTGRES_ADMIN_URL)
        env["OVERCAST_DATABASE_URL"] = database_url
    data_dir = tmp_path_factory.mktemp(f"live-{backend}")
    server = LiveServer(data_dir, env=env)
    try:
        server.start()
        server.backend = backend  # type: ignore[attr-defined]
        yield server
        leaks = server.leaked_secrets()  # the drills' secret scan, over everything the live tests did
        assert not leaks, "the live server logged secrets:\n" + "\n".join(leaks[:20])
        loose = server.loose_paths()  # what the server and its drivers made during the live tests
        assert not loose, "the live server's data directory is not private:\n" + "\n".join(loose[:20])
    finally:
        server.stop()
        if database_url:
            drop_postgres_database(POSTGRES_ADMIN_URL, database_url)


@pytest.fixture(scope="session")
def clouds_yaml(live_server: LiveServer) -> Path:
    return live_server.clouds_yaml


@pytest.fixture(scope="session")
def cli(live_server: LiveServer) -> OpenStackCLI:
    """``openstack --os-cloud overcast`` (demo, member of project demo)."""
    return OpenStackCLI(live_server.clouds_yaml, "overcast")


@pytest.fixture(scope="session")
def admin_cli(cli: OpenStackCLI) -> OpenStackCLI:
    """``openstack --os-cloud overcast-admin`` (admin, admin of project admin)."""
    return cli.using("overcast-admin")


@pytest.fixture(scope="session")
def alt_cli(cli: OpenStackCLI) -> OpenStackCLI:
    return cli.using("overcast-alt")


@pytest.fixture(scope="session")
def system_cli(cli: OpenStackCLI) -> OpenStackCLI:
    return cli.using("overcast-system-admin")


@pytest.fixture(scope="session")
def connect(live_server: LiveServer) -> Callable[..., Any]:
    """``connect("overcast-admin")`` -> an openstacksdk Connection for that cloud."""
    made: list[Any] = []

    def _connect(cloud: str = "overcast", clouds_yaml: Path | None = None, **kwargs: Any) -> Any:
        conn = sdk_connect(clouds_yaml or live_server.clouds_yaml, cloud, **kwargs)
        made.append(conn)
        return conn

    yield _connect
    for conn in made:
        conn.close()


@pytest.fixture(scope="session")
def admin_conn(connect: Callable[..., Any]) -> Any:
    return connect("overcast-admin")


@pytest.fixture(scope="session")
def demo_conn(connect: Callable[..., Any]) -> Any:
    return connect("overcast")


@pytest.fixture(scope="session")
def ids(live_server: LiveServer) -> dict[str, str]:
    """``project:<name>`` and ``user:<name>`` ids of the bootstrap accounts.

    Learnt by logging in to each project-scoped cloud of clouds.yaml with keystoneauth, so
    only the token API is needed, not the admin API under test.
    """
    from keystoneauth1 import session as ks_session
    from keystoneauth1.identity import v3

    result: dict[str, str] = {}
    for name in ("overcast", "overcast-alt", "overcast-admin"):
        auth = dict(live_server.cloud(name)["auth"])
        plugin = v3.Password(**{k: v for k, v in auth.items() if k in (
            "auth_url", "username", "password", "user_domain_id", "project_name", "project_domain_id")})
        access = plugin.get_access(ks_session.Session(auth=plugin))
        result[f"user:{access.username}"] = access.user_id
        result[f"project:{access.project_name}"] = access.project_id
    return result


@pytest.fixture
def unique(request: pytest.FixtureRequest) -> Callable[[str], str]:
    """``unique("proj")`` -> ``proj-<test>-<random>``: names no other test or worker will use."""
    stem = request.node.name.split("[")[0].removeprefix("test_").replace("_", "-")[:24]

    def _unique(kind: str) -> str:
        return f"{kind}-{stem}-{uuid.uuid4().hex[:8]}"

    return _unique
