"""Fault drills for a libcloud region (issue 11): moto stopped mid-run, an instance terminated
behind Overcast's back. Driven with the unmodified ``openstack`` CLI; moto is checked with boto3."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from overcast.testing.emulators import MotoServer
from overcast.testing.live import LiveServer, OpenStackCLI, wait_for

pytestmark = pytest.mark.live

AMI_NAME = "amzn2-ami-hvm-2.0.20180810-x86_64-gp2"
WAIT = 90.0


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    server = MotoServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def region(moto: MotoServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("libcloud-faults")
    config = root / "overcast.toml"
    config.write_text(f"""
[ops]
reconcile_interval = 1

[clouds.RegionOne]
driver = "local"

[clouds.aws]
driver = "libcloud"
provider = "ec2"
key = "AKIAFAULTDRILL"
secret = "fault-drill-secret"
region = "us-east-1"
endpoint = "{moto.endpoint}"
emulator = "moto"
sizes = ["t2.*"]
images = {{ owners = ["amazon"], name = "{AMI_NAME}" }}

[clouds.aws.ops]
breaker_threshold = 2
breaker_reset_seconds = 15
attempts = 2
""")
    server = LiveServer(root / "data", config=config)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def cli(region: LiveServer) -> OpenStackCLI:
    admin = OpenStackCLI(region.clouds_yaml, "overcast-admin")
    admin("flavor", "create", "--id", "t2.micro", "--vcpus", "1", "--ram", "1024", "--disk", "0", "t2.micro")
    demo = OpenStackCLI(region.clouds_yaml, "overcast")
    wait_for(lambda: [i for i in demo("--os-region-name", "aws", "image", "list") if i["Name"] == AMI_NAME],
             WAIT, description="the AMI in region aws")
    return demo


def create(cli: OpenStackCLI, name: str, *more: str):  # noqa: ANN201
    return cli.run("--os-region-name", "aws", "server", "create", "--flavor", "t2.micro", "--image", AMI_NAME,
                   "--nic", "none", *more, name, check=False)


def status(cli: OpenStackCLI, name: str) -> str:
    shown = cli.run("--os-region-name", "aws", "server", "show", "-f", "value", "-c", "status", name, check=False)
    return shown.stdout.strip() if shown.returncode == 0 else "GONE"


def test_moto_down_fails_fast_other_regions_keep_working_and_it_heals(moto: MotoServer, cli: OpenStackCLI) -> None:
    before = f"up-{uuid.uuid4().hex[:6]}"
    assert create(cli, before, "--wait").returncode == 0
    moto.stop()
    try:
        attempts: list[str] = []

        def refused() -> bool:
            name = f"down-{uuid.uuid4().hex[:6]}"
            attempts.append(name)
            answer = create(cli, name)
            if answer.returncode == 0:
                return False
            assert "503" in answer.stderr or "unavailable" in answer.stderr.lower(), answer.stderr
            return True

        wait_for(refused, WAIT, interval=0.5, description="a create in aws answered 503 (breaker open)")
        # reads of aws (from records) and everything in the other region keep working
        assert before in {s["Name"] for s in cli("--os-region-name", "aws", "server", "list")}
        assert cli("--os-region-name", "aws", "flavor", "list")
        other = f"other-{uuid.uuid4().hex[:6]}"
        made = cli("--os-region-name", "RegionOne", "server", "create", "--flavor", "m1.tiny", "--image", "cirros",
                   "--nic", "none", "--wait", other)
        assert made["status"] == "ACTIVE"
        cli.run("--os-region-name", "RegionOne", "server", "delete", "--wait", other)
    finally:
        moto.start()
    # moto is back (on the same port, empty): creates succeed again, no restart of Overcast
    healed = f"healed-{uuid.uuid4().hex[:6]}"

    def created() -> bool:
        return create(cli, healed).returncode == 0

    wait_for(created, WAIT, interval=0.5, description="a create in aws accepted again")
    wait_for(lambda: status(cli, healed) == "ACTIVE", WAIT, interval=0.5, description="the new server ACTIVE")
    instances = moto.ec2().describe_instances(Filters=[{"Name": "tag:Name", "Values": [healed]}])["Reservations"]
    assert len(instances) == 1


def test_instance_terminated_in_moto_shows_after_reconciliation(moto: MotoServer, cli: OpenStackCLI) -> None:
    name = f"victim-{uuid.uuid4().hex[:6]}"
    wait_for(lambda: create(cli, name, "--wait").returncode == 0, WAIT, interval=1.0, description="a server")
    ec2 = moto.ec2()
    found = ec2.describe_instances(Filters=[{"Name": "tag:Name", "Values": [name]}])["Reservations"]
    instance_id = found[0]["Instances"][0]["InstanceId"]
    ec2.terminate_instances(InstanceIds=[instance_id])
    wait_for(lambda: status(cli, name) in ("ERROR", "DELETED", "GONE"), WAIT, interval=0.5,
             description="the server marked lost after reconciliation")
