"""Compute fixtures: the `cloud` with flavors and an image seeded, an ops runtime building servers,
and a Tempest schema checker."""

from __future__ import annotations

import time
import uuid

import pytest
from schemas import Api, seeded  # noqa: F401
from sqlalchemy import select

from overcast.ops.runtime import OpsRuntime
from overcast.store.compute import Flavor
from overcast.store.image import Image
from overcast.store.models import Project

IMAGE_ID = "6f3c2b34-3c1d-4d5e-9f0a-000000000001"
OTHER_IMAGE_ID = "6f3c2b34-3c1d-4d5e-9f0a-000000000002"
@pytest.fixture
def compute(cloud):
    """The cloud with m1.tiny (1), m1.small (2), m1.medium (3) and two active public images."""
    store = cloud.app.compute.store
    with store.session() as session:
        for fid, name, vcpus, ram, disk in (("1", "m1.tiny", 1, 512, 1), ("2", "m1.small", 1, 2048, 20),
                                            ("3", "m1.medium", 2, 4096, 40)):
            if session.get(Flavor, fid) is None:
                session.add(Flavor(id=fid, name=name, vcpus=vcpus, ram=ram, disk=disk))
        for iid, name in ((IMAGE_ID, "cirros"), (OTHER_IMAGE_ID, "cirros-2")):
            if session.get(Image, iid) is None:
                session.add(Image(id=iid, name=name, status="active", visibility="public", disk_format="qcow2",
                                  container_format="bare", size=1024))
    return cloud


@pytest.fixture
def ops(compute, settings):
    from overcast.core.compute.operations import setup_for
    from overcast.core.network.operations import setup_for as network_setup_for

    runtime = OpsRuntime(compute.app.compute.store, settings, threads=2,
                         setups=[setup_for(compute.app.compute), network_setup_for(compute.app.network)])
    runtime.start(reconcile=False)
    yield runtime
    runtime.stop()


class Nova:
    """Small client for the tests: versioned requests, create-and-wait."""

    def __init__(self, cloud, token: str):  # noqa: ANN001
        self.cloud, self.token = cloud, token

    def req(self, method: str, path: str, version: str | None = None, token: str | None = None, **kw):  # noqa: ANN201
        headers = dict(kw.pop("headers", {}) or {})
        if version:
            headers["OpenStack-API-Version"] = f"compute {version}"
        return self.cloud.request(method, "/compute/v2.1" + path, token or self.token, headers=headers, **kw)

    def create(self, name: str = "vm", version: str | None = None, wait: str | None = "ACTIVE", **server):  # noqa: ANN201
        body = {"name": name, "flavorRef": "1", "imageRef": IMAGE_ID, **server}
        if version and tuple(map(int, version.split("."))) >= (2, 37) and "networks" not in body:
            body["networks"] = "auto"
        resp = self.req("POST", "/servers", version, json={"server": body})
        assert resp.status_code == 202, resp.text
        sid = resp.json["server"]["id"]
        if wait:
            self.wait(sid, wait)
        return resp

    def wait(self, server_id: str, status: str, timeout: float = 15.0) -> dict:
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            resp = self.req("GET", f"/servers/{server_id}")
            if status == "GONE" and resp.status_code == 404:
                return {}
            last = resp.json.get("server", {})
            if last.get("status") == status and last.get("OS-EXT-STS:task_state") is None:
                return last
            time.sleep(0.02)
        raise AssertionError(f"server {server_id} never reached {status}: {last}")

    def action(self, server_id: str, body: dict, version: str | None = None, token: str | None = None):  # noqa: ANN201
        return self.req("POST", f"/servers/{server_id}/action", version, token=token, json=body)


@pytest.fixture
def nova(compute, ops, demo_token) -> Nova:
    return Nova(compute, demo_token)


@pytest.fixture
def admin_nova(compute, ops, admin_token) -> Nova:
    return Nova(compute, admin_token)


# -- `Api` clients on the `seeded` cloud; a test module may define its own to override them --------


@pytest.fixture
def admin(seeded, admin_token):  # noqa: ANN001, ANN201
    return Api(seeded, admin_token)


@pytest.fixture
def demo(seeded, demo_token):  # noqa: ANN001, ANN201
    return Api(seeded, demo_token)


@pytest.fixture
def demo_project(seeded):  # noqa: ANN001, ANN201
    """The demo project's id."""
    with seeded.app.compute.store.session() as session:
        return session.scalar(select(Project.id).where(Project.name == "demo"))


# -- Tempest's response schemas, picked per microversion as tempest's servers_client does -----------


def tempest_schema(version: str | None):  # noqa: ANN201
    from tempest.lib.common import api_version_request as avr
    from tempest.lib.services.compute.servers_client import ServersClient

    wanted = avr.APIVersionRequest(version or "2.1")
    for info in ServersClient.schema_versions_info:
        if avr.APIVersionRequest(info["min"]) <= wanted and (
                info["max"] is None or wanted <= avr.APIVersionRequest(info["max"])):
            return info["schema"]
    raise LookupError(version)


class _Resp(dict):
    def __init__(self, status: int, headers: dict):
        super().__init__({k.lower(): v for k, v in headers.items()})
        self.status = status


def check(resp, name: str, version: str | None = None, module=None) -> None:  # noqa: ANN001
    """Validate a response against tempest's schema ``name`` for ``version``."""
    from tempest.lib.common.rest_client import RestClient

    schema = getattr(module or tempest_schema(version), name)
    body = resp.json if resp.text else ""
    RestClient.validate_response(schema, _Resp(resp.status_code, dict(resp.headers)), body)


def new_uuid() -> str:
    return str(uuid.uuid4())
