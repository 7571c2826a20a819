"""The libcloud compute driver: libcloud's nodes, sizes, images and locations as Overcast's
servers, flavours, images and availability zones.

Libcloud is blocking; the operations engine calls this driver only from its workers, with the
region's timeout, rate limit and breaker. What differs between providers (how to list every page,
how to find a build by its idempotency key, how a provider's node states read) is a *dialect*
(:class:`Ec2Dialect`, :class:`OpenStackDialect`); everything else is libcloud's common API.
"""

from __future__ import annotations

import base64
import builtins
import fnmatch
import hashlib
import threading
import time
from dataclasses import dataclass
from typing import Any, Iterable
from urllib.parse import quote

from overcast.drivers.compute import (BuildRequest, Capability, ComputeDriver, Flavor, Image, PowerState,
                                      ServerInfo, ServerState, VolumeAttachment, Zone)
from overcast.drivers.context import CallContext
from overcast.drivers.errors import Conflict, InvalidRequest, NotFound, Unavailable
from overcast.drivers.libcloud.emulators import is_emulator
from overcast.drivers.libcloud.errors import translated
from overcast.drivers.libcloud.paging import every_page
from overcast.drivers.libcloud.providers import DriverPool, LibcloudSettings
from overcast.drivers.openstack.upstream import KEY_TAG, PREFIX, key_tag, project_tag, tag_value

#: the tags (EC2) or metadata keys (OpenStack) Overcast puts on what it makes
TAG_KEY = "overcast:key"
TAG_PROJECT = "overcast:project"
#: how a provider's raw state reads: (state, power state); anything else is BUILDING
_RAW_STATES: dict[str, tuple[ServerState, PowerState]] = {
    # EC2 instance states (node.extra["status"])
    "pending": (ServerState.BUILDING, PowerState.NOSTATE),
    "running": (ServerState.ACTIVE, PowerState.RUNNING),
    "stopping": (ServerState.ACTIVE, PowerState.RUNNING),     # Nova: ACTIVE, task powering-off
    "stopped": (ServerState.STOPPED, PowerState.SHUTDOWN),
    # libcloud's NodeState names (any provider)
    "starting": (ServerState.BUILDING, PowerState.NOSTATE),
    "rebooting": (ServerState.ACTIVE, PowerState.RUNNING),
    "suspended": (ServerState.SUSPENDED, PowerState.SUSPENDED),
    "paused": (ServerState.PAUSED, PowerState.PAUSED),
    "error": (ServerState.ERROR, PowerState.NOSTATE),
}
#: raw states meaning the node is gone (an instance being or already terminated)
_GONE = frozenset({"shutting-down", "terminated", "deleted", "soft_deleted"})


def client_token(idempotency_key: str) -> str:
    """EC2's ClientToken (at most 64 ASCII characters): the key itself when it fits, else its hash."""
    if len(idempotency_key) <= 64 and idempotency_key.isascii():
        return idempotency_key
    return hashlib.sha256(idempotency_key.encode()).hexdigest()


@dataclass(frozen=True)
class _Ref:
    """Enough of a libcloud object for calls that only read its ``id`` (and ``name``)."""

    id: str
    name: str = ""
    driver: Any = None
    extra: Any = None


class Ec2Dialect:
    """EC2: DescribeInstances by filter (unknown ids are no error), every page by NextToken,
    idempotent launches by ClientToken plus a tag carrying the token."""

    states = _RAW_STATES

    def __init__(self, settings: LibcloudSettings) -> None:
        self.settings = settings

    def describe(self, driver: Any, filters: dict[str, Any], *, paged: bool = True) -> builtins.list[Any]:
        """Every instance matching ``filters``, all pages (libcloud's list_nodes stops at the first)."""
        from libcloud.compute.drivers.ec2 import NAMESPACE
        from libcloud.utils.xml import findall, findtext

        params: dict[str, Any] = {"Action": "DescribeInstances"}
        params.update(driver._build_filters(filters))
        if paged:
            params["MaxResults"] = str(self.settings.page_size)
        nodes: builtins.list[Any] = []
        while True:
            elem = driver.connection.request(driver.path, params=params).object
            for reservation in findall(element=elem, xpath="reservationSet/item", namespace=NAMESPACE):
                nodes += driver._to_nodes(reservation, "instancesSet/item")
            token = findtext(element=elem, xpath="nextToken", namespace=NAMESPACE)
            if not paged or not token:
                return nodes
            params["NextToken"] = token

    def by_ids(self, driver: Any, ids: builtins.list[str]) -> builtins.list[Any]:
        found: builtins.list[Any] = []
        wanted = [i for i in ids if i.startswith("i-")]
        for start in range(0, len(wanted), 200):  # at most 200 values in one filter
            found += self.describe(driver, {"instance-id": wanted[start:start + 200]}, paged=False)
        return found

    def mine(self, driver: Any) -> builtins.list[Any]:
        return self.describe(driver, {"tag-key": TAG_KEY})

    def by_key(self, driver: Any, key: str) -> builtins.list[Any]:
        return self.describe(driver, {f"tag:{TAG_KEY}": client_token(key)}, paged=False)

    def raw_state(self, node: Any) -> str:
        return str(node.extra.get("status") or node.state)

    def zone(self, node: Any) -> str | None:
        return node.extra.get("availability")

    def key_of(self, node: Any) -> str | None:
        return (node.extra.get("tags") or {}).get(TAG_KEY)

    def flavor_of(self, node: Any) -> str | None:
        return node.extra.get("instance_type")

    def create(self, driver: Any, ctx: CallContext, request: BuildRequest, size: Any, image: Any,
               location: Any, key_name: str | None) -> str:
        token = client_token(request.idempotency_key)
        if is_emulator(driver, "moto"):  # moto ignores ClientToken: look for the tag first
            existing = [n for n in self.by_key(driver, request.idempotency_key) if self.raw_state(n) not in _GONE]
            if existing:
                return str(existing[0].id)
        tags = {TAG_KEY: token, **({TAG_PROJECT: request.project_id} if request.project_id else {})}
        interfaces = [n.backend_id for n in request.networks if n.backend_id]
        if interfaces:
            return self._run_on_interfaces(driver, request, size, image, key_name, token, tags, interfaces)
        kwargs: dict[str, Any] = {"ex_clienttoken": token, "ex_metadata": tags}
        if key_name:
            kwargs["ex_keyname"] = key_name
        if request.user_data:
            kwargs["ex_userdata"] = request.user_data.decode("utf-8", "replace")
        node = driver.create_node(name=request.name, size=size, image=image, location=location, **kwargs)
        return str(node.id)

    @staticmethod
    def _run_on_interfaces(driver: Any, request: BuildRequest, size: Any, image: Any, key_name: str | None,
                           token: str, tags: dict[str, str], interfaces: builtins.list[str]) -> str:
        """``RunInstances`` on the network interfaces the network family made (the ports), device
        0 first: the instance's subnet, zone, addresses and security groups are theirs (libcloud's
        ``create_node`` cannot attach existing interfaces)."""
        params: dict[str, Any] = {"Action": "RunInstances", "ImageId": image.id, "InstanceType": size.id,
                                  "MinCount": "1", "MaxCount": "1", "ClientToken": token,
                                  "TagSpecification.1.ResourceType": "instance"}
        for n, (key, value) in enumerate({"Name": request.name, **tags}.items(), start=1):
            params[f"TagSpecification.1.Tag.{n}.Key"], params[f"TagSpecification.1.Tag.{n}.Value"] = key, value
        for index, interface in enumerate(interfaces):
            params[f"NetworkInterface.{index + 1}.NetworkInterfaceId"] = interface
            params[f"NetworkInterface.{index + 1}.DeviceIndex"] = str(index)
        if key_name:
            params["KeyName"] = key_name
        if request.user_data:
            params["UserData"] = base64.b64encode(request.user_data).decode("ascii")
        answer = driver.connection.request(driver.path, params=params).object
        return str(driver._to_nodes(answer, "instancesSet/item")[0].id)

    def location(self, driver: Any, zone: str) -> Any:
        from libcloud.compute.drivers.ec2 import EC2NodeLocation, ExEC2AvailabilityZone

        return EC2NodeLocation(id=zone, name=zone, country="", driver=driver,
                               availability_zone=ExEC2AvailabilityZone(zone, "available", driver.region_name))

    def key_pair(self, driver: Any, name: str, public_key: str) -> str:
        """The provider's key pair for this public key, imported the first time (named by fingerprint)."""
        from libcloud.compute.drivers.ec2 import NAMESPACE
        from libcloud.compute.types import KeyPairDoesNotExistError
        from libcloud.utils.xml import findall

        remote = f"overcast-{hashlib.md5(public_key.strip().encode(), usedforsecurity=False).hexdigest()}"
        # AWS's documented list form (KeyName.1); libcloud's get_key_pair sends a bare KeyName,
        # which moto reads as no name at all
        try:
            answer = driver.connection.request(driver.path, params={"Action": "DescribeKeyPairs",
                                                                    "KeyName.1": remote}).object
            exists = bool(findall(element=answer, xpath="keySet/item", namespace=NAMESPACE))
        except KeyPairDoesNotExistError:
            exists = False
        if not exists:
            try:
                driver.import_key_pair_from_string(remote, public_key)
            except Exception as exc:  # noqa: BLE001 - imported meanwhile by another worker
                if "Duplicate" not in str(exc):
                    raise
        return remote

    def attached(self, driver: Any, node: Any) -> dict[str, str]:
        """Volume id -> device of the EBS volumes attached to the instance (its root included)."""
        out = {}
        for mapping in node.extra.get("block_device_mapping") or ():
            volume = (mapping.get("ebs") or {}).get("volume_id")
            if volume and mapping.get("device_name") and (mapping.get("ebs") or {}).get("status") != "detaching":
                out[str(volume)] = str(mapping["device_name"])
        return out

    @staticmethod
    def device(wanted: str | None, taken: set[str]) -> str:
        """EC2's device names for data volumes (``/dev/sdf``..``/dev/sdp``): the one asked for when
        it is one of those (or ``/dev/xvd*``), else the first free."""
        if wanted and (wanted.startswith("/dev/sd") or wanted.startswith("/dev/xvd")) and wanted not in taken:
            return wanted
        for letter in "fghijklmnop":
            if f"/dev/sd{letter}" not in taken and f"/dev/xvd{letter}" not in taken:
                return f"/dev/sd{letter}"
        raise Conflict("every EC2 data device name (/dev/sdf..sdp) is taken")

    def attach(self, driver: Any, node: Any, volume_id: str, device: str | None) -> VolumeAttachment:
        attached = self.attached(driver, node)
        if volume_id in attached:
            return VolumeAttachment(volume_id=volume_id, device=attached[volume_id])
        chosen = self.device(device, set(attached.values()))
        driver.attach_volume(node, _Ref(volume_id), chosen)
        return VolumeAttachment(volume_id=volume_id, device=chosen)

    def detach(self, driver: Any, node: Any, volume_id: str) -> None:
        if volume_id not in self.attached(driver, node):
            raise NotFound(f"Volume {volume_id} is not attached to server {node.id}")
        driver.connection.request(driver.path, params={"Action": "DetachVolume", "VolumeId": volume_id,
                                                       "InstanceId": str(node.id)})

    def zones(self, driver: Any) -> builtins.list[Zone]:
        zones = []
        for location in driver.list_locations():
            az = getattr(location, "availability_zone", None)
            name = str(getattr(az, "name", None) or location.name)
            zones.append(Zone(name=name, available=getattr(az, "zone_state", "available") == "available"))
        return zones

    def image_formats(self, image: Any) -> tuple[str, str]:
        return "ami", "ami"

    def sizes(self, driver: Any) -> builtins.list[Any]:
        return builtins.list(driver.list_sizes())

    def reboot(self, driver: Any, node: Any, hard: bool) -> None:
        driver.reboot_node(node)

    def fault(self, node: Any) -> str | None:
        return None

    def images(self, driver: Any) -> builtins.list[Any]:
        filters = {"name": self.settings.image_name} if self.settings.image_name else None
        owners = self.settings.image_owners or ("self",)
        seen: dict[str, Any] = {}
        for owner in owners:
            for image in driver.list_images(ex_owner=owner, ex_filters=filters):
                seen.setdefault(image.id, image)
        return list(seen.values())


#: Nova's statuses (lower case) -> (state, power state); DELETED/SOFT_DELETED are gone
_NOVA_STATES: dict[str, tuple[ServerState, PowerState]] = {
    "active": (ServerState.ACTIVE, PowerState.RUNNING),
    "build": (ServerState.BUILDING, PowerState.NOSTATE),
    "rebuild": (ServerState.BUILDING, PowerState.NOSTATE),
    "shutoff": (ServerState.STOPPED, PowerState.SHUTDOWN),
    "reboot": (ServerState.ACTIVE, PowerState.RUNNING),
    "hard_reboot": (ServerState.ACTIVE, PowerState.RUNNING),
    "password": (ServerState.ACTIVE, PowerState.RUNNING),
    "migrating": (ServerState.ACTIVE, PowerState.RUNNING),
    "resize": (ServerState.ACTIVE, PowerState.RUNNING),
    "verify_resize": (ServerState.RESIZED, PowerState.RUNNING),
    "revert_resize": (ServerState.RESIZED, PowerState.RUNNING),
    "rescue": (ServerState.RESCUED, PowerState.RUNNING),
    "paused": (ServerState.PAUSED, PowerState.PAUSED),
    "suspended": (ServerState.SUSPENDED, PowerState.SUSPENDED),
    "shelved": (ServerState.SHELVED, PowerState.SHUTDOWN),
    "shelved_offloaded": (ServerState.SHELVED, PowerState.SHUTDOWN),
    "error": (ServerState.ERROR, PowerState.NOSTATE),
}
#: the Nova microversions the dialect asks for: tag filters (2.26), tags at create (2.52)
_TAG_FILTER_VERSION = "2.26"
_TAG_CREATE_VERSION = "2.52"
#: how many single GETs ``get_many`` makes before it lists the region's servers instead
_FEW = 8


def _nova(version: str) -> dict[str, str]:
    return {"X-OpenStack-Nova-API-Version": version, "OpenStack-API-Version": f"compute {version}"}


class OpenStackDialect:
    """OpenStack through libcloud's OpenStack driver (its own HTTP code, Keystone v3 token, the
    catalog's compute endpoint). Builds carry the tags the passthrough driver uses (``overcast``,
    ``overcast-key:KEY``, ``overcast-project:ID``; decision 0041) and the metadata key
    ``overcast:key``; ``find`` is one list filtered by the key's tag; lists follow every page
    (``servers_links``). Nova has no client token: a build that may have run before looks first."""

    states = _NOVA_STATES

    def __init__(self, settings: LibcloudSettings) -> None:
        self.settings = settings

    # -- reading ------------------------------------------------------------------------------
    def _nodes(self, driver: Any, objects: Iterable[dict[str, Any]]) -> builtins.list[Any]:
        nodes = []
        for obj in objects:
            node = driver._to_node(obj)
            node.extra["status"] = str(obj.get("status") or "")
            node.extra["tags"] = builtins.list(obj.get("tags") or ())
            nodes.append(node)
        return nodes

    def describe(self, driver: Any, params: dict[str, Any], *, paged: bool = True) -> builtins.list[Any]:
        """``GET /servers/detail`` with ``params``, every page (the ``next`` link's marker)."""
        return self._nodes(driver, every_page(
            lambda page: driver.connection.request("/servers/detail", params=page,
                                                   headers=_nova(_TAG_FILTER_VERSION)).object,
            "servers", params, self.settings.page_size if paged else None))

    def one(self, driver: Any, backend_id: str) -> Any:
        """:raises NotFound: (libcloud's 404)"""
        answer = driver.connection.request(f"/servers/{quote(backend_id, safe='')}",
                                           headers=_nova(_TAG_FILTER_VERSION)).object
        return self._nodes(driver, [answer["server"]])[0]

    def by_ids(self, driver: Any, ids: builtins.list[str]) -> builtins.list[Any]:
        if len(ids) > _FEW:
            wanted = set(ids)
            return [n for n in self.mine(driver) if str(n.id) in wanted]
        found = []
        for backend_id in ids:
            try:
                with translated("get", self.settings.secrets()):
                    found.append(self.one(driver, backend_id))
            except NotFound:
                continue
        return found

    def mine(self, driver: Any) -> builtins.list[Any]:
        return self.describe(driver, {"tags": PREFIX})

    def by_key(self, driver: Any, key: str) -> builtins.list[Any]:
        return self.describe(driver, {"tags": key_tag(key)}, paged=False)

    def raw_state(self, node: Any) -> str:
        return str(node.extra.get("status") or node.state).lower()

    def zone(self, node: Any) -> str | None:
        return node.extra.get("availability_zone")

    def key_of(self, node: Any) -> str | None:
        return tag_value(node.extra.get("tags"), KEY_TAG) or (node.extra.get("metadata") or {}).get(TAG_KEY)

    def flavor_of(self, node: Any) -> str | None:
        return node.extra.get("flavorId")

    def fault(self, node: Any) -> str | None:
        fault = node.extra.get("fault")
        return str(fault.get("message") or "") or None if isinstance(fault, dict) else None

    # -- building -----------------------------------------------------------------------------
    def create(self, driver: Any, ctx: CallContext, request: BuildRequest, size: Any, image: Any,
               location: Any, key_name: str | None) -> str:
        if not request.first_attempt:
            existing = [n for n in self.by_key(driver, request.idempotency_key) if self.raw_state(n) not in _GONE]
            if existing:
                return str(existing[0].id)
        ports = [{"port": n.backend_id} for n in request.networks if n.backend_id]
        server: dict[str, Any] = {
            "name": request.name, "imageRef": image.id, "flavorRef": size.id, "networks": ports or "none",
            "tags": [PREFIX, project_tag(request.project_id), key_tag(request.idempotency_key)],
            "metadata": {**dict(request.metadata), TAG_KEY: request.idempotency_key,
                         **({TAG_PROJECT: request.project_id} if request.project_id else {})},
        }
        if key_name:
            server["key_name"] = key_name
        if request.user_data:
            server["user_data"] = base64.b64encode(request.user_data).decode("ascii")
        if location:
            server["availability_zone"] = location
        if request.admin_password:
            server["adminPass"] = request.admin_password
        answer = driver.connection.request("/servers", method="POST", data={"server": server},
                                           headers=_nova(_TAG_CREATE_VERSION)).object
        return str(answer["server"]["id"])

    def location(self, driver: Any, zone: str) -> Any:
        return zone

    def key_pair(self, driver: Any, name: str, public_key: str) -> str:
        """The provider's key pair for this public key, imported the first time (named by fingerprint)."""
        from libcloud.common.exceptions import BaseHTTPError
        from libcloud.compute.types import KeyPairDoesNotExistError

        remote = f"overcast-{hashlib.md5(public_key.strip().encode(), usedforsecurity=False).hexdigest()}"
        try:
            driver.get_key_pair(remote)
            return remote
        except KeyPairDoesNotExistError:
            pass
        except BaseHTTPError as exc:
            if int(getattr(exc, "code", 0) or 0) != 404:
                raise
        try:
            driver.import_key_pair_from_string(remote, public_key)
        except BaseHTTPError as exc:  # imported meanwhile by another worker
            if int(getattr(exc, "code", 0) or 0) != 409:
                raise
        return remote

    # -- volumes --------------------------------------------------------------------------------
    def attached(self, driver: Any, node: Any) -> dict[str, str]:
        answer = driver.connection.request(f"/servers/{node.id}/os-volume_attachments").object
        return {str(a["volumeId"]): str(a.get("device") or "") for a in answer.get("volumeAttachments") or ()}

    def attach(self, driver: Any, node: Any, volume_id: str, device: str | None) -> VolumeAttachment:
        attached = self.attached(driver, node)
        if volume_id in attached:
            return VolumeAttachment(volume_id=volume_id, device=attached[volume_id])
        body: dict[str, Any] = {"volumeId": volume_id}
        if device:
            body["device"] = device
        answer = driver.connection.request(f"/servers/{node.id}/os-volume_attachments", method="POST",
                                           data={"volumeAttachment": body}).object
        return VolumeAttachment(volume_id=volume_id,
                                device=str((answer.get("volumeAttachment") or {}).get("device") or device or ""))

    def detach(self, driver: Any, node: Any, volume_id: str) -> None:
        """Nova detaches asynchronously, and refuses (400) while the attach is still under way: retry
        that refusal, then wait for the attachment to go (both bounded by the call's timeout), so the
        contract's detach returns with the volume detached.

        :raises NotFound: the volume is not attached to the server"""
        from libcloud.common.exceptions import BaseHTTPError

        if volume_id not in self.attached(driver, node):
            raise NotFound(f"Volume {volume_id} is not attached to server {node.id}")
        deadline = time.monotonic() + self.settings.timeout
        while True:
            try:
                driver.connection.request(f"/servers/{node.id}/os-volume_attachments/{quote(volume_id, safe='')}",
                                          method="DELETE")
                break
            except BaseHTTPError as exc:
                if int(getattr(exc, "code", 0) or 0) != 400 or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        while volume_id in self.attached(driver, node):
            if time.monotonic() > deadline:
                raise Unavailable(f"The provider is still detaching volume {volume_id}", retry_after=5)
            time.sleep(0.1)

    # -- what the provider offers ---------------------------------------------------------------
    def zones(self, driver: Any) -> builtins.list[Zone]:
        answer = driver.connection.request("/os-availability-zone").object
        return [Zone(name=str(z["zoneName"]), available=bool((z.get("zoneState") or {}).get("available", True)))
                for z in answer.get("availabilityZoneInfo") or ()]

    def image_formats(self, image: Any) -> tuple[str, str]:
        return str(image.extra.get("disk_format") or "raw"), str(image.extra.get("container_format") or "bare")

    def images(self, driver: Any) -> builtins.list[Any]:
        """Glance's active images, every page (libcloud follows ``next``), filtered by ``images.name``
        (a glob) and ``images.owners`` (project ids); read raw, as libcloud's image keeps neither the
        owner nor the formats."""
        out = []
        for raw in driver._paginated_request_next(path="/v2/images", request_method=driver.image_connection.request,
                                                  response_key="images"):
            if raw.get("status") != "active":
                continue
            if self.settings.image_name and not fnmatch.fnmatchcase(str(raw.get("name") or ""),
                                                                     self.settings.image_name):
                continue
            if self.settings.image_owners and raw.get("owner") not in self.settings.image_owners:
                continue
            image = driver._to_image(raw)
            image.extra.update({k: raw.get(k) for k in ("owner", "disk_format", "container_format")})
            out.append(image)
        return out

    def sizes(self, driver: Any) -> builtins.list[Any]:
        """Every flavour (libcloud's ``list_sizes`` reads one page)."""
        return driver._to_sizes(driver._paginated_request("/flavors/detail", "flavors", driver.connection,
                                                          params={"limit": str(self.settings.page_size)}))

    def reboot(self, driver: Any, node: Any, hard: bool) -> None:
        driver.connection.request(f"/servers/{node.id}/action", method="POST",
                                  data={"reboot": {"type": "HARD" if hard else "SOFT"}})


class LibcloudComputeDriver(ComputeDriver):
    """Servers on any libcloud compute provider (EC2 and OpenStack dialects)."""

    capabilities = frozenset({Capability.REBOOT, Capability.START_STOP, Capability.CONSOLE_OUTPUT,
                              Capability.VOLUME_ATTACH})
    #: a provider boots only its own machine images, never from a volume Overcast made
    boots_overcast_images = False
    boots_from_volume = False

    def __init__(self, settings: LibcloudSettings) -> None:
        self.settings = settings
        self._pool = self.pool = DriverPool(settings)
        self._dialect: Ec2Dialect | OpenStackDialect = (OpenStackDialect(settings) if settings.provider == "openstack"
                                                         else Ec2Dialect(settings))
        self._lock = threading.Lock()
        #: the zones the provider last listed (validate_zone answers from them, never asking)
        self._zones: frozenset[str] | None = None
        #: the sizes last listed (validate_flavor answers from them)
        self._sizes: frozenset[str] | None = None

    # -- helpers ----------------------------------------------------------------------------
    def _call(self, what: str) -> Any:
        return translated(what, self.settings.secrets())

    def _info(self, node: Any) -> ServerInfo:
        raw = self._dialect.raw_state(node)
        state, power = self._dialect.states.get(raw, (ServerState.BUILDING, PowerState.NOSTATE))
        if raw in _GONE:
            state, power = ServerState.DELETED, PowerState.NOSTATE
        extra = {"provider": self.settings.provider, "provider_state": raw,
                 "public_ips": list(node.public_ips or ()), "private_ips": list(node.private_ips or ())}
        for key in ("image_id", "instance_type", "key_name", "vpc_id", "subnet_id", "launch_time", "imageId",
                    "flavorId", "created"):
            if node.extra.get(key) is not None:
                extra[key] = str(node.extra[key])
        return ServerInfo(backend_id=str(node.id), name=str(node.name), state=state, power_state=power,
                          host=None, availability_zone=self._dialect.zone(node),
                          idempotency_key=self._dialect.key_of(node), fault=self._dialect.fault(node),
                          progress=100 if state is ServerState.ACTIVE else 0,
                          flavor_id=self._dialect.flavor_of(node), extra=extra)

    def _node(self, backend_id: str) -> Any:
        """The live node (not terminated). :raises NotFound:"""
        found = [n for n in self._dialect.by_ids(self._pool.get(), [backend_id])
                 if self._dialect.raw_state(n) not in _GONE]
        if not found:
            raise NotFound(f"No server {backend_id}")
        return found[0]

    # -- lifecycle ----------------------------------------------------------------------------
    def build(self, ctx: CallContext, request: BuildRequest) -> str:
        from libcloud.compute.base import NodeImage, NodeSize

        if request.image is None or not request.image.backend_id:
            raise InvalidRequest("this region boots only images its provider holds (and not from volumes)")
        driver = self._pool.get()
        flavor = request.flavor
        size = NodeSize(id=flavor.id, name=flavor.name, ram=flavor.ram_mb, disk=flavor.disk_gb, bandwidth=None,
                        price=0.0, driver=driver)
        image = NodeImage(id=request.image.backend_id, name=request.image.name, driver=driver)
        with self._call("build"):
            location = (self._dialect.location(driver, request.availability_zone)
                        if request.availability_zone else None)
            key_name = (self._dialect.key_pair(driver, request.key_pair.name, request.key_pair.public_key)
                        if request.key_pair else None)
            return self._dialect.create(driver, ctx, request, size, image, location, key_name)

    def delete(self, ctx: CallContext, backend_id: str) -> None:
        try:
            with self._call("delete"):
                self._pool.get().destroy_node(_Ref(backend_id))
        except NotFound:
            return

    def get(self, ctx: CallContext, backend_id: str) -> ServerInfo:
        with self._call("get"):
            return self._info(self._node(backend_id))

    def get_many(self, ctx: CallContext, backend_ids: Iterable[str]) -> dict[str, ServerInfo]:
        ids = list(dict.fromkeys(backend_ids))
        if not ids:
            return {}
        with self._call("get_many"):
            nodes = self._dialect.by_ids(self._pool.get(), ids)
        return {str(n.id): self._info(n) for n in nodes if self._dialect.raw_state(n) not in _GONE}

    def list(self, ctx: CallContext) -> builtins.list[ServerInfo]:
        with self._call("list"):
            nodes = self._dialect.mine(self._pool.get())
        return [self._info(n) for n in nodes if self._dialect.raw_state(n) not in _GONE]

    def find(self, ctx: CallContext, idempotency_key: str) -> ServerInfo | None:
        with self._call("find"):
            nodes = [n for n in self._dialect.by_key(self._pool.get(), idempotency_key)
                     if self._dialect.raw_state(n) not in _GONE]
        return self._info(nodes[0]) if nodes else None

    # -- what the provider offers -------------------------------------------------------------
    def flavors(self, ctx: CallContext) -> builtins.list[Flavor]:
        with self._call("flavors"):
            sizes = self._dialect.sizes(self._pool.get())
        wanted = self.settings.sizes
        out = []
        for size in sizes:
            if wanted and not any(fnmatch.fnmatchcase(str(size.id), pattern) for pattern in wanted):
                continue
            vcpus = int(size.extra.get("vcpu") or size.extra.get("cpu") or getattr(size, "vcpus", None) or 1)
            out.append(Flavor(id=str(size.id), name=str(size.name or size.id), vcpus=vcpus, ram_mb=int(size.ram or 0),
                              disk_gb=int(size.disk or 0),
                              extra={"price": size.price, "bandwidth": size.bandwidth}))
        with self._lock:
            self._sizes = frozenset(f.id for f in out)
        return out

    def images(self, ctx: CallContext) -> builtins.list[Image]:
        with self._call("images"):
            images = self._dialect.images(self._pool.get())
        return [Image(id=str(i.id), name=str(i.name or i.id), backend_id=str(i.id),
                      disk_format=self._dialect.image_formats(i)[0], container_format=self._dialect.image_formats(i)[1],
                      extra={k: str(v) for k, v in (i.extra or {}).items()
                             if k in ("architecture", "owner_id", "platform", "root_device_type",
                                      "virtualization_type", "state") and v is not None})
                for i in images]

    def zones(self, ctx: CallContext) -> builtins.list[Zone]:
        with self._call("zones"):
            zones = self._dialect.zones(self._pool.get())
        with self._lock:
            self._zones = frozenset(z.name for z in zones)
        return zones or [Zone("nova")]

    def validate_zone(self, ctx: CallContext, zone: str) -> None:
        with self._lock:
            known = self._zones
        if known is not None and zone not in known:
            raise InvalidRequest(f"The requested availability zone is not available: {zone}")

    def validate_flavor(self, ctx: CallContext, flavor: Flavor) -> None:
        with self._lock:
            known = self._sizes
        if known is not None and flavor.id not in known:
            raise InvalidRequest(f"the provider has no size {flavor.id!r}")

    # -- actions -------------------------------------------------------------------------------
    def reboot(self, ctx: CallContext, backend_id: str, hard: bool = False) -> None:
        with self._call("reboot"):
            self._dialect.reboot(self._pool.get(), self._node(backend_id), hard)

    def start(self, ctx: CallContext, backend_id: str) -> None:
        with self._call("start"):
            self._pool.get().start_node(self._node(backend_id))

    def stop(self, ctx: CallContext, backend_id: str) -> None:
        with self._call("stop"):
            self._pool.get().stop_node(self._node(backend_id))

    def attach_volume(self, ctx: CallContext, backend_id: str, volume_id: str,
                      device: str | None = None) -> VolumeAttachment:
        with self._call("attach_volume"):
            return self._dialect.attach(self._pool.get(), self._node(backend_id), volume_id, device)

    def detach_volume(self, ctx: CallContext, backend_id: str, volume_id: str) -> None:
        with self._call("detach_volume"):
            self._dialect.detach(self._pool.get(), self._node(backend_id), volume_id)

    def console_output(self, ctx: CallContext, backend_id: str, length: int | None = None) -> str:
        with self._call("console_output"):
            output = self._pool.get().ex_get_console_output(self._node(backend_id))
        text = str((output or {}).get("output") or "")
        if length is not None:
            text = "\n".join(text.splitlines()[-length:]) if length > 0 else ""
        return text
