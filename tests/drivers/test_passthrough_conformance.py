"""The compute, volume and network conformance kits against the ``openstack`` driver, pointed at
a second ``overcast serve`` (the local driver) as the upstream, with a service account made there.
The upstream is a real process answering real HTTP: no mock of OpenStack written for this test."""

from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest

from overcast.drivers import load_driver
from overcast.drivers.compute import Flavor, Image
from overcast.testing.conformance import ComputeDriverConformance
from overcast.testing.conformance_volume import VolumeDriverConformance
from overcast.testing.network_conformance import NetworkDriverConformance
from overcast.testing.passthrough import Passthrough

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Passthrough]:
    with Passthrough(tmp_path_factory.mktemp("passthrough-conformance"), start_front=False) as rig:
        yield rig


@pytest.fixture(scope="module")
def upstream_image(rig: Passthrough) -> Image:
    conn = rig.service_conn()
    try:
        image = next(i for i in conn.image.images() if i.status == "active")
    finally:
        conn.close()
    return Image(id=image.id, name=image.name, backend_id=image.id)


def _bundle(rig: Passthrough, tmp_path: Path) -> Any:
    return load_driver("openstack", rig.service_options, tmp_path)


class TestPassthroughCompute(ComputeDriverConformance):
    flavor = Flavor(id="1", name="m1.tiny", vcpus=1, ram_mb=512, disk_gb=1)
    other_flavor = Flavor(id="2", name="m1.small", vcpus=1, ram_mb=2048, disk_gb=20)

    @pytest.fixture(autouse=True)
    def _upstream(self, upstream_image: Image, rig: Passthrough) -> None:
        self.image = upstream_image
        self.rig = rig

    def attachable_volumes(self, driver, backend_id: str | None, count: int) -> list[str]:  # noqa: ANN001
        """Real upstream volumes (an upstream Nova refuses to attach an id Cinder does not know)."""
        conn = self.rig.service_conn()
        try:
            made = [conn.block_storage.create_volume(size=1, name=f"conformance-{n}") for n in range(count)]
            ready = [conn.block_storage.wait_for_status(v, "available", wait=60) for v in made]
            conn.block_storage.set_volume_bootable_status(ready[0], True)  # the first may be a root disk
            return [v.id for v in ready]
        finally:
            conn.close()

    def sample_arguments(self, method: str) -> dict[str, Any]:
        """The port ``attach_port`` plugs is a real upstream port (an upstream Nova refuses a port
        id its Neutron does not know), described as the network driver describes the port it made
        for an Overcast port (decision 0069: the compute driver finds it by that description)."""
        args = super().sample_arguments(method)
        if method == "attach_port":
            from overcast.drivers.openstack.network import description

            conn = self.rig.service_conn()
            try:
                net = conn.network.create_network(name="conformance-plug")
                conn.network.create_subnet(network_id=net.id, cidr="10.99.0.0/24", ip_version=4)
                overcast_id = f"conformance-port-{uuid.uuid4().hex[:8]}"
                port = conn.network.create_port(network_id=net.id, description=description(overcast_id, ""))
            finally:
                conn.close()
            args["port"] = dataclasses.replace(args["port"], port_id=overcast_id, network_id=net.id,
                                               mac_address=port.mac_address, backend_id=port.id)
        return args

    def test_remote_console(self, driver: Any) -> None:  # type: ignore[override]
        """This upstream (Overcast's local driver) offers no console: every type is the upstream's
        "Unavailable console type" as ``NotSupported``; a missing server is ``NotFound``. (The kit's
        own case, which wants one type offered, needs an upstream with a console proxy.)"""
        from overcast.drivers.errors import NotFound, NotSupported

        backend_id = self.active_server(driver)
        for console_type in ("novnc", "xvpvnc", "spice-html5", "rdp-html5", "serial", "webmks"):
            with pytest.raises(NotSupported):
                driver.remote_console(backend_id, console_type)
        with pytest.raises(NotFound):
            driver.remote_console("00000000-0000-0000-0000-000000000000", "novnc")

    @pytest.fixture
    def compute_driver(self, rig: Passthrough, tmp_path: Path) -> Iterator[Any]:
        bundle = _bundle(rig, tmp_path)
        bundle.compute.flavors(None)  # the inventory's first refresh (flavor names -> ids)
        yield bundle.compute
        bundle.close()


def test_a_first_attempt_build_makes_no_lookup(rig: Passthrough, upstream_image: Image, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Decision 0047: a build no earlier run can have reached skips the find by tag (one upstream
    list call); any other build looks first and finds what the first one made."""
    from overcast.drivers.compute import BuildRequest
    from overcast.drivers.context import CallContext

    bundle = _bundle(rig, tmp_path)
    try:
        driver = bundle.compute
        driver.flavors(None)
        lookups: list[str] = []
        find = driver.find
        monkeypatch.setattr(driver, "find", lambda ctx, key: lookups.append(key) or find(ctx, key))
        request = BuildRequest(name="first-attempt", flavor=TestPassthroughCompute.flavor, image=upstream_image,
                               idempotency_key="first-attempt-key", project_id="p", first_attempt=True)
        ctx = CallContext(project_id="p", idempotency_key=request.idempotency_key)
        made = driver.build(ctx, request)
        assert lookups == []
        request = dataclasses.replace(request, first_attempt=False)
        assert driver.build(ctx, request) == made and lookups == ["first-attempt-key"]
        driver.delete(ctx, made)
    finally:
        bundle.close()


def test_a_few_polled_servers_are_asked_one_by_one(rig: Passthrough, upstream_image: Image, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Decision 0076: ``get_many`` of up to ``FEW`` servers asks each (``GET /servers/{id}``), not a
    list of every overcast-tagged server upstream (whose cost grows with the region); more are
    one list. An id the upstream does not know is left out either way."""
    from overcast.drivers.compute import BuildRequest
    from overcast.drivers.context import CallContext
    from overcast.drivers.openstack.compute import FEW

    bundle = _bundle(rig, tmp_path)
    try:
        driver = bundle.compute
        driver.flavors(None)
        ctx = CallContext(project_id="p")
        made = [driver.build(ctx, BuildRequest(name=f"few-{n}", flavor=TestPassthroughCompute.flavor,
                                               image=upstream_image, idempotency_key=f"few-key-{n}", project_id="p",
                                               first_attempt=True)) for n in range(FEW + 1)]
        listed: list[int] = []
        tagged = driver._tagged
        monkeypatch.setattr(driver, "_tagged", lambda **kw: listed.append(1) or tagged(**kw))
        unknown = "00000000-0000-4000-8000-000000000000"
        few = driver.get_many(ctx, [*made[:FEW - 1], unknown])
        assert set(few) == set(made[:FEW - 1]) and listed == []
        assert set(driver.get_many(ctx, made)) == set(made) and listed == [1]
        for backend_id in made:
            driver.delete(ctx, backend_id)
    finally:
        bundle.close()


def test_shelve_passes_through_and_the_upstream_s_own_snapshot_is_no_region_image(
        rig: Passthrough, upstream_image: Image, tmp_path: Path) -> None:
    """Decision 0056: shelve is the upstream's own (the same upstream server goes SHELVED_OFFLOADED and
    comes back under the same id: not deleted and booted anew), and the ``<name>-shelved`` snapshot
    the upstream's Nova keeps meanwhile is not offered by ``images()`` as one of the region's images."""
    from overcast.drivers.compute import BuildRequest, ServerState
    from overcast.drivers.context import CallContext
    from overcast.testing.live import wait_for

    bundle = _bundle(rig, tmp_path)
    conn = rig.service_conn()
    try:
        driver = bundle.compute
        driver.flavors(None)
        ctx = CallContext(project_id="p", idempotency_key="shelve-0056")
        made = driver.build(ctx, BuildRequest(name="shelve-0056", flavor=TestPassthroughCompute.flavor,
                                              image=upstream_image, idempotency_key="shelve-0056", project_id="p"))

        def state(*states: ServerState) -> bool:
            return driver.get(ctx, made).state in states

        wait_for(lambda: state(ServerState.ACTIVE), 60, description="built")
        driver.shelve(ctx, made)
        wait_for(lambda: state(ServerState.SHELVED), 60, description="shelved")
        assert conn.compute.get_server(made).status == "SHELVED_OFFLOADED"
        own = [i for i in conn.image.images() if i.instance_uuid == made and i.status == "active"]
        assert own, "the upstream's Nova keeps no snapshot of the shelved server"
        assert not {i.id for i in own} & {i.backend_id for i in driver.images(ctx)}
        driver.unshelve(ctx, made)
        wait_for(lambda: state(ServerState.ACTIVE), 60, description="unshelved")
        assert conn.compute.get_server(made).status == "ACTIVE"
        driver.delete(ctx, made)
    finally:
        conn.close()
        bundle.close()


class TestPassthroughVolume(VolumeDriverConformance):
    @pytest.fixture
    def volume_driver(self, rig: Passthrough, tmp_path: Path) -> Iterator[Any]:
        bundle = _bundle(rig, tmp_path)
        yield bundle.volume
        bundle.close()


class TestPassthroughNetwork(NetworkDriverConformance):
    many = 30

    @pytest.fixture
    def network_driver(self, rig: Passthrough, tmp_path: Path) -> Iterator[Any]:
        bundle = _bundle(rig, tmp_path)
        yield bundle.network
        bundle.close()
