"""A region of ``driver = "libvirt"`` (direct connect to ``qemu:///system``, no agent) behind
``overcast serve``, driven by the unmodified ``openstack`` CLI: a Glance image made of the test
guest's kernel and initramfs boots a real (TCG) guest that gets its fixed IP by DHCP; its serial
console is ``console log show``; stop and start change the domain's state in libvirt; delete
leaves no domain, tap or bridge behind.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from overcast.drivers.hosts.hostnet import HostNetwork
from overcast.testing.live import LiveServer, OpenStackCLI, wait_for

from .conftest import BOOT_TIMEOUT, clean_host, unique_host

pytestmark = pytest.mark.hosts


def virsh(*args: str) -> str:
    return subprocess.run(["virsh", "-c", "qemu:///system", *args], capture_output=True, text=True).stdout.strip()


def links() -> set[str]:
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    return {line.split(":")[1].strip().split("@")[0] for line in out.splitlines() if ":" in line}


@pytest.fixture
def libvirt_region(libvirtd: str, guest: Any, host_dir: Path) -> Iterator[dict[str, Any]]:
    host = unique_host()
    state = host_dir / "state"
    config = host_dir / "overcast.toml"
    config.write_text(f"""
[clouds.RegionOne]
driver = "libvirt"
uri = "{libvirtd}"
host = "{host}"
state_dir = "{state}"
domain_type = "qemu"
clean_shutdown_timeout = 20
""")
    server = LiveServer(host_dir / "data", config=config, startup_timeout=180)
    try:
        server.start()
        yield {"server": server, "host": host, "state": state, "guest": guest,
               "cli": OpenStackCLI(server.clouds_yaml, "overcast", timeout=BOOT_TIMEOUT + 60),
               "admin": OpenStackCLI(server.clouds_yaml, "overcast-admin", timeout=120)}
    finally:
        server.stop()
        clean_host(libvirtd, host, state)


def status(cli: OpenStackCLI, name: str, wanted: str, timeout: float) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        shown = cli("server", "show", name)
        assert shown["status"] != "ERROR", json.dumps(shown, default=str)
        return shown if shown["status"] == wanted else None
    return wait_for(reached, timeout, interval=0.5, max_interval=2.0, description=f"server {name} {wanted}")


def test_a_server_runs_as_a_real_guest_through_the_cli(libvirt_region: dict[str, Any]) -> None:
    cli: OpenStackCLI = libvirt_region["cli"]
    admin: OpenStackCLI = libvirt_region["admin"]
    guest = libvirt_region["guest"]
    host_dir: Path = libvirt_region["state"].parent

    admin("flavor", "create", "--vcpus", "1", "--ram", "256", "--disk", "1", "guest.small")
    kernel = cli("image", "create", "--disk-format", "aki", "--container-format", "aki",
                 "--file", str(guest.kernel), "guest-kernel")
    ramdisk = cli("image", "create", "--disk-format", "ari", "--container-format", "ari",
                  "--file", str(guest.initrd), "guest-initrd")
    disk = host_dir / "root.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), "64M"], check=True)
    image = cli("image", "create", "--disk-format", "qcow2", "--container-format", "bare", "--file", str(disk),
                "--property", f"kernel_id={kernel['id']}", "--property", f"ramdisk_id={ramdisk['id']}", "guest")
    assert image["status"] == "active"

    cli("network", "create", "guests")
    cli("subnet", "create", "--network", "guests", "--subnet-range", "10.233.7.0/24", "guests-v4")

    began = time.monotonic()
    made = cli("server", "create", "--flavor", "guest.small", "--image", "guest", "--network", "guests",
               "--wait", "vm1")
    took = time.monotonic() - began
    assert made["status"] == "ACTIVE", made
    print(f"\nserver create --wait -> ACTIVE in {took:.1f} s")
    shown = cli("server", "show", "vm1")
    fixed_ip = re.search(r"10\.233\.7\.\d+", json.dumps(shown["addresses"])).group(0)  # type: ignore[union-attr]

    # one libvirt domain, running, named after the region's host and the server's build
    domain = f"overcast-{libvirt_region['host']}-"
    names = [n for n in virsh("list", "--all", "--name").split() if n.startswith(domain)]
    assert len(names) == 1, names
    assert virsh("domstate", names[0]) == "running"

    # the guest's own serial console: it booted, and DHCP gave it the address Overcast assigned
    def console_has_ip() -> str | None:
        text = cli.run("console", "log", "show", "vm1").stdout
        return text if f"overcast-guest: eth0 {fixed_ip}/" in text else None
    def why() -> str:
        model = libvirt_region["state"] / "net" / "network.json"
        return ("console:\n" + cli.run("console", "log", "show", "vm1").stdout[-3000:]
                + "\nhost network model:\n" + (model.read_text() if model.exists() else "(none)")
                + "\nserver log:\n" + libvirt_region["server"].output_tail(40))
    text = wait_for(console_has_ip, BOOT_TIMEOUT, interval=1.0, max_interval=3.0,
                    description="the guest's console showing its DHCP address", on_timeout=why)
    assert "Linux version" in text and "overcast-guest: eth0 mac" in text

    cli.run("server", "stop", "vm1")
    status(cli, "vm1", "SHUTOFF", 120)
    assert virsh("domstate", names[0]) == "shut off"
    cli.run("server", "start", "vm1")
    status(cli, "vm1", "ACTIVE", 120)
    assert virsh("domstate", names[0]) == "running"

    port_id = cli("port", "list", "--server", "vm1")[0]["ID"]
    tap = HostNetwork(libvirt_region["host"], str(libvirt_region["state"] / "net")).tap(port_id)
    assert tap in links()
    cli.run("server", "delete", "--wait", "vm1")
    assert not [n for n in virsh("list", "--all", "--name").split() if n.startswith(domain)]
    assert tap not in links()
    wait_for(lambda: cli.run("port", "show", port_id, check=False).returncode != 0, 60,
             description="the server's port deleted with it")
