"""CDN fixtures: an Overcast whose CDN has mock providers, an operations runtime running the CDN
handlers in process (the real engine, as in production), and Poppy clients for demo, alt_demo and admin."""

from __future__ import annotations

import os

import pytest
from cdn_helpers import Poppy

from overcast.config import load_settings
from overcast.core.cdn.operations import setup_for
from overcast.ops.engine import OpsSettings
from overcast.ops.runtime import OpsRuntime

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


@pytest.fixture
def settings(tmp_path, monkeypatch):
    for name in list(os.environ):
        if name.startswith("OVERCAST_"):
            monkeypatch.delenv(name)
    return load_settings(data_dir=tmp_path / "data", identity={"bcrypt_rounds": 4},
                         cdn={"providers": MOCK_PROVIDERS, "flavors": MOCK_FLAVORS, "service_limit": 20})


@pytest.fixture
def ops(cloud, settings):
    runtime = OpsRuntime(cloud.app.cdn.store, settings, OpsSettings(backoff_base=0.05, backoff_max=0.2), threads=2,
                         setups=[setup_for(cloud.app.cdn, poll_seconds=0.05)])
    runtime.start(reconcile=False)
    yield runtime
    runtime.stop()
    cloud.app.cdn.close()


@pytest.fixture
def poppy(cloud, ops, demo_token) -> Poppy:
    return Poppy(cloud, demo_token)


@pytest.fixture
def alt_poppy(cloud, ops) -> Poppy:
    return Poppy(cloud, cloud.token("alt_demo", "alt_demo"))


@pytest.fixture
def admin_poppy(cloud, ops, admin_token) -> Poppy:
    return Poppy(cloud, admin_token)


@pytest.fixture
def mock_driver(cloud):
    return cloud.app.cdn.driver("mock")
