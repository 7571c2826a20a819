"""Drill (issue 15, decision 0073): a build that runs its next step in another process.

In the 10,000-server benchmark (``overcast serve --workers 2``, the noop driver) about 40% of the
builds went to ERROR "No <id> on the backend of region RegionOne"; 1,000 servers on two processes
reproduced it at 502 of 1,000 at load 6. The cause: a build whose ports the network backend had
not wired yet is ACTIVE on the backend and polls again (as Nova waits for ``network-vif-plugged``);
its next step is claimed by whichever process is free, and the noop drivers kept their servers
in each process's memory, so the other process's driver did not know the server. Load only made
the port wiring lag behind the builds more often.

Here the two processes are two ComputeCores built from one settings (each with its own drivers,
as two processes have) and two engine workers driven by hand: process A runs the build while the
server's port is still unwired, process B wires the port and runs the build's next step. On the
old code B's step failed the server; the noop drivers now share their state through the data
directory, as every process of a real cloud sees the same backend.
"""

from __future__ import annotations

import dataclasses
import time

import pytest
from sqlalchemy import select

from overcast.core.compute import build_compute
from overcast.core.compute.operations import setup_for as compute_setup
from overcast.core.compute.servers import BUILD
from overcast.core.network.operations import setup_for as network_setup
from overcast.drivers.context import CallContext
from overcast.ops.engine import Worker
from overcast.ops.models import Operation
from overcast.ops.runtime import OpsRuntime
from overcast.store.compute import Flavor
from overcast.store.image import Image
from tests.conftest import backend_settings

IMAGE = "6f3c2b34-3c1d-4d5e-9f0a-0000000000aa"


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request: pytest.FixtureRequest, settings):  # noqa: ANN001, ANN201 - the root fixture, noop
    noop = dataclasses.replace(settings, clouds=tuple(dataclasses.replace(c, driver="noop", options={})
                                                      for c in settings.clouds))
    yield from backend_settings(request, noop, "overcast_noop2")


def _worker(compute, settings, *, network: bool) -> Worker:  # noqa: ANN001
    setups = [compute_setup(compute)] + ([network_setup(compute.network)] if network else [])
    runtime = OpsRuntime(compute.store, settings, setups=setups)
    return Worker(compute.store, runtime.registry, settings.ops, backends=compute.backends)


def _run_due(worker: Worker, until, timeout: float = 10.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not until():
        assert time.monotonic() < deadline, "the operations did not finish"
        if not worker.run_once():
            time.sleep(0.02)


def test_a_build_continued_by_another_process_finds_its_server(cloud, settings):  # noqa: ANN001
    store = cloud.app.compute.store
    with store.session() as session:
        flavor = session.scalars(select(Flavor.id).order_by(Flavor.ram)).first()
        session.add(Image(id=IMAGE, name="cirros", status="active", visibility="public", disk_format="qcow2",
                          container_format="bare", size=1024))
    token = cloud.token("demo", "demo")
    network = cloud.request("POST", "/network/v2.0/networks", token, json={"network": {"name": "n"}})
    assert network.status_code == 201, network.text
    subnet = cloud.request("POST", "/network/v2.0/subnets", token, json={"subnet": {
        "network_id": network.json["network"]["id"], "ip_version": 4, "cidr": "10.9.0.0/24"}})
    assert subnet.status_code == 201, subnet.text

    other = build_compute(settings, cloud.app.identity)  # the second process: its own drivers
    try:
        a = _worker(cloud.app.compute, settings, network=False)  # A: builds only (the port waits)
        b = _worker(other, settings, network=True)               # B: wires ports and builds
        _run_due(b, lambda: _pending(store) == 0)                # the network and subnet reach the backend
        created = cloud.request("POST", "/compute/v2.1/servers", token, json={"server": {
            "name": "vm", "flavorRef": flavor, "imageRef": IMAGE, "networks": [{"uuid": network.json["network"]["id"]}]}})
        assert created.status_code == 202, created.text
        server_id = created.json["server"]["id"]

        # A runs the build: the backend makes the server, its port is not wired yet, it polls again
        _run_due(a, lambda: _build_polls(store) >= 1)
        assert _status(cloud, token, server_id) == "BUILD"
        # B wires the port and runs the build's next step
        _run_due(b, lambda: _status(cloud, token, server_id) != "BUILD")
        server = _server(cloud, token, server_id)
        assert server["status"] == "ACTIVE", server.get("fault")
        # and B's backend knows what A's built (the reconciler of either process finds it)
        listed = {s.name for s in other.compute_driver("RegionOne").list(CallContext())}
        assert "vm" in listed
    finally:
        other.close()


def _pending(store) -> int:  # noqa: ANN001
    with store.session() as session:
        return len(session.scalars(select(Operation.id).where(Operation.state.in_(("pending", "running")))).all())


def _build_polls(store) -> int:  # noqa: ANN001
    with store.session() as session:
        return max([0, *session.scalars(select(Operation.polls).where(Operation.kind == BUILD))])


def _server(cloud, token: str, server_id: str) -> dict:  # noqa: ANN001
    resp = cloud.request("GET", f"/compute/v2.1/servers/{server_id}", token)
    assert resp.status_code == 200, resp.text
    return resp.json["server"]


def _status(cloud, token: str, server_id: str) -> str:  # noqa: ANN001
    return _server(cloud, token, server_id)["status"]
