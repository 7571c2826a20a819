"""Poppy's ssl_certificate flow (docs/decisions/0048) end to end over HTTP on a cloudfront
provider (boto3 against moto_server, whose ACM keeps a requested certificate PENDING_VALIDATION for 4 s, then ISSUED):
the certificate is requested in ACM and reported create_in_progress, then deployed with the DNS
record its owner must create; a service with an https domain asked before that failed, saying why,
and is deployed again, served with it (the distribution's ViewerCertificate is its ARN, SNI);
deleting it detaches it from the distribution and deletes it in ACM, and the service says what it
lacks. Never a key, an ARN or the AWS secret in an answer or a log line."""

from __future__ import annotations

import json
import logging
import time

import boto3
import pytest
from cdn_helpers import service_body
from conftest import cdn_settings, running_cloud

from overcast.testing.cdn_servers import MotoServer

SECRET = "s3cr3t-moto-key-never-shown"


@pytest.fixture(scope="module")
def moto():
    server = MotoServer(acm_validation_seconds=4)
    server.set_transition("cloudfront::distribution", {"progression": "time", "seconds": 1})
    yield server
    server.stop()


@pytest.fixture(scope="module")
def cloud(tmp_path_factory, moto):
    provider = {"driver": "cloudfront", "endpoint_url": moto.url, "aws_access_key_id": "testing",
                "aws_secret_access_key": SECRET}
    yield from running_cloud(cdn_settings(tmp_path_factory.mktemp("cdn-cf") / "data",
                                          providers={"cf": provider}, flavors={"cf": {"providers": ["cf"]}}))


@pytest.fixture(scope="module")
def aws(moto):
    """moto's own view, through boto3 (what CloudFront and ACM hold)."""
    kwargs = {"region_name": "us-east-1", "endpoint_url": moto.url, "aws_access_key_id": "testing",
              "aws_secret_access_key": SECRET}
    return boto3.client("cloudfront", **kwargs), boto3.client("acm", **kwargs)


def acm_arns(acm, domain):
    return [c["CertificateArn"] for c in acm.list_certificates()["CertificateSummaryList"] if c["DomainName"] == domain]


def viewer_certificate(cloudfront, service):
    distribution_id = None  # the provider's id is not in Poppy's document: found by its comment
    for item in cloudfront.list_distributions()["DistributionList"].get("Items") or []:
        if item["Comment"] == f"overcast:{service['id']}":
            distribution_id = item["Id"]
    assert distribution_id, "no distribution for the service"
    return cloudfront.get_distribution_config(Id=distribution_id)["DistributionConfig"]["ViewerCertificate"]


def https_body(name, domain):
    body = service_body(name, domain, flavor="cf")
    body["domains"] = [{"domain": domain, "protocol": "https", "certificate": "sni"}]
    return body


def test_a_certificate_is_issued_in_acm_served_on_the_distribution_then_detached_and_deleted(
        poppy, admin_poppy, unique, aws, caplog):
    caplog.set_level(logging.DEBUG)
    cloudfront, acm = aws
    domain = unique.domain("secure")
    status, body, _ = poppy("POST", "/ssl_certificate", {"flavor_id": "cf", "cert_type": "sni", "domain_name": domain})
    assert status == 202 and body is None
    status, certs, _ = poppy("GET", f"/ssl_certificate/{domain}")
    assert status == 200 and certs[0]["status"] == "create_in_progress"  # ACM validates in 4 s
    deadline = time.monotonic() + 30
    while not acm_arns(acm, domain):  # the operation asked ACM
        assert time.monotonic() < deadline, "the certificate was not requested in ACM"
        time.sleep(0.05)

    # a service asking for the certificate before it is issued fails, saying why, until it is
    service_id = poppy.create(https_body(unique(), domain))
    service = poppy.get(service_id)
    assert service["status"] == "failed", service
    assert f"the certificate for {domain} is not issued yet" in service["errors"][0]["message"]

    poppy.settle(domain)
    status, certs, _ = poppy("GET", f"/ssl_certificate/{domain}")
    cert = certs[0]
    assert status == 200 and cert["status"] == "deployed" and cert["cert_type"] == "sni"
    details = cert["cert_details"]["cf"]
    assert details["status"] == "deployed" and details["details"]["acm_status"] == "ISSUED"
    record = details["details"]["validation"][0]
    assert record["domain"] == domain and record["method"] == "DNS" and record["record"]["type"] == "CNAME"
    text = json.dumps(certs)
    assert "arn:aws" not in text and "BEGIN" not in text and SECRET not in text
    [arn] = acm_arns(acm, domain)
    tags = {t["Key"]: t["Value"] for t in acm.list_tags_for_certificate(CertificateArn=arn)["Tags"]}
    assert tags == {"overcast:cdn-domain": domain, "overcast:cert-type": "sni"}

    status, rows, _ = admin_poppy("GET", "/admin/certificates", params={"status": "deployed"})
    assert status == 200 and any(r["domain_name"] == domain for r in rows)
    for value in ("failed", "deployed"):  # an operator's correction, and back
        assert admin_poppy("PATCH", f"/admin/certificates/{domain}",
                           [{"op": "replace", "path": "status", "value": value}])[0] == 204
        assert poppy("GET", f"/ssl_certificate/{domain}")[1][0]["status"] == value
    assert poppy("PATCH", f"/admin/certificates/{domain}",
                 [{"op": "replace", "path": "status", "value": "failed"}])[0] == 403  # not an admin

    # the certificate's deployment deployed the service again: now served with it
    poppy.settle(service_id)
    service = poppy.get(service_id)
    assert service["status"] == "deployed" and service["errors"] == [], service
    assert service["domains"][0]["certificate_status"] == "deployed"
    viewer = viewer_certificate(cloudfront, service)
    assert (viewer["ACMCertificateArn"], viewer["SSLSupportMethod"]) == (arn, "sni-only"), viewer

    # delete: detached from the distribution first, then gone from ACM
    assert poppy("DELETE", f"/ssl_certificate/{domain}")[0] == 202
    poppy.settle(domain)
    assert poppy("GET", f"/ssl_certificate/{domain}")[0] == 404
    assert acm_arns(acm, domain) == []
    viewer = viewer_certificate(cloudfront, service)
    assert viewer.get("ACMCertificateArn") in (None, "") and viewer["CloudFrontDefaultCertificate"] is True
    # ... and the service, deployed again, says what it lacks now
    poppy.settle(service_id)
    service = poppy.get(service_id)
    assert service["status"] == "failed"
    assert f"has no certificate for {domain}; ask for one with POST /ssl_certificate" in service["errors"][0]["message"]
    assert SECRET not in caplog.text and "PRIVATE KEY" not in caplog.text

    assert poppy("DELETE", f"/services/{service_id}")[0] == 202
    poppy.settle(service_id)
    assert poppy("GET", f"/services/{service_id}")[0] == 404


def test_what_cloudfront_does_not_issue_is_refused_at_once(poppy, unique, aws):
    domain = unique.domain("secure")
    status, out, _ = poppy("POST", "/ssl_certificate", {"flavor_id": "cf", "cert_type": "custom",
                                                        "domain_name": domain})
    assert status == 400 and out["message"] == "cert_type: provider cf of flavor cf does not issue custom certificates"
    assert poppy("GET", f"/ssl_certificate/{domain}")[0] == 404
    assert acm_arns(aws[1], domain) == []


def test_an_https_domain_without_a_certificate_fails_saying_what_to_do(poppy, unique):
    domain = unique.domain("bare")
    service_id = poppy.create(https_body(unique(), domain))
    service = poppy.get(service_id)
    assert service["status"] == "failed"
    assert service["errors"] == [{"provider": "cf", "message": service["errors"][0]["message"]}]
    assert f"has no certificate for {domain}; ask for one with POST /ssl_certificate" in service["errors"][0]["message"]
    assert poppy("DELETE", f"/services/{service_id}")[0] == 202
    poppy.settle(service_id)
