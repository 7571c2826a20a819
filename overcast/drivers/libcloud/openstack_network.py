"""The libcloud driver's network family for ``provider = "openstack"``: the provider's Neutron
(networks, subnets, ports, routers, floating IPs, security groups) through libcloud's OpenStack
driver (its Neutron connection, found in the catalog with the same token as Nova's).

The mapping of Overcast's objects onto Neutron is the passthrough's, written once in
:mod:`overcast.drivers.neutron_mapping` (decision 0041/0069/0075): this module is its transport over
libcloud's connection (raw JSON), with its error translation and the provider's external network
(found by name, else the first one; never removed). Lists follow every page (Neutron's
``<kind>_links`` marker).
"""

from __future__ import annotations

import builtins
from typing import Any
from urllib.parse import quote

from overcast.drivers.errors import InvalidRequest, NotFound
from overcast.drivers.libcloud.errors import translated
from overcast.drivers.libcloud.paging import every_page
from overcast.drivers.libcloud.providers import DriverPool, LibcloudSettings
from overcast.drivers.neutron_mapping import NeutronMapping

#: kind -> (Neutron's collection path, its JSON list key, its JSON object key)
_PATHS = {"network": ("networks", "networks", "network"), "subnet": ("subnets", "subnets", "subnet"),
          "port": ("ports", "ports", "port"), "router": ("routers", "routers", "router"),
          "floating_ip": ("floatingips", "floatingips", "floatingip"),
          "security_group": ("security-groups", "security_groups", "security_group")}


class LibcloudOpenStackNetworkDriver(NeutronMapping):
    """Neutron through libcloud's OpenStack driver."""

    who = "provider"

    def __init__(self, settings: LibcloudSettings, pool: DriverPool) -> None:
        self.settings = settings
        self._pool = pool

    # -- requests -------------------------------------------------------------------------------
    def _request(self, what: str, path: str, *, method: str = "GET", data: Any = None,
                 params: dict[str, Any] | None = None) -> Any:
        with translated(what, self.settings.secrets()):
            return self._pool.get().network_connection.request(f"/v2.0/{path}", method=method, data=data,
                                                               params=params or {}).object

    def _list(self, kind: str, **filters: Any) -> builtins.list[dict[str, Any]]:
        path, key, _ = _PATHS[kind]
        return every_page(lambda page: self._request(f"{kind} list", path, params=page), key, filters,
                          self.settings.page_size)

    def _show(self, kind: str, backend_id: str) -> dict[str, Any]:
        path, _, one = _PATHS[kind]
        return dict(self._request(f"{kind} show", f"{path}/{quote(backend_id, safe='')}")[one])

    def _create(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        path, _, one = _PATHS[kind]
        return dict(self._request(f"{kind} create", path, method="POST", data={one: body})[one])

    def _update(self, kind: str, backend_id: str, body: dict[str, Any]) -> dict[str, Any]:
        path, _, one = _PATHS[kind]
        return dict(self._request(f"{kind} update", f"{path}/{quote(backend_id, safe='')}", method="PUT",
                                  data={one: body})[one])

    def _delete(self, kind: str, backend_id: str) -> None:
        try:
            self._request(f"{kind} delete", f"{_PATHS[kind][0]}/{quote(backend_id, safe='')}", method="DELETE")
        except NotFound:
            return

    def _interface(self, router_id: str, subnet_id: str, *, add: bool) -> None:
        action = "add_router_interface" if add else "remove_router_interface"
        self._request(f"router {action}", f"routers/{quote(router_id, safe='')}/{action}", method="PUT",
                      data={"subnet_id": subnet_id})

    def _rules(self, group_id: str) -> builtins.list[dict[str, Any]]:
        answer = self._request("security group rules", "security-group-rules",
                               params={"security_group_id": group_id})
        return builtins.list(answer.get("security_group_rules") or [])

    def _create_rule(self, body: dict[str, Any]) -> str:
        made = self._request("security group rule create", "security-group-rules", method="POST",
                             data={"security_group_rule": body})
        return str(made["security_group_rule"]["id"])

    def _delete_rule(self, rule_id: str) -> None:
        try:
            self._request("security group rule delete", f"security-group-rules/{quote(rule_id, safe='')}",
                          method="DELETE")
        except NotFound:
            pass

    def _external(self, name: str) -> dict[str, Any]:
        external = self._list("network", **{"router:external": "true"})
        if not external:
            raise InvalidRequest("The provider has no external network")
        return next((n for n in external if n.get("name") == name), external[0])
