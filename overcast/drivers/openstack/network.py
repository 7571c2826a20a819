"""The ``openstack`` driver's network family: an upstream Neutron, with the provider's IPAM.

The mapping of Overcast's objects onto Neutron (the description convention that finds an object
made before a crash, the upstream's addresses, the external network that is never removed) is
written once in :mod:`overcast.drivers.neutron_mapping`, shared with the libcloud driver's
``provider = "openstack"``; this module is its transport over openstacksdk's network proxy (each
resource read as Neutron's JSON with ``to_dict(original_names=True)``), with the passthrough's
``_call`` (its error translation and operation context), the upstream's external network (found
by name, else the first external network: the service account cannot make one) and headroom.
"""

from __future__ import annotations

import builtins
from typing import Any, Callable

from overcast.drivers.context import CallContext
from overcast.drivers.errors import InvalidRequest, NotFound
from overcast.drivers.headroom import Headroom
from overcast.drivers.neutron_mapping import EXTERNAL, NeutronMapping, described_id, description
from overcast.drivers.openstack.upstream import Upstream, as_limit

__all__ = ["EXTERNAL", "OpenStackNetworkDriver", "described_id", "description"]

#: kind -> openstacksdk's name for it in the proxy's methods (``networks``/``get_network``...)
_LISTS = {"network": "networks", "subnet": "subnets", "port": "ports", "router": "routers",
          "floating_ip": "ips", "security_group": "security_groups"}
_ONE = {"floating_ip": "ip"}
#: kind -> how an operation on it is named in errors
_WHAT = {"floating_ip": "floating IP", "security_group": "security group"}
#: Neutron's quota name -> the attribute of openstacksdk's ``QuotaDetails`` that carries it
_QUOTAS = {"network": "networks", "subnet": "subnets", "port": "ports", "router": "routers",
           "floatingip": "floating_ips", "security_group": "security_groups",
           "security_group_rule": "security_group_rules"}


def _json(resource: Any) -> dict[str, Any]:
    """An openstacksdk resource as Neutron's JSON (the API's field names)."""
    return dict(resource.to_dict(headers=False, computed=False, original_names=True))


class OpenStackNetworkDriver(NeutronMapping):
    """Networks, subnets, ports, routers, floating IPs and security groups of an upstream Neutron."""

    who = "upstream"
    reports_headroom = True

    def __init__(self, upstream: Upstream) -> None:
        self.upstream = upstream

    @property
    def _neutron(self) -> Any:
        return self.upstream.conn.network

    def _call(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return self.upstream.call(fn, *args, what=what, **kwargs)

    # -- the transport ----------------------------------------------------------------------
    def _method(self, verb: str, kind: str) -> Any:
        return getattr(self._neutron, f"{verb}_{_ONE.get(kind, kind)}")

    def _list(self, kind: str, **filters: Any) -> builtins.list[dict[str, Any]]:
        lister = getattr(self._neutron, _LISTS[kind])
        return self._call(f"{_WHAT.get(kind, kind)} list",
                          lambda: [_json(o) for o in lister(**filters, **self.upstream.paged())])

    def _show(self, kind: str, backend_id: str) -> dict[str, Any]:
        return _json(self._call(f"{_WHAT.get(kind, kind)} show", self._method("get", kind), backend_id))

    def _create(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        return _json(self._call(f"{_WHAT.get(kind, kind)} create", self._method("create", kind), **body))

    def _update(self, kind: str, backend_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return _json(self._call(f"{_WHAT.get(kind, kind)} update", self._method("update", kind), backend_id,
                                **body))

    def _delete(self, kind: str, backend_id: str) -> None:
        try:
            self._call(f"{_WHAT.get(kind, kind)} delete", self._method("delete", kind), backend_id,
                       ignore_missing=True)
        except NotFound:
            return

    def _interface(self, router_id: str, subnet_id: str, *, add: bool) -> None:
        if add:
            self._call("router add interface", self._neutron.add_interface_to_router, router_id,
                       subnet_id=subnet_id)
        else:
            self._call("router remove interface", self._neutron.remove_interface_from_router, router_id,
                       subnet_id=subnet_id)

    def _rules(self, group_id: str) -> builtins.list[dict[str, Any]]:
        return self._call("security group rules", lambda: [
            _json(r) for r in self._neutron.security_group_rules(security_group_id=group_id)])

    def _create_rule(self, body: dict[str, Any]) -> str:
        return str(self._call("security group rule create", self._neutron.create_security_group_rule, **body).id)

    def _delete_rule(self, rule_id: str) -> None:
        self._call("security group rule delete", self._neutron.delete_security_group_rule, rule_id,
                   ignore_missing=True)

    def _external(self, name: str) -> dict[str, Any]:
        external = self._call("network list", lambda: [
            _json(n) for n in self._neutron.networks(is_router_external=True)])
        if not external:
            raise InvalidRequest("The upstream cloud has no external network")
        return next((n for n in external if n.get("name") == name), external[0])

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

    def close(self) -> None:
        self.upstream.close()
