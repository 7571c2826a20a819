"""The default topology DevStack makes on first start: an external ``public`` network (admin
project, 172.24.4.0/24, pool .2-.254, gateway .1) and, for the demo project, a ``private``
network with ``private-subnet`` (10.0.0.0/26) and ``router1`` with its gateway on ``public`` and
an interface on ``private-subnet``, in every region that has a network backend (each region is
a Neutron of its own); and the provider's own subnets where the backend has some (an EC2 VPC's).
Idempotent: what exists already is left alone."""

from __future__ import annotations

import logging
import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.core.context import AuthContext
from overcast.core.network import PROVIDER_GONE, PROVIDER_OWNED, NetworkCore, networks, routers, security_groups, subnets
from overcast.store.models import DEFAULT_DOMAIN_ID, Project
from overcast.drivers.context import CallContext
from overcast.drivers.errors import DriverError
from overcast.store.network import Network, Router, Subnet

LOG = logging.getLogger(__name__)

PUBLIC = {"name": "public", "router:external": True, "is_default": True}
PUBLIC_SUBNET = {"name": "public-subnet", "ip_version": 4, "cidr": "172.24.4.0/24", "gateway_ip": "172.24.4.1",
                 "allocation_pools": [{"start": "172.24.4.2", "end": "172.24.4.254"}], "enable_dhcp": False}
PRIVATE_SUBNET = {"name": "private-subnet", "ip_version": 4, "cidr": "10.0.0.0/26"}


def _admin(project_id: str) -> AuthContext:
    now = time.time()
    return AuthContext(user_id="overcast-seed", user_domain_id=DEFAULT_DOMAIN_ID, methods=("seed",),
                       roles=frozenset({"admin", "member", "reader"}), audit_ids=(), issued_at=now,
                       expires_at=now + 60, project_id=project_id, project_domain_id=DEFAULT_DOMAIN_ID)


def _project(session: Session, name: str) -> str | None:
    return session.scalar(select(Project.id).where(Project.name == name, Project.domain_id == DEFAULT_DOMAIN_ID))


def _named(core: NetworkCore, session: Session, model: type, project_id: str, name: str):  # noqa: ANN202
    return session.scalar(select(model).where(model.cloud == core.region, model.project_id == project_id,
                                              model.name == name).limit(1))


def provider_subnets(core: NetworkCore, session: Session, ctx: AuthContext) -> None:
    """The provider's own subnets (an EC2 VPC's), each a shared network of the admin project with
    one subnet of the provider's range, recorded with the provider's ids (so nothing is made for
    them, and deleting them in Overcast leaves the provider's alone: decision 0063). A provider
    that cannot be asked now is skipped (logged); what is recorded already is left alone.

    Run at the bootstrap and by the network reconciler each round (decision 0070): a subnet made
    in the VPC later is imported then; one the provider no longer lists marks its network
    ``ERROR`` (``extra["provider_gone"]``), as the reconciler marks a server gone from its
    backend, and ``ACTIVE`` again if it comes back."""
    driver = core.driver
    if driver is None:
        return
    try:
        found = driver.provider_subnets(CallContext(project_id=ctx.project_id, request_id="seed"))
    except DriverError as exc:
        LOG.warning("region %s: the provider's own networks were not listed (%s)", core.region, exc)
        return
    recorded = {s.backend_id: s for s in session.scalars(select(Subnet).where(
        Subnet.cloud == core.region, Subnet.backend_id.is_not(None)))}
    listed = {item.backend_id for item in found}
    for item in found:
        subnet = recorded.get(item.backend_id)
        if subnet is not None:
            if not (subnet.extra or {}).get(PROVIDER_OWNED):  # imported by a release that did not mark them
                subnet.extra = {**(subnet.extra or {}), PROVIDER_OWNED: True}
                network = session.get(Network, subnet.network_id)
                if network is not None:
                    network.extra = {**(network.extra or {}), PROVIDER_OWNED: True}
            _mark(session, subnet, gone=False)
            continue
        network = networks.create(core, session, ctx, {"name": item.name, "shared": True})
        network.backend_id = item.network_backend_id
        network.extra = {**(network.extra or {}), PROVIDER_OWNED: True}
        subnet = subnets.create(core, session, ctx, {
            "name": item.name, "network_id": network.id, "cidr": item.cidr, "ip_version": item.ip_version,
            "gateway_ip": item.gateway_ip,
            "allocation_pools": [{"start": a, "end": b} for a, b in item.allocation_pools]})
        subnet.backend_id = item.backend_id
        subnet.extra = {**(subnet.extra or {}), PROVIDER_OWNED: True,
                        **({"availability_zone": item.availability_zone} if item.availability_zone else {})}
        LOG.info("region %s: the provider's subnet %s (%s) imported as network %s", core.region,
                 item.backend_id, item.cidr, network.id)
    for backend_id, subnet in recorded.items():
        if backend_id not in listed and (subnet.extra or {}).get(PROVIDER_OWNED):
            _mark(session, subnet, gone=True)


def _mark(session: Session, subnet: Subnet, *, gone: bool) -> None:
    """Mark an imported subnet (and its network) gone from the provider, or back."""
    if not (subnet.extra or {}).get(PROVIDER_OWNED):
        return
    network = session.get(Network, subnet.network_id)
    status = "ERROR" if gone else "ACTIVE"
    if bool((subnet.extra or {}).get(PROVIDER_GONE)) == gone:
        if gone and network is not None and network.status != status:
            network.status = status
        return
    subnet.extra = {**subnet.extra, PROVIDER_GONE: gone}
    if network is not None:
        network.status = status
        network.extra = {**(network.extra or {}), PROVIDER_GONE: gone}
    LOG.warning("region %s: the provider's subnet %s is %s", subnet.cloud, subnet.backend_id,
                "gone from the provider; its network is marked ERROR" if gone else "listed again")


def refresh_provider_subnets(core: NetworkCore) -> None:
    """The reconciler's round: :func:`provider_subnets` with the admin project (nothing before
    the bootstrap)."""
    with core.session() as session:
        admin_project = _project(session, "admin")
        if admin_project is not None:
            provider_subnets(core, session, _admin(admin_project))


def seed(core: NetworkCore) -> None:
    """Make whatever part of the default topology is missing in each region with a network
    backend (needs identity bootstrapped)."""
    for region, cloud in core.clouds.items():
        if cloud.network is not None:
            seed_region(core.at(region, request_id="seed"))


def seed_region(core: NetworkCore) -> None:
    """The default topology of ``core``'s region."""
    with core.session() as session:
        admin_project, demo_project = _project(session, "admin"), _project(session, "demo")
        if admin_project is None:
            return
        ctx = _admin(admin_project)
        for project in (admin_project, demo_project):
            security_groups.ensure_default(core, session, project)
        public = _named(core, session, Network, admin_project, "public")
        if public is None:
            public = networks.create(core, session, ctx, dict(PUBLIC))
            subnets.create(core, session, ctx, {**PUBLIC_SUBNET, "network_id": public.id})
        provider_subnets(core, session, ctx)
        if demo_project is None or _named(core, session, Network, demo_project, "private") is not None:
            return
        if not _takes_private(core):
            return
        private = networks.create(core, session, ctx, {"name": "private", "project_id": demo_project})
        subnet = subnets.create(core, session, ctx, {**PRIVATE_SUBNET, "network_id": private.id,
                                                     "project_id": demo_project})
        if _named(core, session, Router, demo_project, "router1") is None:
            router = routers.create(core, session, ctx, {"name": "router1", "project_id": demo_project,
                                                         "external_gateway_info": {"network_id": public.id}})
            routers.add_interface(core, session, ctx, router.id, {"subnet_id": subnet.id})


def _takes_private(core: NetworkCore) -> bool:
    """Whether the backend can make ``private-subnet`` (10.0.0.0/26). An EC2 region in the
    account's default VPC (172.31.0.0/16) cannot: no ``private`` network (nor ``router1``) is
    seeded there, the provider's own subnets are the region's networks (decision 0070)."""
    driver = core.driver
    if driver is None:
        return True
    try:
        takes = driver.takes_range(CallContext(request_id="seed"), PRIVATE_SUBNET["cidr"])
    except DriverError as exc:
        LOG.warning("region %s: not seeding the private network, the backend cannot be asked (%s)",
                    core.region, exc)
        return False
    if not takes:
        LOG.info("region %s: not seeding the private network, the backend has no room for %s (its own "
                 "networks are the region's)", core.region, PRIVATE_SUBNET["cidr"])
    return takes
