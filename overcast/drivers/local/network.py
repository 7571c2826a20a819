"""The local cloud's network: a simulated switch fabric that keeps what it made in its own SQLite
file (``<data_dir>/local-network.db``), apart from Overcast's records.

It behaves as a backend Overcast does not own would: every object gets a backend id of its own
(``Realised.backend_id``), tagged with the Overcast id it was made for, so a create retried after
a crash finds it again; it refuses a subnet or port on a network it does not have (``NotFound``),
a MAC or address another port still has wired on the same network (``Conflict``, as a switch with
a stale entry would) and the removal of a network that still has ports (``Conflict``). Ports are
wired to a hypervisor host with an ``ovs`` VIF.

Who owns addresses is an option: ``overcast`` (the default: Overcast's IPAM decides, the fabric
wires what it is given) or ``provider`` (the fabric picks MACs, fixed IPs and floating IP
addresses itself, lowest free first, as an upstream OpenStack or EC2 would), so the provider-owned
path of the contract runs against a real backend in tests.

Every read-check-write is one ``BEGIN IMMEDIATE`` transaction on a thread-local connection
(:class:`~overcast.drivers.local.store.LocalStore`), so several processes sharing the file
(``overcast serve`` plus ``overcast worker``) never wire one address twice.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import random
import sqlite3
import uuid
from pathlib import Path
from typing import Any

from overcast.drivers.context import CallContext
from overcast.drivers.errors import Conflict, InvalidRequest, NotFound
from overcast.drivers.local.store import LocalStore
from overcast.drivers.network import (QOS_RULE_TYPES, KINDS, AddressOwner, BackendObject, Capability, FixedIp, FloatingIpRealised,
                                      FloatingIpSpec, NetworkDriver, NetworkSpec, PortBinding, PortSpec, Realised,
                                      Ref, RouterSpec, SecurityGroupRealised, SecurityGroupSpec, SubnetSpec)

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
-- every object the fabric holds: its own id, and the Overcast id it was made for (the tag)
CREATE TABLE IF NOT EXISTS net_object (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    backend_id TEXT NOT NULL UNIQUE,
    network TEXT,
    project_id TEXT NOT NULL DEFAULT '',
    body TEXT NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE INDEX IF NOT EXISTS ix_net_object_network ON net_object (kind, network);
-- the MACs and addresses wired on each network (backend ids), and the port holding each
CREATE TABLE IF NOT EXISTS net_wiring (
    network TEXT NOT NULL,
    address TEXT NOT NULL,
    port TEXT NOT NULL,
    PRIMARY KEY (network, address)
);
CREATE INDEX IF NOT EXISTS ix_net_wiring_port ON net_wiring (port);
-- the bookkeeping of earlier versions (keyed by Overcast ids): superseded; the reconciler
-- re-applies whatever the store has
DROP TABLE IF EXISTS realised;
DROP TABLE IF EXISTS wired;
"""

MAC_PREFIX = "fa:16:3e"
_rng = random.SystemRandom()


class _NetworkStore(LocalStore):
    schema = SCHEMA


class LocalNetworkDriver(NetworkDriver):
    """Routers, floating IPs and security groups, all recorded; ports wired to ``host``."""

    capabilities = frozenset(Capability)
    #: recorded with their policies, applied to no traffic (docs/decisions/0053-qos-and-rbac.md)
    qos_rule_types = frozenset(QOS_RULE_TYPES)

    def __init__(self, path: Path, host: str = "overcast-local-1",
                 addresses: AddressOwner | str = AddressOwner.OVERCAST) -> None:
        self.host = host
        self.addresses = AddressOwner(addresses)
        self.store = _NetworkStore(Path(path))

    def close(self) -> None:
        self.store.close()

    # -- bookkeeping -------------------------------------------------------------------------
    @staticmethod
    def _find(conn: sqlite3.Connection, kind: str, ref: Ref | str) -> sqlite3.Row | None:
        """The object made for this Overcast id (or holding this backend id)."""
        if isinstance(ref, str):
            ref = Ref(ref)
        row = conn.execute("SELECT * FROM net_object WHERE kind = ? AND id = ?", (kind, ref.id)).fetchone()
        if row is None and ref.backend_id:
            row = conn.execute("SELECT * FROM net_object WHERE kind = ? AND backend_id = ?",
                               (kind, ref.backend_id)).fetchone()
        return row

    def _need(self, conn: sqlite3.Connection, kind: str, ref: Ref) -> sqlite3.Row:
        row = self._find(conn, kind, ref)
        if row is None:
            raise NotFound(f"local: the fabric has no {kind} {ref.backend_id or ref.id}")
        return row

    def _put(self, conn: sqlite3.Connection, kind: str, spec: Any, network: str | None = None,
             body: dict[str, Any] | None = None) -> str:
        """Insert or update the object made for ``spec.id``; returns its backend id."""
        row = self._find(conn, kind, Ref(spec.id, spec.backend_id))
        backend_id = row["backend_id"] if row is not None else f"local-{kind.replace('_', '-')}-{uuid.uuid4()}"
        text = json.dumps(body if body is not None else dataclasses.asdict(spec), default=str)
        conn.execute("INSERT INTO net_object (kind, id, backend_id, network, project_id, body) VALUES (?, ?, ?, ?, ?, ?) "
                     "ON CONFLICT (kind, id) DO UPDATE SET network = excluded.network, body = excluded.body",
                     (kind, spec.id, backend_id, network, spec.project_id or "", text))
        return backend_id

    def _drop(self, kind: str, ref: Ref) -> None:
        with self.store.write() as conn:
            row = self._find(conn, kind, ref)
            if row is not None:
                conn.execute("DELETE FROM net_object WHERE kind = ? AND id = ?", (kind, row["id"]))

    def list_objects(self, ctx: CallContext, kind: str) -> list[BackendObject]:
        if kind not in KINDS:
            raise InvalidRequest(f"local: no such kind of network object: {kind}")
        with self.store.read() as conn:
            rows = conn.execute("SELECT id, backend_id FROM net_object WHERE kind = ? ORDER BY id", (kind,)).fetchall()
        return [BackendObject(kind=kind, id=row["id"], backend_id=row["backend_id"]) for row in rows]

    # -- networks and subnets ---------------------------------------------------------------------
    def apply_network(self, ctx: CallContext, network: NetworkSpec) -> Realised:
        with self.store.write() as conn:
            backend_id = self._put(conn, "network", network)
            conn.execute("UPDATE net_object SET network = backend_id WHERE kind = 'network' AND id = ?", (network.id,))
        return Realised(backend_id, {"bridge": f"br-{backend_id[-11:]}"})

    def remove_network(self, ctx: CallContext, network: Ref) -> None:
        with self.store.write() as conn:
            row = self._find(conn, "network", network)
            if row is None:
                return
            if conn.execute("SELECT 1 FROM net_object WHERE kind = 'port' AND network = ? LIMIT 1",
                            (row["backend_id"],)).fetchone():
                raise Conflict(f"local: network {row['backend_id']} still has ports")
            conn.execute("DELETE FROM net_object WHERE kind = 'subnet' AND network = ?", (row["backend_id"],))
            conn.execute("DELETE FROM net_object WHERE kind = 'network' AND id = ?", (row["id"],))

    def apply_subnet(self, ctx: CallContext, subnet: SubnetSpec) -> Realised:
        try:
            ipaddress.ip_network(subnet.cidr)
        except ValueError:
            raise InvalidRequest(f"local: {subnet.cidr} is not a CIDR") from None
        with self.store.write() as conn:
            network = self._need(conn, "network", subnet.network)
            return Realised(self._put(conn, "subnet", subnet, network["backend_id"]))

    def remove_subnet(self, ctx: CallContext, subnet: Ref) -> None:
        self._drop("subnet", subnet)

    # -- ports ---------------------------------------------------------------------------------------
    def bind_port(self, ctx: CallContext, port: PortSpec) -> PortBinding:
        with self.store.write() as conn:
            network = self._need(conn, "network", port.network)["backend_id"]
            row = self._find(conn, "port", Ref(port.id, port.backend_id))
            previous = json.loads(row["body"]) if row is not None else {}
            mine = row["backend_id"] if row is not None else None
            mac = port.mac_address or previous.get("mac_address")
            if mac is None:
                mac = self._free_mac(conn, network)
            fixed = tuple(self._address(conn, network, f, mine, previous) for f in port.fixed_ips)
            wanted = [mac, *(f.ip_address for f in fixed)]
            marks = ",".join("?" * len(wanted))
            clash = conn.execute(f"SELECT address FROM net_wiring WHERE network = ? AND address IN ({marks}) "
                                 "AND port != ?", (network, *wanted, mine or "")).fetchone()
            if clash is not None:
                what = "MAC" if clash["address"] == mac else "address"
                raise Conflict(f"local: {what} {clash['address']} is still wired on network {network}")
            body = {**dataclasses.asdict(port), "mac_address": mac,
                    "fixed_ips": [{"subnet": f.subnet.id, "ip_address": f.ip_address} for f in fixed]}
            backend_id = self._put(conn, "port", port, network, body)
            conn.execute("DELETE FROM net_wiring WHERE port = ?", (backend_id,))
            conn.executemany("INSERT INTO net_wiring (network, address, port) VALUES (?, ?, ?)",
                             [(network, a, backend_id) for a in wanted])
        host = port.host or self.host
        return PortBinding(backend_id=backend_id, extra={"interface": f"tap{backend_id[-11:]}"}, host=host,
                           vif_type="ovs", active=port.admin_state_up, mac_address=mac, fixed_ips=fixed)

    def _address(self, conn: sqlite3.Connection, network: str, fixed: FixedIp, mine: str | None,
                 previous: dict[str, Any]) -> FixedIp:
        """The address to wire for ``fixed``: the one given, the one this port already has on that
        subnet, or (provider IPAM) the lowest free one in the subnet's pools."""
        if fixed.ip_address is not None:
            return fixed
        kept = [f["ip_address"] for f in previous.get("fixed_ips", []) if f["subnet"] == fixed.subnet.id]
        if kept:
            return FixedIp(fixed.subnet, kept[0])
        if self.addresses is not AddressOwner.PROVIDER:
            raise InvalidRequest("local: Overcast owns the addresses here; a fixed IP without an address")
        subnet = json.loads(self._need(conn, "subnet", fixed.subnet)["body"])
        return FixedIp(fixed.subnet, self._free_address(conn, network, subnet))

    @staticmethod
    def _free_address(conn: sqlite3.Connection, network: str, subnet: dict[str, Any]) -> str:
        """:raises Conflict: the subnet's pools are full."""
        taken = {row["address"] for row in conn.execute("SELECT address FROM net_wiring WHERE network = ?",
                                                          (network,))}
        cidr = ipaddress.ip_network(subnet["cidr"])
        pools = subnet.get("allocation_pools") or []
        ranges = [(int(ipaddress.ip_address(a)), int(ipaddress.ip_address(b))) for a, b in pools] or [
            (int(cidr.network_address) + 1, int(cidr.broadcast_address) - 1)]
        for first, last in ranges:
            for value in range(first, last + 1):
                address = str(ipaddress.ip_address(value) if cidr.version == 4 else ipaddress.IPv6Address(value))
                if address not in taken and address != subnet.get("gateway_ip"):
                    return address
        raise Conflict(f"local: no free address left on subnet {subnet['id']}")

    @staticmethod
    def _free_mac(conn: sqlite3.Connection, network: str) -> str:
        while True:
            mac = MAC_PREFIX + "".join(f":{_rng.randrange(256):02x}" for _ in range(3))
            if conn.execute("SELECT 1 FROM net_wiring WHERE network = ? AND address = ?", (network, mac)).fetchone() \
                    is None:
                return mac

    def unbind_port(self, ctx: CallContext, port: Ref) -> None:
        with self.store.write() as conn:
            row = self._find(conn, "port", port)
            if row is not None:
                conn.execute("DELETE FROM net_wiring WHERE port = ?", (row["backend_id"],))
                conn.execute("DELETE FROM net_object WHERE kind = 'port' AND id = ?", (row["id"],))

    # -- routers, floating IPs, security groups ----------------------------------------------------
    def apply_router(self, ctx: CallContext, router: RouterSpec) -> Realised:
        with self.store.write() as conn:
            network = None
            if router.external_network is not None:
                network = self._need(conn, "network", router.external_network)["backend_id"]
            for subnet in router.subnets:
                self._need(conn, "subnet", subnet)
            backend_id = self._put(conn, "router", router, network)
        return Realised(backend_id, {"namespace": f"qrouter-{backend_id[-11:]}"})

    def remove_router(self, ctx: CallContext, router: Ref) -> None:
        self._drop("router", router)

    def apply_floating_ip(self, ctx: CallContext, floating_ip: FloatingIpSpec) -> FloatingIpRealised:
        with self.store.write() as conn:
            network = self._need(conn, "network", floating_ip.floating_network)["backend_id"]
            if floating_ip.router is not None:
                self._need(conn, "router", floating_ip.router)
            if floating_ip.port is not None:
                self._need(conn, "port", floating_ip.port)
            address = floating_ip.floating_ip_address
            row = self._find(conn, "floating_ip", Ref(floating_ip.id, floating_ip.backend_id))
            if address is None and row is not None:
                address = json.loads(row["body"])["floating_ip_address"]
            if address is None:
                if self.addresses is not AddressOwner.PROVIDER:
                    raise InvalidRequest("local: Overcast owns the addresses here; a floating IP without an address")
                subnets = conn.execute("SELECT body FROM net_object WHERE kind = 'subnet' AND network = ? "
                                       "ORDER BY id", (network,)).fetchall()
                v4 = [json.loads(s["body"]) for s in subnets if json.loads(s["body"])["ip_version"] == 4]
                if not v4:
                    raise Conflict(f"local: network {network} has no IPv4 subnet for floating IPs")
                address = self._free_address(conn, network, v4[0])
            body = {**dataclasses.asdict(floating_ip), "floating_ip_address": address}
            backend_id = self._put(conn, "floating_ip", floating_ip, network, body)
            if self.addresses is AddressOwner.PROVIDER:  # the fabric's own IPAM holds the address
                conn.execute("DELETE FROM net_wiring WHERE port = ?", (backend_id,))
                conn.execute("INSERT INTO net_wiring (network, address, port) VALUES (?, ?, ?)",
                             (network, address, backend_id))
        return FloatingIpRealised(backend_id=backend_id, floating_ip_address=address)

    def remove_floating_ip(self, ctx: CallContext, floating_ip: Ref) -> None:
        with self.store.write() as conn:
            row = self._find(conn, "floating_ip", floating_ip)
            if row is not None:
                conn.execute("DELETE FROM net_wiring WHERE port = ?", (row["backend_id"],))
                conn.execute("DELETE FROM net_object WHERE kind = 'floating_ip' AND id = ?", (row["id"],))

    def apply_security_group(self, ctx: CallContext, group: SecurityGroupSpec) -> SecurityGroupRealised:
        with self.store.write() as conn:
            row = self._find(conn, "security_group", Ref(group.id, group.backend_id))
            known = json.loads(row["body"]).get("rule_backend_ids", {}) if row is not None else {}
            rules = {r.id: r.backend_id or known.get(r.id) or f"local-rule-{uuid.uuid4()}" for r in group.rules}
            body = {**dataclasses.asdict(group), "rule_backend_ids": rules}
            backend_id = self._put(conn, "security_group", group, None, body)
        return SecurityGroupRealised(backend_id=backend_id, rules=rules)

    def remove_security_group(self, ctx: CallContext, group: Ref) -> None:
        self._drop("security_group", group)
