"""The ``libcloud`` driver: any cloud Apache Libcloud speaks, as a region of Overcast.

Configured the same way for every provider (``[clouds.NAME]`` with ``driver = "libcloud"``)::

    [clouds.aws-east]
    driver = "libcloud"
    provider = "ec2"
    key = "env:AWS_ACCESS_KEY_ID"            # credentials by reference (env:/file:), never in the file
    secret = "env:AWS_SECRET_ACCESS_KEY"
    region = "us-east-1"
    images = { owners = ["self", "099720109477"], name = "ubuntu/images/*24.04*" }

    [clouds.aws-test]
    driver = "libcloud"
    provider = "ec2"
    key = "testing"
    secret = "testing"
    region = "us-east-1"
    endpoint = "http://127.0.0.1:5000"
    emulator = "moto"                        # the documented adapter for moto's differences
    vpc = "vpc-0123456789abcdef0"            # EC2: the VPC whose subnets are the region's (default VPC if unset)

    [clouds.lab-via-libcloud]
    driver = "libcloud"
    provider = "openstack"
    key = "overcast-svc"
    secret = "file:/run/secrets/lab"
    auth_url = "https://keystone.lab.example:5000"
    project = "overcast"

How each provider's constructor takes these keys is written once, in
:mod:`overcast.drivers.libcloud.providers`; see ``docs/decisions/0043-libcloud-driver.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from overcast.drivers.registry import CloudDriver


def create_driver(options: Mapping[str, Any], data_dir: Path) -> CloudDriver:
    """Entry point ``libcloud``: the compute family of the configured provider, and its volume and network
    families where they are written (EC2 and OpenStack: all three, decisions 0043/0063/0075) (libcloud is imported only
    now, when a cloud uses it)."""
    from overcast.drivers.libcloud.compute import LibcloudComputeDriver
    from overcast.drivers.libcloud.network import LibcloudEc2NetworkDriver
    from overcast.drivers.libcloud.openstack_network import LibcloudOpenStackNetworkDriver
    from overcast.drivers.libcloud.openstack_volume import LibcloudOpenStackVolumeDriver
    from overcast.drivers.libcloud.providers import parse_options
    from overcast.drivers.libcloud.volume import LibcloudVolumeDriver

    settings = parse_options(options)
    compute = LibcloudComputeDriver(settings)
    ec2 = settings.provider == "ec2"
    volume = (LibcloudVolumeDriver(settings, compute.pool) if ec2
              else LibcloudOpenStackVolumeDriver(settings, compute.pool))
    network = (LibcloudEc2NetworkDriver(settings, compute.pool) if ec2
               else LibcloudOpenStackNetworkDriver(settings, compute.pool))
    return CloudDriver(name="libcloud", compute=compute, volume=volume, network=network,
                       info={"provider": settings.provider, "region": settings.region or "",
                             "endpoint": settings.endpoint or "", "emulator": settings.emulator or ""})
