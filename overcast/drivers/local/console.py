"""Plausible console text for the local cloud: a Linux + cloud-init boot, shutdowns, hot-plug lines.

Deterministic for a given server and boot number (seeded), so tests can match on it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random

_BOOT = [
    "Linux version 6.1.0-21-cloud-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0) #1 SMP PREEMPT_DYNAMIC",
    "Command line: BOOT_IMAGE=/boot/vmlinuz-6.1.0-21-cloud-amd64 root=LABEL=cloudimg-rootfs ro console=tty0 console=ttyS0,115200n8",
    "BIOS-provided physical RAM map:",
    "DMI: OpenStack Foundation OpenStack Nova, BIOS 1.16.2-debian-1.16.2-1 04/01/2014",
    "Hypervisor detected: KVM",
    "smpboot: Allowing {vcpus} CPUs, 0 hotplug CPUs",
    "Memory: {ram_kb}K available",
    "virtio_blk virtio2: [vda] {sectors} 512-byte logical blocks ({disk_gb} GB)",
    " vda: vda1 vda14 vda15",
    "EXT4-fs (vda1): mounted filesystem with ordered data mode. Quota mode: none.",
    "systemd[1]: systemd 252.22-1~deb12u1 running in system mode",
    "systemd[1]: Hostname set to <{hostname}>.",
]

_CLOUD_INIT = [
    "cloud-init[{pid}]: Cloud-init v. 22.4.2 running 'init' at {when}. Up {uptime} seconds.",
    "cloud-init[{pid}]: ci-info: ++++++++++++++++++++++++++++++Net device info++++++++++++++++++++++++++++++",
    "cloud-init[{pid}]: ci-info: +--------+------+-----------------+---------------+--------+-------------------+",
    "cloud-init[{pid}]: ci-info: | Device |  Up  |     Address     |      Mask     | Scope  |     Hw-Address    |",
    "cloud-init[{pid}]: ci-info: +--------+------+-----------------+---------------+--------+-------------------+",
]


def _rng(server_id: str, boot: int) -> random.Random:
    return random.Random(int.from_bytes(hashlib.sha256(f"{server_id}:{boot}".encode()).digest()[:8], "big"))


def _stamp(lines: list[str], start: float, rng: random.Random) -> list[str]:
    out, t = [], start
    for line in lines:
        t += rng.uniform(0.001, 0.35)
        out.append(f"[{t:12.6f}] {line}")
    return out


def boot_log(*, server_id: str, boot: int, hostname: str, vcpus: int, ram_mb: int, disk_gb: int,
             interfaces: list[tuple[str, str, str]], image_name: str | None, now: dt.datetime) -> str:
    """One boot, from the kernel banner to the login prompt; ``interfaces`` is (device, address, mac)."""
    rng = _rng(server_id, boot)
    facts = {"vcpus": max(vcpus, 1), "ram_kb": max(ram_mb, 64) * 1024 - 81234,
             "sectors": max(disk_gb, 1) * 2097152, "disk_gb": max(disk_gb, 1), "hostname": hostname}
    lines = [line.format(**facts) for line in _BOOT]
    lines += [f"virtio_net virtio{index}: {device}: renamed from eth{index} (mac {mac})"
              for index, (device, _address, mac) in enumerate(interfaces)]
    kernel = _stamp(lines, 0.0, rng)
    pid = rng.randint(380, 900)
    when = now.strftime("%a, %d %b %Y %H:%M:%S +0000")
    ci = [line.format(pid=pid, when=when, uptime=f"{len(kernel) * 0.4:.2f}") for line in _CLOUD_INIT]
    for device, address, mac in interfaces:
        ci.append(f"cloud-init[{pid}]: ci-info: | {device:<6} | True | {address:<15} | 255.255.255.0 | global | {mac} |")
    ci.append(f"cloud-init[{pid}]: ci-info: +--------+------+-----------------+---------------+--------+-------------------+")
    if interfaces:
        ci.append(f"cloud-init[{pid}]: ci-info: ++++++++++++++++++++Route IPv4 info++++++++++++++++++++")
        address = interfaces[0][1]
        gateway = address.rsplit(".", 1)[0] + ".1" if "." in address else address.rsplit(":", 1)[0] + ":1"
        ci.append(f"cloud-init[{pid}]: ci-info: | 0 | 0.0.0.0 | {gateway} | 0.0.0.0 | {interfaces[0][0]} | UG |")
    ci.append(f"cloud-init[{pid}]: Cloud-init v. 22.4.2 finished at {when}. Datasource DataSourceOpenStackLocal "
              f"[net,ver=2].  Up {len(kernel) * 0.4 + 6.2:.2f} seconds")
    distro = image_name or "Debian GNU/Linux 12"
    tail = ["", f"{distro} {hostname} ttyS0", "", f"{hostname} login: "]
    return "\n".join([*kernel, *ci, *tail]) + "\n"


def shutdown_log(hostname: str, *, reboot: bool) -> str:
    target = "Reboot" if reboot else "Power-Off"
    lines = [
        "         Stopping cloud-init.service - Initial cloud-init job...",
        "[  OK  ] Stopped target network-online.target - Network is Online.",
        "[  OK  ] Stopped systemd-networkd.service - Network Configuration.",
        "[  OK  ] Unmounted boot-efi.mount - /boot/efi.",
        f"[  OK  ] Reached target {target.lower()}.target - System {target}.",
        f"reboot: {'Restarting system' if reboot else 'Power down'}",
    ]
    return "\n".join(lines) + "\n"


def event_line(text: str) -> str:
    return f"[{'':>5}event] {text}\n"
