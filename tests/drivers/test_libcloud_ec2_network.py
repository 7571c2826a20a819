"""The network conformance kit against the libcloud driver's EC2 network family, as moto_server
emulates it (decision 0063), and what each object is in moto itself."""

from __future__ import annotations

import ipaddress
import uuid

import pytest

from overcast.drivers.context import CallContext
from overcast.drivers.errors import DriverError
from overcast.drivers.network import AddressOwner, Capability, NetworkSpec, Ref, SubnetSpec
from overcast.drivers.registry import load_driver
from overcast.testing.emulators import MotoServer
from overcast.testing.network_conformance import NetworkDriverConformance
from tests.drivers.test_libcloud_ec2 import ec2_options, moto  # noqa: F401 - moto: the module's moto_server


@pytest.fixture(scope="module")
def vpc(moto: MotoServer) -> str:
    """A VPC holding the kit's ranges (10.250.0.0/16 and, a second block, 10.251.0.0/16)."""
    ec2 = moto.ec2()
    vpc_id = ec2.create_vpc(CidrBlock="10.250.0.0/16")["Vpc"]["VpcId"]
    ec2.associate_vpc_cidr_block(VpcId=vpc_id, CidrBlock="10.251.0.0/16")
    return vpc_id


def _ctx(item: str | None = None) -> CallContext:
    return CallContext(project_id="p", idempotency_key=item)


class TestLibcloudEc2Network(NetworkDriverConformance):
    many = 7  # subnets, with EC2's smallest page (5): more than one page

    @pytest.fixture
    def network_driver(self, moto: MotoServer, vpc: str, tmp_path):  # noqa: ANN001, ANN201
        bundle = load_driver("libcloud", ec2_options(moto, page_size=5, vpc=vpc), tmp_path)
        yield bundle.network
        bundle.close()

    def test_list_objects_returns_every_page(self, network_driver) -> None:  # noqa: ANN001
        """EC2 has no object for a network (it is the VPC): the kit's list of bare networks is
        asked of subnets instead: ``many`` subnets, each of its own network, listed whole (two pages
        of 5), networks listed by their subnets, nothing left after removal."""
        made = {}
        for n in range(self.many):
            network = NetworkSpec(id=str(uuid.uuid4()), name=f"many-{n}", mtu=1500, project_id="p")
            network_backend = network_driver.apply_network(_ctx(network.id), network).backend_id
            subnet = SubnetSpec(id=str(uuid.uuid4()), network=Ref(network.id, network_backend),
                                cidr=f"10.250.{100 + n}.0/24", ip_version=4, gateway_ip=None, project_id="p")
            made[subnet.id] = (network.id, network_driver.apply_subnet(_ctx(subnet.id), subnet).backend_id)
        held = self._held(network_driver, "subnet")
        assert all(held.get(s) == b for s, (_, b) in made.items())
        networks = self._held(network_driver, "network")
        assert {n for n, _ in made.values()} <= set(networks)
        for subnet_id, (_, backend_id) in made.items():
            network_driver.remove_subnet(_ctx(subnet_id), Ref(subnet_id, backend_id))
        assert not set(made) & set(self._held(network_driver, "subnet"))
        assert not {n for n, _ in made.values()} & set(self._held(network_driver, "network"))


def test_declared_honestly(moto: MotoServer, vpc: str, tmp_path) -> None:  # noqa: ANN001
    network = load_driver("libcloud", ec2_options(moto, vpc=vpc), tmp_path).network
    assert network.addresses is AddressOwner.PROVIDER
    assert network.capabilities == {Capability.SECURITY_GROUPS, Capability.FLOATING_IPS}  # no routers on EC2


def test_objects_in_moto(moto: MotoServer, vpc: str, tmp_path) -> None:  # noqa: ANN001
    """A subnet is an EC2 subnet of the VPC with its CIDR, a port an ENI with the address EC2 chose
    and its security group, a floating IP an Elastic IP associated with that ENI, each tagged with
    the Overcast id; a security group's rules are its EC2 permissions (the default egress rule
    revoked when not asked for)."""
    from overcast.drivers.network import (FixedIp, FloatingIpSpec, PortSpec, SecurityGroupRuleSpec,
                                          SecurityGroupSpec)

    driver = load_driver("libcloud", ec2_options(moto, vpc=vpc), tmp_path).network
    ec2 = moto.ec2()
    net = NetworkSpec(id=str(uuid.uuid4()), name="n", mtu=1500, project_id="p")
    net_backend = driver.apply_network(_ctx(), net).backend_id
    assert net_backend == vpc
    subnet = SubnetSpec(id=str(uuid.uuid4()), network=Ref(net.id, net_backend), cidr="10.251.7.0/24",
                        ip_version=4, gateway_ip="10.251.7.1", project_id="p")
    subnet_backend = driver.apply_subnet(_ctx(), subnet).backend_id
    [upstream] = ec2.describe_subnets(SubnetIds=[subnet_backend])["Subnets"]
    assert (upstream["VpcId"], upstream["CidrBlock"]) == (vpc, "10.251.7.0/24")
    assert {"Key": "overcast:key", "Value": subnet.id} in upstream["Tags"]

    ssh = SecurityGroupRuleSpec(id="r1", direction="ingress", ethertype="IPv4", protocol="tcp", port_range_min=22,
                                port_range_max=22, remote_ip_prefix="203.0.113.0/24", remote_group=None)
    group = SecurityGroupSpec(id=str(uuid.uuid4()), name="web", rules=(ssh,), project_id="p")
    made_group = driver.apply_security_group(_ctx(), group)
    [sg] = ec2.describe_security_groups(GroupIds=[made_group.backend_id])["SecurityGroups"]
    assert sg["VpcId"] == vpc
    assert [(p["IpProtocol"], p["FromPort"], p["ToPort"], [r["CidrIp"] for r in p["IpRanges"]])
            for p in sg["IpPermissions"]] == [("tcp", 22, 22, ["203.0.113.0/24"])]
    assert sg["IpPermissionsEgress"] == []  # Neutron's group has only the rules asked for
    # replacing the rule set: 22 goes, 443 comes
    https = SecurityGroupRuleSpec(**{**ssh.__dict__, "id": "r2", "port_range_min": 443, "port_range_max": 443})
    driver.apply_security_group(_ctx(), SecurityGroupSpec(**{**group.__dict__, "rules": (https,),
                                                             "backend_id": made_group.backend_id}))
    [sg] = ec2.describe_security_groups(GroupIds=[made_group.backend_id])["SecurityGroups"]
    assert [(p["FromPort"], p["ToPort"]) for p in sg["IpPermissions"]] == [(443, 443)]

    port = PortSpec(id=str(uuid.uuid4()), network=Ref(net.id, net_backend), mac_address=None,
                    fixed_ips=(FixedIp(Ref(subnet.id, subnet_backend), None),),
                    security_groups=(Ref(group.id, made_group.backend_id),), project_id="p")
    binding = driver.bind_port(_ctx(), port)
    [eni] = ec2.describe_network_interfaces(NetworkInterfaceIds=[binding.backend_id])["NetworkInterfaces"]
    assert eni["SubnetId"] == subnet_backend and eni["MacAddress"] == binding.mac_address
    assert binding.fixed_ips[0].ip_address == eni["PrivateIpAddress"]
    assert ipaddress.ip_address(eni["PrivateIpAddress"]) in ipaddress.ip_network("10.251.7.0/24")
    assert [g["GroupId"] for g in eni["Groups"]] == [made_group.backend_id]

    external = NetworkSpec(id=str(uuid.uuid4()), name="public", mtu=1500, external=True)
    external_backend = driver.apply_network(_ctx(), external).backend_id
    fip = FloatingIpSpec(id=str(uuid.uuid4()), floating_network=Ref(external.id, external_backend),
                         floating_ip_address=None, port=Ref(port.id, binding.backend_id),
                         fixed_ip_address=binding.fixed_ips[0].ip_address, project_id="p")
    made_fip = driver.apply_floating_ip(_ctx(), fip)
    [address] = ec2.describe_addresses(AllocationIds=[made_fip.backend_id])["Addresses"]
    assert address["PublicIp"] == made_fip.floating_ip_address
    assert address["NetworkInterfaceId"] == binding.backend_id
    # disassociate, then release
    driver.apply_floating_ip(_ctx(), FloatingIpSpec(**{**fip.__dict__, "port": None, "fixed_ip_address": None,
                                                       "backend_id": made_fip.backend_id}))
    [address] = ec2.describe_addresses(AllocationIds=[made_fip.backend_id])["Addresses"]
    assert not address.get("NetworkInterfaceId")  # moto answers an empty one, AWS none
    driver.remove_floating_ip(_ctx(), Ref(fip.id, made_fip.backend_id))
    assert not [a for a in ec2.describe_addresses()["Addresses"] if a.get("AllocationId") == made_fip.backend_id]

    driver.unbind_port(_ctx(), Ref(port.id, binding.backend_id))
    driver.remove_security_group(_ctx(), Ref(group.id, made_group.backend_id))
    driver.remove_subnet(_ctx(), Ref(subnet.id, subnet_backend))
    assert not ec2.describe_subnets(Filters=[{"Name": "subnet-id", "Values": [subnet_backend]}])["Subnets"]


def test_a_cidr_outside_the_vpc_is_the_subnets_fault(moto: MotoServer, vpc: str, tmp_path) -> None:  # noqa: ANN001
    driver = load_driver("libcloud", ec2_options(moto, vpc=vpc), tmp_path).network
    net_backend = driver.apply_network(_ctx(), NetworkSpec(id="n", name="n", mtu=1500)).backend_id
    with pytest.raises(DriverError) as caught:
        driver.apply_subnet(_ctx(), SubnetSpec(id=str(uuid.uuid4()), network=Ref("n", net_backend),
                                               cidr="192.168.5.0/24", ip_version=4, gateway_ip=None))
    assert "InvalidSubnet" in str(caught.value)


def test_takes_range_answers_from_the_vpcs_blocks(moto: MotoServer, vpc: str, tmp_path) -> None:  # noqa: ANN001
    """0070: the seed asks whether the VPC can hold its private-subnet (10.0.0.0/26): a configured
    VPC answers from its blocks (a second associated block too); the default VPC (172.31.0.0/16)
    has no room for it."""
    configured = load_driver("libcloud", ec2_options(moto, vpc=vpc), tmp_path / "configured")
    default = load_driver("libcloud", ec2_options(moto), tmp_path / "default")
    try:
        assert configured.network.takes_range(_ctx(), "10.250.3.0/24")
        assert configured.network.takes_range(_ctx(), "10.251.7.0/24")
        assert not configured.network.takes_range(_ctx(), "10.0.0.0/26")
        assert default.network.takes_range(_ctx(), "172.31.200.0/24")
        assert not default.network.takes_range(_ctx(), "10.0.0.0/26")
    finally:
        configured.close()
        default.close()
