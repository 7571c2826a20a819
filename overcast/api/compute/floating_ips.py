"""Nova's floating-IP proxies over Neutron (below 2.36; 404 from 2.36): ``os-floating-ips``
(list, show, allocate from a pool, release) and ``os-floating-ip-pools`` (the external
networks); ``os-floating-ip-dns``, removed with nova-network, answers 410 Gone. Also the bodies
of the ``addFloatingIp``/``removeFloatingIp`` server actions (:mod:`overcast.api.compute.actions`).
"""

from __future__ import annotations

from typing import Any, Mapping

import falcon
from sqlalchemy.orm import Session

from overcast.api import faults
from overcast.api.compute.common import PROXY_MAX, Links, caller, enforce, gone, served
from overcast.api.compute.server_schemas import IPV4, IPV6
from overcast.api.routing import Registry
from overcast.api.validation import read_json
from overcast.core.compute import ComputeCore
from overcast.core.compute import floating_ips as rules
from overcast.store.network import FloatingIp

_IP = {"type": "string", "anyOf": [IPV4, IPV6]}
#: ``{"pool": name}``, or no body at all for the default pool
CREATE = {"type": ["object", "null"], "properties": {"pool": {"type": ["string", "null"]}}}
ADD_FLOATING_IP = {
    "type": "object", "required": ["addFloatingIp"], "additionalProperties": False,
    "properties": {"addFloatingIp": {"type": "object", "required": ["address"], "additionalProperties": False,
                                     "properties": {"address": _IP, "fixed_address": _IP}}}}
REMOVE_FLOATING_IP = {
    "type": "object", "required": ["removeFloatingIp"], "additionalProperties": False,
    "properties": {"removeFloatingIp": {"type": "object", "required": ["address"], "additionalProperties": False,
                                        "properties": {"address": _IP}}}}


def floating_ip_view(fip: FloatingIp, pools: Mapping[str, str], devices: Mapping[str, str]) -> dict[str, Any]:
    return {"id": fip.id, "ip": fip.floating_ip_address, "pool": pools.get(fip.floating_network_id),
            "fixed_ip": fip.fixed_ip_address, "instance_id": devices.get(fip.port_id) if fip.port_id else None}


def _views(session: Session, fips: list[FloatingIp]) -> list[dict[str, Any]]:
    pools, devices = rules.pool_names(session, fips), rules.port_devices(session, fips)
    return [floating_ip_view(f, pools, devices) for f in fips]


class _Base:
    def __init__(self, core: ComputeCore, links: Links):
        self.core, self.links = core, links


class FloatingIps(_Base):
    def on_get(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        served(req, last=PROXY_MAX)
        ctx = enforce(req, "os_compute_api:os-floating-ips:list", {"project_id": caller(req).project_id})
        with self.core.store.session() as session:
            resp.media = {"floating_ips": _views(session, rules.project_floating_ips(self.core.network.at(req.context.region), session, ctx))}

    on_head = on_get

    def on_post(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        served(req, last=PROXY_MAX)
        ctx = enforce(req, "os_compute_api:os-floating-ips:create", {"project_id": caller(req).project_id})
        body = read_json(req, CREATE) if req.content_length else None
        # what the region's network backend itself still allows, read before the transaction (decision 0046)
        network = self.core.network.at(req.context.region, request_id=req.context.request_id,
                                       user_id=ctx.user_id).with_headroom(ctx.project_id)
        with self.core.network.session() as session:
            fip = rules.allocate(network, session, ctx, (body or {}).get("pool"))
            resp.media = {"floating_ip": _views(session, [fip])[0]}
        network.headroom_spent()


class FloatingIpItem(_Base):
    def on_get(self, req: falcon.Request, resp: falcon.Response, floating_ip_id: str, **_: str) -> None:
        served(req, last=PROXY_MAX)
        ctx = enforce(req, "os_compute_api:os-floating-ips:show", {"project_id": caller(req).project_id})
        with self.core.store.session() as session:
            resp.media = {"floating_ip": _views(session, [rules.get(self.core.network.at(req.context.region), session, ctx, floating_ip_id)])[0]}

    on_head = on_get

    def on_delete(self, req: falcon.Request, resp: falcon.Response, floating_ip_id: str, **_: str) -> None:
        served(req, last=PROXY_MAX)
        ctx = enforce(req, "os_compute_api:os-floating-ips:delete", {"project_id": caller(req).project_id})
        with self.core.network.session() as session:
            rules.release(self.core.network.at(req.context.region), session, ctx, floating_ip_id)
        resp.status = falcon.HTTP_202


class FloatingIpPools(_Base):
    def on_get(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        served(req, last=PROXY_MAX)
        ctx = enforce(req, "os_compute_api:os-floating-ip-pools", {"project_id": caller(req).project_id})
        network = self.core.network.at(req.context.region)
        with self.core.store.session() as session:
            resp.media = {"floating_ip_pools": [{"name": n.name or n.id} for n in rules.pools(network, session, ctx)]}

    on_head = on_get


class FloatingIpDns:
    """``/os-floating-ip-dns`` and its domains and entries: removed with nova-network (410)."""

    def _gone(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        raise gone()

    on_get = on_head = on_put = on_delete = _gone


class FloatingIpDnsDomain(FloatingIpDns):
    """A domain has no GET in Nova (only PUT and DELETE, both gone): no route, 404."""

    def on_get(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        raise faults.NotFound("The resource could not be found.")

    on_head = on_get


def bind(registry: Registry, core: ComputeCore, links: Links) -> None:
    registry.bind("compute", "v2_os_floating_ips", FloatingIps(core, links))
    registry.bind("compute", "v2_os_floating_ips_id", FloatingIpItem(core, links))
    registry.bind("compute", "v2_os_floating_ip_pools", FloatingIpPools(core, links))
    registry.bind("compute", "v2_os_floating_ip_dns", FloatingIpDns())
    registry.bind("compute", "v2_os_floating_ip_dns_domain", FloatingIpDnsDomain())
    registry.bind("compute", "v2_os_floating_ip_dns_domain_entry", FloatingIpDns())
