"""Hypervisor hosts: how long guests take, and what scheduling costs with many hosts.

``guests``: N tiny guests (:mod:`overcast.testing.guest_image`, TCG) started at once on this
machine through :class:`~overcast.drivers.hosts.hypervisor.Hypervisor`, each with a port on one
network (its address by DHCP from the network's dnsmasq); measured per guest: spawn (define +
start) and spawn -> the guest answering HTTP from the network's namespace. Needs root, libvirt.

``scheduler``: H simulated agents that only heartbeat (over a RabbitMQ started for the run), each
reporting G guests; an Overcast-side :class:`~overcast.drivers.agent.transport.BusHosts` hears
them; measured: one scheduling decision (filters and weighers over every host) and how long all
H hosts take to be known.

    .venv/bin/python -m benchmarks.hosts guests --count 1
    .venv/bin/python -m benchmarks.hosts guests --count 10
    .venv/bin/python -m benchmarks.hosts scheduler --hosts 100
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from overcast.testing import guest_image, hostd

CACHE = Path(os.environ.get("OVERCAST_GUEST_IMAGE_CACHE", "/var/tmp/overcast-guest-cache"))


def _http(namespace: str, url: str) -> bool:
    import subprocess

    code = "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)"
    return subprocess.run(["ip", "netns", "exec", namespace, sys.executable, "-c", code, url],
                          capture_output=True).returncode == 0


def guests(count: int) -> None:
    from overcast.drivers.hosts.hostnet import Group, HostNetwork, Network, Port, Rule, Subnet
    from overcast.drivers.hosts.hypervisor import GuestSpec, Hypervisor, Nic, guest_uuid

    image = guest_image.build(CACHE)
    daemon = hostd.libvirt_daemon()
    daemon.acquire()
    base = Path(tempfile.mkdtemp(prefix="overcast-bench-", dir="/var/tmp"))
    base.chmod(0o755)
    host = f"b{uuid.uuid4().hex[:6]}"
    hv = Hypervisor("qemu:///system", host, str(base / "pool"), domain_type="qemu")
    net = HostNetwork(host, str(base / "net"))
    try:
        for key, path in (("kernel", image.kernel), ("initrd", image.initrd)):
            hv.upload_image(key, iter([path.read_bytes()]), path.stat().st_size)
        net.set_network(Network("n1"))
        net.set_subnet(Subnet("s1", "n1", "10.234.0.0/24", "10.234.0.1"))
        net.set_group(Group("web", [Rule("http", "ingress", protocol="tcp", port_min=80, port_max=80,
                                         remote_ip_prefix="0.0.0.0/0"), Rule("out", "egress")]))
        specs = []
        for i in range(count):
            mac, ip = f"fa:16:3e:00:34:{i + 10:02x}", f"10.234.0.{i + 10}"
            net.set_port(Port(f"p{i}", "n1", mac, [ip], groups=["web"]))
            bridge = net.plug(f"p{i}", "n1", mac, [ip])
            specs.append((ip, GuestSpec(uuid=guest_uuid(f"{host}-{i}"), name=f"g{i}", vcpus=1, memory_mb=192,
                                        disk_gb=0, kernel="kernel", initrd="initrd",
                                        nics=(Nic(f"p{i}", mac, bridge, net.tap(f"p{i}")),))))
        ns = net.namespace("n1")

        def one(item: tuple[str, GuestSpec]) -> tuple[float, float]:
            ip, spec = item
            start = time.monotonic()
            hv.spawn(spec)
            spawned = time.monotonic() - start
            while not _http(ns, f"http://{ip}/"):
                if time.monotonic() - start > 900:
                    raise TimeoutError(f"{spec.name} did not answer")
                time.sleep(0.2)
            return spawned, time.monotonic() - start

        start = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(count) as pool:
            results = list(pool.map(one, specs))
        wall = time.monotonic() - start
        spawn = sorted(r[0] for r in results)
        http = sorted(r[1] for r in results)
        print(f"{count} guests at once: spawn median {statistics.median(spawn):.1f} s max {spawn[-1]:.1f} s; "
              f"answering HTTP median {statistics.median(http):.1f} s max {http[-1]:.1f} s; all up in {wall:.1f} s",
              flush=True)
    finally:
        for info in hv.list():
            hv.destroy(info.uuid)
        net.teardown()
        pool_ = hv.pool()
        for vol in pool_.listAllVolumes(0):
            vol.delete(0)
        pool_.destroy()
        pool_.undefine()
        hv.close()
        shutil.rmtree(base, ignore_errors=True)
        daemon.release()


def scheduler(hosts: int, guests_per_host: int, decisions: int) -> None:
    from overcast.drivers.agent.bus import Bus
    from overcast.drivers.agent.transport import BusHosts
    from overcast.drivers.hosts.scheduler import Request, schedule

    daemon, address = hostd.rabbit_daemon()
    daemon.acquire()
    try:
        url = address().url
        region = f"bench{uuid.uuid4().hex[:6]}"
        side = BusHosts(url, region, down_after=60)
        assert side.listener.ready.wait(30)
        agents = Bus(url, region)
        start = time.monotonic()
        for h in range(hosts):
            guests = [{"uuid": str(uuid.uuid4()), "state": "running", "group": f"g{g % 5}" if g % 2 else None,
                       "vcpus": 1, "memory_mb": 512, "disk_gb": 1, "key": uuid.uuid4().hex}
                      for g in range(guests_per_host)]
            agents.publish_report({"type": "heartbeat", "host": f"sim{h:03d}", "interval": 5,
                                   "zone": "nova" if h % 4 else "az2", "ratios": {"cpu": 16, "ram": 1.5, "disk": 1},
                                   "reserved_memory_mb": 512,
                                   "info": {"vcpus": 32, "memory_mb": 131072, "disk_gb": 2000,
                                            "hypervisor_type": "QEMU", "hypervisor_version": 7002000},
                                   "usage": {"vcpus": guests_per_host, "memory_mb": 512 * guests_per_host,
                                             "disk_gb": guests_per_host}, "guests": guests})
        assert side.directory.wait_for(lambda hs: len(hs) == hosts, 60)
        known = time.monotonic() - start
        times = []
        for i in range(decisions):
            req = Request(2, 2048, 20, zone="nova" if i % 2 else None, group=f"g{i % 5}",
                          policy=("anti-affinity", "affinity", "soft-anti-affinity", None)[i % 4])
            t0 = time.perf_counter()
            try:
                schedule(side.hosts(), req)
            except Exception:  # noqa: BLE001 - an affinity that nothing satisfies is a decision too
                pass
            times.append(time.perf_counter() - t0)
        times.sort()
        print(f"{hosts} hosts x {guests_per_host} guests: all known in {known:.2f} s; one decision median "
              f"{statistics.median(times) * 1000:.2f} ms p95 {times[int(len(times) * 0.95)] * 1000:.2f} ms", flush=True)
        agents.close()
        side.close()
    finally:
        daemon.release()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    g = sub.add_parser("guests")
    g.add_argument("--count", type=int, default=1)
    s = sub.add_parser("scheduler")
    s.add_argument("--hosts", type=int, default=100)
    s.add_argument("--guests-per-host", type=int, default=20)
    s.add_argument("--decisions", type=int, default=200)
    args = parser.parse_args()
    if args.what == "guests":
        guests(args.count)
    else:
        scheduler(args.hosts, args.guests_per_host, args.decisions)


if __name__ == "__main__":
    main()
