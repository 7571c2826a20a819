"""The compute driver interface: typed records in and out, capabilities, the exception model.

A driver is plain synchronous Python. The operations engine calls it from a worker (never from a
request thread), with a timeout, retries for :class:`~overcast.drivers.errors.Unavailable`, and
a circuit breaker per cloud and family. Drivers never build OpenStack JSON.

Every method takes a :class:`~overcast.drivers.context.CallContext` first: who the call is for
(project, user), the request that caused it, the operation's idempotency key and its deadline. A
backend shared by many Overcast projects tags what it makes with ``ctx.project_id``.

Asynchronous backends return from :meth:`ComputeDriver.build` (and actions) as soon as the
backend accepted the call; the engine polls :meth:`ComputeDriver.get_many` (many servers in one
call) until each server reaches the state its operation expects. After a crash the engine asks the
backend for the server's state before it calls an action again (:meth:`ComputeDriver.get`), and
finds a build it may have made already with :meth:`ComputeDriver.find` (one lookup: a client
token or a tag, never a scan). :meth:`ComputeDriver.list` returns every server (every page of a
paged provider API); the reconciler confirms with :meth:`ComputeDriver.get` before it declares
one lost, so an eventually consistent listing cannot flip a live server to ERROR.

Only three calls are made while a request waits, and each must answer from the driver's own
configuration and bookkeeping, never by asking the provider: :meth:`ComputeDriver.validate_flavor`,
:meth:`ComputeDriver.validate_zone` and the :attr:`ComputeDriver.capabilities`. What the backend
offers (:meth:`ComputeDriver.zones`, :meth:`ComputeDriver.flavors`, :meth:`ComputeDriver.images`)
is asked periodically by the inventory task and read from Overcast's records. Reads a request
needs from the backend itself (:meth:`ComputeDriver.console_output`,
:meth:`ComputeDriver.diagnostics`) run with the cloud's timeout and breaker.
"""

from __future__ import annotations

import abc
import builtins
import enum
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping

from overcast.drivers.batch import get_each
from overcast.drivers.context import CallContext
from overcast.drivers.errors import NotSupported
from overcast.drivers.headroom import Headroom


class ServerState(str, enum.Enum):
    """What the backend says a server is doing; the core maps it onto Nova's vm_state/status."""

    BUILDING = "building"
    ACTIVE = "active"
    STOPPED = "stopped"
    PAUSED = "paused"
    SUSPENDED = "suspended"
    RESCUED = "rescued"
    RESIZED = "resized"        # resized, awaiting confirm or revert
    SHELVED = "shelved"
    ERROR = "error"
    DELETED = "deleted"


class PowerState(enum.IntEnum):
    """Nova's power states (OS-EXT-STS:power_state)."""

    NOSTATE = 0
    RUNNING = 1
    PAUSED = 3
    SHUTDOWN = 4
    CRASHED = 6
    SUSPENDED = 7


class Capability(str, enum.Enum):
    """Optional operations; a driver lists the ones it supports in ``capabilities``."""

    REBOOT = "reboot"
    START_STOP = "start_stop"
    PAUSE = "pause"
    SUSPEND = "suspend"
    RESIZE = "resize"
    REBUILD = "rebuild"
    SNAPSHOT = "snapshot"
    CONSOLE_OUTPUT = "console_output"
    RESCUE = "rescue"
    CHANGE_PASSWORD = "change_password"
    SHELVE = "shelve"
    VOLUME_ATTACH = "volume_attach"
    PORT_ATTACH = "port_attach"
    SERVER_GROUPS = "server_groups"
    DIAGNOSTICS = "diagnostics"
    #: a graphical or serial console a browser can reach (noVNC, SPICE, serial), served by the backend's proxy
    REMOTE_CONSOLE = "remote_console"
    #: snapshots of an attached volume taken by the hypervisor as qcow2 overlay files (Nova's
    #: assisted volume snapshots, for volume backends without snapshots of their own: NFS, GlusterFS)
    VOLUME_SNAPSHOT = "volume_snapshot"
    #: cold migration: the server moved to another host, RESIZED until confirmed or reverted
    #: (``confirm_resize``/``revert_resize``, which are RESIZE's: a driver that moves servers
    #: declares both)
    MIGRATE = "migrate"


#: Which methods each capability brings (the conformance kit checks the two agree).
CAPABILITY_METHODS: Mapping[Capability, tuple[str, ...]] = {
    Capability.REBOOT: ("reboot",),
    Capability.START_STOP: ("start", "stop"),
    Capability.PAUSE: ("pause", "unpause"),
    Capability.SUSPEND: ("suspend", "resume"),
    Capability.RESIZE: ("resize", "confirm_resize", "revert_resize"),
    Capability.REBUILD: ("rebuild",),
    Capability.SNAPSHOT: ("snapshot", "delete_image"),
    Capability.CONSOLE_OUTPUT: ("console_output",),
    Capability.RESCUE: ("rescue", "unrescue"),
    Capability.CHANGE_PASSWORD: ("change_password",),
    Capability.SHELVE: ("shelve", "unshelve"),
    Capability.VOLUME_ATTACH: ("attach_volume", "detach_volume"),
    Capability.PORT_ATTACH: ("attach_port", "detach_port"),
    Capability.SERVER_GROUPS: ("create_server_group", "delete_server_group"),
    Capability.DIAGNOSTICS: ("diagnostics",),
    Capability.REMOTE_CONSOLE: ("remote_console",),
    Capability.VOLUME_SNAPSHOT: ("volume_snapshot_create", "volume_snapshot_delete"),
    Capability.MIGRATE: ("migrate",),
}

MAX_CONFIG_FILES = 5
MAX_CONFIG_FILE_BYTES = 10 * 1024


@dataclass(frozen=True)
class Flavor:
    id: str
    name: str
    vcpus: int
    ram_mb: int
    disk_gb: int
    ephemeral_gb: int = 0
    swap_mb: int = 0
    extra_specs: Mapping[str, str] = field(default_factory=dict)
    #: what the backend says beyond the interface (a provider's price, bandwidth)
    extra: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Image:
    """An image to boot or rebuild with, or one the backend offers (:meth:`ComputeDriver.images`).

    ``backend_id`` is the image's id on this region's backend when it has one there (an AMI, an
    upstream Glance id, a snapshot the backend made); None for an image only Overcast's image
    store holds, which only a driver with :attr:`ComputeDriver.boots_overcast_images` can boot.
    """

    id: str
    name: str
    min_disk_gb: int = 0
    min_ram_mb: int = 0
    disk_format: str = "qcow2"
    container_format: str = "bare"
    properties: Mapping[str, str] = field(default_factory=dict)
    backend_id: str | None = None
    size: int | None = None
    extra: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class ImageRef:
    """The image a backend made from a server (:meth:`ComputeDriver.snapshot`): its id there and
    what the backend says about it. The data stays on the backend."""

    backend_id: str
    size: int | None = None
    disk_format: str = "qcow2"
    container_format: str = "bare"
    #: the image's md5 and sha512, when the backend knows them
    checksum: str | None = None
    os_hash_value: str | None = None
    extra: Mapping[str, object] = field(default_factory=dict)
    #: Glance's word for the image: ``active`` once the backend has it whole; ``queued`` or
    #: ``saving`` while the backend still works on it (the operation then polls
    #: :meth:`ComputeDriver.get_image` until it is active); ``killed``/``deleted``: it failed
    status: str = "active"


@dataclass(frozen=True)
class KeyPair:
    name: str
    public_key: str
    type: str = "ssh"


@dataclass(frozen=True)
class NetworkAttachment:
    """A port the server gets: the network service has already allocated its addresses."""

    port_id: str
    network_id: str
    network_name: str
    mac_address: str
    fixed_ips: tuple[str, ...] = ()
    #: the port's id on the region's network backend, once it has made it (a provider's port the
    #: server is booted with, e.g. an upstream Neutron port); None with Overcast's own wiring
    backend_id: str | None = None


@dataclass(frozen=True)
class ConfigFile:
    path: str
    contents: bytes


@dataclass(frozen=True)
class ServerGroup:
    id: str
    name: str
    policy: str  # affinity, anti-affinity, soft-affinity, soft-anti-affinity
    #: Nova 2.64's rules (``max_server_per_host`` for anti-affinity); empty: none
    rules: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class BlockDevice:
    """A volume the server boots with; the volume service has exported it already."""

    #: the volume's backend id
    volume_id: str
    #: where the guest sees it: ``/dev/vda`` for the root volume
    device: str
    #: 0 for the root volume, None for a data volume
    boot_index: int | None = None
    #: how the host reaches it (the volume driver's connection info)
    connection: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class BuildRequest:
    """Everything a driver needs to build one server.

    ``image`` is None for a server that boots from a volume: its root is the ``block_devices``
    entry with boot index 0. Only drivers with :attr:`Capability.VOLUME_ATTACH` get block devices.
    """

    name: str
    flavor: Flavor
    image: Image | None
    idempotency_key: str
    #: the Overcast project the server is for (a shared backend tags the server with it)
    project_id: str | None = None
    key_pair: KeyPair | None = None
    security_groups: tuple[str, ...] = ()
    networks: tuple[NetworkAttachment, ...] = ()
    config_drive_files: tuple[ConfigFile, ...] = ()
    config_drive: bool = False
    user_data: bytes | None = None
    server_group: ServerGroup | None = None
    availability_zone: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    admin_password: str | None = None
    block_devices: tuple[BlockDevice, ...] = ()
    #: True when no earlier run of this build can have reached the backend (the engine's handler
    #: checkpoints before every build call): a driver that looks for an earlier attempt's server
    #: before it creates one (``find`` by the key) may skip that lookup. False (the default) looks.
    first_attempt: bool = False
    #: the bytes of an image Overcast's image store holds, by its Overcast id: the boot image, or
    #: one its ``kernel_id``/``ramdisk_id`` properties name (a driver with
    #: :attr:`ComputeDriver.boots_overcast_images` copies them to its backend). The core gives only
    #: images the server's project may use; another raises
    #: :class:`~overcast.drivers.errors.InvalidRequest`. None: no image store at hand.
    read_image: Callable[[str], Iterable[bytes]] | None = field(default=None, compare=False, repr=False)
    #: hosts an administrator took out of scheduling: their ``nova-compute`` service disabled or
    #: forced down (Nova's ComputeFilter skips them). A driver that places servers on hosts
    #: (:attr:`ComputeDriver.names_hosts`) puts nothing new there; others ignore it.
    excluded_hosts: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ServerInfo:
    """What the backend reports about one server."""

    backend_id: str
    name: str
    state: ServerState
    power_state: PowerState = PowerState.NOSTATE
    host: str | None = None
    availability_zone: str | None = None
    idempotency_key: str | None = None
    fault: str | None = None
    progress: int = 0
    #: the flavor the backend runs it with (changes on resize, back on revert); None if unknown
    flavor_id: str | None = None
    #: the ports the server has, with the addresses the backend gave it (the build request's
    #: networks, or a backend-chosen address when the request had none)
    networks: tuple[NetworkAttachment, ...] = ()
    #: what the backend knows beyond the interface (kept on the server record as ``backend_extra``)
    extra: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class VolumeAttachment:
    volume_id: str
    device: str


@dataclass(frozen=True)
class CpuStats:
    """One virtual CPU: time used in nanoseconds, utilisation in percent (None: unknown)."""

    time_ns: int | None = None
    utilisation: int | None = None


@dataclass(frozen=True)
class NicStats:
    """One port of the server, counted from the guest's side."""

    port_id: str
    mac_address: str | None = None
    rx_octets: int | None = None
    rx_errors: int | None = None
    rx_drop: int | None = None
    rx_packets: int | None = None
    rx_rate: int | None = None
    tx_octets: int | None = None
    tx_errors: int | None = None
    tx_drop: int | None = None
    tx_packets: int | None = None
    tx_rate: int | None = None


@dataclass(frozen=True)
class DiskStats:
    """One disk as the guest sees it (``vda``...)."""

    device: str
    read_bytes: int | None = None
    read_requests: int | None = None
    write_bytes: int | None = None
    write_requests: int | None = None
    errors: int | None = None


@dataclass(frozen=True)
class RemoteConsole:
    """Where a browser reaches a server's console: a URL of the backend's console proxy (e.g. a
    hypervisor host's noVNC page with its one-time token), rendered as Nova's ``remote_console``."""

    #: Nova's console type: ``novnc``, ``xvpvnc``, ``spice-html5``, ``rdp-html5``, ``serial``, ``webmks``
    console_type: str
    url: str


@dataclass(frozen=True)
class Diagnostics:
    """What the backend measures about one server (Nova's standard diagnostics, 2.48)."""

    power_state: PowerState
    #: the hypervisor and the host's OS (``qemu``, ``linux``), None if the backend does not say
    hypervisor: str | None = None
    hypervisor_os: str | None = None
    uptime_s: int | None = None
    memory_max_mb: int | None = None
    memory_used_mb: int | None = None
    cpus: tuple[CpuStats, ...] = ()
    nics: tuple[NicStats, ...] = ()
    disks: tuple[DiskStats, ...] = ()


class ServerListing(builtins.list[ServerInfo]):
    """What :meth:`ComputeDriver.list` returns when it could not ask all of its backend: the
    servers it could list, and ``unreached``, the hosts it could not ask (down, or no answer in
    time). A server on one of those hosts that is missing from the listing says nothing about that
    server: it is neither gone nor stopped, only not asked. A plain list means every host was asked."""

    def __init__(self, servers: Iterable[ServerInfo] = (), unreached: Iterable[str] = ()) -> None:
        super().__init__(servers)
        self.unreached: frozenset[str] = frozenset(unreached)


def unreached_hosts(listing: Iterable[ServerInfo]) -> frozenset[str]:
    """The hosts a :meth:`ComputeDriver.list` answer could not ask (none for a plain list)."""
    return listing.unreached if isinstance(listing, ServerListing) else frozenset()


@dataclass(frozen=True)
class Zone:
    name: str
    available: bool = True
    hosts: tuple[str, ...] = ()
    #: the hosts (of ``hosts``) that are down now (missed their heartbeats): their compute
    #: services show ``down`` and their servers ``host_status: UNKNOWN``, as Nova's do
    down_hosts: tuple[str, ...] = ()


class ComputeDriver(abc.ABC):
    """One cloud's compute backend.

    Every method may raise :class:`~overcast.drivers.errors.Unavailable` (retryable, with
    ``retry_after`` when the backend said how long to wait) or
    :class:`~overcast.drivers.errors.DriverError`; the others it raises are named per method.
    Optional methods raise :class:`~overcast.drivers.errors.NotSupported` unless the driver lists
    their capability.
    """

    #: Which optional operations this driver supports.
    capabilities: frozenset[Capability] = frozenset()
    #: Whether the backend can boot an image whose data only Overcast's image store holds (the
    #: driver is given the image and fetches or copies it: the local cloud, a hypervisor host).
    #: False: only images the backend holds itself (``Image.backend_id`` set) can be booted, and
    #: Nova's API refuses any other with a 400.
    boots_overcast_images: bool = True
    #: Whether a server can boot from a volume Overcast made (``BuildRequest.image`` None, the root
    #: a block device). False (EC2: an instance boots only from a machine image): Nova's API refuses
    #: such a create with a 400. Only meaningful with :attr:`Capability.VOLUME_ATTACH`.
    boots_from_volume: bool = True
    #: Whether :meth:`headroom` tells the backend's own quotas (``instances``, ``cores``, ``ram``);
    #: the core then reads it before it accepts a create in this region (:mod:`overcast.drivers.headroom`).
    reports_headroom: bool = False
    #: Whether :meth:`zones` names the backend's real hosts (hypervisor hosts): a zone without
    #: hosts then has no compute service, and a region with no host known yet has none (no
    #: ``nova-compute`` named after the region stands in for the hosts, as it does for a cloud
    #: whose hosts are hidden).
    names_hosts: bool = False

    # -- lifecycle ------------------------------------------------------------------------
    @abc.abstractmethod
    def build(self, ctx: CallContext, request: BuildRequest) -> str:
        """Start building a server; returns its backend id.

        Idempotent on ``request.idempotency_key``: a second call with the same key returns the
        first server's id instead of making another.

        :raises InvalidRequest: flavor, image or zone the backend refuses.
        :raises BuildFailed: the backend could not build it.
        :raises QuotaExceeded: the provider's quota refused it.
        """

    @abc.abstractmethod
    def delete(self, ctx: CallContext, backend_id: str) -> None:
        """Delete a server; deleting one that is already gone succeeds.

        :raises DeleteFailed: the backend could not delete it.
        """

    @abc.abstractmethod
    def get(self, ctx: CallContext, backend_id: str) -> ServerInfo:
        """The backend's view of one server. :raises NotFound: no such server."""

    def get_many(self, ctx: CallContext, backend_ids: Iterable[str]) -> dict[str, ServerInfo]:
        """The backend's view of several servers at once, by backend id; an id the backend does not
        know is left out (not an error). Default: :meth:`get` each; a provider with a batch call
        (EC2's DescribeInstances, Nova's ``servers/detail`` filtered) should use it."""
        return get_each(self.get, ctx, backend_ids)

    def status(self, ctx: CallContext, backend_id: str) -> ServerState:
        """Just the server's state (default: ``get(ctx, backend_id).state``). :raises NotFound:"""
        return self.get(ctx, backend_id).state

    @abc.abstractmethod
    def list(self, ctx: CallContext) -> builtins.list[ServerInfo]:
        """Every server the backend has for this cloud, every page of it (for the reconciler).

        A backend of several hosts that could not ask some of them (down, or silent past their
        deadline) returns a :class:`ServerListing` naming them in ``unreached``, rather than
        failing or passing the partial list off as whole: a caller must not take a server on an
        unreached host, missing from the listing, for one that is gone (:func:`unreached_hosts`).
        """

    @abc.abstractmethod
    def find(self, ctx: CallContext, idempotency_key: str) -> ServerInfo | None:
        """The server built with this idempotency key, if any, in one lookup (a client token or
        a tag the backend indexes), never by listing every server."""

    def close(self) -> None:
        """Release connections and files; the driver is not used afterwards (default: nothing)."""

    def headroom(self, ctx: CallContext) -> Headroom:
        """The backend's own compute quotas and usage (only with :attr:`reports_headroom`), asked
        while a create request waits, with the cloud's timeout and breaker.

        :raises NotSupported: the driver does not report headroom (the default).
        """
        raise NotSupported(f"{type(self).__name__} does not report the backend's quotas")

    # -- what the backend offers (asked periodically, read from records) ---------------
    def flavors(self, ctx: CallContext) -> builtins.list[Flavor]:
        """Flavors the backend offers natively (may be empty: Overcast's own flavors apply; when
        not empty, a server may only use a flavor of this list, by id)."""
        return []

    def images(self, ctx: CallContext) -> builtins.list[Image]:
        """Images the backend holds (each with its ``backend_id``): shown in this region's image
        list beside Overcast's own."""
        return []

    def zones(self, ctx: CallContext) -> builtins.list[Zone]:
        """Availability zones (default: one, ``nova``)."""
        return [Zone("nova")]

    def validate_flavor(self, ctx: CallContext, flavor: Flavor) -> None:
        """Called while the API takes a request: must not reach the backend.

        :raises InvalidRequest: the backend cannot run this flavor.
        """

    def validate_zone(self, ctx: CallContext, zone: str) -> None:
        """Called while the API takes a request: must not reach the backend.

        :raises InvalidRequest: unknown availability zone.
        """
        from overcast.drivers.errors import InvalidRequest

        if zone not in {z.name for z in self.zones(ctx)}:
            raise InvalidRequest(f"The requested availability zone is not available: {zone}")

    # -- optional actions (see capabilities) ----------------------------------------------
    def _unsupported(self, what: str) -> NotSupported:
        return NotSupported(f"{type(self).__name__} does not support {what}")

    def reboot(self, ctx: CallContext, backend_id: str, hard: bool = False) -> None:
        """:raises NotFound: :raises Conflict: not running."""
        raise self._unsupported("reboot")

    def start(self, ctx: CallContext, backend_id: str) -> None:
        """:raises NotFound: :raises Conflict: not stopped."""
        raise self._unsupported("start")

    def stop(self, ctx: CallContext, backend_id: str) -> None:
        """:raises NotFound: :raises Conflict: not running."""
        raise self._unsupported("stop")

    def pause(self, ctx: CallContext, backend_id: str) -> None:
        """:raises NotFound: :raises Conflict:"""
        raise self._unsupported("pause")

    def unpause(self, ctx: CallContext, backend_id: str) -> None:
        """:raises NotFound: :raises Conflict:"""
        raise self._unsupported("unpause")

    def suspend(self, ctx: CallContext, backend_id: str) -> None:
        """:raises NotFound: :raises Conflict:"""
        raise self._unsupported("suspend")

    def resume(self, ctx: CallContext, backend_id: str) -> None:
        """:raises NotFound: :raises NotSuspended: the server is not suspended."""
        raise self._unsupported("resume")

    def resize(self, ctx: CallContext, backend_id: str, flavor: Flavor) -> None:
        """Resize; the server ends in RESIZED until confirmed or reverted.

        :raises NotFound: :raises InvalidRequest: the flavor cannot be used.
        """
        raise self._unsupported("resize")

    def migrate(self, ctx: CallContext, backend_id: str, host: str | None = None,
                excluded_hosts: frozenset[str] = frozenset()) -> None:
        """Cold migration: move the server to ``host`` (None: one the backend picks), never the
        host it is on nor one of ``excluded_hosts`` (an administrator took them out of service);
        the server ends in RESIZED (stopped there if it was stopped) until :meth:`confirm_resize`
        or :meth:`revert_resize` (back where it was). Its backend id does not change. Moving it
        again before that is a no-op (a resumed operation calls it twice).

        :raises NotFound: :raises InvalidRequest: no host fits (Nova's "No valid host was found").
        """
        raise self._unsupported("migrate")

    def confirm_resize(self, ctx: CallContext, backend_id: str) -> None:
        """:raises NotFound: :raises Conflict: not resized."""
        raise self._unsupported("confirm_resize")

    def revert_resize(self, ctx: CallContext, backend_id: str) -> None:
        """:raises NotFound: :raises Conflict: not resized."""
        raise self._unsupported("revert_resize")

    def rebuild(self, ctx: CallContext, backend_id: str, image: Image, admin_password: str | None = None) -> None:
        """:raises NotFound: :raises InvalidRequest:"""
        raise self._unsupported("rebuild")

    def snapshot(self, ctx: CallContext, backend_id: str, image_name: str) -> ImageRef:
        """Capture the server's disk as an image the backend keeps; returns a reference to it.

        Idempotent on ``ctx.idempotency_key``: a second call with the same key (a resumed
        operation) returns the image the first one made.

        :raises NotFound:
        """
        raise self._unsupported("snapshot")

    def delete_image(self, ctx: CallContext, backend_image_id: str) -> None:
        """Delete an image the backend made (:meth:`snapshot`); one already gone succeeds."""
        raise self._unsupported("delete_image")

    def get_image(self, ctx: CallContext, backend_image_id: str) -> ImageRef:
        """An image :meth:`snapshot` made, as the backend has it now: needed only by a driver whose
        snapshot returns an image that is not yet ``active`` (the backend saves it asynchronously).

        :raises NotFound:
        """
        raise self._unsupported("get_image")

    def console_output(self, ctx: CallContext, backend_id: str, length: int | None = None) -> str:
        """The last ``length`` lines of the console log. :raises NotFound:"""
        raise self._unsupported("console_output")

    def rescue(self, ctx: CallContext, backend_id: str, image: Image | None, admin_password: str | None) -> None:
        """:raises NotFound: :raises Conflict:"""
        raise self._unsupported("rescue")

    def unrescue(self, ctx: CallContext, backend_id: str) -> None:
        """:raises NotFound: :raises Conflict:"""
        raise self._unsupported("unrescue")

    def change_password(self, ctx: CallContext, backend_id: str, admin_password: str) -> None:
        """:raises NotFound:"""
        raise self._unsupported("change_password")

    def shelve(self, ctx: CallContext, backend_id: str) -> None:
        """:raises NotFound: :raises Conflict:"""
        raise self._unsupported("shelve")

    def unshelve(self, ctx: CallContext, backend_id: str, availability_zone: str | None = None) -> None:
        """Boot a shelved server again; ``availability_zone`` (``zone``, ``zone:host`` or ``:host``,
        as in :class:`BuildRequest`) places a shelved-offloaded one, None leaves it to the backend.

        :raises NotFound: :raises Conflict: :raises InvalidRequest: an unknown zone or host."""
        raise self._unsupported("unshelve")

    def attach_volume(self, ctx: CallContext, backend_id: str, volume_id: str,
                      device: str | None = None) -> VolumeAttachment:
        """Idempotent: attaching a volume already attached to this server returns its attachment.

        :raises NotFound: :raises Conflict: the device is taken by another volume.
        """
        raise self._unsupported("attach_volume")

    def detach_volume(self, ctx: CallContext, backend_id: str, volume_id: str) -> None:
        """:raises NotFound: not attached."""
        raise self._unsupported("detach_volume")

    def attach_port(self, ctx: CallContext, backend_id: str, port: NetworkAttachment) -> None:
        """:raises NotFound: :raises Conflict:"""
        raise self._unsupported("attach_port")

    def detach_port(self, ctx: CallContext, backend_id: str, port_id: str) -> None:
        """:raises NotFound:"""
        raise self._unsupported("detach_port")

    def create_server_group(self, ctx: CallContext, group: ServerGroup) -> None:
        """:raises InvalidRequest: unsupported policy."""
        raise self._unsupported("create_server_group")

    def delete_server_group(self, ctx: CallContext, group_id: str) -> None:
        """Deleting an unknown group succeeds."""
        raise self._unsupported("delete_server_group")

    def diagnostics(self, ctx: CallContext, backend_id: str) -> Diagnostics:
        """What the backend measures about the server. :raises NotFound:"""
        raise self._unsupported("diagnostics")

    def remote_console(self, ctx: CallContext, backend_id: str, console_type: str) -> RemoteConsole:
        """A console of ``console_type`` (Nova's names) for the server, reachable by the caller's browser.

        :raises NotFound: :raises NotSupported: the backend has no console of that type.
        :raises Conflict: the server cannot give one now (not running).
        """
        raise self._unsupported("remote_console")

    def volume_snapshot_create(self, ctx: CallContext, backend_id: str, volume_id: str, snapshot_id: str,
                               new_file: str) -> None:
        """Snapshot a volume attached to the server through the hypervisor (qcow2): the file the
        guest writes to is frozen as snapshot ``snapshot_id`` and ``new_file``, an overlay backed
        by it, becomes the volume's active file. ``volume_id`` is the volume's backend id.
        Idempotent on ``snapshot_id`` (a second call changes nothing).

        :raises NotFound: no such server, or the volume is not attached to it.
        """
        raise self._unsupported("volume_snapshot_create")

    def volume_snapshot_delete(self, ctx: CallContext, backend_id: str, volume_id: str, snapshot_id: str) -> None:
        """Merge snapshot ``snapshot_id`` out of the attached volume's file chain (its data stays
        the volume's); a snapshot the chain does not have (any more) succeeds.

        :raises NotFound: no such server, or the volume is not attached to it.
        """
        raise self._unsupported("volume_snapshot_delete")
