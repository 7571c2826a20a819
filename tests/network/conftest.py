"""Network fixtures: the bootstrapped `cloud` (with DevStack's default topology) and a Neutron
request helper."""

from __future__ import annotations

import json

import pytest


class Net:
    """``net("GET", "/networks", token)`` -> (status, body) against ``/network/v2.0``."""

    def __init__(self, cloud):  # noqa: ANN001
        self.cloud = cloud

    def __call__(self, method: str, path: str, token: str, body: dict | None = None, **kw):  # noqa: ANN201
        resp = self.cloud.request(method, "/network/v2.0" + path, token, json=body, **kw)
        return resp.status_code, (json.loads(resp.text) if resp.text else {})

    def make(self, token: str, collection: str, member: str, **attrs):  # noqa: ANN201
        """Create and return the resource (asserting 201)."""
        status, body = self(  "POST", f"/{collection}", token, {member: attrs})
        assert status == 201, body
        return body[member]


@pytest.fixture
def net(cloud) -> Net:  # noqa: ANN001
    return Net(cloud)


@pytest.fixture
def reader_token(cloud, admin_token) -> str:  # noqa: ANN001
    """A user with only the reader role on the demo project."""
    req = cloud.request
    projects = json.loads(req("GET", "/identity/v3/projects?name=demo", admin_token).text)["projects"]
    roles = json.loads(req("GET", "/identity/v3/roles?name=reader", admin_token).text)["roles"]
    user = json.loads(req("POST", "/identity/v3/users", admin_token, json={"user": {
        "name": "netreader", "password": "secret-pass", "domain_id": "default"}}).text)["user"]
    assert req("PUT", f"/identity/v3/projects/{projects[0]['id']}/users/{user['id']}/roles/{roles[0]['id']}",
               admin_token).status_code == 204
    cloud.passwords["netreader"] = "secret-pass"
    return cloud.token("netreader", "demo")
