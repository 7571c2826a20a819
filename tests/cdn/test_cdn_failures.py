"""Provider failures: a failed deploy or update leaves the service failed with the provider's
message and a later PATCH retries it; retryable errors are retried by the engine; a failed delete
keeps the record (and its domains) until every provider confirms; nothing is orphaned."""

from __future__ import annotations

from cdn_helpers import service_body


def test_a_failed_create_shows_the_providers_message(poppy, unique, mock_driver):
    mock_driver.inject("create", message="The CNAME is already in use (provider)")
    service_id = poppy.create(service_body(unique(), unique.domain()))
    service = poppy.get(service_id)
    assert service["status"] == "failed"
    assert service["errors"] == [{"message": "The CNAME is already in use (provider)", "provider": "mock"}]


def test_a_deployment_the_provider_fails_later_is_failed(poppy, unique, mock_driver):
    mock_driver.inject("deploy", message="origin unreachable from the edge")
    service_id = poppy.create(service_body(unique(), unique.domain()))
    service = poppy.get(service_id)
    assert service["status"] == "failed" and service["errors"][0]["message"] == "origin unreachable from the edge"


def test_a_provider_failing_mid_update_leaves_the_service_failed_and_a_later_patch_retries(poppy, unique,
                                                                                            mock_driver):
    service_id = poppy.create(service_body(unique(), unique.domain()))
    mock_driver.inject("update", message="configuration version conflict")
    status, _, _ = poppy("PATCH", f"/services/{service_id}", [{"op": "replace", "path": "/caching/0/ttl",
                                                               "value": 30}])
    assert status == 202
    poppy.settle(service_id)
    service = poppy.get(service_id)
    assert service["status"] == "failed"
    assert service["errors"] == [{"message": "configuration version conflict", "provider": "mock"}]
    # the record holds the new document; the provider still serves the old one
    assert service["caching"][0]["ttl"] == 30
    provider_id = mock_driver.find(None, service_id).provider_service_id
    assert mock_driver.spec_of(provider_id).caching[0].ttl != 30
    status, _, _ = poppy("PATCH", f"/services/{service_id}", [{"op": "replace", "path": "/caching/0/ttl",
                                                               "value": 45}])
    assert status == 202
    poppy.settle(service_id)
    service = poppy.get(service_id)
    assert service["status"] == "deployed" and service["errors"] == []
    assert mock_driver.spec_of(provider_id).caching[0].ttl == 45


def test_a_failed_create_is_retried_by_a_patch_that_changes_nothing(poppy, unique, mock_driver):
    mock_driver.inject("create", message="temporarily refused")
    service_id = poppy.create(service_body(unique(), unique.domain()))
    assert poppy.get(service_id)["status"] == "failed"
    status, _, _ = poppy("PATCH", f"/services/{service_id}", [{"op": "test", "path": "/flavor_id", "value": "mock"}])
    assert status == 202
    poppy.settle(service_id)
    assert poppy.get(service_id)["status"] == "deployed"


def test_retryable_errors_are_retried_by_the_engine(poppy, unique, mock_driver):
    mock_driver.inject("create", times=2, message="503 from the provider", retryable=True)
    service_id = poppy.create(service_body(unique(), unique.domain()))
    assert poppy.get(service_id)["status"] == "deployed"
    ops = poppy.settle(service_id)
    assert ops[0].attempts == 3


def test_a_failed_delete_keeps_the_service_and_its_domains_until_a_later_delete(poppy, alt_poppy, unique,
                                                                                 mock_driver):
    domain = unique.domain()
    service_id = poppy.create(service_body(unique(), domain))
    mock_driver.inject("delete", message="distribution is locked")
    assert poppy("DELETE", f"/services/{service_id}")[0] == 202
    poppy.settle(service_id)
    service = poppy.get(service_id)
    assert service["status"] == "failed"
    assert service["errors"] == [{"message": "Delete failed: distribution is locked", "provider": "mock"}]
    assert mock_driver.find(None, service_id) is not None  # still on the provider: not archived
    status, body, _ = alt_poppy("POST", "/services", service_body(unique(), domain))
    assert status == 400 and "has already been taken" in body["message"]  # still claimed
    assert poppy("DELETE", f"/services/{service_id}")[0] == 202
    poppy.settle(service_id)
    assert poppy("GET", f"/services/{service_id}")[0] == 404
    assert mock_driver.find(None, service_id) is None
    alt_poppy.create(service_body(unique(), domain))  # released now


def test_one_provider_failing_on_a_two_provider_flavor(poppy, unique, cloud):
    cloud.app.cdn.driver("second").inject("create", message="second provider says no")
    service_id = poppy.create(service_body(unique(), unique.domain(), flavor="multi"))
    service = poppy.get(service_id)
    assert service["status"] == "failed"
    assert service["errors"] == [{"message": "second provider says no", "provider": "second"}]
    poppy("DELETE", f"/services/{service_id}")
    poppy.settle(service_id)
    assert poppy("GET", f"/services/{service_id}")[0] == 404
    for provider in ("mock", "second"):
        assert cloud.app.cdn.driver(provider).find(None, service_id) is None


def test_delete_while_creating_leaves_nothing_on_the_provider(poppy, unique, cloud):
    _, _, headers = poppy("POST", "/services", service_body(unique(), unique.domain(), flavor="slow"))
    service_id = headers["location"].rsplit("/", 1)[1]
    assert poppy("DELETE", f"/services/{service_id}")[0] == 202
    poppy.settle(service_id)
    assert poppy("GET", f"/services/{service_id}")[0] == 404
    assert cloud.app.cdn.driver("slow").find(None, service_id) is None

