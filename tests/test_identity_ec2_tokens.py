"""``/v3/ec2tokens`` and ``/v3/s3tokens``: requests signed by real AWS signers (botocore's SigV2,
SigV4, S3's HMAC-SHA1 and S3 SigV4, and keystoneclient's Ec2Signer for versions 0 and 1) are traded
for a token on the EC2 credential's project, as an EC2 API server or Swift's s3api asks Keystone."""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import parse_qsl, urlsplit

import pytest
from botocore.auth import HmacV1Auth, S3SigV4Auth, SigV2Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from keystoneclient.contrib.ec2.utils import Ec2Signer

from tests.conftest import body

V3 = "/identity/v3"
EC2_URL = "http://ec2.example.com:8788/"
FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}


@pytest.fixture
def ec2(cloud, demo_token):  # noqa: ANN001, ANN201
    """The demo user's EC2 credential on project demo: (access, secret, project id)."""
    token = body(cloud.request("GET", f"{V3}/auth/tokens", demo_token, headers={"X-Subject-Token": demo_token}))
    user, project = token["token"]["user"]["id"], token["token"]["project"]["id"]
    resp = cloud.request("POST", f"{V3}/users/{user}/credentials/OS-EC2", demo_token, json={"tenant_id": project})
    cred = body(resp)["credential"]
    return cred["access"], cred["secret"], project


def _sigv2(access: str, secret: str, url: str = EC2_URL) -> dict:
    req = AWSRequest(method="POST", url=url, data={"Action": "DescribeInstances", "Version": "2016-11-15"})
    SigV2Auth(Credentials(access, secret)).add_auth(req)
    params = dict(req.data)
    signature = params.pop("Signature")
    return {"access": access, "signature": signature, "host": urlsplit(url).netloc, "verb": "POST", "path": "/",
            "params": params}


def _sigv4(access: str, secret: str) -> dict:
    data = "Action=DescribeInstances&Version=2016-11-15"
    req = AWSRequest(method="POST", url=EC2_URL, data=data, headers=dict(FORM))
    SigV4Auth(Credentials(access, secret), "ec2", "RegionOne").add_auth(req)
    headers = {**dict(req.headers), "Host": urlsplit(EC2_URL).netloc}
    signature = headers["Authorization"].rpartition("Signature=")[2]
    return {"access": access, "signature": signature, "host": urlsplit(EC2_URL).netloc, "verb": "POST", "path": "/",
            "params": dict(parse_qsl(data)), "headers": headers, "body_hash": hashlib.sha256(data.encode()).hexdigest()}


def _post(cloud, path: str, credentials: dict, key: str = "credentials"):  # noqa: ANN001, ANN202
    return cloud.request("POST", f"{V3}/{path}", json={key: credentials})


def _check_token(cloud, resp, project: str) -> dict:  # noqa: ANN001
    assert resp.status_code == 200, resp.text
    token = body(resp)["token"]
    assert token["methods"] == ["ec2credential"] and token["project"]["id"] == project
    assert {"member", "reader"} <= {r["name"] for r in token["roles"]}
    assert token["user"]["name"] == "demo" and token["catalog"]
    return token


@pytest.mark.parametrize("signer", [_sigv2, _sigv4])
def test_ec2tokens_with_botocore_signatures(cloud, ec2, signer):
    access, secret, project = ec2
    resp = _post(cloud, "ec2tokens", signer(access, secret))
    _check_token(cloud, resp, project)
    token_id = resp.headers["X-Subject-Token"]
    admin = cloud.token("admin", "admin")
    shown = cloud.request("GET", f"{V3}/auth/tokens", admin, headers={"X-Subject-Token": token_id})
    assert shown.status_code == 200 and body(shown)["token"]["methods"] == ["ec2credential"]
    # the token works on the other services: the demo user's servers
    assert cloud.request("GET", "/compute/v2.1/servers", token_id).status_code == 200


def test_ec2tokens_legacy_body_keys_and_versions_0_and_1(cloud, ec2):
    access, secret, project = ec2
    for version in ("0", "1"):
        creds = {"access": access, "host": "ec2.example.com", "verb": "GET", "path": "/",
                 "params": {"Action": "DescribeRegions", "SignatureVersion": version,
                            "Timestamp": _now_iso(), "AWSAccessKeyId": access}}
        creds["signature"] = Ec2Signer(secret).generate(creds)
        for key in ("credentials", "credential", "ec2Credentials"):
            _check_token(cloud, _post(cloud, "ec2tokens", creds, key), project)


def _now_iso() -> str:
    import datetime as dt
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_ec2tokens_host_signed_without_its_port(cloud, ec2):
    access, secret, project = ec2
    creds = _sigv2(access, secret, url="http://ec2.example.com/")
    creds["host"] = "ec2.example.com:8788"  # what the server saw; the client signed without the port
    _check_token(cloud, _post(cloud, "ec2tokens", creds), project)


def test_ec2tokens_refusals(cloud, ec2):
    access, secret, _ = ec2
    good = _sigv2(access, secret)
    cases = [
        ({**good, "signature": base64.b64encode(b"x" * 32).decode()}, 401, "Invalid EC2 signature."),
        ({k: v for k, v in good.items() if k != "signature"}, 401, "EC2 signature not supplied."),
        ({k: v for k, v in good.items() if k != "access"}, 401, "EC2 Signature not supplied"),
        ({**good, "access": "nope"}, 404, "EC2 access key not found."),
        ({**_sigv2(access, "0" * 32)}, 401, "Invalid EC2 signature."),
        ({**good, "params": {**good["params"], "SignatureVersion": "9"}}, 401, "Invalid EC2 signature."),
    ]
    for creds, status, message in cases:
        resp = _post(cloud, "ec2tokens", creds)
        assert resp.status_code == status and body(resp)["error"]["message"] == message, (creds, resp.text)
    resp = cloud.request("POST", f"{V3}/ec2tokens", json={})
    assert resp.status_code == 400 and body(resp)["error"]["message"] == "request must include a request body"
    assert cloud.request("GET", f"{V3}/ec2tokens", cloud.token("admin", "admin")).status_code == 405
    # a correctly signed request that is too old
    old = {"access": access, "host": "ec2.example.com", "verb": "GET", "path": "/",
           "params": {"Action": "DescribeRegions", "SignatureVersion": "2", "SignatureMethod": "HmacSHA256",
                      "Timestamp": "2020-01-01T00:00:00Z", "AWSAccessKeyId": access}}
    old["signature"] = Ec2Signer(secret).generate(old)
    resp = _post(cloud, "ec2tokens", old)
    assert resp.status_code == 401 and body(resp)["error"]["message"] == "Credential is expired"


def test_s3tokens_with_botocore_signatures(cloud, ec2):
    access, secret, project = ec2
    creds = Credentials(access, secret)
    url = "http://s3.example.com:8080/bucket/key.txt"

    v1 = AWSRequest(method="PUT", url=url, data=b"hello", headers={"Content-Type": "text/plain"})
    auth = HmacV1Auth(creds)
    auth.add_auth(v1)
    string_to_sign = auth.canonical_string("PUT", urlsplit(url), v1.headers)
    signature = v1.headers["Authorization"].rpartition(":")[2]

    v4 = AWSRequest(method="GET", url=url)
    auth4 = S3SigV4Auth(creds, "s3", "RegionOne")
    auth4.add_auth(v4)
    signature4 = v4.headers["Authorization"].rpartition("Signature=")[2]
    del v4.headers["Authorization"]  # what s3api rebuilds: the request as it was signed
    string_to_sign4 = auth4.string_to_sign(v4, auth4.canonical_request(v4))

    for sts, sig in ((string_to_sign, signature), (string_to_sign4, signature4)):
        token = base64.urlsafe_b64encode(sts.encode()).decode()
        resp = _post(cloud, "s3tokens", {"access": access, "token": token, "signature": sig})
        _check_token(cloud, resp, project)
        assert "X-Subject-Token" not in resp.headers
        resp = _post(cloud, "s3tokens", {"access": access, "token": token, "signature": sig[:-2] + "xx"})
        assert resp.status_code == 401 and body(resp)["error"]["message"] == "Credential signature mismatch"


def test_a_disabled_user_gets_no_token(cloud, ec2):
    access, secret, _ = ec2
    admin = cloud.token("admin", "admin")
    demo = body(cloud.request("GET", f"{V3}/users?name=demo", admin))["users"][0]
    assert cloud.request("PATCH", f"{V3}/users/{demo['id']}", admin,
                         json={"user": {"enabled": False}}).status_code == 200
    assert _post(cloud, "ec2tokens", _sigv2(access, secret)).status_code == 401


def test_a_credential_made_with_an_application_credential_keeps_its_roles(cloud, demo_token):
    """Keystone records the application credential that made an EC2 credential: its tokens get only
    the application credential's roles."""
    info = body(cloud.request("GET", f"{V3}/auth/tokens", demo_token, headers={"X-Subject-Token": demo_token}))
    user, project = info["token"]["user"]["id"], info["token"]["project"]["id"]
    app = body(cloud.request("POST", f"{V3}/users/{user}/application_credentials", demo_token, json={
        "application_credential": {"name": "ro", "roles": [{"name": "reader"}]}}))["application_credential"]
    auth = {"auth": {"identity": {"methods": ["application_credential"], "application_credential": {
        "id": app["id"], "secret": app["secret"]}}}}
    app_token = cloud.request("POST", f"{V3}/auth/tokens", json=auth).headers["X-Subject-Token"]
    cred = body(cloud.request("POST", f"{V3}/users/{user}/credentials/OS-EC2", app_token,
                              json={"tenant_id": project}))["credential"]
    resp = _post(cloud, "ec2tokens", _sigv2(cred["access"], cred["secret"]))
    assert resp.status_code == 200, resp.text
    assert [r["name"] for r in body(resp)["token"]["roles"]] == ["reader"]
