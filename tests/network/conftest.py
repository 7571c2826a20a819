"""Network fixtures: the network operations running for every test that has a `cloud` (backends are
realised after commit, as in ``overcast serve``; ``netwait`` waits for them), and a reader on the
demo project (the `net` helper is in the top conftest)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from overcast.core.network.operations import setup_for
from overcast.ops.runtime import OpsRuntime


@pytest.fixture(autouse=True)
def network_ops(request: pytest.FixtureRequest) -> Any:
    """Workers running ``network.sync`` for tests that use the in-process cloud."""
    if "cloud" not in request.fixturenames:
        yield None
        return
    cloud = request.getfixturevalue("cloud")
    settings = request.getfixturevalue("settings")
    runtime = OpsRuntime(cloud.app.network.store, settings, threads=2, setups=[setup_for(cloud.app.network)])
    runtime.start(reconcile=False)
    yield runtime
    runtime.stop()


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


@pytest.fixture
def other(cloud, admin_token) -> tuple[str, str]:  # noqa: ANN001
    """(token, project id) of a member of a second project, "other"."""
    req = cloud.request
    project = json.loads(req("POST", "/identity/v3/projects", admin_token, json={"project": {
        "name": "other", "domain_id": "default"}}).text)["project"]
    role = json.loads(req("GET", "/identity/v3/roles?name=member", admin_token).text)["roles"][0]
    user = json.loads(req("POST", "/identity/v3/users", admin_token, json={"user": {
        "name": "otheruser", "password": "other-pass", "domain_id": "default"}}).text)["user"]
    assert req("PUT", f"/identity/v3/projects/{project['id']}/users/{user['id']}/roles/{role['id']}",
               admin_token).status_code == 204
    cloud.passwords["otheruser"] = "other-pass"
    return cloud.token("otheruser", "other"), project["id"]
