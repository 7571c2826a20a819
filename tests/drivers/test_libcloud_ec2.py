"""The compute conformance kit against the libcloud driver on EC2, as moto_server emulates it."""

from __future__ import annotations

import uuid
from typing import Iterator

import pytest

from overcast.drivers.compute import Flavor, Image
from overcast.drivers.registry import DriverConfigError, load_driver
from overcast.testing.conformance import ComputeDriverConformance
from overcast.testing.conformance_volume import VolumeDriverConformance
from overcast.testing.emulators import MotoServer

KEY = "AKIAOVERCASTCONFORM1"
SECRET = "conformance-secret-" + "x" * 20


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    with MotoServer() as server:
        yield server


@pytest.fixture(scope="module")
def moto_ami(moto: MotoServer) -> str:
    images = moto.ec2().describe_images(Owners=["amazon"])["Images"]
    return next(i["ImageId"] for i in images if i.get("Platform") != "windows")


def ec2_options(moto: MotoServer, **more: object) -> dict[str, object]:
    return {"provider": "ec2", "key": KEY, "secret": SECRET, "region": "us-east-1", "endpoint": moto.endpoint,
            "emulator": "moto", "sizes": ["t2.*", "t3.micro"], "images": {"owners": ["amazon"]}, **more}


class TestLibcloudEc2OnMoto(ComputeDriverConformance):
    flavor = Flavor(id="t2.micro", name="t2.micro", vcpus=1, ram_mb=1024, disk_gb=0)
    other_flavor = Flavor(id="t2.small", name="t2.small", vcpus=1, ram_mb=2048, disk_gb=0)
    #: EC2's smallest page is 5: list more than one page
    list_count = 7
    build_timeout = 30.0

    @pytest.fixture
    def compute_driver(self, moto: MotoServer, moto_ami: str, tmp_path):  # noqa: ANN001, ANN201
        self.image = Image(id="conformance-image", name="conformance", backend_id=moto_ami)
        bundle = load_driver("libcloud", ec2_options(moto, page_size=5), tmp_path)
        self.volumes = bundle.volume
        yield bundle.compute
        bundle.close()

    def attachable_volumes(self, driver, backend_id: str, count: int) -> list[str]:  # noqa: ANN001
        """EC2 attaches only EBS volumes it holds, in the instance's zone: make them."""
        from overcast.drivers.context import CallContext
        from overcast.drivers.volume import VolumeRequest

        zone = driver.get(backend_id).availability_zone
        return [self.volumes.create(CallContext(), VolumeRequest(name=f"attach-{n}", size_gb=1,
                                                                  idempotency_key=uuid.uuid4().hex,
                                                                  availability_zone=zone))
                for n in range(count)]


def test_every_page_of_a_list(moto: MotoServer, moto_ami: str, tmp_path) -> None:  # noqa: ANN001
    """With the smallest EC2 page (5), a list of 12 instances takes three pages and has them all."""
    from overcast.drivers.compute import BuildRequest
    from overcast.drivers.context import CallContext

    driver = load_driver("libcloud", ec2_options(moto, page_size=5), tmp_path).compute
    ctx = CallContext(project_id="p")
    flavor = TestLibcloudEc2OnMoto.flavor
    made = {driver.build(ctx, BuildRequest(name=f"page-{n}", flavor=flavor,
                                           image=Image(id="i", name="i", backend_id=moto_ami),
                                           idempotency_key=f"page-{uuid.uuid4().hex}")) for n in range(12)}
    calls = []
    connection = driver._pool.get().connection
    original = connection.request

    def counting(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls.append(kwargs.get("params", {}).get("Action"))
        return original(*args, **kwargs)

    connection.request = counting
    listed = {s.backend_id for s in driver.list(ctx)}
    connection.request = original
    assert made <= listed
    assert calls.count("DescribeInstances") >= 3
    for backend_id in made:
        driver.delete(ctx, backend_id)


def test_idempotent_build_leaves_one_instance_in_moto(moto: MotoServer, moto_ami: str, tmp_path) -> None:  # noqa: ANN001
    from overcast.drivers.compute import BuildRequest
    from overcast.drivers.context import CallContext

    driver = load_driver("libcloud", ec2_options(moto), tmp_path).compute
    key = f"idem-{uuid.uuid4().hex}"
    request = BuildRequest(name="idem", flavor=TestLibcloudEc2OnMoto.flavor,
                           image=Image(id="i", name="i", backend_id=moto_ami), idempotency_key=key)
    first = driver.build(CallContext(), request)
    assert driver.build(CallContext(), request) == first
    seen = moto.ec2().describe_instances(Filters=[{"Name": "tag:overcast:key", "Values": [key]}])
    assert [i["InstanceId"] for r in seen["Reservations"] for i in r["Instances"]] == [first]
    driver.delete(CallContext(), first)


def test_bad_options_are_config_errors(tmp_path) -> None:  # noqa: ANN001
    with pytest.raises(DriverConfigError, match="provider"):
        load_driver("libcloud", {"key": "k", "secret": "s"}, tmp_path)
    with pytest.raises(DriverConfigError, match="does not take"):
        load_driver("libcloud", {"provider": "ec2", "key": "k", "secret": "s", "access_key": "x"}, tmp_path)
    with pytest.raises(DriverConfigError, match="Invalid region"):
        load_driver("libcloud", {"provider": "ec2", "key": "k", "secret": "s", "region": "mars-1"}, tmp_path)


class TestLibcloudEbsOnMoto(VolumeDriverConformance):
    @pytest.fixture
    def volume_driver(self, moto: MotoServer, tmp_path):  # noqa: ANN001, ANN201
        bundle = load_driver("libcloud", ec2_options(moto, page_size=5), tmp_path)
        yield bundle.volume
        bundle.close()


def test_volumes_are_ebs_volumes_in_moto(moto: MotoServer, tmp_path) -> None:  # noqa: ANN001
    """A volume made through the driver is one EBS volume, tagged, and a retried create is the same one."""
    from overcast.drivers.context import CallContext
    from overcast.drivers.volume import VolumeRequest

    driver = load_driver("libcloud", ec2_options(moto), tmp_path).volume
    key = f"vol-{uuid.uuid4().hex}"
    request = VolumeRequest(name="data", size_gb=3, idempotency_key=key)
    first = driver.create(CallContext(project_id="p1"), request)
    assert driver.create(CallContext(project_id="p1"), request) == first
    seen = moto.ec2().describe_volumes(Filters=[{"Name": "tag:overcast:key", "Values": [key]}])["Volumes"]
    assert [(v["VolumeId"], v["Size"]) for v in seen] == [(first, 3)]
    assert {"Key": "overcast:project", "Value": "p1"} in seen[0]["Tags"]
    driver.delete(CallContext(), first)


def test_debug_log_is_redacted(moto: MotoServer, tmp_path) -> None:  # noqa: ANN001
    """libcloud's own debug log (enable_debug) gets every request, and neither the key nor the
    secret nor a signature reaches the file."""
    import io

    import libcloud
    from libcloud.utils.loggingconnection import LoggingConnection

    from overcast.drivers.context import CallContext

    sink = io.StringIO()
    libcloud.enable_debug(sink)
    try:
        driver = load_driver("libcloud", ec2_options(moto), tmp_path).compute
        driver.zones(CallContext())
        driver.list(CallContext())
    finally:
        libcloud.reset_debug()
    text = sink.getvalue()
    assert "DescribeAvailabilityZones" in text and "DescribeInstances" in text
    assert KEY not in text and SECRET not in text
    assert "Signature=" not in text.replace("Signature=***", "")
    assert LoggingConnection.log is None
