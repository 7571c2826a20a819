"""Tempest's API tests against a live Overcast: for every service with an allowlist, every
allowlisted test must pass.

The allowlists are ``<service>-allowlist.txt`` beside this file (services: ``run.SERVICES``);
measure a whole ``tempest.api.<service>`` module and grow its list with::

    .venv/bin/python tests/tempest/run.py --service SERVICE --all --report

The server gets the settings ``run.py`` gives its own (``server_environment``, with the loopback
``ImageSource`` that web-download may fetch from). Runs on SQLite
and, when ``OVERCAST_TEST_POSTGRES_URL`` is set, on a fresh PostgreSQL database too.

The services of ``SECOND_REGION_SERVICES`` also run against the second region of a server with
two local regions (``run.py --region second``): a region under ``/regions/second`` must pass
what the root one passes (0008). That server uses SQLite, so when PostgreSQL is there those
services' root-region runs use PostgreSQL only: every allowlist still runs on both stores and in
both regions, without a third run of the longest lists (CI's wall time: ``ROOT_RUNS``).
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
SECOND_REGION = "second"
#: services whose allowlist also runs against the second region
SECOND_REGION_SERVICES = [s for s in ("compute", "volume", "network") if s in SERVICES]


@pytest.fixture
def image_source() -> Iterator[Any]:
    """The disk Tempest's web-download test imports, served on loopback (``run.ImageSource``)."""
    source = runner.ImageSource(payload())
    yield source
    source.stop()


def _server(backend: str, tmp_path: Path, image_source: Any, region: str | None = None) -> Iterator[LiveServer]:
    env = runner.server_environment(image_source)
    database_url = None
    if backend == "postgresql":
        database_url = create_postgres_database(POSTGRES_ADMIN_URL)
        env["OVERCAST_DATABASE_URL"] = database_url
    config = runner.regions_config(tmp_path / "overcast.toml", region or runner.FIRST_REGION)
    server = LiveServer(tmp_path / "data", env=env, config=config)
    try:
        yield server.start()
    finally:
        server.stop()
        if database_url:
            drop_postgres_database(POSTGRES_ADMIN_URL, database_url)


@pytest.fixture
def tempest_server(request: pytest.FixtureRequest, tmp_path: Path,
                   image_source: Any) -> Iterator[LiveServer]:
    yield from _server(request.param, tmp_path, image_source)


def _root_runs() -> list[Any]:
    """(backend, service) of the root-region runs: each service on each store, except that a service
    the second region (SQLite) also runs is run at the root on PostgreSQL alone when PostgreSQL is there."""
    runs = []
    for backend in BACKENDS:
        for service in SERVICES:
            if backend == "sqlite" and "postgresql" in BACKENDS and service in SECOND_REGION_SERVICES:
                continue
            runs.append(pytest.param(backend, service, id=f"{backend}-{service}"))
    return runs


ROOT_RUNS = _root_runs()


@pytest.fixture
def two_region_server(tmp_path: Path, image_source: Any) -> Iterator[LiveServer]:
    """Two local regions, ``RegionOne`` and ``second`` (SQLite: the region code is the same on both)."""
    yield from _server("sqlite", tmp_path, image_source, SECOND_REGION)


@pytest.mark.parametrize("service", SERVICES)
def test_allowlist_ids_exist_in_tempest(service: str, tmp_path: Path) -> None:
    """Every allowlisted id names a real ``tempest.api.<service>`` test (catches typos and renames)."""
    target = runner.Target(auth_url="http://127.0.0.1:9/identity", admin_username="admin", admin_password="x")
    workspace = tmp_path / "ws"
    runner.write_workspace(target, workspace, service=service, offline=True)
    known = {runner.base_id(t) for t in runner.list_tests(workspace, runner.module_regex(service))}
    unknown = [t for t in runner.read_allowlist(runner.allowlist_path(service)) if t not in known]
    assert not unknown, f"not Tempest {runner.module_name(service)} tests: {unknown}"


def _run_allowlist(service: str, server: LiveServer, image_source: Any, tmp_path: Path,
                   region: str | None = None) -> None:
    allowlist = runner.read_allowlist(runner.allowlist_path(service))
    if not allowlist:
        pytest.skip(f"{service}-allowlist.txt is empty")
    workspace = tmp_path / "tempest"
    overrides = image_source.overrides() if service == "image" else []
    runner.write_workspace(runner.Target.from_clouds_yaml(server.clouds_yaml, region=region), workspace, overrides,
                           service=service)
    results = runner.run_tests(workspace, runner.include_regexes(allowlist), concurrency=2, timeout=1800)
    problems = runner.check_allowlist(allowlist, results)
    passed = sum(1 for t in allowlist if results.get(t) in ("success", "xfail"))
    print(f"tempest: {passed}/{len(allowlist)} allowlisted {service} tests passed"
          + (f" in region {region}" if region else ""))
    assert not problems, ("allowlisted Tempest tests did not pass:\n  " + "\n  ".join(problems) +
                          "\n\n--- stestr output (tail) ---\n" + runner.failure_details(workspace, 6000) +
                          "\n--- server output ---\n" + server.output_tail(40))


@pytest.mark.parametrize(("tempest_server", "service"), ROOT_RUNS, indirect=["tempest_server"])
def test_allowlisted_tempest_tests_pass(service: str, tempest_server: LiveServer, image_source: Any,
                                       tmp_path: Path) -> None:
    _run_allowlist(service, tempest_server, image_source, tmp_path)


@pytest.mark.parametrize("service", SECOND_REGION_SERVICES)
def test_allowlisted_tempest_tests_pass_in_a_second_region(service: str, two_region_server: LiveServer,
                                                          image_source: Any, tmp_path: Path) -> None:
    _run_allowlist(service, two_region_server, image_source, tmp_path, SECOND_REGION)
