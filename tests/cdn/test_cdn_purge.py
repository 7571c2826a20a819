"""Purge: DELETE /services/{id}/assets, allowed only when deployed; what a provider cannot do is
refused at once (Poppy answered 202 to a purge-all it could not do and failed later)."""

from __future__ import annotations

import pytest
from cdn_helpers import service_body


def _provider_id(cloud, provider, service_id):
    return cloud.app.cdn.driver(provider).find(None, service_id).provider_service_id


def test_purge_a_path_hard_and_soft(poppy, unique, cloud):
    service_id = poppy.create(service_body(unique(), unique.domain()))
    status, body, headers = poppy("DELETE", f"/services/{service_id}/assets", params={"url": "/images/*"})
    assert status == 202 and body is None and headers["location"].endswith(service_id)
    status, _, _ = poppy("DELETE", f"/services/{service_id}/assets", params={"url": "/index.html", "hard": "false"})
    assert status == 202
    ops = poppy.settle(service_id)
    assert [op.state for op in ops if op.kind == "cdn.purge"] == ["succeeded", "succeeded"]
    purges = cloud.app.cdn.driver("mock").purges(_provider_id(cloud, "mock", service_id))
    # the mock offers soft purge, so hard=false reaches it as asked
    assert sorted(purges, key=lambda p: p["url"]) == [{"url": "/images/*", "hard": True},
                                                       {"url": "/index.html", "hard": False}]


def test_purge_everything(poppy, unique, cloud):
    service_id = poppy.create(service_body(unique(), unique.domain()))
    for params in ({"all": "true"}, {}, {"url": "/*"}):
        assert poppy("DELETE", f"/services/{service_id}/assets", params=params)[0] == 202
    poppy.settle(service_id)
    purges = cloud.app.cdn.driver("mock").purges(_provider_id(cloud, "mock", service_id))
    assert purges == [{"url": None, "hard": True}] * 3


def test_a_slow_purge_is_polled_until_effective(poppy, unique, cloud):
    service_id = poppy.create(service_body(unique(), unique.domain(), flavor="slow"))
    assert poppy("DELETE", f"/services/{service_id}/assets", params={"url": "/a"})[0] == 202
    ops = poppy.settle(service_id)
    purge = [op for op in ops if op.kind == "cdn.purge"][0]
    assert purge.state == "succeeded" and purge.polls >= 1


@pytest.mark.parametrize("params, message", [
    ({"url": "/a", "all": "true"}, "Cannot provide all=true and a url at the same time"),
    ({"url": "/a", "hard": "maybe"}, "hard can only be set to True or False"),
    ({"all": "perhaps"}, "all can only be set to True or False"),
    ({"url": "/ünïcödé"}, "non ascii character present in url"),
    ({"url": "no-slash"}, "url:"),
    ({"url": "/a b"}, "url:"),
    ({"url": "/" + "a" * 1100}, "url:"),
])
def test_bad_purge_arguments_are_400(poppy, unique, params, message):
    service_id = poppy.create(service_body(unique(), unique.domain()))
    status, body, _ = poppy("DELETE", f"/services/{service_id}/assets", params=params)
    assert status == 400 and message in body["message"]


def test_purge_is_allowed_only_when_deployed(poppy, unique):
    _, _, headers = poppy("POST", "/services", service_body(unique(), unique.domain(), flavor="slow"))
    service_id = headers["location"].rsplit("/", 1)[1]
    status, body, _ = poppy("DELETE", f"/services/{service_id}/assets", params={"url": "/a"})
    assert status == 400 and "is not deployed" in body["message"]
    poppy.settle(service_id)
    assert poppy("DELETE", f"/services/{service_id}/assets", params={"url": "/a"})[0] == 202
    poppy.settle(service_id)


def test_purge_all_on_a_provider_that_cannot_is_refused_at_once(poppy, unique):
    service_id = poppy.create(service_body(unique(), unique.domain(), flavor="basic"))
    status, body, _ = poppy("DELETE", f"/services/{service_id}/assets", params={"all": "true"})
    assert status == 400 and body["message"] == "all: provider basic cannot purge all content at once"
    ops = poppy.settle(service_id)
    assert not [op for op in ops if op.kind == "cdn.purge"]  # nothing accepted to fail later
    assert poppy("DELETE", f"/services/{service_id}/assets", params={"url": "/a"})[0] == 202
    poppy.settle(service_id)


def test_a_failed_purge_shows_in_errors_and_the_service_stays_deployed(poppy, unique, cloud):
    service_id = poppy.create(service_body(unique(), unique.domain()))
    cloud.app.cdn.driver("mock").inject("purge", message="purge queue is full")
    assert poppy("DELETE", f"/services/{service_id}/assets", params={"url": "/a"})[0] == 202
    poppy.settle(service_id)
    service = poppy.get(service_id)
    assert service["status"] == "deployed"
    assert service["errors"] == [{"message": "Purge of /a failed: purge queue is full", "provider": "mock"}]
