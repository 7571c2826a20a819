"""The default topology DevStack makes on first start: an external ``public`` network (admin
project, 172.24.4.0/24, pool .2-.254, gateway .1) and, for the demo project, a ``private``
network with ``private-subnet`` (10.0.0.0/26) and ``router1`` with its gateway on ``public`` and
an interface on ``private-subnet``, in every region that has a network backend (each region is
a Neutron of its own). Idempotent: what exists already is left alone."""

from __future__ import annotations

import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.core.context import AuthContext
from overcast.core.network import NetworkCore, networks, routers, security_groups, subnets
from overcast.store.models import DEFAULT_DOMAIN_ID, Project
from overcast.store.network import Network, Router

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
        if demo_project is None or _named(core, session, Network, demo_project, "private") is not None:
            return
        private = networks.create(core, session, ctx, {"name": "private", "project_id": demo_project})
        subnet = subnets.create(core, session, ctx, {**PRIVATE_SUBNET, "network_id": private.id,
                                                     "project_id": demo_project})
        if _named(core, session, Router, demo_project, "router1") is None:
            router = routers.create(core, session, ctx, {"name": "router1", "project_id": demo_project,
                                                         "external_gateway_info": {"network_id": public.id}})
            routers.add_interface(core, session, ctx, router.id, {"subnet_id": subnet.id})
