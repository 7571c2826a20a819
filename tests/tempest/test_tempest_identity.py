"""Tempest's identity API tests against a live Overcast: every allowlisted test must pass.

The allowlist is ``identity-allowlist.txt`` beside this file; see ``run.py`` for how to measure
the whole ``tempest.api.identity`` module and grow the list. Runs on SQLite and, when
``OVERCAST_TEST_POSTGRES_URL`` is set, on a fresh PostgreSQL database too.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from overcast.testing.live import LiveServer, create_postgres_database, drop_postgres_database

pytestmark = [pytest.mark.tempest, pytest.mark.live]

POSTGRES_ADMIN_URL = os.environ.get("OVERCAST_TEST_POSTGRES_URL", "")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_ADMIN_URL else [])


def _load_runner() -> ModuleType:
    path = Path(__file__).with_name("run.py")
    spec = importlib.util.spec_from_file_location("overcast_tempest_runner", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


runner = _load_runner()


@pytest.fixture(params=BACKENDS)
def tempest_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveServer]:
    env = {}
    database_url = None
    if request.param == "postgresql":
        database_url = create_postgres_database(POSTGRES_ADMIN_URL)
        env["OVERCAST_DATABASE_URL"] = database_url
    server = LiveServer(tmp_path / "data", env=env)
    try:
        yield server.start()
    finally:
        server.stop()
        if database_url:
            drop_postgres_database(POSTGRES_ADMIN_URL, database_url)


def test_allowlist_ids_exist_in_tempest(tmp_path: Path) -> None:
    """Every allowlisted id names a real Tempest test (catches typos and renamed tests)."""
    target = runner.Target(auth_url="http://127.0.0.1:9/identity", admin_username="admin", admin_password="x")
    workspace = tmp_path / "ws"
    runner.write_workspace(target, workspace)
    known = {runner.base_id(t) for t in runner.list_tests(workspace)}
    unknown = [t for t in runner.read_allowlist() if t not in known]
    assert not unknown, f"not Tempest {runner.MODULE} tests: {unknown}"


def test_tempest_identity_allowlist(tempest_server: LiveServer, tmp_path: Path) -> None:
    allowlist = runner.read_allowlist()
    if not allowlist:
        pytest.skip("identity-allowlist.txt is empty")
    workspace = tmp_path / "tempest"
    runner.write_workspace(runner.Target.from_clouds_yaml(tempest_server.clouds_yaml), workspace)
    results = runner.run_tests(workspace, runner.include_regexes(allowlist), concurrency=2, timeout=1200)
    problems = runner.check_allowlist(allowlist, results)
    passed = sum(1 for t in allowlist if results.get(t) in ("success", "xfail"))
    print(f"tempest: {passed}/{len(allowlist)} allowlisted identity tests passed")
    assert not problems, ("allowlisted Tempest tests did not pass:\n  " + "\n  ".join(problems) +
                          "\n\n--- stestr output (tail) ---\n" + runner.failure_details(workspace, 6000) +
                          "\n--- server output ---\n" + tempest_server.output_tail(40))
