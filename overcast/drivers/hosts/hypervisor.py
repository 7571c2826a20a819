"""One hypervisor host driven through libvirt: guests, their disks, consoles, volumes and snapshots.

The same code runs in ``overcast agent`` (phase 1, reached over the bus) and in the ``libvirt``
driver's workers (phase 2, direct connect). It only uses libvirt's API, never the host's files
directly, so it works as well over ``qemu+ssh://`` as on ``qemu:///system``:

- **Storage** is one libvirt ``dir`` pool per host (``overcast-<host>``): base images
  (``base-<key>``: a Glance image's data, uploaded once per host through a libvirt stream), each
  guest's root disk (``disk-<uuid>``, a qcow2 overlay on its base, grown to the flavor's size),
  its serial console log (``console-<uuid>.log``, written by virtlogd, read back as a volume
  download) and snapshots (``snap-<key>``, flattened copies of a disk).
- **Guests** are persistent domains named ``<prefix><uuid>``; the prefix names the host, so
  several simulated hosts can share one libvirtd and each sees only its own. The domain UUID is
  derived from the build's idempotency key (uuid5), so a command delivered twice finds the guest
  the first made: libvirt itself refuses a second domain with that UUID.
- What Overcast knows about a guest (idempotency key, project, flavor, server group, ports,
  volumes) is kept in the domain's ``<metadata>``, so a restarted agent finds everything again
  from libvirt alone.

Errors are translated at this boundary into :mod:`overcast.drivers.errors`.
"""

from __future__ import annotations

import builtins

import json
import logging
import threading
import time
import uuid as uuidlib
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable, Iterator
from xml.etree import ElementTree as ET
from xml.sax.saxutils import escape, quoteattr

from overcast.drivers.errors import Conflict, DriverError, InvalidRequest, NotFound, Unavailable

log = logging.getLogger(__name__)

METADATA_URI = "https://overcast.invalid/xmlns/libvirt/instance/1"
#: uuid5 namespace of domain UUIDs (from idempotency keys)
GUEST_NAMESPACE = uuidlib.UUID("6d3a0a4e-52f3-4b39-9c1c-3f1f0d5f8a77")
DEFAULT_CMDLINE = "console=ttyS0 panic=-1"


def guest_uuid(idempotency_key: str) -> str:
    """The domain UUID a build with this idempotency key makes."""
    return str(uuidlib.uuid5(GUEST_NAMESPACE, idempotency_key))


# -- records (JSON-able: they cross the bus) ----------------------------------------------------

@dataclass(frozen=True)
class Nic:
    port_id: str
    mac: str
    bridge: str
    tap: str
    mtu: int = 1500


@dataclass(frozen=True)
class Disk:
    """A volume attached as a virtio disk: a file (or block device) on the host."""

    volume_id: str
    path: str
    device: str            # vdb, vdc ...
    format: str = "raw"


@dataclass(frozen=True)
class GuestSpec:
    uuid: str
    name: str
    vcpus: int
    memory_mb: int
    disk_gb: int
    #: base image key of the root disk; None boots from ``volumes`` (device vda) or, with a
    #: kernel, from the initramfs alone
    root: str | None = None
    root_format: str = "qcow2"
    kernel: str | None = None
    initrd: str | None = None
    cmdline: str = DEFAULT_CMDLINE
    nics: tuple[Nic, ...] = ()
    volumes: tuple[Disk, ...] = ()
    #: what Overcast keeps on the guest: idempotency_key, project_id, flavor_id, group ...
    meta: dict[str, Any] = field(default_factory=dict)

    @staticmethod
    def from_dict(data: dict[str, Any]) -> "GuestSpec":
        data = dict(data)
        data["nics"] = tuple(Nic(**n) for n in data.get("nics", ()))
        data["volumes"] = tuple(Disk(**v) for v in data.get("volumes", ()))
        return GuestSpec(**data)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


#: libvirt domain states -> our names
STATE_NAMES = {0: "nostate", 1: "running", 2: "blocked", 3: "paused", 4: "shutdown", 5: "shutoff",
               6: "crashed", 7: "pmsuspended"}


@dataclass(frozen=True)
class GuestInfo:
    uuid: str
    name: str
    #: running, paused, shutoff, suspended (saved to disk), crashed, ...
    state: str
    vcpus: int
    memory_mb: int
    disk_gb: int
    meta: dict[str, Any] = field(default_factory=dict)
    volumes: tuple[Disk, ...] = ()
    nics: tuple[Nic, ...] = ()

    @staticmethod
    def from_dict(data: dict[str, Any]) -> "GuestInfo":
        data = dict(data)
        data["nics"] = tuple(Nic(**n) for n in data.get("nics", ()))
        data["volumes"] = tuple(Disk(**v) for v in data.get("volumes", ()))
        return GuestInfo(**data)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class HostInfo:
    """What a host offers, read from libvirt."""

    name: str
    vcpus: int
    memory_mb: int
    disk_gb: int
    hypervisor_type: str
    hypervisor_version: int
    domain_type: str
    cpu_model: str = ""
    disk_free_gb: int = 0


def _libvirt() -> Any:
    import libvirt  # libvirt-python; imported lazily so nothing else needs it installed

    return libvirt


def _translate(exc: Exception, what: str) -> DriverError:
    libvirt = _libvirt()
    if isinstance(exc, DriverError):
        return exc
    if isinstance(exc, libvirt.libvirtError):
        code = exc.get_error_code()
        msg = f"{what}: {exc.get_error_message()}"
        if code in (libvirt.VIR_ERR_NO_DOMAIN, libvirt.VIR_ERR_NO_STORAGE_VOL):
            return NotFound(msg)
        if code in (libvirt.VIR_ERR_OPERATION_INVALID,):
            return Conflict(msg)
        if code in (libvirt.VIR_ERR_SYSTEM_ERROR, libvirt.VIR_ERR_RPC, libvirt.VIR_ERR_NO_CONNECT,
                    libvirt.VIR_ERR_INTERNAL_ERROR if "connection" in msg.lower() else -1,
                    libvirt.VIR_ERR_AUTH_FAILED, libvirt.VIR_ERR_OPERATION_TIMEOUT):
            return Unavailable(msg)
        return DriverError(msg)
    return DriverError(f"{what}: {type(exc).__name__}: {exc}")


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in text)


class Hypervisor:
    """Guests of one host (``host``) on one libvirt connection (``uri``).

    ``state_dir`` is the host directory of the storage pool (created by libvirt when missing); it
    must be readable by QEMU (libvirt's ``libvirt-qemu`` user). ``domain_type`` is ``kvm``,
    ``qemu`` (TCG) or ``auto`` (KVM where the host offers it).
    """

    #: how long a pool refresh waits for the pool's running jobs (an image upload) to end
    REFRESH_WAIT = 120.0

    def __init__(self, uri: str, host: str, state_dir: str, *, domain_type: str = "auto",
                 prefix: str | None = None, machine: str = "pc") -> None:
        self.uri = uri
        self.host = host
        self.state_dir = state_dir.rstrip("/")
        self.prefix = prefix if prefix is not None else f"overcast-{_slug(host)}-"
        self.pool_name = f"overcast-{_slug(host)}"
        self.machine = machine
        self._domain_type = domain_type
        self._conn: Any = None
        self._lock = threading.RLock()
        #: per-guest locks: one action at a time on a guest
        self._guest_locks: dict[str, threading.Lock] = {}

    # -- connection and pool ------------------------------------------------------------------
    def connect(self) -> Any:
        libvirt = _libvirt()
        with self._lock:
            if self._conn is not None:
                try:
                    if self._conn.isAlive():
                        return self._conn
                except libvirt.libvirtError:
                    pass
                self._conn = None
            try:
                self._conn = libvirt.open(self.uri)
            except libvirt.libvirtError as exc:
                raise Unavailable(f"cannot connect to libvirt at {self.uri}: {exc.get_error_message()}") from exc
            return self._conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                try:
                    self._conn.close()
                except Exception:  # noqa: BLE001 - closing a dead connection
                    pass
                self._conn = None

    def _guest_lock(self, uuid: str) -> threading.Lock:
        with self._lock:
            return self._guest_locks.setdefault(uuid, threading.Lock())

    def pool(self) -> Any:
        libvirt = _libvirt()
        conn = self.connect()
        try:
            pool = conn.storagePoolLookupByName(self.pool_name)
        except libvirt.libvirtError:
            xml = (f"<pool type='dir'><name>{escape(self.pool_name)}</name>"
                   f"<target><path>{escape(self.state_dir)}</path>"
                   f"<permissions><mode>0755</mode></permissions></target></pool>")
            try:
                pool = conn.storagePoolDefineXML(xml, 0)
                pool.build(0)
            except libvirt.libvirtError as exc:
                if exc.get_error_code() != libvirt.VIR_ERR_STORAGE_POOL_EXISTS:
                    raise _translate(exc, "define storage pool") from exc
                pool = conn.storagePoolLookupByName(self.pool_name)
            pool.setAutostart(1)
        if not pool.isActive():
            try:
                pool.create(0)
            except libvirt.libvirtError as exc:
                if not pool.isActive():
                    raise _translate(exc, "start storage pool") from exc
        return pool

    def _refresh(self, pool: Any) -> None:
        """Re-read the pool's directory, waiting while the pool has jobs running.

        libvirt refuses a refresh while a volume of the pool is being uploaded or cloned ("pool
        ... has asynchronous jobs running"): with several builds on one host, another build's
        image upload is exactly that. The refresh waits for those jobs (bounded by
        ``REFRESH_WAIT`` seconds) instead of failing a build that has nothing wrong with it."""
        libvirt = _libvirt()
        deadline = time.monotonic() + self.REFRESH_WAIT
        delay = 0.05
        while True:
            try:
                pool.refresh(0)
                return
            except libvirt.libvirtError as exc:
                busy = "asynchronous jobs" in (exc.get_error_message() or "")
                if not busy or time.monotonic() >= deadline:
                    raise _translate(exc, f"refresh storage pool {self.pool_name}") from exc
            time.sleep(delay)
            delay = min(delay * 2, 0.5)

    def _volume(self, name: str) -> Any | None:
        libvirt = _libvirt()
        pool = self.pool()
        try:
            return pool.storageVolLookupByName(name)
        except libvirt.libvirtError:
            self._refresh(pool)
            try:
                return pool.storageVolLookupByName(name)
            except libvirt.libvirtError:
                return None

    def _path(self, name: str) -> str:
        return f"{self.state_dir}/{name}"

    @property
    def domain_type(self) -> str:
        if self._domain_type != "auto":
            return self._domain_type
        caps = ET.fromstring(self.connect().getCapabilities())
        kinds = {d.get("type") for d in caps.iter("domain")}
        self._domain_type = "kvm" if "kvm" in kinds else "qemu"
        return self._domain_type

    # -- the host -----------------------------------------------------------------------------
    def host_info(self) -> HostInfo:
        conn = self.connect()
        try:
            model, memory_mb, cpus, *_ = conn.getInfo()
            pool = self.pool()
            _state, capacity, _alloc, available = pool.info()
            return HostInfo(name=self.host, vcpus=int(cpus), memory_mb=int(memory_mb),
                            disk_gb=int(capacity // 2**30), disk_free_gb=int(available // 2**30),
                            hypervisor_type=conn.getType(), hypervisor_version=int(conn.getVersion()),
                            domain_type=self.domain_type, cpu_model=str(model))
        except Exception as exc:
            raise _translate(exc, "host info") from exc

    # -- images ---------------------------------------------------------------------------------
    def has_image(self, key: str) -> bool:
        return self._volume(f"base-{_slug(key)}") is not None

    def upload_image(self, key: str, chunks: Iterable[bytes], size: int | None = None, fmt: str = "raw",
                     name: str | None = None) -> None:
        """Keep an image's data on this host as ``base-<key>`` (once; a second upload is a no-op).

        ``fmt`` is the image's disk format (``raw`` or ``qcow2``), kept as it is: a guest's disk
        is an overlay whose backing format is the image's (``GuestSpec.root_format``)."""
        if fmt not in ("raw", "qcow2"):
            raise InvalidRequest(f"image {key}: disk format {fmt!r} cannot be a guest's disk (raw or qcow2)")
        libvirt = _libvirt()
        name = name or f"base-{_slug(key)}"
        if self._volume(name) is not None:
            return
        data: Iterable[bytes] = chunks
        if size is None:   # a storage volume needs its size first
            buf = b"".join(chunks)
            size, data = len(buf), [buf]
        tmp = f"{name}.part-{uuidlib.uuid4().hex[:8]}"
        pool = self.pool()
        try:
            vol = pool.createXML(f"<volume><name>{tmp}</name><capacity unit='B'>{size}</capacity>"
                                 f"<target><format type='{fmt}'/><permissions><mode>0644</mode></permissions>"
                                 f"</target></volume>", 0)
            stream = self.connect().newStream(0)
            vol.upload(stream, 0, size, 0)
            for chunk in data:
                if chunk:
                    stream.send(chunk)
            stream.finish()
        except libvirt.libvirtError as exc:
            self._delete_volume(tmp)
            raise _translate(exc, f"upload image {key}") from exc
        # a pool volume cannot be renamed through libvirt: clone it under its final name, which
        # appears only once complete, so a half-uploaded base is never used
        try:
            pool.createXMLFrom(f"<volume><name>{name}</name><capacity unit='B'>{size}</capacity>"
                               f"<target><format type='{fmt}'/><permissions><mode>0644</mode></permissions>"
                               f"</target></volume>", vol, 0)
        except libvirt.libvirtError as exc:
            if exc.get_error_code() != libvirt.VIR_ERR_STORAGE_VOL_EXIST:
                raise _translate(exc, f"store image {key}") from exc
        finally:
            self._delete_volume(tmp)

    def _delete_volume(self, name: str) -> None:
        vol = self._volume(name)
        if vol is not None:
            try:
                vol.delete(0)
            except _libvirt().libvirtError as exc:
                if exc.get_error_code() != _libvirt().VIR_ERR_NO_STORAGE_VOL:
                    raise _translate(exc, f"delete {name}") from exc

    def images(self) -> list[str]:
        pool = self.pool()
        self._refresh(pool)
        return sorted(n.removeprefix("base-") for n in pool.listVolumes() if n.startswith("base-"))

    def delete_image(self, key: str) -> None:
        self._delete_volume(f"base-{_slug(key)}")

    # -- guests ---------------------------------------------------------------------------------
    def _domain_name(self, uuid: str) -> str:
        return f"{self.prefix}{uuid}"

    def _lookup(self, uuid: str) -> Any:
        libvirt = _libvirt()
        try:
            dom = self.connect().lookupByUUIDString(uuid)
        except libvirt.libvirtError as exc:
            raise _translate(exc, f"guest {uuid}") from exc
        if not dom.name().startswith(self.prefix):
            raise NotFound(f"guest {uuid} is not on host {self.host}")
        return dom

    def _meta(self, dom: Any) -> dict[str, Any]:
        libvirt = _libvirt()
        try:
            text = dom.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, METADATA_URI, 0)
        except libvirt.libvirtError:
            return {}
        node = ET.fromstring(text)
        try:
            return dict(json.loads(node.text or "{}"))
        except ValueError:
            return {}

    def _set_meta(self, dom: Any, meta: dict[str, Any]) -> None:
        libvirt = _libvirt()
        flags = libvirt.VIR_DOMAIN_AFFECT_CONFIG | (libvirt.VIR_DOMAIN_AFFECT_LIVE if dom.isActive() else 0)
        dom.setMetadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT,
                        f"<instance>{escape(json.dumps(meta, sort_keys=True))}</instance>",
                        "overcast", METADATA_URI, flags)

    def _info(self, dom: Any) -> GuestInfo:
        libvirt = _libvirt()
        state, _reason = dom.state(0)
        name = STATE_NAMES.get(state, "nostate")
        if name == "shutoff" and dom.hasManagedSaveImage(0):
            name = "suspended"
        meta = self._meta(dom)
        xml = ET.fromstring(dom.XMLDesc(0 if dom.isActive() else libvirt.VIR_DOMAIN_XML_INACTIVE))
        memory_kib = int(xml.findtext("memory") or 0)
        vcpus = int(xml.findtext("vcpu") or 0)
        return GuestInfo(
            uuid=dom.UUIDString(), name=meta.get("name", dom.name()), state=name, vcpus=vcpus,
            memory_mb=memory_kib // 1024, disk_gb=int(meta.get("disk_gb", 0)), meta=meta,
            volumes=tuple(Disk(**v) for v in meta.get("volumes", [])),
            nics=tuple(Nic(**n) for n in meta.get("nics", [])))

    def get(self, uuid: str) -> GuestInfo:
        try:
            return self._info(self._lookup(uuid))
        except Exception as exc:
            raise _translate(exc, f"guest {uuid}") from exc

    def list(self) -> list[GuestInfo]:
        libvirt = _libvirt()
        out = []
        try:
            for dom in self.connect().listAllDomains(0):
                if dom.name().startswith(self.prefix):
                    try:
                        out.append(self._info(dom))
                    except libvirt.libvirtError:   # undefined while we looked
                        continue
        except libvirt.libvirtError as exc:
            raise _translate(exc, "list guests") from exc
        return out

    def _domain_xml(self, spec: GuestSpec, meta: dict[str, Any]) -> str:
        os_parts = [f"<type arch='x86_64' machine='{self.machine}'>hvm</type>"]
        if spec.kernel:
            os_parts.append(f"<kernel>{escape(self._path('base-' + _slug(spec.kernel)))}</kernel>")
            if spec.initrd:
                os_parts.append(f"<initrd>{escape(self._path('base-' + _slug(spec.initrd)))}</initrd>")
            os_parts.append(f"<cmdline>{escape(spec.cmdline)}</cmdline>")
        else:
            os_parts.append("<boot dev='hd'/>")
        devices = []
        if spec.root:
            devices.append(f"<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
                           f"<source file={quoteattr(self._path('disk-' + spec.uuid))}/>"
                           f"<target dev='vda' bus='virtio'/></disk>")
        for disk in spec.volumes:
            devices.append(self._disk_xml(disk))
        for nic in spec.nics:
            devices.append(self._nic_xml(nic))
        console = self._path(f"console-{spec.uuid}.log")
        devices.append(f"<serial type='pty'><log file={quoteattr(console)} append='on'/>"
                       f"<target port='0'/></serial><console type='pty'><target type='serial' port='0'/></console>")
        devices.append("<memballoon model='none'/>")
        return (f"<domain type='{self.domain_type}'>"
                f"<name>{escape(self._domain_name(spec.uuid))}</name><uuid>{spec.uuid}</uuid>"
                f"<title>{escape(spec.name)}</title>"
                f"<metadata><overcast:instance xmlns:overcast='{METADATA_URI}'>"
                f"{escape(json.dumps(meta, sort_keys=True))}</overcast:instance></metadata>"
                f"<memory unit='MiB'>{spec.memory_mb}</memory><vcpu>{spec.vcpus}</vcpu>"
                f"<os>{''.join(os_parts)}</os><features><acpi/><apic/></features>"
                f"<on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot><on_crash>destroy</on_crash>"
                f"<devices>{''.join(devices)}</devices></domain>")

    @staticmethod
    def _disk_xml(disk: Disk) -> str:
        kind = "block" if disk.path.startswith("/dev/") else "file"
        attr = "dev" if kind == "block" else "file"
        return (f"<disk type='{kind}' device='disk'><driver name='qemu' type='{escape(disk.format)}'/>"
                f"<source {attr}={quoteattr(disk.path)}/><target dev='{escape(disk.device)}' bus='virtio'/>"
                f"<serial>{escape(disk.volume_id[:20])}</serial></disk>")

    @staticmethod
    def _nic_xml(nic: Nic) -> str:
        return (f"<interface type='bridge'><mac address='{escape(nic.mac)}'/>"
                f"<source bridge={quoteattr(nic.bridge)}/><target dev={quoteattr(nic.tap)}/>"
                f"<model type='virtio'/><mtu size='{int(nic.mtu)}'/></interface>")

    def _ensure_root_disk(self, spec: GuestSpec) -> None:
        libvirt = _libvirt()
        if not spec.root:
            return
        name = f"disk-{spec.uuid}"
        if self._volume(name) is not None:
            return                      # there already (a guest moved here brings its disk)
        base = self._volume(f"base-{_slug(spec.root)}")
        if base is None:
            raise InvalidRequest(f"image {spec.root} is not on host {self.host}")
        _type, base_size, _alloc = base.info()
        size = max(spec.disk_gb * 2**30, base_size)
        vol = self._volume(name)
        if vol is not None:
            return
        xml = (f"<volume><name>{name}</name><capacity unit='B'>{size}</capacity>"
               f"<target><format type='qcow2'/><permissions><mode>0644</mode></permissions></target>"
               f"<backingStore><path>{escape(base.path())}</path>"
               f"<format type='{escape(spec.root_format)}'/></backingStore></volume>")
        try:
            self.pool().createXML(xml, 0)
        except libvirt.libvirtError as exc:
            if exc.get_error_code() != libvirt.VIR_ERR_STORAGE_VOL_EXIST:
                raise _translate(exc, f"root disk of {spec.uuid}") from exc

    def spawn(self, spec: GuestSpec, start: bool = True) -> GuestInfo:
        """Define and start a guest; idempotent on ``spec.uuid`` (a second call returns the first's).

        :raises InvalidRequest: an image not on this host. :raises BuildFailed: libvirt refused.
        """
        from overcast.drivers.errors import BuildFailed

        libvirt = _libvirt()
        with self._guest_lock(spec.uuid):
            conn = self.connect()
            try:
                dom = conn.lookupByUUIDString(spec.uuid)
            except libvirt.libvirtError:
                dom = None
            if dom is None:
                for key in (spec.kernel, spec.initrd):
                    if key and not self.has_image(key):
                        raise InvalidRequest(f"image {key} is not on host {self.host}")
                self._ensure_root_disk(spec)
                meta = dict(spec.meta, name=spec.name, disk_gb=spec.disk_gb,
                            volumes=[asdict(v) for v in spec.volumes], nics=[asdict(n) for n in spec.nics])
                try:
                    dom = conn.defineXML(self._domain_xml(spec, meta))
                except libvirt.libvirtError as exc:
                    if exc.get_error_code() in (libvirt.VIR_ERR_DOM_EXIST, libvirt.VIR_ERR_OPERATION_FAILED):
                        dom = conn.lookupByUUIDString(spec.uuid)
                    else:
                        raise BuildFailed(f"libvirt refused the guest: {exc.get_error_message()}") from exc
            if start and not dom.isActive():
                try:
                    dom.create()
                except libvirt.libvirtError as exc:
                    raise BuildFailed(f"the guest did not start: {exc.get_error_message()}") from exc
            return self._info(dom)

    def destroy(self, uuid: str) -> None:
        """Stop and undefine a guest and remove its disk and console log; a missing one succeeds."""
        libvirt = _libvirt()
        with self._guest_lock(uuid):
            try:
                dom = self._lookup(uuid)
            except NotFound:
                dom = None
            if dom is not None:
                try:
                    if dom.isActive():
                        dom.destroy()
                except libvirt.libvirtError as exc:
                    if dom.isActive():
                        raise _translate(exc, f"destroy {uuid}") from exc
                try:
                    dom.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | libvirt.VIR_DOMAIN_UNDEFINE_NVRAM)
                except libvirt.libvirtError as exc:
                    if exc.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
                        raise _translate(exc, f"undefine {uuid}") from exc
            self._delete_volume(f"disk-{uuid}")
            self._delete_volume(f"console-{uuid}.log")

    # -- power --------------------------------------------------------------------------------
    def _state(self, dom: Any) -> str:
        return self._info(dom).state

    def _wait_state(self, dom: Any, states: set[str], timeout: float) -> bool:
        end = time.monotonic() + timeout
        delay = 0.05
        while True:
            if self._state(dom) in states:
                return True
            if time.monotonic() >= end:
                return False
            time.sleep(min(delay, max(0.0, end - time.monotonic())))
            delay = min(delay * 2, 0.5)

    def _act(self, uuid: str, what: str, fn: Callable[[Any], None]) -> GuestInfo:
        with self._guest_lock(uuid):
            dom = self._lookup(uuid)
            try:
                fn(dom)
            except DriverError:
                raise
            except Exception as exc:
                raise _translate(exc, f"{what} {uuid}") from exc
            return self._info(dom)

    def power_on(self, uuid: str) -> GuestInfo:
        """Start a stopped (or suspended: restored from its saved state) guest; running is a no-op."""
        def fn(dom: Any) -> None:
            if not dom.isActive():
                dom.create()
        return self._act(uuid, "start", fn)

    def power_off(self, uuid: str, clean_timeout: float = 0.0) -> GuestInfo:
        """Stop a guest: an ACPI shutdown first when ``clean_timeout`` > 0 (Nova's clean shutdown),
        then pulled; a stopped one is a no-op."""
        def fn(dom: Any) -> None:
            if not dom.isActive():
                return
            if clean_timeout > 0 and self._state(dom) == "running":
                try:
                    dom.shutdown()
                except _libvirt().libvirtError:
                    pass
                if self._wait_state(dom, {"shutoff"}, clean_timeout):
                    return
            if dom.isActive():
                dom.destroy()
        return self._act(uuid, "stop", fn)

    def reboot(self, uuid: str, hard: bool = False, clean_timeout: float = 30.0) -> GuestInfo:
        """Soft: ACPI shutdown and start again (hard when the guest does not stop in time); hard:
        pulled and started again (Nova's hard reboot). :raises Conflict: not running."""
        def fn(dom: Any) -> None:
            if self._state(dom) not in ("running", "paused"):
                raise Conflict(f"guest {uuid} is not running")
            if not hard and self._state(dom) == "running":
                dom.shutdown()
                if not self._wait_state(dom, {"shutoff"}, clean_timeout):
                    dom.destroy()
            else:
                dom.destroy()
            dom.create()
        return self._act(uuid, "reboot", fn)

    def pause(self, uuid: str) -> GuestInfo:
        def fn(dom: Any) -> None:
            state = self._state(dom)
            if state == "paused":
                return
            if state != "running":
                raise Conflict(f"guest {uuid} is {state}, not running")
            dom.suspend()
        return self._act(uuid, "pause", fn)

    def unpause(self, uuid: str) -> GuestInfo:
        def fn(dom: Any) -> None:
            state = self._state(dom)
            if state == "running":
                return
            if state != "paused":
                raise Conflict(f"guest {uuid} is {state}, not paused")
            dom.resume()
        return self._act(uuid, "unpause", fn)

    def suspend(self, uuid: str) -> GuestInfo:
        """Save the guest's memory to disk and stop it (libvirt's managed save, as Nova's suspend)."""
        def fn(dom: Any) -> None:
            state = self._state(dom)
            if state == "suspended":
                return
            if state not in ("running", "paused"):
                raise Conflict(f"guest {uuid} is {state}, not running")
            dom.managedSave(0)
        return self._act(uuid, "suspend", fn)

    def resume(self, uuid: str) -> GuestInfo:
        from overcast.drivers.errors import NotSuspended

        def fn(dom: Any) -> None:
            state = self._state(dom)
            if state == "running":
                return
            if state != "suspended":
                raise NotSuspended(f"guest {uuid} is {state}, not suspended")
            dom.create()
        return self._act(uuid, "resume", fn)

    def resize(self, uuid: str, vcpus: int, memory_mb: int, disk_gb: int, flavor_id: str | None = None) -> GuestInfo:
        """Give a guest another size: stopped, redefined, its disk grown (never shrunk), started
        again if it was running. The previous size is kept in the metadata for :meth:`revert`."""
        libvirt = _libvirt()

        def fn(dom: Any) -> None:
            meta = self._meta(dom)
            running = dom.isActive()
            if running:
                dom.destroy()
            xml = ET.fromstring(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
            old = {"vcpus": int(xml.findtext("vcpu") or 0), "memory_mb": int(xml.findtext("memory") or 0) // 1024,
                   "disk_gb": int(meta.get("disk_gb", 0)), "flavor_id": meta.get("flavor_id")}
            meta.setdefault("resize_from", old)
            if flavor_id is not None:
                meta["flavor_id"] = flavor_id
            self._redefine(dom, xml, vcpus, memory_mb, meta)
            meta["disk_gb"] = max(disk_gb, int(old["disk_gb"] or 0))
            self._set_meta(dom, meta)
            vol = self._volume(f"disk-{uuid}")
            if vol is not None and vol.info()[1] < disk_gb * 2**30:
                vol.resize(disk_gb * 2**30, 0)
            if running:
                dom.create()
        return self._act(uuid, "resize", fn)

    def _redefine(self, dom: Any, xml: ET.Element, vcpus: int, memory_mb: int, meta: dict[str, Any]) -> None:
        for tag in ("memory", "currentMemory"):
            node = xml.find(tag)
            if node is not None:
                node.set("unit", "KiB")
                node.text = str(memory_mb * 1024)
        vcpu = xml.find("vcpu")
        if vcpu is not None:
            vcpu.text = str(vcpus)
        self.connect().defineXML(ET.tostring(xml, encoding="unicode"))

    def confirm_resize(self, uuid: str) -> GuestInfo:
        def fn(dom: Any) -> None:
            meta = self._meta(dom)
            moved = meta.pop("migrated_from", None) is not None
            if meta.pop("resize_from", None) is not None or moved:
                self._set_meta(dom, meta)
        return self._act(uuid, "confirm resize", fn)

    def revert_resize(self, uuid: str) -> GuestInfo:
        """Back to the size before :meth:`resize` (the disk stays as grown, as in Nova)."""
        libvirt = _libvirt()

        def fn(dom: Any) -> None:
            meta = self._meta(dom)
            old = meta.pop("resize_from", None)
            if old is None:
                raise Conflict(f"guest {uuid} is not resized")
            running = dom.isActive()
            if running:
                dom.destroy()
            xml = ET.fromstring(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
            self._redefine(dom, xml, old["vcpus"], old["memory_mb"], meta)
            if old.get("flavor_id") is not None:
                meta["flavor_id"] = old["flavor_id"]
            self._set_meta(dom, meta)
            if running:
                dom.create()
        return self._act(uuid, "revert resize", fn)

    # -- console --------------------------------------------------------------------------------
    def console_output(self, uuid: str, length: int | None = None, max_bytes: int = 1 << 20) -> str:
        """The guest's serial console as virtlogd recorded it (its last ``length`` lines)."""
        self._lookup(uuid)
        vol = self._volume(f"console-{uuid}.log")
        if vol is None:
            return ""
        try:
            _type, capacity, _alloc = vol.info()
            offset = max(0, capacity - max_bytes)
            stream = self.connect().newStream(0)
            vol.download(stream, offset, capacity - offset, 0)
            parts = []
            while True:
                chunk = stream.recv(65536)
                if not chunk or chunk in (-2,):
                    break
                parts.append(chunk)
            stream.finish()
        except Exception as exc:
            raise _translate(exc, f"console of {uuid}") from exc
        text = b"".join(parts).decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "")
        lines = text.splitlines()
        if length is not None:
            lines = lines[-length:] if length > 0 else []
        return "\n".join(lines) + ("\n" if lines else "")

    # -- volumes --------------------------------------------------------------------------------
    def attach_volume(self, uuid: str, disk: Disk) -> GuestInfo:
        """Hot-attach (or, stopped, add to the definition) a volume; attaching it again is a no-op.

        :raises Conflict: the device is taken by another volume."""
        libvirt = _libvirt()

        def fn(dom: Any) -> None:
            meta = self._meta(dom)
            volumes = [Disk(**v) for v in meta.get("volumes", [])]
            for v in volumes:
                if v.volume_id == disk.volume_id:
                    return
                if v.device == disk.device:
                    raise Conflict(f"device {disk.device} of guest {uuid} holds volume {v.volume_id}")
            flags = libvirt.VIR_DOMAIN_AFFECT_CONFIG | (libvirt.VIR_DOMAIN_AFFECT_LIVE if dom.isActive() else 0)
            dom.attachDeviceFlags(self._disk_xml(disk), flags)
            meta["volumes"] = [asdict(v) for v in volumes + [disk]]
            self._set_meta(dom, meta)
        return self._act(uuid, "attach volume", fn)

    def detach_volume(self, uuid: str, volume_id: str, timeout: float = 30.0) -> GuestInfo:
        """:raises NotFound: not attached."""
        libvirt = _libvirt()

        def fn(dom: Any) -> None:
            meta = self._meta(dom)
            volumes = [Disk(**v) for v in meta.get("volumes", [])]
            found = [v for v in volumes if v.volume_id == volume_id]
            if not found:
                raise NotFound(f"volume {volume_id} is not attached to guest {uuid}")
            xml = self._disk_xml(found[0])
            live = dom.isActive()
            try:
                dom.detachDeviceFlags(xml, libvirt.VIR_DOMAIN_AFFECT_CONFIG)
            except libvirt.libvirtError as exc:
                if "no target device" not in exc.get_error_message():
                    raise
            if live:
                self._detach_live(dom, found[0], xml, timeout)
            meta["volumes"] = [asdict(v) for v in volumes if v.volume_id != volume_id]
            self._set_meta(dom, meta)
        return self._act(uuid, "detach volume", fn)

    def _detach_live(self, dom: Any, disk: Disk, xml: str, timeout: float) -> None:
        libvirt = _libvirt()

        def present() -> bool:
            live = ET.fromstring(dom.XMLDesc(0))
            return any(t.get("dev") == disk.device for t in live.iter("target"))

        end = time.monotonic() + timeout
        while present():
            try:
                dom.detachDeviceFlags(xml, libvirt.VIR_DOMAIN_AFFECT_LIVE)
            except libvirt.libvirtError as exc:
                if "no target device" in exc.get_error_message() or not present():
                    return
                if "already in the process" not in exc.get_error_message():
                    raise
            wait = time.monotonic() + 2.0
            while present() and time.monotonic() < min(wait, end):
                time.sleep(0.1)
            if time.monotonic() >= end:
                raise Unavailable(f"guest did not release {disk.device} within {timeout:.0f}s")

    # -- moving a guest to another host (cold migration: decision 0072) -----------------------------
    def move_out(self, uuid: str) -> dict[str, Any]:
        """Stop a guest and take it off this host for a move: its root disk flattened into
        ``mig-<uuid>`` (what the new host gets), its definition kept (``saved``: the domain XML, for
        :meth:`move_back`), the domain undefined; its disk and console stay until :meth:`moved_away`.
        Returns what the new host needs: the spec's fields, ``running``, ``saved`` and ``disk`` (the
        flattened disk's name, or None without a root disk)."""
        libvirt = _libvirt()
        with self._guest_lock(uuid):
            dom = self._lookup(uuid)
            info = self._info(dom)
            running = info.state in ("running", "paused", "blocked")
            try:
                if dom.isActive():
                    dom.destroy()
                xml = dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
                src = self._volume(f"disk-{uuid}")
                disk = None
                if src is not None:
                    disk = f"mig-{uuid}"
                    if self._volume(disk) is None:
                        self.pool().createXMLFrom(
                            f"<volume><name>{disk}</name><capacity unit='B'>{src.info()[1]}</capacity>"
                            f"<target><format type='qcow2'/><permissions><mode>0644</mode></permissions>"
                            f"</target></volume>", src, 0)
                dom.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | libvirt.VIR_DOMAIN_UNDEFINE_NVRAM)
            except libvirt.libvirtError as exc:
                raise _translate(exc, f"move of {uuid}") from exc
        tree = ET.fromstring(xml)

        def key_of(tag: str) -> str | None:
            path = tree.findtext(f"os/{tag}")
            return path.rsplit("/", 1)[-1].removeprefix("base-") if path else None
        spec = {"uuid": uuid, "name": info.name, "vcpus": info.vcpus, "memory_mb": info.memory_mb,
                "disk_gb": info.disk_gb, "root": "moved" if disk else None, "kernel": key_of("kernel"),
                "initrd": key_of("initrd"), "cmdline": tree.findtext("os/cmdline") or DEFAULT_CMDLINE,
                "volumes": [asdict(v) for v in info.volumes], "meta": info.meta}
        return {"spec": spec, "running": running, "saved": xml, "disk": disk,
                "nics": [asdict(n) for n in info.nics]}

    def disk_size(self, name: str) -> int:
        """The bytes of pool volume ``name`` as a file (what :meth:`read_range` reads)."""
        libvirt = _libvirt()
        vol = self._volume(name)
        if vol is None:
            raise NotFound(f"no {name} on host {self.host}")
        return int(vol.infoFlags(libvirt.VIR_STORAGE_VOL_GET_PHYSICAL)[2])

    def read_range(self, name: str, offset: int, length: int) -> bytes:
        """``length`` bytes of pool volume ``name`` from ``offset`` (fewer at its end)."""
        vol = self._volume(name)
        if vol is None:
            raise NotFound(f"no {name} on host {self.host}")
        stream = self.connect().newStream(0)
        vol.download(stream, offset, length, 0)
        parts = []
        while True:
            data = stream.recv(1 << 20)
            if not data or data == -2:
                break
            parts.append(data)
        stream.finish()
        return b"".join(parts)

    def move_back(self, uuid: str, saved: str, running: bool) -> GuestInfo:
        """A move reverted: the guest defined here again as it was (its disk never left)."""
        libvirt = _libvirt()
        with self._guest_lock(uuid):
            conn = self.connect()
            try:
                try:
                    dom = conn.lookupByUUIDString(uuid)
                except libvirt.libvirtError:
                    dom = conn.defineXML(saved)
                if running and not dom.isActive():
                    dom.create()
            except libvirt.libvirtError as exc:
                raise _translate(exc, f"move back of {uuid}") from exc
            self._delete_volume(f"mig-{uuid}")
            return self._info(dom)

    def moved_away(self, uuid: str) -> None:
        """A move confirmed: what the guest left here (its disk, console, flattened copy) removed."""
        for name in (f"disk-{uuid}", f"mig-{uuid}", f"console-{uuid}.log"):
            self._delete_volume(name)

    # -- the host's own volumes (Cinder's volumes of an agent region: decision 0072) -----------------
    def volume_path(self, volume: str) -> str:
        """Where volume ``volume``'s bytes are on this host (``vol-<id>`` in the host's pool)."""
        return self._path(f"vol-{_slug(volume)}")

    def create_volume(self, volume: str, size_gb: int) -> int:
        """A blank raw volume of ``size_gb`` GiB (sparse) in this host's pool, once: a second call
        finds the first's. Returns its size in GiB."""
        libvirt = _libvirt()
        name = f"vol-{_slug(volume)}"
        found = self._volume(name)
        if found is None:
            try:
                self.pool().createXML(f"<volume><name>{name}</name><capacity unit='G'>{int(size_gb)}</capacity>"
                                      f"<allocation unit='B'>0</allocation><target><format type='raw'/>"
                                      f"<permissions><mode>0644</mode></permissions></target></volume>", 0)
            except libvirt.libvirtError as exc:
                if exc.get_error_code() != libvirt.VIR_ERR_STORAGE_VOL_EXIST:
                    raise _translate(exc, f"create volume {volume}") from exc
            found = self._volume(name)
        return int(found.info()[1] // 2**30) if found is not None else int(size_gb)

    def host_volumes(self) -> dict[str, int]:
        """This host's volumes: id -> size in GiB."""
        pool = self.pool()
        self._refresh(pool)
        out: dict[str, int] = {}
        for name in pool.listVolumes():
            if name.startswith("vol-"):
                try:
                    out[name.removeprefix("vol-")] = int(pool.storageVolLookupByName(name).info()[1] // 2**30)
                except _libvirt().libvirtError:     # deleted while we looked
                    continue
        return out

    def volume_users(self, volume: str) -> builtins.list[str]:
        """The guests of this host that have ``volume`` attached."""
        return [g.uuid for g in self.list() if any(v.volume_id == volume for v in g.volumes)]

    def delete_volume(self, volume: str) -> None:
        """Delete a volume; one already gone succeeds. :raises Conflict: a guest has it attached."""
        users = self.volume_users(volume)
        if users:
            raise Conflict(f"volume {volume} is attached to guest {users[0]} on host {self.host}")
        self._delete_volume(f"vol-{_slug(volume)}")

    # -- snapshots ------------------------------------------------------------------------------
    def snapshot(self, uuid: str, key: str) -> tuple[str, int]:
        """Copy the guest's root disk, flattened, into ``snap-<key>``; returns (name, size in bytes).
        Idempotent on ``key``. A running guest is saved (memory to disk) while its disk is copied,
        then restored."""
        libvirt = _libvirt()
        name = f"snap-{_slug(key)}"
        existing = self._volume(name)
        if existing is not None:
            return name, int(existing.info()[2])
        with self._guest_lock(uuid):
            dom = self._lookup(uuid)
            src = self._volume(f"disk-{uuid}")
            if src is None:
                raise Conflict(f"guest {uuid} has no root disk to snapshot (it boots from a volume)")
            saved = False
            try:
                if dom.isActive():
                    # QEMU holds its disk's write lock while it runs (even paused): save the
                    # guest's memory and stop it while the disk is copied, as Nova's cold
                    # snapshot does, then restore it as it was
                    paused = self._state(dom) == "paused"
                    dom.managedSave(libvirt.VIR_DOMAIN_SAVE_PAUSED if paused else 0)
                    saved = True
                tmp = f"{name}.part-{uuidlib.uuid4().hex[:8]}"
                vol = self.pool().createXMLFrom(
                    f"<volume><name>{tmp}</name><capacity unit='B'>{src.info()[1]}</capacity>"
                    f"<target><format type='qcow2'/><permissions><mode>0644</mode></permissions></target></volume>",
                    src, 0)
            except libvirt.libvirtError as exc:
                raise _translate(exc, f"snapshot of {uuid}") from exc
            finally:
                if saved:
                    dom.create()
        try:
            self.pool().createXMLFrom(
                f"<volume><name>{name}</name><capacity unit='B'>{vol.info()[1]}</capacity>"
                f"<target><format type='qcow2'/><permissions><mode>0644</mode></permissions></target></volume>",
                vol, 0)
        except libvirt.libvirtError as exc:
            if exc.get_error_code() != libvirt.VIR_ERR_STORAGE_VOL_EXIST:
                raise _translate(exc, f"snapshot of {uuid}") from exc
        finally:
            self._delete_volume(tmp)
        final = self._volume(name)
        return name, int(final.info()[2]) if final is not None else 0

    def snapshots(self) -> builtins.list[str]:
        pool = self.pool()
        self._refresh(pool)
        return sorted(n for n in pool.listVolumes() if n.startswith("snap-") and ".part-" not in n)

    def delete_snapshot(self, name: str) -> None:
        if not name.startswith("snap-"):
            raise InvalidRequest(f"{name} is not a snapshot")
        self._delete_volume(name)

    def read_volume(self, name: str, chunk: int = 1 << 20) -> Iterator[bytes]:
        """A pool volume's bytes (a snapshot, a base image), streamed."""
        vol = self._volume(name)
        if vol is None:
            raise NotFound(f"no {name} on host {self.host}")
        capacity = vol.info()[1]
        stream = self.connect().newStream(0)
        vol.download(stream, 0, capacity, 0)
        while True:
            data = stream.recv(chunk)
            if not data or data == -2:
                break
            yield data
        stream.finish()

    # -- reconciliation helpers ---------------------------------------------------------------
    def usage(self) -> dict[str, int]:
        """What the defined guests take: vcpus, memory_mb, disk_gb, guests."""
        vcpus = memory = disk = count = 0
        for guest in self.list():
            count += 1
            vcpus += guest.vcpus
            memory += guest.memory_mb
            disk += guest.disk_gb
        return {"vcpus": vcpus, "memory_mb": memory, "disk_gb": disk, "guests": count}
