"""CDN fixtures: an Overcast whose CDN has mock providers, an operations runtime running the CDN
handlers in process (the real engine, as in production), and Poppy clients for demo, alt_demo and
admin. One Overcast per test module (bootstrapping one costs seconds): tests use unique names and
domains (``unique``), and :func:`fresh_project` when they need a project of their own."""

from __future__ import annotations

import itertools
import os
import uuid

import falcon.testing
import pytest
from cdn_helpers import Poppy

from overcast.app import create_app
from overcast.bootstrap import prepare
from overcast.config import load_settings
from overcast.core.cdn.operations import setup_for
from overcast.core.compute import build_compute
from overcast.core.identity import build_identity
from overcast.core.image import ImageCore
from overcast.ops.engine import OpsSettings
from overcast.ops.runtime import OpsRuntime
from tests.conftest import Cloud

MOCK_PROVIDERS = {
    "mock": {"driver": "mock"},
    "second": {"driver": "mock", "hostname": "second.cdn.overcast.test"},
    "slow": {"driver": "mock", "deploy_seconds": 0.3, "delete_seconds": 0.3, "purge_seconds": 0.2},
    "basic": {"driver": "mock", "capabilities": ["purge_url"]},
}
MOCK_FLAVORS = {
    "mock": {"providers": ["mock"]},
    "multi": {"providers": ["mock", "second"]},
    "slow": {"providers": ["slow"]},
    "basic": {"providers": ["basic"]},
}


def cdn_settings(data_dir, **cdn):
    for name in list(os.environ):
        if name.startswith("OVERCAST_"):
            del os.environ[name]
    return load_settings(data_dir=data_dir, identity={"bcrypt_rounds": 4},
                         cdn={"providers": MOCK_PROVIDERS, "flavors": MOCK_FLAVORS, **cdn})


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    yield from running_cloud(cdn_settings(tmp_path_factory.mktemp("cdn") / "data"))


def running_cloud(settings):
    """An in-process Overcast for ``settings`` with the CDN's operations running (a generator)."""
    identity = build_identity(settings)
    compute = build_compute(settings, identity)
    images = ImageCore(settings=settings, store=identity.store)
    accounts = prepare(identity, compute, images)
    app = create_app(settings, identity, compute, images)
    runtime = OpsRuntime(app.cdn.store, settings, OpsSettings(backoff_base=0.05, backoff_max=0.2), threads=2,
                         setups=[setup_for(app.cdn, poll_seconds=0.05)])
    runtime.start(reconcile=False)
    cloud = Cloud(client=falcon.testing.TestClient(app), app=app,
                  passwords={a.username: a.password for a in accounts})
    cloud.runtime = runtime
    cloud.tokens = {}
    # the shared demo projects collect every test's services: lift their limit (tests of the
    # default limit use a fresh project)
    from overcast.core.cdn.admin import set_limit
    from overcast.store.models import Project
    with app.cdn.store.session() as session:
        for project in session.query(Project).filter(Project.name.in_(["demo", "alt_demo", "admin"])):
            set_limit(session, project.id, 100000)
    yield cloud
    runtime.stop()
    app.cdn.close()
    compute.close()
    identity.store.dispose()


def _token(cloud, user: str, project: str) -> str:
    key = (user, project)
    if key not in cloud.tokens:
        cloud.tokens[key] = cloud.token(user, project)
    return cloud.tokens[key]


@pytest.fixture
def poppy(cloud) -> Poppy:
    return Poppy(cloud, _token(cloud, "demo", "demo"))


@pytest.fixture
def alt_poppy(cloud) -> Poppy:
    return Poppy(cloud, _token(cloud, "alt_demo", "alt_demo"))


@pytest.fixture
def admin_poppy(cloud) -> Poppy:
    return Poppy(cloud, _token(cloud, "admin", "admin"))


@pytest.fixture
def mock_driver(cloud):
    return cloud.app.cdn.driver("mock")


_counter = itertools.count(1)


@pytest.fixture
def unique():
    """unique("name") -> "name-<n>-<random>"; unique.domain() -> "www.s<n><random>.example.org"."""
    class Unique:
        def __call__(self, prefix: str = "svc") -> str:
            return f"{prefix}-{next(_counter)}-{uuid.uuid4().hex[:6]}"

        def domain(self, label: str = "www") -> str:
            return f"{label}.s{next(_counter)}{uuid.uuid4().hex[:6]}.example.org"

    return Unique()


@pytest.fixture
def fresh_project(cloud, admin_poppy):
    """fresh_project() -> a Poppy client for the member of a new project (empty lists, its own limit)."""
    admin = _token(cloud, "admin", "admin")

    def make() -> Poppy:
        name = f"cdn-{uuid.uuid4().hex[:10]}"
        ident = "/identity/v3"
        resp = cloud.request("POST", f"{ident}/projects", admin, json={"project": {"name": name,
                                                                                  "domain_id": "default"}})
        assert resp.status_code == 201, resp.text
        project_id = resp.json["project"]["id"]
        password = uuid.uuid4().hex
        resp = cloud.request("POST", f"{ident}/users", admin, json={"user": {
            "name": name, "password": password, "domain_id": "default", "default_project_id": project_id}})
        assert resp.status_code == 201, resp.text
        user_id = resp.json["user"]["id"]
        roles = cloud.request("GET", f"{ident}/roles?name=member", admin).json["roles"]
        resp = cloud.request("PUT", f"{ident}/projects/{project_id}/users/{user_id}/roles/{roles[0]['id']}", admin)
        assert resp.status_code == 204, resp.text
        cloud.passwords[name] = password
        client = Poppy(cloud, cloud.token(name, name))
        client.project_id = project_id
        return client

    return make
