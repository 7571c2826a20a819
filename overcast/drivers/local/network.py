"""The local cloud's network: thin bookkeeping of what Overcast realised, in its own SQLite file.

Overcast's store and IPAM decide everything; this driver records each realised object (so it
survives a restart), checks references (a subnet or port on a network it never saw is
``NotFound``) and refuses a MAC or address already wired on the same network (``Conflict``),
as a real switch would. Ports bind to the local hypervisor host with an ``ovs`` VIF.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

from overcast.drivers.errors import Conflict, NotFound
from overcast.drivers.network import (Capability, FloatingIpSpec, NetworkDriver, NetworkSpec, PortBinding,
                                      PortSpec, RouterSpec, SecurityGroupSpec, SubnetSpec)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS realised (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    network_id TEXT,
    body TEXT NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE INDEX IF NOT EXISTS ix_realised_network ON realised (kind, network_id);
CREATE TABLE IF NOT EXISTS wired (
    network_id TEXT NOT NULL,
    address TEXT NOT NULL,
    port_id TEXT NOT NULL,
    PRIMARY KEY (network_id, address)
);
CREATE INDEX IF NOT EXISTS ix_wired_port ON wired (port_id);
"""


class LocalNetworkDriver(NetworkDriver):
    """Routers, floating IPs and security groups, all recorded; ports bound to ``host``."""

    capabilities = frozenset(Capability)

    def __init__(self, path: Path, host: str = "overcast-local-1") -> None:
        self.host = host
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- bookkeeping -------------------------------------------------------------------------
    def _put(self, kind: str, item_id: str, spec: Any, network_id: str | None = None) -> None:
        with self._lock:
            self._conn.execute("INSERT OR REPLACE INTO realised (kind, id, network_id, body) VALUES (?, ?, ?, ?)",
                               (kind, item_id, network_id, json.dumps(dataclasses.asdict(spec))))

    def _drop(self, kind: str, item_id: str) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM realised WHERE kind = ? AND id = ?", (kind, item_id))

    def _has(self, kind: str, item_id: str) -> bool:
        with self._lock:
            return self._conn.execute("SELECT 1 FROM realised WHERE kind = ? AND id = ?",
                                      (kind, item_id)).fetchone() is not None

    def _require_network(self, network_id: str) -> None:
        if not self._has("network", network_id):
            raise NotFound(f"local: network {network_id} was never applied")

    # -- networks, subnets, ports ---------------------------------------------------------------
    def apply_network(self, network: NetworkSpec) -> None:
        self._put("network", network.id, network, network.id)

    def remove_network(self, network_id: str) -> None:
        with self._lock:
            in_use = self._conn.execute("SELECT 1 FROM realised WHERE kind = 'port' AND network_id = ?",
                                        (network_id,)).fetchone()
        if in_use:
            raise Conflict(f"local: network {network_id} still has ports")
        self._drop("network", network_id)

    def apply_subnet(self, subnet: SubnetSpec) -> None:
        self._require_network(subnet.network_id)
        self._put("subnet", subnet.id, subnet, subnet.network_id)

    def remove_subnet(self, subnet_id: str) -> None:
        self._drop("subnet", subnet_id)

    def bind_port(self, port: PortSpec, host: str | None = None) -> PortBinding:
        self._require_network(port.network_id)
        addresses = [port.mac_address, *port.fixed_ips]
        with self._lock:
            marks = ",".join("?" * len(addresses))
            clash = self._conn.execute(
                f"SELECT address FROM wired WHERE network_id = ? AND address IN ({marks}) AND port_id != ?",
                (port.network_id, *addresses, port.id)).fetchone()
            if clash is not None:
                what = "MAC" if clash[0] == port.mac_address else "address"
                raise Conflict(f"local: {what} {clash[0]} is already wired on network {port.network_id}")
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.execute("DELETE FROM wired WHERE port_id = ?", (port.id,))
                self._conn.executemany("INSERT INTO wired (network_id, address, port_id) VALUES (?, ?, ?)",
                                       [(port.network_id, a, port.id) for a in addresses])
                self._conn.execute("INSERT OR REPLACE INTO realised (kind, id, network_id, body) VALUES "
                                   "('port', ?, ?, ?)", (port.id, port.network_id,
                                                         json.dumps(dataclasses.asdict(port))))
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return PortBinding(host=host or self.host, vif_type="ovs", active=True)

    def unbind_port(self, port_id: str) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM wired WHERE port_id = ?", (port_id,))
        self._drop("port", port_id)

    # -- routers, floating IPs, security groups ----------------------------------------------------
    def apply_router(self, router: RouterSpec) -> None:
        if router.external_network_id:
            self._require_network(router.external_network_id)
        for subnet_id in router.subnet_ids:
            if not self._has("subnet", subnet_id):
                raise NotFound(f"local: subnet {subnet_id} was never applied")
        self._put("router", router.id, router)

    def remove_router(self, router_id: str) -> None:
        self._drop("router", router_id)

    def apply_floating_ip(self, floating_ip: FloatingIpSpec) -> None:
        self._require_network(floating_ip.floating_network_id)
        if floating_ip.router_id and not self._has("router", floating_ip.router_id):
            raise NotFound(f"local: router {floating_ip.router_id} was never applied")
        self._put("floating_ip", floating_ip.id, floating_ip)

    def remove_floating_ip(self, floating_ip_id: str) -> None:
        self._drop("floating_ip", floating_ip_id)

    def apply_security_group(self, group: SecurityGroupSpec) -> None:
        self._put("security_group", group.id, group)

    def remove_security_group(self, group_id: str) -> None:
        self._drop("security_group", group_id)
