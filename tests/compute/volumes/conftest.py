"""Fixtures for the tests of servers' volumes (attachments, boot from volume): an ops runtime
with every service's handlers (``ops`` here replaces the compute conftest's, which runs the
server handlers only), Cinder clients, Nova's fault messages and what the local cloud's backend
holds."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from overcast.app import build_operations
from overcast.drivers.context import CallContext
from overcast.ops.engine import OpsSettings
from overcast.store.compute import Server
from overcast.store.volume import Volume
from tests.compute.conftest import Nova
from tests.volume.cinder_helpers import Cinder


@pytest.fixture
def ops(compute):  # noqa: ANN001, ANN201
    """Servers, server volumes and block storage handlers, as ``overcast serve`` runs them."""
    runtime = build_operations(compute.app.compute, OpsSettings(threads=2))
    runtime.start(reconcile=False)
    yield runtime
    runtime.stop()


@pytest.fixture
def cinder(compute, ops, demo_token) -> Cinder:  # noqa: ANN001
    return Cinder(compute, demo_token)


@pytest.fixture
def admin_cinder(compute, ops, admin_token) -> Cinder:  # noqa: ANN001
    return Cinder(compute, admin_token)


def fault(resp, status: int) -> str:  # noqa: ANN001
    """The message of Nova's fault body, after checking its status."""
    assert resp.status_code == status, resp.text
    [(_, body)] = resp.json.items()
    return body["message"]


def backend_devices(nova: Nova, server_id: str) -> dict[str, str]:
    """The local cloud's view of a server's volumes: Overcast volume id -> device."""
    core = nova.cloud.app.compute
    with core.store.session() as session:
        server = session.scalars(select(Server).where(Server.id == server_id)).one()
        cloud, backend_id = server.cloud, server.backend_id
        by_backend = {v.backend_id: v.id for v in session.scalars(select(Volume))}
    attached = core.compute_driver(cloud).volume_attachments(CallContext(), backend_id)
    return {by_backend.get(a.volume_id, a.volume_id): a.device for a in attached}
