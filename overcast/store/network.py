"""Network records in Neutron's shapes: networks, subnets, ports and their IP allocations,
routers, floating IPs, security groups and rules, per-project quota limits.

Every resource carries Neutron's standard attributes (description, tags, revision_number,
created_at, updated_at), the region it belongs to (``cloud``, the region name servers and
operations use: two regions are two separate Neutrons) and, once its region's backend has made
it, the backend's id (``backend_id``) and what the backend knows beyond the interface
(``extra``). Overcast's records are the source of truth; IP allocations are rows whose primary
key (subnet, address) makes a double allocation impossible.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from overcast.store.models import Base, utcnow


def new_uuid() -> str:
    return str(uuid.uuid4())


class Realisable:
    """What a record the backend holds carries: its region, the backend's id and extras."""

    #: the region (configured cloud) it belongs to
    cloud: Mapped[str] = mapped_column(String(255), index=True)
    #: the backend's id for it; None until the backend has made it
    backend_id: Mapped[str | None] = mapped_column(String(255))
    #: what the backend knows beyond the interface (JSON)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class StandardAttrs(Realisable):
    """Neutron's standard attributes, shared by every resource."""

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    description: Mapped[str] = mapped_column(String(255), default="")
    tags: Mapped[list[Any]] = mapped_column(JSON, default=list)
    revision_number: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Network(StandardAttrs, Base):
    __tablename__ = "net_network"
    name: Mapped[str] = mapped_column(String(255), default="", index=True)
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    external: Mapped[bool] = mapped_column(Boolean, default=False)
    #: the region's default external network (auto-allocated topologies are routed to it);
    #: only ever true on an external network
    is_default: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    mtu: Mapped[int] = mapped_column(Integer, default=1500)
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    port_security_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    network_type: Mapped[str | None] = mapped_column(String(32))
    physical_network: Mapped[str | None] = mapped_column(String(64))
    segmentation_id: Mapped[int | None] = mapped_column(Integer)
    #: the QoS policy of the network (its ports without one of their own follow it)
    qos_policy_id: Mapped[str | None] = mapped_column(String(36), index=True)
    subnets: Mapped[list["Subnet"]] = relationship(lazy="selectin", order_by="Subnet.created_at",
                                                   viewonly=True)


class Subnet(StandardAttrs, Base):
    __tablename__ = "net_subnet"
    network_id: Mapped[str] = mapped_column(String(36), ForeignKey("net_network.id"), index=True)
    name: Mapped[str] = mapped_column(String(255), default="", index=True)
    ip_version: Mapped[int] = mapped_column(Integer)
    cidr: Mapped[str] = mapped_column(String(64))
    gateway_ip: Mapped[str | None] = mapped_column(String(64))
    enable_dhcp: Mapped[bool] = mapped_column(Boolean, default=True)
    #: [{"start": ..., "end": ...}]
    allocation_pools: Mapped[list[Any]] = mapped_column(JSON, default=list)
    dns_nameservers: Mapped[list[Any]] = mapped_column(JSON, default=list)
    #: [{"destination": ..., "nexthop": ...}]
    host_routes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    ipv6_ra_mode: Mapped[str | None] = mapped_column(String(16))
    ipv6_address_mode: Mapped[str | None] = mapped_column(String(16))
    #: the subnet pool it was cut from (no foreign key: the pool's delete checks it under its lock)
    subnetpool_id: Mapped[str | None] = mapped_column(String(36), index=True)


class Port(StandardAttrs, Base):
    __tablename__ = "net_port"
    __table_args__ = (UniqueConstraint("network_id", "mac_address"),)
    network_id: Mapped[str] = mapped_column(String(36), ForeignKey("net_network.id"), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    mac_address: Mapped[str] = mapped_column(String(32))
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16), default="DOWN")
    device_id: Mapped[str] = mapped_column(String(255), default="", index=True)
    device_owner: Mapped[str] = mapped_column(String(255), default="")
    port_security_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    security_group_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    #: [{"ip_address": ..., "mac_address": ...}]
    allowed_address_pairs: Mapped[list[Any]] = mapped_column(JSON, default=list)
    binding_host_id: Mapped[str] = mapped_column(String(255), default="")
    binding_vif_type: Mapped[str] = mapped_column(String(64), default="unbound")
    binding_vnic_type: Mapped[str] = mapped_column(String(64), default="normal")
    #: the port's own QoS policy (it beats its network's)
    qos_policy_id: Mapped[str | None] = mapped_column(String(36), index=True)
    fixed_ips: Mapped[list["IpAllocation"]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="IpAllocation.position")


class IpAllocation(Base):
    """One address of one port; the primary key makes each address in a subnet unique."""

    __tablename__ = "net_ip_allocation"
    subnet_id: Mapped[str] = mapped_column(String(36), ForeignKey("net_subnet.id"), primary_key=True)
    ip_address: Mapped[str] = mapped_column(String(64), primary_key=True)
    port_id: Mapped[str] = mapped_column(String(36), ForeignKey("net_port.id", ondelete="CASCADE"), index=True)
    network_id: Mapped[str] = mapped_column(String(36), index=True)
    #: the order the port's addresses were requested in
    position: Mapped[int] = mapped_column(Integer, default=0)


class Router(StandardAttrs, Base):
    __tablename__ = "net_router"
    name: Mapped[str] = mapped_column(String(255), default="", index=True)
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    gw_port_id: Mapped[str | None] = mapped_column(String(36))
    external_network_id: Mapped[str | None] = mapped_column(String(36))
    enable_snat: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Neutron's ``dvr`` attribute (admin's): recorded, no backend distributes routing (decision 0064)
    distributed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: [{"destination": ..., "nexthop": ...}]
    routes: Mapped[list[Any]] = mapped_column(JSON, default=list)


class FloatingIp(StandardAttrs, Base):
    __tablename__ = "net_floating_ip"
    floating_network_id: Mapped[str] = mapped_column(String(36), ForeignKey("net_network.id"), index=True)
    floating_ip_address: Mapped[str] = mapped_column(String(64))
    floating_port_id: Mapped[str] = mapped_column(String(36))
    port_id: Mapped[str | None] = mapped_column(String(36), index=True)
    fixed_ip_address: Mapped[str | None] = mapped_column(String(64))
    router_id: Mapped[str | None] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(16), default="DOWN")


class SecurityGroup(StandardAttrs, Base):
    __tablename__ = "net_security_group"
    name: Mapped[str] = mapped_column(String(255), default="", index=True)
    stateful: Mapped[bool] = mapped_column(Boolean, default=True)
    rules: Mapped[list["SecurityGroupRule"]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="SecurityGroupRule.created_at")


class DefaultSecurityGroup(Base):
    """Which group is a project's ``default`` (one per project and region, as each Neutron keeps it)."""

    __tablename__ = "net_default_security_group"
    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    cloud: Mapped[str] = mapped_column(String(255), primary_key=True)
    security_group_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("net_security_group.id", ondelete="CASCADE"), unique=True)


class SecurityGroupRule(Base):
    __tablename__ = "net_security_group_rule"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    cloud: Mapped[str] = mapped_column(String(255), index=True)
    #: the backend's id of this rule (its group's realisation records it)
    backend_id: Mapped[str | None] = mapped_column(String(255))
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    security_group_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("net_security_group.id", ondelete="CASCADE"), index=True)
    direction: Mapped[str] = mapped_column(String(8))
    ethertype: Mapped[str] = mapped_column(String(8))
    protocol: Mapped[str | None] = mapped_column(String(40))
    port_range_min: Mapped[int | None] = mapped_column(Integer)
    port_range_max: Mapped[int | None] = mapped_column(Integer)
    remote_ip_prefix: Mapped[str | None] = mapped_column(String(64))
    remote_group_id: Mapped[str | None] = mapped_column(String(36))
    description: Mapped[str] = mapped_column(String(255), default="")
    revision_number: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class NetworkQuota(Base):
    """A project's limit for one network resource in one region (absent: the default)."""

    __tablename__ = "net_quota"
    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    cloud: Mapped[str] = mapped_column(String(255), primary_key=True)
    resource: Mapped[str] = mapped_column(String(64), primary_key=True)
    hard_limit: Mapped[int] = mapped_column(Integer)


class AutoAllocatedTopology(Base):
    """A project's auto-allocated topology in one region (Neutron's ``auto-allocated-topology``):
    one per project and region, the primary key refusing a second one made concurrently; gone
    with its network."""

    __tablename__ = "net_auto_allocated_topology"
    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    cloud: Mapped[str] = mapped_column(String(255), primary_key=True)
    network_id: Mapped[str] = mapped_column(String(36), ForeignKey("net_network.id", ondelete="CASCADE"),
                                            index=True)
    router_id: Mapped[str | None] = mapped_column(String(36))


class QosPolicy(StandardAttrs, Base):
    """A QoS policy (Neutron's ``qos``): its rules, and whether it is the project's default
    (``is_default``: one per project and region, refused in core). The backend only records it
    (docs/decisions/0053-qos-and-rbac.md)."""

    __tablename__ = "net_qos_policy"
    name: Mapped[str] = mapped_column(String(255), default="", index=True)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    rules: Mapped[list["QosRule"]] = relationship(lazy="selectin", cascade="all, delete-orphan",
                                                  order_by="QosRule.created_at")


class QosRule(Base):
    """One rule of a QoS policy: one per type and direction (``""`` for DSCP marking, which has
    none), the unique key refusing a second one made concurrently."""

    __tablename__ = "net_qos_rule"
    __table_args__ = (UniqueConstraint("qos_policy_id", "type", "direction"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    qos_policy_id: Mapped[str] = mapped_column(String(36), ForeignKey("net_qos_policy.id", ondelete="CASCADE"),
                                               index=True)
    #: bandwidth_limit, dscp_marking or minimum_bandwidth
    type: Mapped[str] = mapped_column(String(32))
    direction: Mapped[str] = mapped_column(String(16), default="")
    max_kbps: Mapped[int | None] = mapped_column(Integer)
    max_burst_kbps: Mapped[int | None] = mapped_column(Integer)
    min_kbps: Mapped[int | None] = mapped_column(Integer)
    dscp_mark: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class RbacPolicy(Base):
    """An RBAC policy (Neutron's ``rbac-policies``): ``object_type``'s object ``object_id`` is
    shared with ``target_project`` (a project id or ``*``) for ``action``; the unique key refuses
    a duplicate. Gone with its object."""

    __tablename__ = "net_rbac_policy"
    __table_args__ = (UniqueConstraint("object_type", "object_id", "action", "target_project"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    cloud: Mapped[str] = mapped_column(String(255), index=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    #: network or qos_policy
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(36), index=True)
    #: access_as_shared or access_as_external
    action: Mapped[str] = mapped_column(String(32))
    target_project: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class AddressScope(StandardAttrs, Base):
    """Neutron's address scope (``address-scope``): the subnet pools in one never overlap. Not
    realised on a backend (only Overcast's IPAM knows it)."""

    __tablename__ = "net_address_scope"
    name: Mapped[str] = mapped_column(String(255), default="", index=True)
    ip_version: Mapped[int] = mapped_column(Integer)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)


class SubnetPool(StandardAttrs, Base):
    """Neutron's subnet pool (``subnet_allocation``): prefixes subnets are cut from. A subnet made
    from it records ``Subnet.subnetpool_id``; the pool's row is what concurrent allocations
    queue on. Not realised on a backend."""

    __tablename__ = "net_subnet_pool"
    name: Mapped[str] = mapped_column(String(255), default="", index=True)
    ip_version: Mapped[int] = mapped_column(Integer)
    #: the compacted prefixes, as CIDR strings in address order
    prefixes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    default_prefixlen: Mapped[int] = mapped_column(Integer)
    min_prefixlen: Mapped[int] = mapped_column(Integer)
    max_prefixlen: Mapped[int] = mapped_column(Integer)
    default_quota: Mapped[int | None] = mapped_column(Integer)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    address_scope_id: Mapped[str | None] = mapped_column(String(36), index=True)


class MeteringLabel(Base):
    """Neutron's metering label (``metering``): a named set of rules counting a router's traffic;
    ``shared`` applies it to every project's routers. Recorded only: no backend meters traffic
    (docs/decisions/0057-service-providers-and-metering.md)."""

    __tablename__ = "net_metering_label"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    cloud: Mapped[str] = mapped_column(String(255), index=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(String(1024), default="")
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class MeteringLabelRule(Base):
    """One rule of a metering label: traffic to or from ``remote_ip_prefix`` (deprecated), or
    from ``source_ip_prefix`` and/or to ``destination_ip_prefix``, in one direction, counted or
    (``excluded``) left out. Gone with its label."""

    __tablename__ = "net_metering_label_rule"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    metering_label_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("net_metering_label.id", ondelete="CASCADE"), index=True)
    #: ingress or egress
    direction: Mapped[str] = mapped_column(String(8))
    remote_ip_prefix: Mapped[str | None] = mapped_column(String(64))
    source_ip_prefix: Mapped[str | None] = mapped_column(String(64))
    destination_ip_prefix: Mapped[str | None] = mapped_column(String(64))
    excluded: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class NetworkAgent(Base):
    """One of the agents a region's network backend stands for (Neutron's ``agent`` extension),
    as Neutron's ``agents`` table holds a row per (type, host) that reported in. Made when first
    listed from what the region's driver serves (:mod:`overcast.core.network.agents`); the admin
    may change ``admin_state_up`` and ``description``, or delete the row (it comes back, with a new
    id, as a live Neutron agent's does at its next report).
    (docs/decisions/0064-network-agents-and-trunks.md)"""

    __tablename__ = "net_agent"
    __table_args__ = (UniqueConstraint("cloud", "agent_type", "host", name="uq_net_agent_type_host"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    cloud: Mapped[str] = mapped_column(String(255), index=True)
    agent_type: Mapped[str] = mapped_column(String(255))
    binary: Mapped[str] = mapped_column(String(255))
    topic: Mapped[str] = mapped_column(String(255))
    host: Mapped[str] = mapped_column(String(255))
    availability_zone: Mapped[str | None] = mapped_column(String(255))
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str] = mapped_column(String(255), default="")
    configurations: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class DhcpAgentNetwork(Base):
    """Which DHCP agent serves which network (``dhcp_agent_scheduler``): scheduled when the network
    gets its first DHCP-enabled subnet, or set by the admin."""

    __tablename__ = "net_dhcp_agent_network"
    agent_id: Mapped[str] = mapped_column(String(36), ForeignKey("net_agent.id", ondelete="CASCADE"),
                                          primary_key=True)
    network_id: Mapped[str] = mapped_column(String(36), ForeignKey("net_network.id", ondelete="CASCADE"),
                                            primary_key=True, index=True)


class Trunk(StandardAttrs, Base):
    """Neutron's trunk (``trunk``): a parent port carrying other ports (its subports) tagged by a
    segmentation id; the parent port is in at most one trunk."""

    __tablename__ = "net_trunk"
    name: Mapped[str] = mapped_column(String(255), default="")
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    port_id: Mapped[str] = mapped_column(String(36), ForeignKey("net_port.id"), unique=True)
    sub_ports: Mapped[list["SubPort"]] = relationship(lazy="selectin", cascade="all, delete-orphan",
                                                      order_by="SubPort.position")


class SubPort(Base):
    """One subport of a trunk: a port (in no other trunk, as parent or subport) and its tag, which
    no other subport of the trunk has."""

    __tablename__ = "net_trunk_subport"
    __table_args__ = (UniqueConstraint("trunk_id", "segmentation_type", "segmentation_id",
                                       name="uq_net_trunk_subport_segmentation"),)
    port_id: Mapped[str] = mapped_column(String(36), ForeignKey("net_port.id"), primary_key=True)
    trunk_id: Mapped[str] = mapped_column(String(36), ForeignKey("net_trunk.id", ondelete="CASCADE"), index=True)
    segmentation_type: Mapped[str] = mapped_column(String(32))
    segmentation_id: Mapped[int] = mapped_column(Integer)
    #: the order the subports were added in
    position: Mapped[int] = mapped_column(Integer, default=0)
