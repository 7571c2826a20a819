"""A region of ``driver = "agent"`` behind ``overcast serve``: two ``overcast agent`` processes as
two hosts on a real RabbitMQ and libvirtd, the broker URL given to both sides by reference. With
the unmodified ``openstack`` CLI, ``compute service list``, ``hypervisor list`` and ``availability
zone list --long`` show both hosts (from their heartbeats, and no other), and a server boots to
ACTIVE as a real (TCG) guest on one of them, its DHCP address on its serial console.

Then that host's agent is killed (``SIGKILL``): the host goes ``down`` in ``compute service list``
and ``hypervisor list``, its server shows ``host_status: UNKNOWN`` (2.16) and stays ACTIVE (Nova
keeps the vm_state of a server whose host it cannot reach), and a new server goes to the other
host. While it is down its guest is destroyed behind Overcast's back (``virsh destroy``) and a
guest Overcast never made appears on it. The agent restarted with the same ``--host``: the host
is ``up``, the server whose guest stopped is SHUTOFF (decision 0040, as Nova's power-state sync
stops it), the stray guest is logged by the reconciler and left alone, and no guest is doubled.
Delete leaves no domain behind.

Then, both hosts up, scheduling across them (decision 0068): a host whose ``nova-compute`` an
administrator disabled and one forced down (2.11) get nothing (a build with only those: Nova's
"No valid host"); anti-affinity puts two servers on the two hosts and a third fails with Nova's
fault; affinity keeps two together; a resize that fits no host fails with Nova's fault in the
action's events and leaves the server ACTIVE, and one that fits gives the real guest its new
size (``virsh dominfo``), VERIFY_RESIZE until confirmed; one on a disabled host fails with Nova's
fault. Volumes (decision 0072, the CLI): a volume on the server's host is hot-plugged (domain XML,
the guest's console) and removed, one on the other host is refused with a 400, a server deleted
with a volume attached leaves it available. Cold migration: ``server migrate --host`` (2.56) to
the other host, ``resize revert`` back, ``server migrate`` and ``resize confirm``: the guest
defined and running on the new host, gone from the old. Last, ``overcast serve`` is killed
(``SIGKILL``) while 10 builds run: after its restart all 10 are ACTIVE and the hosts hold exactly 10
guests.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Iterator

import pytest

from overcast.testing.live import LiveServer, OpenStackCLI, sdk_connect, wait_for

from .conftest import BOOT_TIMEOUT, AgentProcess, clean_host, unique_host

pytestmark = pytest.mark.hosts

BUS_ENV = "OVERCAST_TEST_AGENT_BUS"
#: seconds without a heartbeat (the agents beat every second) before a host is down
DOWN_AFTER = 4


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
down_after = {DOWN_AFTER}
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
    started = time.monotonic()
    phases: list[str] = []

    def phase(name: str) -> None:
        phases.append(f"{name} {time.monotonic() - started:.1f}")

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

    phase("set-up")
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

    phase("vm1 answering")
    # an administrator finds it by its host
    listed = admin("server", "list", "--all-projects", "--host", host)
    assert [s["ID"] for s in listed] == [made["id"]], listed

    # the zones show the real hosts and their nova-compute services, up and enabled
    zones = admin("availability", "zone", "list", "--long", "--compute")
    computes_by_zone = {(z["Zone Name"], z["Host Name"]) for z in zones if z["Service Name"] == "nova-compute"}
    assert computes_by_zone == {("nova", a), ("nova", b)}, zones
    assert all(z["Service Status"].startswith("enabled :-)") for z in zones if z["Service Name"]), zones

    # -- the server's host stops heartbeating ----------------------------------------------------
    other = b if host == a else a
    killed_at = time.monotonic()
    agent_region["agents"][host].kill(signal.SIGKILL)

    def service_state(name: str) -> str:
        return next(s["State"] for s in admin("compute", "service", "list") if s["Host"] == name)
    wait_for(lambda: service_state(host) == "down", 90, interval=1.0, description=f"{host} down")
    down_in = time.monotonic() - killed_at
    phase("host down")
    assert service_state(other) == "up"
    states = {h["Hypervisor Hostname"]: h["State"] for h in admin("hypervisor", "list")}
    assert states == {host: "down", other: "up"}, states
    shown = admin("--os-compute-api-version", "2.16", "server", "show", made["id"])
    assert shown["host_status"] == "UNKNOWN" and shown["status"] == "ACTIVE", shown
    zones = admin("availability", "zone", "list", "--long", "--compute")
    status = {z["Host Name"]: z["Service Status"] for z in zones if z["Service Name"] == "nova-compute"}
    assert status[host].startswith("enabled XXX") and status[other].startswith("enabled :-)"), zones

    # behind Overcast's back, while the agent is away: the guest stops, a stray guest appears
    (vm1_domain,) = domains(f"overcast-{host}-")
    subprocess.run(["virsh", "-c", "qemu:///system", "destroy", vm1_domain], check=True, capture_output=True)
    stray_uuid = str(uuid.uuid4())
    stray = agent_region["dir"] / "stray.xml"
    stray.write_text(f"<domain type='qemu'><name>overcast-{host}-{stray_uuid}</name><uuid>{stray_uuid}</uuid>"
                     "<memory unit='MiB'>32</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os></domain>")
    subprocess.run(["virsh", "-c", "qemu:///system", "define", str(stray)], check=True, capture_output=True)

    # nothing new goes to the down host
    second = cli("server", "create", "--flavor", "guest.small", "--image", "guest", "--network", "guests",
                 "--wait", "vm2")
    assert second["status"] == "ACTIVE", second
    assert admin("server", "show", second["id"])["OS-EXT-SRV-ATTR:host"] == other
    assert len(domains(f"overcast-{other}-")) == 1

    phase("vm2 ACTIVE")
    # -- it comes back: the same --host ---------------------------------------------------------
    agent_region["agents"][host].start()
    wait_for(lambda: service_state(host) == "up", 90, interval=1.0, description=f"{host} up again")
    assert admin("--os-compute-api-version", "2.16", "server", "show", made["id"])["host_status"] == "UP"
    assert {h["State"] for h in admin("hypervisor", "list")} == {"up"}

    def vm1_status() -> str | None:
        status = cli("server", "show", made["id"])["status"]
        return status if status != "ACTIVE" else None
    assert wait_for(vm1_status, 60, interval=1.0, description="vm1 reconciled") == "SHUTOFF"
    phase("reconciled")
    server: LiveServer = agent_region["server"]
    wait_for(lambda: stray_uuid in server.log_path.read_text("utf-8", "replace"), 30, interval=1.0,
             description="the stray guest logged")
    assert [line for line in server.log_path.read_text("utf-8", "replace").splitlines()
            if stray_uuid in line and "left alone" in line], "the stray guest is logged as left alone"
    assert sorted(domains(f"overcast-{host}-")) == sorted([vm1_domain, f"overcast-{host}-{stray_uuid}"])

    cli.run("server", "delete", "--wait", "vm1", "vm2")
    assert domains(f"overcast-{host}-") == [f"overcast-{host}-{stray_uuid}"]   # the stray, left alone
    assert not domains(f"overcast-{other}-")
    phase("deleted")
    scheduling_across_hosts(agent_region, phase)
    creates_survive_a_kill(agent_region, phase)
    print(f"\nhost down in compute service list {down_in:.1f} s after SIGKILL (down_after {DOWN_AFTER} s); "
          f"seconds from the test's start: {', '.join(phases)}")


def scheduling_across_hosts(agent_region: dict[str, Any], phase: Any) -> None:
    """Through openstacksdk (one process: the CLI's start-up and 5 s ``--wait`` polls would double
    the module's run time), but for the administrator's two service marks, set with the CLI."""
    server: LiveServer = agent_region["server"]
    admin_cli: OpenStackCLI = agent_region["admin"]
    conn = sdk_connect(server.clouds_yaml, "overcast")
    admin = sdk_connect(server.clouds_yaml, "overcast-admin")
    a, b = agent_region["hosts"]
    before = set(domains("overcast-"))
    image = conn.image.find_image("guest", ignore_missing=False)
    network = conn.network.find_network("guests", ignore_missing=False)
    small = conn.compute.find_flavor("guest.small", ignore_missing=False)

    def create(name: str, group: str | None = None) -> Any:
        hints = {"scheduler_hints": {"group": group}} if group else {}
        return conn.compute.create_server(name=name, flavor_id=small.id, image_id=image.id,
                                          networks=[{"uuid": network.id}], **hints)

    def boot(name: str, group: str | None = None) -> Any:
        made = conn.compute.wait_for_server(create(name, group), status="ACTIVE", failures=["ERROR"],
                                            interval=1, wait=BOOT_TIMEOUT)
        return admin.compute.get_server(made.id)

    def delete(*servers: Any) -> None:
        for made in servers:
            conn.compute.delete_server(made)
        for made in servers:
            conn.compute.wait_for_delete(made, interval=1, wait=120)

    def no_valid_host(name: str, group: str | None = None) -> None:
        made = conn.compute.wait_for_server(create(name, group), status="ERROR", failures=["ACTIVE"],
                                            interval=1, wait=120)
        assert "No valid host was found" in json.dumps(made.fault), made.fault
        delete(made)

    # an administrator's marks are read by the scheduler: a disabled host and a forced-down one
    admin_cli.run("compute", "service", "set", "--disable", "--disable-reason", "maintenance", a, "nova-compute")
    admin_cli.run("--os-compute-api-version", "2.11", "compute", "service", "set", "--down", b, "nova-compute")
    no_valid_host("nowhere")        # either mark unread and it would have landed on that host
    admin.compute.enable_service(None, host=a, binary="nova-compute")
    admin.compute.update_service_forced_down(None, host=b, binary="nova-compute", forced=False)
    phase("service marks")

    # anti-affinity across the two hosts; a third member has nowhere to go
    anti = conn.compute.create_server_group(name="apart", policy="anti-affinity")
    s1, s2 = boot("apart1", anti.id), boot("apart2", anti.id)
    assert {s1.compute_host, s2.compute_host} == {a, b}
    no_valid_host("apart3", anti.id)
    delete(s1, s2)
    phase("anti-affinity")

    # affinity keeps them together
    together = conn.compute.create_server_group(name="together", policy="affinity")
    s4 = boot("together1", together.id)
    (s4_domain,) = set(domains("overcast-")) - before
    s5 = boot("together2", together.id)
    assert s4.compute_host == s5.compute_host
    phase("affinity")

    # a resize that fits no host: Nova's fault in the action's events, the server left ACTIVE
    huge = admin.compute.create_flavor(name="guest.huge", vcpus=1, ram=256, disk=100000)
    medium = admin.compute.create_flavor(name="guest.medium", vcpus=2, ram=384, disk=1)
    conn.compute.resize_server(s4, huge.id)

    def refused() -> str | None:
        actions = [x for x in admin.compute.server_actions(s4) if x.action == "resize"]
        if not actions:
            return None
        text = json.dumps(admin.compute.get_server_action(actions[0].request_id, s4).events)
        return text if "No valid host was found" in text else None
    wait_for(refused, 120, interval=1.0, description="the resize refused with Nova's fault")
    shown = conn.compute.wait_for_server(conn.compute.get_server(s4.id), status="ACTIVE", interval=1, wait=60)
    assert shown.status == "ACTIVE" and shown.flavor.original_name == "guest.small", shown

    # one that would fit, but the server's host is disabled: Nova's scheduler drops it (ComputeFilter)
    # and this region resizes only in place, so Nova's fault (decision 0072); the server stays ACTIVE
    host4 = admin.compute.get_server(s4.id).compute_host
    admin_cli.run("compute", "service", "set", "--disable", host4, "nova-compute")
    conn.compute.resize_server(s4, medium.id)

    def refused_on_disabled() -> str | None:
        for act in admin.compute.server_actions(s4):
            text = json.dumps(admin.compute.get_server_action(act.request_id, s4).events)
            if act.action == "resize" and f"ComputeFilter refused {host4}" in text:
                return text
        return None
    wait_for(refused_on_disabled, 120, interval=1.0, description="the resize on a disabled host refused")
    shown = conn.compute.wait_for_server(conn.compute.get_server(s4.id), status="ACTIVE", interval=1, wait=60)
    assert shown.flavor.original_name == "guest.small", shown
    admin.compute.enable_service(None, host=host4, binary="nova-compute")

    # one that fits: the real guest gets its new size, VERIFY_RESIZE until confirmed
    conn.compute.resize_server(s4, medium.id)
    conn.compute.wait_for_server(s4, status="VERIFY_RESIZE", failures=["ERROR"], interval=1, wait=120)
    info = subprocess.run(["virsh", "-c", "qemu:///system", "dominfo", s4_domain], capture_output=True,
                          text=True, check=True).stdout
    assert re.search(r"CPU\(s\):\s+2\n", info) and re.search(r"Max memory:\s+393216 KiB", info), info
    assert re.search(r"State:\s+running", info), info
    conn.compute.confirm_server_resize(s4)
    shown = conn.compute.wait_for_server(s4, status="ACTIVE", failures=["ERROR"], interval=1, wait=60)
    assert shown.flavor.original_name == "guest.medium", shown
    phase("resize")

    volumes_on_hosts(agent_region, s4, s4_domain, s5)
    phase("volumes")
    conn.compute.wait_for_delete(s4, interval=1, wait=120)      # deleted with its volume attached
    cold_migration(agent_region, s5)
    phase("cold migration")
    delete(s5)
    assert set(domains("overcast-")) == before


def cold_migration(agent_region: dict[str, Any], server: Any) -> None:
    """Decision 0072, with the ``openstack`` CLI: ``server migrate --host`` (2.56) moves the guest
    to the other host (defined and running there, gone from the old one), VERIFY_RESIZE; ``resize
    revert`` brings it back; ``server migrate`` without a host (the scheduler picks the other one)
    and ``resize confirm`` leave it on the new host, the old host's disk removed."""
    cli: OpenStackCLI = agent_region["cli"]
    admin: OpenStackCLI = agent_region["admin"]
    sdk = sdk_connect(agent_region["server"].clouds_yaml, "overcast-admin")   # polls: no CLI start-up each
    a, b = agent_region["hosts"]
    here = server.compute_host
    there = b if here == a else a
    (domain,) = domains(f"overcast-{here}-")
    uid = domain.removeprefix(f"overcast-{here}-")

    def mine() -> list[str]:
        return [d for d in domains("overcast-") if d.endswith(uid)]

    def state(name: str) -> str:
        return subprocess.run(["virsh", "-c", "qemu:///system", "domstate", name], capture_output=True, text=True,
                              check=True).stdout.strip()

    def settled() -> Any:     # VERIFY_RESIZE, or the move failed (ACTIVE, no task)
        shown = sdk.compute.get_server(server.id)
        return shown if shown.status == "VERIFY_RESIZE" or shown.task_state is None else None

    def shown_status(status: str) -> Any:
        return wait_for(lambda: (x if (x := sdk.compute.get_server(server.id)).status == status else None), 120,
                        interval=1.0, description=status)

    def moved_to(host: str) -> Any:
        shown = wait_for(settled, 180, interval=1.0, description="VERIFY_RESIZE after the move")
        events = [sdk.compute.get_server_action(act.request_id, server.id).events
                  for act in sdk.compute.server_actions(server.id) if act.action == "migrate"]
        assert shown.status == "VERIFY_RESIZE", (shown, events)
        assert shown.compute_host == host, shown
        assert mine() == [f"overcast-{host}-{uid}"] and state(f"overcast-{host}-{uid}") == "running"
        return shown

    refused = admin.run("--os-compute-api-version", "2.56", "server", "migrate", "--host", here, server.id,
                        check=False)
    assert refused.returncode != 0 and "400" in refused.stderr, refused.stderr
    admin.run("--os-compute-api-version", "2.56", "server", "migrate", "--host", there, server.id)
    moved_to(there)
    # the guest boots on its new host (its console there shows the kernel)
    wait_for(lambda: "Linux version" in str(sdk.compute.get_server_console_output(server.id)["output"]), 120,
             interval=2.0, description="the moved guest's kernel on its console")
    migrations = admin("--os-compute-api-version", "2.23", "server", "migration", "list", "--server", server.id)
    assert [(m["Source Compute"], m["Dest Compute"], m["Type"]) for m in migrations] == [(here, there, "migration")]

    cli.run("server", "resize", "revert", server.id)
    assert shown_status("ACTIVE").compute_host == here
    assert mine() == [domain] and state(domain) == "running"

    admin.run("server", "migrate", server.id)               # the scheduler's choice: the other host
    moved_to(there)
    cli.run("server", "resize", "confirm", server.id)
    assert shown_status("ACTIVE").compute_host == there
    assert not list(agent_region["dir"].joinpath(here).rglob(f"disk-{uid}")), "the old host's disk removed"
    assert list(agent_region["dir"].joinpath(there).rglob(f"disk-{uid}")), "the disk on the new host"


def volumes_on_hosts(agent_region: dict[str, Any], server: Any, domain: str, neighbour: Any) -> None:
    """Decision 0072: a volume's bytes live on one host (a volume type's ``pool_name`` picks it).
    With the ``openstack`` CLI: one on the other host is refused with a 400 before anything is
    attached; one on the server's host is hot-plugged (the domain's XML has it, the guest's kernel
    reports the new disk on its console) and removed. Then (openstacksdk, one process: the CLI's
    start-up would double the phase) attached again and ``server`` deleted with it attached: the
    volume is ``available``, its bytes still on the host (it attaches to a neighbour there)."""
    cli: OpenStackCLI = agent_region["cli"]
    sdk = sdk_connect(agent_region["server"].clouds_yaml, "overcast")
    admin = sdk_connect(agent_region["server"].clouds_yaml, "overcast-admin")
    a, b = agent_region["hosts"]
    here = server.compute_host
    there = b if here == a else a
    for host in (here, there):
        admin.block_storage.create_type(name=f"on-{host}", extra_specs={"pool_name": host})
    near = sdk.block_storage.create_volume(size=1, volume_type=f"on-{here}", name="near")
    far = sdk.block_storage.create_volume(size=1, volume_type=f"on-{there}", name="far")

    def available(volume: Any) -> Any:
        sdk.block_storage.wait_for_status(volume, "available", failures=["error"], interval=1, wait=120)
        return admin.block_storage.get_volume(volume.id)

    def in_use(volume: Any) -> Any:
        sdk.block_storage.wait_for_status(volume, "in-use", failures=["error"], interval=1, wait=120)
        return admin.block_storage.get_volume(volume.id)
    assert available(near).host.endswith(f"#{here}") and available(far).host.endswith(f"#{there}")

    def xml() -> str:
        return subprocess.run(["virsh", "-c", "qemu:///system", "dumpxml", domain], capture_output=True, text=True,
                              check=True).stdout

    # the volume on the other host: Nova's 400, nothing attached, the volume still available
    refused = cli.run("server", "add", "volume", server.id, "far", check=False)
    assert refused.returncode != 0 and "not on the same host" in refused.stderr, refused.stderr
    assert "400" in refused.stderr, refused.stderr
    assert admin.block_storage.get_volume(far.id).status == "available" and "vol-" not in xml()

    def console_disks() -> int:
        return str(sdk.compute.get_server_console_output(server.id)["output"]).count("[vdb]")
    seen = console_disks()
    cli.run("server", "add", "volume", server.id, "near")
    attached = in_use(near).attachments
    assert [(x["server_id"], x["device"]) for x in attached] == [(server.id, "/dev/vdb")], attached
    text = xml()
    assert re.search(r"<disk type='file' device='disk'>(?:(?!</disk>).)*<source file='[^']*/vol-[0-9a-f-]+'"
                     r"(?:(?!</disk>).)*<target dev='vdb' bus='virtio'/>", text, re.S), text
    assert near.id not in text      # the host names the volume by its backend id, not Overcast's
    # the guest's kernel sees a new virtio disk (its console: "virtio_blk virtioN: [vdb] ... logical blocks")
    wait_for(lambda: console_disks() > seen, 120, interval=2.0, description="the guest's kernel finds vdb")

    cli.run("server", "remove", "volume", server.id, "near")
    available(near)
    wait_for(lambda: "vol-" not in xml(), 60, interval=1.0, description="the disk gone from the domain")

    # attached again, then the server deleted with it: the volume is available, its bytes kept
    sdk.compute.create_volume_attachment(server.id, near.id)
    in_use(near)
    assert "<target dev='vdb'" in xml()
    sdk.compute.delete_server(server.id)
    assert available(near).attachments == []
    # on the neighbour (same host) the kept volume attaches again: its bytes are still there
    sdk.compute.create_volume_attachment(neighbour.id, near.id)
    in_use(near)
    sdk.compute.delete_volume_attachment(neighbour.id, near.id)
    available(near)
    for volume in (near, far):
        sdk.block_storage.delete_volume(volume)
    for volume in (near, far):
        sdk.block_storage.wait_for_delete(volume, interval=1, wait=60)
    assert not list(agent_region["dir"].rglob("vol-*")), "the volumes' files removed from the hosts"


#: servers created at once while ``overcast serve`` is killed (the issue's drill)
CRASH_CREATES = 10


def creates_survive_a_kill(agent_region: dict[str, Any], phase: Any) -> None:
    """``kill -9`` of ``overcast serve`` while 10 builds run (created at once with openstacksdk, one
    connection per thread, all accepted): after the restart all 10 are ACTIVE and the hosts hold
    exactly 10 guests, no stray and no double (a build resumed after the kill finds the guest its
    first run made by its idempotency key). The guests boot from a blank disk (SeaBIOS finds
    nothing to boot and waits: no kernel's CPU on a loaded machine)."""
    server: LiveServer = agent_region["server"]
    cli: OpenStackCLI = agent_region["cli"]
    before = set(domains("overcast-"))
    blank = agent_region["dir"] / "blank.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(blank), "16M"], check=True)
    image = cli("image", "create", "--disk-format", "qcow2", "--container-format", "bare", "--file", str(blank),
                "blank")
    conn = sdk_connect(server.clouds_yaml, "overcast")
    network = conn.network.find_network("guests", ignore_missing=False)
    small = conn.compute.find_flavor("guest.small", ignore_missing=False)

    def create(i: int) -> str:
        made = sdk_connect(server.clouds_yaml, "overcast").compute.create_server(
            name=f"crash-{i:02d}", flavor_id=small.id, image_id=image["id"], networks=[{"uuid": network.id}])
        return str(made.id)

    # all 10 accepted (202), then the kill while their builds run (images sent, guests spawned)
    with ThreadPoolExecutor(max_workers=CRASH_CREATES) as pool:
        accepted = list(pool.map(create, range(CRASH_CREATES)))
    assert server.process is not None
    os.killpg(server.process.pid, signal.SIGKILL)
    server.process.wait(10)
    at_kill = len(set(domains("overcast-")) - before)
    phase(f"killed with {at_kill} of {CRASH_CREATES} guests made")
    server.restart()
    conn = sdk_connect(server.clouds_yaml, "overcast")
    last: dict[str, str] = {}

    def settled() -> bool:
        nonlocal last
        last = {s.id: s.status for s in conn.compute.servers() if s.name.startswith("crash-")}
        return set(accepted) == set(last) and all(status in ("ACTIVE", "ERROR") for status in last.values())
    wait_for(settled, BOOT_TIMEOUT, interval=2.0, description="every create ACTIVE or ERROR after the restart",
             on_timeout=lambda: f"{last}\n{server.output_tail(40)}")
    guests = set(domains("overcast-")) - before
    active = [sid for sid, status in last.items() if status == "ACTIVE"]
    faults = {s.id: s.fault for s in conn.compute.servers() if s.name.startswith("crash-") and s.status == "ERROR"}
    assert len(active) == CRASH_CREATES and len(guests) == CRASH_CREATES, (len(guests), faults)
    phase(f"{len(active)} ACTIVE, {len(last) - len(active)} ERROR after the restart")
    crashed = [conn.compute.get_server(sid) for sid in last]
    for made_server in crashed:
        conn.compute.delete_server(made_server)
    for made_server in crashed:
        conn.compute.wait_for_delete(made_server, interval=1, wait=120)
    assert set(domains("overcast-")) == before
