"""Overcast's network objects mapped onto a Neutron, written once for every transport to one.

Two drivers speak to a Neutron: the ``openstack`` passthrough (openstacksdk's network proxy,
decision 0041) and the libcloud driver's ``provider = "openstack"`` (libcloud's Neutron
connection, decision 0075). What they do with it is the same, so it lives here, over Neutron's own
JSON (dicts keyed by the API's field names: ``admin_state_up``, ``ethertype``, ``binding:host_id``...):
each driver implements the few primitives at the bottom of :class:`NeutronMapping` (list, show,
create, update, delete of a kind; a router's interface; a group's rules) and keeps what is its own
(the external network lookup, headroom, error translation).

The conventions: each object is made with a description naming the Overcast object and project
(``overcast-key:ID overcast-project:PROJECT``), so applying a spec whose backend id Overcast has not
recorded yet (a crash between the call and its record) finds the object by that description in one
filtered list instead of making a second one. Addresses are the Neutron's
(:attr:`AddressOwner.PROVIDER`): a port or floating IP comes back with what Neutron chose and
Overcast records it. An external network is the Neutron's own and never removed.

This module imports neither openstacksdk nor libcloud.
"""

from __future__ import annotations

import builtins
from typing import Any

from overcast.drivers.context import CallContext
from overcast.drivers.errors import InvalidRequest, NotFound
from overcast.drivers.network import (KINDS, AddressOwner, BackendObject, Capability, FixedIp, FloatingIpRealised,
                                      FloatingIpSpec, NetworkDriver, NetworkSpec, PortBinding, PortSpec, Realised,
                                      Ref, RouterSpec, SecurityGroupRealised, SecurityGroupRuleSpec,
                                      SecurityGroupSpec, SubnetSpec)
from overcast.drivers.openstack.upstream import KEY_TAG, PROJECT_TAG

#: the backend id of an external network's subnet the account cannot see
EXTERNAL = "upstream-external-subnet:"
#: the fields of a security group rule that make it the same rule (Neutron's names)
RULE_FIELDS = ("direction", "ethertype", "protocol", "port_range_min", "port_range_max", "remote_ip_prefix",
               "remote_group_id")


def description(object_id: str, project_id: str) -> str:
    return f"{KEY_TAG}{object_id} {PROJECT_TAG}{project_id or '-'}"


def described_id(text: Any) -> str | None:
    """The Overcast id a description written by :func:`description` names, else None."""
    first = str(text or "").split(" ", 1)[0]
    return first[len(KEY_TAG):] if first.startswith(KEY_TAG) else None


class NeutronMapping(NetworkDriver):
    """apply/remove of networks, subnets, ports, routers, floating IPs and security groups over a
    Neutron's JSON; a subclass supplies the transport (the primitives below) and :meth:`_external`."""

    capabilities = frozenset(Capability)
    addresses = AddressOwner.PROVIDER
    #: how messages and ``extra`` keys name the cloud behind the driver ("upstream", "provider")
    who = "upstream"

    # -- the transport: each driver implements these over its client --------------------------
    def _list(self, kind: str, **filters: Any) -> builtins.list[dict[str, Any]]:
        """Every object of ``kind`` (every page) matching Neutron's query ``filters``."""
        raise NotImplementedError

    def _show(self, kind: str, backend_id: str) -> dict[str, Any]:
        """One object; NotFound when it is gone."""
        raise NotImplementedError

    def _create(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def _update(self, kind: str, backend_id: str, body: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def _delete(self, kind: str, backend_id: str) -> None:
        """Delete one object; one already gone is no error."""
        raise NotImplementedError

    def _interface(self, router_id: str, subnet_id: str, *, add: bool) -> None:
        """Add (or remove) the router's interface on a subnet."""
        raise NotImplementedError

    def _rules(self, group_id: str) -> builtins.list[dict[str, Any]]:
        raise NotImplementedError

    def _create_rule(self, body: dict[str, Any]) -> str:
        """Make a security group rule; its id."""
        raise NotImplementedError

    def _delete_rule(self, rule_id: str) -> None:
        """Delete a security group rule; one already gone is no error."""
        raise NotImplementedError

    def _external(self, name: str) -> dict[str, Any]:
        """The Neutron's external network called ``name``, else its first; InvalidRequest if none."""
        raise NotImplementedError

    # -- the conventions ------------------------------------------------------------------------
    def _existing(self, kind: str, spec: Any) -> dict[str, Any] | None:
        """The object made for ``spec``: by its backend id, else by its description."""
        if spec.backend_id:
            try:
                return self._show(kind, spec.backend_id)
            except NotFound:
                pass
        found = self._list(kind, description=description(spec.id, spec.project_id))
        return found[0] if found else None

    def _remove(self, kind: str, ref: Ref) -> None:
        target = ref.backend_id
        if target is None:
            found = [o for o in self._list(kind) if described_id(o.get("description")) == ref.id]
            if not found:
                return
            target = str(found[0]["id"])
        self._delete(kind, target)

    def _backend(self, ref: Ref | None, what: str) -> str:
        if ref is None or not ref.backend_id:
            raise NotFound(f"The {self.who} has no {what} for {ref.id if ref else '?'} yet")
        return ref.backend_id

    def _ours(self, kind: str, backend_id: str, object_id: str) -> bool:
        """Whether the object was made for ``object_id`` (False: gone, or the Neutron's own)."""
        try:
            return described_id(self._show(kind, backend_id).get("description")) == object_id
        except NotFound:
            return False

    # -- networks, subnets, ports ---------------------------------------------------------------
    def apply_network(self, ctx: CallContext, network: NetworkSpec) -> Realised:
        if network.external:
            chosen = self._external(network.name)
            return Realised(backend_id=str(chosen["id"]), extra={f"{self.who}_external": True})
        found = self._existing("network", network)
        if found is None:
            found = self._create("network", {"name": network.name, "admin_state_up": network.admin_state_up,
                                             "description": description(network.id, network.project_id)})
        elif (found.get("name"), found.get("admin_state_up")) != (network.name, network.admin_state_up):
            found = self._update("network", str(found["id"]), {"name": network.name,
                                                               "admin_state_up": network.admin_state_up})
        return Realised(backend_id=str(found["id"]), extra={"mtu": found.get("mtu")})

    def remove_network(self, ctx: CallContext, network: Ref) -> None:
        if network.backend_id and not self._ours("network", network.backend_id, network.id):
            return  # gone, or the Neutron's own (external) network: not ours to remove
        self._remove("network", network)

    def apply_subnet(self, ctx: CallContext, subnet: SubnetSpec) -> Realised:
        network_id = self._backend(subnet.network, "network")
        if described_id(self._show("network", network_id).get("description")) != subnet.network.id:
            # a subnet of the external network: its own, if the account can see it (Neutron
            # shows an external network's subnets to their owner only)
            theirs = self._list("subnet", network_id=network_id)
            external = f"{self.who}_external"
            if not theirs:
                return Realised(backend_id=f"{EXTERNAL}{network_id}", extra={external: True, "cidr": None})
            chosen = next((s for s in theirs if s.get("cidr") == subnet.cidr), theirs[0])
            return Realised(backend_id=str(chosen["id"]), extra={external: True, "cidr": chosen.get("cidr")})
        found = self._existing("subnet", subnet)
        if found is None:
            body: dict[str, Any] = {"network_id": network_id, "cidr": subnet.cidr, "ip_version": subnet.ip_version,
                                    "gateway_ip": subnet.gateway_ip, "enable_dhcp": subnet.enable_dhcp,
                                    "description": description(subnet.id, subnet.project_id)}
            if subnet.allocation_pools:
                body["allocation_pools"] = [{"start": a, "end": b} for a, b in subnet.allocation_pools]
            found = self._create("subnet", body)
        return Realised(backend_id=str(found["id"]))

    def remove_subnet(self, ctx: CallContext, subnet: Ref) -> None:
        if subnet.backend_id and (subnet.backend_id.startswith(EXTERNAL)
                                  or not self._ours("subnet", subnet.backend_id, subnet.id)):
            return
        self._remove("subnet", subnet)

    def bind_port(self, ctx: CallContext, port: PortSpec) -> PortBinding:
        network_id = self._backend(port.network, "network")
        fixed = []
        for address in port.fixed_ips:
            subnet_id = self._backend(address.subnet, "subnet")
            if subnet_id.startswith(EXTERNAL):  # a subnet the account cannot see: any address of the network
                continue
            fixed.append({"subnet_id": subnet_id, **({"ip_address": address.ip_address} if address.ip_address else {})})
        groups = [self._backend(g, "security group") for g in port.security_groups]
        found = self._existing("port", port)
        if found is None:
            body: dict[str, Any] = {"network_id": network_id, "admin_state_up": port.admin_state_up,
                                    "description": description(port.id, port.project_id)}
            if fixed:
                body["fixed_ips"] = fixed
            if port.mac_address:
                body["mac_address"] = port.mac_address
            if port.port_security_enabled:
                body["security_groups"] = groups
            else:
                body["port_security_enabled"] = False
            found = self._create("port", body)
        elif port.port_security_enabled and sorted(found.get("security_groups") or []) != sorted(groups):
            found = self._update("port", str(found["id"]), {"security_groups": groups})
        by_backend = {a.subnet.backend_id: a.subnet.id for a in port.fixed_ips}
        addresses = tuple(FixedIp(subnet=Ref(id=by_backend.get(ip["subnet_id"], ""), backend_id=ip["subnet_id"]),
                                  ip_address=ip.get("ip_address")) for ip in found.get("fixed_ips") or [])
        # the Neutron decides where a port is wired (when its server boots there); until then it
        # is bound to the host Overcast asked for, or to the cloud as a whole
        return PortBinding(backend_id=str(found["id"]), host=found.get("binding:host_id") or port.host or self.who,
                           vif_type=found.get("binding:vif_type") or "unbound",
                           active=str(found.get("status") or "").upper() != "ERROR",
                           mac_address=found.get("mac_address"), fixed_ips=addresses,
                           extra={f"{self.who}_status": found.get("status")})

    def unbind_port(self, ctx: CallContext, port: Ref) -> None:
        self._remove("port", port)

    def list_objects(self, ctx: CallContext, kind: str) -> builtins.list[BackendObject]:
        if kind not in KINDS:
            raise InvalidRequest(f"Unknown kind {kind!r}")
        return [BackendObject(kind=kind, id=object_id, backend_id=str(item["id"])) for item in self._list(kind)
                if (object_id := described_id(item.get("description"))) is not None]

    # -- routers --------------------------------------------------------------------------------
    def _interfaces(self, router_id: str) -> set[str]:
        ports = self._list("port", device_id=router_id, device_owner="network:router_interface")
        return {ip["subnet_id"] for p in ports for ip in p.get("fixed_ips") or []}

    def apply_router(self, ctx: CallContext, router: RouterSpec) -> Realised:
        gateway: dict[str, Any] | None = None
        if router.external_network is not None:
            gateway = {"network_id": self._backend(router.external_network, "network")}
            if not router.enable_snat:  # Neutron lets only an admin say it: only when it differs
                gateway["enable_snat"] = False
        found = self._existing("router", router)
        if found is None:
            found = self._create("router", {"name": router.name, "admin_state_up": router.admin_state_up,
                                            "external_gateway_info": gateway,
                                            "description": description(router.id, router.project_id)})
        elif ((found.get("external_gateway_info") or {}).get("network_id") != (gateway or {}).get("network_id")
              or found.get("name") != router.name or found.get("admin_state_up") != router.admin_state_up):
            found = self._update("router", str(found["id"]), {"name": router.name,
                                                              "admin_state_up": router.admin_state_up,
                                                              "external_gateway_info": gateway or {}})
        router_id = str(found["id"])
        # an interface on an external subnet (the gateway's own network) is the gateway's business
        wanted = {b for b in (self._backend(s, "subnet") for s in router.subnets) if not b.startswith(EXTERNAL)}
        have = self._interfaces(router_id)
        for subnet_id in sorted(wanted - have):
            self._interface(router_id, subnet_id, add=True)
        for subnet_id in sorted(have - wanted):
            self._interface(router_id, subnet_id, add=False)
        routes = [{"destination": d, "nexthop": n} for d, n in router.routes]
        if sorted(map(str, found.get("routes") or [])) != sorted(map(str, routes)):
            self._update("router", router_id, {"routes": routes})
        gateway_ips = [ip.get("ip_address") for ip in
                       (found.get("external_gateway_info") or {}).get("external_fixed_ips") or []]
        return Realised(backend_id=router_id, extra={"gateway_ips": gateway_ips})

    def remove_router(self, ctx: CallContext, router: Ref) -> None:
        if router.backend_id:
            try:
                interfaces = self._interfaces(self._show("router", router.backend_id)["id"])
            except NotFound:
                return
            for subnet_id in sorted(interfaces):
                try:
                    self._interface(router.backend_id, subnet_id, add=False)
                except NotFound:
                    pass
        self._remove("router", router)

    # -- floating IPs -----------------------------------------------------------------------------
    def apply_floating_ip(self, ctx: CallContext, floating_ip: FloatingIpSpec) -> FloatingIpRealised:
        network_id = self._backend(floating_ip.floating_network, "network")
        port_id = self._backend(floating_ip.port, "port") if floating_ip.port is not None else None
        found = self._existing("floating_ip", floating_ip)
        if found is None:
            body: dict[str, Any] = {"floating_network_id": network_id,
                                    "description": description(floating_ip.id, floating_ip.project_id)}
            if floating_ip.floating_ip_address:
                body["floating_ip_address"] = floating_ip.floating_ip_address
            if port_id:
                body["port_id"] = port_id
                if floating_ip.fixed_ip_address:
                    body["fixed_ip_address"] = floating_ip.fixed_ip_address
            found = self._create("floating_ip", body)
        elif found.get("port_id") != port_id:
            changes: dict[str, Any] = {"port_id": port_id}
            if port_id and floating_ip.fixed_ip_address:
                changes["fixed_ip_address"] = floating_ip.fixed_ip_address
            found = self._update("floating_ip", str(found["id"]), changes)
        return FloatingIpRealised(backend_id=str(found["id"]), floating_ip_address=found.get("floating_ip_address"))

    def remove_floating_ip(self, ctx: CallContext, floating_ip: Ref) -> None:
        self._remove("floating_ip", floating_ip)

    # -- security groups --------------------------------------------------------------------------
    def apply_security_group(self, ctx: CallContext, group: SecurityGroupSpec) -> SecurityGroupRealised:
        found = self._existing("security_group", group)
        if found is None:
            found = self._create("security_group", {"name": f"overcast-{group.name}", "stateful": group.stateful,
                                                    "description": description(group.id, group.project_id)})
        group_id = str(found["id"])
        unmatched = {str(r["id"]): r for r in self._rules(group_id)}
        rules: dict[str, str] = {}
        for rule in group.rules:
            shape = self._shape(rule, group, group_id)
            match = next((rid for rid, r in unmatched.items() if {k: r.get(k) for k in RULE_FIELDS} == shape), None)
            if match is None:
                match = self._create_rule({"security_group_id": group_id,
                                           **{k: v for k, v in shape.items() if v is not None}})
            else:
                del unmatched[match]
            rules[rule.id] = match
        for rule_id in unmatched:
            self._delete_rule(rule_id)
        return SecurityGroupRealised(backend_id=group_id, rules=rules)

    def _shape(self, rule: SecurityGroupRuleSpec, group: SecurityGroupSpec, group_backend: str) -> dict[str, Any]:
        remote = None
        if rule.remote_group is not None:
            remote = group_backend if rule.remote_group.id == group.id else rule.remote_group.backend_id
            if remote is None:
                raise NotFound(f"The {self.who} has no security group for {rule.remote_group.id} yet")
        return {"direction": rule.direction, "ethertype": rule.ethertype, "protocol": rule.protocol,
                "port_range_min": rule.port_range_min, "port_range_max": rule.port_range_max,
                "remote_ip_prefix": rule.remote_ip_prefix, "remote_group_id": remote}

    def remove_security_group(self, ctx: CallContext, group: Ref) -> None:
        self._remove("security_group", group)
