"""``overcast agent`` as a real process on a real RabbitMQ and libvirtd: registration from libvirt,
heartbeats, a guest built over the bus (its images sent in chunks), a killed agent seen ``down``
and a restarted one that makes no second guest for a command it already ran."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import uuid
from pathlib import Path
from typing import Iterator

import pytest

from overcast.drivers.agent.transport import BusHosts
from overcast.drivers.hosts.hostnet import HostNetwork
from overcast.drivers.hosts.hypervisor import GuestSpec, Hypervisor, guest_uuid
from overcast.drivers.hosts.scheduler import NoValidHost, Request, schedule

from .conftest import BOOT_TIMEOUT, AgentProcess, netns_http, unique_host, wait_for

pytestmark = pytest.mark.hosts

DOWN_AFTER = 4.0


@pytest.fixture
def region(rabbitmq, libvirtd, guest, host_dir) -> Iterator[dict]:
    name = f"r{unique_host()}"
    hosts = {h: host_dir / h for h in (f"{name}a", f"{name}b")}
    env = {"OVERCAST_TEST_AGENT_BUS": rabbitmq.url}
    agents = {h: AgentProcess(name, h, d, env, host_dir / f"{h}.log").start() for h, d in hosts.items()}
    bus = BusHosts(rabbitmq.url, name, call_timeout=60, down_after=DOWN_AFTER)
    try:
        yield {"name": name, "agents": agents, "dirs": hosts, "bus": bus, "guest": guest, "libvirt": libvirtd}
    finally:
        for agent in agents.values():
            agent.kill(signal.SIGTERM)
        bus.close()
        for host, state in hosts.items():      # what the agents made on this machine goes too
            hv = Hypervisor(libvirtd, host, str(state / "pool"), domain_type="qemu")
            for info in hv.list():
                hv.destroy(info.uuid)
            hv.close()
            HostNetwork(host, str(state / "net")).teardown()
        for agent in agents.values():
            if agent.log.exists() and os.environ.get("OVERCAST_TEST_SHOW_AGENT_LOGS"):
                print(agent.log.read_text())


def send_file(bus: BusHosts, host: str, key: str, path: Path, chunk: int = 1 << 20) -> None:
    upload = uuid.uuid4().hex
    data = path.read_bytes()
    for offset in range(0, len(data), chunk):
        block = data[offset:offset + chunk]
        bus.call(host, "upload_chunk", {"key": key, "upload": upload, "offset": offset,
                                        "data": base64.b64encode(block).decode(),
                                        "last": offset + chunk >= len(data)})


def domains(libvirt_uri: str) -> list[str]:
    out = subprocess.run(["virsh", "-c", libvirt_uri, "list", "--all", "--uuid"], capture_output=True, text=True)
    return out.stdout.split()


def test_agents_register_heartbeat_build_over_the_bus_and_survive_a_kill(region):
    bus: BusHosts = region["bus"]
    a, b = sorted(region["agents"])
    directory = bus.directory
    assert directory.wait_for(lambda hs: {h.name for h in hs if h.up} == {a, b}, 120), \
        "both agents registered"
    for state in directory.hosts():
        # what libvirt says of this machine
        assert state.vcpus == os.cpu_count()
        assert state.memory_mb > 0 and state.disk_gb > 0
        assert state.hypervisor_type == "QEMU" and state.hypervisor_version > 0
        assert state.domain_type == "qemu"
    # heartbeats keep coming (the directory keeps them up past the down limit)
    first = {h.name: h.last_seen for h in directory.hosts()}
    assert directory.wait_for(lambda hs: all(h.last_seen > first[h.name] for h in hs), 10)

    # a guest built on host a, over the bus: images in chunks, network told to every host
    guest = region["guest"]
    assert sorted(bus.call(a, "missing_images", {"keys": ["kernel", "initrd"]})) == ["initrd", "kernel"]
    send_file(bus, a, "kernel", guest.kernel)
    send_file(bus, a, "initrd", guest.initrd)
    assert bus.call(a, "missing_images", {"keys": ["kernel", "initrd"]}) == []
    bus.broadcast("set_network", {"network": {"id": "n1"}})
    bus.broadcast("set_subnet", {"subnet": {"id": "s1", "network_id": "n1", "cidr": "10.233.1.0/24",
                                            "gateway_ip": "10.233.1.1"}})
    bus.broadcast("set_group", {"group": {"id": "web", "rules": [
        {"id": "http", "direction": "ingress", "protocol": "tcp", "port_min": 80, "port_max": 80,
         "remote_ip_prefix": "0.0.0.0/0"}, {"id": "out", "direction": "egress"}]}})
    mac, ip = "fa:16:3e:00:33:01", "10.233.1.10"
    bus.broadcast("set_port", {"port": {"id": "p1", "network_id": "n1", "mac": mac, "ips": [ip],
                                        "groups": ["web"], "host": a}})
    key = f"build-{region['name']}-1"
    spec = GuestSpec(uuid=guest_uuid(key), name="vm1", vcpus=1, memory_mb=192, disk_gb=0, kernel="kernel",
                     initrd="initrd", meta={"idempotency_key": key})
    spawn = {"spec": spec.to_dict(), "ports": [{"port_id": "p1", "network_id": "n1", "mac": mac, "ips": [ip]}]}
    made = bus.call(a, "spawn", spawn, timeout=BOOT_TIMEOUT, key=f"spawn:{key}")
    assert made["uuid"] == spec.uuid and made["state"] == "running"
    # the next heartbeat shows the guest and its usage; the scheduler counts it
    assert directory.wait_for(lambda hs: any(key in h.keys and h.used_memory_mb >= 192 for h in hs), 20)
    assert directory.find_key(key) == a
    ns = HostNetwork(a, str(region["dirs"][a] / "net")).namespace("n1")
    wait_for(lambda: netns_http(ns, f"http://{ip}/") == "overcast-guest\n", BOOT_TIMEOUT, "the guest answers HTTP")
    assert f"overcast-guest: eth0 {ip}/24" in bus.call(a, "console", {"uuid": spec.uuid})

    # kill -9 agent a: it goes down within the limit, nothing is scheduled on it, its guest runs on
    region["agents"][a].kill()
    assert directory.wait_for(lambda hs: [h.name for h in hs if not h.up] == [a], DOWN_AFTER + 5), "a is down"
    assert [h.name for h in schedule(directory.hosts(), Request(1, 192, 0))] == [b]
    with pytest.raises(NoValidHost):
        schedule(directory.hosts(), Request(1, 192, 0, force_host=a))
    assert spec.uuid in domains(region["libvirt"])

    # while it is down, the build is delivered again (a retry): it waits in a's queue
    before = next(h.instance for h in directory.hosts() if h.name == a)
    region["agents"][a].start()
    assert directory.wait_for(lambda hs: all(h.up for h in hs) and
                              next(h.instance for h in hs if h.name == a) != before, 60), "a is back"
    again = bus.call(a, "spawn", spawn, timeout=BOOT_TIMEOUT, key=f"spawn:{key}")
    assert again["uuid"] == spec.uuid
    assert domains(region["libvirt"]).count(spec.uuid) == 1
    # the same build under a new command key (the idempotency key is the guest's): still one guest
    assert bus.call(a, "spawn", spawn, timeout=BOOT_TIMEOUT, key=f"spawn:{key}:retry")["uuid"] == spec.uuid
    assert domains(region["libvirt"]).count(spec.uuid) == 1
    assert netns_http(ns, f"http://{ip}/") == "overcast-guest\n"

    # the agent reports on its own what changes under it: a guest that died, one that went
    events: list[tuple[str, str, str]] = []
    directory.listeners.append(lambda host, report: events.append((host, report["uuid"], report["state"])))
    subprocess.run(["virsh", "-c", region["libvirt"], "destroy", spec.uuid], check=True, capture_output=True)
    wait_for(lambda: (a, spec.uuid, "shutoff") in events, 20, "the agent reported the guest that died")

    # delete: the guest and its tap go
    bus.call(a, "destroy", {"uuid": spec.uuid})
    wait_for(lambda: (a, spec.uuid, "deleted") in events, 20, "the agent reported the guest gone")
    assert spec.uuid not in domains(region["libvirt"])
    assert directory.wait_for(lambda hs: not any(h.keys for h in hs), 20)
