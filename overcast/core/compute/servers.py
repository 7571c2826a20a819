"""Servers: create, list, show, update and delete, with Nova's rules and messages.

The API hands in validated bodies (JSON Schema did the shapes); this module checks what a schema
cannot (flavor, image, key pair, zone, quota, group), records the servers and enqueues their
``server.build`` operations in the same transaction, so a server is never recorded without the
work that builds it.
"""

from __future__ import annotations

import base64
import collections
import datetime as dt
import enum
import functools
import ipaddress
import json
import re
import secrets
import string
import uuid
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Mapping

from sqlalchemy import Text, and_, bindparam, cast, not_, or_, select
from sqlalchemy.orm import Session

from overcast.core import inventory
from overcast.core.compute import block_devices, networking, quotas, server_groups, states
from overcast.core.compute import zones as zone_rules
from overcast.core.context import AuthContext
from overcast.core.errors import Conflict, Forbidden, Invalid, NotFound
from overcast.core.network import NetworkCore
from overcast.ops.engine import enqueue
from overcast.store.compute import BlockDeviceMapping, Flavor, KeyPair, Server, ServerMetadata, ServerTag
from overcast.drivers import compute as dc
from overcast.drivers.context import CallContext
from overcast.drivers.errors import InvalidRequest as DriverInvalidRequest
from overcast.drivers.headroom import Headroom
from overcast.store.image import Image, ImageLocation
from overcast.store.models import utcnow
from overcast.store.network import DefaultSecurityGroup

BUILD = "server.build"
DELETE = "server.delete"
ACTION = "server.action"

MAX_USER_DATA = 65535
MAX_METADATA_KEY = 255
MAX_TAGS = 50
_PASSWORD_CHARS = string.ascii_letters + string.digits


def generate_password(length: int = 12) -> str:
    """An admin password as Nova generates them (letters and digits)."""
    return "".join(secrets.choice(_PASSWORD_CHARS) for _ in range(length))


def not_found(server_id: str) -> NotFound:
    return NotFound(f"Instance {server_id} could not be found.")


def canonical_ipv6(value: str | None) -> str:
    """accessIPv6 as Nova keeps it, in RFC 5952 form ("" for none). :raises Invalid: not an IPv6 address."""
    if not value:
        return ""
    try:
        return str(ipaddress.IPv6Address(value))
    except ValueError:
        raise Invalid(f"Invalid input for field/attribute accessIPv6. Value: {value}. "
                      f"'{value}' is not a 'ipv6'") from None


def ref_id(ref: str) -> str:
    """A flavorRef/imageRef: an id, or a URL ending in the id."""
    ref = str(ref).strip()
    return ref.rstrip("/").rsplit("/", 1)[-1] if "/" in ref else ref


def flavor_record(flavor: Flavor) -> dict[str, Any]:
    """The flavor as it is embedded in the server (what 2.47 shows)."""
    return {"id": flavor.id, "name": flavor.name, "vcpus": flavor.vcpus, "ram": flavor.ram,
            "disk": flavor.disk, "ephemeral": flavor.ephemeral or 0, "swap": flavor.swap or 0,
            "extra_specs": {s.key: s.value for s in flavor.extra_specs}}


def host_id(project_id: str, host: str | None) -> str:
    """Nova's hostId: sha224 of project id and host; empty without a host."""
    import hashlib

    if not host:
        return ""
    return hashlib.sha224((project_id + host).encode()).hexdigest()


# -- lookups ---------------------------------------------------------------------------------------


def get_server(session: Session, ctx: AuthContext, server_id: str, *, region: str,
               for_update: bool = False) -> Server:
    """A live server of ``region`` the caller may see (its project's, or any for an admin).

    :raises NotFound: unknown, deleted, another region's or another project's server.
    """
    query = select(Server).where(Server.id == server_id, Server.cloud == region, Server.deleted.is_(False))
    if for_update:
        query = query.with_for_update()
    server = session.scalars(query).first()
    if server is None or (not ctx.is_admin and server.project_id != ctx.project_id):
        raise not_found(server_id)
    return server


def find_flavor(session: Session, ref: str, ctx: AuthContext | None = None) -> Flavor:
    """:raises Invalid: unknown flavor (400 on create and resize, as Nova answers)."""
    flavor_id = ref_id(ref)
    flavor = session.get(Flavor, flavor_id)
    if flavor is None or flavor.disabled:
        raise Invalid(f"Flavor {flavor_id} could not be found.")
    if not flavor.is_public and ctx is not None and not ctx.is_admin:
        if ctx.project_id not in {p.project_id for p in flavor.projects}:
            raise Invalid(f"Flavor {flavor_id} could not be found.")
    return flavor


def find_image(session: Session, ref: str, ctx: AuthContext, *, region: str) -> Image:
    """An active image of ``region`` the caller may use.

    :raises Invalid: unknown, another region's backend's, or not active.
    """
    image_id = ref_id(ref)
    try:
        uuid.UUID(image_id)
    except ValueError:
        raise Invalid("Invalid imageRef provided.") from None
    image = session.get(Image, image_id)
    visible = image is not None and image.cloud in (None, region) and (
        ctx.is_admin or image.visibility in ("public", "community") or image.owner == ctx.project_id
        or image.visibility == "shared")
    if not visible:
        raise Invalid(f"Image {image_id} could not be found.")
    if image.status != "active":
        raise Invalid(f"Image {image_id} is not active.")
    return image


def driver_flavor(flavor: Flavor) -> dc.Flavor:
    """A flavor record as drivers take it."""
    return dc.Flavor(id=str(flavor.id), name=flavor.name, vcpus=flavor.vcpus, ram_mb=flavor.ram, disk_gb=flavor.disk,
                     ephemeral_gb=flavor.ephemeral or 0, swap_mb=flavor.swap or 0,
                     extra_specs={s.key: s.value for s in flavor.extra_specs})


def check_flavor_usable(session: Session, ctx: AuthContext, flavor: Flavor, *, region: str,
                        driver: dc.ComputeDriver) -> None:
    """The region's backend can run ``flavor``: one of its own flavors when it lists any (the
    inventory), and one its driver accepts (:meth:`~overcast.drivers.compute.ComputeDriver.validate_flavor`,
    which answers without reaching the backend). Checked when the API takes the request, so a
    flavor the region cannot run is Nova's 400, not a build that fails later.

    :raises Invalid:
    """
    offered = inventory.backend_flavors(session, region)
    if offered and str(flavor.id) not in {f.id for f in offered}:
        raise Invalid(f"Flavor {flavor.id} could not be found.")
    try:
        driver.validate_flavor(CallContext(project_id=ctx.project_id, user_id=ctx.user_id), driver_flavor(flavor))
    except DriverInvalidRequest as exc:
        raise Invalid(f"Flavor {flavor.id} cannot be used in region {region}: {exc}") from None


def check_image_usable(session: Session, image: Image, *, region: str, driver: dc.ComputeDriver) -> None:
    """The region's backend can boot ``image``: it holds it (a location there), or it can take an
    image from Overcast's store. :raises Invalid: Nova's ImageUnacceptable (400)."""
    if driver.boots_overcast_images or session.get(ImageLocation, (image.id, region)) is not None:
        return
    raise Invalid(f"Image {image.id} is unacceptable: the backend of region {region} does not hold it.")


class DiskConfig(str, enum.Enum):
    """How the backend lays out the root disk (Nova's auto_disk_config): AUTO grows the root
    partition to the flavor's disk, MANUAL leaves the image's partitions as they are."""

    AUTO = "AUTO"
    MANUAL = "MANUAL"


def image_disk_config(image: Image | None) -> DiskConfig | None:
    """What an image's ``auto_disk_config`` property asks (None: the property is not set): a
    true value (oslo's bool_from_string) is AUTO; anything else, ``disabled`` too, MANUAL."""
    value = (image.properties or {}).get("auto_disk_config") if image is not None else None
    if value is None:
        return None
    return DiskConfig.AUTO if str(value).strip().lower() in _TRUE_STRINGS else DiskConfig.MANUAL


def auto_disk_config(image: Image | None, requested: DiskConfig | None) -> bool | None:
    """Nova's rule for a server's disk config against its image: an image whose
    ``auto_disk_config`` property is ``disabled`` refuses AUTO; without a request the image's
    property decides (MANUAL when it has none) when there is an image, and None (keep what the
    server has) when there is none.

    :raises Invalid: AUTO asked of an image that disables it (Nova's AutoDiskConfigDisabledByImage).
    """
    prop = (image.properties or {}).get("auto_disk_config") if image is not None else None
    if requested is DiskConfig.AUTO and prop is not None and str(prop).strip().lower() == "disabled":
        raise Invalid(f"Requested image {image.id} has automatic disk resize disabled.")
    if requested is not None:
        return requested is DiskConfig.AUTO
    if image is None:
        return None
    return image_disk_config(image) is DiskConfig.AUTO


#: oslo's bool_from_string, as Nova reads the image property
_TRUE_STRINGS = frozenset({"1", "t", "true", "on", "y", "yes"})


def _check_image_fits(image: Image, flavor: Flavor, *, volume_root: bool = False) -> None:
    """:raises Invalid: the flavor's memory (or, for a local root disk, its disk) is too small."""
    if image.min_ram and flavor.ram < image.min_ram:
        raise Invalid("Flavor's memory is too small for requested image.")
    if not volume_root and image.min_disk and flavor.disk and flavor.disk < image.min_disk:
        raise Invalid("Flavor's disk is too small for requested image.")


def _quota(session: Session, ctx: AuthContext, project_id: str, deltas: dict[str, int], *, region: str) -> None:
    quotas.reserve(session, project_id, ctx.user_id, deltas, region=region)


def check_metadata(metadata: Mapping[str, str]) -> None:
    """Keys and values of server metadata (the schema bounds lengths; Nova's messages here)."""
    for key, value in metadata.items():
        if not key:
            raise Invalid("Metadata property key blank.")
        if len(key) > MAX_METADATA_KEY:
            raise Invalid("Metadata property key greater than 255 characters.")
        if value is not None and len(str(value)) > 255:
            raise Invalid("Metadata property value greater than 255 characters.")


def check_metadata_quota(session: Session, ctx: AuthContext, project_id: str, count: int, *, region: str) -> None:
    """Nova counts metadata items per server against ``metadata_items``."""
    _quota(session, ctx, project_id, {"metadata_items": count}, region=region)


# -- create --------------------------------------------------------------------------------------


@dataclass
class Created:
    servers: list[Server]
    admin_password: str
    reservation_id: str
    #: the quota deltas the servers take (instances, cores, ram)
    counted: dict[str, int] = field(default_factory=dict)
    #: what the builds take of the region's network backend headroom (ports, a default group)
    network_counted: dict[str, int] = field(default_factory=dict)


@dataclass
class BuildSpec:
    """A create request after the API's schema: Nova's field names, already typed."""

    name: str
    flavor_ref: str
    image_ref: str | None = None
    block_device_mapping_v2: list[dict[str, Any]] = field(default_factory=list)
    networks: Any = None   # "auto", "none", a list of {uuid|port|fixed_ip}, or None
    key_name: str | None = None
    security_groups: list[str] = field(default_factory=list)
    user_data: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    config_drive: bool = False
    availability_zone: str | None = None
    min_count: int = 1
    max_count: int = 1
    group: str | None = None
    tags: list[str] = field(default_factory=list)
    description: str | None = None
    hostname: str | None = None
    admin_password: str | None = None
    access_ipv4: str = ""
    access_ipv6: str = ""
    #: None: the image's ``auto_disk_config`` property decides (MANUAL without one)
    disk_config: DiskConfig | None = None
    #: every scheduler hint as given (``group`` is acted on; all are kept for the 2.100 view)
    scheduler_hints: dict[str, Any] = field(default_factory=dict)


#: the image attributes Nova copies into a server's system metadata beside the image's own properties
_INHERITED = ("min_ram", "min_disk", "disk_format", "container_format")


def image_properties(image: Image | None) -> dict[str, str] | None:
    """What Nova keeps of an image at boot and rebuild (its ``image_<key>`` system metadata,
    ``utils.get_system_metadata_from_image``): every property and the inherited attributes, each a
    string cut to 255 characters (a None stays None); None without an image (booted from a volume)."""
    if image is None:
        return None
    out: dict[str, str] = {}
    for key, value in {**(image.properties or {}), **{k: getattr(image, k, None) for k in _INHERITED}}.items():
        if key in ("mappings", "block_device_mapping") or key.startswith("img_signature"):
            continue
        out[key] = None if value is None else str(value)[:255]
    return out


def _user_data(text: str | None) -> str | None:
    if text is None:
        return None
    try:
        raw = base64.b64decode(text, validate=True)
    except (ValueError, TypeError):
        raise Invalid("User data needs to be valid base 64.") from None
    if len(raw) > MAX_USER_DATA:
        raise Invalid(f"User data too large. User data must be no larger than {MAX_USER_DATA} bytes once "
                      "base64 encoded.")
    return text


def _hostname(name: str) -> str:
    """Nova's sanitize_hostname: lowercase, spaces and underscores to dashes, at most 63 chars."""
    text = name.lower().replace(" ", "-").replace("_", "-")
    text = re.sub(r"[^\w.-]+", "", text, flags=re.ASCII).strip(".-")[:63].rstrip(".-")
    return text or "server"


def create(session: Session, ctx: AuthContext, spec: BuildSpec, *, network: NetworkCore, region: str,
           driver: dc.ComputeDriver, request_id: str | None, headroom: Headroom | None = None) -> Created:
    """Record ``min_count``..``max_count`` servers and enqueue their builds.

    ``headroom``: what the region's backend still allows (:mod:`overcast.core.headroom`); the
    servers must fit it as well as the project's own quotas. ``network``: the network core; when
    it is ``region``'s with the network backend's headroom read (:meth:`NetworkCore.with_headroom`),
    the ports the builds will make (and the project's ``default`` security group, when the region
    has none for it yet) must fit that headroom, as Nova checks Neutron's port quota before it
    answers (decision 0069), and so must the topology ``networks: "auto"`` makes for a project
    that has none (network, subnet, router: Nova's 400 UnableToAutoAllocateNetwork, decision
    0076); ``Created.network_counted`` is what they take of it.

    :raises Invalid: bad flavor, image, key pair, zone, group, user data, counts or block device
        mappings (a volume that cannot be used: see :func:`block_devices.record`).
    :raises Forbidden: over quota (Nova's message).
    """
    if spec.min_count > spec.max_count:
        raise Invalid("min_count must be <= max_count")
    project_id = ctx.project_id
    if not project_id:
        raise Invalid("Servers are created in a project; use a project-scoped token.")
    flavor = find_flavor(session, spec.flavor_ref, ctx)
    check_flavor_usable(session, ctx, flavor, region=region, driver=driver)
    boot = block_devices.parse(spec.image_ref, spec.block_device_mapping_v2)
    if boot.volume_root and not driver.boots_from_volume:
        raise Invalid(f"Block Device Mapping is Invalid: the backend of region {region} cannot boot from a volume.")
    images = {ref: find_image(session, ref, ctx, region=region) for ref in boot.image_refs}
    image = images.get(boot.image_ref or "")
    if image is not None and not boot.volume_root:
        check_image_usable(session, image, region=region, driver=driver)
    if image is not None:
        _check_image_fits(image, flavor, volume_root=boot.volume_root)
    auto_disk = bool(auto_disk_config(image, spec.disk_config))
    local_image = None if boot.volume_root else image  # a volume-backed server shows no image
    key = None
    if spec.key_name is not None:
        key = session.scalars(select(KeyPair).where(KeyPair.user_id == ctx.user_id, KeyPair.cloud == region,
                                                    KeyPair.name == spec.key_name)).first()
        if key is None:
            raise Invalid("Invalid key_name provided.")
    zone = spec.availability_zone
    if zone:
        zone_name = zone.partition(":")[0]
        if ":" in zone and not ctx.is_admin:
            raise Forbidden("Policy doesn't allow os_compute_api:servers:create:forced_host to be performed.")
        if zone_name and zone_name not in {z.name for z in zone_rules.list_zones(session, region=region)}:
            raise Invalid("The requested availability zone is not available")
    user_data = _user_data(spec.user_data)
    check_metadata(spec.metadata)
    if spec.group:
        try:
            uuid.UUID(spec.group)
        except ValueError:
            raise Invalid(f"Invalid input for field/attribute group. Value: {spec.group}. "
                          f"'{spec.group}' is not a 'uuid'") from None
    groups = spec.security_groups or ["default"]
    networking.check_security_groups(network.at(region), session, ctx, project_id, groups)
    network_headroom = network.headroom if network.region == region else None
    # an auto-allocated topology made now is checked against (and counted into) the headroom
    allocating = network if network_headroom is not None else network.at(region)
    nics = networking.requested_nics(session, ctx, spec.networks, project_id=project_id,
                                     max_count=spec.max_count, region=region, network=allocating)
    if zone and zone.partition(":")[0]:
        networking.check_zone(session, nics, zone.partition(":")[0])
    network_needs = _network_needs(session, nics, groups, project_id, region) if network_headroom else {}

    def fit(count: int) -> dict[str, int]:
        deltas = {"instances": count, "cores": count * flavor.vcpus, "ram": count * flavor.ram}
        _quota(session, ctx, project_id, deltas, region=region)
        over = headroom.over(deltas) if headroom is not None else []
        if headroom is not None and over:  # the backend's own quota (Nova's message, the backend's figures)
            raise Forbidden(quotas.exceeded_message(over, deltas, headroom.used, headroom.limits))
        if network_headroom is not None and network_needs:
            _check_network_headroom(network_headroom.plus(allocating.headroom_taken), network_needs, count)
        return deltas

    count = spec.max_count
    try:
        counted = fit(count)
    except Forbidden:  # retry with the minimum, as Nova does, then re-raise
        if spec.min_count == count:
            raise
        count = spec.min_count
        counted = fit(count)
    if spec.metadata:
        _quota(session, ctx, project_id, {"metadata_items": len(spec.metadata)}, region=region)
    password = spec.admin_password or generate_password()
    reservation_id = "r-" + secrets.token_hex(4)
    embedded = flavor_record(flavor)
    now = utcnow()
    servers: list[Server] = []
    for index in range(count):
        name = spec.name if count == 1 else f"{spec.name}-{index + 1}"
        server = Server(
            id=str(uuid.uuid4()), cloud=region, project_id=project_id, user_id=ctx.user_id, name=name,
            hostname=spec.hostname if (spec.hostname and count == 1) else _hostname(name),
            description=spec.description, flavor_id=flavor.id, flavor=embedded,
            image_id=local_image.id if local_image is not None else None, key_name=key.name if key else None,
            key_data=key.public_key if key else None, vm_state=states.BUILDING, task_state=states.SCHEDULING,
            power_state=0, idempotency_key=uuid.uuid4().hex, requested_zone=zone or None,
            availability_zone=zone.partition(":")[0] or None if zone else None,
            config_drive=bool(spec.config_drive), auto_disk_config=auto_disk, user_data=user_data,
            access_ipv4=spec.access_ipv4 or "", access_ipv6=canonical_ipv6(spec.access_ipv6),
            security_groups=[{"name": g} for g in groups],
            requested_networks=nics, addresses={}, block_devices=[dict(b) for b in spec.block_device_mapping_v2],
            reservation_id=reservation_id, launch_index=index, server_group_id=spec.group,
            image_properties=image_properties(local_image), scheduler_hints=dict(spec.scheduler_hints), created_at=now,
            updated_at=now, locked=False, progress=0, deleted=False)
        server.metadata_items = [ServerMetadata(key=k, value=str(v)) for k, v in spec.metadata.items()]
        server.tags = [ServerTag(tag=t) for t in dict.fromkeys(spec.tags)]
        session.add(server)
        session.flush()
        block_devices.record(session, ctx, server, boot, images)
        if spec.group:
            server_groups.add_member(session, spec.group, server.id, project_id, region=region)
        enqueue(session, kind=BUILD, cloud=region, resource_type="server", resource_id=server.id,
                params={"admin_password": password}, action="create", request_id=request_id,
                user_id=ctx.user_id, project_id=project_id, idempotency_key=server.idempotency_key,
                secret_params=("admin_password",))
        servers.append(server)
    network_counted = dict(allocating.headroom_taken) if network_headroom is not None else {}
    for name, taken in _network_taken(network_needs, count).items():
        network_counted[name] = network_counted.get(name, 0) + taken
    return Created(servers, password, reservation_id, counted, network_counted)


def _network_needs(session: Session, nics: list[dict[str, Any]], groups: list[str], project_id: str,
                   region: str) -> dict[str, int]:
    """What one more server's build makes on the region's network backend: a port per NIC that
    names a network (not an existing port), and, once for the whole request, the project's
    ``default`` security group with its four rules when its ports will use it and the region has
    none for the project yet (Neutron's first use)."""
    ports = sum(1 for n in nics if not n.get("port_id"))
    needs = {"port": ports} if ports else {}
    if ports and "default" in groups and session.get(DefaultSecurityGroup, (project_id, region)) is None:
        needs.update(security_group=1, security_group_rule=4)
    return needs


def _network_taken(needs: Mapping[str, int], count: int) -> dict[str, int]:
    """What ``count`` servers take of the network backend: ``needs`` is one server's, but the
    default group (and its rules) is made once for the whole request, so only ports multiply."""
    return {k: v * count if k == "port" else v for k, v in needs.items()}


def _check_network_headroom(headroom: Headroom, needs: Mapping[str, int], count: int) -> None:
    """:raises Forbidden: Nova's ``PortLimitExceeded`` ("Maximum number of ports exceeded"), or its
    ``SecurityGroupLimitExceeded`` for the default group the ports would need."""
    over = headroom.over(_network_taken(needs, count))
    if "port" in over:
        raise Forbidden("Maximum number of ports exceeded", kind="PortLimitExceeded")
    if "security_group" in over:
        raise Forbidden("Quota exceeded, too many security groups.", kind="SecurityGroupLimitExceeded")
    if "security_group_rule" in over:
        raise Forbidden("Quota exceeded, too many security group rules.", kind="SecurityGroupLimitExceeded")


# -- list ----------------------------------------------------------------------------------------


class ListQuery:
    """Nova's list filters, sorting and paging, already parsed by the API."""

    def __init__(self, *, filters: Mapping[str, Any], sort_keys: list[str], sort_dirs: list[str],
                 limit: int | None, marker: str | None, all_tenants: bool = False):
        self.filters = dict(filters)
        self.sort_keys = sort_keys
        self.sort_dirs = sort_dirs
        self.limit = limit
        self.marker = marker
        self.all_tenants = all_tenants


SORT_KEYS = {
    "access_ip_v4": Server.access_ipv4, "access_ip_v6": Server.access_ipv6,
    "availability_zone": Server.availability_zone, "config_drive": Server.config_drive,
    "created_at": Server.created_at, "display_description": Server.description,
    "display_name": Server.name, "host": Server.host, "hostname": Server.hostname,
    "image_ref": Server.image_id, "instance_type_id": Server.flavor_id, "key_name": Server.key_name,
    "launch_index": Server.launch_index, "launched_at": Server.launched_at, "locked": Server.locked,
    "locked_by": Server.locked_by, "power_state": Server.power_state, "progress": Server.progress,
    "project_id": Server.project_id, "terminated_at": Server.terminated_at, "updated_at": Server.updated_at,
    "user_id": Server.user_id, "uuid": Server.id, "vm_state": Server.vm_state, "task_state": Server.task_state,
    "deleted": Server.deleted, "node": Server.host, "kernel_id": Server.id, "ramdisk_id": Server.id,
    "root_device_name": Server.id, "reservation_id": Server.reservation_id,
}


def _regex(pattern: str) -> re.Pattern:
    try:
        return re.compile(pattern)
    except re.error:
        return re.compile(re.escape(pattern))


_S = Server.__table__.c  # table columns: a cached statement's result map then matches them by identity
#: the JSON columns a list row carries as their stored text (hashable: the row is the key of its
#: rendered view, docs/decisions/0061-rendered-views-per-record.md; decoded only to render it)
JSON_TEXT = ("addresses", "security_groups", "fault", "flavor", "image_properties", "scheduler_hints")
_AS_TEXT = {name: cast(_S[name], Text).label(name) for name in JSON_TEXT}  # built once, like the columns
#: what every list row carries (the summary list, ``name`` and ``ip`` filters, paging)
_SUMMARY_COLUMNS = (_S.seq, _S.id, _S.name, _AS_TEXT["addresses"])
#: what a detail list row carries besides: the columns the detail view reads, nothing else (no
#: ``backend_extra``, ``requested_networks``, ``block_devices``... whose JSON a list never shows)
_DETAIL_COLUMNS = tuple(_S[name] for name in (
    "project_id", "user_id", "hostname", "description", "flavor_id", "image_id", "key_name", "vm_state",
    "task_state", "power_state", "host", "availability_zone", "requested_zone", "config_drive", "auto_disk_config",
    "user_data", "access_ipv4", "access_ipv6", "locked", "locked_reason", "progress", "reservation_id",
    "launch_index", "server_group_id", "created_at", "updated_at", "launched_at", "terminated_at")) + (
    _AS_TEXT["security_groups"], _AS_TEXT["fault"], _AS_TEXT["image_properties"], _AS_TEXT["scheduler_hints"],
    # which related rows exist, so that list_related reads only for the servers that have some
    select(ServerMetadata.server_id).where(ServerMetadata.server_id == _S.id).exists().label("has_metadata"),
    select(ServerTag.server_id).where(ServerTag.server_id == _S.id).exists().label("has_tags"),
    select(BlockDeviceMapping.server_id).where(BlockDeviceMapping.server_id == _S.id,
                                               BlockDeviceMapping.volume_id.is_not(None)).exists().label("has_volumes"),
)


@functools.cache
def _record_type(names: tuple[str, ...]) -> Any:
    """The named tuple of a list's rows with these columns (one per column set)."""
    return collections.namedtuple("ListedServer", names)


def _addresses_of(row: Any) -> Any:
    return json.loads(row.addresses) if row.addresses else None


class ServerRows(list):
    """The rows :func:`list_servers` returns, with the ``addresses`` it decoded to filter them
    (server id -> the decoded column), so that a view rendered anew does not decode them again."""

    def __init__(self, rows: Iterable[Any] = (), addresses: dict[str, Any] | None = None) -> None:
        super().__init__(rows)
        self.addresses: dict[str, Any] = addresses or {}


_UNKNOWN = object()


def decoded(row: Any, addresses: Any = _UNKNOWN) -> Any:
    """A :func:`list_servers` row as a named tuple with its JSON columns decoded (what a view
    reads); ``addresses``: the row's addresses already decoded (:attr:`ServerRows.addresses`)."""
    record = _record_type(row._fields)._make(row)
    return record._replace(**{name: None if getattr(row, name) is None
                              else addresses if name == "addresses" and addresses is not _UNKNOWN
                              else json.loads(getattr(row, name))
                              for name in JSON_TEXT if name in row._fields})


#: equality filters (filter name -> column)
_SIMPLE_FILTERS = {"flavor": _S.flavor_id, "image": _S.image_id, "user_id": _S.user_id,
                   "reservation_id": _S.reservation_id, "availability_zone": _S.availability_zone,
                   "host": _S.host, "key_name": _S.key_name}
#: tag filters: (all of them / any of them, negated)
_TAG_FILTERS = {"tags": (False, False), "tags-any": (True, False), "not-tags": (False, True),
                "not-tags-any": (True, True)}


@functools.lru_cache(maxsize=256)
def _list_statement(detail: bool, embedded_flavor: bool, scope: str, deleted: bool | str, status: bool,
                    simple: tuple[str, ...], locked: bool | None, changes: tuple[str, ...],
                    tag_counts: tuple[int, ...], sort: tuple[tuple[str, str], ...], limited: bool) -> Any:
    """The list statement of one shape of request, values as bound parameters (``region``,
    ``project``, ``vm_states``, each simple filter's name, ``changes-since``/``-before``,
    ``<tag filter>-<n>``, ``limit``): built once per shape, so a list does not walk a new statement
    on every request (docs/decisions/0061-rendered-views-per-record.md)."""
    columns = _SUMMARY_COLUMNS + (_DETAIL_COLUMNS if detail else ()) + (
        (_AS_TEXT["flavor"],) if embedded_flavor else ())
    stmt = select(*columns).where(_S.cloud == bindparam("region"))
    if scope == "project":
        stmt = stmt.where(_S.project_id == bindparam("project"))
    if deleted != "any":
        stmt = stmt.where(_S.deleted.is_(deleted))
    if status:
        stmt = stmt.where(_S.vm_state.in_(bindparam("vm_states", expanding=True)))
    for key in simple:
        stmt = stmt.where(_SIMPLE_FILTERS[key] == bindparam(key))
    if locked is not None:
        stmt = stmt.where(_S.locked.is_(locked))
    if "changes-since" in changes:
        stmt = stmt.where(_S.updated_at >= bindparam("changes-since"))
    if "changes-before" in changes:
        stmt = stmt.where(_S.updated_at <= bindparam("changes-before"))
    for (tag_filter, (any_of, negate)), count in zip(_TAG_FILTERS.items(), tag_counts):
        if not count:
            continue
        has = [_S.id.in_(select(ServerTag.server_id).where(ServerTag.tag == bindparam(f"{tag_filter}-{i}")))
               for i in range(count)]
        cond = or_(*has) if any_of else and_(*has)
        stmt = stmt.where(not_(cond) if negate else cond)
    order = [(SORT_KEYS[key].asc() if direction == "asc" else SORT_KEYS[key].desc()) for key, direction in sort]
    last_dir = sort[-1][1] if sort else "desc"
    order.append(_S.seq.asc() if last_dir == "asc" else _S.seq.desc())
    stmt = stmt.order_by(*order)
    return stmt.limit(bindparam("limit")) if limited else stmt


def list_servers(session: Session, ctx: AuthContext, query: ListQuery, *, region: str, detail: bool = True,
                 embedded_flavor: bool = False) -> ServerRows:
    """The servers of ``region`` the caller may see that match; sorted and paged. Without
    ``all_tenants`` that is the caller's project whatever ``project_id`` says (Nova ignores
    ``tenant_id`` then, lp:#1185290).

    Rows, not ORM objects (docs/decisions/0051-computed-list-path.md): each has the attributes of
    :class:`Server` a list shows (``seq``, ``id``, ``name``, ``addresses``; with ``detail`` the
    detail view's columns and ``has_metadata``/``has_tags``/``has_volumes`` for
    :func:`list_related`; with ``embedded_flavor`` too the flavor as it was at boot). The JSON
    columns (:data:`JSON_TEXT`) are their stored text: :func:`decoded` reads them.

    :raises Invalid: unknown marker ("marker [x] not found").
    """
    f = query.filters
    params: dict[str, Any] = {"region": region}
    if not (ctx.is_admin and query.all_tenants):
        scope, params["project"] = "project", ctx.project_id
    elif f.get("project_id"):
        scope, params["project"] = "project", f["project_id"]
    else:
        scope = "all"
    deleted = f.get("deleted")
    if deleted is None:
        deleted_mode = "any" if "changes-since" in f or "changes-before" in f else False
    else:
        deleted_mode = bool(deleted)
    if "status" in f:
        wanted: set[str] = set()
        for status in f["status"]:
            wanted |= states.vm_states_for(status)
        if "DELETED" in {s.upper() for s in f["status"]} and deleted is None:
            deleted_mode = "any"
        if not wanted:
            return ServerRows()
        params["vm_states"] = sorted(wanted)
    simple = []
    for key in _SIMPLE_FILTERS:
        if f.get(key) is not None:
            simple.append(key)
            params[key] = ref_id(f[key]) if key in ("flavor", "image") else f[key]
    locked = None if f.get("locked") is None else bool(f["locked"])
    for key in ("changes-since", "changes-before"):
        if f.get(key) is not None:
            params[key] = f[key]
    tag_counts = []
    for tag_filter in _TAG_FILTERS:
        tags = f.get(tag_filter) or ()
        tag_counts.append(len(tags))
        params.update({f"{tag_filter}-{i}": tag for i, tag in enumerate(tags)})
    in_python = query.marker is not None or any(f.get(k) for k in ("name", "ip", "ip6"))
    limited = query.limit is not None and not in_python  # the first page of a plain listing: only what is shown
    if limited:
        params["limit"] = query.limit
    stmt = _list_statement(detail, embedded_flavor, scope, deleted_mode, "vm_states" in params, tuple(simple),
                           locked, tuple(k for k in ("changes-since", "changes-before") if k in params),
                           tuple(tag_counts), tuple(zip(query.sort_keys, query.sort_dirs)), limited)
    result = session.connection().execute(stmt, params)  # Core: no ORM loading layer for plain columns
    # the Rows as they come (hashable: a rendered view's key); :func:`decoded` makes the named tuple
    # a view reads (its attributes read 10x faster than a Row's) only for a view rendered anew
    rows = result.all()
    if f.get("name"):
        rx = _regex(f["name"])
        rows = [s for s in rows if rx.search(s.name)]
    addresses: dict[str, Any] = {}  # each row's addresses decoded once, for both filters and its view
    for key, ip_version in (("ip", 4), ("ip6", 6)):
        if f.get(key):
            rx = _regex(f[key])
            for s in rows:
                if s.id not in addresses:
                    addresses[s.id] = _addresses_of(s)
            rows = [s for s in rows if any(rx.search(a.get("addr", "")) for addrs in (addresses[s.id] or {}).values()
                                           for a in addrs if a.get("version") == ip_version)]
    if query.marker is not None:
        index = next((i for i, s in enumerate(rows) if s.id == query.marker), None)
        if index is None:
            raise Invalid(f"marker [{query.marker}] not found")
        rows = rows[index + 1:]
    if query.limit is not None:
        rows = rows[: query.limit]
    return ServerRows(rows, addresses)


@dataclass(frozen=True)
class Related:
    """A list's related rows by server id, only for the servers that have any (absent: none)."""

    metadata: dict[str, dict[str, str]]
    tags: dict[str, list[str]]
    #: (volume id, delete_on_termination) in the order the volumes were added
    volumes: dict[str, list[tuple[str, bool]]]


#: server ids per IN (...) of :func:`list_related` (under every database's bound-parameter limit)
_RELATED_CHUNK = 1000
_IDS = bindparam("ids", expanding=True)
#: built once: the statement cache then only expands the id list
_METADATA_OF = (select(ServerMetadata.server_id, ServerMetadata.key, ServerMetadata.value)
                .where(ServerMetadata.server_id.in_(_IDS)).order_by(ServerMetadata.key))
_TAGS_OF = select(ServerTag.server_id, ServerTag.tag).where(ServerTag.server_id.in_(_IDS)).order_by(ServerTag.tag)
_VOLUMES_OF = (select(BlockDeviceMapping.server_id, BlockDeviceMapping.volume_id,
                      BlockDeviceMapping.delete_on_termination)
               .where(BlockDeviceMapping.server_id.in_(_IDS), BlockDeviceMapping.volume_id.is_not(None))
               .order_by(BlockDeviceMapping.seq))


def list_related(session: Session, rows: list[Any]) -> Related:
    """Metadata, tags and volumes of the servers of a detail list (:func:`list_servers` rows):
    one query of the needed columns per kind (per thousand servers), only for the servers that
    have rows of that kind (none at all: no query), instead of an ORM collection loaded for each
    server, mostly empty (docs/decisions/0038-read-path.md, 0051)."""
    related = Related(metadata={}, tags={}, volumes={})
    for server_id, key, value in _rows_of(session, _METADATA_OF, [r.id for r in rows if r.has_metadata]):
        related.metadata.setdefault(server_id, {})[key] = value
    for server_id, tag in _rows_of(session, _TAGS_OF, [r.id for r in rows if r.has_tags]):
        related.tags.setdefault(server_id, []).append(tag)
    for server_id, volume_id, delete_on_termination in _rows_of(session, _VOLUMES_OF,
                                                                [r.id for r in rows if r.has_volumes]):
        related.volumes.setdefault(server_id, []).append((volume_id, bool(delete_on_termination)))
    return related


def _rows_of(session: Session, statement: Any, server_ids: list[str]) -> Iterator[Any]:
    """``statement``'s rows for ``server_ids``, a thousand ids per execution (none: no query)."""
    for start in range(0, len(server_ids), _RELATED_CHUNK):
        yield from session.connection().execute(statement, {"ids": server_ids[start:start + _RELATED_CHUNK]}).all()


# -- update and delete ------------------------------------------------------------------------


def check_lock(server: Server, ctx: AuthContext) -> None:
    """A locked server refuses non-admins (409, Nova's message)."""
    if server.locked and not ctx.is_admin:
        raise Conflict(f"Instance {server.id} is locked")


def update(session: Session, ctx: AuthContext, server: Server, changes: Mapping[str, Any], *,
           disk_config: DiskConfig | None = None) -> Server:
    """name, description (2.19), hostname (2.90), accessIPv4/6; ``disk_config`` (None: unchanged;
    Nova does not check it against the image here)."""
    if disk_config is not None:
        server.auto_disk_config = disk_config is DiskConfig.AUTO
    if "name" in changes:
        server.name = changes["name"]
    if "description" in changes:
        server.description = changes["description"]
    if "hostname" in changes:
        server.hostname = changes["hostname"]
    if "accessIPv4" in changes:
        server.access_ipv4 = changes["accessIPv4"] or ""
    if "accessIPv6" in changes:
        server.access_ipv6 = canonical_ipv6(changes["accessIPv6"])
    server.updated_at = utcnow()
    return server


def delete(session: Session, ctx: AuthContext, server: Server, *, request_id: str | None,
           force: bool = False) -> None:
    """Mark the server deleting and enqueue its ``server.delete`` (a second delete is a no-op).

    :raises Conflict: locked (non-admin).
    """
    check_lock(server, ctx)
    if server.task_state == states.DELETING:
        return
    server.task_state = states.DELETING
    server.updated_at = utcnow()
    enqueue(session, kind=DELETE, cloud=server.cloud, resource_type="server", resource_id=server.id,
            params={"force": force}, action="delete", request_id=request_id, user_id=ctx.user_id,
            project_id=server.project_id)


def mark_deleted(server: Server, when: dt.datetime | None = None) -> None:
    when = when or utcnow()
    server.deleted = True
    server.deleted_at = when
    server.terminated_at = when
    server.vm_state = states.DELETED
    server.task_state = None
    server.power_state = 0
    server.updated_at = when
