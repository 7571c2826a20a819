"""The hypervisor module and host networking on a real libvirtd with real (TCG) guests."""

from __future__ import annotations

import concurrent.futures
import json
import os
import subprocess
from pathlib import Path

import pytest

from overcast.drivers.errors import Conflict, NotFound
from overcast.drivers.hosts.hostnet import Group, HostNetwork, Network, Port, Rule, Subnet
from overcast.drivers.hosts.hypervisor import Disk, GuestSpec, Hypervisor, Nic, guest_uuid

from .conftest import BOOT_TIMEOUT, netns_http, unique_host, wait_for

pytestmark = pytest.mark.hosts


def chunks(path: Path):
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            yield block


def virsh(*args: str) -> str:
    return subprocess.run(["virsh", "-c", "qemu:///system", *args], capture_output=True, text=True).stdout.strip()


@pytest.fixture
def host(libvirtd, guest, host_dir):
    name = unique_host()
    hv = Hypervisor(libvirtd, name, str(host_dir / "pool"), domain_type="qemu")
    net = HostNetwork(name, str(host_dir / "net"))
    hv.upload_image("kernel", chunks(guest.kernel), guest.kernel.stat().st_size)
    hv.upload_image("initrd", chunks(guest.initrd), guest.initrd.stat().st_size)
    yield hv, net
    for info in hv.list():
        hv.destroy(info.uuid)
    net.teardown()
    pool = hv.pool()
    for vol in pool.listAllVolumes(0):
        vol.delete(0)
    pool.destroy()
    pool.undefine()
    hv.close()


def web_group(gid: str = "web", http: bool = True) -> Group:
    rules = [Rule("icmp-in", "ingress", protocol="icmp", remote_ip_prefix="0.0.0.0/0"),
             Rule("all-out", "egress")]
    if http:
        rules.append(Rule("http-in", "ingress", protocol="tcp", port_min=80, port_max=80,
                          remote_ip_prefix="0.0.0.0/0"))
    return Group(gid, rules)


def test_guests_boot_get_their_address_by_dhcp_and_obey_security_groups(host, host_dir):
    hv, net = host
    net.set_network(Network("net1"))
    net.set_network(Network("net2"))
    net.set_subnet(Subnet("sub1", "net1", "10.231.1.0/24", "10.231.1.1"))
    net.set_subnet(Subnet("sub2", "net2", "10.231.2.0/24", "10.231.2.1"))
    net.set_group(web_group())
    guests = {"a": ("net1", "10.231.1.10", "fa:16:3e:00:01:0a"), "b": ("net1", "10.231.1.11", "fa:16:3e:00:01:0b"),
              "c": ("net2", "10.231.2.10", "fa:16:3e:00:02:0a")}
    specs = {}
    for name, (network, ip, mac) in guests.items():
        port = f"port-{name}"
        net.set_port(Port(port, network, mac, [ip], groups=["web"]))
        bridge = net.plug(port, network, mac, [ip])
        specs[name] = GuestSpec(uuid=guest_uuid(f"key-{hv.host}-{name}"), name=name, vcpus=1, memory_mb=192,
                                disk_gb=0, kernel="kernel", initrd="initrd",
                                nics=(Nic(port, mac, bridge, net.tap(port)),), meta={"project_id": "p1"})
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        infos = dict(zip(specs, pool.map(hv.spawn, specs.values())))
    assert all(i.state == "running" for i in infos.values())
    # the same spec again finds the guest instead of making a second one
    assert hv.spawn(specs["a"]).uuid == specs["a"].uuid
    assert len(hv.list()) == 3

    for name, (_network, ip, _mac) in guests.items():
        wait_for(lambda n=name, a=ip: f"overcast-guest: eth0 {a}/24" in hv.console_output(specs[n].uuid),
                 BOOT_TIMEOUT, f"guest {name} got {ip} by DHCP")
    console = hv.console_output(specs["a"].uuid)
    assert "Linux version" in console
    assert hv.console_output(specs["a"].uuid, length=2).count("\n") == 2

    ns1, ns2 = net.namespace("net1"), net.namespace("net2")
    wait_for(lambda: netns_http(ns1, "http://10.231.1.10/") == "overcast-guest\n", 120, "a answers HTTP")
    assert netns_http(ns1, "http://10.231.1.11/") == "overcast-guest\n"
    assert netns_http(ns2, "http://10.231.2.10/") == "overcast-guest\n"
    # guests on one network reach each other; one on another network reaches neither
    assert netns_http(ns1, "http://10.231.1.10/cgi-bin/reach?10.231.1.11") == "reach 10.231.1.11 yes\n"
    assert netns_http(ns2, "http://10.231.2.10/cgi-bin/reach?10.231.1.10") == "reach 10.231.1.10 no\n"
    # the other network's namespace does not reach them either
    assert netns_http(ns2, "http://10.231.1.10/", timeout=2) is None

    # security groups: port 80 closes and opens again with the rule
    net.set_group(web_group(http=False))
    assert netns_http(ns1, "http://10.231.1.10/", timeout=2) is None
    assert netns_http(ns1, "http://10.231.1.10/cgi-bin/reach?10.231.1.11", timeout=2) is None
    net.set_group(web_group(http=True))
    assert netns_http(ns1, "http://10.231.1.10/") == "overcast-guest\n"

    # a port whose groups the host was never told is closed (but for DHCP)
    assert "udp sport 67 udp dport 68 accept" in net.firewall_rules()


def test_power_actions_volumes_and_delete_leave_nothing_behind(host, host_dir):
    hv, net = host
    net.set_network(Network("net1"))
    net.set_subnet(Subnet("sub1", "net1", "10.232.1.0/24", "10.232.1.1"))
    net.set_group(web_group())
    net.set_port(Port("p1", "net1", "fa:16:3e:00:03:01", ["10.232.1.20"], groups=["web"]))
    bridge = net.plug("p1", "net1", "fa:16:3e:00:03:01", ["10.232.1.20"])
    spec = GuestSpec(uuid=guest_uuid(f"key-{hv.host}-x"), name="x", vcpus=1, memory_mb=192, disk_gb=0,
                     kernel="kernel", initrd="initrd", nics=(Nic("p1", "fa:16:3e:00:03:01", bridge, net.tap("p1")),))
    hv.spawn(spec)
    domain = f"{hv.prefix}{spec.uuid}"
    ns = net.namespace("net1")
    wait_for(lambda: netns_http(ns, "http://10.232.1.20/") == "overcast-guest\n", BOOT_TIMEOUT, "guest answers")
    assert virsh("domstate", domain) == "running"

    # clean stop: the guest powers off on the ACPI button
    assert hv.power_off(spec.uuid, clean_timeout=120).state == "shutoff"
    assert virsh("domstate", domain) == "shut off"
    assert "power button, powering off" in hv.console_output(spec.uuid)
    with pytest.raises(Conflict):
        hv.reboot(spec.uuid)
    assert hv.power_on(spec.uuid).state == "running"
    wait_for(lambda: netns_http(ns, "http://10.232.1.20/") == "overcast-guest\n", BOOT_TIMEOUT, "answers again")
    assert hv.console_output(spec.uuid).count("Linux version") == 2

    # pause / unpause
    assert hv.pause(spec.uuid).state == "paused"
    assert virsh("domstate", domain) == "paused"
    assert hv.unpause(spec.uuid).state == "running"

    # a volume (a file on the host) hot-attached shows in the guest as a disk
    vol = host_dir / "vol1.img"
    with open(vol, "wb") as handle:
        handle.truncate(64 << 20)
    os.chmod(vol, 0o666)
    def disks() -> set[str]:
        return set((netns_http(ns, "http://10.232.1.20/cgi-bin/disks") or "").split())

    before = disks()
    hv.attach_volume(spec.uuid, Disk("vol-1", str(vol), "vdb"))
    # the guest's kernel names disks in the order it finds them: one more virtio disk appears
    wait_for(lambda: len({d for d in disks() if d.startswith("vd")} - before) == 1, 120, "a new disk in the guest")
    assert [v.volume_id for v in hv.get(spec.uuid).volumes] == ["vol-1"]
    with pytest.raises(Conflict):
        hv.attach_volume(spec.uuid, Disk("vol-2", str(vol), "vdb"))
    hv.detach_volume(spec.uuid, "vol-1", timeout=120)
    wait_for(lambda: disks() == before, 120, "the disk gone from the guest")
    with pytest.raises(NotFound):
        hv.detach_volume(spec.uuid, "vol-1")

    # hard reboot
    hv.reboot(spec.uuid, hard=True)
    wait_for(lambda: hv.console_output(spec.uuid).count("Linux version") == 3, BOOT_TIMEOUT, "rebooted")

    # delete: no domain, tap, bridge, namespace, dnsmasq, lease or file left
    pid = int((Path(net._dir("net1")) / "pid").read_text())
    hv.destroy(spec.uuid)
    hv.destroy(spec.uuid)   # again: already gone
    net.remove_port("p1")
    assert virsh("list", "--all", "--name").split().count(domain) == 0
    links = json.loads(subprocess.run(["ip", "-j", "link"], capture_output=True, text=True).stdout)
    names = {link["ifname"] for link in links}
    assert net.tap("p1") not in names and bridge not in names and net.veth("net1")[0] not in names
    assert ns not in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert not Path(f"/proc/{pid}").exists()
    assert not Path(net._dir("net1")).exists()
    assert not [v for v in hv.pool().listVolumes() if v.startswith(("disk-", "console-"))]
    with pytest.raises(NotFound):
        hv.get(spec.uuid)


def test_root_disk_overlay_suspend_resize_and_snapshot(host, host_dir):
    """A guest whose Glance image is a disk: a qcow2 overlay on the host's cached base; suspend
    and resume keep its memory; a resize changes the real domain and reverts; a snapshot is a
    flattened copy of its disk."""
    hv, _net = host
    base = host_dir / "base.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(base), "64M"], check=True)
    subprocess.run(["qemu-io", "-f", "qcow2", "-c", "write -P 0x5a 0 1M", str(base)], check=True,
                   capture_output=True)
    hv.upload_image("disk-image", chunks(base), base.stat().st_size, fmt="qcow2")
    assert "disk-image" in hv.images()
    spec = GuestSpec(uuid=guest_uuid(f"key-{hv.host}-d"), name="d", vcpus=1, memory_mb=192, disk_gb=1,
                     root="disk-image", root_format="qcow2", kernel="kernel", initrd="initrd")
    assert hv.spawn(spec).state == "running"
    domain = f"{hv.prefix}{spec.uuid}"
    overlay = next(v for v in hv.pool().listAllVolumes(0) if v.name() == f"disk-{spec.uuid}")
    info = json.loads(subprocess.run(["qemu-img", "info", "-U", "--output=json", overlay.path()],
                                     capture_output=True, text=True, check=True).stdout)
    assert info["format"] == "qcow2" and info["virtual-size"] == 1 << 30 and info["backing-filename"]
    # the guest sees its root disk
    wait_for(lambda: "overcast-guest: disks vda" in hv.console_output(spec.uuid), BOOT_TIMEOUT, "guest up with vda")

    # suspend saves the memory and stops the domain; resume continues the same boot
    assert hv.suspend(spec.uuid).state == "suspended"
    assert virsh("domstate", domain) == "shut off"
    assert hv.resume(spec.uuid).state == "running"
    assert hv.console_output(spec.uuid).count("Linux version") == 1

    # resize: the domain gets the new size (and the disk grows), revert gives the old one back
    resized = hv.resize(spec.uuid, 2, 256, 2, flavor_id="f2")
    assert (resized.vcpus, resized.memory_mb, resized.state) == (2, 256, "running")
    assert virsh("vcpucount", domain, "--current", "--live") == "2"
    assert overlay.info()[1] == 2 << 30
    reverted = hv.revert_resize(spec.uuid)
    assert (reverted.vcpus, reverted.memory_mb) == (1, 192)
    with pytest.raises(Conflict):
        hv.revert_resize(spec.uuid)

    # snapshot: a flattened copy of the disk, once per key
    name, size = hv.snapshot(spec.uuid, "snap-key-1")
    assert size > 0 and hv.snapshot(spec.uuid, "snap-key-1") == (name, size)
    assert hv.snapshots() == [name]
    snap = next(v for v in hv.pool().listAllVolumes(0) if v.name() == name)
    snap_info = json.loads(subprocess.run(["qemu-img", "info", "-U", "--output=json", snap.path()],
                                          capture_output=True, text=True, check=True).stdout)
    assert "backing-filename" not in snap_info
    # the same bytes as the image it was made from (the rest of the grown disk reads as zeros)
    assert subprocess.run(["qemu-img", "compare", "-U", str(base), snap.path()], capture_output=True).returncode == 0
    # the guest was saved for the copy and goes on where it was
    assert hv.get(spec.uuid).state == "running"
    assert hv.console_output(spec.uuid).count("Linux version") == 1
    hv.delete_snapshot(name)
    assert hv.snapshots() == []
    hv.destroy(spec.uuid)
    assert not [v for v in hv.pool().listVolumes() if v.startswith("disk-")]


def test_a_build_looking_for_an_image_waits_for_another_images_clone(libvirtd, host_dir):
    """Builds on one host run together: while one clones a volume in the pool (an uploaded image
    stored under its final name, an overlay, a snapshot), another looks for its own image, which
    needs a pool refresh. libvirt refuses a refresh while the clone runs ("pool ... has
    asynchronous jobs running"); the lookup must wait for it, not fail the build (CI saw one of
    ten builds go to ERROR this way)."""
    import libvirt

    hv = Hypervisor(libvirtd, unique_host(), str(host_dir / "pool"), domain_type="qemu")
    pool = hv.pool()
    src = pool.createXML("<volume><name>src</name><capacity unit='M'>1024</capacity>"
                         "<allocation unit='M'>0</allocation><target><format type='raw'/></target></volume>", 0)
    clone_xml = ("<volume><name>dst</name><capacity unit='M'>1024</capacity>"
                 "<target><format type='raw'/></target></volume>")

    def refused() -> bool:
        try:
            pool.refresh(0)
        except libvirt.libvirtError as exc:
            return "asynchronous jobs" in exc.get_error_message()
        return False

    try:
        with concurrent.futures.ThreadPoolExecutor(1) as workers:
            clone = workers.submit(pool.createXMLFrom, clone_xml, src, 0)
            wait_for(refused, 30, "the clone to be running", interval=0.01)
            assert hv.has_image("other") is False   # waited for the clone instead of failing
            assert clone.done()
            clone.result()
    finally:
        for vol in pool.listAllVolumes(0):
            vol.delete(0)
        pool.destroy()
        pool.undefine()
        hv.close()
