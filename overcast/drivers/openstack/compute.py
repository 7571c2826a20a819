"""The ``openstack`` driver's compute family: an upstream Nova (and Glance, for its images).

Every server it makes lives in the service account's upstream project, tagged ``overcast``, with
a tag carrying the Overcast project and one carrying the operation's idempotency key, so
:meth:`find` is one filtered list (``tags=overcast-key:KEY``) and :meth:`list` is every page of
the ``overcast``-tagged servers (decision 0041). The upstream's flavors and images are the
region's (:meth:`flavors`, :meth:`images`); Overcast's own images cannot be booted there
(``boots_overcast_images`` is False).
"""

from __future__ import annotations

import builtins
import hashlib
import threading
import time
from typing import Any, Iterable

from overcast.drivers.compute import (BuildRequest, Capability, ComputeDriver, Flavor, Image, ImageRef,
                                      NetworkAttachment, PowerState, RemoteConsole, ServerGroup, ServerInfo,
                                      ServerState, VolumeAttachment, Zone)
from overcast.drivers.context import CallContext
from overcast.drivers.headroom import Headroom
from overcast.drivers.errors import (Conflict, InvalidRequest, NotFound, NotSupported, NotSuspended,
                                    Unavailable)
from overcast.drivers.openstack.upstream import (KEY_META, KEY_TAG, PREFIX, PROJECT_META, Upstream, as_limit, key_tag,
                                                project_tag, tag_value)

#: Nova's status -> the driver's state (transitional statuses count as the state they come from)
_STATES = {
    "BUILD": ServerState.BUILDING, "ACTIVE": ServerState.ACTIVE, "SHUTOFF": ServerState.STOPPED,
    "PAUSED": ServerState.PAUSED, "SUSPENDED": ServerState.SUSPENDED, "RESCUE": ServerState.RESCUED,
    "VERIFY_RESIZE": ServerState.RESIZED, "SHELVED": ServerState.SHELVED,
    "SHELVED_OFFLOADED": ServerState.SHELVED, "ERROR": ServerState.ERROR, "DELETED": ServerState.DELETED,
    "SOFT_DELETED": ServerState.DELETED,
    # busy: the action has not finished; BUILDING keeps the engine polling
    "REBOOT": ServerState.BUILDING, "HARD_REBOOT": ServerState.BUILDING, "REBUILD": ServerState.BUILDING,
    "RESIZE": ServerState.BUILDING, "REVERT_RESIZE": ServerState.BUILDING, "MIGRATING": ServerState.BUILDING,
    "PASSWORD": ServerState.ACTIVE,
}
#: Nova's task states of a server whose action has not finished (its status still shows the old state)
_BUSY_TASKS = frozenset({"rebooting", "reboot_started", "rebooting_hard", "reboot_started_hard",
                         "image_snapshot", "image_snapshot_pending", "image_pending_upload", "image_uploading",
                         "shelving", "shelving_image_pending_upload", "shelving_image_uploading",
                         "shelving_offloading", "unshelving"})
#: Nova's remote console type -> the protocol its ``remote-consoles`` API (2.6+) takes with it
_CONSOLE_PROTOCOLS = {"novnc": "vnc", "xvpvnc": "vnc", "spice-html5": "spice", "rdp-html5": "rdp",
                      "serial": "serial", "webmks": "mks"}
#: up to this many servers polled at once are asked for one by one (``GET /servers/{id}``, ~one
#: upstream request's time each); more are read from one list of the ``overcast``-tagged servers,
#: whose cost grows with every server Overcast keeps upstream (decision 0076)
FEW = 3
#: the name of the upstream server group made for an Overcast group (the service project holds them all)
GROUP_PREFIX = "overcast-group-"
#: Glance's statuses of an image that is gone or will never be active
_GONE = frozenset({"deleted", "pending_delete", "killed"})
_POWER = {ServerState.ACTIVE: PowerState.RUNNING, ServerState.RESCUED: PowerState.RUNNING,
          ServerState.RESIZED: PowerState.RUNNING, ServerState.STOPPED: PowerState.SHUTDOWN,
          ServerState.SHELVED: PowerState.SHUTDOWN, ServerState.PAUSED: PowerState.PAUSED,
          ServerState.SUSPENDED: PowerState.SUSPENDED}


class OpenStackComputeDriver(ComputeDriver):
    """Servers, flavors, images and volume attachments of an upstream OpenStack."""

    capabilities = frozenset({Capability.REBOOT, Capability.START_STOP, Capability.PAUSE, Capability.SUSPEND,
                              Capability.RESIZE, Capability.REBUILD, Capability.CONSOLE_OUTPUT,
                              Capability.VOLUME_ATTACH, Capability.RESCUE, Capability.CHANGE_PASSWORD,
                              Capability.SNAPSHOT, Capability.SHELVE, Capability.PORT_ATTACH,
                              Capability.SERVER_GROUPS, Capability.REMOTE_CONSOLE})
    boots_overcast_images = False
    reports_headroom = True

    def __init__(self, upstream: Upstream) -> None:
        self.upstream = upstream
        self._lock = threading.Lock()
        #: upstream flavor name -> id (a 2.47+ server shows its flavor by name only)
        self._flavor_ids: dict[str, str] = {}
        self._zones: builtins.list[Zone] | None = None

    @property
    def _nova(self) -> Any:
        return self.upstream.conn.compute

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        return self.upstream.call(fn, *args, what=what, **kwargs)

    # -- records ----------------------------------------------------------------------------
    def _info(self, server: Any) -> ServerInfo:
        status = str(server.status or "").upper()
        state = _STATES.get(status, ServerState.BUILDING)
        if state in (ServerState.ACTIVE, ServerState.STOPPED, ServerState.SHELVED) and (
                (server.task_state or "") in _BUSY_TASKS):
            state = ServerState.BUILDING
        power = server.power_state
        try:
            power_state = PowerState(int(power)) if power is not None else _POWER.get(state, PowerState.NOSTATE)
        except ValueError:
            power_state = _POWER.get(state, PowerState.NOSTATE)
        flavor_id = self._flavor_id(server.flavor)
        fault = server.fault or {}
        return ServerInfo(
            backend_id=server.id, name=server.name, state=state, power_state=power_state,
            host=server.hypervisor_hostname or server.compute_host or None,
            availability_zone=server.availability_zone or None,
            idempotency_key=tag_value(server.tags, KEY_TAG), fault=(fault.get("message") if fault else None),
            progress=int(server.progress or (100 if state is ServerState.ACTIVE else 0)),
            flavor_id=flavor_id,
            extra={"upstream_status": status, "addresses": dict(server.addresses or {})})

    def _flavor_id(self, flavor: Any) -> str | None:
        """The upstream flavor's id: Nova 2.47+ shows a server's flavor by name only (openstacksdk
        then puts the name in ``id``), mapped back through the flavors the inventory listed."""
        if not flavor:
            return None
        with self._lock:
            by_name = dict(self._flavor_ids)
        names = [flavor.get(k) for k in ("original_name", "name", "id")]
        for name in names:
            if name and name in by_name:
                return by_name[name]
        return flavor.get("id") or None

    def _server(self, backend_id: str) -> Any:
        server = self._call("server show", self._nova.get_server, backend_id)
        if str(server.status or "").upper() in ("DELETED", "SOFT_DELETED"):
            raise NotFound(f"No server {backend_id} upstream")
        return server

    def _tagged(self, **filters: Any) -> builtins.list[Any]:
        """Every server tagged ``overcast`` (and ``filters``), all pages."""
        return self._call("server list", lambda: list(self._nova.servers(details=True, tags=PREFIX, **self.upstream.paged(), **filters)))

    # -- lifecycle --------------------------------------------------------------------------
    def build(self, ctx: CallContext, request: BuildRequest) -> str:
        # an earlier attempt may have made it (tagged with the key); a first attempt cannot have
        found = None if request.first_attempt else self.find(ctx, request.idempotency_key)
        if found is not None:
            return found.backend_id
        if request.image is None and not request.block_devices:
            raise InvalidRequest("An image or a root volume is required")
        if request.image is not None and not request.image.backend_id:
            raise InvalidRequest(f"Image {request.image.id} is not held by the upstream cloud")
        args: dict[str, Any] = {
            "name": request.name, "flavor_id": self._flavor_ref(request.flavor),
            "tags": [PREFIX, project_tag(request.project_id), key_tag(request.idempotency_key)],
            "metadata": {**{k: v for k, v in request.metadata.items()},
                         "overcast_project": request.project_id or ""},
        }
        if request.image is not None:
            args["image_id"] = request.image.backend_id
        ports = [{"port": n.backend_id} for n in request.networks if n.backend_id]
        args["networks"] = ports or "none"
        if request.block_devices:
            args["block_device_mapping_v2"] = [
                {"uuid": d.volume_id, "source_type": "volume", "destination_type": "volume",
                 "boot_index": d.boot_index if d.boot_index is not None else -1, "device_name": d.device,
                 "delete_on_termination": False} for d in request.block_devices]
        if request.key_pair is not None:
            args["key_name"] = self._key_pair(request.key_pair.name, request.key_pair.public_key,
                                              request.key_pair.type)
        if request.availability_zone:
            args["availability_zone"] = request.availability_zone
        if request.server_group is not None:  # the upstream's scheduler applies the group's policy
            args["scheduler_hints"] = {"group": self._server_group(request.server_group)}
        if request.user_data:
            import base64

            args["user_data"] = base64.b64encode(request.user_data).decode()
        if request.admin_password:
            args["admin_password"] = request.admin_password
        if request.config_drive:
            args["config_drive"] = True
        server = self._call("server create", self._nova.create_server, **args)
        return str(server.id)

    def _flavor_ref(self, flavor: Flavor) -> str:
        """The upstream flavor for Overcast's ``flavor``: the same id, else the same name."""
        with self._lock:
            known = dict(self._flavor_ids)
        if flavor.id in known.values():
            return flavor.id
        if flavor.name in known:
            return known[flavor.name]
        return flavor.id

    def _key_pair(self, name: str, public_key: str, kind: str) -> str:
        """The upstream key pair with this public key (named by its digest: Overcast's key pair
        names are per user, the upstream's per service account), made on first use."""
        digest = hashlib.sha256(public_key.strip().encode()).hexdigest()[:24]
        upstream_name = f"overcast-{digest}"
        try:
            self._call("keypair show", self._nova.get_keypair, upstream_name)
        except NotFound:
            try:
                self._call("keypair create", self._nova.create_keypair, name=upstream_name,
                           public_key=public_key, type=kind or "ssh")
            except Conflict:
                pass  # made by a concurrent build
        return upstream_name

    def delete(self, ctx: CallContext, backend_id: str) -> None:
        try:
            self._call("server delete", self._nova.delete_server, backend_id)
        except NotFound:
            return

    def get(self, ctx: CallContext, backend_id: str) -> ServerInfo:
        return self._info(self._server(backend_id))

    def get_many(self, ctx: CallContext, backend_ids: Iterable[str]) -> dict[str, ServerInfo]:
        wanted = set(backend_ids)
        if not wanted:
            return {}
        if len(wanted) <= FEW:  # a GET each is cheaper than listing every server Overcast has upstream
            return super().get_many(ctx, wanted)
        return {s.id: self._info(s) for s in self._tagged()
                if s.id in wanted and str(s.status or "").upper() not in ("DELETED", "SOFT_DELETED")}

    def list(self, ctx: CallContext) -> builtins.list[ServerInfo]:
        return [self._info(s) for s in self._tagged()
                if str(s.status or "").upper() not in ("DELETED", "SOFT_DELETED")]

    def find(self, ctx: CallContext, idempotency_key: str) -> ServerInfo | None:
        found = [s for s in self._call("server find", lambda: list(
            self._nova.servers(details=True, tags=key_tag(idempotency_key))))
            if str(s.status or "").upper() not in ("DELETED", "SOFT_DELETED")]
        return self._info(found[0]) if found else None

    def close(self) -> None:
        self.upstream.close()

    def headroom(self, ctx: CallContext) -> Headroom:
        """The service project's Nova quotas and usage, from the upstream's ``GET /limits``
        (``server_groups``: every Overcast group of every project is a group of the service project
        upstream, decision 0069)."""
        absolute = self._call("limits", self._nova.get_limits).absolute
        return Headroom(
            limits={"instances": as_limit(absolute.instances), "cores": as_limit(absolute.total_cores),
                    "ram": as_limit(absolute.total_ram), "server_groups": as_limit(absolute.server_groups)},
            used={"instances": int(absolute.instances_used or 0), "cores": int(absolute.total_cores_used or 0),
                  "ram": int(absolute.total_ram_used or 0),
                  "server_groups": int(absolute.server_groups_used or 0)})

    # -- what the upstream offers -----------------------------------------------------------
    def flavors(self, ctx: CallContext) -> builtins.list[Flavor]:
        flavors = self._call("flavor list", lambda: list(self._nova.flavors(details=True)))
        out = [Flavor(id=str(f.id), name=f.name, vcpus=int(f.vcpus or 0), ram_mb=int(f.ram or 0),
                      disk_gb=int(f.disk or 0), ephemeral_gb=int(f.ephemeral or 0), swap_mb=int(f.swap or 0),
                      extra_specs=dict(f.extra_specs or {})) for f in flavors]
        with self._lock:
            self._flavor_ids = {f.name: f.id for f in out}
        return out

    def images(self, ctx: CallContext) -> builtins.list[Image]:
        """The upstream's active images, but not the ones its Nova made of Overcast's servers
        without being asked by Overcast (a shelve upstream keeps its ``<name>-shelved`` snapshot in
        the service project: it is no image of the region; decision 0056)."""
        images = self._call("image list", lambda: list(self.upstream.conn.image.images(status="active")))
        made_of = {i.instance_uuid for i in images if i.instance_uuid and KEY_META not in (i.properties or {})}
        if made_of:
            ours = {s.id for s in self._tagged()} & made_of
            images = [i for i in images if i.instance_uuid not in ours or KEY_META in (i.properties or {})]
        return [Image(id=str(i.id), name=i.name or "", min_disk_gb=int(i.min_disk or 0),
                      min_ram_mb=int(i.min_ram or 0), disk_format=i.disk_format or "qcow2",
                      container_format=i.container_format or "bare", backend_id=str(i.id),
                      size=i.size, extra={"visibility": i.visibility}) for i in images]

    def zones(self, ctx: CallContext) -> builtins.list[Zone]:
        zones = self._call("availability zone list", lambda: list(self._nova.availability_zones()))
        out = [Zone(name=z.name, available=bool((z.state or {}).get("available", True))) for z in zones]
        out = out or [Zone("nova")]
        with self._lock:
            self._zones = out
        return out

    def validate_zone(self, ctx: CallContext, zone: str) -> None:
        with self._lock:
            known = self._zones
        if known is not None and zone not in {z.name for z in known}:
            raise InvalidRequest(f"The requested availability zone is not available: {zone}")
        if known is None and zone != "nova":
            raise InvalidRequest(f"The requested availability zone is not available: {zone}")

    # -- actions ------------------------------------------------------------------------------
    def _action(self, what: str, fn: Any, backend_id: str, *args: Any, **kwargs: Any) -> None:
        self._server(backend_id)
        self._call(what, fn, backend_id, *args, **kwargs)

    def reboot(self, ctx: CallContext, backend_id: str, hard: bool = False) -> None:
        self._action("server reboot", self._nova.reboot_server, backend_id, "HARD" if hard else "SOFT")

    def start(self, ctx: CallContext, backend_id: str) -> None:
        self._action("server start", self._nova.start_server, backend_id)

    def stop(self, ctx: CallContext, backend_id: str) -> None:
        self._action("server stop", self._nova.stop_server, backend_id)

    def pause(self, ctx: CallContext, backend_id: str) -> None:
        self._action("server pause", self._nova.pause_server, backend_id)

    def unpause(self, ctx: CallContext, backend_id: str) -> None:
        self._action("server unpause", self._nova.unpause_server, backend_id)

    def suspend(self, ctx: CallContext, backend_id: str) -> None:
        self._action("server suspend", self._nova.suspend_server, backend_id)

    def resume(self, ctx: CallContext, backend_id: str) -> None:
        if str(self._server(backend_id).status or "").upper() != "SUSPENDED":
            raise NotSuspended(f"Server {backend_id} is not suspended")
        self._call("server resume", self._nova.resume_server, backend_id)

    def resize(self, ctx: CallContext, backend_id: str, flavor: Flavor) -> None:
        self._action("server resize", self._nova.resize_server, backend_id, self._flavor_ref(flavor))

    def confirm_resize(self, ctx: CallContext, backend_id: str) -> None:
        self._action("server confirm resize", self._nova.confirm_server_resize, backend_id)

    def revert_resize(self, ctx: CallContext, backend_id: str) -> None:
        self._action("server revert resize", self._nova.revert_server_resize, backend_id)

    def rebuild(self, ctx: CallContext, backend_id: str, image: Image, admin_password: str | None = None) -> None:
        server = self._server(backend_id)
        if not image.backend_id:
            raise InvalidRequest(f"Image {image.id} is not held by the upstream cloud")
        kwargs: dict[str, Any] = {"image": image.backend_id}
        if admin_password:
            kwargs["admin_password"] = admin_password
        self._call("server rebuild", self._nova.rebuild_server, server, **kwargs)

    def rescue(self, ctx: CallContext, backend_id: str, image: Image | None, admin_password: str | None) -> None:
        if image is not None and not image.backend_id:
            raise InvalidRequest(f"Image {image.id} is not held by the upstream cloud")
        self._action("server rescue", self._nova.rescue_server, backend_id, admin_pass=admin_password or None,
                     image=image.backend_id if image is not None else None)

    def unrescue(self, ctx: CallContext, backend_id: str) -> None:
        self._action("server unrescue", self._nova.unrescue_server, backend_id)

    def change_password(self, ctx: CallContext, backend_id: str, admin_password: str) -> None:
        self._action("server change password", self._nova.change_server_password, backend_id, admin_password)

    def shelve(self, ctx: CallContext, backend_id: str) -> None:
        """Shelve upstream (the upstream keeps the disk; decision 0056); asked again of a server
        already shelving or shelved (a resumed operation), nothing more is asked."""
        server = self._server(backend_id)
        if str(server.status or "").upper() in ("SHELVED", "SHELVED_OFFLOADED") or (
                (server.task_state or "").startswith("shelving")):
            return
        self._call("server shelve", self._nova.shelve_server, backend_id)

    def unshelve(self, ctx: CallContext, backend_id: str, availability_zone: str | None = None) -> None:
        """Unshelve upstream (it boots from the snapshot it made), into the zone and onto the host
        asked (the upstream's 2.77 and 2.91); nothing more is asked of a server already unshelving
        (a resumed operation)."""
        if (self._server(backend_id).task_state or "") == "unshelving":
            return
        zone, _, host = (availability_zone or "").partition(":")
        placement: dict[str, str] = {}
        if zone:
            placement["availability_zone"] = zone
        if host:
            placement["host"] = host
        self._call("server unshelve", self._nova.unshelve_server, backend_id, **placement)

    # -- snapshots ----------------------------------------------------------------------------
    def snapshot(self, ctx: CallContext, backend_id: str, image_name: str) -> ImageRef:
        """``createImage`` upstream, the image's properties carrying the operation's key and the
        Overcast project; returns at once with the image as Glance has it (``queued``/``saving``):
        the operation polls :meth:`get_image` until it is active. A second call with the same key
        returns the image the first one made (found by name and key: one filtered list)."""
        key = ctx.idempotency_key
        if key:
            made = [i for i in self._call("image list", lambda: list(self._glance.images(name=image_name)))
                    if (i.properties or {}).get(KEY_META) == key and str(i.status or "") not in _GONE]
            if made:
                return self._image_ref(made[0])
        self._server(backend_id)
        image = self._call("server image create", self._nova.create_server_image, backend_id, image_name,
                           metadata={KEY_META: key or "", PROJECT_META: ctx.project_id or ""})
        if image is None:  # made, but not shown yet: a retry finds it by its key
            raise Unavailable("The upstream made the image but does not show it yet", retry_after=1)
        return self._image_ref(image)

    def get_image(self, ctx: CallContext, backend_image_id: str) -> ImageRef:
        image = self._call("image show", self._glance.get_image, backend_image_id)
        if str(image.status or "") in _GONE:
            raise NotFound(f"No image {backend_image_id} upstream")
        return self._image_ref(image)

    def delete_image(self, ctx: CallContext, backend_image_id: str) -> None:
        try:
            self._call("image delete", self._glance.delete_image, backend_image_id)
        except NotFound:
            return

    @property
    def _glance(self) -> Any:
        return self.upstream.conn.image

    @staticmethod
    def _image_ref(image: Any) -> ImageRef:
        return ImageRef(backend_id=str(image.id), size=image.size, disk_format=image.disk_format or "qcow2",
                        container_format=image.container_format or "bare", checksum=image.checksum or None,
                        os_hash_value=image.hash_value or None, status=str(image.status or "queued"),
                        extra={"upstream_status": str(image.status or "")})

    def console_output(self, ctx: CallContext, backend_id: str, length: int | None = None) -> str:
        self._server(backend_id)
        out = self._call("console output", self._nova.get_server_console_output, backend_id, length=length)
        return str((out or {}).get("output", ""))

    def attach_volume(self, ctx: CallContext, backend_id: str, volume_id: str,
                      device: str | None = None) -> VolumeAttachment:
        self._server(backend_id)
        for attachment in self._attachments(backend_id):
            if attachment.volume_id == volume_id:
                return VolumeAttachment(volume_id=volume_id, device=attachment.device or "")
        kwargs: dict[str, Any] = {"volume_id": volume_id}
        if device:
            kwargs["device"] = device
        made = self._call("volume attach", self._nova.create_volume_attachment, backend_id, **kwargs)
        return VolumeAttachment(volume_id=volume_id, device=made.device or device or "")

    def detach_volume(self, ctx: CallContext, backend_id: str, volume_id: str) -> None:
        self._server(backend_id)
        if volume_id not in {a.volume_id for a in self._attachments(backend_id)}:
            raise NotFound(f"Volume {volume_id} is not attached to server {backend_id}")
        self._call("volume detach", self._nova.delete_volume_attachment, backend_id, volume_id)
        # Nova detaches asynchronously; the contract's detach returns with the volume detached
        deadline = time.monotonic() + min(self.upstream.settings.timeout, ctx.seconds_left() or 1e9)
        while volume_id in {a.volume_id for a in self._attachments(backend_id)}:
            if time.monotonic() > deadline:
                raise Unavailable(f"The upstream is still detaching volume {volume_id}", retry_after=5)
            time.sleep(0.1)

    def _attachments(self, backend_id: str) -> builtins.list[Any]:
        return self._call("volume attachment list",
                          lambda: list(self._nova.volume_attachments(backend_id)))

    # -- ports plugged after the build (os-interface upstream) --------------------------------
    def _upstream_port(self, ctx: CallContext, port_id: str, backend_id: str | None) -> Any | None:
        """The upstream Neutron port made for Overcast's port ``port_id``: by its backend id, else
        by the description the network driver wrote (``overcast-key:ID overcast-project:P``)."""
        from overcast.drivers.openstack.network import described_id, description

        neutron = self.upstream.conn.network
        if backend_id:
            try:
                return self._call("port show", neutron.get_port, backend_id)
            except NotFound:
                pass
        if ctx.project_id:  # the server's project: one filtered list
            found = self._call("port list", lambda: list(neutron.ports(description=description(
                port_id, ctx.project_id or ""))))
            if found:
                return found[0]
        found = self._call("port list", lambda: list(neutron.ports(**self.upstream.paged())))
        return next((p for p in found if described_id(p.description) == port_id), None)

    def _interfaces(self, backend_id: str) -> set[str]:
        return {i.port_id for i in self._call("server interface list",
                                              lambda: list(self._nova.server_interfaces(backend_id)))}

    def attach_port(self, ctx: CallContext, backend_id: str, port: NetworkAttachment) -> None:
        """Plug the upstream port Overcast's network driver made for ``port`` into the upstream
        server (Nova's os-interface upstream) and wait until the upstream shows it plugged. A port
        the upstream does not hold yet (its realisation is still queued) is retried later
        (``Unavailable``); a port already plugged is not plugged again (a resumed operation)."""
        self._server(backend_id)
        upstream_port = self._upstream_port(ctx, port.port_id, port.backend_id)
        if upstream_port is None:
            raise Unavailable(f"The upstream holds no port for {port.port_id} yet", retry_after=1)
        if upstream_port.id not in self._interfaces(backend_id):
            self._call("server interface create", self._nova.create_server_interface, backend_id,
                       port_id=upstream_port.id)
        self._settle_interface(ctx, backend_id, upstream_port.id, plugged=True)

    def detach_port(self, ctx: CallContext, backend_id: str, port_id: str) -> None:
        self._server(backend_id)
        upstream_port = self._upstream_port(ctx, port_id, None)
        if upstream_port is None or upstream_port.id not in self._interfaces(backend_id):
            raise NotFound(f"Port {port_id} is not attached to server {backend_id}")
        self._call("server interface delete", self._nova.delete_server_interface, upstream_port.id,
                   server=backend_id, ignore_missing=True)
        self._settle_interface(ctx, backend_id, upstream_port.id, plugged=False)

    def _settle_interface(self, ctx: CallContext, backend_id: str, upstream_port_id: str, *, plugged: bool) -> None:
        """Nova plugs and unplugs asynchronously; the contract's call returns once it is done."""
        deadline = time.monotonic() + min(self.upstream.settings.timeout, ctx.seconds_left() or 1e9)
        while (upstream_port_id in self._interfaces(backend_id)) != plugged:
            if time.monotonic() > deadline:
                raise Unavailable(f"The upstream is still {'plugging' if plugged else 'unplugging'} port "
                                  f"{upstream_port_id}", retry_after=5)
            time.sleep(0.1)

    # -- server groups: the upstream's own, its scheduler applies the policy ------------------
    def _upstream_groups(self, group_id: str) -> builtins.list[Any]:
        name = f"{GROUP_PREFIX}{group_id}"
        return [g for g in self._call("server group list", lambda: list(self._nova.server_groups()))
                if g.name == name]

    def _server_group(self, group: ServerGroup) -> str:
        """The upstream group for Overcast's ``group`` (named after its id), made on first use."""
        found = self._upstream_groups(group.id)
        if found:
            return str(found[0].id)
        args: dict[str, Any] = {"name": f"{GROUP_PREFIX}{group.id}", "policy": group.policy}
        if group.rules:  # 2.64: the upstream's scheduler applies max_server_per_host too
            args["rules"] = dict(group.rules)
        made = self._call("server group create", self._nova.create_server_group, **args)
        return str(made.id)

    def create_server_group(self, ctx: CallContext, group: ServerGroup) -> None:
        if group.policy not in ("affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity"):
            raise InvalidRequest(f"Invalid input for field/attribute policy. Value: {group.policy}.")
        self._server_group(group)

    def delete_server_group(self, ctx: CallContext, group_id: str) -> None:
        for found in self._upstream_groups(group_id):
            try:
                self._call("server group delete", self._nova.delete_server_group, found.id)
            except NotFound:
                pass

    # -- remote consoles: the upstream's console proxy ------------------------------------------
    def remote_console(self, ctx: CallContext, backend_id: str, console_type: str) -> RemoteConsole:
        """The upstream's console of that type (its ``remote-consoles``, 2.6+): the URL is the
        upstream's console proxy with its one-time console token, as a Nova API hands out its
        novncproxy's (decision 0069). A type the upstream does not offer is ``NotSupported``."""
        self._server(backend_id)
        protocol = _CONSOLE_PROTOCOLS.get(console_type)
        if protocol is None:
            raise NotSupported(f"Unavailable console type {console_type}.")
        try:
            made = self._call("remote console", self._nova.create_console, backend_id, console_type,
                              console_protocol=protocol)
        except InvalidRequest as exc:  # the upstream's ConsoleTypeUnavailable / not enabled
            raise NotSupported(str(exc)) from None
        url = str((made or {}).get("url") or "")
        if not url:
            raise NotSupported(f"Unavailable console type {console_type}.")
        return RemoteConsole(console_type=console_type, url=url)
