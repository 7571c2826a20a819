"""Nova's network proxies over Neutron's networks: ``os-networks`` and ``os-tenant-networks``.

Listing and showing serve the networks the caller can see in Neutron, below 2.36 (404 from 2.36),
rendered as Nova renders Neutron's networks: only ``id`` and ``label`` carry values (os-networks
shows nova-network's other fields as null, more of them to an admin; os-tenant-networks shows
``cidr`` as the string ``"None"``). Creating, deleting and associating networks were
nova-network's and answer 410 Gone at every microversion, as Nova does since it removed them.
"""

from __future__ import annotations

from typing import Any, Callable

import falcon

from overcast.api import faults
from overcast.api.compute.common import PROXY_MAX, Links, caller, enforce, gone, served
from overcast.api.routing import Registry
from overcast.api.validation import read_json
from overcast.core.compute import ComputeCore
from overcast.core.errors import NotFound
from overcast.core.network import networks as network_rules
from overcast.store.network import Network

FIELDS = ("id", "cidr", "netmask", "gateway", "broadcast", "dns1", "dns2", "cidr_v6", "gateway_v6", "label",
          "netmask_v6")
ADMIN_FIELDS = ("created_at", "updated_at", "deleted_at", "deleted", "injected", "bridge", "vlan",
                "vpn_public_address", "vpn_public_port", "vpn_private_address", "dhcp_start", "project_id", "host",
                "bridge_interface", "multi_host", "priority", "rxtx_base", "mtu", "dhcp_server", "enable_dhcp",
                "share_address")
#: the os-networks actions nova-network had (all removed)
ACTIONS = ("disassociate", "disassociate_host", "disassociate_project", "associate_host")


View = Callable[[falcon.Request, Network], dict[str, Any]]


def network_view(req: falcon.Request, network: Network) -> dict[str, Any]:
    view: dict[str, Any] = dict.fromkeys(FIELDS + (ADMIN_FIELDS if caller(req).is_admin else ()))
    view.update(id=network.id, label=network.name)
    return view


def tenant_network_view(req: falcon.Request, network: Network) -> dict[str, Any]:
    return {"id": network.id, "cidr": str(None), "label": network.name}


class _Base:
    def __init__(self, core: ComputeCore, api: str, view: View):
        #: ``api`` is "os-networks" or "os-tenant-networks" (the policy names' prefix)
        self.core, self.api, self.view = core, api, view


class NetworkList(_Base):
    def on_get(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        served(req, last=PROXY_MAX)
        ctx = enforce(req, f"os_compute_api:{self.api}:list", {"project_id": caller(req).project_id})
        with self.core.store.session() as session:
            resp.media = {"networks": [self.view(req, n) for n in network_rules.listing(self.core.network.at(req.context.region), session, ctx)]}

    on_head = on_get

    def on_post(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        raise gone()


class NetworkItem(_Base):
    def on_get(self, req: falcon.Request, resp: falcon.Response, network_id: str, **_: str) -> None:
        served(req, last=PROXY_MAX)
        ctx = enforce(req, f"os_compute_api:{self.api}:show", {"project_id": caller(req).project_id})
        with self.core.store.session() as session:
            try:
                network = network_rules.get(self.core.network.at(req.context.region), session, ctx, network_id)
            except NotFound:
                raise faults.NotFound("Network not found") from None
            resp.media = {"network": self.view(req, network)}

    on_head = on_get

    def on_delete(self, req: falcon.Request, resp: falcon.Response, network_id: str, **_: str) -> None:
        raise gone()


class NetworkAdd:
    """``POST /os-networks/add``: nova-network's, removed."""

    def on_post(self, req: falcon.Request, resp: falcon.Response, **_: str) -> None:
        raise gone()


class NetworkAction:
    """``POST /os-networks/{id}/action``: nova-network's associate and disassociate actions, removed."""

    def on_post(self, req: falcon.Request, resp: falcon.Response, network_id: str, **_: str) -> None:
        body = read_json(req)
        if not isinstance(body, dict) or len(body) != 1:
            raise faults.BadRequest("Malformed request body: too many body keys")
        name = next(iter(body))
        if name not in ACTIONS:
            raise faults.BadRequest(f"There is no such action: {name}")
        raise gone()


def bind(registry: Registry, core: ComputeCore, links: Links) -> None:
    registry.bind("compute", "v2_os_networks", NetworkList(core, "os-networks", network_view))
    registry.bind("compute", "v2_os_network", NetworkItem(core, "os-networks", network_view))
    registry.bind("compute", "v2_os_networks_add", NetworkAdd())
    registry.bind("compute", "v2_os_network_action", NetworkAction())
    registry.bind("compute", "v2_os_tenant_networks", NetworkList(core, "os-tenant-networks", tenant_network_view))
    registry.bind("compute", "v2_os_tenant_network", NetworkItem(core, "os-tenant-networks", tenant_network_view))
