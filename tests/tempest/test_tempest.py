"""Tempest's API tests against a live Overcast: for every service with an allowlist, every
allowlisted test must pass.

The allowlists are ``<service>-allowlist.txt`` beside this file (services: ``run.SERVICES``);
measure a whole ``tempest.api.<service>`` module and grow its list with::

    .venv/bin/python tests/tempest/run.py --service SERVICE --all --report

The server gets the settings ``run.py`` gives its own (``server_environment``, with the loopback
``ImageSource`` that web-download may fetch from). Runs on SQLite
and, when ``OVERCAST_TEST_POSTGRES_URL`` is set, on a fresh PostgreSQL database too.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from overcast.core.image.seed import payload
from overcast.testing.live import LiveServer, create_postgres_database, drop_postgres_database

pytestmark = [pytest.mark.tempest, pytest.mark.live]

POSTGRES_ADMIN_URL = os.environ.get("OVERCAST_TEST_POSTGRES_URL", "")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_ADMIN_URL else [])


def _load_runner() -> ModuleType:
    name = "overcast_tempest_runner"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("run.py"))
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


runner = _load_runner()
SERVICES = [s for s in runner.SERVICES if runner.allowlist_path(s).exists()]


@pytest.fixture
def image_source() -> Iterator[Any]:
    """The disk Tempest's web-download test imports, served on loopback (``run.ImageSource``)."""
    source = runner.ImageSource(payload())
    yield source
    source.stop()


@pytest.fixture(params=BACKENDS)
def tempest_server(request: pytest.FixtureRequest, tmp_path: Path,
                   image_source: Any) -> Iterator[LiveServer]:
    env = runner.server_environment(image_source)
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


@pytest.mark.parametrize("service", SERVICES)
def test_allowlist_ids_exist_in_tempest(service: str, tmp_path: Path) -> None:
    """Every allowlisted id names a real ``tempest.api.<service>`` test (catches typos and renames)."""
    target = runner.Target(auth_url="http://127.0.0.1:9/identity", admin_username="admin", admin_password="x")
    workspace = tmp_path / "ws"
    runner.write_workspace(target, workspace, service=service, offline=True)
    known = {runner.base_id(t) for t in runner.list_tests(workspace, runner.module_regex(service))}
    unknown = [t for t in runner.read_allowlist(runner.allowlist_path(service)) if t not in known]
    assert not unknown, f"not Tempest {runner.module_name(service)} tests: {unknown}"


@pytest.mark.parametrize("service", SERVICES)
def test_allowlisted_tempest_tests_pass(service: str, tempest_server: LiveServer, image_source: Any,
                                       tmp_path: Path) -> None:
    allowlist = runner.read_allowlist(runner.allowlist_path(service))
    if not allowlist:
        pytest.skip(f"{service}-allowlist.txt is empty")
    workspace = tmp_path / "tempest"
    overrides = image_source.overrides() if service == "image" else []
    runner.write_workspace(runner.Target.from_clouds_yaml(tempest_server.clouds_yaml), workspace, overrides,
                           service=service)
    results = runner.run_tests(workspace, runner.include_regexes(allowlist), concurrency=2, timeout=1800)
    problems = runner.check_allowlist(allowlist, results)
    passed = sum(1 for t in allowlist if results.get(t) in ("success", "xfail"))
    print(f"tempest: {passed}/{len(allowlist)} allowlisted {service} tests passed")
    assert not problems, ("allowlisted Tempest tests did not pass:\n  " + "\n  ".join(problems) +
                          "\n\n--- stestr output (tail) ---\n" + runner.failure_details(workspace, 6000) +
                          "\n--- server output ---\n" + tempest_server.output_tail(40))
