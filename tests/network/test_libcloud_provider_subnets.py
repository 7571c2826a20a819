"""Decision 0070: an EC2 region's networks are its VPC's subnets, kept up to date by the network
reconciler (made or removed in the VPC after the bootstrap), and no seeded ``private`` network
where the VPC cannot hold its range. In-process Overcast against an independent moto_server."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from overcast.config import CloudSettings
from overcast.core.network import PROVIDER_GONE
from overcast.core.network.seed import refresh_provider_subnets
from overcast.store.network import Network, Subnet
from overcast.testing.emulators import MotoServer
from tests.drivers.test_libcloud_ec2 import ec2_options

AWS = "aws"


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    with MotoServer() as server:
        yield server


@pytest.fixture
def settings(settings, moto: MotoServer):  # noqa: ANN001, ANN201 - RegionOne and an EC2 region in the default VPC
    return dataclasses.replace(settings, clouds=(
        *settings.clouds, CloudSettings(name=AWS, driver="libcloud", options=ec2_options(moto))))


def _networks(cloud) -> dict[str, tuple[str, str, str, dict]]:  # noqa: ANN001
    """subnet backend id -> (network name, network status, subnet cidr, subnet extra) in region aws."""
    with cloud.app.compute.store.session() as session:
        rows = session.execute(select(Subnet, Network).join(Network, Network.id == Subnet.network_id)
                               .where(Subnet.cloud == AWS)).all()
        return {s.backend_id: (n.name, n.status, s.cidr, dict(s.extra or {})) for s, n in rows}


def test_no_private_network_in_the_default_vpc_and_subnets_made_later_are_imported(cloud, moto) -> None:  # noqa: ANN001
    ec2 = moto.ec2()
    [default_vpc] = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"]
    own = {s["SubnetId"] for s in ec2.describe_subnets(
        Filters=[{"Name": "vpc-id", "Values": [default_vpc["VpcId"]]}])["Subnets"]}
    seeded = {k: v for k, v in _networks(cloud).items() if k and k.startswith("subnet-")}  # not public's
    # the bootstrap imported the default VPC's subnets; no private network (10.0.0.0/26 cannot be
    # made in 172.31.0.0/16: it went to ERROR, retried every round, before)
    assert set(seeded) == own
    with cloud.app.compute.store.session() as session:
        assert session.scalar(select(Subnet).where(Subnet.cloud == AWS, Subnet.cidr == "10.0.0.0/26")) is None
    with cloud.app.compute.store.session() as session:
        assert session.scalar(select(Network).where(Network.cloud == AWS, Network.name == "private")) is None
        assert session.scalar(select(Network).where(Network.cloud == "RegionOne", Network.name == "private"))
    # a subnet made in the VPC after the bootstrap (outside Overcast): imported by the round
    later = ec2.create_subnet(VpcId=default_vpc["VpcId"], CidrBlock="172.31.200.0/24",
                              TagSpecifications=[{"ResourceType": "subnet",
                                                  "Tags": [{"Key": "Name", "Value": "made-later"}]}])["Subnet"]
    core = cloud.app.compute.network.at(AWS)
    refresh_provider_subnets(core)
    now = _networks(cloud)
    assert now[later["SubnetId"]][:3] == ("made-later", "ACTIVE", "172.31.200.0/24")
    refresh_provider_subnets(core)  # idempotent: not imported twice
    assert len(_networks(cloud)) == len(now)
    # removed in the VPC: its network is marked ERROR (as a server gone from its backend)
    ec2.delete_subnet(SubnetId=later["SubnetId"])
    refresh_provider_subnets(core)
    name, status, _, extra = _networks(cloud)[later["SubnetId"]]
    assert (name, status, extra.get(PROVIDER_GONE)) == ("made-later", "ERROR", True)
    assert all(v[1] == "ACTIVE" for k, v in _networks(cloud).items() if k in own)


def test_a_server_in_another_zone_than_its_networks_subnet_is_refused(cloud, moto) -> None:  # noqa: ANN001
    """0070: the subnet's zone is recorded (EC2 runs an instance in its interface's subnet's
    zone): a create naming another zone is Nova's 400 at once, not EC2's refusal later."""
    from overcast.core.compute.networking import check_zone
    from overcast.core.errors import Invalid

    ec2 = moto.ec2()
    [default_vpc] = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"]
    made = ec2.create_subnet(VpcId=default_vpc["VpcId"], CidrBlock="172.31.210.0/24",
                             AvailabilityZone="us-east-1c")["Subnet"]
    refresh_provider_subnets(cloud.app.compute.network.at(AWS))
    with cloud.app.compute.store.session() as session:
        subnet = session.scalar(select(Subnet).where(Subnet.backend_id == made["SubnetId"]))
        assert subnet.extra["availability_zone"] == "us-east-1c"
        check_zone(session, [{"network_id": subnet.network_id}], "us-east-1c")
        with pytest.raises(Invalid, match="us-east-1a is not the zone of network"):
            check_zone(session, [{"network_id": subnet.network_id}], "us-east-1a")
        check_zone(session, [{"network_id": "no-such-network"}], "us-east-1a")  # nothing known: no objection
