"""The noop compute driver (Octavia ships one beside its interface; so do we).

Every call succeeds at once: builds are ACTIVE when :meth:`build` returns, actions set the state
they are documented to set, nothing is validated beyond what the contract itself requires
(``NotFound`` for an unknown id, ``NotSuspended`` for resuming a server that is not suspended).
State lives in this object only, so it is the baseline for the conformance kit and for
benchmarks: whatever time a request takes with ``noop`` is Overcast's own.
"""

from __future__ import annotations

import builtins
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterable, Mapping, MutableMapping

from overcast.drivers.compute import (BuildRequest, Capability, ComputeDriver, Diagnostics, Flavor, Image,
                                      ImageRef, NetworkAttachment, PowerState, ServerGroup, ServerInfo, ServerState,
                                      VolumeAttachment)
from overcast.drivers.context import CallContext
from overcast.drivers.errors import NotFound, NotSuspended
from overcast.drivers.noop import shared
from overcast.drivers.registry import CloudDriver

_POWER = {
    ServerState.ACTIVE: PowerState.RUNNING,
    ServerState.RESCUED: PowerState.RUNNING,
    ServerState.RESIZED: PowerState.RUNNING,
    ServerState.STOPPED: PowerState.SHUTDOWN,
    ServerState.SHELVED: PowerState.SHUTDOWN,
    ServerState.PAUSED: PowerState.PAUSED,
    ServerState.SUSPENDED: PowerState.SUSPENDED,
}


class NoopComputeDriver(ComputeDriver):
    """Accepts everything; every capability but a remote console, none of them doing anything."""

    #: no remote console: a console URL must lead to a proxy reaching a real guest, and there is none
    #: one host: no cold migration (nowhere to move)
    capabilities = frozenset(Capability) - {Capability.REMOTE_CONSOLE, Capability.MIGRATE}

    def __init__(self, host: str = "noop-host", state: shared.State | None = None) -> None:
        self._host = host
        #: in this object, or shared by the processes of a data directory (overcast.drivers.noop.shared)
        self._state = state if state is not None else shared.Memory()
        self._lock = self._state.lock()
        self._read = self._state.reader()
        self._servers: MutableMapping[str, ServerInfo] = self._state.table("server")
        self._by_key: MutableMapping[str, str] = self._state.table("server_key")
        self._volumes: MutableMapping[str, dict[str, str]] = self._state.table("server_volumes")
        self._groups: MutableMapping[str, ServerGroup] = self._state.table("server_group")
        self._old_flavor: MutableMapping[str, str | None] = self._state.table("old_flavor")
        #: snapshot idempotency key -> image id
        self._images: MutableMapping[str, str] = self._state.table("server_snapshot")

    # -- lifecycle ------------------------------------------------------------------------
    def build(self, ctx: CallContext, request: BuildRequest) -> str:
        with self._lock:
            existing = self._by_key.get(request.idempotency_key)
            if existing is not None and existing in self._servers:
                return existing
            backend_id = str(uuid.uuid4())
            self._servers[backend_id] = ServerInfo(
                backend_id=backend_id, name=request.name, state=ServerState.ACTIVE,
                power_state=PowerState.RUNNING, host=self._host,
                availability_zone=request.availability_zone or "nova",
                idempotency_key=request.idempotency_key, progress=100,
                flavor_id=request.flavor.id, networks=tuple(request.networks))
            self._by_key[request.idempotency_key] = backend_id
            self._volumes[backend_id] = {d.volume_id: d.device for d in request.block_devices}
            return backend_id

    def delete(self, ctx: CallContext, backend_id: str) -> None:
        with self._lock:
            info = self._servers.pop(backend_id, None)
            self._volumes.pop(backend_id, None)
            self._old_flavor.pop(backend_id, None)
            if info is not None and info.idempotency_key is not None:
                self._by_key.pop(info.idempotency_key, None)

    def get(self, ctx: CallContext, backend_id: str) -> ServerInfo:
        with self._read:
            return self._get(backend_id)

    def get_many(self, ctx: CallContext, backend_ids: Iterable[str]) -> dict[str, ServerInfo]:
        with self._read:  # one snapshot for the batch
            found = {backend_id: self._servers.get(backend_id) for backend_id in backend_ids}
        return {backend_id: info for backend_id, info in found.items() if info is not None}

    def list(self, ctx: CallContext) -> builtins.list[ServerInfo]:
        with self._read:
            return list(self._servers.values())

    def find(self, ctx: CallContext, idempotency_key: str) -> ServerInfo | None:
        with self._read:
            backend_id = self._by_key.get(idempotency_key)
            return self._servers.get(backend_id) if backend_id else None

    # -- helpers --------------------------------------------------------------------------
    def _get(self, backend_id: str) -> ServerInfo:
        try:
            return self._servers[backend_id]
        except KeyError:
            raise NotFound(f"No server {backend_id}") from None

    def _set(self, backend_id: str, state: ServerState, **changes: Any) -> None:
        with self._lock:
            info = self._get(backend_id)
            self._servers[backend_id] = replace(info, state=state, power_state=_POWER[state], **changes)

    def _touch(self, backend_id: str) -> ServerInfo:
        with self._lock:
            return self._get(backend_id)

    # -- actions --------------------------------------------------------------------------
    def reboot(self, ctx: CallContext, backend_id: str, hard: bool = False) -> None:
        self._set(backend_id, ServerState.ACTIVE)

    def start(self, ctx: CallContext, backend_id: str) -> None:
        self._set(backend_id, ServerState.ACTIVE)

    def stop(self, ctx: CallContext, backend_id: str) -> None:
        self._set(backend_id, ServerState.STOPPED)

    def pause(self, ctx: CallContext, backend_id: str) -> None:
        self._set(backend_id, ServerState.PAUSED)

    def unpause(self, ctx: CallContext, backend_id: str) -> None:
        self._set(backend_id, ServerState.ACTIVE)

    def suspend(self, ctx: CallContext, backend_id: str) -> None:
        self._set(backend_id, ServerState.SUSPENDED)

    def resume(self, ctx: CallContext, backend_id: str) -> None:
        with self._lock:
            if self._get(backend_id).state is not ServerState.SUSPENDED:
                raise NotSuspended(f"Server {backend_id} is not suspended")
        self._set(backend_id, ServerState.ACTIVE)

    def resize(self, ctx: CallContext, backend_id: str, flavor: Flavor) -> None:
        with self._lock:
            self._old_flavor.setdefault(backend_id, self._get(backend_id).flavor_id)
        self._set(backend_id, ServerState.RESIZED, flavor_id=flavor.id)

    def confirm_resize(self, ctx: CallContext, backend_id: str) -> None:
        with self._lock:
            self._set(backend_id, ServerState.ACTIVE)
            self._old_flavor.pop(backend_id, None)

    def revert_resize(self, ctx: CallContext, backend_id: str) -> None:
        with self._lock:
            info = self._get(backend_id)
            old = self._old_flavor.pop(backend_id, info.flavor_id)
        self._set(backend_id, ServerState.ACTIVE, flavor_id=old)

    def rebuild(self, ctx: CallContext, backend_id: str, image: Image, admin_password: str | None = None) -> None:
        self._set(backend_id, ServerState.ACTIVE)

    def snapshot(self, ctx: CallContext, backend_id: str, image_name: str) -> ImageRef:
        """An empty image (idempotent on ``ctx.idempotency_key``)."""
        self._touch(backend_id)
        with self._lock:
            key = ctx.idempotency_key or str(uuid.uuid4())
            image_id = self._images.get(key)
            if image_id is None:
                image_id = self._images[key] = str(uuid.uuid4())
        return ImageRef(backend_id=image_id, size=0)

    def images(self, ctx: CallContext) -> builtins.list[Image]:
        with self._lock:
            return [Image(id=image_id, name=image_id, backend_id=image_id, size=0)
                    for image_id in self._images.values()]

    def delete_image(self, ctx: CallContext, backend_image_id: str) -> None:
        with self._lock:
            for key in [k for k, v in self._images.items() if v == backend_image_id]:
                del self._images[key]

    def console_output(self, ctx: CallContext, backend_id: str, length: int | None = None) -> str:
        self._touch(backend_id)
        return ""

    def rescue(self, ctx: CallContext, backend_id: str, image: Image | None, admin_password: str | None) -> None:
        self._set(backend_id, ServerState.RESCUED)

    def unrescue(self, ctx: CallContext, backend_id: str) -> None:
        self._set(backend_id, ServerState.ACTIVE)

    def change_password(self, ctx: CallContext, backend_id: str, admin_password: str) -> None:
        self._touch(backend_id)

    def shelve(self, ctx: CallContext, backend_id: str) -> None:
        self._set(backend_id, ServerState.SHELVED)

    def unshelve(self, ctx: CallContext, backend_id: str, availability_zone: str | None = None) -> None:
        self._set(backend_id, ServerState.ACTIVE)

    def attach_volume(self, ctx: CallContext, backend_id: str, volume_id: str,
                      device: str | None = None) -> VolumeAttachment:
        with self._lock:
            self._get(backend_id)
            attached = self._volumes.get(backend_id, {})
            if volume_id not in attached:  # attaching it again returns its attachment
                attached[volume_id] = device or f"/dev/vd{chr(ord('b') + len(attached))}"
                self._volumes[backend_id] = attached  # a shared table's value is a copy
            return VolumeAttachment(volume_id=volume_id, device=attached[volume_id])

    def detach_volume(self, ctx: CallContext, backend_id: str, volume_id: str) -> None:
        with self._lock:
            self._get(backend_id)
            attached = self._volumes.get(backend_id, {})
            if attached.pop(volume_id, None) is None:
                raise NotFound(f"Volume {volume_id} is not attached to server {backend_id}")
            self._volumes[backend_id] = attached

    def attach_port(self, ctx: CallContext, backend_id: str, port: NetworkAttachment) -> None:
        with self._lock:
            info = self._get(backend_id)
            if all(p.port_id != port.port_id for p in info.networks):
                self._servers[backend_id] = replace(info, networks=(*info.networks, port))

    def detach_port(self, ctx: CallContext, backend_id: str, port_id: str) -> None:
        with self._lock:
            info = self._get(backend_id)
            self._servers[backend_id] = replace(
                info, networks=tuple(p for p in info.networks if p.port_id != port_id))

    def create_server_group(self, ctx: CallContext, group: ServerGroup) -> None:
        with self._lock:
            self._groups[group.id] = group

    def delete_server_group(self, ctx: CallContext, group_id: str) -> None:
        with self._lock:
            self._groups.pop(group_id, None)

    def diagnostics(self, ctx: CallContext, backend_id: str) -> Diagnostics:
        return Diagnostics(power_state=self._touch(backend_id).power_state)

    def _attached(self, backend_id: str, volume_id: str) -> None:
        with self._lock:
            self._get(backend_id)
            if volume_id not in self._volumes.get(backend_id, {}):
                raise NotFound(f"Volume {volume_id} is not attached to server {backend_id}")

    def volume_snapshot_create(self, ctx: CallContext, backend_id: str, volume_id: str, snapshot_id: str,
                               new_file: str) -> None:
        self._attached(backend_id, volume_id)

    def volume_snapshot_delete(self, ctx: CallContext, backend_id: str, volume_id: str, snapshot_id: str) -> None:
        self._attached(backend_id, volume_id)


def create_driver(options: Mapping[str, Any], data_dir: Path, state: shared.State | None = None) -> CloudDriver:
    """Entry point ``noop``: options are accepted and ignored (except ``host``, the host name it reports)."""
    state = state if state is not None else shared.for_data_dir(data_dir)
    return CloudDriver(name="noop", compute=NoopComputeDriver(host=str(options.get("host", "noop-host")), state=state),
                       info={"persistent": isinstance(state, shared.SharedFile)})
