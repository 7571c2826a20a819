"""The home document, /ping, /health and analytics."""

from __future__ import annotations

import datetime as dt
import time

from cdn_helpers import service_body


def test_home_document_needs_no_token(cloud):
    resp = cloud.request("GET", "/cdn/v1.0")
    assert resp.status_code == 200 and resp.headers["content-type"] == "application/json-home"
    resources = resp.json["resources"]
    assert resources["rel/cdn#services"]["href-template"].endswith("/cdn/v1.0/services{?marker,limit}")
    assert "POST" in resources["rel/cdn#services"]["hints"]["allow"]


def test_ping_is_204_without_a_token_and_503_when_the_store_is_down(cloud, monkeypatch):
    resp = cloud.request("GET", "/cdn/v1.0/ping")
    assert resp.status_code == 204 and resp.text == ""
    from overcast.core.cdn import health
    monkeypatch.setattr(health, "storage_alive", lambda core: False)
    assert cloud.request("GET", "/cdn/v1.0/ping").status_code == 503


def test_health_reports_storage_and_every_provider(poppy, cloud):
    status, body, _ = poppy("GET", "/health")
    assert status == 200
    assert body["storage"]["sqlalchemy"]["online"] is True
    assert set(body["providers"]) == {"mock", "second", "slow", "basic"}
    assert all(p["online"] for p in body["providers"].values())
    assert body["providers"]["mock"]["links"]["href"].endswith("/cdn/v1.0/health/provider/mock")
    assert poppy("GET", "/health/provider/mock")[:2] == (200, {"online": True})
    assert poppy("GET", "/health/storage/sqlalchemy")[1] == {"online": True}
    assert poppy("GET", "/health/provider/akamai")[0] == 404
    assert poppy("GET", "/health/storage/cassandra")[0] == 404
    assert cloud.request("GET", "/cdn/v1.0/health").status_code == 401


def test_health_is_503_when_a_provider_is_down(poppy, cloud):
    second = cloud.app.cdn.driver("second")
    second.set_alive(False)
    try:
        status, body, _ = poppy("GET", "/health")
        assert status == 503 and body["providers"]["second"]["online"] is False
        assert poppy("GET", "/health/provider/second")[:2] == (503, {"online": False})
    finally:
        second.set_alive(True)


def test_analytics_per_domain(poppy, unique, cloud):
    domain, other = unique.domain(), unique.domain()
    body = service_body(unique(), domain, flavor="multi")
    body["domains"].append({"domain": other})
    service_id = poppy.create(body)
    now = time.time()
    cloud.app.cdn.driver("mock").record_traffic(domain, 10, 1000, at=now - 60)
    cloud.app.cdn.driver("second").record_traffic(domain, 5, 500, at=now - 60)
    cloud.app.cdn.driver("mock").record_traffic(other, 1, 7, at=now - 60)
    cloud.app.cdn.driver("mock").record_traffic(domain, 99, 99, at=now - 3 * 86400)  # before startTime
    status, report, _ = poppy("GET", f"/services/{service_id}/analytics")
    assert status == 200, report
    by_domain = {d["domain"]: d for d in report["domains"]}
    assert by_domain[domain]["requestCount"] == 15 and by_domain[domain]["bandwidthOut"] == 1500
    assert by_domain[domain]["providers"]["second"] == {"requestCount": 5, "bandwidthOut": 500}
    assert by_domain[other]["requestCount"] == 1
    status, report, _ = poppy("GET", f"/services/{service_id}/analytics",
                              params={"domain": other, "metricType": "bandwidthOut"})
    assert [d["domain"] for d in report["domains"]] == [other]
    assert report["domains"][0] == {"domain": other, "bandwidthOut": 7,
                                    "providers": {"mock": {"bandwidthOut": 7}, "second": {"bandwidthOut": 0}}}
    start = (dt.datetime.utcnow() - dt.timedelta(days=5)).strftime("%Y-%m-%dT%H:%M:%S")
    status, report, _ = poppy("GET", f"/services/{service_id}/analytics", params={"startTime": start})
    assert {d["domain"]: d for d in report["domains"]}[domain]["requestCount"] == 114


def test_analytics_bad_arguments(poppy, unique):
    service_id = poppy.create(service_body(unique(), unique.domain()))
    for params, message in (({"domain": "www.other.example.org"}, "is not a domain of service"),
                            ({"startTime": "yesterday"}, "startTime"),
                            ({"startTime": "2030-01-01T00:00:00", "endTime": "2029-01-01T00:00:00"},
                             "startTime cannot be later than endTime"),
                            ({"metricType": "happiness"}, "metricType")):
        status, out, _ = poppy("GET", f"/services/{service_id}/analytics", params=params)
        assert status == 400 and message in out["message"], out


def test_analytics_of_a_provider_without_figures_is_null(poppy, unique):
    service_id = poppy.create(service_body(unique(), unique.domain(), flavor="basic"))
    status, report, _ = poppy("GET", f"/services/{service_id}/analytics")
    assert status == 200 and report["domains"][0]["requestCount"] == 0
    assert report["domains"][0]["providers"] == {"basic": None}


def test_a_provider_that_does_not_answer_costs_a_bounded_wait_then_its_breaker_opens(poppy, unique, cloud,
                                                                                     monkeypatch):
    """Health and analytics ask providers through call_backend: ``[cdn] provider_call_timeout``,
    then the provider's ``cdn`` breaker (the one its operations count against) opens and the
    provider is not asked again until it resets (0031)."""
    import dataclasses
    import threading

    from overcast.config import OpsSettings
    from overcast.ops.calls import Backends

    core = cloud.app.cdn
    service_id = poppy.create(service_body(unique(), unique.domain(), flavor="multi"))
    release = threading.Event()
    asked = []

    def hang(*args, **kwargs):
        asked.append(args)
        release.wait(10)
        return True

    second = core.driver("second")
    monkeypatch.setattr(core, "settings", dataclasses.replace(
        core.settings, cdn=dataclasses.replace(core.settings.cdn, provider_call_timeout=0.2)))
    monkeypatch.setattr(core, "backends", Backends(OpsSettings(breaker_threshold=2, breaker_reset_seconds=60)))
    monkeypatch.setattr(second, "is_alive", hang)
    monkeypatch.setattr(second, "metrics", hang)
    try:
        started = time.monotonic()
        status, body, _ = poppy("GET", "/health")
        assert status == 503 and body["providers"]["second"]["online"] is False
        assert body["providers"]["mock"]["online"] is True
        status, out, headers = poppy("GET", f"/services/{service_id}/analytics")
        assert status == 503 and int(headers["retry-after"]) >= 1
        assert out["message"].endswith(": The CDN provider second did not answer within 0.2s."), out
        assert time.monotonic() - started < 5
        assert len(asked) == 2
        # two failures opened the breaker: the provider is not asked again; the 503 names the
        # provider as what it is (not "the backend of region second")
        status, out, _ = poppy("GET", f"/services/{service_id}/analytics")
        assert status == 503 and ("The CDN provider second is unavailable (circuit breaker open); retry in "
                                  in out["message"]), out
        assert "region" not in out["message"]
        assert poppy("GET", "/health/provider/second")[:2] == (503, {"online": False})
        assert len(asked) == 2
        assert not core.backends.breakers("second", "cdn").allow()
    finally:
        release.set()
