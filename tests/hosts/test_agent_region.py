"""A region of ``driver = "agent"`` behind ``overcast serve``: two ``overcast agent`` processes as
two hosts on a real RabbitMQ and libvirtd, the broker URL given to both sides by reference. With
the unmodified ``openstack`` CLI, ``compute service list`` and ``hypervisor list`` show both
hosts (from their heartbeats), and a server boots to ACTIVE as a real (TCG) guest on one of them,
its DHCP address on its serial console; delete leaves no domain behind.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
from pathlib import Path
from typing import Any, Iterator

import pytest

from overcast.testing.live import LiveServer, OpenStackCLI, wait_for

from .conftest import BOOT_TIMEOUT, AgentProcess, clean_host, unique_host

pytestmark = pytest.mark.hosts

BUS_ENV = "OVERCAST_TEST_AGENT_BUS"


def domains(prefix: str) -> list[str]:
    out = subprocess.run(["virsh", "-c", "qemu:///system", "list", "--all", "--name"], capture_output=True, text=True)
    return [n for n in out.stdout.split() if n.startswith(prefix)]


@pytest.fixture
def agent_region(rabbitmq: Any, libvirtd: str, guest: Any, host_dir: Path) -> Iterator[dict[str, Any]]:
    bus_region = f"r{unique_host()}"
    hosts = {h: host_dir / h for h in (f"{bus_region}a", f"{bus_region}b")}
    env = {BUS_ENV: rabbitmq.url}
    config = host_dir / "overcast.toml"
    config.write_text(f"""
[ops]
reconcile_interval = 2

[clouds.RegionOne]
driver = "agent"
region = "{bus_region}"
bus = "env:{BUS_ENV}"
clean_shutdown_timeout = 20
""")
    agents = {h: AgentProcess(bus_region, h, d, env, host_dir / f"{h}.log").start() for h, d in hosts.items()}
    server = LiveServer(host_dir / "data", config=config, env=env, startup_timeout=180)
    try:
        server.start()
        yield {"server": server, "hosts": sorted(hosts), "guest": guest, "dir": host_dir, "agents": agents,
               "cli": OpenStackCLI(server.clouds_yaml, "overcast", timeout=BOOT_TIMEOUT + 60),
               "admin": OpenStackCLI(server.clouds_yaml, "overcast-admin", timeout=120)}
    finally:
        server.stop()
        for agent in agents.values():
            agent.kill(signal.SIGTERM)
        for host, state in hosts.items():
            clean_host(libvirtd, host, state)


def test_two_agents_are_two_hosts_and_a_server_boots_on_one(agent_region: dict[str, Any]) -> None:
    cli: OpenStackCLI = agent_region["cli"]
    admin: OpenStackCLI = agent_region["admin"]
    guest = agent_region["guest"]
    a, b = agent_region["hosts"]

    # both hosts, as Nova shows its computes: from the agents' heartbeats (the inventory round)
    def computes() -> list[dict[str, Any]] | None:
        rows = [s for s in admin("compute", "service", "list") if s["Binary"] == "nova-compute"]
        return rows if {r["Host"] for r in rows} >= {a, b} else None
    rows = wait_for(computes, 120, interval=1.0, description="both agents' hosts in compute service list")
    assert sorted(r["Host"] for r in rows) == [a, b], rows       # the agents' hosts, and no other
    assert all(r["State"] == "up" and r["Status"] == "enabled" for r in rows), rows
    hypervisors = admin("hypervisor", "list")
    assert sorted(h["Hypervisor Hostname"] for h in hypervisors) == [a, b], hypervisors
    assert all(h["State"] == "up" and h["Hypervisor Type"] == "QEMU" for h in hypervisors), hypervisors

    admin("flavor", "create", "--vcpus", "1", "--ram", "256", "--disk", "1", "guest.small")
    kernel = cli("image", "create", "--disk-format", "aki", "--container-format", "aki",
                 "--file", str(guest.kernel), "guest-kernel")
    ramdisk = cli("image", "create", "--disk-format", "ari", "--container-format", "ari",
                  "--file", str(guest.initrd), "guest-initrd")
    disk = agent_region["dir"] / "root.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), "64M"], check=True)
    cli("image", "create", "--disk-format", "qcow2", "--container-format", "bare", "--file", str(disk),
        "--property", f"kernel_id={kernel['id']}", "--property", f"ramdisk_id={ramdisk['id']}", "guest")
    cli("network", "create", "guests")
    cli("subnet", "create", "--network", "guests", "--subnet-range", "10.233.9.0/24", "guests-v4")

    made = cli("server", "create", "--flavor", "guest.small", "--image", "guest", "--network", "guests",
               "--wait", "vm1")
    assert made["status"] == "ACTIVE", made
    shown = admin("server", "show", made["id"])
    host = shown["OS-EXT-SRV-ATTR:host"]
    assert host in (a, b), shown
    fixed_ip = re.search(r"10\.233\.9\.\d+", json.dumps(shown["addresses"])).group(0)  # type: ignore[union-attr]
    assert len(domains(f"overcast-{host}-")) == 1 and not domains(f"overcast-{b if host == a else a}-")

    def console_has_ip() -> str | None:
        text = cli.run("console", "log", "show", "vm1").stdout
        return text if f"overcast-guest: eth0 {fixed_ip}/" in text else None
    wait_for(console_has_ip, BOOT_TIMEOUT, interval=1.0, max_interval=3.0,
             description="the guest's console showing its DHCP address",
             on_timeout=lambda: agent_region["server"].output_tail(40))

    # an administrator finds it by its host
    listed = admin("server", "list", "--all-projects", "--host", host)
    assert [s["ID"] for s in listed] == [made["id"]], listed

    cli.run("server", "delete", "--wait", "vm1")
    assert not domains(f"overcast-{host}-")
