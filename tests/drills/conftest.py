"""Fixtures of the drills: one world built per test process, copied for every test that changes it.

Building the world (personas, one of every resource, servers ACTIVE, volumes available) takes
seconds; copying its data directory takes milliseconds. Every test that uses ``world`` ends with
the secret scan over everything the world logged and answered (:func:`scan_for_secrets`).
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import uuid
from pathlib import Path
from typing import Iterator

import pytest

from overcast.testing.live import create_postgres_database, drop_postgres_database

sys.path.insert(0, str(Path(__file__).parent))

from world import FERNET_TOKEN, World  # noqa: E402


@pytest.fixture(scope="session")
def world_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    data = tmp_path_factory.mktemp("drill-world") / "data"
    world = World(data)
    try:
        world.build()
        scan_for_secrets(world)
        return data, world.state()
    finally:
        world.close()


@pytest.fixture
def world(world_template: tuple[Path, dict], tmp_path: Path) -> Iterator[World]:
    """A fresh copy of the built world; the secret scan runs when the test has passed."""
    source, state = world_template
    data = tmp_path / "data"
    shutil.copytree(source, data)
    copy = World(data, state)
    try:
        yield copy
        scan_for_secrets(copy)
    finally:
        copy.close()


POSTGRES_ADMIN_URL = os.environ.get("OVERCAST_TEST_POSTGRES_URL", "")


@pytest.fixture(scope="session")
def pg_world_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict, str]]:
    """The world built on a PostgreSQL database, kept as a template for copies."""
    if not POSTGRES_ADMIN_URL:
        pytest.skip("OVERCAST_TEST_POSTGRES_URL is not set")
    url = create_postgres_database(POSTGRES_ADMIN_URL, prefix="overcast_drill_tmpl")
    data = tmp_path_factory.mktemp("drill-world-pg") / "data"
    world = World(data, database_url=url)
    try:
        world.build()
        state = world.state()
    finally:
        world.close()
    yield data, state, url
    drop_postgres_database(POSTGRES_ADMIN_URL, url)


@pytest.fixture
def pg_world(pg_world_template: tuple[Path, dict, str], tmp_path: Path) -> Iterator[World]:
    """A fresh copy of the PostgreSQL world: its database made from the template (CREATE DATABASE
    ... TEMPLATE), its data directory copied."""
    import psycopg
    from psycopg import sql

    from overcast.testing.live import _pg_connect_url, _with_database

    source, state, template = pg_world_template
    name = f"overcast_drill_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_pg_connect_url(POSTGRES_ADMIN_URL), autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(name), sql.Identifier(template.rsplit("/", 1)[1])))
    url = _with_database(POSTGRES_ADMIN_URL, name)
    data = tmp_path / "data"
    shutil.copytree(source, data)
    copy = World(data, state, database_url=url)
    try:
        yield copy
        scan_for_secrets(copy)
    finally:
        copy.close()
        drop_postgres_database(POSTGRES_ADMIN_URL, url)


def scan_for_secrets(world: World) -> None:
    """No password, Fernet or credential key in any log line or response; no secret the cloud issued
    (EC2, application credential, OAuth) in any log line; no token in any log line,
    nor in any response but the login that issued it and the token validation calls that are about
    that token."""
    secrets = {name: value for name, value in world.secrets().items() if len(value) >= 8}
    token_re = re.compile(FERNET_TOKEN)
    problems: list[str] = []
    issued = {f"an issued secret ({value[:4]}...)": value for value in world.issued_secrets if len(value) >= 8}
    assert issued or not world.ids, "the world was given secrets (EC2, application credential, OAuth consumer)"
    for line in world.recorder.lines:
        for name, value in {**secrets, **issued}.items():
            if value in line:
                problems.append(f"log line carries {name}: {line[:300]}")
        match = token_re.search(line)
        if match:
            problems.append(f"log line carries a token: {line[:300]}")
    for method, path, status, headers, body in world.recorder.responses:
        text = body.decode("utf-8", "replace")
        head = " ".join(f"{k}: {v}" for k, v in headers.items() if k.lower() != "x-subject-token")
        for name, value in secrets.items():
            if value in text or value in head:
                problems.append(f"{method} {path} ({status}) answers {name}")
        if not _token_endpoint(path) and (token_re.search(text) or token_re.search(head)):
            problems.append(f"{method} {path} ({status}) answers a token: {text[:200]}")
    assert not problems, "secrets leaked:\n" + "\n".join(problems[:30])


def _token_endpoint(path: str) -> bool:
    """Where a response is about a token and may carry it (issue, validate, the v2 token calls)."""
    return path.startswith(("/identity/v2.0/tokens", "/identity/v3/auth/tokens", "/identity/v3/auth/"))
