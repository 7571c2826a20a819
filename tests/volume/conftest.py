"""Volume fixtures: an ops runtime running the block storage handlers and Cinder clients for the
demo and admin users (see ``cinder_helpers``)."""

from __future__ import annotations

import pytest
from cinder_helpers import Cinder

from overcast.core.volume.operations import setup_for
from overcast.ops.runtime import OpsRuntime


@pytest.fixture
def ops(cloud, settings):
    runtime = OpsRuntime(cloud.app.volume.store, settings, threads=2, setups=[setup_for(cloud.app.volume)])
    runtime.start(reconcile=False)
    yield runtime
    runtime.stop()


@pytest.fixture
def cinder(cloud, ops, demo_token) -> Cinder:
    return Cinder(cloud, demo_token)


@pytest.fixture
def admin_cinder(cloud, ops, admin_token) -> Cinder:
    return Cinder(cloud, admin_token)
