"""The races that matter, on PostgreSQL (row locks and READ COMMITTED, not SQLite's single writer):
two projects claiming one domain, creates racing for the last slot of a limit, two providers
finishing one service at once. Runs when OVERCAST_TEST_POSTGRES_URL names a PostgreSQL admin URL."""

from __future__ import annotations

import os
import threading

import pytest
from cdn_helpers import service_body
from tests.cdn.conftest import cdn_settings, running_cloud

from overcast.config import DatabaseSettings, Secret
from overcast.testing.live import create_postgres_database, drop_postgres_database

ADMIN_URL = os.environ.get("OVERCAST_TEST_POSTGRES_URL", "")
pytestmark = pytest.mark.skipif(not ADMIN_URL, reason="OVERCAST_TEST_POSTGRES_URL is not set")


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    url = create_postgres_database(ADMIN_URL)
    try:
        settings = cdn_settings(tmp_path_factory.mktemp("cdn-pg") / "data")
        yield from running_cloud(settings.replace(database=DatabaseSettings(url=Secret(url))))
    finally:
        drop_postgres_database(ADMIN_URL, url)


def _race(calls):
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i, call):
        barrier.wait()
        results[i] = call()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_two_projects_racing_for_one_domain(poppy, alt_poppy, unique):
    for _ in range(5):
        domain = unique.domain()
        results = _race([lambda c=c, d=domain: c("POST", "/services", service_body(unique(), d))
                         for c in (poppy, alt_poppy)])
        assert sorted(r[0] for r in results) == [202, 400], results
        winner = next(r for r in results if r[0] == 202)
        poppy.settle(winner[2]["location"].rsplit("/", 1)[1])


def test_creates_racing_for_the_last_slot(cloud, admin_poppy, fresh_project, unique):
    mine = fresh_project()
    assert admin_poppy("PUT", f"/admin/limits/{mine.project_id}", {"limit": 3})[0] == 201
    results = _race([lambda: mine("POST", "/services", service_body(unique(), unique.domain()))
                     for _ in range(6)])
    assert sorted(r[0] for r in results) == [202, 202, 202, 403, 403, 403], [r[:2] for r in results]
    for r in results:
        if r[0] == 202:
            mine.settle(r[2]["location"].rsplit("/", 1)[1])


def test_two_providers_finishing_one_service_at_once(poppy, unique, cloud):
    for _ in range(5):
        service_id = poppy.create(service_body(unique(), unique.domain(), flavor="multi"))
        assert poppy.get(service_id)["status"] == "deployed"
        poppy("DELETE", f"/services/{service_id}")
        poppy.settle(service_id)
        assert poppy("GET", f"/services/{service_id}")[0] == 404
