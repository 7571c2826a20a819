"""The commands a hypervisor host answers, the same for an agent (over the bus) and for a
direct-connect worker (in-process): guests through :class:`Hypervisor`, networking through
:class:`HostNetwork`, and the host's own last word on whether a guest fits (its claim)."""

from __future__ import annotations

import base64
import os
import threading
import time
from dataclasses import asdict
from typing import Any, Callable

from overcast.drivers import errors
from overcast.drivers.hosts.hostnet import Endpoint, Group, HostNetwork, Network, Port, Rule, Subnet
from overcast.drivers.hosts.hypervisor import Disk, GuestSpec, Hypervisor, Nic

#: what a guest may take, as Nova's default allocation ratios (cpu 16, ram 1.5, disk 1.0)
DEFAULT_RATIOS = {"cpu": 16.0, "ram": 1.5, "disk": 1.0}


class HostService:
    """The commands a host answers: the same for an agent and for a direct-connect worker.

    ``reserved_memory_mb`` is kept back for the host itself (Nova's ``reserved_host_memory_mb``).
    """

    def __init__(self, hypervisor: Hypervisor, network: HostNetwork, *, zone: str = "nova",
                 ratios: dict[str, float] | None = None, reserved_memory_mb: int = 512,
                 clean_shutdown_timeout: float = 60.0) -> None:
        self.hv = hypervisor
        self.net = network
        self.zone = zone
        self.ratios = dict(DEFAULT_RATIOS, **(ratios or {}))
        self.reserved_memory_mb = reserved_memory_mb
        self.clean_shutdown_timeout = clean_shutdown_timeout
        self._claim_lock = threading.Lock()
        self._uploads: dict[str, str] = {}

    # -- the host as the scheduler sees it ----------------------------------------------------
    def describe(self) -> dict[str, Any]:
        info = self.hv.host_info()
        guests = self.hv.list()
        usage = {"vcpus": sum(g.vcpus for g in guests), "memory_mb": sum(g.memory_mb for g in guests),
                 "disk_gb": sum(g.disk_gb for g in guests), "guests": len(guests)}
        return {"host": self.hv.host, "zone": self.zone, "info": asdict(info), "usage": usage,
                "ratios": self.ratios, "reserved_memory_mb": self.reserved_memory_mb,
                "guests": [{"uuid": g.uuid, "state": g.state, "group": g.meta.get("group_id"),
                            "vcpus": g.vcpus, "memory_mb": g.memory_mb, "disk_gb": g.disk_gb,
                            "key": g.meta.get("idempotency_key")} for g in guests],
                "endpoint": asdict(self.net.tunnel) if self.net.tunnel else None}

    def _fits(self, vcpus: int, memory_mb: int, disk_gb: int, exclude: str | None = None) -> str | None:
        info = self.hv.host_info()
        used = [g for g in self.hv.list() if g.uuid != exclude]
        checks = (("vCPU", sum(g.vcpus for g in used) + vcpus, info.vcpus * self.ratios["cpu"]),
                  ("RAM", sum(g.memory_mb for g in used) + memory_mb,
                   (info.memory_mb - self.reserved_memory_mb) * self.ratios["ram"]),
                  ("disk", sum(g.disk_gb for g in used) + disk_gb, info.disk_gb * self.ratios["disk"]))
        for what, want, limit in checks:
            if want > limit:
                return f"host {self.hv.host} has not enough {what} ({want:g} wanted, {limit:g} allowed)"
        return None

    # -- commands -------------------------------------------------------------------------------
    @staticmethod
    def ordered(method: str) -> bool:
        """Network-model commands run one at a time, in the order they came (a subnet after its
        network, a port's groups after the group): everything else runs in parallel."""
        return method.startswith(("set_", "remove_"))

    def handle(self, method: str, args: dict[str, Any]) -> Any:
        fn: Callable[[dict[str, Any]], Any] | None = getattr(self, f"do_{method}", None)
        if fn is None:
            raise errors.NotSupported(f"host {self.hv.host} does not know the command {method}")
        return fn(args)

    def do_ping(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"host": self.hv.host, "time": time.time()}

    def do_describe(self, args: dict[str, Any]) -> dict[str, Any]:
        return self.describe()

    # images
    def do_missing_images(self, args: dict[str, Any]) -> list[str]:
        have = set(self.hv.images())
        return [k for k in args["keys"] if k not in have]

    def do_upload_chunk(self, args: dict[str, Any]) -> dict[str, Any]:
        """One chunk of an image being sent (``offset`` 0 starts it, ``last`` completes it)."""
        key = args["key"]
        path = os.path.join(self.hv.state_dir + ".uploads", f"{key}.{args['upload']}")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "r+b" if args["offset"] else "wb") as handle:
            handle.seek(int(args["offset"]))
            handle.write(base64.b64decode(args["data"]))
        if args.get("last"):
            size = os.path.getsize(path)

            def chunks() -> Any:
                with open(path, "rb") as handle:
                    while block := handle.read(1 << 20):
                        yield block
            try:
                self.hv.upload_image(key, chunks(), size, fmt=str(args.get("format") or "raw"), name=args.get("name"))
            finally:
                os.unlink(path)
        return {"key": key}

    # guests
    def do_spawn(self, args: dict[str, Any]) -> dict[str, Any]:
        spec = GuestSpec.from_dict(args["spec"])
        try:
            return self.hv.get(spec.uuid).to_dict()       # delivered again: it is there
        except errors.NotFound:
            pass
        with self._claim_lock:
            why = self._fits(spec.vcpus, spec.memory_mb, spec.disk_gb)
            if why:
                raise errors.QuotaExceeded(why)
            nics = []
            for port in args.get("ports", []):
                bridge = self.net.plug(port["port_id"], port["network_id"], port["mac"], port.get("ips", []))
                nics.append(Nic(port["port_id"], port["mac"], bridge, self.net.tap(port["port_id"]),
                                int(port.get("mtu") or 1500)))
            spec = GuestSpec(**{**spec.__dict__, "nics": tuple(nics)})
            return self.hv.spawn(spec, start=bool(args.get("start", True))).to_dict()

    def do_destroy(self, args: dict[str, Any]) -> None:
        try:
            guest = self.hv.get(args["uuid"])
        except errors.NotFound:
            guest = None
        self.hv.destroy(args["uuid"])
        ports = [n.port_id for n in guest.nics] if guest else []
        for port_id in ports + list(args.get("ports", [])):
            self.net.unplug(port_id)

    def do_get(self, args: dict[str, Any]) -> dict[str, Any]:
        return self.hv.get(args["uuid"]).to_dict()

    def do_get_many(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        wanted = set(args["uuids"])
        return [g.to_dict() for g in self.hv.list() if g.uuid in wanted]

    def do_list(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        return [g.to_dict() for g in self.hv.list()]

    def do_find(self, args: dict[str, Any]) -> dict[str, Any] | None:
        for guest in self.hv.list():
            if guest.meta.get("idempotency_key") == args["key"]:
                return guest.to_dict()
        return None

    def do_power_on(self, args: dict[str, Any]) -> dict[str, Any]:
        return self.hv.power_on(args["uuid"]).to_dict()

    def do_power_off(self, args: dict[str, Any]) -> dict[str, Any]:
        timeout = args.get("clean_timeout", self.clean_shutdown_timeout)
        return self.hv.power_off(args["uuid"], clean_timeout=float(timeout)).to_dict()

    def do_reboot(self, args: dict[str, Any]) -> dict[str, Any]:
        return self.hv.reboot(args["uuid"], hard=bool(args.get("hard")),
                              clean_timeout=float(args.get("clean_timeout", self.clean_shutdown_timeout))).to_dict()

    def do_pause(self, args: dict[str, Any]) -> dict[str, Any]:
        return self.hv.pause(args["uuid"]).to_dict()

    def do_unpause(self, args: dict[str, Any]) -> dict[str, Any]:
        return self.hv.unpause(args["uuid"]).to_dict()

    def do_suspend(self, args: dict[str, Any]) -> dict[str, Any]:
        return self.hv.suspend(args["uuid"]).to_dict()

    def do_resume(self, args: dict[str, Any]) -> dict[str, Any]:
        return self.hv.resume(args["uuid"]).to_dict()

    def do_resize(self, args: dict[str, Any]) -> dict[str, Any]:
        guest = self.hv.get(args["uuid"])
        with self._claim_lock:
            why = self._fits(int(args["vcpus"]), int(args["memory_mb"]), int(args["disk_gb"]), exclude=guest.uuid)
            if why:
                raise errors.QuotaExceeded(why)
            return self.hv.resize(args["uuid"], int(args["vcpus"]), int(args["memory_mb"]),
                                  int(args["disk_gb"]), flavor_id=args.get("flavor_id")).to_dict()

    def do_confirm_resize(self, args: dict[str, Any]) -> dict[str, Any]:
        return self.hv.confirm_resize(args["uuid"]).to_dict()

    def do_revert_resize(self, args: dict[str, Any]) -> dict[str, Any]:
        return self.hv.revert_resize(args["uuid"]).to_dict()

    # a guest moving between hosts (cold migration, decision 0072)
    def do_move_out(self, args: dict[str, Any]) -> dict[str, Any]:
        """Stop the guest and take it off this host (:meth:`Hypervisor.move_out`), with its ports
        as the new host plugs them (network, MAC, addresses: from this host's network model)."""
        out = self.hv.move_out(args["uuid"])
        ports = []
        for nic in out.pop("nics"):
            port = self.net.model.ports.get(nic["port_id"])
            ports.append({"port_id": nic["port_id"], "mac": nic["mac"], "mtu": nic.get("mtu", 1500),
                          "network_id": port.network_id if port else None, "ips": list(port.ips) if port else []})
        out["ports"] = ports
        return out

    def do_disk_size(self, args: dict[str, Any]) -> int:
        return self.hv.disk_size(str(args["name"]))

    def do_read_range(self, args: dict[str, Any]) -> str:
        data = self.hv.read_range(str(args["name"]), int(args["offset"]), int(args["length"]))
        return base64.b64encode(data).decode()

    def do_move_back(self, args: dict[str, Any]) -> dict[str, Any]:
        return self.hv.move_back(args["uuid"], str(args["saved"]), bool(args.get("running"))).to_dict()

    def do_moved_away(self, args: dict[str, Any]) -> None:
        self.hv.moved_away(args["uuid"])
        for port_id in args.get("ports", []):
            self.net.unplug(port_id)

    def do_console(self, args: dict[str, Any]) -> str:
        return self.hv.console_output(args["uuid"], args.get("length"))

    def do_attach_volume(self, args: dict[str, Any]) -> dict[str, Any]:
        """``disk`` (a file anywhere on the host), or ``volume`` and ``device``: one of this host's
        own volumes (:meth:`do_create_volume`). :raises NotFound: no such volume on this host."""
        if "disk" in args:
            return self.hv.attach_volume(args["uuid"], Disk(**args["disk"])).to_dict()
        volume = str(args["volume"])
        if volume not in self.hv.host_volumes():
            raise errors.NotFound(f"volume {volume} is not on host {self.hv.host}")
        disk = Disk(volume_id=volume, path=self.hv.volume_path(volume), device=str(args["device"]))
        return self.hv.attach_volume(args["uuid"], disk).to_dict()

    def do_create_volume(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"id": args["id"], "size_gb": self.hv.create_volume(str(args["id"]), int(args["size_gb"]))}

    def do_delete_volume(self, args: dict[str, Any]) -> None:
        self.hv.delete_volume(str(args["id"]))

    def do_volumes(self, args: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """This host's volumes: id -> size_gb and the guests that have it attached."""
        used: dict[str, list[str]] = {}
        for guest in self.hv.list():
            for v in guest.volumes:
                used.setdefault(v.volume_id, []).append(guest.uuid)
        return {vid: {"size_gb": size, "guests": used.get(vid, [])} for vid, size in self.hv.host_volumes().items()}

    def do_detach_volume(self, args: dict[str, Any]) -> dict[str, Any]:
        return self.hv.detach_volume(args["uuid"], args["volume_id"],
                                     timeout=float(args.get("timeout") or 30.0)).to_dict()

    def do_snapshot(self, args: dict[str, Any]) -> dict[str, Any]:
        name, size = self.hv.snapshot(args["uuid"], args["key"])
        return {"name": name, "size": size}

    def do_delete_snapshot(self, args: dict[str, Any]) -> None:
        self.hv.delete_snapshot(args["name"])

    def do_snapshots(self, args: dict[str, Any]) -> list[str]:
        return self.hv.snapshots()

    # networks (every host hears these; each wires only its own ports)
    def do_set_network(self, args: dict[str, Any]) -> None:
        self.net.set_network(Network(**args["network"]))

    def do_remove_network(self, args: dict[str, Any]) -> None:
        self.net.remove_network(args["id"])

    def do_set_subnet(self, args: dict[str, Any]) -> None:
        self.net.set_subnet(Subnet(**args["subnet"]))

    def do_remove_subnet(self, args: dict[str, Any]) -> None:
        self.net.remove_subnet(args["id"])

    def do_set_port(self, args: dict[str, Any]) -> None:
        port = Port(**args["port"])
        if port.host not in (None, self.hv.host):
            port.host = None if port.host != self.hv.host else port.host
        self.net.set_port(port)

    def do_remove_port(self, args: dict[str, Any]) -> None:
        self.net.remove_port(args["id"])

    def do_set_group(self, args: dict[str, Any]) -> None:
        group = args["group"]
        self.net.set_group(Group(group["id"], [Rule(**r) for r in group.get("rules", [])]))

    def do_remove_group(self, args: dict[str, Any]) -> None:
        self.net.remove_group(args["id"])

    def do_set_endpoints(self, args: dict[str, Any]) -> None:
        self.net.set_endpoints([Endpoint(**e) for e in args["endpoints"]])

    def do_network_objects(self, args: dict[str, Any]) -> dict[str, list[str]]:
        model = self.net.model
        return {"network": sorted(model.networks), "subnet": sorted(model.subnets), "port": sorted(model.ports),
                "security_group": sorted(model.groups)}
