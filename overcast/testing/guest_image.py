"""A tiny bootable guest, built from Debian packages and cached: a kernel and an initramfs.

No cirros image can be downloaded where Overcast's tests run, so they build their own guest from
what Debian's archive offers: the cloud kernel (``linux-image-cloud-amd64``) and
``busybox-static``. The initramfs's ``/init`` loads the virtio modules, brings up ``eth0`` with
DHCP, prints what it got on the serial console, and serves HTTP on port 80:

- ``/`` answers ``overcast-guest <hostname>``;
- ``/cgi-bin/disks`` lists the block devices the guest sees (``vda``, ``vdb`` ...);
- ``/cgi-bin/ip`` its addresses; ``/cgi-bin/reach?ADDRESS`` pings ADDRESS once and answers
  ``reach ADDRESS yes`` or ``no`` (guests on one network reach each other, not another's);
- it powers off on an ACPI power button (busybox ``acpid``), so a clean shutdown and a soft reboot
  work as on a real guest.

``build(cache_dir)`` returns the paths of ``vmlinuz`` and ``initrd.img``; a second call with the
same package versions reuses them. The Debian packages are fetched with ``apt-get download``
(which needs the apt lists: ``apt-get update`` once on a fresh machine).

Run ``python -m overcast.testing.guest_image [DIR]`` to build it by hand.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

KERNEL_PACKAGE = "linux-image-cloud-amd64"
BUSYBOX_PACKAGE = "busybox-static"

#: the modules the guest loads, by file name; their dependencies are added from their .modinfo
MODULES = ("virtio_pci", "virtio_net", "virtio_blk", "button", "evdev")

#: bumped whenever the initramfs's contents change, so a cache built by older code is not reused
LAYOUT_VERSION = "6"

INIT = r"""#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $(cat /etc/modules); do insmod /lib/modules/$m.ko 2>/dev/null; done
hostname overcast-guest
ip link set lo up
acpid -c /etc/acpi -l /var/log/acpid.log
n=0
while [ ! -e /sys/class/net/eth0 ] && [ $n -lt 100 ]; do usleep 100000; n=$((n+1)); done
echo "overcast-guest: disks $(ls /sys/block | tr '\n' ' ')"
ip link set eth0 up
echo "overcast-guest: eth0 mac $(cat /sys/class/net/eth0/address)"
udhcpc -i eth0 -s /bin/dhcp-event -t 30 -T 1 -A 1 -b -S
httpd -p 80 -h /www
echo "overcast-guest: http up"
old="$(ls /sys/block | tr '\n' ' ')"
while true; do
  sleep 1
  new="$(ls /sys/block | tr '\n' ' ')"
  if [ "$new" != "$old" ]; then echo "overcast-guest: disks $new" > /dev/console; old="$new"; fi
done
"""

DHCP_EVENT = r"""#!/bin/sh
case "$1" in
  bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/$mask" dev "$interface"
    for r in $router; do ip route add default via "$r" dev "$interface" 2>/dev/null; break; done
    echo "overcast-guest: $interface $ip/$mask" > /dev/console
    ;;
  deconfig)
    ip addr flush dev "$interface"
    ;;
esac
"""

POWER = r"""#!/bin/sh
echo "overcast-guest: power button, powering off" > /dev/console
sync
poweroff -f
"""

CGI_DISKS = r"""#!/bin/sh
echo "Content-Type: text/plain"
echo
ls /sys/block
"""

CGI_IP = r"""#!/bin/sh
echo "Content-Type: text/plain"
echo
ip -4 -o addr show dev eth0
"""

CGI_REACH = r"""#!/bin/sh
echo "Content-Type: text/plain"
echo
a=$(echo "$QUERY_STRING" | tr -cd '0-9.')
if ping -c 1 -W 2 "$a" >/dev/null 2>&1; then echo "reach $a yes"; else echo "reach $a no"; fi
"""


@dataclass(frozen=True)
class GuestImage:
    kernel: Path
    initrd: Path
    #: the kernel's release, e.g. ``6.1.0-57-cloud-amd64``
    release: str


def _download(package: str, into: Path) -> Path:
    """``apt-get download`` one package into ``into``; returns the .deb."""
    into.mkdir(parents=True, exist_ok=True)
    before = set(into.glob("*.deb"))
    proc = subprocess.run(["apt-get", "download", "-q", package], cwd=into, capture_output=True, text=True)
    after = set(into.glob("*.deb")) - before
    if proc.returncode != 0 or not after:
        raise RuntimeError(f"apt-get download {package} failed: {proc.stderr.strip() or proc.stdout.strip()}")
    return after.pop()


def _depends(package: str) -> str:
    """The first Depends of a metapackage (``linux-image-cloud-amd64`` -> the versioned image)."""
    out = subprocess.run(["apt-cache", "depends", package], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("Depends:"):
            return line.split(":", 1)[1].strip()
    raise RuntimeError(f"{package} has no dependency to follow (is `apt-get update` done?)")


def _modinfo_depends(path: Path) -> list[str]:
    match = re.search(rb"depends=([A-Za-z0-9_,-]*)\x00", path.read_bytes())
    if not match or not match.group(1):
        return []
    return [name.decode() for name in match.group(1).split(b",") if name]


def _module_order(moddir: Path, wanted: tuple[str, ...]) -> list[Path]:
    """The module files to load, dependencies first."""
    files = {p.name.removesuffix(".ko"): p for p in moddir.rglob("*.ko")}
    order: list[Path] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        name = name.replace("-", "_") if name not in files else name
        if name in seen:
            return
        seen.add(name)
        if name not in files:
            raise RuntimeError(f"kernel module {name} not found under {moddir}")
        for dep in _modinfo_depends(files[name]):
            visit(dep)
        order.append(files[name])

    for name in wanted:
        visit(name)
    return order


class _Cpio:
    """A ``newc`` cpio archive, the format the kernel unpacks an initramfs from."""

    def __init__(self) -> None:
        self.buf = io.BytesIO()
        self.ino = 1

    def _entry(self, name: str, mode: int, data: bytes = b"") -> None:
        namez = name.encode() + b"\x00"
        header = "070701" + "".join(f"{v:08x}" for v in (
            self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(namez), 0))
        self.ino += 1
        self.buf.write(header.encode() + namez)
        self.buf.write(b"\x00" * (-(110 + len(namez)) % 4))
        self.buf.write(data)
        self.buf.write(b"\x00" * (-len(data) % 4))

    def dir(self, name: str) -> None:
        self._entry(name, 0o040755)

    def file(self, name: str, data: bytes, mode: int = 0o644) -> None:
        self._entry(name, 0o100000 | mode, data)

    def symlink(self, name: str, target: str) -> None:
        self._entry(name, 0o120777, target.encode())

    def close(self) -> bytes:
        self._entry("TRAILER!!!", 0)
        return self.buf.getvalue()


def _initramfs(busybox: bytes, modules: list[Path]) -> bytes:
    cpio = _Cpio()
    for d in ("bin", "dev", "proc", "sys", "tmp", "etc", "etc/acpi", "etc/acpi/PWRF", "lib", "lib/modules",
              "www", "www/cgi-bin", "var", "var/run", "var/log"):
        cpio.dir(d)
    cpio.file("bin/busybox", busybox, 0o755)
    cpio.symlink("bin/sh", "busybox")
    cpio.file("init", INIT.encode(), 0o755)
    cpio.file("bin/dhcp-event", DHCP_EVENT.encode(), 0o755)
    cpio.file("etc/acpi/PWRF/00000080", POWER.encode(), 0o755)
    cpio.file("etc/modules", "\n".join(m.name.removesuffix(".ko") for m in modules).encode() + b"\n")
    for module in modules:
        cpio.file(f"lib/modules/{module.name}", module.read_bytes())
    cpio.file("www/index.html", b"overcast-guest\n")
    cpio.file("www/cgi-bin/disks", CGI_DISKS.encode(), 0o755)
    cpio.file("www/cgi-bin/ip", CGI_IP.encode(), 0o755)
    cpio.file("www/cgi-bin/reach", CGI_REACH.encode(), 0o755)
    return gzip.compress(cpio.close(), compresslevel=6)


def default_cache_dir() -> Path:
    env = os.environ.get("OVERCAST_GUEST_IMAGE_CACHE")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "overcast" / "guest-image"


def build(cache_dir: Path | None = None) -> GuestImage:
    """Build (or reuse) the guest in ``cache_dir``; safe to call from several processes at once."""
    cache_dir = Path(cache_dir or default_cache_dir())
    cache_dir.mkdir(parents=True, exist_ok=True)
    kernel_pkg = _depends(KERNEL_PACKAGE)
    key = hashlib.sha256(f"{kernel_pkg}|{LAYOUT_VERSION}".encode()).hexdigest()[:12]
    target = cache_dir / key
    done = target / "release"
    if done.exists():
        return GuestImage(target / "vmlinuz", target / "initrd.img", done.read_text().strip())
    work = Path(tempfile.mkdtemp(prefix="build-", dir=cache_dir))
    try:
        kdeb = _download(kernel_pkg, work / "debs")
        bdeb = _download(BUSYBOX_PACKAGE, work / "debs")
        subprocess.run(["dpkg-deb", "-x", str(kdeb), str(work / "k")], check=True)
        subprocess.run(["dpkg-deb", "-x", str(bdeb), str(work / "b")], check=True)
        vmlinuz = next((work / "k" / "boot").glob("vmlinuz-*"))
        release = vmlinuz.name.removeprefix("vmlinuz-")
        modules = _module_order(work / "k" / "lib" / "modules" / release, MODULES)
        out = work / "out"
        out.mkdir()
        shutil.copyfile(vmlinuz, out / "vmlinuz")
        (out / "initrd.img").write_bytes(_initramfs((work / "b" / "bin" / "busybox").read_bytes(), modules))
        (out / "release").write_text(release + "\n")
        for p in (out, out / "vmlinuz", out / "initrd.img", out / "release"):
            p.chmod(0o755 if p.is_dir() else 0o644)
        try:
            out.rename(target)
        except OSError:
            if not done.exists():   # another process won the race: use its build
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return GuestImage(target / "vmlinuz", target / "initrd.img", done.read_text().strip())


if __name__ == "__main__":  # pragma: no cover - a developer's tool
    image = build(Path(sys.argv[1]) if len(sys.argv) > 1 else None)
    print(image.kernel, image.initrd, image.release)
