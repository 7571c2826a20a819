"""Network agents (Neutron's ``agent`` extension, ``/v2.0/agents``) and which DHCP agent serves
which network (``dhcp_agent_scheduler``), derived from the region's network driver.

A Neutron lists the agents that reported in: on DevStack (ML2/OVS) an L2 agent, a DHCP agent, an
L3 agent and a metadata agent on the host. Overcast's backend of a region is its cloud's driver,
so the agents of a region are what that driver serves (:func:`declared`), on one host named as
the cloud is configured: an L2 agent (``Open vSwitch agent``) and a DHCP agent for every network
driver (every one wires ports and takes subnets' ``enable_dhcp``), an ``L3 agent`` when it makes
routers (:attr:`~overcast.drivers.network.Capability.ROUTERS`). A region without a network driver
has none. The rows are made when first read (:func:`sync`), so ids stay stable; the admin may set
``admin_state_up`` and ``description`` or delete a row, which comes back with a new id at the
next read, as a live Neutron agent re-registers at its next report. ``alive`` is whether the
region's backend may be called now (its circuit breaker is closed).

Everything here is the admin's (neutron/conf/policies/agent.py, network.py): anyone else lists
none and finds none (404). docs/decisions/0064-network-agents-and-trunks.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete as sql_delete
from sqlalchemy import false, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from overcast.core import policy as rules
from overcast.core.context import AuthContext
from overcast.core.errors import NotFound
from overcast.core.network.common import in_region, lookup
from overcast.core.network.errors import conflict, not_found, policy
from overcast.drivers.network import Capability
from overcast.store.network import DhcpAgentNetwork, Network, NetworkAgent, Subnet

if TYPE_CHECKING:
    from overcast.core.network import NetworkCore

DHCP_AGENT = "DHCP agent"


@dataclass(frozen=True)
class AgentKind:
    """One agent a driver stands for: Neutron's type, binary and RPC topic of it."""

    agent_type: str
    binary: str
    topic: str
    #: the driver capability it needs (None: every network driver)
    needs: Capability | None = None


#: the agents of DevStack's ML2/OVS Neutron Overcast's drivers stand for
KINDS = (
    AgentKind("Open vSwitch agent", "neutron-openvswitch-agent", "N/A"),
    AgentKind(DHCP_AGENT, "neutron-dhcp-agent", "dhcp_agent"),
    AgentKind("L3 agent", "neutron-l3-agent", "l3_agent", Capability.ROUTERS),
)


def declared(core: NetworkCore) -> list[AgentKind]:
    """The agents the region's network driver stands for (none without one)."""
    driver = core.driver
    if driver is None:
        return []
    stated = frozenset(getattr(driver, "capabilities", ()))
    return [kind for kind in KINDS if kind.needs is None or kind.needs in stated]


def host(core: NetworkCore) -> str:
    """The host the region's agents are on: the cloud, named as it is configured."""
    cloud = core.clouds.get(core.region)
    return cloud.name if cloud is not None else core.region


def sync(core: NetworkCore, session: Session) -> None:
    """Make the rows of the region's declared agents that are missing."""
    have = set(session.scalars(select(NetworkAgent.agent_type).where(NetworkAgent.cloud == core.region,
                                                                     NetworkAgent.host == host(core))))
    for kind in declared(core):
        if kind.agent_type not in have:
            session.add(NetworkAgent(cloud=core.region, agent_type=kind.agent_type, binary=kind.binary,
                                     topic=kind.topic, host=host(core), admin_state_up=True, description="",
                                     configurations={}, availability_zone="nova" if kind.agent_type in (
                                         DHCP_AGENT, "L3 agent") else None))
    session.flush()


def alive(core: NetworkCore) -> bool:
    """Whether the region's backend may be called now (its breaker is closed)."""
    return core.backend_wait is None or core.backend_wait(core.region) <= 0


def readable(ctx: AuthContext) -> bool:
    return rules.allowed("get_agent", ctx, {"project_id": ctx.project_id})


def agent_not_found(agent_id: str) -> NotFound:
    return NotFound(f"Agent {agent_id} could not be found.", kind="AgentNotFound")


def query(core: NetworkCore, session: Session, ctx: AuthContext) -> Select[tuple[NetworkAgent]]:
    """The region's agents, for the admin; none for anyone else."""
    if not readable(ctx):
        return in_region(NetworkAgent, core.region).where(false())
    sync(core, session)
    return in_region(NetworkAgent, core.region)


def get(core: NetworkCore, session: Session, ctx: AuthContext, agent_id: str) -> NetworkAgent:
    """:raises NotFound: AgentNotFound (also for anyone but the admin)."""
    if readable(ctx):
        sync(core, session)
    agent = lookup(session, NetworkAgent, agent_id, core.region)
    if agent is None or not readable(ctx):
        raise agent_not_found(agent_id)
    return agent


def update(core: NetworkCore, session: Session, ctx: AuthContext, agent_id: str,
           changes: dict[str, Any]) -> NetworkAgent:
    """``admin_state_up`` and ``description``. :raises NotFound: :raises Forbidden:"""
    agent = get(core, session, ctx, agent_id)
    if not rules.allowed("update_agent", ctx, {}):
        raise policy("update_agent")
    for name in ("admin_state_up", "description"):
        if name in changes:
            setattr(agent, name, changes[name])
    session.flush()
    return agent


def delete(core: NetworkCore, session: Session, ctx: AuthContext, agent_id: str) -> None:
    """The row and its DHCP bindings. :raises NotFound: :raises Forbidden:"""
    agent = get(core, session, ctx, agent_id)
    if not rules.allowed("delete_agent", ctx, {}):
        raise policy("delete_agent")
    session.execute(sql_delete(DhcpAgentNetwork).where(DhcpAgentNetwork.agent_id == agent.id))
    session.delete(agent)
    session.flush()


# -- dhcp_agent_scheduler ------------------------------------------------------------------------
def _scheduler(ctx: AuthContext, action: str) -> None:
    if not rules.allowed(action, ctx, {}):
        raise policy(action)


def _dhcp_agent(core: NetworkCore, session: Session, ctx: AuthContext, agent_id: str) -> NetworkAgent:
    """:raises NotFound: no such agent, or not an enabled DHCP agent (InvalidDHCPAgent)."""
    agent = get(core, session, ctx, agent_id)
    if agent.agent_type != DHCP_AGENT or not agent.admin_state_up:
        raise NotFound(f"Agent {agent_id} is not a valid DHCP Agent or has been disabled", kind="InvalidDHCPAgent")
    return agent


def _network(core: NetworkCore, session: Session, network_id: str) -> Network:
    network = lookup(session, Network, network_id, core.region)
    if network is None:
        raise not_found("network", network_id)
    return network


def networks_of(core: NetworkCore, session: Session, ctx: AuthContext, agent_id: str) -> Select[tuple[Network]]:
    """The networks the DHCP agent serves. :raises NotFound: :raises Forbidden:"""
    _scheduler(ctx, "get_dhcp-networks")
    agent = get(core, session, ctx, agent_id)
    return in_region(Network, core.region).where(Network.id.in_(
        select(DhcpAgentNetwork.network_id).where(DhcpAgentNetwork.agent_id == agent.id)))


def agents_of(core: NetworkCore, session: Session, ctx: AuthContext, network_id: str) -> Select[tuple[NetworkAgent]]:
    """The DHCP agents serving the network. :raises NotFound: :raises Forbidden:"""
    _scheduler(ctx, "get_dhcp-agents")
    sync(core, session)
    network = _network(core, session, network_id)
    return in_region(NetworkAgent, core.region).where(NetworkAgent.id.in_(
        select(DhcpAgentNetwork.agent_id).where(DhcpAgentNetwork.network_id == network.id)))


def add_network(core: NetworkCore, session: Session, ctx: AuthContext, agent_id: str, network_id: str) -> None:
    """:raises Conflict: NetworkHostedByDHCPAgent. :raises NotFound: :raises Forbidden:"""
    _scheduler(ctx, "create_dhcp-network")
    agent = _dhcp_agent(core, session, ctx, agent_id)
    network = _network(core, session, network_id)
    if session.get(DhcpAgentNetwork, (agent.id, network.id)) is not None:
        raise conflict("NetworkHostedByDHCPAgent", f"The network {network.id} has been already hosted by the DHCP "
                                                   f"Agent {agent.id}.")
    session.add(DhcpAgentNetwork(agent_id=agent.id, network_id=network.id))
    session.flush()


def remove_network(core: NetworkCore, session: Session, ctx: AuthContext, agent_id: str, network_id: str) -> None:
    """:raises Conflict: NetworkNotHostedByDhcpAgent. :raises NotFound: :raises Forbidden:"""
    _scheduler(ctx, "delete_dhcp-network")
    agent = get(core, session, ctx, agent_id)
    network = _network(core, session, network_id)
    binding = session.get(DhcpAgentNetwork, (agent.id, network.id))
    if binding is None:
        raise conflict("NetworkNotHostedByDhcpAgent", f"The network {network.id} is not hosted by the DHCP agent "
                                                      f"{agent.id}.")
    session.delete(binding)
    session.flush()


def schedule(core: NetworkCore, session: Session, subnet: Subnet) -> None:
    """A DHCP-enabled subnet: its network gets the region's enabled DHCP agent unless one serves it
    already (Neutron's ``dhcp_agents_per_network = 1``)."""
    if not subnet.enable_dhcp:
        return
    sync(core, session)
    if session.scalar(select(DhcpAgentNetwork.agent_id).where(DhcpAgentNetwork.network_id == subnet.network_id)):
        return
    agent = session.scalar(in_region(NetworkAgent, core.region).where(
        NetworkAgent.agent_type == DHCP_AGENT, NetworkAgent.admin_state_up.is_(True)).order_by(NetworkAgent.id))
    if agent is not None:
        session.add(DhcpAgentNetwork(agent_id=agent.id, network_id=subnet.network_id))
        session.flush()
