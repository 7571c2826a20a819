"""The migration chain: numbered files, one head, and a schema that matches the models."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from collections.abc import Iterator

import pytest
from sqlalchemy import inspect

from overcast.store.db import MIGRATIONS, Store, newest_revision
from overcast.store.schema import load_models, model_modules
from overcast.testing.live import create_postgres_database, drop_postgres_database


def test_chain_is_numbered_and_linear():
    files = sorted(p for p in (MIGRATIONS / "versions").glob("[0-9]*_*.py"))
    previous = None
    for path in files:
        text = path.read_text()
        revision = re.search(r"^revision = ['\"](\w+)['\"]", text, re.M).group(1)
        down = re.search(r"^down_revision = (?:['\"](\w+)['\"]|None)", text, re.M).group(1)
        assert revision == path.name.split("_", 1)[0]
        assert down == previous
        # numbered without a gap: a gap is a branch merged without renumbering (0024 -> 0027 once passed)
        assert int(revision) == (int(previous) + 1 if previous else 1), f"{path.name} does not follow {previous}"
        previous = revision
    assert newest_revision() == previous


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:  # noqa: ANN001
    """An empty database: a SQLite file, or a new PostgreSQL database (OVERCAST_TEST_POSTGRES_URL)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'db.sqlite'}"
        return
    admin = os.environ.get("OVERCAST_TEST_POSTGRES_URL", "")
    if not admin:
        pytest.skip("OVERCAST_TEST_POSTGRES_URL is not set")
    url = create_postgres_database(admin, prefix="overcast_migrations_test")
    yield url
    drop_postgres_database(admin, url)


def test_upgrade_reaches_the_models_and_autogenerate_finds_no_difference(fresh_url):
    """After ``upgrade head`` on an empty database, ``alembic check`` (autogenerate through our
    env.py, which sees every model) finds nothing to change: no table would be dropped or added."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    store = Store(fresh_url)
    assert store.revision() is None
    store.upgrade()
    assert store.revision() == newest_revision()
    # `alembic check` in a fresh interpreter, so env.py must find every model by itself (this
    # process has imported them all already): it fails on any difference autogenerate would write
    check = subprocess.run(
        [sys.executable, "-c", "import sys; from alembic import command; from overcast.store.db import alembic_config; "
                               "command.check(alembic_config(sys.argv[1]))", fresh_url],
        capture_output=True, text=True, timeout=120, cwd=Path(__file__).resolve().parents[1])
    assert check.returncode == 0, check.stderr[-3000:]
    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), load_models()) == []
        tables = set(inspect(conn).get_table_names()) - {"alembic_version"}
    assert tables == set(load_models().tables), (
        "a table exists that no model module defines: add its module to overcast.store.schema")
    store.upgrade()
    store.dispose()


def test_every_model_module_is_found():
    modules = model_modules()
    assert {"overcast.store.models", "overcast.store.compute", "overcast.store.network", "overcast.store.volume",
            "overcast.ops.models"} <= set(modules)
    assert len(load_models().tables) >= 78
