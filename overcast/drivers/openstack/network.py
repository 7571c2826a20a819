"""The ``openstack`` driver's network family: an upstream Neutron, with the provider's IPAM.

Each object is made in the service account's upstream project with a description naming the
Overcast object and project (``overcast-key:ID overcast-project:PROJECT``): applying a spec whose
backend id Overcast has not recorded yet (a crash between the call and its record) finds the object
by that description in one filtered list instead of making a second one. Addresses are the
upstream's (:attr:`AddressOwner.PROVIDER`): a port or floating IP comes back with what Neutron
chose and Overcast records it. An external network is the upstream's own (found by name, else the
first external network): the service account cannot make one, and it is never removed.
"""

from __future__ import annotations

import builtins
from typing import Any, Callable

from overcast.drivers.context import CallContext
from overcast.drivers.errors import InvalidRequest, NotFound
from overcast.drivers.headroom import Headroom
from overcast.drivers.network import (KINDS, AddressOwner, BackendObject, Capability, FixedIp, FloatingIpRealised,
                                      FloatingIpSpec, NetworkDriver, NetworkSpec, PortBinding, PortSpec, Realised,
                                      Ref, RouterSpec, SecurityGroupRealised, SecurityGroupRuleSpec,
                                      SecurityGroupSpec, SubnetSpec)
from overcast.drivers.openstack.upstream import KEY_TAG, PROJECT_TAG, Upstream, as_limit

#: the backend id of an upstream external network's subnet the service account cannot see
EXTERNAL = "upstream-external-subnet:"
_LISTS = {"network": "networks", "subnet": "subnets", "port": "ports", "router": "routers",
          "floating_ip": "ips", "security_group": "security_groups"}
#: Neutron's quota name -> the attribute of openstacksdk's ``QuotaDetails`` that carries it
_QUOTAS = {"network": "networks", "subnet": "subnets", "port": "ports", "router": "routers",
           "floatingip": "floating_ips", "security_group": "security_groups",
           "security_group_rule": "security_group_rules"}


def description(object_id: str, project_id: str) -> str:
    return f"{KEY_TAG}{object_id} {PROJECT_TAG}{project_id or '-'}"


def described_id(text: Any) -> str | None:
    """The Overcast id a description written by :func:`description` names, else None."""
    first = str(text or "").split(" ", 1)[0]
    return first[len(KEY_TAG):] if first.startswith(KEY_TAG) else None


class OpenStackNetworkDriver(NetworkDriver):
    """Networks, subnets, ports, routers, floating IPs and security groups of an upstream Neutron."""

    capabilities = frozenset(Capability)
    addresses = AddressOwner.PROVIDER
    reports_headroom = True

    def __init__(self, upstream: Upstream) -> None:
        self.upstream = upstream

    @property
    def _neutron(self) -> Any:
        return self.upstream.conn.network

    def _call(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return self.upstream.call(fn, *args, what=what, **kwargs)

    def _existing(self, kind: str, spec: Any) -> Any | None:
        """The upstream object made for ``spec``: by its backend id, else by its description."""
        getter = getattr(self._neutron, "get_ip" if kind == "floating_ip" else f"get_{kind}")
        if spec.backend_id:
            try:
                return self._call(f"{kind} show", getter, spec.backend_id)
            except NotFound:
                pass
        lister = getattr(self._neutron, _LISTS[kind])
        text = description(spec.id, spec.project_id)
        found = self._call(f"{kind} list", lambda: list(lister(description=text)))
        return found[0] if found else None

    def _remove(self, kind: str, ref: Ref) -> None:
        deleter = getattr(self._neutron, "delete_ip" if kind == "floating_ip" else f"delete_{kind}")
        target = ref.backend_id
        if target is None:
            lister = getattr(self._neutron, _LISTS[kind])
            found = [o for o in self._call(f"{kind} list", lambda: list(lister()))
                     if described_id(o.description) == ref.id]
            if not found:
                return
            target = found[0].id
        try:
            self._call(f"{kind} delete", deleter, target, ignore_missing=True)
        except NotFound:
            return

    def headroom(self, ctx: CallContext) -> Headroom:
        """The service project's Neutron quotas and usage, from the upstream's quota details
        (``GET /v2.0/quotas/{project}/details``); what Neutron holds reserved counts as used."""
        conn = self.upstream.conn
        details = self._call("quota details", conn.network.get_quota, conn.current_project_id, details=True)
        limits, used = {}, {}
        for name, attribute in _QUOTAS.items():
            figures = getattr(details, attribute, None) or {}
            limits[name] = as_limit(figures.get("limit"))
            used[name] = int(figures.get("used") or 0) + int(figures.get("reserved") or 0)
        return Headroom(limits=limits, used=used)

    @staticmethod
    def _backend(ref: Ref, what: str) -> str:
        if not ref.backend_id:
            raise NotFound(f"The upstream has no {what} for {ref.id} yet")
        return ref.backend_id

    # -- networks, subnets, ports ---------------------------------------------------------
    def apply_network(self, ctx: CallContext, network: NetworkSpec) -> Realised:
        if network.external:
            return Realised(backend_id=self._external(network.name).id, extra={"upstream_external": True})
        found = self._existing("network", network)
        if found is None:
            found = self._call("network create", self._neutron.create_network, name=network.name,
                               admin_state_up=network.admin_state_up,
                               description=description(network.id, network.project_id))
        elif (found.name, found.is_admin_state_up) != (network.name, network.admin_state_up):
            found = self._call("network update", self._neutron.update_network, found.id, name=network.name,
                               admin_state_up=network.admin_state_up)
        return Realised(backend_id=found.id, extra={"mtu": found.mtu})

    def _external(self, name: str) -> Any:
        external = self._call("network list", lambda: list(self._neutron.networks(is_router_external=True)))
        if not external:
            raise InvalidRequest("The upstream cloud has no external network")
        return next((n for n in external if n.name == name), external[0])

    def remove_network(self, ctx: CallContext, network: Ref) -> None:
        if network.backend_id:
            try:
                found = self._call("network show", self._neutron.get_network, network.backend_id)
            except NotFound:
                return
            if described_id(found.description) != network.id:
                return  # the upstream's own (external) network: not ours to remove
        self._remove("network", network)

    def apply_subnet(self, ctx: CallContext, subnet: SubnetSpec) -> Realised:
        network_id = self._backend(subnet.network, "network")
        upstream_net = self._call("network show", self._neutron.get_network, network_id)
        if described_id(upstream_net.description) != subnet.network.id:  # an external network's own subnet
            subnets = self._call("subnet list", lambda: list(self._neutron.subnets(network_id=network_id)))
            if not subnets:  # Neutron shows an external network's subnets to their owner only
                return Realised(backend_id=f"{EXTERNAL}{network_id}", extra={"upstream_external": True, "cidr": None})
            chosen = next((s for s in subnets if s.cidr == subnet.cidr), subnets[0])
            return Realised(backend_id=chosen.id, extra={"upstream_external": True, "cidr": chosen.cidr})
        found = self._existing("subnet", subnet)
        if found is None:
            args: dict[str, Any] = {
                "network_id": network_id, "cidr": subnet.cidr, "ip_version": subnet.ip_version,
                "gateway_ip": subnet.gateway_ip, "is_dhcp_enabled": subnet.enable_dhcp,
                "description": description(subnet.id, subnet.project_id)}
            if subnet.allocation_pools:
                args["allocation_pools"] = [{"start": a, "end": b} for a, b in subnet.allocation_pools]
            found = self._call("subnet create", self._neutron.create_subnet, **args)
        return Realised(backend_id=found.id)

    def remove_subnet(self, ctx: CallContext, subnet: Ref) -> None:
        if subnet.backend_id and subnet.backend_id.startswith(EXTERNAL):
            return
        if subnet.backend_id:
            try:
                found = self._call("subnet show", self._neutron.get_subnet, subnet.backend_id)
            except NotFound:
                return
            if described_id(found.description) != subnet.id:
                return
        self._remove("subnet", subnet)

    def bind_port(self, ctx: CallContext, port: PortSpec) -> PortBinding:
        network_id = self._backend(port.network, "network")
        fixed = []
        for address in port.fixed_ips:
            subnet_id = self._backend(address.subnet, "subnet")
            if subnet_id.startswith(EXTERNAL):  # a subnet the account cannot see: any address of the network
                continue
            entry: dict[str, Any] = {"subnet_id": subnet_id}
            if address.ip_address:
                entry["ip_address"] = address.ip_address
            fixed.append(entry)
        groups = [self._backend(g, "security group") for g in port.security_groups]
        found = self._existing("port", port)
        if found is None:
            args: dict[str, Any] = {"network_id": network_id, "admin_state_up": port.admin_state_up,
                                    "description": description(port.id, port.project_id)}
            if fixed:
                args["fixed_ips"] = fixed
            if port.mac_address:
                args["mac_address"] = port.mac_address
            if port.port_security_enabled:
                args["security_group_ids"] = groups
            else:
                args["port_security_enabled"] = False
            found = self._call("port create", self._neutron.create_port, **args)
        elif port.port_security_enabled and sorted(found.security_group_ids or []) != sorted(groups):
            found = self._call("port update", self._neutron.update_port, found.id, security_group_ids=groups)
        by_backend = {s.backend_id: s.id for s in (a.subnet for a in port.fixed_ips)}
        addresses = tuple(FixedIp(subnet=Ref(id=by_backend.get(ip["subnet_id"], ""), backend_id=ip["subnet_id"]),
                                  ip_address=ip.get("ip_address")) for ip in found.fixed_ips or [])
        # the upstream decides where a port is wired (when its server boots there); until then it
        # is bound to the host Overcast asked for, or to the upstream as a whole
        return PortBinding(backend_id=found.id, host=found.binding_host_id or port.host or "upstream",
                           vif_type=found.binding_vif_type or "unbound",
                           active=str(found.status or "").upper() != "ERROR",
                           mac_address=found.mac_address, fixed_ips=addresses,
                           extra={"upstream_status": found.status})

    def unbind_port(self, ctx: CallContext, port: Ref) -> None:
        self._remove("port", port)

    def list_objects(self, ctx: CallContext, kind: str) -> builtins.list[BackendObject]:
        if kind not in KINDS:
            raise InvalidRequest(f"Unknown kind {kind!r}")
        lister = getattr(self._neutron, _LISTS[kind])
        out = []
        for item in self._call(f"{kind} list", lambda: list(lister(**self.upstream.paged()))):
            object_id = described_id(item.description)
            if object_id is not None:
                out.append(BackendObject(kind=kind, id=object_id, backend_id=item.id))
        return out

    def close(self) -> None:
        self.upstream.close()

    # -- routers --------------------------------------------------------------------------
    def apply_router(self, ctx: CallContext, router: RouterSpec) -> Realised:
        gateway: dict[str, Any] | None = None
        if router.external_network is not None:
            gateway = {"network_id": self._backend(router.external_network, "network")}
            if not router.enable_snat:  # Neutron lets only an admin say it, so only when it differs
                gateway["enable_snat"] = False
        found = self._existing("router", router)
        if found is None:
            found = self._call("router create", self._neutron.create_router, name=router.name,
                               admin_state_up=router.admin_state_up, external_gateway_info=gateway,
                               description=description(router.id, router.project_id))
        else:
            current = found.external_gateway_info or None
            if (current or {}).get("network_id") != (gateway or {}).get("network_id") \
                    or found.name != router.name or found.is_admin_state_up != router.admin_state_up:
                found = self._call("router update", self._neutron.update_router, found.id, name=router.name,
                                   admin_state_up=router.admin_state_up, external_gateway_info=gateway or {})
        # an interface on an upstream external subnet (the gateway's own network) is the gateway's business
        wanted = {b for b in (self._backend(s, "subnet") for s in router.subnets) if not b.startswith(EXTERNAL)}
        have = set()
        for port in self._call("router ports", lambda: list(self._neutron.ports(
                device_id=found.id, device_owner="network:router_interface"))):
            have |= {ip["subnet_id"] for ip in port.fixed_ips or []}
        for subnet_id in sorted(wanted - have):
            self._call("router add interface", self._neutron.add_interface_to_router, found, subnet_id=subnet_id)
        for subnet_id in sorted(have - wanted):
            self._call("router remove interface", self._neutron.remove_interface_from_router, found,
                       subnet_id=subnet_id)
        routes = [{"destination": d, "nexthop": n} for d, n in router.routes]
        if sorted(map(str, found.routes or [])) != sorted(map(str, routes)):
            self._call("router update", self._neutron.update_router, found.id, routes=routes)
        gateway_ips = [ip.get("ip_address") for ip in ((found.external_gateway_info or {}).get(
            "external_fixed_ips") or [])]
        return Realised(backend_id=found.id, extra={"gateway_ips": gateway_ips})

    def remove_router(self, ctx: CallContext, router: Ref) -> None:
        if router.backend_id:
            try:
                found = self._call("router show", self._neutron.get_router, router.backend_id)
            except NotFound:
                return
            for port in self._call("router ports", lambda: list(self._neutron.ports(
                    device_id=found.id, device_owner="network:router_interface"))):
                for ip in port.fixed_ips or []:
                    try:
                        self._call("router remove interface", self._neutron.remove_interface_from_router, found,
                                   subnet_id=ip["subnet_id"])
                    except NotFound:
                        pass
        self._remove("router", router)

    # -- floating IPs ---------------------------------------------------------------------
    def apply_floating_ip(self, ctx: CallContext, floating_ip: FloatingIpSpec) -> FloatingIpRealised:
        network_id = self._backend(floating_ip.floating_network, "network")
        port_id = self._backend(floating_ip.port, "port") if floating_ip.port is not None else None
        found = self._existing("floating_ip", floating_ip)
        if found is None:
            args: dict[str, Any] = {"floating_network_id": network_id,
                                    "description": description(floating_ip.id, floating_ip.project_id)}
            if floating_ip.floating_ip_address:
                args["floating_ip_address"] = floating_ip.floating_ip_address
            if port_id:
                args["port_id"] = port_id
                if floating_ip.fixed_ip_address:
                    args["fixed_ip_address"] = floating_ip.fixed_ip_address
            found = self._call("floating IP create", self._neutron.create_ip, **args)
        elif found.port_id != port_id:
            changes: dict[str, Any] = {"port_id": port_id}
            if port_id and floating_ip.fixed_ip_address:
                changes["fixed_ip_address"] = floating_ip.fixed_ip_address
            found = self._call("floating IP update", self._neutron.update_ip, found.id, **changes)
        return FloatingIpRealised(backend_id=found.id, floating_ip_address=found.floating_ip_address)

    def remove_floating_ip(self, ctx: CallContext, floating_ip: Ref) -> None:
        self._remove("floating_ip", floating_ip)

    # -- security groups ------------------------------------------------------------------
    def apply_security_group(self, ctx: CallContext, group: SecurityGroupSpec) -> SecurityGroupRealised:
        found = self._existing("security_group", group)
        if found is None:
            found = self._call("security group create", self._neutron.create_security_group,
                               name=f"overcast-{group.name}", stateful=group.stateful,
                               description=description(group.id, group.project_id))
        upstream_rules = self._call("security group rules", lambda: list(
            self._neutron.security_group_rules(security_group_id=found.id)))
        unmatched = {r.id: r for r in upstream_rules}
        rules: dict[str, str] = {}
        for rule in group.rules:
            shape = self._rule_shape(rule, group, found.id)
            match = next((rid for rid, r in unmatched.items() if self._upstream_shape(r) == shape), None)
            if match is None:
                made = self._call("security group rule create", self._neutron.create_security_group_rule,
                                  security_group_id=found.id, **{k: v for k, v in shape.items() if v is not None})
                match = made.id
            else:
                del unmatched[match]
            rules[rule.id] = match
        for rule_id in unmatched:
            self._call("security group rule delete", self._neutron.delete_security_group_rule, rule_id,
                       ignore_missing=True)
        return SecurityGroupRealised(backend_id=found.id, rules=rules)

    @staticmethod
    def _rule_shape(rule: SecurityGroupRuleSpec, group: SecurityGroupSpec, group_backend: str) -> dict[str, Any]:
        remote = None
        if rule.remote_group is not None:
            remote = group_backend if rule.remote_group.id == group.id else rule.remote_group.backend_id
            if remote is None:
                raise NotFound(f"The upstream has no security group for {rule.remote_group.id} yet")
        return {"direction": rule.direction, "ether_type": rule.ethertype, "protocol": rule.protocol,
                "port_range_min": rule.port_range_min, "port_range_max": rule.port_range_max,
                "remote_ip_prefix": rule.remote_ip_prefix, "remote_group_id": remote}

    @staticmethod
    def _upstream_shape(rule: Any) -> dict[str, Any]:
        return {"direction": rule.direction, "ether_type": rule.ether_type, "protocol": rule.protocol,
                "port_range_min": rule.port_range_min, "port_range_max": rule.port_range_max,
                "remote_ip_prefix": rule.remote_ip_prefix, "remote_group_id": rule.remote_group_id}

    def remove_security_group(self, ctx: CallContext, group: Ref) -> None:
        self._remove("security_group", group)
