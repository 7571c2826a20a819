"""The compute conformance kit against the ``libcloud`` driver with ``provider = "openstack"``:
libcloud's own OpenStack driver (its HTTP code, not openstacksdk) against a second ``overcast
serve`` as the provider (the passthrough's upstream, with its service account). No mock."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest

from overcast.drivers import load_driver
from overcast.drivers.compute import BuildRequest, Flavor, Image
from overcast.drivers.context import CallContext
from overcast.drivers.registry import DriverConfigError
from overcast.testing.conformance import ComputeDriverConformance
from overcast.testing.conformance_volume import VolumeDriverConformance
from overcast.testing.network_conformance import NetworkDriverConformance
from overcast.testing.passthrough import SERVICE_PROJECT, SERVICE_USER, Passthrough

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Passthrough]:
    with Passthrough(tmp_path_factory.mktemp("libcloud-openstack"), start_front=False) as rig:
        yield rig


def options(rig: Passthrough, **more: Any) -> dict[str, Any]:
    """The issue's ``[clouds.lab-via-libcloud]`` keys (the secret resolved, as the loader does)."""
    return {"provider": "openstack", "key": SERVICE_USER, "secret": rig.password,
            "auth_url": rig.upstream.auth_url + "/v3", "project": SERVICE_PROJECT, **more}


@pytest.fixture(scope="module")
def upstream_image(rig: Passthrough) -> Image:
    image = rig.active_image()
    return Image(id=image.id, name=image.name, backend_id=image.id)


class TestLibcloudOpenStack(ComputeDriverConformance):
    flavor = Flavor(id="1", name="m1.tiny", vcpus=1, ram_mb=512, disk_gb=1)
    other_flavor = Flavor(id="2", name="m1.small", vcpus=1, ram_mb=2048, disk_gb=20)
    #: page size 5 and 7 servers: the list takes two pages
    list_count = 7

    @pytest.fixture(autouse=True)
    def _upstream(self, upstream_image: Image, rig: Passthrough) -> None:
        self.image = upstream_image
        self.rig = rig

    @pytest.fixture
    def compute_driver(self, rig: Passthrough, tmp_path: Path) -> Iterator[Any]:
        bundle = load_driver("libcloud", options(rig, page_size=5), tmp_path)
        yield bundle.compute
        bundle.close()

    def attachable_volumes(self, driver, backend_id: str | None, count: int) -> list[str]:  # noqa: ANN001
        """Real upstream volumes (the provider's Nova refuses an id its Cinder does not know),
        made on the provider's side as its own user would."""
        conn = self.rig.service_conn()
        try:
            made = [conn.block_storage.create_volume(size=1, name=f"libcloud-{n}") for n in range(count)]
            return [conn.block_storage.wait_for_status(v, "available", wait=60).id for v in made]
        finally:
            conn.close()


def test_the_server_is_the_provider_s_own_tagged_and_found_by_one_filtered_list(
        rig: Passthrough, upstream_image: Image, tmp_path: Path) -> None:
    """A build is a server in the provider's own list, carrying the key (tag and metadata); a
    repeated build finds it (no second server); ``find`` is one ``GET /servers/detail`` filtered
    by the key's tag."""
    driver = load_driver("libcloud", options(rig), tmp_path).compute
    key = f"idem-{uuid.uuid4().hex}"
    request = BuildRequest(name="idem", flavor=TestLibcloudOpenStack.flavor, image=upstream_image,
                           idempotency_key=key, project_id="p")
    ctx = CallContext(project_id="p")
    first = driver.build(ctx, request)
    assert driver.build(ctx, request) == first
    conn = rig.service_conn()
    try:
        mine = [s for s in conn.compute.servers(details=True) if s.name == "idem"]
        assert [s.id for s in mine] == [first]
        assert mine[0].metadata.get("overcast:key") == key
    finally:
        conn.close()
    calls: list[tuple[str, Any]] = []
    connection = driver._pool.get().connection
    original = connection.request

    def counting(action: str, *args: Any, **kwargs: Any) -> Any:
        calls.append((action, kwargs.get("params")))
        return original(action, *args, **kwargs)

    connection.request = counting
    try:
        assert driver.find(ctx, key).backend_id == first
    finally:
        connection.request = original
    assert calls == [("/servers/detail", {"tags": f"overcast-key:{key}"})]
    driver.delete(ctx, first)


def test_bad_options_are_config_errors(tmp_path: Path) -> None:
    base = {"provider": "openstack", "key": "u", "secret": "s", "project": "p"}
    with pytest.raises(DriverConfigError, match="auth_url"):
        load_driver("libcloud", base, tmp_path)
    with pytest.raises(DriverConfigError, match="auth_url"):
        load_driver("libcloud", {**base, "auth_url": "keystone:5000"}, tmp_path)
    with pytest.raises(DriverConfigError, match="project"):
        load_driver("libcloud", {**base, "project": None, "auth_url": "http://127.0.0.1:9/v3"}, tmp_path)
    with pytest.raises(DriverConfigError, match="emulator"):
        load_driver("libcloud", {**base, "auth_url": "http://127.0.0.1:9/v3", "emulator": "moto"}, tmp_path)


def test_loading_calls_nothing_and_an_unreachable_provider_is_unavailable(tmp_path: Path) -> None:
    """The region loads with its three families without a call (the token is asked for at the
    first call); a provider that does not answer is ``Unavailable`` (the breaker's business)."""
    from overcast.drivers.errors import Unavailable
    from overcast.testing.live import free_port

    bundle = load_driver("libcloud", {"provider": "openstack", "key": "svc", "secret": "s3cret-value",
                                      "auth_url": f"http://127.0.0.1:{free_port()}/identity/v3", "project": "p",
                                      "timeout": 2}, tmp_path)
    assert bundle.compute is not None and bundle.volume is not None and bundle.network is not None
    with pytest.raises(Unavailable) as failed:
        bundle.compute.list(CallContext())
    assert "s3cret-value" not in str(failed.value)


def test_the_auth_url_is_taken_with_or_without_v3() -> None:
    from overcast.drivers.libcloud.providers import keystone_root

    assert keystone_root("http://k:5000/v3") == keystone_root("http://k:5000/v3/") == "http://k:5000"
    assert keystone_root("https://k/identity/v3") == "https://k/identity"
    assert keystone_root("https://k/identity") == "https://k/identity"


class TestLibcloudOpenStackVolume(VolumeDriverConformance):
    @pytest.fixture
    def volume_driver(self, rig: Passthrough, tmp_path: Path) -> Iterator[Any]:
        bundle = load_driver("libcloud", options(rig, page_size=5), tmp_path)
        yield bundle.volume
        bundle.close()


def test_a_volume_is_the_provider_s_own_and_a_repeated_create_makes_no_second(rig: Passthrough,
                                                                               tmp_path: Path) -> None:
    from overcast.drivers.volume import VolumeRequest

    driver = load_driver("libcloud", options(rig), tmp_path).volume
    key = f"vol-{uuid.uuid4().hex}"
    request = VolumeRequest(name="lc-vol", size_gb=1, idempotency_key=key)
    ctx = CallContext(project_id="p")
    made = driver.create(ctx, request)
    assert driver.create(ctx, request) == made
    conn = rig.service_conn()
    try:
        theirs = [v for v in conn.block_storage.volumes(details=True) if v.name == "lc-vol"]
        assert [v.id for v in theirs] == [made] and theirs[0].metadata["overcast_key"] == key
    finally:
        conn.close()
    driver.delete(ctx, made)


class TestLibcloudOpenStackNetwork(NetworkDriverConformance):
    many = 30

    @pytest.fixture
    def network_driver(self, rig: Passthrough, tmp_path: Path) -> Iterator[Any]:
        bundle = load_driver("libcloud", options(rig, page_size=5), tmp_path)
        yield bundle.network
        bundle.close()


def test_images_are_the_provider_s_active_ones_filtered_by_the_config(rig: Passthrough, upstream_image: Image,
                                                                      tmp_path: Path) -> None:
    """``images.name`` (a glob) and ``images.owners`` (project ids) choose which of the provider's
    images the region shows; each keeps its Glance formats."""
    conn = rig.service_conn()
    try:
        theirs = conn.image.get_image(upstream_image.backend_id)
    finally:
        conn.close()
    ctx = CallContext()

    def shown(**images: Any) -> dict[str, Image]:
        driver = load_driver("libcloud", options(rig, images=images), tmp_path).compute
        return {i.backend_id: i for i in driver.images(ctx)}

    everything = shown()
    assert theirs.id in everything
    assert (everything[theirs.id].disk_format, everything[theirs.id].container_format) == (
        theirs.disk_format, theirs.container_format)
    assert theirs.id in shown(name=f"{theirs.name[:3]}*")
    assert theirs.id not in shown(name="no-such-image-*")
    assert theirs.id not in shown(owners=["no-such-project"])
    if theirs.owner_id:
        assert theirs.id in shown(owners=[theirs.owner_id])
