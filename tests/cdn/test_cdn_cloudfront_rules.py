"""AWS's rules moto does not enforce, checked on the driver's calls with botocore's Stubber (which
validates every call against CloudFront's service model): updates and deletes carry the IfMatch
ETag of what was read; a distribution is disabled, and the change deployed, before it is deleted;
a concurrent change is read again; AWS's errors keep their code and message and say whether a retry
may help."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import ANY, Stubber

from overcast.core.cdn import document
from overcast.drivers.cdn.base import PurgeRequest
from overcast.drivers.cdn.cloudfront import CloudFrontCdnDriver
from overcast.drivers.errors import Conflict, InvalidRequest, NotFound, Unavailable

SPEC = document.to_spec("7c1f6a0e-1111-4222-8333-444455556666", "p", document.validate({
    "name": "rules", "flavor_id": "cf", "domains": [{"domain": "www.rules.example.org"}],
    "origins": [{"origin": "origin.example.net"}]}))


@pytest.fixture
def stubbed():
    client = boto3.client("cloudfront", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    driver = CloudFrontCdnDriver(client=client)
    with Stubber(client) as stubber:
        yield driver, stubber
        stubber.assert_no_pending_responses()


def distribution(enabled: bool, status: str, etag: str = "E1") -> dict:
    config = CloudFrontCdnDriver(client=object()).distribution_config(SPEC)
    config["Enabled"] = enabled
    return {"Distribution": {"Id": "D1", "ARN": "arn:aws:cloudfront::1:distribution/D1", "Status": status,
                             "LastModifiedTime": "2024-01-01T00:00:00Z", "InProgressInvalidationBatches": 0,
                             "DomainName": "d1.cloudfront.net", "DistributionConfig": config}, "ETag": etag}


def test_delete_disables_first_then_waits_for_the_change_to_deploy(stubbed):
    driver, stubber = stubbed
    stubber.add_response("get_distribution", distribution(True, "Deployed", "E1"), {"Id": "D1"})
    stubber.add_response("update_distribution", distribution(False, "InProgress", "E2"),
                         {"Id": "D1", "IfMatch": "E1", "DistributionConfig": ANY})
    assert driver.delete(None, "D1") is False  # disabled now; not deletable until that deploys
    stubber.add_response("get_distribution", distribution(False, "InProgress", "E2"), {"Id": "D1"})
    assert driver.delete(None, "D1") is False
    stubber.add_response("get_distribution", distribution(False, "Deployed", "E3"), {"Id": "D1"})
    stubber.add_response("delete_distribution", {}, {"Id": "D1", "IfMatch": "E3"})
    assert driver.delete(None, "D1") is True


def test_the_disabling_update_sends_the_whole_config_with_enabled_false(stubbed):
    driver, stubber = stubbed
    original = distribution(True, "Deployed", "E7")
    expected = {**original["Distribution"]["DistributionConfig"], "Enabled": False}
    stubber.add_response("get_distribution", original, {"Id": "D1"})
    stubber.add_response("update_distribution", distribution(False, "InProgress"),
                         {"Id": "D1", "IfMatch": "E7", "DistributionConfig": expected})
    assert driver.delete(None, "D1") is False


def test_deleting_what_aws_no_longer_has_succeeds(stubbed):
    driver, stubber = stubbed
    stubber.add_client_error("get_distribution", "NoSuchDistribution", "The specified distribution does not exist.",
                             404, expected_params={"Id": "D1"})
    assert driver.delete(None, "D1") is True


def test_update_sends_if_match_and_keeps_the_caller_reference(stubbed):
    driver, stubber = stubbed
    current = distribution(True, "Deployed", "E5")
    current_config = {"DistributionConfig": {**current["Distribution"]["DistributionConfig"],
                                             "CallerReference": "original-ref"}, "ETag": "E5"}
    stubber.add_response("get_distribution_config", current_config, {"Id": "D1"})
    expected = driver.distribution_config(SPEC, "original-ref")
    stubber.add_response("update_distribution", distribution(True, "InProgress", "E6"),
                         {"Id": "D1", "IfMatch": "E5", "DistributionConfig": expected})
    info = driver.update(None, "D1", SPEC)
    assert info.state.value == "in_progress" and info.extra["etag"] == "E6"


def test_a_concurrent_change_is_read_again_once(stubbed):
    driver, stubber = stubbed
    for etag in ("E1", "E2"):
        config = {"DistributionConfig": distribution(True, "Deployed")["Distribution"]["DistributionConfig"],
                  "ETag": etag}
        stubber.add_response("get_distribution_config", config, {"Id": "D1"})
        if etag == "E1":
            stubber.add_client_error("update_distribution", "PreconditionFailed",
                                     "The If-Match version is missing or not valid", 412,
                                     expected_params={"Id": "D1", "IfMatch": "E1", "DistributionConfig": ANY})
    stubber.add_response("update_distribution", distribution(True, "InProgress", "E3"),
                         {"Id": "D1", "IfMatch": "E2", "DistributionConfig": ANY})
    assert driver.update(None, "D1", SPEC).extra["etag"] == "E3"


@pytest.mark.parametrize("code, status, error", [
    ("NoSuchDistribution", 404, NotFound),
    ("CNAMEAlreadyExists", 409, Conflict),
    ("InvalidArgument", 400, InvalidRequest),
    ("Throttling", 400, Unavailable),
    ("ServiceUnavailable", 503, Unavailable),
])
def test_aws_errors_keep_their_code_and_message(stubbed, code, status, error):
    driver, stubber = stubbed
    stubber.add_client_error("get_distribution", code, f"AWS says {code}", status, expected_params={"Id": "D1"})
    with pytest.raises(error) as caught:
        driver.get(None, "D1")
    assert str(caught.value) == f"{code}: AWS says {code}"
    assert caught.value.retryable is (error is Unavailable)


def test_purge_is_an_invalidation(stubbed):
    driver, stubber = stubbed
    stubber.add_response("create_invalidation", {"Location": "x", "Invalidation": {
        "Id": "I1", "Status": "InProgress", "CreateTime": "2024-01-01T00:00:00Z",
        "InvalidationBatch": {"Paths": {"Quantity": 1, "Items": ["/images/*"]}, "CallerReference": "r"}}},
        {"DistributionId": "D1", "InvalidationBatch": {"Paths": {"Quantity": 1, "Items": ["/images/*"]},
                                                       "CallerReference": ANY}})
    assert driver.purge(None, "D1", PurgeRequest("/images/*")) == "I1"
    stubber.add_response("get_invalidation", {"Invalidation": {
        "Id": "I1", "Status": "Completed", "CreateTime": "2024-01-01T00:00:00Z",
        "InvalidationBatch": {"Paths": {"Quantity": 1, "Items": ["/images/*"]}, "CallerReference": "r"}}},
        {"DistributionId": "D1", "Id": "I1"})
    assert driver.purge_done(None, "D1", "I1") is True


def test_what_cloudfront_cannot_do_is_refused(stubbed):
    driver, _ = stubbed
    custom = document.to_spec("7c1f6a0e-1111-4222-8333-444455556667", "p", document.validate({
        "name": "rules", "flavor_id": "cf", "domains": [{"domain": "www.rules.example.org"}],
        "origins": [{"origin": "origin.example.net", "hostheadertype": "custom",
                     "hostheadervalue": "other.example.net"}]}))
    with pytest.raises(InvalidRequest, match="custom Host header"):
        driver.create(None, custom)


# -- certificates (ACM): the rules moto does not enforce ------------------------------------------------
ARN = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666"
DOMAIN = "secure.rules.example.org"


@pytest.fixture
def acm_stubbed():
    keys = {"region_name": "us-east-1", "aws_access_key_id": "x", "aws_secret_access_key": "y"}
    client, acm = boto3.client("cloudfront", **keys), boto3.client("acm", **keys)
    driver = CloudFrontCdnDriver(client=client, acm_client=acm)
    with Stubber(client) as cloudfront, Stubber(acm) as certificates:
        yield driver, cloudfront, certificates
        cloudfront.assert_no_pending_responses()
        certificates.assert_no_pending_responses()


def found_in_acm(stubber):
    stubber.add_response("list_certificates", {"CertificateSummaryList": [
        {"CertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/someone-elses", "DomainName": DOMAIN},
        {"CertificateArn": ARN, "DomainName": DOMAIN}]}, {})
    stubber.add_response("list_tags_for_certificate", {"Tags": [{"Key": "team", "Value": "web"}]},
                         {"CertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/someone-elses"})
    stubber.add_response("list_tags_for_certificate", {"Tags": [{"Key": "overcast:cdn-domain", "Value": DOMAIN},
                                                                {"Key": "overcast:cert-type", "Value": "san"}]},
                         {"CertificateArn": ARN})


@pytest.mark.parametrize("status, reason", [("FAILED", "CAA_ERROR"), ("VALIDATION_TIMED_OUT", None),
                                            ("REVOKED", None)])
def test_a_certificate_acm_will_not_issue_is_failed_with_acms_reason(acm_stubbed, status, reason):
    driver, _, acm = acm_stubbed
    found_in_acm(acm)  # a certificate of the same domain that is not Overcast's is passed over
    acm.add_response("describe_certificate", {"Certificate": {
        "CertificateArn": ARN, "DomainName": DOMAIN, "Status": status, **({"FailureReason": reason} if reason else {})}},
        {"CertificateArn": ARN})
    info = driver.get_certificate(None, DOMAIN)
    assert info.state.value == "failed" and info.cert_type == "san"
    assert info.message == f"ACM certificate {status}" + (f": {reason}" if reason else "")
    assert ARN not in repr(info)


def test_deleting_a_certificate_detaches_it_from_its_distributions_first(acm_stubbed):
    """ACM refuses to delete a certificate CloudFront serves (moto does not): the distribution is
    switched to CloudFront's default certificate (IfMatch) before ACM is asked."""
    driver, cloudfront, acm = acm_stubbed
    found_in_acm(acm)
    served = distribution(True, "Deployed", "E4")
    config = {**served["Distribution"]["DistributionConfig"],
              "ViewerCertificate": {"ACMCertificateArn": ARN, "SSLSupportMethod": "sni-only",
                                    "MinimumProtocolVersion": "TLSv1.2_2021"}}
    summary = {"Id": "D1", "ARN": "arn:aws:cloudfront::1:distribution/D1", "Status": "Deployed",
               "LastModifiedTime": "2024-01-01T00:00:00Z", "DomainName": "d1.cloudfront.net",
               **{k: config[k] for k in ("Aliases", "Origins", "DefaultCacheBehavior", "CacheBehaviors",
                                         "CustomErrorResponses", "Comment", "PriceClass", "Enabled",
                                         "ViewerCertificate", "Restrictions", "HttpVersion", "IsIPV6Enabled")},
               "WebACLId": "", "Staging": False}
    other = {**summary, "Id": "D2", "ViewerCertificate": {"CloudFrontDefaultCertificate": True}}
    cloudfront.add_response("list_distributions", {"DistributionList": {
        "Marker": "", "MaxItems": 100, "IsTruncated": False, "Quantity": 2, "Items": [summary, other]}}, {})
    cloudfront.add_response("get_distribution_config", {"DistributionConfig": config, "ETag": "E4"}, {"Id": "D1"})
    cloudfront.add_response("update_distribution", distribution(True, "InProgress", "E5"), {
        "Id": "D1", "IfMatch": "E4",
        "DistributionConfig": {**config, "ViewerCertificate": {"CloudFrontDefaultCertificate": True}}})
    acm.add_response("delete_certificate", {}, {"CertificateArn": ARN})
    assert driver.delete_certificate(None, DOMAIN) is True


def test_a_certificate_still_in_use_is_deleted_again_later(acm_stubbed):
    """Until CloudFront lets go of it, ACM refuses: the delete answers False (called again later,
    not an error counted against the provider's breaker)."""
    driver, cloudfront, acm = acm_stubbed
    found_in_acm(acm)
    cloudfront.add_response("list_distributions", {"DistributionList": {
        "Marker": "", "MaxItems": 100, "IsTruncated": False, "Quantity": 0}}, {})
    acm.add_client_error("delete_certificate", "ResourceInUseException", "Certificate is in use", 400,
                         expected_params={"CertificateArn": ARN})
    assert driver.delete_certificate(None, DOMAIN) is False


def test_a_certificate_not_issued_yet_is_not_attached(acm_stubbed):
    """CloudFront refuses a ViewerCertificate that ACM has not issued (moto does not): the driver
    refuses the deployment before asking, naming the domain."""
    driver, _, acm = acm_stubbed
    found_in_acm(acm)
    acm.add_response("describe_certificate", {"Certificate": {"CertificateArn": ARN, "DomainName": DOMAIN,
                                                              "Status": "PENDING_VALIDATION"}},
                     {"CertificateArn": ARN})
    spec = document.to_spec("7c1f6a0e-1111-4222-8333-444455556668", "p", document.validate({
        "name": "tls", "flavor_id": "cf", "domains": [{"domain": DOMAIN, "protocol": "https", "certificate": "san"}],
        "origins": [{"origin": "origin.example.net"}]}))
    with pytest.raises(InvalidRequest, match=r"domains\[0\]: the certificate for secure.rules.example.org is not "
                                             r"issued yet \(ACM status PENDING_VALIDATION\)"):
        driver.create(None, spec)
