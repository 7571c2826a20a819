"""Domains are unique across all projects and claimed atomically."""

from __future__ import annotations

import threading

from cdn_helpers import service_body


def test_a_domain_held_by_another_project_is_refused(poppy, alt_poppy, unique):
    domain = unique.domain()
    poppy.create(service_body(unique(), domain))
    status, body, _ = alt_poppy("POST", "/services", service_body(unique(), domain.upper()))
    assert status == 400 and body["message"] == f"domains[0].domain: Domain {domain} has already been taken"
    status, body, _ = poppy("POST", "/services", service_body(unique(), domain))
    assert status == 400  # and by another service of the same project


def test_two_projects_racing_for_one_domain_exactly_one_wins(cloud, poppy, alt_poppy, unique):
    for _ in range(3):
        domain = unique.domain()
        barrier = threading.Barrier(2)
        results: dict[str, tuple] = {}

        def claim(client, who, barrier=barrier, results=results, domain=domain):
            barrier.wait()
            results[who] = client("POST", "/services", service_body(unique(), domain))

        threads = [threading.Thread(target=claim, args=(c, w)) for c, w in ((poppy, "demo"), (alt_poppy, "alt"))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        statuses = sorted(r[0] for r in results.values())
        assert statuses == [202, 400], results
        loser = next(r for r in results.values() if r[0] == 400)
        assert "has already been taken" in loser[1]["message"]
        winner = next(r for r in results.values() if r[0] == 202)
        poppy.settle(winner[2]["location"].rsplit("/", 1)[1])


def test_a_patch_cannot_take_another_projects_domain_and_releases_what_it_drops(poppy, alt_poppy, unique):
    theirs, mine_a, mine_b = unique.domain(), unique.domain(), unique.domain()
    alt_poppy.create(service_body(unique(), theirs))
    service_id = poppy.create(service_body(unique(), mine_a))
    status, body, _ = poppy("PATCH", f"/services/{service_id}", [{"op": "add", "path": "/domains/-",
                                                                   "value": {"domain": theirs}}])
    assert status == 400 and "domains[1].domain" in body["message"] and "already been taken" in body["message"]
    status, _, _ = poppy("PATCH", f"/services/{service_id}", [{"op": "replace", "path": "/domains/0/domain",
                                                               "value": mine_b}])
    assert status == 202
    poppy.settle(service_id)
    alt_poppy.create(service_body(unique(), mine_a))  # released by the patch


def test_a_deleted_services_domains_are_free_again(poppy, alt_poppy, unique):
    domain = unique.domain()
    service_id = poppy.create(service_body(unique(), domain))
    poppy("DELETE", f"/services/{service_id}")
    poppy.settle(service_id)
    alt_poppy.create(service_body(unique(), domain))
