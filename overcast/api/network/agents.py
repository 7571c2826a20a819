"""Agents over the wire (api-ref "Networking Agents" and "DHCP agent scheduler", the ``agent`` and
``dhcp_agent_scheduler`` extensions): ``/v2.0/agents`` through the generic collection and item
responders (no create), ``/v2.0/agents/{id}/dhcp-networks[/{network_id}]`` and
``/v2.0/networks/{id}/dhcp-agents``; the wire form of :mod:`overcast.core.network.agents`."""

from __future__ import annotations

import datetime as dt
from typing import Any

import falcon
from sqlalchemy import func
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from overcast.api import faults
from overcast.api.network.common import BOOL, Collection, Item, Kind, caller, list_body, regional
from overcast.api.validation import read_json
from overcast.api.network.resources import KINDS
from overcast.api.routing import Registry
from overcast.core.network import NetworkCore, agents
from overcast.store.models import utcnow
from overcast.store.network import NetworkAgent

#: what an admin may change (anything else read-only, 400)
AGENT_UPDATE: dict[str, Any] = {"admin_state_up": BOOL, "description": {"type": "string", "maxLength": 255}}


def _time(value: dt.datetime | None) -> str | None:
    """Neutron writes agents' times as ``2026-12-07 08:00:00``."""
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else None


def agent_view(core: NetworkCore) -> Any:
    """The view of an agent of the request's region (``alive``: its backend may be called now)."""

    def view(req: falcon.Request, session: Session, record: NetworkAgent) -> dict[str, Any]:
        alive = agents.alive(regional(core, req))
        return {"id": record.id, "agent_type": record.agent_type, "binary": record.binary, "topic": record.topic,
                "host": record.host, "admin_state_up": record.admin_state_up, "alive": alive,
                "availability_zone": record.availability_zone, "description": record.description,
                "configurations": dict(record.configurations or {}), "created_at": _time(record.created_at),
                "started_at": _time(record.created_at),
                "heartbeat_timestamp": _time(utcnow() if alive else record.created_at), "resources_synced": None}

    return view


def _agent_type(query: Select[Any], wanted: list[str]) -> Select[Any]:
    """``agent_type=`` compared regardless of case, as DevStack's MySQL collation compares it
    (Tempest asks for ``DHCP Agent``; Neutron names it ``DHCP agent``)."""
    return query.where(func.lower(NetworkAgent.agent_type).in_([w.lower() for w in wanted]))


def agents_kind(core: NetworkCore) -> Kind:
    return Kind("agents", "agent", agent_view(core), agents, {}, AGENT_UPDATE, narrowing={"agent_type": _agent_type},
                columns={"id": NetworkAgent.id, "binary": NetworkAgent.binary, "topic": NetworkAgent.topic,
                         "host": NetworkAgent.host, "admin_state_up": NetworkAgent.admin_state_up,
                         "description": NetworkAgent.description,
                         "availability_zone": NetworkAgent.availability_zone},
                extra_read_only=("id", "agent_type", "binary", "topic", "host", "alive", "availability_zone",
                                 "configurations", "created_at", "started_at", "heartbeat_timestamp",
                                 "resources_synced"))


NETWORKS = next(kind for kind in KINDS if kind.collection == "networks")


class Agents(Collection):
    """The list; agents are not made over the API (they report in)."""

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        raise faults.Fault(405, "agent cannot be created.", kind="HTTPMethodNotAllowed")


class DhcpNetworks:
    """``/v2.0/agents/{agent_id}/dhcp-networks``: list, and add one (``{"network_id": ...}``, 201)."""

    def __init__(self, core: NetworkCore):
        self.core = core
        self.base = core.settings.public_url.rstrip("/") + "/network"

    def on_get(self, req: falcon.Request, resp: falcon.Response, item_id: str) -> None:
        core = regional(self.core, req)
        with core.session() as session:
            query = agents.networks_of(core, session, caller(req), item_id)
            resp.media = list_body(req, self.base, NETWORKS, session, query)

    def on_post(self, req: falcon.Request, resp: falcon.Response, item_id: str) -> None:
        """:raises faults.BadRequest: no ``network_id``."""
        body = read_json(req)
        network_id = body.get("network_id") if isinstance(body, dict) else None
        if not isinstance(network_id, str) or not network_id:
            raise faults.BadRequest("Failed to parse request. Required attribute 'network_id' not specified",
                                    kind="HTTPBadRequest")
        core = regional(self.core, req)
        with core.session() as session:
            agents.add_network(core, session, caller(req), item_id, network_id)
        resp.status = falcon.HTTP_201
        resp.content_type = falcon.MEDIA_JSON
        resp.text = "null"  # Neutron's body: the scheduler answers None


class DhcpNetwork:
    def __init__(self, core: NetworkCore):
        self.core = core

    def on_delete(self, req: falcon.Request, resp: falcon.Response, item_id: str, network_id: str) -> None:
        core = regional(self.core, req)
        with core.session() as session:
            agents.remove_network(core, session, caller(req), item_id, network_id)
        resp.status = falcon.HTTP_204


class DhcpAgents:
    """``/v2.0/networks/{network_id}/dhcp-agents``."""

    def __init__(self, core: NetworkCore, kind: Kind):
        self.core, self.kind = core, kind
        self.base = core.settings.public_url.rstrip("/") + "/network"

    def on_get(self, req: falcon.Request, resp: falcon.Response, item_id: str) -> None:
        core = regional(self.core, req)
        with core.session() as session:
            query = agents.agents_of(core, session, caller(req), item_id)
            resp.media = list_body(req, self.base, self.kind, session, query)


def declare(registry: Registry) -> None:
    registry.declare("network", "agents", "/v2.0/agents", ("GET",))
    registry.declare("network", "agents_item", "/v2.0/agents/{item_id}", ("GET", "PUT", "DELETE"))
    registry.declare("network", "agent_dhcp_networks", "/v2.0/agents/{item_id}/dhcp-networks", ("GET", "POST"))
    registry.declare("network", "agent_dhcp_network", "/v2.0/agents/{item_id}/dhcp-networks/{network_id}",
                     ("DELETE",))
    registry.declare("network", "network_dhcp_agents", "/v2.0/networks/{item_id}/dhcp-agents", ("GET",))


def bind(registry: Registry, core: NetworkCore) -> None:
    kind = agents_kind(core)
    registry.bind("network", "agents", Agents(core, kind))
    registry.bind("network", "agents_item", Item(core, kind))
    registry.bind("network", "agent_dhcp_networks", DhcpNetworks(core))
    registry.bind("network", "agent_dhcp_network", DhcpNetwork(core))
    registry.bind("network", "network_dhcp_agents", DhcpAgents(core, kind))
