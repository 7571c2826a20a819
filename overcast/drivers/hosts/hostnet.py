"""Host networking as Neutron's Linux bridge and DHCP agents do it.

Every host keeps the whole network model Overcast has sent it (networks, subnets, ports,
security groups: :class:`NetworkModel`, saved as JSON in the host's state directory) and wires
what is its own:

- **a bridge per network** that has a port on this host (``ocb<hash>``), joined to the other
  hosts by VXLAN when a tunnel is configured (one VXLAN device per network, VNI from the
  network, the other hosts' endpoints as static forwarding entries: what Neutron's l2population
  does); a single host needs neither;
- **a tap per port** carrying the port's MAC (libvirt creates it on the bridge from the
  domain's ``<interface type='bridge'>``; :meth:`HostNetwork.nic` names it);
- **DHCP**: one dnsmasq per network with a DHCP-enabled subnet, in its own network namespace
  (``ocdhcp-<host tag>-<network id>``) joined to the bridge by a veth pair, answering only the
  MACs of this host's ports with their Overcast-assigned addresses (static mode, no lease file).
  The namespace holds each subnet's gateway address (routers are not realised on hosts; see
  docs/decisions), and its traffic never enters the tunnel, so every host's copy answers only
  its own guests, as a distributed router port does;
- **security groups** on the tap: one nftables ``inet`` table per host replaced atomically on
  every change (bridged traffic reaches it through ``br_netfilter``, so connection tracking
  works): a port's ingress chain accepts replies, DHCP answers and what its groups' ingress rules
  allow, and drops the rest; its egress chain likewise. A ``bridge`` table drops frames a tap
  sends with another MAC or source address (port security). A port this host wires but whose
  groups it has not been told yet gets only DHCP: closed until told.

Commands run through a :class:`Runner`: :class:`LocalRunner` on the host itself (the agent, or a
direct-connect worker on ``qemu:///system``), :class:`SshRunner` for a direct-connect worker on
``qemu+ssh://`` (the same user and host as libvirt's URI).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import shlex
import subprocess
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

from overcast.drivers.errors import DriverError, InvalidRequest


class CommandFailed(DriverError):
    """A host command failed."""


class Runner:
    """Runs a command on the host."""

    def run(self, argv: Sequence[str], *, input: str | None = None, check: bool = True) -> str:
        raise NotImplementedError

    def write_file(self, path: str, text: str) -> None:
        self.run(["sh", "-c", f"mkdir -p {shlex.quote(os.path.dirname(path))} && cat > {shlex.quote(path)}.tmp "
                              f"&& mv {shlex.quote(path)}.tmp {shlex.quote(path)}"], input=text)

    def read_file(self, path: str) -> str | None:
        out = self.run(["sh", "-c", f"cat {shlex.quote(path)} 2>/dev/null || true"])
        return out or None


class LocalRunner(Runner):
    def run(self, argv: Sequence[str], *, input: str | None = None, check: bool = True) -> str:
        proc = subprocess.run(list(argv), input=input, capture_output=True, text=True)
        if check and proc.returncode != 0:
            raise CommandFailed(f"{' '.join(argv[:4])} failed: {(proc.stderr or proc.stdout).strip()[:300]}")
        return proc.stdout


class SshRunner(Runner):
    """Runs commands as ``target`` (``user@host``) over ssh, non-interactively."""

    def __init__(self, target: str, port: int | None = None, options: Sequence[str] = ()) -> None:
        self.target = target
        self.base = ["ssh", "-o", "BatchMode=yes", *options] + (["-p", str(port)] if port else []) + [target, "--"]

    def run(self, argv: Sequence[str], *, input: str | None = None, check: bool = True) -> str:
        return LocalRunner().run(self.base + [shlex.join(argv)], input=input, check=check)


def _h(*parts: str, n: int = 10) -> str:
    return hashlib.sha1("|".join(parts).encode()).hexdigest()[:n]


# -- the model ---------------------------------------------------------------------------------

@dataclass
class Subnet:
    id: str
    network_id: str
    cidr: str
    gateway_ip: str | None
    enable_dhcp: bool = True
    ip_version: int = 4


@dataclass
class Network:
    id: str
    mtu: int = 1500
    #: VXLAN VNI when hosts are joined by a tunnel
    vni: int | None = None


@dataclass
class Port:
    id: str
    network_id: str
    mac: str
    ips: list[str]
    #: security group ids; None: not told yet (closed but for DHCP)
    groups: list[str] | None = None
    port_security: bool = True
    #: the host that wires it (None: not bound yet)
    host: str | None = None


@dataclass
class Rule:
    id: str
    direction: str            # ingress | egress
    ethertype: str = "IPv4"
    protocol: str | None = None
    port_min: int | None = None
    port_max: int | None = None
    remote_ip_prefix: str | None = None
    remote_group: str | None = None


@dataclass
class Group:
    id: str
    rules: list[Rule] = field(default_factory=list)


@dataclass
class Endpoint:
    """A host's VXLAN endpoint."""

    host: str
    ip: str
    port: int = 4789


@dataclass
class NetworkModel:
    networks: dict[str, Network] = field(default_factory=dict)
    subnets: dict[str, Subnet] = field(default_factory=dict)
    ports: dict[str, Port] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    endpoints: dict[str, Endpoint] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, indent=1)

    @staticmethod
    def from_json(text: str) -> "NetworkModel":
        data = json.loads(text)
        return NetworkModel(
            networks={k: Network(**v) for k, v in data.get("networks", {}).items()},
            subnets={k: Subnet(**v) for k, v in data.get("subnets", {}).items()},
            ports={k: Port(**v) for k, v in data.get("ports", {}).items()},
            groups={k: Group(id=v["id"], rules=[Rule(**r) for r in v.get("rules", [])])
                    for k, v in data.get("groups", {}).items()},
            endpoints={k: Endpoint(**v) for k, v in data.get("endpoints", {}).items()})


PROTOCOLS = {"tcp": 6, "udp": 17, "icmp": 1, "ipv6-icmp": 58, "icmpv6": 58, "sctp": 132}


class HostNetwork:
    """The networking of one host ``host``; ``state_dir`` keeps its model and dnsmasq files.

    ``tunnel``: this host's VXLAN endpoint (``ip`` and UDP ``port``), or None for a host that
    needs no tunnel. ``wired(port)`` decides which ports are this host's: by default those whose
    ``host`` is this host, plus the ones :meth:`plug` was called for.
    """

    def __init__(self, host: str, state_dir: str, *, runner: Runner | None = None,
                 tunnel: Endpoint | None = None, dnsmasq: str = "dnsmasq") -> None:
        self.host = host
        self.tag = _h(host, n=4)
        self.state_dir = state_dir.rstrip("/")
        self.runner = runner or LocalRunner()
        self.tunnel = tunnel
        self.dnsmasq = dnsmasq
        self.table = f"overcast_{self.tag}"
        self._lock = threading.RLock()
        self.model = self._load()
        if tunnel is not None:
            self.model.endpoints[host] = tunnel

    # -- names --------------------------------------------------------------------------------
    def bridge(self, network_id: str) -> str:
        return f"ocb{_h(self.host, network_id)}"

    def vxlan(self, network_id: str) -> str:
        return f"ocv{_h(self.host, network_id)}"

    def tap(self, port_id: str) -> str:
        return f"oct{_h(self.host, port_id)}"

    def veth(self, network_id: str) -> tuple[str, str]:
        h = _h(self.host, network_id)
        return f"ocd{h}", f"ns-{h}"

    def namespace(self, network_id: str) -> str:
        return f"ocdhcp-{self.tag}-{network_id}"

    def _dir(self, network_id: str) -> str:
        return f"{self.state_dir}/dhcp/{network_id}"

    # -- model ----------------------------------------------------------------------------------
    def _model_path(self) -> str:
        return f"{self.state_dir}/network.json"

    def _load(self) -> NetworkModel:
        text = self.runner.read_file(self._model_path())
        return NetworkModel.from_json(text) if text else NetworkModel()

    def _save(self) -> None:
        self.runner.write_file(self._model_path(), self.model.to_json())

    def reload(self) -> None:
        """Read the model again from the state directory (another process driving this host, e.g.
        another Overcast worker over direct connect, may have changed it)."""
        with self._lock:
            self.model = self._load()
            if self.tunnel is not None:
                self.model.endpoints[self.host] = self.tunnel

    def local_ports(self) -> list[Port]:
        return [p for p in self.model.ports.values() if p.host == self.host]

    # -- what Overcast tells the host -----------------------------------------------------------
    def set_network(self, network: Network) -> None:
        with self._lock:
            self.model.networks[network.id] = network
            self._save()
            if any(p.network_id == network.id for p in self.local_ports()):
                self.sync()

    def remove_network(self, network_id: str) -> None:
        with self._lock:
            self.model.networks.pop(network_id, None)
            for sid in [s.id for s in self.model.subnets.values() if s.network_id == network_id]:
                self.model.subnets.pop(sid)
            self._save()
            self.sync()

    def set_subnet(self, subnet: Subnet) -> None:
        if subnet.ip_version == 4 and subnet.enable_dhcp and not subnet.gateway_ip:
            net = ipaddress.ip_network(subnet.cidr)
            if net.num_addresses < 4:
                raise InvalidRequest(f"subnet {subnet.cidr} is too small for a DHCP server")
        with self._lock:
            self.model.subnets[subnet.id] = subnet
            self._save()
            self.sync()

    def remove_subnet(self, subnet_id: str) -> None:
        with self._lock:
            if self.model.subnets.pop(subnet_id, None) is not None:
                self._save()
                self.sync()

    def set_port(self, port: Port) -> None:
        with self._lock:
            old = self.model.ports.get(port.id)
            if old is not None and port.groups is None:
                port.groups = old.groups
            if old is not None and port.host is None:
                port.host = old.host
            self.model.ports[port.id] = port
            self._save()
            self.sync()

    def plug(self, port_id: str, network_id: str, mac: str, ips: Sequence[str]) -> str:
        """Make this host wire a port (a guest is about to use it); returns its bridge."""
        with self._lock:
            port = self.model.ports.get(port_id)
            if port is None:
                port = Port(id=port_id, network_id=network_id, mac=mac, ips=list(ips))
            port.host, port.mac, port.ips, port.network_id = self.host, mac, list(ips), network_id
            self.model.ports[port_id] = port
            self.model.networks.setdefault(network_id, Network(id=network_id))
            self._save()
            self.sync()
            return self.bridge(network_id)

    def unplug(self, port_id: str) -> None:
        with self._lock:
            port = self.model.ports.get(port_id)
            if port is not None and port.host == self.host:
                port.host = None
                self._save()
                self.sync()

    def remove_port(self, port_id: str) -> None:
        with self._lock:
            if self.model.ports.pop(port_id, None) is not None:
                self._save()
                self.sync()

    def set_group(self, group: Group) -> None:
        with self._lock:
            self.model.groups[group.id] = group
            self._save()
            self.sync_firewall()

    def remove_group(self, group_id: str) -> None:
        with self._lock:
            if self.model.groups.pop(group_id, None) is not None:
                self._save()
                self.sync_firewall()

    def set_endpoints(self, endpoints: Sequence[Endpoint]) -> None:
        with self._lock:
            self.model.endpoints = {e.host: e for e in endpoints}
            if self.tunnel is not None:
                self.model.endpoints[self.host] = self.tunnel
            self._save()
            self.sync()

    # -- realising it ---------------------------------------------------------------------------
    def _links(self) -> dict[str, dict[str, Any]]:
        out = self.runner.run(["ip", "-j", "-d", "link", "show"])
        return {link["ifname"]: link for link in json.loads(out or "[]")}

    def _namespaces(self) -> set[str]:
        out = self.runner.run(["ip", "-j", "netns", "list"], check=False)
        try:
            return {n["name"] for n in json.loads(out or "[]")}
        except ValueError:
            return set()

    def active_networks(self) -> set[str]:
        """The networks this host wires: those with one of its ports."""
        return {p.network_id for p in self.local_ports()}

    def sync(self) -> None:
        """Make the host match the model: bridges, tunnels, DHCP namespaces, firewall."""
        with self._lock:
            links = self._links()
            namespaces = self._namespaces()
            wanted = self.active_networks()
            for network_id in sorted(wanted):
                self._ensure_bridge(network_id, links)
                self._ensure_dhcp(network_id, links, namespaces)
            # what is no longer wanted: bridges and namespaces of this host only
            known = {self.bridge(n) for n in wanted}
            for name in links:
                if name.startswith("ocb") and name not in known and self._owned(name):
                    self._remove_network_devices(name, links)
            mine = {self.namespace(n) for n in wanted}
            for ns in namespaces:
                if ns.startswith(f"ocdhcp-{self.tag}-") and ns not in mine:
                    self._remove_dhcp(ns.removeprefix(f"ocdhcp-{self.tag}-"))
            self.sync_firewall()

    def _owned(self, bridge: str) -> bool:
        return any(self.bridge(n) == bridge for n in self._all_network_ids())

    def _all_network_ids(self) -> set[str]:
        ids = set(self.model.networks) | {p.network_id for p in self.model.ports.values()}
        ids |= {s.network_id for s in self.model.subnets.values()}
        base = Path(self.state_dir) / "dhcp"
        if base.is_dir():
            ids |= {p.name for p in base.iterdir()}
        return ids

    def _ensure_bridge(self, network_id: str, links: dict[str, dict[str, Any]]) -> None:
        run = self.runner.run
        net = self.model.networks.get(network_id, Network(id=network_id))
        br = self.bridge(network_id)
        if br not in links:
            run(["ip", "link", "add", br, "type", "bridge"])
            run(["ip", "link", "set", br, "mtu", str(net.mtu)], check=False)
        run(["ip", "link", "set", br, "up"])
        if self.tunnel is not None and net.vni is not None:
            vx = self.vxlan(network_id)
            if vx not in links:
                run(["ip", "link", "add", vx, "type", "vxlan", "id", str(net.vni), "local", self.tunnel.ip,
                     "dstport", str(self.tunnel.port), "nolearning"])
                run(["ip", "link", "set", vx, "master", br, "up"])
            fdb = run(["bridge", "fdb", "show", "dev", vx], check=False)
            for ep in self.model.endpoints.values():
                if ep.host == self.host:
                    continue
                if f"dst {ep.ip} " not in fdb + " ":
                    run(["bridge", "fdb", "append", "00:00:00:00:00:00", "dev", vx, "dst", ep.ip,
                         "port", str(ep.port)], check=False)

    def _remove_network_devices(self, bridge: str, links: dict[str, dict[str, Any]]) -> None:
        for name, link in links.items():
            if link.get("master") == bridge and (name.startswith("ocv") or name.startswith("ocd")):
                self.runner.run(["ip", "link", "del", name], check=False)
        self.runner.run(["ip", "link", "del", bridge], check=False)

    def _dhcp_subnets(self, network_id: str) -> list[Subnet]:
        return [s for s in self.model.subnets.values()
                if s.network_id == network_id and s.enable_dhcp and s.ip_version == 4]

    @staticmethod
    def _server_address(subnet: Subnet) -> str:
        """The namespace's address on a subnet: its gateway, else its last host address."""
        if subnet.gateway_ip:
            return subnet.gateway_ip
        net = ipaddress.ip_network(subnet.cidr)
        return str(net.broadcast_address - 1)

    def _ensure_dhcp(self, network_id: str, links: dict[str, dict[str, Any]], namespaces: set[str]) -> None:
        run = self.runner.run
        subnets = self._dhcp_subnets(network_id)
        ns = self.namespace(network_id)
        if not subnets:
            if ns in namespaces:
                self._remove_dhcp(network_id)
            return
        outer, inner = self.veth(network_id)
        if ns not in namespaces:
            run(["ip", "netns", "add", ns])
            run(["ip", "-n", ns, "link", "set", "lo", "up"])
        if outer not in links:
            run(["ip", "link", "add", outer, "type", "veth", "peer", "name", inner, "netns", ns])
        run(["ip", "link", "set", outer, "master", self.bridge(network_id), "up"])
        net = self.model.networks.get(network_id, Network(id=network_id))
        run(["ip", "-n", ns, "link", "set", inner, "mtu", str(net.mtu), "up"], check=False)
        have = run(["ip", "-n", ns, "-j", "addr", "show", "dev", inner], check=False)
        present = {a["local"] for link in json.loads(have or "[]") for a in link.get("addr_info", [])}
        for subnet in subnets:
            address = self._server_address(subnet)
            if address not in present:
                prefix = ipaddress.ip_network(subnet.cidr).prefixlen
                run(["ip", "-n", ns, "addr", "add", f"{address}/{prefix}", "dev", inner])
        # the namespace's traffic stays on this host (it is each host's own DHCP server)
        self._write_dhcp_files(network_id, subnets)
        self._start_or_reload_dnsmasq(network_id, subnets)

    def _write_dhcp_files(self, network_id: str, subnets: list[Subnet]) -> None:
        d = self._dir(network_id)
        hosts = []
        cidrs = [ipaddress.ip_network(s.cidr) for s in subnets]
        for port in sorted(self.local_ports(), key=lambda p: p.id):
            if port.network_id != network_id:
                continue
            for ip in port.ips:
                addr = ipaddress.ip_address(ip)
                if any(addr in c for c in cidrs):
                    hosts.append(f"{port.mac},host-{ip.replace('.', '-')},{ip}")
        opts = []
        for s in subnets:
            tag = f"subnet-{s.id}"
            if s.gateway_ip:
                opts.append(f"tag:{tag},option:router,{s.gateway_ip}")
            else:
                opts.append(f"tag:{tag},option:router")
        self.runner.write_file(f"{d}/host", "\n".join(hosts) + ("\n" if hosts else ""))
        self.runner.write_file(f"{d}/opts", "\n".join(opts) + "\n")

    def _pid(self, network_id: str) -> int | None:
        text = self.runner.read_file(f"{self._dir(network_id)}/pid")
        try:
            pid = int((text or "").strip())
        except ValueError:
            return None
        alive = self.runner.run(["sh", "-c", f"kill -0 {pid} 2>/dev/null && echo yes || true"]).strip()
        return pid if alive == "yes" else None

    def _kill(self, pid: int, timeout: float = 10.0) -> None:
        """Stop a dnsmasq and wait until it is gone (its successor binds the same interface);
        SIGKILL if it lingers."""
        steps = int(timeout / 0.05)
        self.runner.run(["sh", "-c", f"kill {pid} 2>/dev/null || exit 0; i=0; while [ $i -lt {steps} ]; do "
                         f"kill -0 {pid} 2>/dev/null || exit 0; sleep 0.05; i=$((i+1)); done; kill -9 {pid}"],
                        check=False)

    def _start_or_reload_dnsmasq(self, network_id: str, subnets: list[Subnet]) -> None:
        d = self._dir(network_id)
        args = ["--no-hosts", "--no-resolv", "--port=0", "--bind-interfaces", "--except-interface=lo",
                f"--interface={self.veth(network_id)[1]}", f"--pid-file={d}/pid", f"--dhcp-hostsfile={d}/host",
                f"--dhcp-optsfile={d}/opts", "--leasefile-ro", "--dhcp-authoritative",
                "--user=root", "--group=root"]
        mtu = self.model.networks.get(network_id, Network(id=network_id)).mtu
        for s in subnets:
            net = ipaddress.ip_network(s.cidr)
            args.append(f"--dhcp-range=set:subnet-{s.id},{net.network_address},static,{net.netmask},86400s")
        args.append(f"--dhcp-option-force=option:mtu,{mtu}")
        argfile = f"{d}/args"
        text = "\n".join(args)
        pid = self._pid(network_id)
        if pid is not None and self.runner.read_file(argfile) == text:
            self.runner.run(["kill", "-HUP", str(pid)])
            return
        if pid is not None:
            self._kill(pid)
        self.runner.write_file(argfile, text)
        self.runner.run(["ip", "netns", "exec", self.namespace(network_id), self.dnsmasq, *args])

    def _remove_dhcp(self, network_id: str) -> None:
        pid = self._pid(network_id)
        if pid is not None:
            self._kill(pid)
        self.runner.run(["ip", "netns", "del", self.namespace(network_id)], check=False)
        outer, _ = self.veth(network_id)
        self.runner.run(["ip", "link", "del", outer], check=False)
        self.runner.run(["rm", "-rf", self._dir(network_id)], check=False)

    # -- firewall ---------------------------------------------------------------------------------
    def _group_ips(self, group_id: str, version: int) -> list[str]:
        ips = []
        for port in self.model.ports.values():
            if port.groups and group_id in port.groups:
                ips += [ip for ip in port.ips if ipaddress.ip_address(ip).version == version]
        return sorted(set(ips))

    def _rule_matches(self, rule: Rule, ingress: bool) -> list[str]:
        """nft match expressions for one rule (several when a remote group has many members)."""
        version = 6 if rule.ethertype == "IPv6" else 4
        fam = "ip6" if version == 6 else "ip"
        parts = []
        proto = (rule.protocol or "").lower() or None
        if proto is not None:
            number = PROTOCOLS.get(proto, int(proto) if proto.isdigit() else None)
            if number is None:
                raise InvalidRequest(f"protocol {rule.protocol} cannot be enforced")
            if version == 6 and number == 1:
                number = 58
            parts.append(f"meta l4proto {number}")
            if number in (6, 17, 132) and rule.port_min is not None:
                name = {6: "tcp", 17: "udp", 132: "sctp"}[number]
                hi = rule.port_max if rule.port_max is not None else rule.port_min
                parts.append(f"{name} dport {rule.port_min}" + (f"-{hi}" if hi != rule.port_min else ""))
            elif number in (1, 58) and rule.port_min is not None:
                icmp = "icmpv6" if number == 58 else "icmp"
                parts.append(f"{icmp} type {rule.port_min}")
                if rule.port_max is not None:
                    parts.append(f"{icmp} code {rule.port_max}")
        else:
            parts.append(f"meta nfproto {'ipv6' if version == 6 else 'ipv4'}")
        side = "saddr" if ingress else "daddr"
        if rule.remote_group:
            ips = self._group_ips(rule.remote_group, version)
            if not ips:
                return []
            parts.append(f"{fam} {side} {{ {', '.join(ips)} }}")
        elif rule.remote_ip_prefix:
            prefix = ipaddress.ip_network(rule.remote_ip_prefix, strict=False)
            if prefix.prefixlen:
                parts.append(f"{fam} {side} {prefix}")
        return [" ".join(parts)]

    def firewall_rules(self) -> str:
        """The nftables script for this host's ports (replaces the host's tables atomically)."""
        ports = [p for p in self.local_ports() if p.port_security and p.ips]
        bridges = sorted({self.bridge(p.network_id) for p in ports})
        lines = [f"table inet {self.table} {{}}", f"delete table inet {self.table}",
                 f"table bridge {self.table} {{}}", f"delete table bridge {self.table}"]
        if not ports:
            return "\n".join(lines) + "\n"
        chains = []
        dispatch = []
        for port in sorted(ports, key=lambda p: p.id):
            pid = _h(port.id, n=12)
            br = self.bridge(port.network_id)
            for ip in port.ips:
                fam = "ip6" if ipaddress.ip_address(ip).version == 6 else "ip"
                dispatch.append(f"iifname \"{br}\" ether saddr {port.mac} {fam} saddr {ip} jump out_{pid}")
                dispatch.append(f"oifname \"{br}\" {fam} daddr {ip} jump in_{pid}")
            ingress = ["udp sport 67 udp dport 68 accept", "ip6 nexthdr ipv6-icmp accept"]
            egress: list[str] = []
            for gid in port.groups or []:
                group = self.model.groups.get(gid)
                for rule in (group.rules if group else []):
                    for match in self._rule_matches(rule, rule.direction == "ingress"):
                        (ingress if rule.direction == "ingress" else egress).append(
                            f"{match} {'accept' if rule.direction == 'ingress' else 'return'}")
            chains.append(f"  chain in_{pid} {{\n" + "".join(f"    {r}\n" for r in ingress) + "    drop\n  }")
            chains.append(f"  chain out_{pid} {{\n" + "".join(f"    {r}\n" for r in egress) + "    drop\n  }")
        lines.append(f"table inet {self.table} {{")
        lines.append(f"  set bridges {{ type ifname; elements = {{ {', '.join(chr(34) + b + chr(34) for b in bridges)} }} }}")
        lines.append("  chain forward {\n    type filter hook forward priority 0; policy accept;\n"
                     "    iifname != @bridges return\n    ct state established,related accept\n"
                     "    ct state invalid drop\n" + "".join(f"    {d}\n" for d in dispatch) + "  }")
        lines.extend(chains)
        lines.append("}")
        # port security: a tap may only send its own MAC and addresses
        spoof = []
        for port in sorted(ports, key=lambda p: p.id):
            tap = self.tap(port.id)
            v4 = [ip for ip in port.ips if ipaddress.ip_address(ip).version == 4]
            spoof.append(f"iifname \"{tap}\" ether saddr != {port.mac} drop")
            if v4:
                spoof.append(f"iifname \"{tap}\" ether type ip ip saddr != {{ 0.0.0.0, {', '.join(v4)} }} drop")
                spoof.append(f"iifname \"{tap}\" ether type arp arp saddr ip != {{ 0.0.0.0, {', '.join(v4)} }} drop")
        lines.append(f"table bridge {self.table} {{\n  chain forward {{\n"
                     "    type filter hook forward priority -10; policy accept;\n"
                     + "".join(f"    {r}\n" for r in spoof) + "  }\n}")
        return "\n".join(lines) + "\n"

    def sync_firewall(self) -> None:
        with self._lock:
            self.runner.run(["nft", "-f", "-"], input=self.firewall_rules())

    # -- nic for libvirt ------------------------------------------------------------------------
    def nic_names(self, port_id: str, network_id: str) -> tuple[str, str]:
        """(bridge, tap) a guest's interface for this port uses."""
        return self.bridge(network_id), self.tap(port_id)

    def teardown(self) -> None:
        """Remove everything this host made (its bridges, namespaces, dnsmasqs, firewall tables)."""
        with self._lock:
            for port in self.local_ports():
                port.host = None
            self.model.ports.clear()
            self._save()
            self.sync()
            self.runner.run(["nft", "-f", "-"], input=self.firewall_rules())
            for name in list(self._links()):
                if name.startswith("ocb") and self._owned(name):
                    self._remove_network_devices(name, self._links())

