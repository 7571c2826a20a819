"""The ``openstack`` driver: an upstream OpenStack cloud as an Overcast region (issue 10 §3).

Configured with the keys of issue 10, credentials by reference::

    [clouds.lab]
    driver = "openstack"
    auth_url = "https://keystone.lab.example:5000/v3"
    username = "overcast-svc"
    password = "env:LAB_PASSWORD"
    project_name = "overcast"
    user_domain_name = "Default"
    project_domain_name = "Default"
    region_name = "RegionOne"

or ``cloud = "name"`` (with ``clouds_yaml = "path"`` when it is not in the usual places). One
openstacksdk connection serves the compute (and image), volume and network families. Decisions:
``docs/decisions/0041-openstack-passthrough.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from overcast.drivers.registry import CloudDriver, check_options

__all__ = ["create_driver"]


def create_driver(options: Mapping[str, Any], data_dir: Path) -> CloudDriver:
    """Entry point ``openstack``."""
    from overcast.drivers.openstack.compute import OpenStackComputeDriver
    from overcast.drivers.openstack.network import OpenStackNetworkDriver
    from overcast.drivers.openstack.upstream import OPTIONS, Settings, Upstream
    from overcast.drivers.openstack.volume import OpenStackVolumeDriver

    settings = Settings.from_options(check_options("openstack", options, OPTIONS))
    upstream = Upstream(settings)
    return CloudDriver(name="openstack", compute=OpenStackComputeDriver(upstream),
                       volume=OpenStackVolumeDriver(upstream), network=OpenStackNetworkDriver(upstream),
                       info={"driver": "openstack", **settings.describe()})
