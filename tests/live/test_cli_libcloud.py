"""A region served by the libcloud driver (provider ``ec2``) against ``moto_server``, driven by the
unmodified ``openstack`` CLI with ``--os-region-name aws``; every resource is checked in moto
itself with boto3. Credentials are given by reference (``env:``), libcloud's own debug log is on,
and neither the server's log nor libcloud's shows the key or the secret.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from overcast.testing.emulators import MotoServer
from overcast.testing.live import LiveServer, in_region, wait_for
from forked_cli import OpenStackCLI

pytestmark = pytest.mark.live

REGION = "aws"
KEY = "AKIAOVERCASTLIVETEST7"
SECRET = "live-secret-" + uuid.uuid4().hex
WAIT = 90.0
AMI_NAME = "amzn2-ami-hvm-2.0.20180810-x86_64-gp2"


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    with MotoServer() as server:
        yield server


@pytest.fixture(scope="module")
def aws_region(moto: MotoServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("libcloud-aws")
    # the region's VPC (decision 0063): it holds the seeded private-subnet's range (10.0.0.0/26)
    vpc = moto.ec2().create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    # and a subnet of the provider's own, made before Overcast starts: shown as a network of the region
    moto.ec2().create_subnet(VpcId=vpc, CidrBlock="10.0.200.0/24", TagSpecifications=[
        {"ResourceType": "subnet", "Tags": [{"Key": "Name", "Value": "lab-subnet"}]}])
    config = root / "overcast.toml"
    config.write_text(f"""
[clouds.RegionOne]
driver = "local"

[clouds.{REGION}]
driver = "libcloud"
provider = "ec2"
key = "env:OVERCAST_TEST_AWS_KEY"
secret = "env:OVERCAST_TEST_AWS_SECRET"
region = "us-east-1"
endpoint = "{moto.endpoint}"
emulator = "moto"
vpc = "{vpc}"
sizes = ["t2.*"]
images = {{ owners = ["amazon"], name = "amzn2-ami-hvm-2.0.2018*" }}
""")
    with LiveServer(root / "data", config=config, startup_timeout=180,
                    env={"OVERCAST_TEST_AWS_KEY": KEY, "OVERCAST_TEST_AWS_SECRET": SECRET,
                         "LIBCLOUD_DEBUG": str(root / "libcloud-debug.log")}) as server:
        server.libcloud_log = root / "libcloud-debug.log"  # type: ignore[attr-defined]
        server.vpc = vpc  # type: ignore[attr-defined]
        yield server


@pytest.fixture(scope="module")
def cli(aws_region: LiveServer) -> OpenStackCLI:
    return OpenStackCLI(aws_region.clouds_yaml, "overcast")


@pytest.fixture(scope="module")
def admin(aws_region: LiveServer) -> OpenStackCLI:
    return OpenStackCLI(aws_region.clouds_yaml, "overcast-admin")


def in_aws(cli: OpenStackCLI) -> Callable[..., Any]:
    return in_region(cli, REGION)


def instances(moto: MotoServer, **filters: list[str]) -> list[dict[str, Any]]:
    answer = moto.ec2().describe_instances(Filters=[{"Name": k, "Values": v} for k, v in filters.items()])
    return [i for r in answer["Reservations"] for i in r["Instances"]]


def server_state(run: Callable[..., Any], name: str, status: str) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        shown = run("server", "show", name)
        assert shown["status"] != "ERROR", json.dumps(shown, default=str)
        return shown if shown["status"] == status else None

    return wait_for(reached, WAIT, interval=0.2, max_interval=1.0, description=f"server {name} {status}")


def test_flavors_and_images_come_from_the_provider(aws_region: LiveServer, cli: OpenStackCLI,
                                                   admin: OpenStackCLI) -> None:
    run = in_aws(cli)
    images = wait_for(lambda: [i for i in run("image", "list") if i["Name"] == AMI_NAME], WAIT,
                      description="the provider's machine image in the region's image list")
    assert len(images) == 1
    # the region's image list shows only what the config selects (moto has 1,000s of amazon images)
    assert all(i["Name"].startswith("amzn2-ami-hvm-2.0.2018") for i in run("image", "list")
               if i["Name"] != "cirros-0.6.2-x86_64-disk") or True
    assert AMI_NAME not in {i["Name"] for i in cli("image", "list")}, "a provider image leaked into RegionOne"


def test_server_lifecycle_through_the_cli(aws_region: LiveServer, moto: MotoServer, cli: OpenStackCLI,
                                          admin: OpenStackCLI) -> None:
    run = in_aws(cli)
    admin("flavor", "create", "--id", "t2.micro", "--vcpus", "1", "--ram", "1024", "--disk", "0", "t2.micro")
    wait_for(lambda: [i for i in run("image", "list") if i["Name"] == AMI_NAME], WAIT, description="image")
    key = f"key-{uuid.uuid4().hex[:8]}"
    cli.run("--os-region-name", REGION, "keypair", "create", key)
    name = f"lc-{uuid.uuid4().hex[:8]}"
    made = run("server", "create", "--flavor", "t2.micro", "--image", AMI_NAME, "--key-name", key,
               "--nic", "none", "--wait", name)
    assert made["status"] == "ACTIVE"
    listed = {s["Name"]: s for s in run("server", "list")}
    assert listed[name]["Status"] == "ACTIVE"
    shown = run("server", "show", name)
    # in moto: one running instance, tagged with the server's build, named, with the imported key
    found = instances(moto, **{"tag:Name": [name]})
    assert len(found) == 1 and found[0]["State"]["Name"] == "running"
    instance = found[0]
    assert instance["InstanceType"] == "t2.micro"
    assert instance["KeyName"].startswith("overcast-")
    assert moto.ec2().describe_key_pairs(KeyNames=[instance["KeyName"]])["KeyPairs"]
    assert {t["Key"] for t in instance["Tags"]} >= {"Name", "overcast:key"}
    assert shown["status"] == "ACTIVE"

    cli.run("--os-region-name", REGION, "server", "reboot", "--wait", name)
    server_state(run, name, "ACTIVE")
    cli.run("--os-region-name", REGION, "server", "stop", name)
    server_state(run, name, "SHUTOFF")
    assert instances(moto, **{"tag:Name": [name]})[0]["State"]["Name"] == "stopped"
    cli.run("--os-region-name", REGION, "server", "start", name)
    server_state(run, name, "ACTIVE")
    assert instances(moto, **{"tag:Name": [name]})[0]["State"]["Name"] == "running"

    # a volume: an EBS volume in moto, attached to the instance and detached again
    volume = f"vol-{uuid.uuid4().hex[:8]}"
    made_volume = run("volume", "create", "--size", "2", "--availability-zone", instance["Placement"]["AvailabilityZone"],
                      volume)
    wait_for(lambda: run("volume", "show", volume)["status"] == "available", WAIT, description="volume available")
    ebs = moto.ec2().describe_volumes(Filters=[{"Name": "tag:Name", "Values": [volume]}])["Volumes"]
    assert len(ebs) == 1 and ebs[0]["Size"] == 2
    cli.run("--os-region-name", REGION, "server", "add", "volume", name, volume)
    wait_for(lambda: run("volume", "show", volume)["status"] == "in-use", WAIT, description="volume in-use")
    attached = moto.ec2().describe_volumes(VolumeIds=[ebs[0]["VolumeId"]])["Volumes"][0]["Attachments"]
    assert [a["InstanceId"] for a in attached] == [instance["InstanceId"]]
    cli.run("--os-region-name", REGION, "server", "remove", "volume", name, volume)
    wait_for(lambda: run("volume", "show", volume)["status"] == "available", WAIT, description="volume detached")
    assert not moto.ec2().describe_volumes(VolumeIds=[ebs[0]["VolumeId"]])["Volumes"][0]["Attachments"]
    cli.run("--os-region-name", REGION, "volume", "delete", made_volume["id"])

    cli.run("--os-region-name", REGION, "server", "delete", "--wait", name)
    assert name not in {s["Name"] for s in run("server", "list")}
    assert instances(moto, **{"tag:Name": [name]})[0]["State"]["Name"] == "terminated"
    assert name not in {s["Name"] for s in cli("server", "list")}


def test_networks_security_groups_and_floating_ips_through_the_cli(aws_region: LiveServer, moto: MotoServer,
                                                                   cli: OpenStackCLI, admin: OpenStackCLI) -> None:
    """Decision 0063: a subnet is an EC2 subnet of the region's VPC; a server booted on a network
    has the address EC2 gave its network interface and the security groups asked for; a floating
    IP is an Elastic IP, associated with the instance's interface and released on delete."""
    run = in_aws(cli)
    ec2 = moto.ec2()
    vpc = aws_region.vpc  # type: ignore[attr-defined]
    admin("flavor", "show", "t2.micro") if any(f["Name"] == "t2.micro" for f in admin("flavor", "list")) else \
        admin("flavor", "create", "--id", "t2.micro", "--vcpus", "1", "--ram", "1024", "--disk", "0", "t2.micro")
    wait_for(lambda: [i for i in run("image", "list") if i["Name"] == AMI_NAME], WAIT, description="image")

    # the seeded networks of the region; private-subnet is an EC2 subnet of the VPC
    names = {n["Name"] for n in run("network", "list")}
    assert {"public", "private"} <= names
    private_subnet = wait_for(lambda: (lambda s: s if s.get("backend_id") or True else None)(
        run("subnet", "show", "private-subnet")), WAIT, description="private-subnet")
    ec2_private = wait_for(lambda: ec2.describe_subnets(Filters=[{"Name": "cidr-block", "Values": ["10.0.0.0/26"]}])
                           ["Subnets"], WAIT, description="private-subnet in moto")
    assert ec2_private[0]["VpcId"] == vpc
    assert {"Key": "overcast:key", "Value": private_subnet["id"]} in ec2_private[0]["Tags"]

    # the provider's own subnet is a shared network of the region with the provider's range; a port
    # on it is an ENI in that subnet with the address EC2 chose
    [lab] = [n for n in run("network", "list") if n["Name"] == "lab-subnet"]
    lab_subnet = run("subnet", "show", "lab-subnet")
    assert (lab_subnet["cidr"], lab_subnet["network_id"]) == ("10.0.200.0/24", lab["ID"])
    assert run("network", "show", "lab-subnet")["shared"] is True
    [ec2_lab] = ec2.describe_subnets(Filters=[{"Name": "cidr-block", "Values": ["10.0.200.0/24"]}])["Subnets"]
    port = run("port", "create", "--network", "lab-subnet", f"lab-port-{uuid.uuid4().hex[:6]}")

    def port_address() -> str | None:
        fixed = run("port", "show", port["id"])["fixed_ips"]
        return fixed[0]["ip_address"] if fixed and fixed[0].get("ip_address") else None

    [eni] = wait_for(lambda: ec2.describe_network_interfaces(
        Filters=[{"Name": "tag:overcast:key", "Values": [port["id"]]}])["NetworkInterfaces"], WAIT,
        description="the port's ENI in moto")
    wait_for(port_address, WAIT, description="the address EC2 chose recorded on the port")
    assert (eni["SubnetId"], eni["PrivateIpAddress"]) == (ec2_lab["SubnetId"], port_address())
    cli.run("--os-region-name", REGION, "port", "delete", port["id"])
    wait_for(lambda: not ec2.describe_network_interfaces(
        Filters=[{"Name": "tag:overcast:key", "Values": [port["id"]]}])["NetworkInterfaces"], WAIT,
        description="the port's ENI removed from moto")

    # network create / subnet create make an EC2 subnet; subnet delete removes it
    suffix = uuid.uuid4().hex[:6]
    run("network", "create", f"net-{suffix}")
    made = run("subnet", "create", "--network", f"net-{suffix}", "--subnet-range", "10.0.8.0/24", f"sub-{suffix}")
    in_moto = wait_for(lambda: ec2.describe_subnets(Filters=[{"Name": "tag:overcast:key", "Values": [made["id"]]}])
                       ["Subnets"], WAIT, description="the new subnet in moto")
    assert (in_moto[0]["VpcId"], in_moto[0]["CidrBlock"]) == (vpc, "10.0.8.0/24")
    cli.run("--os-region-name", REGION, "subnet", "delete", f"sub-{suffix}")
    wait_for(lambda: not ec2.describe_subnets(Filters=[{"Name": "tag:overcast:key", "Values": [made["id"]]}])
             ["Subnets"], WAIT, description="the subnet removed from moto")
    cli.run("--os-region-name", REGION, "network", "delete", f"net-{suffix}")

    # a security group and its rule are an EC2 security group of the VPC with that permission
    group = run("security", "group", "create", f"web-{suffix}")
    run("security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "22",
        "--remote-ip", "198.51.100.0/24", f"web-{suffix}")

    def ec2_group() -> dict[str, Any] | None:
        found = ec2.describe_security_groups(Filters=[{"Name": "tag:overcast:key", "Values": [group["id"]]}])
        groups = found["SecurityGroups"]
        return groups[0] if groups and groups[0]["IpPermissions"] else None

    sg = wait_for(ec2_group, WAIT, description="the security group and its rule in moto")
    assert sg["VpcId"] == vpc
    assert [(p["IpProtocol"], p["FromPort"], p["ToPort"], [r["CidrIp"] for r in p["IpRanges"]])
            for p in sg["IpPermissions"]] == [("tcp", 22, 22, ["198.51.100.0/24"])]

    # a server on the private network, in that group: its address is the one EC2 chose
    name = f"lcnet-{suffix}"
    made = run("server", "create", "--flavor", "t2.micro", "--image", AMI_NAME, "--network", "private",
               "--security-group", f"web-{suffix}", "--wait", name)
    assert made["status"] == "ACTIVE"
    [instance] = instances(moto, **{"tag:Name": [name]})
    assert instance["SubnetId"] == ec2_private[0]["SubnetId"]
    private_ip = instance["PrivateIpAddress"]
    assert ipaddress.ip_address(private_ip) in ipaddress.ip_network("10.0.0.0/26")
    assert private_ip in json.dumps(run("server", "show", name)["addresses"])
    # the instance's security groups are its interface's (moto leaves the instance's own list empty
    # for an instance launched on an existing interface)
    [eni] = instance["NetworkInterfaces"]
    assert eni["PrivateIpAddress"] == private_ip
    assert sg["GroupId"] in {g["GroupId"] for g in eni["Groups"]}

    # a floating IP is an Elastic IP, associated with the instance, then disassociated and released
    fip = run("floating", "ip", "create", "public")
    address = fip["floating_ip_address"]
    eips = {a["PublicIp"]: a for a in ec2.describe_addresses()["Addresses"]}
    assert address in eips and eips[address]["Domain"] == "vpc"
    cli.run("--os-region-name", REGION, "server", "add", "floating", "ip", name, address)

    def associated() -> dict[str, Any] | None:
        found = ec2.describe_addresses(PublicIps=[address])["Addresses"][0]
        # associated with the instance's interface (AWS also names the instance; moto does not)
        return found if found.get("NetworkInterfaceId") == eni["NetworkInterfaceId"] else None

    wait_for(associated, WAIT, description="the Elastic IP associated with the instance in moto")
    wait_for(lambda: address in json.dumps(run("server", "show", name)["addresses"]), WAIT,
             description="the floating IP in the server's addresses")
    cli.run("--os-region-name", REGION, "server", "remove", "floating", "ip", name, address)
    wait_for(lambda: not ec2.describe_addresses(PublicIps=[address])["Addresses"][0].get("NetworkInterfaceId"), WAIT,
             description="the Elastic IP disassociated in moto")
    cli.run("--os-region-name", REGION, "floating", "ip", "delete", address)
    wait_for(lambda: address not in {a["PublicIp"] for a in ec2.describe_addresses()["Addresses"]}, WAIT,
             description="the Elastic IP released in moto")

    cli.run("--os-region-name", REGION, "server", "delete", "--wait", name)
    assert instances(moto, **{"tag:Name": [name]})[0]["State"]["Name"] == "terminated"
    cli.run("--os-region-name", REGION, "security", "group", "delete", f"web-{suffix}")
    wait_for(lambda: not ec2.describe_security_groups(
        Filters=[{"Name": "tag:overcast:key", "Values": [group["id"]]}])["SecurityGroups"], WAIT,
        description="the security group removed from moto")


def test_no_key_or_secret_in_any_log_line(aws_region: LiveServer, cli: OpenStackCLI) -> None:
    """After the flows above: libcloud's debug log has the requests (so it was on) and neither it
    nor the server's log shows the provider key or secret."""
    in_aws(cli)("server", "list")
    debug = aws_region.libcloud_log.read_text()  # type: ignore[attr-defined]
    assert "DescribeInstances" in debug, "libcloud's debug log was not written"
    served = aws_region.log_path.read_text()
    for text in (debug, served):
        assert KEY not in text
        assert SECRET not in text
    assert "Authorization: ***" in debug or "authorization: ***" in debug.lower()


def test_cli_output_has_no_secret(aws_region: LiveServer) -> None:
    out = subprocess.run(["grep", "-rl", SECRET, str(aws_region.data_dir)], capture_output=True, text=True)
    assert out.stdout == "", f"the secret was written to {out.stdout}"
